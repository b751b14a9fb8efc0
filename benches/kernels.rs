//! `cargo bench`: the matrix products at the training shapes and whole rounds, on the CPU path
//! (and, when an adapter is available, on the GPU). Throughput is reported in FLOP (2·M·N·K for a
//! product), so criterion prints GFLOP/s directly ("Gelem/s" = GFLOP/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gemm::{Mat, MatRef, gemm};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::Network;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
    let flop = |m: usize, n: usize, k: usize| Throughput::Elements((2 * m * n * k) as u64);

    group.throughput(flop(IMAGES, HIDDEN, PIXELS));
    group.bench_function("forward_x_w1t_60000x128x784", |b| {
        b.iter(|| {
            gemm(
                Mat::rows(&mut z1, HIDDEN),
                MatRef::rows(&x, PIXELS),
                MatRef::transposed(&w1, PIXELS),
                None,
            )
        })
    });
    group.throughput(flop(IMAGES, CLASSES, HIDDEN));
    group.bench_function("forward_a1_w2t_60000x10x128", |b| {
        b.iter(|| {
            gemm(
                Mat::rows(&mut z2, CLASSES),
                MatRef::rows(&a1, HIDDEN),
                MatRef::transposed(&w2, HIDDEN),
                None,
            )
        })
    });
    group.throughput(flop(HIDDEN, PIXELS, IMAGES));
    group.bench_function("grad_d1t_x_128x784_k60000", |b| {
        b.iter(|| {
            gemm(
                Mat::rows(&mut dw1, PIXELS),
                MatRef::transposed(&a1, HIDDEN),
                MatRef::rows(&x, PIXELS),
                Some(-0.1),
            )
        })
    });
    group.throughput(flop(CLASSES, HIDDEN, IMAGES));
    group.bench_function("grad_d2t_a1_10x128_k60000", |b| {
        b.iter(|| {
            gemm(
                Mat::rows(&mut dw2, HIDDEN),
                MatRef::transposed(&d2, CLASSES),
                MatRef::rows(&a1, HIDDEN),
                Some(-0.1),
            )
        })
    });
    group.throughput(flop(IMAGES, HIDDEN, CLASSES));
    group.bench_function("backprop_d2_w2_60000x128x10", |b| {
        b.iter(|| {
            gemm(
                Mat::rows(&mut d1, HIDDEN),
                MatRef::rows(&d2, CLASSES),
                MatRef::rows(&w2, HIDDEN),
                None,
            )
        })
    });
    group.finish();
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

criterion_group!(benches, cpu_products, cpu_rounds);
criterion_main!(benches);
