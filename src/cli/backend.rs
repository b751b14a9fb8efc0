//! Choosing the engine from `--cpu` / `--backend` (shared by every command that runs a network).

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::Error;
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gpu::tune::{TuneMode, cache_dir, choose_plan};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper, Recipe};
use mnist_gpu::model::Network;
use mnist_gpu::optim::OptimizerState;

/// Which GPU API to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The best hardware adapter; the CPU path when there is none (software adapters such as
    /// lavapipe are far slower than the CPU path, so auto skips them).
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl Backend {
    pub fn request(self) -> AdapterRequest {
        let (backends, allow_software) = match self {
            // GL only when asked for: it is the weakest API, and probing it makes Mesa print
            // EGL warnings on headless machines.
            // WGPU_BACKEND picks the APIs `auto` searches; an explicit --backend wins over it.
            Backend::Auto => (
                wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
                false,
            ),
            Backend::Vulkan => (wgpu::Backends::VULKAN, true),
            Backend::Metal => (wgpu::Backends::METAL, true),
            Backend::Dx12 => (wgpu::Backends::DX12, true),
            Backend::Gl => (wgpu::Backends::GL, true),
        };
        AdapterRequest {
            backends,
            allow_software,
        }
    }
}

/// How much to tune the GPU kernels (`--tune`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Tune {
    /// The adapter class's default kernels, nothing timed.
    Off,
    /// The cached choice for this adapter and network, else a few seconds of timing.
    Quick,
    /// The cached choice, else a longer, repeated timing.
    Full,
}

impl Tune {
    pub fn mode(self) -> TuneMode {
        match self {
            Tune::Off => TuneMode::Off,
            Tune::Quick => TuneMode::Quick,
            Tune::Full => TuneMode::Full,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Run on the CPU (multithreaded f32 SIMD) instead of the GPU.
    #[arg(long, conflicts_with = "backend")]
    pub cpu: bool,
    /// GPU API to run the WGSL kernels on (WGPU_BACKEND and WGPU_ADAPTER_NAME are honoured).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Time the GPU's candidate matrix kernels on first use of an adapter and network shape and
    /// cache the choice (MNIST_GPU_CACHE_DIR overrides the cache folder).
    #[arg(long, value_enum, default_value_t = Tune::Quick)]
    pub tune: Tune,
}

/// The engine the flags ask for, to evaluate or to train the tutorial's way.
pub fn build_engine(
    args: &BackendArgs,
    net: Network,
    data: &Mnist,
    hyper: Hyper,
) -> anyhow::Result<Box<dyn Engine>> {
    build_training_engine(args, net, data, Recipe::sgd(hyper), None)
}

/// The engine the flags ask for, training by `recipe` from `state` (a resumed run's).
pub fn build_training_engine(
    args: &BackendArgs,
    net: Network,
    data: &Mnist,
    recipe: Recipe,
    state: Option<OptimizerState>,
) -> anyhow::Result<Box<dyn Engine>> {
    let hyper = recipe.hyper;
    let gpu_can_train = recipe.is_plain_sgd() && net.loss == mnist_gpu::ops::Loss::Mse;
    if !args.cpu && !gpu_can_train {
        if args.backend != Backend::Auto {
            anyhow::bail!(
                "the GPU engine trains with the quadratic cost (mse) by constant-rate SGD without dropout; this run needs --cpu ({}, {})",
                net.describe(),
                recipe.optimizer.describe()
            );
        }
        eprintln!(
            "notice: the GPU kernels train with the quadratic cost (mse) by constant-rate SGD only; running on the CPU"
        );
    }
    if !args.cpu && gpu_can_train {
        match GpuContext::new(args.backend.request()) {
            Ok(context) => {
                let sizes = net.sizes();
                let batch = hyper.batch_size.min(data.train.len()).max(1);
                let tuned = choose_plan(
                    &context,
                    &sizes,
                    batch,
                    args.tune.mode(),
                    cache_dir().as_deref(),
                )
                .context("cannot tune the GPU kernels")?;
                eprintln!("{}", tuned.summary());
                let engine = GpuEngine::with_plan(Arc::new(context), tuned.plan, net, data, hyper)
                    .context("cannot set up the GPU engine")?;
                return Ok(Box::new(engine));
            }
            Err(Error::NoAdapter(why)) if args.backend == Backend::Auto => {
                eprintln!("notice: {why}; running on the CPU");
            }
            Err(e) => return Err(e).context("cannot open the GPU"),
        }
    }
    Ok(Box::new(
        CpuEngine::with_recipe(net, data, recipe, state).context("cannot set up the CPU engine")?,
    ))
}
