//! The GPU's forward-only engine ([`Inference`]): the network's parameters resident, each
//! call's images uploaded (packed 4 pixels per u32) a chunk at a time, then the forward kernels
//! the training engine runs (and `softmax` after a cross-entropy network's last layer). Built
//! once; a call writes the images and one batch block, records the layers and reads back the
//! outputs. No data set, no optimiser, no learning rate.

use std::sync::Arc;

use super::context::{Bound, GpuContext, UniformSlots};
use super::kernels::{Kernel, Variant};
use super::plan::KernelPlan;
use super::{forward_variant, layer_parameters};
use crate::Result;
#[cfg(not(target_arch = "wasm32"))]
use crate::engine::Inference;
use crate::engine::Pixels;
use crate::kernel_params::{BatchParams, LayerParams, pack_images, words_per_image};
use crate::model::Network;
use crate::ops::{Activation, Loss};

/// Images per dispatch: the images, order and activation buffers hold this many rows.
pub const INFERENCE_ROWS: usize = 4096;

pub struct GpuInference {
    context: Arc<GpuContext>,
    sizes: Vec<usize>,
    activation: Activation,
    loss: Loss,
    plan: KernelPlan,
    rows: usize,
    images: wgpu::Buffer,
    /// Each layer's outputs for a chunk (the last one read back).
    activations: Vec<wgpu::Buffer>,
    slots: UniformSlots,
    layer_params: Vec<LayerParams>,
    /// Per layer: its forward kernel's bind group; then `softmax`'s (cross-entropy only).
    groups: Vec<wgpu::BindGroup>,
    softmax: Option<wgpu::BindGroup>,
}

impl GpuInference {
    /// Uploads `net` and compiles its forward kernels (the matrix kernels `plan` chooses).
    pub fn new(context: Arc<GpuContext>, plan: KernelPlan, net: &Network) -> Result<Self> {
        let ctx = &*context;
        let sizes = net.sizes();
        let rows = INFERENCE_ROWS;
        let words = words_per_image(sizes[0]);
        let (images, order, parameters, activations) =
            ctx.allocating("the network's buffers for inference", || {
                let order: Vec<u32> = (0..rows as u32).collect();
                (
                    ctx.buffer("inference.images", (rows * words * 4) as u64),
                    ctx.buffer_with("inference.order", bytemuck::cast_slice(&order)),
                    layer_parameters(ctx, net),
                    (net.layers.iter().enumerate())
                        .map(|(l, layer)| {
                            let kept = if l + 1 == net.layers.len() {
                                1
                            } else {
                                net.activation.kept_per_output()
                            };
                            let bytes = (kept * rows * layer.outputs * 4) as u64;
                            ctx.buffer(&format!("inference.activations.{l}"), bytes)
                        })
                        .collect::<Vec<_>>(),
                )
            })?;
        let slots = ctx.uniform_slots("inference.batch", &[BatchParams::new(0, 0, rows)]);
        let layer_params: Vec<LayerParams> = (net.layers.iter())
            .map(|l| LayerParams::new(l.inputs, l.outputs, 0.0).with_saved_rows(rows))
            .collect();
        let blocks: Vec<wgpu::Buffer> = (layer_params.iter().enumerate())
            .map(|(l, p)| ctx.layer_block(&format!("inference.layer.{l}"), *p))
            .collect();
        let last = layer_params.len() - 1;
        let mut groups = Vec::with_capacity(layer_params.len());
        for l in 0..layer_params.len() {
            let variant = forward_variant(&plan, l, last, net.activation, net.loss);
            ctx.pipeline(variant)?;
            let storage: Vec<Bound<'_>> = if l == 0 {
                vec![
                    ("images", &images),
                    ("order", &order),
                    ("parameters", &parameters[0]),
                    ("outputs", &activations[0]),
                ]
            } else {
                vec![
                    ("inputs", &activations[l - 1]),
                    ("parameters", &parameters[l]),
                    ("outputs", &activations[l]),
                ]
            };
            groups.push(ctx.bind_group(variant.kernel, &slots, &blocks[l], &storage)?);
        }
        let softmax = match net.loss {
            Loss::Xent => {
                let storage = [("activations", &activations[last])];
                Some(ctx.bind_group(Kernel::Softmax, &slots, &blocks[last], &storage)?)
            }
            Loss::Mse => None,
        };
        ctx.check()?;
        Ok(GpuInference {
            sizes,
            activation: net.activation,
            loss: net.loss,
            plan,
            rows,
            images,
            activations,
            slots,
            layer_params,
            groups,
            softmax,
            context,
        })
    }

    /// The outputs of up to `self.rows` images given as grey levels.
    async fn chunk_outputs(&self, bytes: &[u8]) -> Result<Vec<f32>> {
        let ctx = &*self.context;
        let pixels = self.sizes[0];
        let rows = bytes.len() / pixels;
        ctx.queue.write_buffer(
            &self.images,
            0,
            bytemuck::cast_slice(&pack_images(bytes, pixels)),
        );
        let batch = BatchParams::new(0, 0, rows);
        ctx.queue
            .write_buffer(&self.slots.buffer, 0, bytemuck::bytes_of(&batch));
        let mut encoder = ctx.encoder();
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mnist.inference"),
                timestamp_writes: None,
            });
            let last = self.layer_params.len() - 1;
            for (l, layer) in self.layer_params.iter().enumerate() {
                let variant: Variant =
                    forward_variant(&self.plan, l, last, self.activation, self.loss);
                let grid = variant.workgroups(&batch, layer);
                ctx.dispatch(&mut pass, variant, &self.groups[l], &self.slots, 0, grid)?;
            }
            if let Some(group) = &self.softmax {
                let grid = Kernel::Softmax.workgroups(&batch, &self.layer_params[last]);
                ctx.dispatch(&mut pass, Kernel::Softmax, group, &self.slots, 0, grid)?;
            }
        }
        let classes = self.sizes[self.sizes.len() - 1];
        let top = &self.activations[self.activations.len() - 1];
        let size = (rows * classes * 4) as u64;
        let read = ctx.submit_and_read_async(encoder, top, 0, size).await?;
        Ok(bytemuck::pod_collect_to_vec(&read))
    }
}

impl GpuInference {
    /// The network's outputs for `images`, each chunk's readback awaited (what a browser tab
    /// calls; [`Inference::outputs`] blocks on it).
    pub async fn outputs_async(&mut self, images: Pixels<'_>) -> Result<Vec<f32>> {
        let pixels = self.sizes[0];
        let count = images.images(pixels)?;
        let mut outputs = Vec::with_capacity(count * self.sizes[self.sizes.len() - 1]);
        let chunk = self.rows * pixels;
        match images {
            Pixels::Bytes(bytes) => {
                for part in bytes.chunks(chunk) {
                    outputs.extend(self.chunk_outputs(part).await?);
                }
            }
            Pixels::Values(values) => {
                for part in values.chunks(chunk) {
                    // MNIST's 256 grey levels: what the packed image buffer holds.
                    let bytes: Vec<u8> = part
                        .iter()
                        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                        .collect();
                    outputs.extend(self.chunk_outputs(&bytes).await?);
                }
            }
        }
        Ok(outputs)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Inference for GpuInference {
    fn describe(&self) -> String {
        format!("{}, forward only", self.context.describe())
    }

    fn classes(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    fn outputs(&mut self, images: Pixels<'_>) -> Result<Vec<f32>> {
        pollster::block_on(self.outputs_async(images))
    }
}
