//! The wgpu engine: WGSL compute kernels over data resident in GPU buffers.
//!
//! [`GpuContext`] is built once (adapter, device, one pipeline per kernel in `shaders/`);
//! [`GpuEngine::new`] uploads both splits (images packed 4 pixels per u32) and creates every
//! buffer, bind group and per-batch uniform block, so a round only records dispatches, and
//! reads back one f32 per batch. `docs/kernels.md` shows how a round flows through the kernels.

mod buffers;
pub mod compose;
pub mod context;
mod groups;
pub mod inference;
pub mod kernels;
pub mod plan;
pub mod timing;
// Timing kernels blocks on the device; the browser build takes the adapter class's default plan.
#[cfg(not(target_arch = "wasm32"))]
pub mod tune;

use std::sync::Arc;

use crate::kernel_params::{BatchParams, LayerParams, split_count, words_per_image};
use buffers::{Buffers, Resident, Shape, check_fits};
use context::UniformSlots;
#[cfg(not(target_arch = "wasm32"))]
pub use context::list_adapters;
pub use context::{AdapterRequest, AdapterSummary, GpuContext, LimitsRequest};
use groups::Groups;
use kernels::{Kernel, Variant};
use plan::KernelPlan;

#[cfg(not(target_arch = "wasm32"))]
use super::Engine;
use super::{Hyper, Recipe, batches};
use super::{check_order, noise_params, tensor_lens, validate};
use crate::data::{Mnist, Split};
use crate::model::{Architecture, Layer, Network};
use crate::ops::Loss;
use crate::optim::{LrSchedule, OptimizerState};
use crate::{Error, Result};

/// Images per forward chunk when evaluating a whole split.
const EVAL_CHUNK: usize = 2000;

/// What the engine has read back from the GPU so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadbackStats {
    pub calls: u64,
    pub bytes: u64,
}

/// Where a forward pass takes its images from: which images buffer and which order buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// Training images in the round's order (written when a round is shuffled).
    TrainShuffled = 0,
    /// Training images in storage order (the identity order).
    TrainInOrder = 1,
    /// Test images in storage order.
    Test = 2,
}

pub struct GpuEngine {
    context: Arc<GpuContext>,
    sizes: Vec<usize>,
    /// The network's hidden activation (the `ACTIVATION` override of their forward and
    /// back-propagation kernels) and loss (the output layer is sigmoid (mse) or linear then
    /// `softmax` (xent)); its preprocessing is only carried into the network read back, as the
    /// engine is given preprocessed images.
    architecture: Architecture,
    recipe: Recipe,
    /// Whether the round runs the tutorial's fused SGD update kernels at the constant rate in
    /// the layer blocks; otherwise the optimiser-step kernels at the per-batch rate.
    fused_sgd: bool,
    /// Steps taken (Adam's t; continues a resumed state's count) and the next round's number.
    steps: u64,
    round: usize,
    /// The round's batch blocks with their step scalars, written once per round (reused).
    round_blocks: Vec<u8>,
    buffers: Buffers,
    /// Per layer (optimiser steps only): the first moments of its weights then biases, then
    /// the second moments; resident, read back only by `optimizer_state`.
    moments: Vec<wgpu::Buffer>,
    /// Batch blocks: the round's batches, then the test and training evaluation chunks, then
    /// one slot for single-image outputs.
    slots: UniformSlots,
    train_batches: Vec<BatchParams>,
    test_chunks: Vec<BatchParams>,
    train_chunks: Vec<BatchParams>,
    scratch_slot: usize,
    layer_params: Vec<LayerParams>,
    plan: KernelPlan,
    groups: Groups,
    readbacks: ReadbackStats,
    /// Dispatches recorded since the engine was built (a browser pays for each).
    dispatches: std::sync::atomic::AtomicU64,
}

impl GpuEngine {
    /// An engine running the adapter class's default kernels ([`KernelPlan::default_for`]).
    pub fn new(context: Arc<GpuContext>, net: Network, data: &Mnist, hyper: Hyper) -> Result<Self> {
        let plan = KernelPlan::default_for(&context.info, &context.limits);
        Self::with_plan(context, plan, net, data, hyper)
    }

