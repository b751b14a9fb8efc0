//! Choosing the engine from `--cpu` / `--backend` (shared by every command that runs a network).

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::Network;

/// Which GPU API to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The best hardware adapter; the CPU path when there is none.
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Run on the CPU (multithreaded f32 SIMD) instead of the GPU.
    #[arg(long, conflicts_with = "backend")]
    pub cpu: bool,
    /// GPU API to run the WGSL kernels on (WGPU_BACKEND and WGPU_ADAPTER_NAME are honoured).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
}

/// The engine the flags ask for.
pub fn build_engine(
    args: &BackendArgs,
    net: Network,
    data: &Mnist,
    hyper: Hyper,
) -> anyhow::Result<Box<dyn Engine>> {
    if !args.cpu {
        eprintln!("notice: the GPU engine is not built yet; running on the CPU");
    }
    Ok(Box::new(
        CpuEngine::new(net, data, hyper).context("cannot set up the CPU engine")?,
    ))
}
