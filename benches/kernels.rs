//! `cargo bench`: the matrix products at the training shapes and whole rounds, on the CPU path
//! and, when an adapter is available, on the GPU (any adapter, software ones included: set
//! `WGPU_BACKEND`/`WGPU_ADAPTER_NAME` to pick one). Throughput is counted in FLOP (2·M·N·K for a
//! product, `Network::flops_per_round` for a round), so criterion's "Gelem/s" reads GFLOP/s.
//! `cargo bench --bench kernels -- cpu` or `-- gpu` runs one side.

use std::sync::Arc;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gemm::{Mat, MatRef, gemm};
use mnist_gpu::engine::gpu::kernels::Variant;
use mnist_gpu::engine::gpu::plan::Product;
use mnist_gpu::engine::gpu::tune::{operand_bytes, product_layer};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::Network;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

const IMAGES: usize = 60_000;
const PIXELS: usize = 784;
const HIDDEN: usize = 128;
const CLASSES: usize = 10;

fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| rng.random::<f32>() - 0.5).collect()
}

/// A synthetic training set of MNIST's size (the speed does not depend on the pixel values).
fn synthetic_mnist() -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut split = |n: usize| Dataset {
        images: (0..n * PIXELS).map(|_| rng.random::<u8>()).collect(),
        labels: (0..n).map(|_| rng.random_range(0..10u8)).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist::new(split(IMAGES), split(1000), "synthetic".into())
}

fn cpu_products(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = random(IMAGES * PIXELS, &mut rng);
    let w1 = random(HIDDEN * PIXELS, &mut rng);
    let w2 = random(CLASSES * HIDDEN, &mut rng);
    let a1 = random(IMAGES * HIDDEN, &mut rng);
    let d2 = random(IMAGES * CLASSES, &mut rng);
    let mut z1 = vec![0.0f32; IMAGES * HIDDEN];
    let mut z2 = vec![0.0f32; IMAGES * CLASSES];
    let mut dw1 = vec![0.0f32; HIDDEN * PIXELS];
    let mut dw2 = vec![0.0f32; CLASSES * HIDDEN];
    let mut d1 = vec![0.0f32; IMAGES * HIDDEN];

    let mut group = c.benchmark_group("cpu_matmul");
    group.sample_size(10);
    // The products of a full-batch round of 784-128-10: (name, output M×N×K, output, left and
    // right operands, scale of an accumulating product).
    let products = [
        (
            "forward_x_w1t_60000x128x784",
            (IMAGES, HIDDEN, PIXELS),
            &mut z1,
            MatRef::rows(&x, PIXELS),
            MatRef::transposed(&w1, PIXELS),
            None,
        ),
        (
            "forward_a1_w2t_60000x10x128",
            (IMAGES, CLASSES, HIDDEN),
            &mut z2,
            MatRef::rows(&a1, HIDDEN),
            MatRef::transposed(&w2, HIDDEN),
            None,
        ),
        (
            "grad_d1t_x_128x784_k60000",
            (HIDDEN, PIXELS, IMAGES),
            &mut dw1,
            MatRef::transposed(&a1, HIDDEN),
            MatRef::rows(&x, PIXELS),
            Some(-0.1),
        ),
        (
            "grad_d2t_a1_10x128_k60000",
            (CLASSES, HIDDEN, IMAGES),
            &mut dw2,
            MatRef::transposed(&d2, CLASSES),
            MatRef::rows(&a1, HIDDEN),
            Some(-0.1),
        ),
        (
            "backprop_d2_w2_60000x128x10",
            (IMAGES, HIDDEN, CLASSES),
            &mut d1,
            MatRef::rows(&d2, CLASSES),
            MatRef::rows(&w2, HIDDEN),
            None,
        ),
    ];
    for (name, (m, n, k), out, lhs, rhs, accumulate) in products {
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        group.bench_function(name, |b| {
            b.iter(|| gemm(Mat::rows(out, n), lhs, rhs, accumulate))
        });
    }
    group.finish();
}

