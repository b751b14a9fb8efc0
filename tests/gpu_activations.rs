//! Whole GPU rounds of networks with every hidden activation but the sigmoid (tested with every
//! recipe in tests/gpu.rs) against the CPU engine: relu, tanh, and GELU and SiLU, whose
//! derivative reads the z kept past the outputs. (Every activation in the kernels that apply it
//! is checked against its CPU twin with the other kernel twins, in tests/twins.)
//! Skips with a visible line when there is no adapter (lavapipe is one).

use std::sync::Arc;

use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gpu::GpuEngine;
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::{Activation, Init, Loss};
use mnist_gpu::train::round_order;

mod common;

#[test]
fn gpu_rounds_with_every_hidden_activation_match_the_cpu_engine() {
    let Some(ctx) = common::gpu_context() else {
        return;
    };
    let data = common::synthetic(300, 100, 28, 28, 7);
    let hyper = Hyper {
        batch_size: 37,
        learning_rate: 0.3,
    };
    for activation in Activation::hidden().filter(|&a| a != Activation::Sigmoid) {
        let arch = Architecture {
            activation,
            loss: Loss::Mse,
            ..Architecture::default()
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
