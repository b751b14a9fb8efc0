//! Every activation × loss, optimiser, schedule and dropout: the reference against finite
//! differences, and the fast CPU engine against the reference.

use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::{Engine, Hyper, Recipe};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings};
use mnist_gpu::reference::{BatchMasks, RefNetwork, RefOptimizer};
use mnist_gpu::train::round_order;

mod common;
use common::{inputs, synthetic};

fn architectures() -> Vec<Architecture> {
    let mut all = Vec::new();
    for activation in Activation::hidden() {
        for loss in Loss::ALL {
            all.push(Architecture {
                activation,
                loss,
                ..Architecture::default()
            });
        }
    }
    all
}

/// The init that suits each activation (He keeps relu, GELU and SiLU units alive at these
/// sizes).
fn relu_xent() -> Architecture {
    Architecture {
        activation: Activation::Relu,
        loss: Loss::Xent,
        ..Architecture::default()
    }
}

fn adam() -> Optimizer {
    Optimizer::from_name("adam", OptimizerSettings::default()).expect("adam")
}

fn init_for(activation: Activation) -> Init {
    match activation {
        Activation::Sigmoid => Init::Uniform,
        Activation::Tanh => Init::Xavier,
        _ => Init::He,
    }
}

#[test]
fn reference_gradients_match_finite_differences_for_every_activation_and_loss() {
    let data = synthetic(6, 1, 2, 3, 21);
    let (x, y) = inputs(&data.train, 0..6);
    for arch in architectures() {
        for dropout in [0.0, 0.4] {
            let mut net =
                Network::build(&[6, 5, 4, 10], arch, init_for(arch.activation), 3).expect("net");
            // He init starts biases at 0: a unit whose inputs are all dropped would sit exactly
            // on relu's kink, where the one-sided derivative and the central difference differ.
            for layer in &mut net.layers {
                layer.biases.iter_mut().for_each(|b| *b += 0.05);
            }
            let reference = RefNetwork::from_network(&net);
            let masks = BatchMasks {
                dropout: Dropout::new(dropout).expect("rate"),
                seed: 5,
                round: 2,
                batch: 1,
            };
            let masks = (dropout > 0.0).then_some(&masks);
            let analytic = reference.gradients_masked(&x, &y, masks);
            let cost = |r: &RefNetwork| r.cost_masked(&x, &y, masks);
            let h = 1e-6;
            let mut worst = 0.0f64;
            for l in 0..reference.weights.len() {
                for o in 0..reference.weights[l].len() {
                    for i in 0..=reference.weights[l][o].len() {
                        let (mut plus, mut minus) = (reference.clone(), reference.clone());
                        // i == inputs: the bias.
                        let want = if i < reference.weights[l][o].len() {
                            plus.weights[l][o][i] += h;
                            minus.weights[l][o][i] -= h;
                            analytic.weights[l][o][i]
                        } else {
                            plus.biases[l][o] += h;
                            minus.biases[l][o] -= h;
                            analytic.biases[l][o]
                        };
                        let numeric = (cost(&plus) - cost(&minus)) / (2.0 * h);
                        worst = worst.max((numeric - want).abs());
                    }
                }
            }
            // Central differences in f64 are accurate to ~h² + ε/h ≈ 1e-10 for smooth costs;
            // relu's kink is never within h of a pre-activation of these random inputs
            // (a wrong derivative or mask gives errors above 1e-3).
            assert!(worst < 1e-7, "{arch:?} dropout {dropout}: worst {worst}");
            assert!((analytic.cost - cost(&reference)).abs() < 1e-12);
        }
    }
}

fn optimizers() -> Vec<Optimizer> {
    let s = OptimizerSettings::default();
    vec![
        Optimizer::default(),
        Optimizer::from_name("momentum", s).expect("momentum"),
        Optimizer::from_name(
            "momentum",
            OptimizerSettings {
                nesterov: true,
                ..s
            },
        )
        .expect("nesterov"),
        Optimizer::from_name("adam", s).expect("adam"),
        Optimizer::from_name(
            "adamw",
            OptimizerSettings {
                weight_decay: 0.1,
                ..s
            },
        )
        .expect("adamw"),
        Optimizer::from_name(
            "lion",
            OptimizerSettings {
                weight_decay: 0.1,
                ..Optimizer::defaults("lion")
            },
        )
        .expect("lion"),
    ]
}

