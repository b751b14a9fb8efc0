//! The GPU engine against its CPU twins, the CPU engine and the f64 reference.
//!
//! Tests that need an adapter get it from [`context`]: without one they print a `SKIPPED` line
//! (through `common::skip`, so it shows in a plain `cargo test`) and pass, unless
//! `MNIST_GPU_REQUIRE_GPU=1` (CI), where they fail.
//! The device shape comes from the environment: `WGPU_BACKEND` (e.g. `gl`),
//! `LP_NATIVE_VECTOR_WIDTH` (lavapipe's subgroup width) and `MNIST_GPU_LIMITS=downlevel` (open
//! the device with `wgpu::Limits::downlevel_defaults()`); `.ci/run` runs this file under each,
//! with `MNIST_GPU_EXPECT` naming what the adapter must be (a substring of
//! `name (backend)`), so a shape that silently opens another device fails.

use std::sync::{Arc, OnceLock};

use mnist_gpu::data::{Mnist, Split};
use mnist_gpu::engine::cpu::{CpuEngine, CpuInference};
use mnist_gpu::engine::gpu::inference::{GpuInference, INFERENCE_ROWS};
use mnist_gpu::engine::gpu::kernels::Kernel;
use mnist_gpu::engine::gpu::plan::KernelPlan;
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine, LimitsRequest};
use mnist_gpu::engine::{Engine, Hyper, Inference, Pixels, Recipe, batches};
use mnist_gpu::kernel_params::{BatchParams, LayerParams};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings};
use mnist_gpu::preset::PresetName;
use mnist_gpu::reference::{RefNetwork, input_of};
use mnist_gpu::train::round_order;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One shared context (compiling every pipeline on lavapipe takes a while).
fn context() -> Option<Arc<GpuContext>> {
    static CONTEXT: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        let limits = match std::env::var("MNIST_GPU_LIMITS").as_deref() {
            Ok("downlevel") => LimitsRequest::Downlevel,
            Ok("adapter") | Err(_) => LimitsRequest::Adapter,
            Ok(other) => panic!("MNIST_GPU_LIMITS={other:?}: expected downlevel or adapter"),
        };
        let request = AdapterRequest {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
            allow_software: true,
        };
        match GpuContext::with_limits(request, limits) {
            Ok(context) => {
                let info = &context.info;
                println!(
                    "device: {} ({:?}, {}), subgroups {}-{}, {} invocations, {} B workgroup memory",
                    info.name,
                    info.backend,
                    info.driver_info,
                    info.subgroup_min_size,
                    info.subgroup_max_size,
                    context.limits.max_compute_invocations_per_workgroup,
                    context.limits.max_compute_workgroup_storage_size
                );
                if let Ok(expected) = std::env::var("MNIST_GPU_EXPECT") {
                    let got = format!("{} ({:?})", info.name, info.backend);
                    assert!(
                        got.to_lowercase().contains(&expected.to_lowercase()),
                        "MNIST_GPU_EXPECT={expected:?} but the adapter is {got}"
                    );
                }
                if limits == LimitsRequest::Downlevel {
                    assert_eq!(context.limits, wgpu::Limits::downlevel_defaults());
                }
                Some(Arc::new(context))
            }
            Err(e) => {
                if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                    panic!("MNIST_GPU_REQUIRE_GPU=1 but no GPU context: {e}");
                }
                None
            }
        }
    });
    if context.is_none() {
        common::skip("no GPU adapter", common::GPU_INSTALL);
    }
    context.clone()
}

mod common;
mod twins;

use twins::{CLOSE, KernelDevice, assert_within};

/// Within the kernels' tolerance ([`twins::CLOSE`]).
fn assert_close(what: &str, got: &[f32], expected: &[f32]) {
    assert_within(what, got, expected, CLOSE);
}

/// One test per kernel twin check (`tests/twins`), on this device shape.
macro_rules! native_twin_tests {
    ($($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                let Some(ctx) = context() else { return };
                twins::$check(&*ctx as &dyn KernelDevice);
            }
        )*
    };
}
twins::twin_checks!(native_twin_tests);

/// 300 random 28×28 images (and 100 test images) with random labels.
fn synthetic(seed: u64) -> Mnist {
    common::synthetic(300, 100, 28, 28, seed)
}

/// Batches of 64 over 300 images: the last batch has 44 rows.
const HYPER: Hyper = Hyper {
    batch_size: 64,
    learning_rate: 2.0,
};

