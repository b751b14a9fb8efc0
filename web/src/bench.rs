//! The page's benchmark: the same report as `mnist-gpu bench` (each matrix product's kernel
//! timed over many dispatches, then a round at the tutorial's batch 1000 and at full batch),
//! for the kernels the page trains with (the adapter class's default plan: the tuner's
//! timing loop runs here, its cache does not).

use std::sync::Arc;

use mnist_gpu::data::Mnist;
use mnist_gpu::engine::Hyper;
use mnist_gpu::engine::gpu::plan::{KernelPlan, Product};
use mnist_gpu::engine::gpu::timing::{Operands, product_layer, time_variant_async};
use mnist_gpu::engine::gpu::{GpuContext, GpuEngine};
use mnist_gpu::model::Network;
use mnist_gpu::report::bench::{BATCHES, BenchReport};
use web_time::Instant;

/// Timed samples per product and rounds per batch size (after one warm-up); medians are kept.
const REPEATS: usize = 5;
const ROUNDS: usize = 3;

/// Benchmarks a 784-`hidden`-10 network (the chosen recipe's shape) on `train_images` random
/// images.
pub async fn run(
    context: &Arc<GpuContext>,
    hidden: &[usize],
    train_images: usize,
) -> mnist_gpu::Result<BenchReport> {
    let net = Network::new(hidden, 42)?;
    let sizes = net.sizes();
    let plan = KernelPlan::default_for(&context.info, &context.limits);
    let mut timings = Vec::new();
    for product in Product::ALL {
        let Some(layer) = product_layer(product, &sizes) else {
            continue;
        };
        let operands = Operands::new(context, product, BATCHES[0], &layer, 1);
        timings.push(
            time_variant_async(context, &operands, product, plan.get(product), REPEATS).await?,
        );
    }
    let data = Mnist::random(train_images, 1, 5);
    let mut rounds = Vec::new();
    for batch_size in [BATCHES[0].min(train_images), train_images] {
        let hyper = Hyper {
            batch_size,
            learning_rate: 0.1,
        };
        let mut engine =
            GpuEngine::with_plan(Arc::clone(context), plan, net.clone(), &data, hyper)?;
        engine.train_round_async(None).await?;
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            engine.train_round_async(None).await?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        rounds.push((batch_size, times[ROUNDS / 2]));
    }
    Ok(BenchReport {
        adapter: context.info.clone(),
        sizes,
        plan_source: format!(
            "kernels: {} — the default for this adapter class",
            plan.describe()
        ),
        plan,
        timings,
        rounds,
        train_images,
        flops: net.flops_per_round(train_images),
    })
}