/// The ceiling: a large square product through the same `gemm` kernels (compare with numpy's
/// BLAS in benches/compare.py, and take the larger as the machine's f32 peak).
fn cpu_peak(c: &mut Criterion) {
    common::square_product(c, "cpu_peak", 4096);
}

fn cpu_rounds(c: &mut Criterion) {
    let data = synthetic_mnist();
    let net = Network::new(&[HIDDEN], 42).expect("network");
    let round_flops = net.flops_per_round(IMAGES) as u64;
    let mut group = c.benchmark_group("cpu_round");
    group.sample_size(10);
    group.throughput(Throughput::Elements(round_flops));
    for batch_size in [60_000, 1000] {
        let hyper = Hyper {
            batch_size,
            learning_rate: 0.1,
        };
        let mut engine = CpuEngine::new(net.clone(), &data, hyper).expect("engine");
        group.bench_function(format!("784-128-10_batch{batch_size}"), |b| {
            b.iter(|| engine.train_round(None).expect("round"))
        });
    }
    group.finish();
}

fn gpu_context() -> Option<Arc<GpuContext>> {
    let request = AdapterRequest {
        backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        allow_software: true,
    };
    match GpuContext::new(request) {
        Ok(ctx) => {
            eprintln!("GPU benches on {}", ctx.describe());
            Some(Arc::new(ctx))
        }
        Err(e) => {
            // CI runs the benches once each (`cargo bench -- --test`): there a bench that
            // cannot run fails instead of going stale unseen.
            if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("MNIST_GPU_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("SKIPPED GPU benches: {e}");
            None
        }
    }
}

/// Each product's register-block kernel and its tiled kernel with the default tile, at the
/// full-batch shapes of 784-128-10 (`mnist-gpu bench` times every candidate). The operands come
/// from the tuner's `operand_bytes`, the one place that lays out each product's bindings.
fn gpu_products(c: &mut Criterion) {
    let Some(ctx) = gpu_context() else { return };
    let sizes = [PIXELS, HIDDEN, CLASSES];
    let mut group = c.benchmark_group("gpu_matmul");
    // One dispatch takes up to seconds on a software adapter: a flat plan of 10 single runs.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for product in Product::ALL {
        let layer = product_layer(product, &sizes).expect("a layer for every product");
        let (batch, host) = operand_bytes(product, IMAGES, &layer, 3);
        let buffers: Vec<(&str, wgpu::Buffer)> = host
            .iter()
            .map(|(name, bytes)| (*name, ctx.buffer_with(name, bytes)))
            .collect();
        let storage: Vec<(&str, &wgpu::Buffer)> = buffers.iter().map(|(n, b)| (*n, b)).collect();
        let (m, n, k) = product.shape(IMAGES, &layer);
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let (direct, tiled) = product.kernels();
        let variants = [
            Variant::from(direct),
            Variant::tiled(tiled, product.default_tile()),
        ];
        for variant in variants {
            let form = match variant.tile {
                Some(t) => format!("_{}x{}x{}", t.bm, t.bn, t.bk),
                None => String::new(),
            };
            let name = format!("{}{form}_{m}x{n}x{k}", variant.kernel.name());
            group.bench_function(name, |b| {
                b.iter(|| {
                    ctx.run_once(variant, batch, layer, &storage)
                        .expect("dispatch")
                })
            });
        }
    }
    group.finish();
}

fn gpu_rounds(c: &mut Criterion) {
    let Some(ctx) = gpu_context() else { return };
    let data = synthetic_mnist();
    let net = Network::new(&[HIDDEN], 42).expect("network");
    let mut group = c.benchmark_group("gpu_round");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(net.flops_per_round(IMAGES) as u64));
    for batch_size in [60_000, 1000] {
        let hyper = Hyper {
            batch_size,
            learning_rate: 0.1,
        };
        let mut engine =
            GpuEngine::new(ctx.clone(), net.clone(), &data, hyper).expect("GPU engine");
        group.bench_function(format!("784-128-10_batch{batch_size}"), |b| {
            b.iter(|| engine.train_round(None).expect("round"))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    cpu_peak,
    cpu_products,
    cpu_rounds,
    gpu_products,
    gpu_rounds
);
criterion_main!(benches);
