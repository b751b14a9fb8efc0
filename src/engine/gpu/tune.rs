//! The tuner: times each matrix product's candidate kernels on this adapter at the network's
//! shapes within a bounded budget, checks the winner against its CPU twin on a small problem,
//! and caches the choice per adapter (name, driver, backend) and network shape.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use super::timing::{Operands, Timing, operand_bytes, product_layer, time_variant};

use super::context::GpuContext;
use super::kernels::{Tile, Variant};
use super::plan::{KernelPlan, Product};
use crate::kernel_params::LayerParams;
use crate::{Error, Result, twin};

/// Environment variable naming the folder the tuning cache lives in (tests point it at a
/// temporary folder); otherwise `<user cache folder>/mnist-gpu`.
pub const CACHE_DIR_ENV: &str = "MNIST_GPU_CACHE_DIR";
/// The cache file inside that folder.
const CACHE_FILE: &str = "kernel-plans.json";
/// Rows the products are timed at: the batch, capped so that a full-batch network tunes in
/// seconds (throughput per row is flat well before this on any GPU).
const TUNE_ROWS: usize = 8192;

/// How much tuning to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneMode {
    /// No timing: the adapter class's default ([`KernelPlan::default_for`]).
    Off,
    /// A cached choice, else time every candidate once within a few seconds.
    Quick,
    /// A cached choice, else time every candidate three times within a longer budget.
    Full,
    /// No timing: the tiled kernels with the tiles a discrete GPU gets untuned, on any adapter
    /// (to check on a software adapter what a GPU runs).
    Tiled,
}

impl TuneMode {
    fn repeats(self) -> usize {
        if self == TuneMode::Full { 3 } else { 1 }
    }

    fn budget(self) -> Duration {
        Duration::from_secs(if self == TuneMode::Full { 30 } else { 4 })
    }
}

/// Where a plan came from.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanSource {
    Default,
    TiledDefault,
    Cache(PathBuf),
    /// Timed now (and stored in the cache when a folder was available).
    Tuned {
        seconds: f64,
        /// The cache file written, or why none was.
        cached: std::result::Result<PathBuf, String>,
    },
}

/// What tuning decided.
#[derive(Clone, Debug)]
pub struct Tuned {
    pub plan: KernelPlan,
    pub source: PlanSource,
    /// Every candidate timed (empty unless tuned now).
    pub timings: Vec<Timing>,
}

impl Tuned {
    /// The one line the CLI prints.
    pub fn summary(&self) -> String {
        let origin = match &self.source {
            PlanSource::Default => "the default for this adapter class (--tune off)".to_string(),
            PlanSource::TiledDefault => {
                "a discrete GPU's untuned default (--tune tiled)".to_string()
            }
            PlanSource::Cache(path) => format!("reused from the tuning cache {}", path.display()),
            PlanSource::Tuned { seconds, cached } => match cached {
                Ok(path) => format!("tuned in {seconds:.1} s, cached in {}", path.display()),
                Err(why) => format!("tuned in {seconds:.1} s, not cached: {why}"),
            },
        };
        format!("kernels: {} — {origin}", self.plan.describe())
    }
}

/// The default cache folder: `$MNIST_GPU_CACHE_DIR`, else `<user cache>/mnist-gpu`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        #[cfg(feature = "native")]
        _ => dirs::cache_dir().map(|d| d.join("mnist-gpu")),
        // A browser tab has no cache folder: the plan is tuned again on each visit.
        #[cfg(not(feature = "native"))]
        _ => None,
    }
}

/// The cache key: adapter (name, driver, backend), network sizes and batch rows.
fn cache_key(ctx: &GpuContext, sizes: &[usize], batch: usize) -> String {
    let i = &ctx.info;
    format!(
        "{} | {} {} | {:?} | {:?} | batch {batch}",
        i.name, i.driver, i.driver_info, i.backend, sizes
    )
}

/// One product's choice as stored: `null` for the register-block kernel.
type CachedPlan = BTreeMap<String, Option<Tile>>;

fn read_cache(path: &Path) -> BTreeMap<String, CachedPlan> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn plan_from_cache(ctx: &GpuContext, cached: &CachedPlan) -> Option<KernelPlan> {
    let mut plan = KernelPlan::register_blocks();
    for product in Product::ALL {
        let choice = cached.get(product.name())?;
        let (direct, tiled) = product.kernels();
        let variant = match choice {
            Some(tile) if tile.fits(&ctx.limits) => Variant::tiled(tiled, *tile),
            Some(_) => return None,
            None => Variant::from(direct),
        };
        plan.set(product, variant);
    }
    Some(plan)
}

/// Chooses the plan for a network of `sizes` trained in batches of `batch` rows: the cached
/// choice for this adapter and shape, else a fresh tuning (stored in `cache`), or the default
/// with `TuneMode::Off`.
pub fn choose_plan(
    ctx: &GpuContext,
    sizes: &[usize],
    batch: usize,
    mode: TuneMode,
    cache: Option<&Path>,
) -> Result<Tuned> {
    choose(ctx, sizes, batch, mode, cache, true)
}

/// Times every candidate afresh (ignoring a cached choice) and stores the result in `cache`.
pub fn retune(
    ctx: &GpuContext,
    sizes: &[usize],
    batch: usize,
    cache: Option<&Path>,
) -> Result<Tuned> {
    choose(ctx, sizes, batch, TuneMode::Full, cache, false)
}