    /// An engine running the matrix kernels `plan` chooses, training by the tutorial's SGD.
    pub fn with_plan(
        context: Arc<GpuContext>,
        plan: KernelPlan,
        net: Network,
        data: &Mnist,
        hyper: Hyper,
    ) -> Result<Self> {
        Self::with_recipe(context, plan, net, data, Recipe::sgd(hyper), None)
    }

    /// An engine training `net` by `recipe` with the matrix kernels `plan` chooses, continuing
    /// from `state` when given (a resumed run: the moments are uploaded).
    pub fn with_recipe(
        context: Arc<GpuContext>,
        plan: KernelPlan,
        net: Network,
        data: &Mnist,
        recipe: Recipe,
        state: Option<OptimizerState>,
    ) -> Result<Self> {
        let hyper = recipe.hyper;
        validate(&net, data, hyper)?;
        let noise = noise_params(&net, &recipe)?;
        let noisy = recipe.noise.is_active();
        let lens = tensor_lens(&net);
        let state = OptimizerState::resume_or_new(state, recipe.optimizer, &lens)?;
        let fused_sgd = recipe.optimizer.is_sgd()
            && recipe.lr.schedule == LrSchedule::Constant
            && recipe.lr.warmup <= 0.0
            && recipe.lr.base == hyper.learning_rate;
        let ctx = context.as_ref();
        let sizes = net.sizes();
        let train_n = data.train.len();
        let test_n = data.test.len();
        let batch_rows = hyper.batch_size.min(train_n).max(1);
        let rows = batch_rows.max(EVAL_CHUNK.min(train_n.max(test_n)).max(1));
        let widest = net
            .layers
            .iter()
            .map(|l| l.inputs * l.outputs)
            .max()
            .unwrap_or(1);
        let splits = split_count(batch_rows);
        let words = words_per_image(net.inputs());
        check_fits(
            ctx,
            &[
                ("the training images", train_n * words * 4),
                ("the test images", test_n * words * 4),
                (
                    "the parameters of a layer",
                    widest * 4 + 4 * sizes.iter().max().unwrap_or(&1),
                ),
                (
                    "the activations of a batch",
                    net.activation.kept_per_output()
                        * rows
                        * sizes[1..].iter().max().unwrap_or(&1)
                        * 4,
                ),
                ("the weight-gradient partial sums", splits * widest * 4),
                (
                    "the optimiser moments of a layer",
                    2 * (widest * 4 + 4 * sizes.iter().max().unwrap_or(&1)),
                ),
            ],
        )?;

        let train_batches: Vec<BatchParams> = batches(train_n, hyper.batch_size)
            .enumerate()
            .map(|(i, (first, rows))| {
                BatchParams::new(i, first, rows).with_noise(noise, recipe.noise.input_scale())
            })
            .collect();
        let chunks = |n: usize| -> Vec<BatchParams> {
            batches(n, EVAL_CHUNK)
                .map(|(first, rows)| BatchParams::new(0, first, rows))
                .collect()
        };
        let test_chunks = chunks(test_n);
        let train_chunks = chunks(train_n);
        let mut all_slots = train_batches.clone();
        all_slots.extend(&test_chunks);
        all_slots.extend(&train_chunks);
        let scratch_slot = all_slots.len();
        all_slots.push(BatchParams::new(0, 0, 1));
        let slots = ctx.uniform_slots("batches", &all_slots);

        let shape = Shape {
            batch_rows,
            rows,
            partials: splits * widest,
            batches: train_batches.len(),
        };
        let buffers = ctx.allocating("the network and data buffers", || {
            Buffers::new(ctx, &net, data, shape, recipe.dropout.is_active(), noisy)
        })?;
        let layer_params: Vec<LayerParams> = net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                LayerParams::new(l.inputs, l.outputs, hyper.learning_rate)
                    .with_optimizer(recipe.optimizer)
                    .with_dropout(i, recipe.dropout)
                    .with_max_norm(recipe.max_norm)
                    .with_saved_rows(rows)
            })
            .collect();
        // Per layer: first moments of its weights and biases, then second moments (none for
        // the fused SGD).
        let moments: Vec<wgpu::Buffer> = if fused_sgd {
            Vec::new()
        } else {
            (0..net.layers.len())
                .map(|l| {
                    let count = lens[2 * l] + lens[2 * l + 1];
                    let mut values = vec![0.0f32; 2 * count];
                    for (slots, at) in [(&state.first, 0), (&state.second, count)] {
                        if let [weights, biases] = slots.get(2 * l..2 * l + 2).unwrap_or(&[]) {
                            values[at..at + weights.len()].copy_from_slice(weights);
                            values[at + weights.len()..at + count].copy_from_slice(biases);
                        }
                    }
                    ctx.buffer_with(&format!("moments.{l}"), bytemuck::cast_slice(&values))
                })
                .collect()
        };
        let blocks: Vec<wgpu::Buffer> = layer_params
            .iter()
            .enumerate()
            .map(|(l, p)| ctx.layer_block(&format!("layer.{l}"), *p))
            .collect();
        // Every pipeline a round or an evaluation uses is compiled here, not in the loop.
        for product in plan::Product::ALL {
            ctx.pipeline(plan.get(product))?;
        }
        for variant in [plan.forward_input, plan.forward_hidden, plan.backprop_error] {
            ctx.pipeline(with_activation(variant, net.activation))?;
        }
        for variant in [
            plan.forward_input,
            plan.forward_hidden,
            Kernel::OutputError.into(),
        ] {
            ctx.pipeline(with_activation(variant, net.loss.output_activation()))?;
        }
        let groups = Groups::new(
            ctx,
            &buffers,
            &slots,
            &blocks,
            &layer_params,
            &plan,
            &moments,
        )?;
        ctx.check()?;

        Ok(GpuEngine {
            context,
            sizes,
            architecture: net.architecture(),
            fused_sgd,
            steps: state.steps,
            round: recipe.first_round,
            round_blocks: vec![0; train_batches.len() * slots.stride as usize],
            recipe,
            buffers,
            moments,
            slots,
            train_batches,
            test_chunks,
            train_chunks,
            scratch_slot,
            layer_params,
            plan,
            groups,
            readbacks: ReadbackStats::default(),
            dispatches: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The matrix kernels this engine runs.
    pub fn plan(&self) -> &KernelPlan {
        &self.plan
    }

    /// Dispatches recorded since the engine was built: training steps and evaluations.
    pub fn dispatches(&self) -> u64 {
        self.dispatches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Calls and bytes read back from the GPU since the engine was built.
    pub fn readback_stats(&self) -> ReadbackStats {
        self.readbacks
    }

    async fn read(
        &mut self,
        encoder: wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<u8>> {
        self.readbacks.calls += 1;
        self.readbacks.bytes += bytes;
        (self.context)
            .submit_and_read_async(encoder, source, 0, bytes)
            .await
    }

    /// Records `variant` on batch slot `slot`, its grid from `batch`'s rows of `layer`.
    fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        variant: impl Into<Variant>,
        group: &wgpu::BindGroup,
        slot: usize,
        batch: &BatchParams,
        layer: &LayerParams,
    ) -> Result<()> {
        let variant = variant.into();
        let grid = variant.workgroups(batch, layer);
        self.dispatches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.context
            .dispatch(pass, variant, group, &self.slots, slot, grid)
    }

    /// Records the forward pass of batch slot `slot` (`rows` rows) from `source`; a training
    /// pass with dropout masks each hidden layer's outputs for the next layer.
    fn record_forward(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        source: Source,
        slot: usize,
        batch: &BatchParams,
    ) -> Result<()> {
        let last = self.layer_params.len() - 1;
        let dropout = self.dropout_in(slot);
        for (l, layer) in self.layer_params.iter().enumerate() {
            let hidden_groups = if dropout {
                &self.groups.forward_hidden_dropped
            } else {
                &self.groups.forward_hidden
            };
            let group = match &hidden_groups[l] {
                Some(group) => group,
                None => &self.groups.forward_input[source as usize],
            };
            let kernel = forward_variant(
                &self.plan,
                l,
                last,
                self.architecture.activation,
                self.architecture.loss,
            );
            self.dispatch(pass, kernel, group, slot, batch, layer)?;
            if dropout && l < last {
                self.dispatch(
                    pass,
                    Kernel::DropoutForward,
                    &self.groups.dropout_forward[l],
                    slot,
                    batch,
                    layer,
                )?;
            }
        }
        if self.architecture.loss == Loss::Xent {
            self.dispatch(
                pass,
                Kernel::Softmax,
                &self.groups.softmax,
                slot,
                batch,
                &self.layer_params[last],
            )?;
        }
        Ok(())
    }

    /// Records one gradient-descent step on training batch `slot`.
    fn record_step(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        source: Source,
        slot: usize,
    ) -> Result<()> {
        let batch = &self.train_batches[slot];
        let ordered = source as usize; // 0 shuffled, 1 in order
        if let Some(group) = self.groups.gather_input.get(ordered) {
            // The batch's distorted images, read by the first layer's kernels below.
            self.dispatch(
                pass,
                Kernel::GatherInput,
                group,
                slot,
                batch,
                &self.layer_params[0],
            )?;
        }
        self.record_forward(pass, source, slot, batch)?;
        let last = self.layer_params.len() - 1;
        let top = &self.layer_params[last];
        let g = &self.groups;
        let dropout = self.dropout_in(slot);
        // The output error is (a − y)/B times the output activation's derivative: the
        // sigmoid's for the quadratic cost, 1 (linear) for softmax with cross-entropy.
        let output_error = with_activation(
            Kernel::OutputError.into(),
            self.architecture.loss.output_activation(),
        );
        let batch_cost = match self.architecture.loss {
            Loss::Mse => Kernel::BatchCost,
            Loss::Xent => Kernel::BatchCostXent,
        };
        self.dispatch(
            pass,
            output_error,
            &g.output_error[ordered],
            slot,
            batch,
            top,
        )?;
        self.dispatch(pass, batch_cost, &g.batch_cost[ordered], slot, batch, top)?;
        for l in (0..=last).rev() {
            let layer = &self.layer_params[l];
            // δ[l-1] from W[l] before W[l] changes.
            if let Some(group) = &g.backprop_error[l] {
                // δ[l-1] takes the derivative of layer l-1's (hidden) activation.
                let kernel =
                    with_activation(self.plan.backprop_error, self.architecture.activation);
                self.dispatch(pass, kernel, group, slot, batch, layer)?;
                if dropout {
                    // δ[l-1] through layer l-1's mask.
                    let below = &self.layer_params[l - 1];
                    self.dispatch(
                        pass,
                        Kernel::DropoutBackward,
                        &g.dropout_backward[l - 1],
                        slot,
                        batch,
                        below,
                    )?;
                }
            }
            let gradient_groups = if dropout {
                &g.weight_gradient_hidden_dropped
            } else {
                &g.weight_gradient_hidden
            };
            let (kernel, group) = match &gradient_groups[l] {
                Some(group) => (self.plan.weight_gradient_hidden, group),
                None => (
                    self.plan.weight_gradient_input,
                    &g.weight_gradient_input[ordered],
                ),
            };
            self.dispatch(pass, kernel, group, slot, batch, layer)?;
            if self.fused_sgd {
                for (kernel, group) in [
                    (Kernel::weight_update_for(layer), &g.weight_update[l]),
                    (Kernel::bias_update_for(layer), &g.bias_update[l]),
                ] {
                    self.dispatch(pass, kernel, group, slot, batch, layer)?;
                }
            } else {
                // Weights and biases in one dispatch: a step costs a browser 24–71 µs of
                // launch per dispatch, more than these few thousand elements take.
                let group = &g.parameter_step[l];
                self.dispatch(pass, Kernel::ParameterStep, group, slot, batch, layer)?;
            }
            if layer.max_norm > 0.0 {
                self.dispatch(pass, Kernel::MaxNorm, &g.max_norm[l], slot, batch, layer)?;
            }
        }
        Ok(())
    }

    /// Forward passes and `evaluate` over a whole split: fills the predictions and the count.
    fn record_evaluation(&self, split: Split) -> Result<wgpu::CommandEncoder> {
        let ctx = self.context.as_ref();
        let (chunks, first_slot, source, group) = match split {
            Split::Train => (
                &self.train_chunks,
                self.train_batches.len() + self.test_chunks.len(),
                Source::TrainInOrder,
                &self.groups.evaluate_train,
            ),
            Split::Test => (
                &self.test_chunks,
                self.train_batches.len(),
                Source::Test,
                &self.groups.evaluate_test,
            ),
        };
        let mut encoder = ctx.encoder();
        encoder.clear_buffer(&self.buffers.correct_count, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mnist.evaluate"),
                timestamp_writes: None,
            });
            let top = &self.layer_params[self.layer_params.len() - 1];
            for (i, chunk) in chunks.iter().enumerate() {
                self.record_forward(&mut pass, source, first_slot + i, chunk)?;
                self.dispatch(
                    &mut pass,
                    Kernel::Evaluate,
                    group,
                    first_slot + i,
                    chunk,
                    top,
                )?;
            }
        }
        Ok(encoder)
    }

    /// Whether batch slot `slot` is a training batch run with dropout.
    fn dropout_in(&self, slot: usize) -> bool {
        self.recipe.dropout.is_active() && slot < self.train_batches.len()
    }

    /// Writes the round's batch blocks with each step's learning rate (from the schedule),
    /// Adam's bias corrections and the dropout masks' round: one queue write per round.
    fn write_round_blocks(&mut self) {
        let count = self.train_batches.len();
        let stride = self.slots.stride as usize;
        let optimizer = self.recipe.optimizer;
        for (i, batch) in self.train_batches.iter().enumerate() {
            let lr = self.recipe.lr.lr(self.round, i, count);
            let step = self.steps + i as u64 + 1;
            let block = batch
                .with_step(optimizer.scalars(lr, step))
                .in_round(self.round, self.recipe.seed);
            self.round_blocks[i * stride..i * stride + size_of::<BatchParams>()]
                .copy_from_slice(bytemuck::bytes_of(&block));
        }
        self.context
            .queue
            .write_buffer(&self.slots.buffer, 0, &self.round_blocks);
    }

    fn resident(&self, split: Split) -> &Resident {
        match split {
            Split::Train => &self.buffers.train,
            Split::Test => &self.buffers.test,
        }
    }
}

