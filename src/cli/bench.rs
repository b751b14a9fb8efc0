//! `mnist-gpu bench`: tunes the matrix kernels on the present adapter and prints, per product at
//! the training shapes, the chosen kernel with its time, GFLOP/s and GB/s, then a round's time
//! at batch 1000 and 60,000 (synthetic images of MNIST's size): a table for bug reports.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::gpu::tune::{cache_dir, retune};
use mnist_gpu::engine::gpu::{GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Network, parse_hidden};
use mnist_gpu::report::bench::{BATCHES, BenchReport};

use super::backend::Backend;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// GPU API to benchmark (WGPU_BACKEND and WGPU_ADAPTER_NAME are honoured).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Hidden layer sizes of the benchmarked network, comma separated.
    #[arg(long, default_value = "128", value_name = "SIZES")]
    pub hidden: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

const TRAIN_IMAGES: usize = 60_000;

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let hidden = parse_hidden(&args.hidden)?;
    let net = Network::new(&hidden, 42)?;
    let sizes = net.sizes();
    let ctx = GpuContext::new(args.backend.request()).context("cannot open the GPU")?;
    let info = ctx.info.clone();
    if !args.json {
        println!(
            "tuning the matrix kernels on {} at batch {} (full)…",
            info.name, BATCHES[0]
        );
    }
    let cache = cache_dir();
    let tuned = retune(&ctx, &sizes, BATCHES[0], cache.as_deref())
        .context("cannot tune the GPU kernels")?;
    let data = Mnist::random(TRAIN_IMAGES, 10_000, 5);
    let ctx = Arc::new(ctx);
    let mut rounds = Vec::new();
    for batch_size in BATCHES {
        let hyper = Hyper {
            batch_size,
            learning_rate: 0.1,
        };
        let mut engine =
            GpuEngine::with_plan(Arc::clone(&ctx), tuned.plan, net.clone(), &data, hyper)
                .context("cannot set up the GPU engine")?;
        // One round to warm up, then the median of three.
        engine.train_round(None)?;
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                engine
                    .train_round(None)
                    .map(|_| start.elapsed().as_secs_f64())
            })
            .collect::<Result<_, _>>()?;
        times.sort_by(f64::total_cmp);
        rounds.push((batch_size, times[1]));
    }
    let report = BenchReport {
        adapter: info,
        sizes,
        plan: tuned.plan,
        plan_source: tuned.summary(),
        timings: tuned.timings,
        rounds,
        train_images: TRAIN_IMAGES,
        flops: net.flops_per_round(TRAIN_IMAGES),
    };
    if args.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.text());
    }
    Ok(())
}