fn choose(
    ctx: &GpuContext,
    sizes: &[usize],
    batch: usize,
    mode: TuneMode,
    cache: Option<&Path>,
    reuse: bool,
) -> Result<Tuned> {
    match mode {
        TuneMode::Off => {
            return Ok(Tuned {
                plan: KernelPlan::default_for(&ctx.info, &ctx.limits),
                source: PlanSource::Default,
                timings: Vec::new(),
            });
        }
        TuneMode::Tiled => {
            let plan = KernelPlan::tiled_defaults();
            if let Some(p) = Product::ALL
                .into_iter()
                .find(|&p| plan.get(p).tile.is_some_and(|t| !t.fits(&ctx.limits)))
            {
                return Err(Error::Gpu(format!(
                    "{}: the GPU default tile does not fit this adapter's limits",
                    p.name()
                )));
            }
            return Ok(Tuned {
                plan,
                source: PlanSource::TiledDefault,
                timings: Vec::new(),
            });
        }
        TuneMode::Quick | TuneMode::Full => {}
    }
    let key = cache_key(ctx, sizes, batch);
    let file = cache.map(|dir| dir.join(CACHE_FILE));
    if reuse
        && let Some(file) = &file
        && let Some(plan) = read_cache(file)
            .get(&key)
            .and_then(|c| plan_from_cache(ctx, c))
    {
        return Ok(Tuned {
            plan,
            source: PlanSource::Cache(file.clone()),
            timings: Vec::new(),
        });
    }
    let start = Instant::now();
    let (plan, timings) = tune(ctx, sizes, batch, mode)?;
    let seconds = start.elapsed().as_secs_f64();
    let cached = match &file {
        Some(file) => store(file, &key, &plan)
            .map(|()| file.clone())
            .map_err(|e| e.to_string()),
        None => Err("no user cache folder (set MNIST_GPU_CACHE_DIR)".to_string()),
    };
    Ok(Tuned {
        plan,
        source: PlanSource::Tuned { seconds, cached },
        timings,
    })
}

/// Adds `plan` under `key` to the cache file (created with its folder when missing).
fn store(file: &Path, key: &str, plan: &KernelPlan) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut all = read_cache(file);
    let entry: CachedPlan = Product::ALL
        .iter()
        .map(|&p| (p.name().to_string(), plan.get(p).tile))
        .collect();
    all.insert(key.to_string(), entry);
    let bytes = serde_json::to_vec_pretty(&all)
        .map_err(|e| Error::Gpu(format!("encoding the tuning cache: {e}")))?;
    crate::atomic_file::write_atomic(file, &bytes)
}

/// Times every candidate of every product and returns the fastest that matches its twin.
pub fn tune(
    ctx: &GpuContext,
    sizes: &[usize],
    batch: usize,
    mode: TuneMode,
) -> Result<(KernelPlan, Vec<Timing>)> {
    let rows = batch.clamp(1, TUNE_ROWS);
    let deadline = Instant::now() + mode.budget();
    let mut plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
    let mut timings = Vec::new();
    for product in Product::ALL {
        let Some(layer) = product_layer(product, sizes) else {
            continue;
        };
        let operands = Operands::new(ctx, product, rows, &layer, 1);
        // The default first, so that a spent budget still leaves a timed default.
        let default = plan.get(product);
        let mut candidates = vec![default];
        candidates.extend(
            product
                .candidates(&ctx.limits)
                .into_iter()
                .filter(|v| *v != default),
        );
        let mut timed: Vec<Timing> = Vec::new();
        for variant in candidates {
            if !timed.is_empty() && Instant::now() > deadline {
                break;
            }
            timed.push(time_variant(
                ctx,
                &operands,
                product,
                variant,
                mode.repeats(),
            )?);
        }
        // The fastest that agrees with its CPU twin on this adapter.
        let mut ranked: Vec<&Timing> = timed.iter().collect();
        ranked.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let mut failures = Vec::new();
        let mut chosen = None;
        for timing in ranked {
            match verify(ctx, product, timing.variant) {
                Ok(()) => {
                    chosen = Some(timing.variant);
                    break;
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        match chosen {
            Some(variant) => plan.set(product, variant),
            None => return Err(Error::Gpu(failures.join("; "))),
        }
        timings.extend(timed);
    }
    Ok((plan, timings))
}

/// Runs `variant` on a small random problem (partial tiles everywhere, two splits) and compares
/// it with its CPU twin: 2e-4·(1 + |expected|), as the kernel tests; NaN fails.
pub fn verify(ctx: &GpuContext, product: Product, variant: Variant) -> Result<()> {
    let layer = LayerParams::new(70, 21, 0.1);
    let rows = 600;
    let operands = Operands::new(ctx, product, rows, &layer, 7);
    ctx.run_once(variant, operands.batch, layer, &operands.storage())?;
    // The twin runs on what the device holds after the dispatch: the inputs as they were, the
    // output overwritten by the twin's own.
    let mut storage = (0..operands.buffers.len())
        .map(|i| operands.read_buffer(ctx, i))
        .collect::<Result<Vec<_>>>()?;
    let out_index = storage.len() - 1;
    let gpu = twin::f32s(&storage[out_index]);
    let dispatch = twin::Dispatch {
        activation: variant.activation,
        batch: operands.batch,
        layer,
    };
    (variant.kernel.spec().twin)(&dispatch, &mut storage);
    let expected = twin::f32s(&storage[out_index]);
    let worst = gpu.iter().zip(&expected).position(|(g, e)| {
        let close = (g - e).abs() <= 2e-4 * (1.0 + e.abs());
        !close
    });
    match worst {
        None => Ok(()),
        Some(i) => Err(Error::Gpu(format!(
            "{} disagrees with its CPU twin on this adapter (element {i}: {} vs {})",
            variant.describe(),
            gpu[i],
            expected[i]
        ))),
    }
}
