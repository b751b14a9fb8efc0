//! The kernels on a second WGSL implementation: Chromium's WebGPU (Dawn, with its compiler Tint,
//! on SwiftShader here; on the machine's GPU in a user's browser).
//!
//! Tint implements the WGSL spec's uniformity analysis, which naga does not fully enforce, so
//! a kernel naga accepts may still be invalid WGSL that every Chrome and Edge refuses. Headless
//! Chromium opens the harness page of `tests/webgpu`:
//! - every variant the engine can compile ([`Variant::every`]) is compiled with the kernel
//!   table's bind-group layout and the variant's override constants, and each rejection is
//!   reported with Tint's message;
//! - every kernel twin check of `tests/twins` runs on Dawn as on the native devices, with the
//!   same tolerances, and the test checks that every kernel of the table ran.
//!
//! Needs `chromedriver` and Chromium (Debian: `chromium chromium-driver`). Without them, or
//! without WebGPU in the browser, the tests print a `SKIPPED` line saying what to install and pass, unless
//! MNIST_GPU_REQUIRE_BROWSER=1 (CI), where they fail.

use std::time::Instant;

use mnist_gpu::engine::gpu::kernels::{Kernel, Variant};
use serde_json::Value;

mod chromium;
mod twins;
#[allow(dead_code)] // the tests dispatch kernels; benches/webgpu.rs also times them.
mod webgpu;

use mnist_gpu::kernel_params::{BatchParams, LayerParams};
use twins::KernelDevice;
use webgpu::{Dawn, compile_spec};

impl KernelDevice for Dawn {
    fn limits(&self) -> wgpu::Limits {
        self.limits.clone()
    }

    fn run(&self, variant: Variant, blocks: (BatchParams, LayerParams), storage: &mut [Vec<u8>]) {
        Dawn::run(self, variant, blocks.0, blocks.1, storage);
    }
}

/// Every variant compiles on Tint with the table's layout and its constants.
#[test]
fn every_variant_compiles_on_dawn() {
    let Some(dawn) = Dawn::open() else { return };
    let variants = Variant::every();
    let mut rejected: Vec<String> = Vec::new();
    // A few dozen at a time: each call stays well inside the script timeout.
    for chunk in variants.chunks(24) {
        let specs: Vec<Value> = chunk.iter().map(|&v| compile_spec(v)).collect();
        let answer = dawn.call("compileAll", specs.into()).expect("compileAll");
        rejected.extend(
            answer
                .as_array()
                .expect("a list")
                .iter()
                .map(|line| line.as_str().unwrap_or("?").to_string()),
        );
    }
    println!(
        "{} of {} variants compiled on Dawn ({})",
        variants.len() - rejected.len(),
        variants.len(),
        dawn.adapter
    );
    assert!(
        rejected.is_empty(),
        "{} variants rejected by Dawn/Tint:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}

/// Every kernel twin check, on Dawn; then every kernel of the table must have run.
#[test]
fn every_kernel_matches_its_twin_on_dawn() {
    let Some(dawn) = Dawn::open() else { return };
    macro_rules! run_all {
        ($($check:ident),*) => {
            $(
                let start = Instant::now();
                twins::$check(&dawn);
                println!("{} on Dawn: {:.1} s", stringify!($check), start.elapsed().as_secs_f64());
            )*
        };
    }
    twins::twin_checks!(run_all);
    let ran = dawn.ran.borrow();
    let missed: Vec<&str> = Kernel::ALL
        .iter()
        .map(|k| k.name())
        .filter(|name| !ran.contains(name))
        .collect();
    assert!(missed.is_empty(), "kernels no twin check ran: {missed:?}");
}