/// Two shuffled rounds of the fast engine against the reference's steps on the same batches,
/// with the same learning rates and dropout masks.
fn engine_matches_reference(
    arch: Architecture,
    optimizer: Optimizer,
    schedule: LrSchedule,
    dropout: f32,
    lr: f32,
    max_norm: f32,
    noise: InputNoise,
) {
    // Square images when distorting them.
    let (height, width) = if noise.augment.is_active() {
        (6, 6)
    } else {
        (5, 6)
    };
    let data = synthetic(23, 5, height, width, 11);
    let (batch_size, rounds, seed) = (6, 2, 9);
    let sizes = [height * width, 8, 7, 10];
    let net = Network::build(&sizes, arch, init_for(arch.activation), 5).expect("net");
    let mut reference = RefNetwork::from_network(&net);
    let plan = LrPlan {
        base: lr,
        schedule,
        warmup: 0.5,
        rounds,
    };
    let recipe = Recipe {
        hyper: Hyper {
            batch_size,
            learning_rate: lr,
        },
        optimizer,
        lr: plan,
        dropout: Dropout::new(dropout).expect("rate"),
        max_norm,
        noise,
        seed,
        first_round: 1,
    };
    let mut engine = CpuEngine::with_recipe(net, &data, recipe, None).expect("engine");
    let mut state = RefOptimizer::default();
    let batches = data.train.len().div_ceil(batch_size);
    for round in 1..=rounds {
        let order = round_order(seed, round, data.train.len());
        let cost = engine.train_round(Some(&order)).expect("round");
        let mut costs = Vec::new();
        for (b, batch) in order.chunks(batch_size).enumerate() {
            let (mut x, y) = inputs(&data.train, batch.iter().map(|&i| i as usize));
            if noise.is_active() {
                // The batch's images as the first layer sees them (distorted levels, dropped
                // pixels, kept ones scaled): what the engine must feed its first layer.
                let side = if noise.augment.is_active() { width } else { 0 };
                let (params, scale) = (noise.params(side as u32), noise.input_scale());
                let keys = InputNoise::keys(seed, round, b);
                for (row, (&i, x)) in batch.iter().zip(&mut x).enumerate() {
                    let mut levels = vec![0u8; height * width];
                    params.apply(keys, row as u32, data.train.image(i as usize), &mut levels);
                    for (x, &level) in x.iter_mut().zip(&levels) {
                        *x = f64::from(level) / 255.0 * f64::from(scale);
                    }
                }
            }
            let masks = BatchMasks {
                dropout: Dropout::new(dropout).expect("rate"),
                seed,
                round,
                batch: b,
            };
            let step_lr = f64::from(plan.lr(round, b, batches));
            costs.push(reference.step_with(
                optimizer,
                &mut state,
                step_lr,
                &x,
                &y,
                (dropout > 0.0).then_some(&masks),
            ));
            if max_norm > 0.0 {
                reference.clip_norms(f64::from(max_norm));
            }
        }
        let want = costs.iter().sum::<f64>() / costs.len() as f64;
        let what = format!(
            "{arch:?} {optimizer:?} {schedule:?} dropout {dropout} max-norm {max_norm} {noise:?} round {round}"
        );
        // f32 activations through the fast exp: costs agree to ~1e-6 relative; 1e-4 is far
        // below what a wrong mask, rate or derivative does (> 1e-2).
        assert!(
            ((cost - want) / want).abs() < 1e-4,
            "{what}: cost {cost} vs {want}"
        );
        let got = engine.network().expect("net");
        let mut worst = 0.0f64;
        for (l, layer) in got.layers.iter().enumerate() {
            for o in 0..layer.outputs {
                let d = (f64::from(layer.biases[o]) - reference.biases[l][o]).abs();
                worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
                for i in 0..layer.inputs {
                    let w = f64::from(layer.weights[o * layer.inputs + i]);
                    let d = (w - reference.weights[l][o][i]).abs();
                    worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
                }
            }
        }
        // Absolute: each step moves a parameter by at most ~lr (Adam's normalised step), and the
        // f32 gradient's ~1e-5 relative error changes that by far less than 1e-4·lr per step;
        // Adam divides by √v + ε, which amplifies f32 rounding of tiny gradients, hence the
        // looser 2e-3·lr bound for 8 steps. A wrong update rule is off by ~lr at once.
        let bound = 2e-3 * f64::from(lr) * 8.0;
        assert!(
            worst < bound,
            "{what}: parameters differ by {worst} (bound {bound})"
        );
        if max_norm > 0.0 {
            // Every row within the ball, and the ball reached: the bound is below the rows'
            // norms after He init (~1.4), so the constraint acted.
            let norms: Vec<f32> = got
                .layers
                .iter()
                .flat_map(|l| l.weights.chunks(l.inputs))
                .map(|row| row.iter().map(|w| w * w).sum::<f32>().sqrt())
                .collect();
            assert!(
                norms.iter().all(|&n| n <= max_norm * (1.0 + 1e-5)),
                "{what}: {norms:?}"
            );
            assert!(
                norms.iter().any(|&n| n > max_norm * (1.0 - 1e-5)),
                "{what}: {norms:?}"
            );
        }
    }
}