/// The engine's work, each readback awaited: what a browser tab calls (its readbacks complete
/// only when its event loop runs), and what the blocking [`Engine`] implementation waits on.
impl GpuEngine {
    pub async fn train_round_async(&mut self, order: Option<&[u32]>) -> Result<f64> {
        let source = match order {
            Some(order) => {
                check_order(order, self.buffers.train.len)?;
                self.context.queue.write_buffer(
                    &self.buffers.order,
                    0,
                    bytemuck::cast_slice(order),
                );
                Source::TrainShuffled
            }
            None => Source::TrainInOrder,
        };
        if !self.fused_sgd || self.recipe.dropout.is_active() || self.recipe.noise.is_active() {
            self.write_round_blocks();
        }
        let mut encoder = self.context.encoder();
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mnist.round"),
                timestamp_writes: None,
            });
            for slot in 0..self.train_batches.len() {
                self.record_step(&mut pass, source, slot)?;
            }
        }
        let costs = self.buffers.costs.clone();
        let bytes = self
            .read(encoder, &costs, self.train_batches.len() as u64 * 4)
            .await?;
        let costs: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
        self.steps += costs.len() as u64;
        self.round += 1;
        let total: f64 = costs.iter().map(|&c| f64::from(c)).sum();
        Ok(total / costs.len().max(1) as f64)
    }

    pub async fn correct_async(&mut self, split: Split) -> Result<usize> {
        let encoder = self.record_evaluation(split)?;
        let counter = self.buffers.correct_count.clone();
        let bytes = self.read(encoder, &counter, 4).await?;
        let count: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
        Ok(count.first().copied().unwrap_or(0) as usize)
    }

    pub async fn predictions_async(&mut self, split: Split) -> Result<Vec<u8>> {
        let images = self.resident(split).len;
        let encoder = self.record_evaluation(split)?;
        let predicted = self.buffers.predicted.clone();
        let bytes = self.read(encoder, &predicted, images as u64 * 4).await?;
        let classes: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
        Ok(classes.iter().map(|&c| c as u8).collect())
    }

    pub async fn outputs_async(&mut self, split: Split, index: usize) -> Result<Vec<f32>> {
        let images = self.resident(split).len;
        if index >= images {
            return Err(Error::Config(format!(
                "image {index} is out of range: the split has {images} images"
            )));
        }
        let batch = BatchParams::new(0, index, 1);
        let ctx = Arc::clone(&self.context);
        ctx.queue.write_buffer(
            &self.slots.buffer,
            self.scratch_slot as u64 * self.slots.stride,
            bytemuck::bytes_of(&batch),
        );
        let source = match split {
            Split::Train => Source::TrainInOrder,
            Split::Test => Source::Test,
        };
        let mut encoder = ctx.encoder();
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mnist.outputs"),
                timestamp_writes: None,
            });
            self.record_forward(&mut pass, source, self.scratch_slot, &batch)?;
        }
        let top = self.buffers.activations[self.buffers.activations.len() - 1].clone();
        let classes = self.sizes[self.sizes.len() - 1];
        let bytes = self.read(encoder, &top, classes as u64 * 4).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    pub async fn network_async(&mut self) -> Result<Network> {
        let mut layers = Vec::with_capacity(self.buffers.parameters.len());
        for l in 0..self.buffers.parameters.len() {
            let (inputs, outputs) = (self.sizes[l], self.sizes[l + 1]);
            let parameters = self.buffers.parameters[l].clone();
            let encoder = self.context.encoder();
            let bytes = self
                .read(encoder, &parameters, ((inputs + 1) * outputs) as u64 * 4)
                .await?;
            let mut weights: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
            let biases = weights.split_off(inputs * outputs);
            layers.push(Layer {
                inputs,
                outputs,
                weights,
                biases,
            });
        }
        Ok(Network::from_layers(layers, self.architecture))
    }

    pub async fn optimizer_state_async(&mut self) -> Result<OptimizerState> {
        let optimizer = self.recipe.optimizer;
        let mut state = OptimizerState {
            steps: self.steps,
            ..OptimizerState::default()
        };
        for l in 0..self.moments.len() {
            let (inputs, outputs) = (self.sizes[l], self.sizes[l + 1]);
            let count = (inputs + 1) * outputs;
            let moments = self.moments[l].clone();
            let encoder = self.context.encoder();
            let bytes = self.read(encoder, &moments, 2 * count as u64 * 4).await?;
            let values: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
            let weights = inputs * outputs;
            for (slots, at, used) in [
                (&mut state.first, 0, optimizer.moments() >= 1),
                (&mut state.second, count, optimizer.moments() >= 2),
            ] {
                if used {
                    slots.push(values[at..at + weights].to_vec());
                    slots.push(values[at + weights..at + count].to_vec());
                }
            }
        }
        Ok(state)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Engine for GpuEngine {
    fn describe(&self) -> String {
        self.context.describe()
    }

    fn train_round(&mut self, order: Option<&[u32]>) -> Result<f64> {
        pollster::block_on(self.train_round_async(order))
    }

    fn correct(&mut self, split: Split) -> Result<usize> {
        pollster::block_on(self.correct_async(split))
    }

    fn predictions(&mut self, split: Split) -> Result<Vec<u8>> {
        pollster::block_on(self.predictions_async(split))
    }

    fn outputs(&mut self, split: Split, index: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.outputs_async(split, index))
    }

    fn network(&mut self) -> Result<Network> {
        pollster::block_on(self.network_async())
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        pollster::block_on(self.optimizer_state_async())
    }
}

/// One buffer per layer: its weights (outputs × inputs, row-major), then its biases.
fn layer_parameters(ctx: &GpuContext, net: &Network) -> Vec<wgpu::Buffer> {
    (net.layers.iter().enumerate())
        .map(|(l, layer)| {
            let mut values = layer.weights.clone();
            values.extend_from_slice(&layer.biases);
            ctx.buffer_with(&format!("parameters.{l}"), bytemuck::cast_slice(&values))
        })
        .collect()
}

/// The forward kernel of layer `l` (of `last + 1`): hidden layers apply the network's
/// activation; the output layer the loss's (the sigmoid for mse; none for xent, its softmax
/// following).
fn forward_variant(
    plan: &KernelPlan,
    l: usize,
    last: usize,
    activation: crate::ops::Activation,
    loss: Loss,
) -> Variant {
    let kernel = if l == 0 {
        plan.forward_input
    } else {
        plan.forward_hidden
    };
    if l == last {
        with_activation(kernel, loss.output_activation())
    } else {
        with_activation(kernel, activation)
    }
}

/// `variant` compiled with the `ACTIVATION` override of `activation`.
fn with_activation(variant: Variant, activation: crate::ops::Activation) -> Variant {
    Variant {
        activation,
        ..variant
    }
}
