//! `cargo bench --bench webgpu`: each matrix product's kernels at the tutorial network's shapes
//! (784-128-10, batch 1000) on Chromium's WebGPU (Dawn; SwiftShader when the machine has no GPU,
//! the machine's GPU otherwise), beside the same kernels on the native adapter wgpu opens
//! (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME` pick it) when there is one. Each figure is the median
//! of 5 samples of several dispatches recorded in one pass and submitted once (browsers coarsen
//! their clocks to 100 µs, so a sample lasts tens of milliseconds). `-- --test` runs one
//! dispatch of each product's first candidate, to check the bench still works.
//!
//! Needs Chromium and chromedriver (Debian: `chromium chromium-driver`), like tests/dawn.rs.

use std::time::Duration;

use mnist_gpu::engine::gpu::plan::Product;
use mnist_gpu::engine::gpu::tune::{Operands, operand_bytes, product_layer, time_variant};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext};

#[path = "../tests/chromium/mod.rs"]
mod chromium;
#[path = "../tests/webgpu/mod.rs"]
#[allow(dead_code)] // the bench times kernels; the tests dispatch them.
mod webgpu;

const SIZES: [usize; 3] = [784, 128, 10];
const ROWS: usize = 1000;
const SAMPLES: usize = 5;
/// How long one sample should last.
const SAMPLE: Duration = Duration::from_millis(40);

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let test_mode = std::env::args().any(|a| a == "--test");
    let Some(dawn) = webgpu::Dawn::open() else {
        return;
    };
    let native = GpuContext::new(AdapterRequest {
        backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        allow_software: true,
    })
    .ok();
    let native_name = native
        .as_ref()
        .map(|ctx| format!("{} ({:?})", ctx.info.name, ctx.info.backend))
        .unwrap_or_else(|| "none".into());
    println!(
        "WebGPU in Chromium: {}; native: {native_name}",
        dawn.adapter
    );
    println!(
        "network {}-{}-{}, batch {ROWS}; ms per dispatch (GFLOP/s)",
        SIZES[0], SIZES[1], SIZES[2]
    );
    println!(
        "{:<24} {:<16} {:<26} {:>16} {:>16}",
        "product", "M x N x K", "kernel", "Dawn", "native"
    );
    for product in Product::ALL {
        let layer = product_layer(product, &SIZES).expect("a layer for every product");
        let (batch, named) = operand_bytes(product, ROWS, &layer, 7);
        let (m, n, k) = product.shape(ROWS, &layer);
        let flops = 2.0 * (m * n * k) as f64;
        let mut candidates = product.candidates(&dawn.limits);
        if test_mode {
            candidates.truncate(1);
        }
        for variant in candidates {
            // The harness binds in binding order, as the kernel's WGSL declares it.
            let storage: Vec<Vec<u8>> = (variant.kernel.spec().interface.storage.iter())
                .map(|(binding, _)| {
                    let found = named.iter().find(|(name, _)| name == binding);
                    found.expect("an operand for every binding").1.clone()
                })
                .collect();
            let figure =
                |seconds: f64| format!("{:.3} ({:.1})", seconds * 1e3, flops / seconds / 1e9);
            let dawn_time = if test_mode {
                dawn.time(variant, (batch, layer), &storage, 1, 1)
                    .map(median)
            } else {
                dawn.time(variant, (batch, layer), &storage, 1, 1)
                    .and_then(|first| {
                        let count = (SAMPLE.as_secs_f64() / median(first).max(1e-6)) as usize;
                        dawn.time(
                            variant,
                            (batch, layer),
                            &storage,
                            count.clamp(1, 50),
                            SAMPLES,
                        )
                    })
                    .map(median)
            };
            let dawn_text = match dawn_time {
                Ok(seconds) => figure(seconds),
                Err(e) => panic!("{} on Dawn: {e}", variant.describe()),
            };
            let native_text = match &native {
                Some(ctx) if !test_mode => {
                    let operands = Operands::new(ctx, product, ROWS, &layer, 7);
                    match time_variant(ctx, &operands, product, variant, SAMPLES) {
                        Ok(timing) => figure(timing.seconds),
                        Err(e) => format!("failed: {e}"),
                    }
                }
                _ => "-".into(),
            };
            println!(
                "{:<24} {:<16} {:<26} {:>16} {:>16}",
                product.name(),
                format!("{m}x{n}x{k}"),
                variant.form(),
                dawn_text,
                native_text
            );
        }
    }
}