/// Relative difference, NaN-safe (NaN compares false, so the caller's `<=` fails).
fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// Largest parameter difference between two networks of the same shape.
fn max_parameter_difference(a: &Network, b: &Network) -> f32 {
    let mut worst = 0.0f32;
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        for (x, y) in la
            .weights
            .iter()
            .chain(&la.biases)
            .zip(lb.weights.iter().chain(&lb.biases))
        {
            let d = (x - y).abs();
            worst = if d.is_nan() {
                f32::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    worst
}

/// The f64 reference over the same round: its mean batch cost and its parameters.
fn reference_round(net: &Network, data: &Mnist, order: Option<&[u32]>) -> (f64, RefNetwork) {
    let mut reference = RefNetwork::from_network(net);
    let mut total = 0.0;
    let mut count = 0;
    for (first, rows) in batches(data.train.len(), HYPER.batch_size) {
        let picked: Vec<usize> = (first..first + rows)
            .map(|p| order.map_or(p, |o| o[p] as usize))
            .collect();
        let inputs: Vec<Vec<f64>> = picked
            .iter()
            .map(|&i| input_of(data.train.image(i)))
            .collect();
        let labels: Vec<u8> = picked.iter().map(|&i| data.train.labels[i]).collect();
        total += reference.step(&inputs, &labels, f64::from(HYPER.learning_rate));
        count += 1;
    }
    (total / count as f64, reference)
}

/// The plans a whole round is checked with: the tiled kernels with the tiles a discrete GPU
/// gets untuned, and the register-block kernels a software adapter gets.
fn round_plans(ctx: &GpuContext) -> Vec<KernelPlan> {
    let discrete = wgpu::AdapterInfo {
        device_type: wgpu::DeviceType::DiscreteGpu,
        ..ctx.info.clone()
    };
    let gpu_plan = KernelPlan::default_for(&discrete, &ctx.limits);
    assert_eq!(
        gpu_plan,
        KernelPlan::tiled_defaults(),
        "the discrete-GPU default tiles must fit every device shape CI runs"
    );
    vec![gpu_plan, KernelPlan::register_blocks()]
}

fn round_matches_cpu_and_reference(shuffle: bool) {
    let Some(ctx) = context() else { return };
    for plan in round_plans(&ctx) {
        println!("plan: {}", plan.describe());
        round_matches_with(Arc::clone(&ctx), plan, shuffle);
    }
}

fn round_matches_with(ctx: Arc<GpuContext>, plan: KernelPlan, shuffle: bool) {
    let data = synthetic(7);
    let net = Network::new(&[16, 16], 42).expect("network");
    let order = shuffle.then(|| round_order(42, 1, data.train.len()));
    let mut gpu = GpuEngine::with_plan(ctx, plan, net.clone(), &data, HYPER).expect("gpu engine");
    let mut cpu_engine = CpuEngine::new(net.clone(), &data, HYPER).expect("cpu engine");
    let gpu_cost = gpu.train_round(order.as_deref()).expect("gpu round");
    let cpu_cost = cpu_engine.train_round(order.as_deref()).expect("cpu round");
    let (ref_cost, reference) = reference_round(&net, &data, order.as_deref());
    // f32 engines against each other and against f64: five batches of ≤ 64 rows through
    // 784-16-16-10 lose a few f32 ulps per sum; 1e-4 relative is the CLI's promise.
    assert!(
        relative(gpu_cost, cpu_cost) <= 1e-4,
        "cost gpu {gpu_cost} vs cpu {cpu_cost}"
    );
    assert!(
        relative(gpu_cost, ref_cost) <= 1e-4,
        "cost gpu {gpu_cost} vs reference {ref_cost}"
    );

    let gpu_net = gpu.network().expect("gpu network");
    let cpu_net = cpu_engine.network().expect("cpu network");
    // Parameters are O(0.5) and move by lr·gradient steps; 1e-4 absolute is ~1000 f32 ulps.
    let diff = max_parameter_difference(&gpu_net, &cpu_net);
    assert!(
        diff <= 1e-4,
        "parameters differ from the CPU engine's by {diff}"
    );
    let mut worst = 0.0f64;
    for (l, layer) in gpu_net.layers.iter().enumerate() {
        for o in 0..layer.outputs {
            for i in 0..layer.inputs {
                let d = (f64::from(layer.weights[o * layer.inputs + i])
                    - reference.weights[l][o][i])
                    .abs();
                worst = if d.is_nan() {
                    f64::INFINITY
                } else {
                    worst.max(d)
                };
            }
            let d = (f64::from(layer.biases[o]) - reference.biases[l][o]).abs();
            worst = if d.is_nan() {
                f64::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    assert!(
        worst <= 1e-4,
        "parameters differ from the reference's by {worst}"
    );

    // Evaluation on the GPU agrees with the CPU engine image by image.
    for split in [Split::Train, Split::Test] {
        let gpu_predictions = gpu.predictions(split).expect("gpu predictions");
        let cpu_predictions = cpu_engine.predictions(split).expect("cpu predictions");
        assert_eq!(gpu_predictions, cpu_predictions, "{split:?} predictions");
        let expected = cpu_engine.correct(split).expect("cpu correct");
        assert_eq!(
            gpu.correct(split).expect("gpu correct"),
            expected,
            "{split:?} correct"
        );
    }
    let gpu_out = gpu.outputs(Split::Test, 3).expect("gpu outputs");
    let cpu_out = cpu_engine.outputs(Split::Test, 3).expect("cpu outputs");
    assert_close("outputs of test image 3", &gpu_out, &cpu_out);
}

#[test]
fn one_round_matches_cpu_engine_and_reference() {
    round_matches_cpu_and_reference(false);
}

#[test]
fn one_shuffled_round_matches_cpu_engine_and_reference() {
    round_matches_cpu_and_reference(true);
}

#[test]
fn a_round_reads_back_one_f32_per_batch() {
    let Some(ctx) = context() else { return };
    let data = synthetic(8);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(ctx, net, &data, HYPER).expect("gpu engine");
    let batches = data.train.len().div_ceil(HYPER.batch_size) as u64;
    let before = gpu.readback_stats();
    gpu.train_round(None).expect("round");
    let order = round_order(3, 2, data.train.len());
    gpu.train_round(Some(&order)).expect("shuffled round");
    let after = gpu.readback_stats();
    assert_eq!(after.calls - before.calls, 2, "one readback per round");
    assert_eq!(
        after.bytes - before.bytes,
        2 * batches * 4,
        "one f32 per batch"
    );
    gpu.correct(Split::Test).expect("correct");
    let counted = gpu.readback_stats();
    assert_eq!(
        (counted.calls, counted.bytes),
        (after.calls + 1, after.bytes + 4)
    );
}

/// Dispatches per batch step for L layers, as docs/kernels.md counts them: the tutorial's
/// SGD 5·L + 1 (weights and biases updated apart, by vec4 kernels where they fit); any other
/// optimiser with softmax outputs 4·L + 2 (one `parameter_step` per layer); dropout adds a mask
/// forward and back per hidden layer; input noise adds one `gather_input`.
#[test]
fn a_batch_step_records_the_documented_dispatches() {
    let Some(ctx) = context() else { return };
    let data = synthetic(10);
    let augmented = InputNoise {
        augment: Augment::DEFAULT,
        dropout: Dropout::default(),
    };
    for (hidden, optimizer, loss, dropout, noise) in [
        (&[16][..], "sgd", Loss::Mse, 0.0, InputNoise::default()),
        (&[16][..], "adam", Loss::Xent, 0.0, InputNoise::default()),
        (
            &[16, 12][..],
            "adam",
            Loss::Xent,
            0.0,
            InputNoise::default(),
        ),
        (&[16][..], "adam", Loss::Xent, 0.5, InputNoise::default()),
        (&[16][..], "adam", Loss::Xent, 0.5, augmented),
    ] {
        let layers = hidden.len() as u64 + 1;
        let arch = Architecture {
            activation: Activation::Relu,
            loss,
            ..Architecture::default()
        };
        let mut sizes = vec![784];
        sizes.extend_from_slice(hidden);
        sizes.push(10);
        let net = Network::build(&sizes, arch, Init::He, 1).expect("network");
        let mut recipe = Recipe::sgd(HYPER);
        if optimizer != "sgd" {
            recipe.optimizer =
                Optimizer::from_name(optimizer, Optimizer::defaults(optimizer)).expect("adam");
        }
        recipe.dropout = Dropout::new(dropout).expect("rate");
        recipe.noise = noise;
        let plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
        let mut gpu = GpuEngine::with_recipe(Arc::clone(&ctx), plan, net, &data, recipe, None)
            .expect("gpu engine");
        let batches = data.train.len().div_ceil(HYPER.batch_size) as u64;
        let before = gpu.dispatches();
        gpu.train_round(None).expect("round");
        let per_step = (gpu.dispatches() - before) as f64 / batches as f64;
        let expected = match (optimizer, dropout > 0.0) {
            ("sgd", _) => 5 * layers + 1,
            (_, false) => 4 * layers + 2,
            (_, true) => 4 * layers + 2 + 2 * (layers - 1),
        } + u64::from(noise.is_active());
        assert_eq!(
            per_step, expected as f64,
            "{optimizer} {hidden:?} dropout {dropout}"
        );
    }
}

#[test]
fn a_bad_order_is_a_clear_error() {
    let Some(ctx) = context() else { return };
    let data = synthetic(9);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(ctx, net, &data, HYPER).expect("gpu engine");
    let err = gpu.train_round(Some(&[0, 1, 2])).expect_err("short order");
    assert!(err.to_string().contains("order"), "{err}");
    let err = gpu.outputs(Split::Test, 100).expect_err("out of range");
    assert!(err.to_string().contains("out of range"), "{err}");
}

/// The forward-only engines: the GPU's against the CPU's, for a sigmoid network with the
/// tutorial's squared error and a relu one with softmax cross-entropy, on both kernel plans,
/// over more images than one GPU chunk holds (so the last chunk is partial), given as bytes and
/// as values (the GPU rounds values to grey levels: the same images here).
#[test]
fn gpu_inference_matches_cpu_inference() {
    let Some(ctx) = context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let count = INFERENCE_ROWS + 37;
    let bytes: Vec<u8> = (0..count * 784)
        .map(|_| rng.random_range(0..=255))
        .collect();
    let values: Vec<f32> = bytes.iter().map(|&b| f32::from(b) / 255.0).collect();
    let architectures = [
        (Activation::Sigmoid, Loss::Mse, Init::Uniform),
        (Activation::Relu, Loss::Xent, Init::He),
    ];
    for plan in round_plans(&ctx) {
        for (activation, loss, init) in architectures {
            let arch = Architecture {
                activation,
                loss,
                ..Architecture::default()
            };
            let net = Network::build(&[784, 37, 13, 10], arch, init, 5).expect("network");
            let mut cpu = CpuInference::new(net.clone());
            let mut gpu = GpuInference::new(Arc::clone(&ctx), plan, &net).expect("inference");
            let want = cpu.outputs(Pixels::Bytes(&bytes)).expect("cpu outputs");
            let what = format!(
                "{} {} ({})",
                activation.name(),
                loss.name(),
                plan.describe()
            );
            assert_eq!(want.len(), count * 10, "{what}");
            assert_close(
                &what,
                &gpu.outputs(Pixels::Bytes(&bytes)).expect("gpu"),
                &want,
            );
            let from_values = gpu.outputs(Pixels::Values(&values)).expect("gpu values");
            assert_close(&format!("{what}, values"), &from_values, &want);
            assert_eq!(
                gpu.predictions(Pixels::Bytes(&bytes))
                    .expect("predictions")
                    .len(),
                count
            );
            let err = gpu
                .outputs(Pixels::Values(&values[..100]))
                .expect_err("a partial image");
            assert!(err.to_string().contains("whole images"), "{err}");
        }
    }
}

/// Bind groups are made by the names the kernel's WGSL gives its bindings: a buffer for a
/// name the kernel lacks, or a missing one, is a clear error, not a silent misbinding.
#[test]
fn a_buffer_for_a_binding_the_kernel_lacks_is_a_clear_error() {
    let Some(ctx) = context() else { return };
    let buffer = ctx.buffer_with("x", &[0u8; 16]);
    let (batch, layer) = (BatchParams::new(0, 0, 1), LayerParams::new(1, 1, 0.1));
    let err = ctx
        .run_once(Kernel::Softmax, batch, layer, &[("outputs", &buffer)])
        .expect_err("softmax has no binding named outputs");
    assert!(err.to_string().contains("no binding \"outputs\""), "{err}");
    let err = ctx
        .run_once(
            Kernel::DropoutForward,
            batch,
            layer,
            &[("activations", &buffer)],
        )
        .expect_err("dropout_forward also writes `dropped`");
    assert!(err.to_string().contains("got 1"), "{err}");
}

/// An API with no adapter on this machine is a one-line error that says what to do.
#[test]
fn a_missing_backend_is_a_clear_error() {
    let missing = if cfg!(target_os = "macos") {
        wgpu::Backends::DX12
    } else {
        wgpu::Backends::METAL
    };
    let err = GpuContext::new(AdapterRequest {
        backends: missing,
        allow_software: true,
    })
    .err()
    .expect("no adapter for a foreign API");
    let message = err.to_string();
    assert!(matches!(err, mnist_gpu::Error::NoAdapter(_)), "{message}");
    assert!(
        message.contains("--cpu") && !message.contains('\n'),
        "{message}"
    );
}

/// A full batch needs only the layers' outputs resident (not rows×784 f32): the size checks
/// must let it through and the round must run.
#[test]
fn a_full_batch_round_runs() {
    let Some(ctx) = context() else { return };
    let data = synthetic(11);
    let full = Hyper {
        batch_size: data.train.len(),
        learning_rate: 2.0,
    };
    let net = Network::new(&[16], 1).expect("network");
    let mut cpu_engine = CpuEngine::new(net.clone(), &data, full).expect("cpu engine");
    let cpu_cost = cpu_engine.train_round(None).expect("cpu round");
    for plan in round_plans(&ctx) {
        let mut gpu = GpuEngine::with_plan(Arc::clone(&ctx), plan, net.clone(), &data, full)
            .expect("gpu engine");
        let gpu_cost = gpu.train_round(None).expect("gpu round");
        // One 300-row batch: f32 sums in another order, far below 1e-4 relative.
        assert!(
            relative(gpu_cost, cpu_cost) <= 1e-4,
            "gpu {gpu_cost} vs cpu {cpu_cost} ({})",
            plan.describe()
        );
    }
}

/// A lost device (here destroyed on purpose) turns into an `Error::Gpu`, never a hang or panic.
#[test]
fn a_lost_device_is_a_gpu_error() {
    if context().is_none() {
        return;
    }
    let ctx = Arc::new(
        GpuContext::new(AdapterRequest {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
            allow_software: true,
        })
        .expect("a second context"),
    );
    let data = synthetic(12);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(Arc::clone(&ctx), net, &data, HYPER).expect("gpu engine");
    ctx.device.destroy();
    let err = gpu
        .train_round(None)
        .expect_err("a round on a destroyed device");
    println!("a round on a destroyed device: {err}");
    assert!(matches!(err, mnist_gpu::Error::Gpu(_)), "{err}");
    let err = gpu
        .correct(Split::Test)
        .expect_err("evaluation on a destroyed device");
    assert!(matches!(err, mnist_gpu::Error::Gpu(_)), "{err}");
}

/// The tuner times the candidates, keeps a plan whose every product agrees with its twin,
/// stores it in the cache folder it is given (never the user's: a temporary folder here), and
/// the next call for the same adapter and shape reuses it without timing anything.
#[test]
fn tuning_is_cached_per_adapter_and_shape() {
    use mnist_gpu::engine::gpu::tune::{PlanSource, TuneMode, choose_plan};
    let Some(ctx) = context() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes = [40, 24, 10];
    let first = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("tune");
    println!("{}", first.summary());
    assert!(
        matches!(&first.source, PlanSource::Tuned { cached: Ok(path), .. } if path.starts_with(dir.path())),
        "{:?}",
        first.source
    );
    assert!(!first.timings.is_empty());
    for timing in &first.timings {
        assert!(
            timing.seconds > 0.0 && timing.seconds.is_finite(),
            "{timing:?}"
        );
    }
    let again = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("cache");
    assert!(
        matches!(again.source, PlanSource::Cache(_)),
        "{:?}",
        again.source
    );
    assert_eq!(again.plan, first.plan);
    assert!(again.summary().contains("reused"), "{}", again.summary());
    // Another shape is tuned afresh; --tune off takes the class default and times nothing.
    let other = choose_plan(&ctx, &sizes, 90, TuneMode::Quick, Some(dir.path())).expect("tune");
    assert!(
        matches!(other.source, PlanSource::Tuned { .. }),
        "{:?}",
        other.source
    );
    let off = choose_plan(&ctx, &sizes, 150, TuneMode::Off, Some(dir.path())).expect("off");
    assert_eq!(off.source, PlanSource::Default);
    assert_eq!(off.plan, KernelPlan::default_for(&ctx.info, &ctx.limits));
    let tiled = choose_plan(&ctx, &sizes, 150, TuneMode::Tiled, Some(dir.path())).expect("tiled");
    assert_eq!(tiled.source, PlanSource::TiledDefault);
    assert_eq!(tiled.plan, KernelPlan::tiled_defaults());
    // A corrupt cache file is ignored and replaced; a cache folder that cannot be created
    // leaves the tuned plan in use and says why it was not cached.
    let file = dir.path().join("kernel-plans.json");
    std::fs::write(&file, b"{ not json").expect("corrupt the cache");
    let fresh = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("tune");
    assert!(
        matches!(fresh.source, PlanSource::Tuned { cached: Ok(_), .. }),
        "{:?}",
        fresh.source
    );
    let reused = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("cache");
    assert!(
        matches!(reused.source, PlanSource::Cache(_)),
        "{:?}",
        reused.source
    );
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").expect("file");
    let uncached = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(&blocked)).expect("tune");
    assert!(
        matches!(uncached.source, PlanSource::Tuned { cached: Err(_), .. }),
        "{:?}",
        uncached.source
    );
    assert!(
        uncached.summary().contains("not cached"),
        "{}",
        uncached.summary()
    );
    // A round with the tuned plan matches the CPU engine.
    let data = synthetic(13);
    let net = Network::new(&[24], 3).expect("network");
    let mut gpu = GpuEngine::with_plan(Arc::clone(&ctx), first.plan, net.clone(), &data, HYPER)
        .expect("gpu engine");
    let mut cpu_engine = CpuEngine::new(net, &data, HYPER).expect("cpu engine");
    let (g, c) = (
        gpu.train_round(None).expect("gpu round"),
        cpu_engine.train_round(None).expect("cpu round"),
    );
    assert!(relative(g, c) <= 1e-4, "gpu {g} vs cpu {c}");
}

/// A recipe beyond the tutorial's: network shape and the optimiser, schedule and rate.
fn recipe_net(arch: Architecture) -> Network {
    let init = if arch.activation == Activation::Sigmoid {
        Init::Uniform
    } else {
        Init::He
    };
    Network::build(&[784, 24, 12, 10], arch, init, 42).expect("network")
}

fn recipe(optimizer: Optimizer, schedule: LrSchedule, lr: f32, warmup: f64) -> Recipe {
    let hyper = Hyper {
        batch_size: 64,
        learning_rate: lr,
    };
    Recipe {
        hyper,
        optimizer,
        lr: LrPlan {
            base: lr,
            schedule,
            warmup,
            rounds: 5,
        },
        dropout: Dropout::default(),
        max_norm: 0.0,
        noise: InputNoise::default(),
        seed: 42,
        first_round: 1,
    }
}

/// The recipes the GPU is checked on against the CPU engine: each optimiser, each loss and
/// each schedule at least once.
fn gpu_recipes() -> Vec<(Architecture, Recipe)> {
    let s = OptimizerSettings::default();
    let relu_xent = Architecture {
        activation: Activation::Relu,
        loss: Loss::Xent,
        ..Architecture::default()
    };
    let tanh_xent = Architecture {
        activation: Activation::Tanh,
        loss: Loss::Xent,
        ..Architecture::default()
    };
    let sigmoid_mse = Architecture::default();
    let optimizer = |name: &str, nesterov: bool| {
        Optimizer::from_name(name, OptimizerSettings { nesterov, ..s }).expect("optimizer")
    };
    vec![
        (
            relu_xent,
            recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0),
        ),
        (
            tanh_xent,
            Recipe {
                // Below the rows' norms after init (~1.4): max-norm acts from the first step.
                max_norm: 1.0,
                ..recipe(optimizer("adamw", false), LrSchedule::Cosine, 1e-3, 0.5)
            },
        ),
        (
            sigmoid_mse,
            recipe(
                optimizer("momentum", true),
                LrSchedule::Step {
                    every: 2,
                    gamma: 0.5,
                },
                0.5,
                0.0,
            ),
        ),
        (
            relu_xent,
            recipe(optimizer("sgd", false), LrSchedule::Constant, 0.1, 1.0),
        ),
        (
            relu_xent,
            Recipe {
                dropout: Dropout::new(0.3).expect("rate"),
                ..recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0)
            },
        ),
        (
            // The best-augmented kind: distorted images with input and hidden dropout.
            relu_xent,
            Recipe {
                dropout: Dropout::new(0.3).expect("rate"),
                noise: InputNoise {
                    augment: Augment::DEFAULT,
                    dropout: Dropout::new(0.2).expect("rate"),
                },
                ..recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0)
            },
        ),
        (
            sigmoid_mse,
            Recipe {
                dropout: Dropout::new(0.5).expect("rate"),
                ..recipe(optimizer("sgd", false), LrSchedule::Constant, 0.5, 0.0)
            },
        ),
        (
            Architecture {
                activation: Activation::Gelu,
                loss: Loss::Xent,
                ..Architecture::default()
            },
            recipe(
                Optimizer::from_name("lion", Optimizer::defaults("lion")).expect("lion"),
                LrSchedule::Cosine,
                3e-4,
                0.5,
            ),
        ),
        (
            Architecture {
                activation: Activation::Silu,
                loss: Loss::Xent,
                ..Architecture::default()
            },
            recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0),
        ),
    ]
}

