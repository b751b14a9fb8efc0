//! `mnist-gpu bench`: tunes the matrix kernels on the present adapter and prints, per product at
//! the training shapes, the chosen kernel with its time, GFLOP/s and GB/s, then a round's time
//! at batch 1000 and 60,000 (synthetic images of MNIST's size): a table for bug reports.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::gpu::plan::Product;
use mnist_gpu::engine::gpu::tune::{Tuned, cache_dir, product_layer, retune};
use mnist_gpu::engine::gpu::{GpuContext, GpuEngine};
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Network, parse_hidden};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

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

/// Batch sizes whose rounds are timed; products are tuned and timed at the first.
const BATCHES: [usize; 2] = [1000, 60_000];
const TRAIN_IMAGES: usize = 60_000;

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let hidden = parse_hidden(&args.hidden)?;
    let net = Network::new(&hidden, 42)?;
    let sizes = net.sizes();
    let ctx = GpuContext::new(args.backend.request()).context("cannot open the GPU")?;
    let info = ctx.info.clone();
    if !args.json {
        println!(
            "adapter: {} ({:?}, {:?}), driver {} {}",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
        println!("tuning the matrix kernels at batch {} (full)…", BATCHES[0]);
    }
    let cache = cache_dir();
    let tuned = retune(&ctx, &sizes, BATCHES[0], cache.as_deref())
        .context("cannot tune the GPU kernels")?;
    let data = synthetic();
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
    let flops = net.flops_per_round(TRAIN_IMAGES);
    if args.json {
        print_json(&info, &sizes, &tuned, &rounds, flops);
    } else {
        print_table(&sizes, &tuned, &rounds, flops);
    }
    Ok(())
}

/// 60,000 training and 10,000 test images of random pixels (speed does not depend on them).
fn synthetic() -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut split = |n: usize| Dataset {
        images: (0..n * 784).map(|_| rng.random()).collect(),
        labels: (0..n).map(|_| rng.random_range(0..10)).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist::new(split(TRAIN_IMAGES), split(10_000), "synthetic".into())
}

/// `M×N×K` of a product at `rows` rows.
fn shape(product: Product, sizes: &[usize], rows: usize) -> String {
    match product_layer(product, sizes) {
        Some(layer) => {
            let (m, n, k) = product.shape(rows, &layer);
            format!("{m}x{n}x{k}")
        }
        None => "-".into(),
    }
}

fn print_table(sizes: &[usize], tuned: &Tuned, rounds: &[(usize, f64)], flops: f64) {
    let net: Vec<String> = sizes.iter().map(usize::to_string).collect();
    println!("{}", tuned.summary());
    println!(
        "network {}, products at batch {} (M x N x K)",
        net.join("-"),
        BATCHES[0]
    );
    println!(
        "{:<24} {:<16} {:<22} {:>9} {:>9} {:>8}",
        "product", "shape", "kernel", "ms", "GFLOP/s", "GB/s"
    );
    for product in Product::ALL {
        let chosen = tuned.plan.get(product);
        let Some(t) = tuned
            .timings
            .iter()
            .find(|t| t.product == product && t.variant == chosen)
        else {
            continue;
        };
        println!(
            "{:<24} {:<16} {:<22} {:>9.3} {:>9.1} {:>8.2}",
            product.name(),
            shape(product, sizes, BATCHES[0]),
            chosen.form(),
            t.seconds * 1e3,
            t.flops / t.seconds / 1e9,
            t.bytes / t.seconds / 1e9
        );
    }
    for &(batch, seconds) in rounds {
        println!(
            "round at batch {batch:<6} ({} batches): {seconds:.3} s ({:.1} GFLOP/s)",
            TRAIN_IMAGES.div_ceil(batch),
            flops / seconds / 1e9
        );
    }
}

fn print_json(
    info: &wgpu::AdapterInfo,
    sizes: &[usize],
    tuned: &Tuned,
    rounds: &[(usize, f64)],
    flops: f64,
) {
    let candidates: Vec<_> = tuned
        .timings
        .iter()
        .map(|t| {
            json!({
                "product": t.product.name(),
                "kernel": t.variant.form(),
                "chosen": tuned.plan.get(t.product) == t.variant,
                "shape": shape(t.product, sizes, BATCHES[0]),
                "seconds": t.seconds,
                "gflops": t.flops / t.seconds / 1e9,
                "gbytes_per_s": t.bytes / t.seconds / 1e9,
            })
        })
        .collect();
    let rounds: Vec<_> = rounds
        .iter()
        .map(|&(batch, seconds)| {
            json!({"batch": batch, "seconds": seconds, "gflops": flops / seconds / 1e9})
        })
        .collect();
    let report = json!({
        "adapter": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "driver": info.driver,
        "driver_info": info.driver_info,
        "network": sizes,
        "plan": tuned.plan.describe(),
        "products": candidates,
        "rounds": rounds,
    });
    println!("{report}");
}