#[test]
fn every_activation_and_loss_trains_like_the_reference_with_adam_dropout_and_a_schedule() {
    let adam = adam();
    for arch in architectures() {
        engine_matches_reference(
            arch,
            adam,
            LrSchedule::Cosine,
            0.3,
            0.01,
            0.0,
            InputNoise::default(),
        );
    }
}

#[test]
fn every_optimizer_and_schedule_trains_like_the_reference() {
    let arch = relu_xent();
    let step = LrSchedule::Step {
        every: 1,
        gamma: 0.5,
    };
    for optimizer in optimizers() {
        let lr = if optimizer.moments() == 2 { 0.01 } else { 0.3 };
        for schedule in [LrSchedule::Constant, step, LrSchedule::Cosine] {
            engine_matches_reference(
                arch,
                optimizer,
                schedule,
                0.0,
                lr,
                0.0,
                InputNoise::default(),
            );
        }
        engine_matches_reference(
            arch,
            optimizer,
            LrSchedule::Constant,
            0.5,
            lr,
            0.0,
            InputNoise::default(),
        );
    }
}

/// Max-norm after every step, on every layer of a relu network: the engine (its pixel-major
/// first layer included) clips as the reference does, with SGD, Adam and dropout.
#[test]
fn max_norm_clips_like_the_reference() {
    let (arch, adam) = (relu_xent(), adam());
    let sgd = Optimizer::from_name("sgd", OptimizerSettings::default()).expect("sgd");
    for (optimizer, schedule, dropout, lr, max_norm) in [
        (sgd, LrSchedule::Constant, 0.0, 0.3, 1.0),
        (adam, LrSchedule::Cosine, 0.3, 0.01, 1.2),
    ] {
        let noise = InputNoise::default();
        engine_matches_reference(arch, optimizer, schedule, dropout, lr, max_norm, noise);
    }
}

/// Input dropout alone (on images that are not square) and with distortions: the engine puts
/// each batch row through the noise of its round, batch and row, and scales kept pixels.
#[test]
fn input_noise_trains_like_the_reference() {
    let (arch, adam) = (relu_xent(), adam());
    let input_dropout = Dropout::new(0.3).expect("rate");
    for augment in [Augment::NONE, Augment::DEFAULT] {
        let noise = InputNoise {
            augment,
            dropout: input_dropout,
        };
        engine_matches_reference(arch, adam, LrSchedule::Cosine, 0.3, 0.01, 0.0, noise);
    }
}

/// Real MNIST when MNIST_GPU_DATA points at it; the test says SKIPPED otherwise.
fn real_data(test: &str) -> Option<String> {
    match std::env::var("MNIST_GPU_DATA") {
        Ok(dir) if std::path::Path::new(&dir).is_dir() => Some(dir),
        _ => {
            common::skip(&common::missing_mnist(test), common::MNIST_INSTALL);
            None
        }
    }
}

#[test]
fn two_rounds_of_the_fast_preset_pass_an_accuracy_floor_on_real_data() {
    let Some(data) = real_data("two_rounds_of_the_fast_preset_pass_an_accuracy_floor_on_real_data")
    else {
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args([
            "train", "--cpu", "--data", &data, "--preset", "fast", "--rounds", "2",
        ])
        .output()
        .expect("run mnist-gpu");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let accuracy: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy after training: "))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no final accuracy in:\n{text}"));
    // Two rounds of the recipe measured 96.8–97.1% with seeds 42, 1 and 2; 95% fails any real
    // bug (a wrong derivative, mask or update stalls far below it) without depending on luck.
    assert!(accuracy >= 95.0, "{accuracy}%:\n{text}");
}
