//! Timing one matrix kernel on random operands at a product's shape: what the tuner ranks
//! candidates by, `mnist-gpu bench` prints and the page's benchmark shows. Awaited underneath,
//! so a browser tab runs the same code; natively [`time_variant`] blocks on it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use web_time::Instant;

use super::context::{Bound, GpuContext};
use super::kernels::Variant;
use super::plan::Product;
use crate::kernel_params::{BatchParams, LayerParams, pack_images};
use crate::{Error, Result};

/// One product's timing at the tuning shape.
#[derive(Clone, Debug)]
pub struct Timing {
    pub product: Product,
    pub variant: Variant,
    /// Median seconds per dispatch (submit and wait amortised over several dispatches).
    pub seconds: f64,
    pub flops: f64,
    /// Bytes the product must move through device memory at least (operands once, result once).
    pub bytes: f64,
}

/// The layer each product runs on in a network of `sizes`, or `None` where the network has
/// no such layer (the hidden products of a network without hidden layers).
pub fn product_layer(product: Product, sizes: &[usize]) -> Option<LayerParams> {
    let layer =
        |l: usize| (l + 1 < sizes.len()).then(|| LayerParams::new(sizes[l], sizes[l + 1], 0.1));
    match product {
        Product::ForwardInput | Product::WeightGradientInput => layer(0),
        Product::ForwardHidden | Product::BackpropError | Product::WeightGradientHidden => layer(1),
    }
}

/// A product's operands at one shape, filled with random values, and its bind group.
pub struct Operands {
    pub batch: BatchParams,
    pub layer: LayerParams,
    pub(crate) buffers: Vec<(&'static str, wgpu::Buffer)>,
    rows: usize,
}

impl Operands {
    /// Random operands for `product` over `rows` rows of `layer` (the last buffer is the
    /// output, NaN-filled), uploaded.
    pub fn new(
        ctx: &GpuContext,
        product: Product,
        rows: usize,
        layer: &LayerParams,
        seed: u64,
    ) -> Operands {
        let (batch, host) = operand_bytes(product, rows, layer, seed);
        let buffers = host
            .iter()
            .map(|(name, bytes)| (*name, ctx.buffer_with(name, bytes)))
            .collect();
        Operands {
            batch,
            layer: *layer,
            buffers,
            rows,
        }
    }

    pub(crate) fn storage(&self) -> Vec<Bound<'_>> {
        self.buffers
            .iter()
            .map(|(name, buffer)| (*name, buffer))
            .collect()
    }

