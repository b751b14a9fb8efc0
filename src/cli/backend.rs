//! Choosing the engine from `--cpu` / `--backend` (shared by every command that runs a network).

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::Error;
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gpu::tune::{TuneMode, cache_dir, choose_plan};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::Network;

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
    /// The tiled kernels a discrete GPU runs untuned, on any adapter (to check them).
    Tiled,
}

impl Tune {
    pub fn mode(self) -> TuneMode {
        match self {
            Tune::Off => TuneMode::Off,
            Tune::Quick => TuneMode::Quick,
            Tune::Full => TuneMode::Full,
            Tune::Tiled => TuneMode::Tiled,
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

/// The engine the flags ask for.
pub fn build_engine(
    args: &BackendArgs,
    net: Network,
    data: &Mnist,
    hyper: Hyper,
) -> anyhow::Result<Box<dyn Engine>> {
    if !args.cpu {
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
        CpuEngine::new(net, data, hyper).context("cannot set up the CPU engine")?,
    ))
}