/// Five shuffled rounds of each recipe on the GPU (both kernel plans) track the CPU engine:
/// every round's cost within 1e-4 relative, the same predictions, and the optimiser state
/// (moments and step count) read back from the device close to the CPU's.
#[test]
fn recipes_track_the_cpu_engine_for_five_rounds() {
    let Some(ctx) = context() else { return };
    let data = synthetic(11);
    for plan in round_plans(&ctx) {
        for (arch, recipe) in gpu_recipes() {
            let what = format!(
                "{} {} {} ({})",
                arch.loss.name(),
                recipe.optimizer.describe(),
                recipe.lr.schedule.describe(),
                plan.describe()
            );
            let net = recipe_net(arch);
            let mut gpu = GpuEngine::with_recipe(
                Arc::clone(&ctx),
                plan,
                net.clone(),
                &data,
                recipe.clone(),
                None,
            )
            .expect("gpu engine");
            let mut cpu_engine =
                CpuEngine::with_recipe(net, &data, recipe.clone(), None).expect("cpu engine");
            for round in 1..=5 {
                let order = round_order(42, round, data.train.len());
                let before = gpu.readback_stats();
                let g = gpu.train_round(Some(&order)).expect("gpu round");
                // The moments stay on the device: a round reads back its 5 batch costs only.
                let after = gpu.readback_stats();
                assert_eq!(
                    (after.calls - before.calls, after.bytes - before.bytes),
                    (1, 5 * 4),
                    "{what}: round {round} readbacks"
                );
                let c = cpu_engine.train_round(Some(&order)).expect("cpu round");
                // f32 sums in other orders and another exp/log: ~1e-6 per round, compounded
                // over 25 steps; 1e-4 relative is the promise of the command line.
                assert!(
                    relative(g, c) <= 1e-4,
                    "{what}: round {round} cost gpu {g} vs cpu {c}"
                );
            }
            assert_eq!(
                gpu.predictions(Split::Test).expect("gpu"),
                cpu_engine.predictions(Split::Test).expect("cpu"),
                "{what}: predictions"
            );
            let gpu_net = gpu.network().expect("network");
            assert_eq!(gpu_net.loss, arch.loss, "{what}: loss");
            let diff = max_parameter_difference(&gpu_net, &cpu_engine.network().expect("net"));
            assert!(diff <= 1e-3, "{what}: parameters differ by {diff}");
            let (gs, cs) = (
                gpu.optimizer_state().expect("gpu state"),
                cpu_engine.optimizer_state().expect("cpu state"),
            );
            assert_eq!(gs.steps, cs.steps, "{what}: steps");
            assert_eq!(
                (gs.first.len(), gs.second.len()),
                (cs.first.len(), cs.second.len()),
                "{what}: moment tensors"
            );
            for (g, c) in gs
                .first
                .iter()
                .chain(&gs.second)
                .zip(cs.first.iter().chain(&cs.second))
            {
                // Moments are running means of gradients (≤ 1e-1 here); 1e-4 absolute.
                let worst = g
                    .iter()
                    .zip(c)
                    .map(|(a, b)| {
                        if (a - b).is_nan() {
                            f32::INFINITY
                        } else {
                            (a - b).abs()
                        }
                    })
                    .fold(0.0f32, f32::max);
                assert!(worst <= 1e-4, "{what}: moments differ by {worst}");
            }
        }
    }
}

