//! The activations of shaders/lib/activation.wgsl (sigmoid, relu, tanh) in the kernels that
//! import it, against their CPU twins: `forward_hidden` (f) and `backprop_error` (f' from the
//! output), each compiled with every `ACTIVATION` value, on fresh random non-zero inputs at
//! shapes that are not tile multiples, outputs poisoned with NaN before the run.
//! Then whole GPU rounds of relu and tanh networks against the CPU engine.
//! Skips with a visible line when there is no adapter (lavapipe is one).

use std::sync::Arc;

use mnist_gpu::cpu;
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gpu::kernels::{Kernel, Variant};
use mnist_gpu::engine::gpu::params::{BatchParams, LayerParams};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::{Activation, Init, Loss};
use mnist_gpu::train::round_order;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn context() -> Option<GpuContext> {
    let request = AdapterRequest {
        backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        allow_software: true,
    };
    match GpuContext::new(request) {
        Ok(context) => Some(context),
        Err(e) => {
            if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("MNIST_GPU_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            println!("SKIPPED (no GPU adapter)");
            None
        }
    }
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, low: f32, high: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            // Non-zero: a zero would hide a term the kernel forgets.
            let x: f32 = rng.random_range(low..high);
            if x == 0.0 { 1e-3 } else { x }
        })
        .collect()
}

fn read_f32(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<f32> {
    bytemuck::cast_slice(&ctx.read(buffer).expect("readback")).to_vec()
}

/// Both sides are f32 sums of ≤ 29 products of size ≤ 1 in different orders (a few ulp of the
/// partial sums, ≈ 1e-6) and libm's exp/tanh against the device's (a few ulp); 2e-5·(1 + |e|)
/// covers that while a wrong activation (relu for tanh, a missing derivative) is off by > 1e-2.
/// NaN never passes.
fn assert_close(what: &str, gpu: &[f32], expected: &[f32]) {
    assert_eq!(gpu.len(), expected.len(), "{what}: lengths differ");
    for (i, (&g, &e)) in gpu.iter().zip(expected).enumerate() {
        let tol = 2e-5 * (1.0 + e.abs());
        assert!(
            (g - e).abs() <= tol,
            "{what}[{i}]: gpu {g} vs cpu {e} (tolerance {tol})"
        );
    }
}

const SHAPES: [(usize, usize, usize); 3] = [(5, 3, 8), (37, 13, 29), (70, 21, 17)];

#[test]
fn every_activation_in_forward_hidden_and_backprop_error_matches_its_twin() {
    let Some(ctx) = context() else { return };
    for activation in Activation::ALL {
        for (seed, &(rows, outputs, inputs)) in SHAPES.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 100 * activation.id() as u64);
            let batch = BatchParams::new(3, 0, rows);
            let layer = LayerParams::new(inputs, outputs, 0.5);

            // forward_hidden: f(inputs·Wᵀ + b), pre-activations on both sides of relu's kink.
            let x = uniform(&mut rng, rows * inputs, 0.01, 1.0);
            let parameters = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
            let mut want = vec![0.0; rows * outputs];
            cpu::forward_hidden::forward_hidden_with(
                activation,
                &batch,
                &layer,
                &x,
                &parameters,
                &mut want,
            );
            let out = ctx.buffer_with("out", bytemuck::cast_slice(&vec![f32::NAN; rows * outputs]));
            let variant = Variant {
                activation,
                ..Variant::from(Kernel::ForwardHidden)
            };
            let storage = [
                ctx.buffer_with("inputs", bytemuck::cast_slice(&x)),
                ctx.buffer_with("parameters", bytemuck::cast_slice(&parameters)),
            ];
            ctx.run_once(variant, batch, layer, &[&storage[0], &storage[1], &out])
                .expect("dispatch");
            let what = format!(
                "forward_hidden {} {rows}x{outputs}x{inputs}",
                activation.name()
            );
            assert_close(&what, &read_f32(&ctx, &out), &want);
            if activation == Activation::Relu {
                assert!(
                    want.contains(&0.0) && want.iter().any(|&a| a > 0.0),
                    "{what}"
                );
            }

            // backprop_error: (δ·W) ⊙ f'(a), with outputs a in f's range.
            let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
            let weights = uniform(&mut rng, outputs * inputs, -0.5, 0.5);
            let (low, high) = match activation {
                Activation::Sigmoid => (0.01, 0.99),
                Activation::Relu => (-0.5, 1.0),
                Activation::Tanh => (-0.99, 0.99),
            };
            let a: Vec<f32> = uniform(&mut rng, rows * inputs, low, high)
                .iter()
                .map(|&a| {
                    if activation == Activation::Relu {
                        a.max(0.0)
                    } else {
                        a
                    }
                })
                .collect();
            let mut want = vec![0.0; rows * inputs];
            cpu::backprop_error::backprop_error_with(
                activation, &batch, &layer, &deltas, &weights, &a, &mut want,
            );
            let out = ctx.buffer_with("out", bytemuck::cast_slice(&vec![f32::NAN; rows * inputs]));
            let variant = Variant {
                activation,
                ..Variant::from(Kernel::BackpropError)
            };
            let storage = [
                ctx.buffer_with("deltas", bytemuck::cast_slice(&deltas)),
                ctx.buffer_with("weights", bytemuck::cast_slice(&weights)),
                ctx.buffer_with("activations", bytemuck::cast_slice(&a)),
            ];
            ctx.run_once(
                variant,
                batch,
                layer,
                &[&storage[0], &storage[1], &storage[2], &out],
            )
            .expect("dispatch");
            let what = format!(
                "backprop_error {} {rows}x{outputs}x{inputs}",
                activation.name()
            );
            assert_close(&what, &read_f32(&ctx, &out), &want);
        }
    }
}

