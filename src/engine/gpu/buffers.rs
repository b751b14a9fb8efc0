//! Every buffer the engine owns, created once in [`Buffers::new`], and the size checks.

use super::context::GpuContext;
use crate::data::{Dataset, Mnist};
use crate::kernel_params::pack_images;
use crate::model::Network;
use crate::{Error, Result};

/// One split resident on the GPU.
pub struct Resident {
    /// Packed 4 pixels per u32, `words_per_image` words per image.
    pub images: wgpu::Buffer,
    /// One u32 per image.
    pub labels: wgpu::Buffer,
    pub len: usize,
}

/// Row counts the buffers are sized for.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Rows of the largest training batch.
    pub batch_rows: usize,
    /// Rows of the activation buffers: the largest batch or evaluation chunk.
    pub rows: usize,
    /// Floats of the split-K partial sums: `splits × max(outputs·inputs)`.
    pub partials: usize,
    /// Training batches per round (one cost each).
    pub batches: usize,
}

pub struct Buffers {
    pub train: Resident,
    pub test: Resident,
    /// `0, 1, 2, ...`: storage order, for unshuffled rounds and evaluation.
    pub identity: wgpu::Buffer,
    /// The round's order, written when a round is shuffled.
    pub order: wgpu::Buffer,
    /// Per layer, its weights (outputs × inputs, row-major) then its biases.
    pub parameters: Vec<wgpu::Buffer>,
    /// Per layer, `rows × outputs`; hidden layers whose activation keeps `z`, twice that.
    pub activations: Vec<wgpu::Buffer>,
    /// Per layer, `batch_rows × outputs`.
    pub deltas: Vec<wgpu::Buffer>,
    /// With input noise, the training images as the round's batches distorted them, each at
    /// its image's slot (read by the first layer's training kernels in place of the images).
    pub augmented: Option<wgpu::Buffer>,
    /// Per hidden layer when training with dropout, `batch_rows × outputs`: its masked outputs.
    pub dropped: Vec<wgpu::Buffer>,
    pub partials: wgpu::Buffer,
    /// One f32 per training batch: the only thing a round reads back.
    pub costs: wgpu::Buffer,
    pub correct_count: wgpu::Buffer,
    pub predicted: wgpu::Buffer,
}

impl Buffers {
    pub fn new(
        ctx: &GpuContext,
        net: &Network,
        data: &Mnist,
        shape: Shape,
        dropout: bool,
        noisy: bool,
    ) -> Buffers {
        let per_layer = |name: &str, bytes: &dyn Fn(usize) -> u64| -> Vec<wgpu::Buffer> {
            (0..net.layers.len())
                .map(|l| ctx.buffer(&format!("{name}.{l}"), bytes(net.layers[l].outputs)))
                .collect()
        };
        let last = net.layers.len() - 1;
        let images = data.train.len().max(data.test.len());
        let identity: Vec<u32> = (0..images as u32).collect();
        let words = crate::kernel_params::words_per_image(data.train.pixels());
        Buffers {
            augmented: noisy
                .then(|| ctx.buffer("augmented", (data.train.len() * words) as u64 * 4)),
            train: resident(ctx, "train", &data.train),
            test: resident(ctx, "test", &data.test),
            identity: ctx.buffer_with("identity_order", bytemuck::cast_slice(&identity)),
            order: ctx.buffer("order", data.train.len() as u64 * 4),
            parameters: super::layer_parameters(ctx, net),
            activations: (net.layers.iter().enumerate())
                .map(|(l, layer)| {
                    let kept = if l == last {
                        1
                    } else {
                        net.activation.kept_per_output()
                    };
                    let bytes = (kept * shape.rows * layer.outputs) as u64 * 4;
                    ctx.buffer(&format!("activations.{l}"), bytes)
                })
                .collect(),
            deltas: per_layer("deltas", &|outputs| (shape.batch_rows * outputs) as u64 * 4),
            dropped: (net.layers[..net.layers.len() - 1].iter().enumerate())
                .filter(|_| dropout)
                .map(|(l, layer)| {
                    let bytes = (shape.batch_rows * layer.outputs) as u64 * 4;
                    ctx.buffer(&format!("dropped.{l}"), bytes)
                })
                .collect(),
            partials: ctx.buffer("partials", shape.partials as u64 * 4),
            costs: ctx.buffer("costs", shape.batches as u64 * 4),
            correct_count: ctx.buffer("correct", 4),
            predicted: ctx.buffer("predictions", images as u64 * 4),
        }
    }
}

/// Uploads one split: packed images and u32 labels.
fn resident(ctx: &GpuContext, name: &str, split: &Dataset) -> Resident {
    let packed = pack_images(&split.images, split.pixels());
    let labels: Vec<u32> = split.labels.iter().map(|&l| u32::from(l)).collect();
    Resident {
        images: ctx.buffer_with(&format!("{name}.images"), bytemuck::cast_slice(&packed)),
        labels: ctx.buffer_with(&format!("{name}.labels"), bytemuck::cast_slice(&labels)),
        len: split.len(),
    }
}

/// Fails with a clear message when a buffer would not fit the adapter's limits.
pub fn check_fits(ctx: &GpuContext, buffers: &[(&str, usize)]) -> Result<()> {
    let limit = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    for &(what, bytes) in buffers {
        let bytes = bytes as u64;
        if bytes > limit {
            return Err(Error::Gpu(format!(
                "{what} need {:.1} MiB, over this adapter's {:.1} MiB per storage buffer; \
                 use a smaller --batch-size or network, or --cpu",
                bytes as f64 / 1_048_576.0,
                limit as f64 / 1_048_576.0
            )));
        }
    }
    Ok(())
}