/// A GPU run (AdamW with warm-up and max-norm) saved after 2 rounds (network and optimiser
/// state) and resumed on a new engine runs round 3 exactly like the uninterrupted run.
#[test]
fn a_resumed_gpu_run_continues_like_an_uninterrupted_one() {
    let Some(ctx) = context() else { return };
    let data = synthetic(12);
    let (arch, recipe) = gpu_recipes().remove(1);
    let plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
    let net = recipe_net(arch);
    let engine = |net: Network, recipe: Recipe, state| {
        GpuEngine::with_recipe(Arc::clone(&ctx), plan, net, &data, recipe, state)
            .expect("gpu engine")
    };
    let mut whole = engine(net.clone(), recipe.clone(), None);
    let mut first = engine(net, recipe.clone(), None);
    for round in 1..=2 {
        let order = round_order(42, round, data.train.len());
        whole.train_round(Some(&order)).expect("round");
        first.train_round(Some(&order)).expect("round");
    }
    let state = first.optimizer_state().expect("state");
    assert_eq!(state.steps, 10, "5 batches per round");
    let resumed_recipe = Recipe {
        first_round: 3,
        ..recipe
    };
    let mut resumed = engine(first.network().expect("net"), resumed_recipe, Some(state));
    let order = round_order(42, 3, data.train.len());
    let a = whole.train_round(Some(&order)).expect("round");
    let b = resumed.train_round(Some(&order)).expect("round");
    // The same kernels on the same device in the same order: identical, not merely close.
    assert_eq!(a, b, "round 3 cost");
    assert_eq!(
        whole.network().expect("net"),
        resumed.network().expect("net")
    );
    assert_eq!(
        whole.optimizer_state().expect("state"),
        resumed.optimizer_state().expect("state")
    );
}