#[test]
fn gpu_rounds_with_relu_and_tanh_layers_match_the_cpu_engine() {
    let Some(ctx) = context() else { return };
    let ctx = Arc::new(ctx);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut split = |n: usize| Dataset {
        images: (0..n * 784).map(|_| rng.random_range(0..=255u8)).collect(),
        labels: (0..n).map(|_| rng.random_range(0..10u8)).collect(),
        rows: 28,
        cols: 28,
    };
    let data = Mnist::new(split(300), split(100), "synthetic".into());
    let hyper = Hyper {
        batch_size: 37,
        learning_rate: 0.3,
    };
    for activation in [Activation::Relu, Activation::Tanh] {
        let arch = Architecture {
            activation,
            loss: Loss::Mse,
        };
        let net = Network::build(&[784, 24, 13, 10], arch, Init::He, 3).expect("net");
        let mut gpu = GpuEngine::new(Arc::clone(&ctx), net.clone(), &data, hyper).expect("gpu");
        let mut cpu = CpuEngine::new(net, &data, hyper).expect("cpu");
        for round in 1..=3 {
            let order = round_order(5, round, data.train.len());
            let g = gpu.train_round(Some(&order)).expect("gpu round");
            let c = cpu.train_round(Some(&order)).expect("cpu round");
            // f32 on both sides with sums in different orders and libm's against the device's
            // exp/tanh: 1e-4 relative over 3 rounds (the figure every preset must meet); a
            // wrong activation or derivative moves the cost by percents.
            assert!(
                ((g - c) / c).abs() < 1e-4,
                "{} round {round}: gpu cost {g} vs cpu {c}",
                activation.name()
            );
        }
        let (g, c) = (gpu.network().expect("net"), cpu.network().expect("net"));
        assert_eq!(g.activation, activation);
        assert_eq!(
            gpu.correct(mnist_gpu::data::Split::Test).expect("eval"),
            cpu.correct(mnist_gpu::data::Split::Test).expect("eval")
        );
        let worst = g
            .layers
            .iter()
            .zip(&c.layers)
            .flat_map(|(a, b)| a.weights.iter().zip(&b.weights).map(|(x, y)| (x - y).abs()))
            .fold(
                0.0f32,
                |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
            );
        assert!(
            worst < 1e-4,
            "{}: parameters differ by {worst}",
            activation.name()
        );
    }
    // Softmax cross-entropy and the other recipes: tests/gpu.rs
    // (`recipes_track_the_cpu_engine_for_five_rounds`).
}
