//! The benchmark's report, as `mnist-gpu bench` prints it and the page's benchmark shows it:
//! per matrix product at the tutorial's batch, the kernel with its time, GFLOP/s and GB/s, then
//! a round's time at each timed batch size; as a table and as one JSON object.

use serde_json::{Value, json};

use crate::engine::gpu::plan::{KernelPlan, Product};
use crate::engine::gpu::timing::{Timing, product_layer};

/// Batch sizes whose rounds are timed; products are timed at the first (the tutorial's).
pub const BATCHES: [usize; 2] = [1000, 60_000];

/// What a benchmark measured.
pub struct BenchReport {
    pub adapter: wgpu::AdapterInfo,
    /// Layer sizes of the benchmarked network, inputs first.
    pub sizes: Vec<usize>,
    /// The kernels the rounds ran.
    pub plan: KernelPlan,
    /// How the plan was chosen, one line (e.g. the tuner's summary).
    pub plan_source: String,
    /// Every kernel timed (the plan's and, when tuned, the other candidates).
    pub timings: Vec<Timing>,
    /// `(batch size, seconds per round)`.
    pub rounds: Vec<(usize, f64)>,
    /// Training images per round.
    pub train_images: usize,
    /// FLOPs of one round.
    pub flops: f64,
}

impl BenchReport {
    /// `M×N×K` of a product at the products' batch.
    fn shape(&self, product: Product) -> String {
        match product_layer(product, &self.sizes) {
            Some(layer) => {
                let (m, n, k) = product.shape(BATCHES[0], &layer);
                format!("{m}x{n}x{k}")
            }
            None => "-".into(),
        }
    }

    /// The table.
    pub fn text(&self) -> String {
        let info = &self.adapter;
        let net: Vec<String> = self.sizes.iter().map(usize::to_string).collect();
        // A browser names no driver: the word goes with it.
        let driver = format!("{} {}", info.driver, info.driver_info);
        let driver = match driver.trim() {
            "" => String::new(),
            named => format!(", driver {named}"),
        };
        let mut lines = vec![
            format!(
                "adapter: {} ({:?}, {:?}){driver}",
                info.name, info.backend, info.device_type
            ),
            self.plan_source.clone(),
            format!(
                "network {}, products at batch {} (M x N x K)",
                net.join("-"),
                BATCHES[0]
            ),
            format!(
                "{:<24} {:<16} {:<22} {:>9} {:>9} {:>8}",
                "product", "shape", "kernel", "ms", "GFLOP/s", "GB/s"
            ),
        ];
        for product in Product::ALL {
            let chosen = self.plan.get(product);
            let Some(t) = self
                .timings
                .iter()
                .find(|t| t.product == product && t.variant == chosen)
            else {
                continue;
            };
            lines.push(format!(
                "{:<24} {:<16} {:<22} {:>9.3} {:>9.1} {:>8.2}",
                product.name(),
                self.shape(product),
                chosen.form(),
                t.seconds * 1e3,
                t.flops / t.seconds / 1e9,
                t.bytes / t.seconds / 1e9
            ));
        }
        for &(batch, seconds) in &self.rounds {
            let steps = self.train_images.div_ceil(batch);
            let plural = if steps == 1 { "" } else { "es" };
            lines.push(format!(
                "round of {} images at batch {batch:<6} ({steps} batch{plural}): {seconds:.3} s ({:.1} GFLOP/s)",
                self.train_images,
                self.flops / seconds / 1e9
            ));
        }
        lines.join("\n")
    }

    /// One JSON object (`mnist-gpu bench --json`).
    pub fn json(&self) -> Value {
        let info = &self.adapter;
        let products: Vec<_> = self
            .timings
            .iter()
            .map(|t| {
                json!({
                    "product": t.product.name(),
                    "kernel": t.variant.form(),
                    "chosen": self.plan.get(t.product) == t.variant,
                    "shape": self.shape(t.product),
                    "seconds": t.seconds,
                    "gflops": t.flops / t.seconds / 1e9,
                    "gbytes_per_s": t.bytes / t.seconds / 1e9,
                })
            })
            .collect();
        let rounds: Vec<_> = self
            .rounds
            .iter()
            .map(|&(batch, seconds)| {
                json!({
                    "batch": batch,
                    "images": self.train_images,
                    "seconds": seconds,
                    "gflops": self.flops / seconds / 1e9,
                })
            })
            .collect();
        json!({
            "adapter": info.name,
            "backend": format!("{:?}", info.backend),
            "device_type": format!("{:?}", info.device_type),
            "driver": info.driver,
            "driver_info": info.driver_info,
            "network": self.sizes,
            "plan": self.plan.describe(),
            "products": products,
            "rounds": rounds,
        })
    }
}