    fn output(&self) -> Option<&wgpu::Buffer> {
        self.buffers.last().map(|(_, buffer)| buffer)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn read_buffer(&self, ctx: &GpuContext, index: usize) -> Result<Vec<u8>> {
        match self.buffers.get(index) {
            Some((_, buffer)) => ctx.read(buffer),
            None => Err(Error::Gpu("no such operand".into())),
        }
    }

    /// FLOPs and compulsory device-memory bytes of the product.
    pub fn cost(&self, product: Product) -> (f64, f64) {
        let (rows, ins, outs) = (
            self.rows as f64,
            f64::from(self.layer.inputs),
            f64::from(self.layer.outputs),
        );
        let splits = f64::from(self.batch.splits);
        let flops = 2.0 * rows * ins * outs;
        let bytes = 4.0
            * match product {
                // packed u8 images (1 byte per pixel), order, parameters, outputs
                Product::ForwardInput => rows * ins / 4.0 + rows + outs * (ins + 1.0) + rows * outs,
                Product::ForwardHidden => rows * ins + outs * (ins + 1.0) + rows * outs,
                Product::BackpropError => rows * outs + outs * ins + 2.0 * rows * ins,
                Product::WeightGradientInput => {
                    rows * outs + rows * ins / 4.0 + rows + splits * outs * ins
                }
                Product::WeightGradientHidden => rows * outs + rows * ins + splits * outs * ins,
            };
        (flops, bytes)
    }
}

/// A product's batch over `rows` rows and its operands, named as the kernels' WGSL names their
/// bindings: random values in each operand's range, the output last and NaN-filled.
pub fn operand_bytes(
    product: Product,
    rows: usize,
    layer: &LayerParams,
    seed: u64,
) -> (BatchParams, Vec<(&'static str, Vec<u8>)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (ins, outs) = (layer.inputs as usize, layer.outputs as usize);
    let batch = BatchParams::new(0, 0, rows);
    let mut floats = |n: usize, low: f32, high: f32| -> Vec<u8> {
        let values: Vec<f32> = (0..n).map(|_| rng.random_range(low..high)).collect();
        bytemuck::cast_slice(&values).to_vec()
    };
    let images = || {
        let pixels: Vec<u8> = (0..rows * ins).map(|i| (i * 37 % 251) as u8 + 1).collect();
        bytemuck::cast_slice(&pack_images(&pixels, ins)).to_vec()
    };
    let order = || {
        let order: Vec<u32> = (0..rows as u32).rev().collect();
        bytemuck::cast_slice(&order).to_vec()
    };
    let partials = batch.splits as usize * outs * ins;
    let output = |n: usize| bytemuck::cast_slice(&vec![f32::NAN; n]).to_vec();
    // Each operand is drawn only for the products that read it (full-batch shapes are large).
    let buffers = match product {
        Product::ForwardInput => vec![
            ("images", images()),
            ("order", order()),
            ("parameters", floats(outs * ins + outs, -0.5, 0.5)),
            ("outputs", output(rows * outs)),
        ],
        Product::ForwardHidden => vec![
            ("inputs", floats(rows * ins, 0.01, 0.99)),
            ("parameters", floats(outs * ins + outs, -0.5, 0.5)),
            ("outputs", output(rows * outs)),
        ],
        Product::BackpropError => vec![
            ("deltas", floats(rows * outs, -0.3, 0.3)),
            ("weights", floats(outs * ins + outs, -0.5, 0.5)),
            ("activations_in", floats(rows * ins, 0.01, 0.99)),
            ("deltas_in", output(rows * ins)),
        ],
        Product::WeightGradientInput => vec![
            ("deltas", floats(rows * outs, -0.3, 0.3)),
            ("images", images()),
            ("order", order()),
            ("partials", output(partials)),
        ],
        Product::WeightGradientHidden => vec![
            ("deltas", floats(rows * outs, -0.3, 0.3)),
            ("activations_in", floats(rows * ins, 0.01, 0.99)),
            ("partials", output(partials)),
        ],
    };
    (batch, buffers)
}

/// Median seconds per dispatch of `variant` on `operands`: each sample records several
/// dispatches in one pass and submits once, so submission and wait are amortised.
#[cfg(not(target_arch = "wasm32"))]
pub fn time_variant(
    ctx: &GpuContext,
    operands: &Operands,
    product: Product,
    variant: Variant,
    repeats: usize,
) -> Result<Timing> {
    pollster::block_on(time_variant_async(ctx, operands, product, variant, repeats))
}

/// [`time_variant`], awaited (a browser tab's way).
pub async fn time_variant_async(
    ctx: &GpuContext,
    operands: &Operands,
    product: Product,
    variant: Variant,
    repeats: usize,
) -> Result<Timing> {
    let slots = ctx.uniform_slots("tune.batch", &[operands.batch]);
    let block = ctx.layer_block("tune.layer", operands.layer);
    let group = ctx.bind_group(variant.kernel, &slots, &block, &operands.storage())?;
    let grid = variant.workgroups(&operands.batch, &operands.layer);
    let run = async |dispatches: usize| -> Result<f64> {
        let start = Instant::now();
        let mut encoder = ctx.encoder();
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mnist.tune"),
                timestamp_writes: None,
            });
            for _ in 0..dispatches {
                ctx.dispatch(&mut pass, variant, &group, &slots, 0, grid)?;
            }
        }
        let output = operands
            .output()
            .ok_or_else(|| Error::Gpu("no output".into()))?;
        ctx.submit_and_read_async(encoder, output, 0, 4).await?;
        Ok(start.elapsed().as_secs_f64())
    };
    // The first run compiles and warms; it also sizes the batches of dispatches (~20 ms each,
    // at least one dispatch), so a browser's clock (100 µs steps) times them well.
    let first = run(1).await?;
    let dispatches = ((0.02 / first.max(1e-6)) as usize).clamp(1, 50);
    let mut samples = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        samples.push(run(dispatches).await? / dispatches as f64);
    }
    samples.sort_by(f64::total_cmp);
    let (flops, bytes) = operands.cost(product);
    Ok(Timing {
        product,
        variant,
        seconds: samples[samples.len() / 2],
        flops,
        bytes,
    })
}