/// The real digits (MNIST_GPU_DATA): every preset's recipe (src/preset.rs) on the first 6000
/// training images for 5 rounds (the wide presets on 1000 for 2 rounds, to stay cheap on every
/// device shape): every round's cost within 1e-4 of the CPU engine's; the fast recipe's test
/// accuracy over a floor.
#[test]
fn presets_on_real_digits_track_the_cpu_engine() {
    let Some(dir) = common::real_mnist_dir("presets_on_real_digits_track_the_cpu_engine") else {
        return;
    };
    let Some(ctx) = context() else { return };
    let full = Mnist::load(std::path::Path::new(&dir)).expect("MNIST_GPU_DATA holds MNIST");
    let plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
    for preset_name in PresetName::ALL {
        let preset = preset_name.preset();
        let name = preset_name.name();
        let net = preset.network(42).expect("network");
        let recipe = preset.recipe(42, preset.rounds).expect("recipe");
        let shuffle = preset.shuffle;
        // Hidden units times images stays within ~2.4 million per round.
        let units: usize = net.sizes()[1..net.sizes().len() - 1].iter().sum();
        let images = (2_400_000 / units).clamp(1000, 6000);
        // Sums in other orders drift apart as training amplifies them (BENCHMARKS.md, modern
        // recipes on lavapipe): the wide dropout recipes pass 1e-4 after 40 steps on lavapipe
        // and after 24 with GL's kernels, so they are checked over 16 (2e-5 apart on GL).
        let rounds = if units > 1000 {
            2
        } else {
            preset.rounds.min(5)
        };
        let data = &mut Mnist::new(
            full.train.truncated(images),
            full.test.clone(),
            "slice".into(),
        );
        // The images as `train` gives them to the engines.
        net.preprocess.apply_to_data(data);
        let data = &*data;
        let mut gpu = GpuEngine::with_recipe(
            Arc::clone(&ctx),
            plan,
            net.clone(),
            data,
            recipe.clone(),
            None,
        )
        .expect("gpu engine");
        let mut cpu_engine = CpuEngine::with_recipe(net, data, recipe, None).expect("cpu");
        for round in 1..=rounds {
            let order = shuffle.then(|| round_order(42, round, data.train.len()));
            let g = gpu.train_round(order.as_deref()).expect("gpu round");
            let c = cpu_engine.train_round(order.as_deref()).expect("cpu round");
            println!("{name} round {round}: gpu {g:.7} cpu {c:.7}");
            assert!(
                relative(g, c) <= 1e-4,
                "{name}: round {round} cost gpu {g} vs cpu {c}"
            );
        }
        let correct = gpu.correct(Split::Test).expect("correct");
        let accuracy = correct as f64 / data.test.len() as f64;
        println!("{name}: test accuracy {:.2}%", 100.0 * accuracy);
        if name == "fast" {
            // Its 2 rounds of Adam on 6000 deskewed digits reach 95.5%; a broken kernel
            // stays near chance (10%).
            assert!(accuracy >= 0.90, "{name}: test accuracy {accuracy}");
        }
    }
}
