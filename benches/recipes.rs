//! `cargo bench --bench recipes`: whole training rounds of the CPU engine at the shapes the
//! modern recipes use (784-800-10 and 784-256-10, batches of 64–256), for plain SGD (the update
//! fused into the gradient product), Adam (gradient stored, element-wise update) and Adam with
//! dropout, beside the `gemm` crate's square-product peak measured in the same run.
//! Throughput is in FLOP (`Network::flops_per_round`), so criterion's "Gelem/s" reads GFLOP/s.
//!
//! The images are MNIST's first 10,000 training images when `MNIST_GPU_DATA` names the data
//! (the first layer skips dark pixels, so its speed depends on the images), otherwise synthetic
//! ones with MNIST's share of lit pixels (19%) at random places; one more group runs images with
//! every pixel lit, the first layer's slowest case.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::{Engine, Hyper, Recipe};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

/// Images per benchmarked round: a sixth of MNIST keeps a sample under half a second.
const IMAGES: usize = 10_000;

/// The benchmark's images and their name: real MNIST if `MNIST_GPU_DATA` is set, or synthetic.
fn images() -> (Mnist, &'static str) {
    if let Ok(dir) = std::env::var("MNIST_GPU_DATA") {
        let full = Mnist::load(std::path::Path::new(&dir)).expect("MNIST_GPU_DATA holds MNIST");
        let data = Mnist::new(
            full.train.truncated(IMAGES),
            full.test.clone(),
            "mnist".into(),
        );
        return (data, "mnist");
    }
    (synthetic(0.19), "lit19")
}

/// Images with a `lit` share of their pixels non-zero, at random places.
fn synthetic(lit: f64) -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut split = |n: usize| Dataset {
        images: (0..n * 784)
            .map(|_| {
                if rng.random_bool(lit) {
                    rng.random_range(1..=255u8)
                } else {
                    0
                }
            })
            .collect(),
        labels: (0..n).map(|_| rng.random_range(0..10u8)).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist::new(split(IMAGES), split(100), "synthetic".into())
}

fn peak(c: &mut Criterion) {
    common::square_product(c, "recipe_peak", 2048);
}

fn rounds(c: &mut Criterion) {
    let (data, images) = images();
    let dense = synthetic(1.0);
    let arch = Architecture {
        activation: Activation::Relu,
        loss: Loss::Xent,
        ..Architecture::default()
    };
    let adam = Optimizer::from_name("adam", OptimizerSettings::default()).expect("adam");
    let mut group = c.benchmark_group("recipe_round");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for hidden in [800, 256] {
        let sizes = [784, hidden, 10];
        let net = Network::build(&sizes, arch, Init::He, 42).expect("network");
        group.throughput(Throughput::Elements(net.flops_per_round(IMAGES) as u64));
        let runs = [64, 128, 256]
            .into_iter()
            .map(|batch| (batch, &data, images))
            .chain((hidden == 800).then_some((128, &dense, "dense")));
        for (batch_size, data, images) in runs {
            let augmented = InputNoise {
                augment: Augment::DEFAULT,
                dropout: Dropout::default(),
            };
            for (name, optimizer, dropout, noise) in [
                ("sgd", Optimizer::default(), 0.0, InputNoise::default()),
                ("adam", adam, 0.0, InputNoise::default()),
                ("adam_dropout", adam, 0.5, InputNoise::default()),
                ("adam_dropout_augment", adam, 0.5, augmented),
            ] {
                let lr = if optimizer.is_sgd() { 0.05 } else { 1e-3 };
                let recipe = Recipe {
                    hyper: Hyper {
                        batch_size,
                        learning_rate: lr,
                    },
                    optimizer,
                    lr: LrPlan {
                        base: lr,
                        schedule: LrSchedule::Cosine,
                        warmup: 0.0,
                        rounds: 1000,
                    },
                    dropout: Dropout::new(dropout).expect("rate"),
                    max_norm: 0.0,
                    noise,
                    seed: 42,
                    first_round: 1,
                };
                let mut engine =
                    CpuEngine::with_recipe(net.clone(), data, recipe, None).expect("engine");
                let order: Vec<u32> = (0..IMAGES as u32).rev().collect();
                let id = format!("784-{hidden}-10_{name}_batch{batch_size}_{images}");
                group.bench_function(id, |b| {
                    b.iter(|| engine.train_round(Some(&order)).expect("round"))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, peak, rounds);
criterion_main!(benches);
