//! Choosing the engine from `--cpu` / `--backend` (shared by every command that runs a network).

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::Error;
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::cpu::{CpuEngine, CpuInference};
use mnist_gpu::engine::gpu::inference::GpuInference;
use mnist_gpu::engine::gpu::plan::KernelPlan;
use mnist_gpu::engine::gpu::tune::{TuneMode, cache_dir, choose_plan};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Inference, Recipe};
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

/// The GPU the flags ask for, with the matrix kernels the tuner chose for `net` at `rows` rows
/// (its summary line printed); `None` when the CPU is to run: `--cpu`, or `auto` finding no
/// adapter (said in a notice).
fn tuned_gpu(
    args: &BackendArgs,
    net: &Network,
    rows: usize,
) -> anyhow::Result<Option<(Arc<GpuContext>, KernelPlan)>> {
    if args.cpu {
        return Ok(None);
    }
    match GpuContext::new(args.backend.request()) {
        Ok(context) => {
            let tuned = choose_plan(
                &context,
                &net.sizes(),
                rows.max(1),
                args.tune.mode(),
                cache_dir().as_deref(),
            )
            .context("cannot tune the GPU kernels")?;
            eprintln!("{}", tuned.summary());
            Ok(Some((Arc::new(context), tuned.plan)))
        }
        Err(Error::NoAdapter(why)) if args.backend == Backend::Auto => {
            eprintln!("notice: {why}; running on the CPU");
            Ok(None)
        }
        Err(e) => Err(e).context("cannot open the GPU"),
    }
}

/// The forward-only engine the flags ask for (eval, serve), its kernels tuned at `rows` rows
/// (usually a cache hit: the batch the model was trained with).
pub fn build_inference(
    args: &BackendArgs,
    net: &Network,
    rows: usize,
) -> anyhow::Result<Box<dyn Inference>> {
    Ok(match tuned_gpu(args, net, rows)? {
        Some((context, plan)) => Box::new(
            GpuInference::new(context, plan, net).context("cannot set up the GPU for inference")?,
        ),
        None => Box::new(CpuInference::new(net.clone())),
    })
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
    mnist_gpu::memory::check(
        &format!(
            "training the {} network with batches of {}",
            net.shape_name(),
            hyper.batch_size
        ),
        mnist_gpu::memory::training_bytes(
            &net.sizes(),
            hyper.batch_size,
            data.train.len() + data.test.len(),
        ),
    )?;
    let rows = hyper.batch_size.min(data.train.len());
    if let Some((context, plan)) = tuned_gpu(args, &net, rows)? {
        let engine = GpuEngine::with_recipe(context, plan, net, data, recipe, state)
            .context("cannot set up the GPU engine")?;
        return Ok(Box::new(engine));
    }
    Ok(Box::new(
        CpuEngine::with_recipe(net, data, recipe, state).context("cannot set up the CPU engine")?,
    ))
}

/// Fails for a GPU API this operating system lacks and for a bad `WGPU_BACKEND`, naming them
/// (instead of "no adapter found" after the data is loaded); nothing to check with --cpu.
pub fn check_backend(args: &BackendArgs) -> anyhow::Result<()> {
    if args.cpu {
        return Ok(());
    }
    check_backend_here(args.backend)
}

fn check_backend_here(backend: Backend) -> anyhow::Result<()> {
    let apple = cfg!(any(target_os = "macos", target_os = "ios"));
    let windows = cfg!(windows);
    match backend {
        Backend::Metal if !apple => anyhow::bail!(
            "--backend metal: Metal exists only on macOS and iOS; on this system use --backend vulkan or gl, or --cpu"
        ),
        Backend::Dx12 if !windows => anyhow::bail!(
            "--backend dx12: DirectX 12 exists only on Windows; on this system use --backend vulkan or gl, or --cpu"
        ),
        Backend::Auto => check_wgpu_backend_env(std::env::var("WGPU_BACKEND").ok().as_deref()),
        _ => Ok(()),
    }
}

/// `WGPU_BACKEND` must name GPU APIs wgpu knows (a comma-separated list), or be unset.
fn check_wgpu_backend_env(value: Option<&str>) -> anyhow::Result<()> {
    const KNOWN: [&str; 10] = [
        "vulkan", "vk", "metal", "mtl", "dx12", "d3d12", "gl", "gles", "opengl", "webgpu",
    ];
    let Some(value) = value else {
        return Ok(());
    };
    let names: Vec<String> = value
        .split(',')
        .map(|name| name.trim().to_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    let unknown: Vec<&String> = names
        .iter()
        .filter(|name| !KNOWN.contains(&name.as_str()))
        .collect();
    if names.is_empty() || !unknown.is_empty() {
        anyhow::bail!(
            "the environment variable WGPU_BACKEND={value:?} names no GPU API wgpu knows; \
             use vulkan, metal, dx12 or gl (comma-separated), or unset it"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgpu_backend_values() {
        assert!(check_wgpu_backend_env(None).is_ok());
        assert!(check_wgpu_backend_env(Some("vulkan")).is_ok());
        assert!(check_wgpu_backend_env(Some("Vulkan, gl")).is_ok());
        let err = check_wgpu_backend_env(Some("nonsense")).expect_err("bad");
        assert!(
            err.to_string().contains("WGPU_BACKEND=\"nonsense\""),
            "{err}"
        );
        assert!(check_wgpu_backend_env(Some("")).is_err());
        assert!(check_wgpu_backend_env(Some("vulkan,foo")).is_err());
    }
}
