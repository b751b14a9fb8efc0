//! The fast native CPU engine: f32; the first layer's products work on register tiles that skip
//! the dark pixels (`input_layer.rs`), every other product goes through the `gemm` crate (SIMD
//! microkernels, multithreaded with rayon), element-wise work is split over rows with rayon.
//!
//! A batch of `B` images, for every layer `l` with input activations `a[l-1]` (`B×in`):
//! * forward: `a[l] = f(a[l-1]·W[l]ᵀ + b[l])` with the hidden [`Activation`] `f`, times the
//!   dropout mask `m[l]` when training with dropout; the last layer gives the [`Loss`]'s outputs
//!   (sigmoid or softmax);
//! * output error: `δ[L] = dC/dz[L]` fused by the loss (`(a − y)/B ⊙ a(1 − a)` for the quadratic
//!   cost, `(p − y)/B` for softmax with cross-entropy);
//! * back-propagated error: `δ[l-1] = (δ[l]·W[l]) ⊙ f'(a[l-1]) ⊙ m[l-1]`;
//! * update: the first layer's weights are stepped by [`Optimizer::update`] as each pixel's
//!   gradient is summed (never stored); above it, plain SGD's `W[l] −= lr·δ[l]ᵀ·a[l-1]` is one
//!   GEMM accumulating into `W[l]`, other optimisers store the gradient and apply the update
//!   element-wise; biases `b[l]` step by the column sums of `δ[l]`.
//!
//! Every buffer is allocated in [`CpuEngine::new`]; a round allocates nothing.

mod aligned;
mod float_mode;
mod hot_pool;
mod input_layer;

use std::ops::Range;

use rayon::prelude::*;

use self::aligned::AlignedVec;
use self::input_layer::{Ahead, BatchColumns, DELTA_SLACK, InputLayer, LitPixels};
use super::gemm::{Mat, MatRef, gemm};
use super::{
    Engine, Hyper, Inference, Pixels, Recipe, Validation, batches, check_order, noise_params,
    tensor_lens, validate,
};
use crate::data::{Dataset, Mnist, Split};
use crate::model::{Network, argmax};
use crate::ops::activation::{ActivationOp, Fast, Saved, Visit, fast_sigmoid};
use crate::ops::augment::{InputNoise, NoiseParams};
use crate::ops::{Activation, Dropout, Loss};
use crate::optim::max_norm::clip_rows;
use crate::optim::{Optimizer, OptimizerState, Rule, StepScalars, VisitRule};
use crate::{Error, Result};

/// Images per forward chunk when evaluating a whole split.
const EVAL_CHUNK: usize = 2000;
/// Rows per rayon task in element-wise passes: enough work to amortise the task.
const ROWS_PER_TASK: usize = 64;
/// Parameters per rayon task in the optimiser's element-wise update.
const UPDATE_CHUNK: usize = 16 * 1024;

pub struct CpuEngine {
    net: Network,
    recipe: Recipe,
    state: OptimizerState,
    /// The round the next `train_round` runs.
    round: usize,
    train: Images,
    test: Images,
    /// The first layer (its weights are not kept in `net`, whose layer 0 has none).
    input: InputLayer,
    /// The images of the batch (or evaluation chunk) at hand, as indices into their split.
    batch_images: Vec<u32>,
    batch_labels: Vec<u8>,
    /// The batch grouped by digit for the first layer's forward tiles (see [`Grouped`]).
    grouped: GroupedBuffers,
    /// The batch's lit pixels indexed by pixel, for the first layer's weight step.
    columns: BatchColumns,
    /// Column sums of a layer's δ (the bias gradient): two rows as wide as the widest layer,
    /// one for the first layer and one for the layers above, which step at the same time.
    column_sums: Vec<f32>,
    /// Activations per layer, `rows × outputs` (rows: the batch or an evaluation chunk); for
    /// hidden layers before dropout, and followed by `rows × outputs` pre-activations `z` when
    /// the activation's derivative needs them (see [`activation_buffers`]).
    activations: Vec<Vec<f32>>,
    /// Hidden layers with dropout: the masks (0 or 1/(1 − rate)) and the masked activations
    /// the next layer reads; empty without dropout.
    masks: Vec<Vec<f32>>,
    dropped: Vec<Vec<f32>>,
    /// Errors `δ` per layer, `batch_size × outputs`.
    deltas: Vec<AlignedVec>,
    /// Gradients per parameter tensor (weights 0, biases 0, weights 1, ...) for optimisers
    /// that need them; empty for plain SGD (fused into the product).
    gradients: Vec<Vec<f32>>,
    /// With input noise: the batch's images as the first layer sees them.
    noisy: Option<NoisyBatch>,
}

/// A training batch's images after distortion and input dropout, in buffers allocated once.
struct NoisyBatch {
    noise: NoiseParams,
    /// What the first layer multiplies `level / 255` by.
    scale: f32,
    /// The training images' grey levels (the source of every warp).
    levels: Vec<u8>,
    pixels: usize,
    /// The batch's distorted grey levels, row by row.
    out: Vec<u8>,
    /// The same as lit pixels, rows `0..batch`, and those row numbers.
    lit: LitPixels,
    rows: Vec<u32>,
}

impl NoisyBatch {
    /// Puts the training images `batch` (batch `index` of `round`) through the noise into
    /// `self.lit` rows `0..batch.len()`.
    fn fill(&mut self, seed: u64, round: usize, index: usize, batch: &[u32]) {
        let keys = InputNoise::keys(seed, round, index);
        let (pixels, noise, levels) = (self.pixels, self.noise, &self.levels);
        self.out[..batch.len() * pixels]
            .par_chunks_mut(pixels)
            .zip(batch.par_iter())
            .enumerate()
            .for_each(|(row, (out, &image))| {
                let image = &levels[image as usize * pixels..][..pixels];
                noise.apply(keys, row as u32, image, out);
            });
        for (row, out) in self.out.chunks_exact(pixels).take(batch.len()).enumerate() {
            self.lit.set_levels(row, out, self.scale);
        }
    }
}

/// One split: its images as lit pixels, and its labels.
struct Images {
    lit: LitPixels,
    labels: Vec<u8>,
}

impl Images {
    fn new(split: &Dataset) -> Self {
        Images {
            lit: LitPixels::from_bytes(&split.images, split.pixels()),
            labels: split.labels.clone(),
        }
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Each layer's activation buffer for `rows` rows: `rows × outputs` outputs, then as many
/// pre-activations `z` for hidden layers whose activation's derivative needs them (the GPU
/// engine's layout).
fn activation_buffers(net: &Network, rows: usize) -> Vec<Vec<f32>> {
    let last = net.layers.len() - 1;
    (net.layers.iter().enumerate())
        .map(|(l, layer)| {
            let kept = if l == last {
                1
            } else {
                net.activation.kept_per_output()
            };
            vec![0.0; kept * rows * layer.outputs]
        })
        .collect()
}

/// The values a hidden layer's derivative reads from its activation buffer `buffer`: the
/// first `len` outputs, or the `z` kept in its second half.
fn saved(buffer: &[f32], activation: Activation, len: usize) -> &[f32] {
    match activation.saves() {
        Saved::Output => &buffer[..len],
        Saved::Input => &buffer[buffer.len() / 2..][..len],
    }
}

/// The column sums of `delta` (rows of `width` values), in the first `width` of `sums`,
/// accumulated row by row (contiguous reads).
fn column_sums<'a>(delta: &[f32], width: usize, sums: &'a mut [f32]) -> &'a [f32] {
    let sums = &mut sums[..width];
    sums.fill(0.0);
    for row in delta.chunks_exact(width) {
        for (s, d) in sums.iter_mut().zip(row) {
            *s += d;
        }
    }
    sums
}

/// Runs the layers above the first through a step's three products (forward, back-propagation,
/// weight gradient) at the batch's shape on every thread of the pool, on scratch values, so
/// that the `gemm` crate allocates its per-thread packing buffers now: otherwise the first
/// round pays for them (about 650 page faults at 784-200-10, 4 µs each here). At most
/// `WARM_ROWS` rows, so that a huge batch costs no huge scratch: its own products take far
/// longer than the faults of whatever buffers they still add.
fn warm_products(net: &Network, batch: usize) {
    const WARM_ROWS: usize = 512;
    let batch = batch.min(WARM_ROWS);
    rayon::broadcast(|_| {
        for layer in &net.layers[1..] {
            let (inputs, outputs) = (layer.inputs, layer.outputs);
            let a = vec![0.0f32; batch * inputs];
            let mut z = vec![0.0f32; batch * outputs];
            let mut back = vec![0.0f32; batch * inputs];
            let mut grad = vec![0.0f32; outputs * inputs];
            gemm(
                Mat::rows(&mut z, outputs),
                MatRef::rows(&a, inputs),
                MatRef::transposed(&layer.weights, inputs),
                None,
            );
            gemm(
                Mat::rows(&mut back, inputs),
                MatRef::rows(&z, outputs),
                MatRef::rows(&layer.weights, inputs),
                None,
            );
            gemm(
                Mat::rows(&mut grad, inputs),
                MatRef::transposed(&z, outputs),
                MatRef::rows(&a, inputs),
                None,
            );
        }
    });
}

/// Buffers for [`Grouped`], allocated once.
struct GroupedBuffers {
    order: Vec<u32>,
    images: Vec<u32>,
    sums: Vec<f32>,
}

impl GroupedBuffers {
    /// Orders the rows of a batch with `labels` by label (a counting sort, stable), their
    /// images being `images` (row `r` is image `images[r]`).
    fn group(&mut self, labels: &[u8], images: &[u32]) -> Grouped<'_> {
        let mut starts = [0usize; 257];
        for &label in labels {
            starts[usize::from(label) + 1] += 1;
        }
        for l in 1..starts.len() {
            starts[l] += starts[l - 1];
        }
        self.order.clear();
        self.order.resize(labels.len(), 0);
        for (row, &label) in labels.iter().enumerate() {
            let at = &mut starts[usize::from(label)];
            self.order[*at] = row as u32;
            *at += 1;
        }
        self.images.clear();
        self.images
            .extend(self.order.iter().map(|&row| images[row as usize]));
        Grouped {
            order: &self.order,
            images: &self.images,
            sums: &mut self.sums,
        }
    }
}

/// A training batch's rows grouped by digit for the first layer's forward pass. Its tiles of
/// four images skip the pixels none of the four lights: four images of one digit light about
/// 300 pixels of MNIST's 784 together, four random ones about 338 (deskewed digits), so grouped
/// tiles do 11% fewer multiply-adds. Each image's sums are the same, bit for bit.
struct Grouped<'a> {
    /// The batch's rows in label order.
    order: &'a [u32],
    /// Their images.
    images: &'a [u32],
    /// The first layer's sums in that order, before they go back to the rows.
    sums: &'a mut [f32],
}

/// What a forward pass runs: the images `batch` of `images` through the layers `layers` (all of
/// them, or the first and then the rest), the first layer's tiles grouped by `grouped`.
struct ForwardRows<'a> {
    images: &'a LitPixels,
    batch: &'a [u32],
    grouped: Option<Grouped<'a>>,
    layers: Range<usize>,
}

impl<'a> ForwardRows<'a> {
    /// The images `batch` through `layers`, in batch order.
    fn all(images: &'a LitPixels, batch: &'a [u32], layers: Range<usize>) -> Self {
        ForwardRows {
            images,
            batch,
            grouped: None,
            layers,
        }
    }
}

/// The dropout of one training forward pass: the layers' keys and the mask buffers.
struct DropoutPass<'a> {
    keys: &'a [u32],
    threshold: u32,
    keep_scale: f32,
    masks: &'a mut [Vec<f32>],
    dropped: &'a mut [Vec<f32>],
}

impl CpuEngine {
    /// The tutorial's training (plain SGD, constant rate) of `net`.
    pub fn new(net: Network, data: &Mnist, hyper: Hyper) -> Result<Self> {
        Self::with_recipe(net, data, Recipe::sgd(hyper), None)
    }

    /// Training of `net` by `recipe`, continuing from `state` when given (a resumed run).
    pub fn with_recipe(
        net: Network,
        data: &Mnist,
        recipe: Recipe,
        state: Option<OptimizerState>,
    ) -> Result<Self> {
        validate(&net, data, recipe.hyper)?;
        let batch = recipe.hyper.batch_size;
        let lens = tensor_lens(&net);
        let state = OptimizerState::resume_or_new(state, recipe.optimizer, &lens)?;
        let rows = batch.max(EVAL_CHUNK);
        let activations = activation_buffers(&net, rows);
        // The first layer's weight step reads whole vectors past a row's end.
        let deltas = net
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                AlignedVec::zeros(batch * layer.outputs + if l == 0 { DELTA_SLACK } else { 0 })
            })
            .collect();
        let hidden: Vec<usize> = net.layers[..net.layers.len() - 1]
            .iter()
            .map(|l| l.outputs)
            .collect();
        let per_hidden = || -> Vec<Vec<f32>> {
            if recipe.dropout.is_active() {
                hidden.iter().map(|&n| vec![0.0; batch * n]).collect()
            } else {
                Vec::new()
            }
        };
        // The first layer's gradients (slots 0 and 1) are never stored.
        let gradients = if recipe.optimizer.is_sgd() {
            Vec::new()
        } else {
            lens.iter()
                .enumerate()
                .map(|(slot, &n)| vec![0.0; if slot < 2 { 0 } else { n }])
                .collect()
        };
        let (mut net, mut state) = (net, state);
        let moment = |m: &mut Vec<Vec<f32>>| m.first_mut().map(std::mem::take).unwrap_or_default();
        let (first, second) = (moment(&mut state.first), moment(&mut state.second));
        let mut input = InputLayer::new(&net.layers[0], &first, &second);
        input.reserve(batch);
        net.layers[0].weights = Vec::new();
        let train = Images::new(&data.train);
        let noise = noise_params(&net, &recipe)?;
        let pixels = net.inputs();
        let noisy = recipe.noise.is_active().then(|| NoisyBatch {
            noise,
            scale: recipe.noise.input_scale(),
            levels: data.train.images.clone(),
            pixels,
            out: vec![0; batch * pixels],
            lit: LitPixels::dark(batch, pixels),
            rows: (0..batch as u32).collect(),
        });
        // A distorted image may light any of its tiles.
        let entries = match noisy {
            Some(_) => batch * pixels.div_ceil(4),
            None => train.lit.most_lit_tiles(batch),
        };
        warm_products(&net, batch);
        Ok(CpuEngine {
            noisy,
            columns: BatchColumns::new(net.inputs(), entries),
            batch_images: Vec::with_capacity(rows),
            batch_labels: Vec::with_capacity(batch),
            grouped: GroupedBuffers {
                order: Vec::with_capacity(batch),
                images: Vec::with_capacity(batch),
                sums: vec![0.0; batch * net.layers[0].outputs],
            },
            column_sums: vec![0.0; 2 * net.layers.iter().map(|l| l.outputs).max().unwrap_or(0)],
            train,
            test: Images::new(&data.test),
            masks: per_hidden(),
            dropped: per_hidden(),
            round: recipe.first_round,
            input,
            net,
            recipe,
            state,
            activations,
            deltas,
            gradients,
        })
    }

    fn images(&self, split: Split) -> &Images {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// Forward pass of `what` into `activations`; with `dropout`, hidden layers are masked
    /// into `dropout.dropped`, which the next layer reads.
    fn forward(
        net: &Network,
        input: &InputLayer,
        activations: &mut [Vec<f32>],
        mut dropout: Option<&mut DropoutPass<'_>>,
        what: ForwardRows<'_>,
    ) {
        let ForwardRows {
            images,
            batch,
            mut grouped,
            layers,
        } = what;
        let rows = batch.len();
        let last = net.layers.len() - 1;
        for (l, layer) in net.layers.iter().enumerate() {
            if !layers.contains(&l) {
                continue;
            }
            let (done, rest) = activations.split_at_mut(l);
            let buffer = &mut rest[0];
            let half = buffer.len() / 2;
            let (a_out, kept_z) = match (l < last, net.activation.saves()) {
                (true, Saved::Input) => {
                    let (a, z) = buffer.split_at_mut(half);
                    (
                        &mut a[..rows * layer.outputs],
                        Some(&mut z[..rows * layer.outputs]),
                    )
                }
                _ => (&mut buffer[..rows * layer.outputs], None),
            };
            // The first layer's sums start from its bias; the other layers' are added here.
            let bias = if l == 0 {
                match grouped.as_mut() {
                    Some(g) => {
                        let (n, sums) = (layer.outputs, &mut g.sums[..rows * layer.outputs]);
                        input.forward(&layer.biases, images, g.images, sums);
                        for (&row, sums) in g.order.iter().zip(sums.chunks_exact(n)) {
                            a_out[row as usize * n..][..n].copy_from_slice(sums);
                        }
                    }
                    None => input.forward(&layer.biases, images, batch, a_out),
                }
                None
            } else {
                let a_in: &[f32] = match &dropout {
                    Some(pass) => &pass.dropped[l - 1],
                    None => &done[l - 1],
                };
                // a_out = a_in · Wᵀ
                gemm(
                    Mat::rows(a_out, layer.outputs),
                    MatRef::rows(&a_in[..rows * layer.inputs], layer.inputs),
                    MatRef::transposed(&layer.weights, layer.inputs),
                    None,
                );
                Some(layer.biases.as_slice())
            };
            let width = layer.outputs;
            if l == last {
                match net.loss {
                    Loss::Mse => add_bias_then(a_out, width, bias, fast_sigmoid, None),
                    Loss::Xent => {
                        add_bias_then(a_out, width, bias, |z| z, None);
                        a_out
                            .par_chunks_mut(width * ROWS_PER_TASK)
                            .for_each(|chunk| {
                                chunk
                                    .chunks_mut(width)
                                    .for_each(|row| net.loss.outputs_fast(row))
                            });
                    }
                }
                continue;
            }
            net.activation.visit(AddBiasThenActivate {
                a_out: &mut *a_out,
                width,
                bias,
                kept_z,
            });
            if let Some(pass) = dropout.as_mut() {
                let (key, threshold, scale) = (pass.keys[l], pass.threshold, pass.keep_scale);
                let masks = &mut pass.masks[l][..rows * layer.outputs];
                let dropped = &mut pass.dropped[l][..rows * layer.outputs];
                let chunk = layer.outputs * ROWS_PER_TASK;
                masks
                    .par_chunks_mut(chunk)
                    .zip(dropped.par_chunks_mut(chunk))
                    .zip(a_out.par_chunks(chunk))
                    .enumerate()
                    .for_each(|(c, ((m, d), a))| {
                        let first = (c * chunk) as u32;
                        for (e, ((m, d), &a)) in m.iter_mut().zip(d).zip(a).enumerate() {
                            *m = Dropout::mask(key, first + e as u32, threshold, scale);
                            *d = a * *m;
                        }
                    });
            }
        }
    }

    /// One optimiser step on the training images `self.batch_images` (labels
    /// `self.batch_labels`); `batch` is the batch's index in the round, `next` the next batch's
    /// images when the round is shuffled. Returns the batch's cost.
    fn step(&mut self, batch: usize, lr: f32, next: &[u32]) -> f64 {
        let rows = self.batch_images.len();
        let labels = &self.batch_labels[..];
        let last = self.net.layers.len() - 1;
        let dropout = self.recipe.dropout;
        // At most a few hidden layers: a fixed array keeps the round allocation-free.
        let mut keys = [0u32; 16];
        let mut dropout_pass = if dropout.is_active() {
            for (l, key) in keys.iter_mut().enumerate().take(last) {
                *key = Dropout::batch_key(self.recipe.seed, self.round, batch, l);
            }
            Some(DropoutPass {
                keys: &keys,
                threshold: dropout.threshold(),
                keep_scale: dropout.keep_scale(),
                masks: &mut self.masks,
                dropped: &mut self.dropped,
            })
        } else {
            None
        };
        // The first layer reads the batch's distorted images, or the resident ones.
        let (images, rows_of): (&LitPixels, &[u32]) = match self.noisy.as_mut() {
            Some(noisy) => {
                noisy.fill(self.recipe.seed, self.round, batch, &self.batch_images);
                (&noisy.lit, &noisy.rows[..rows])
            }
            None => (&self.train.lit, &self.batch_images),
        };
        let grouped = self.grouped.group(labels, rows_of);
        let layers = self.net.layers.len();
        let (net, input, activations, columns, deltas) = (
            &self.net,
            &self.input,
            &mut self.activations,
            &mut self.columns,
            &mut self.deltas,
        );
        let first = ForwardRows {
            images,
            batch: rows_of,
            grouped: Some(grouped),
            layers: 0..1,
        };
        Self::forward(net, input, activations, dropout_pass.as_mut(), first);
        // The weight step's index of the batch needs only the images. It is built by the other
        // thread while this one finishes the forward pass and back-propagates, serial work
        // that would otherwise leave that thread idle, from images prefetched during the
        // previous weight step. Measured on 2 cores: rounds of `fast` 7% shorter than with the
        // index built beside the first layer's forward pass; the move alone, or the prefetch
        // alone, changed nothing.
        let (cost, ()) = rayon::join(
            || {
                let rest = ForwardRows::all(images, rows_of, 1..layers);
                Self::forward(net, input, activations, dropout_pass.as_mut(), rest);
                let classes = net.layers[last].outputs;
                let scale = 1.0 / rows as f32;
                let loss = net.loss;
                let cost_sum: f64 = deltas[last][..rows * classes]
                    .par_chunks_mut(classes)
                    .zip(activations[last][..rows * classes].par_chunks(classes))
                    .zip(labels.par_iter())
                    .map(|((delta, a), &label)| loss.output_error(a, label, scale, delta))
                    .sum::<f64>();
                // Back-propagation: δ[l-1] = (δ[l]·W[l]) ⊙ f'(a[l-1]) ⊙ m[l-1] for every layer,
                // before any weights change.
                let activation = net.activation;
                for l in (1..=last).rev() {
                    let (below, here) = deltas.split_at_mut(l);
                    let layer = &net.layers[l];
                    let delta_in = &mut below[l - 1][..rows * layer.inputs];
                    gemm(
                        Mat::rows(delta_in, layer.inputs),
                        MatRef::rows(&here[0][..rows * layer.outputs], layer.outputs),
                        MatRef::rows(&layer.weights, layer.inputs),
                        None,
                    );
                    let saved = saved(&activations[l - 1], activation, rows * layer.inputs);
                    let masks = dropout_pass.as_ref().map(|pass| &pass.masks[l - 1]);
                    activation.visit(TimesDerivative {
                        delta: delta_in,
                        saved,
                        mask: masks.map(|m| &m[..rows * layer.inputs]),
                    });
                }
                loss.batch_cost(cost_sum, rows)
            },
            || columns.index(images, rows_of),
        );

        self.state.steps += 1;
        let optimizer = self.recipe.optimizer;
        let scalars = optimizer.scalars(lr, self.state.steps);
        // Then the updates: the first layer's step, split over the threads, and the small
        // layers above it, run meanwhile by whichever thread is free (serially they were about
        // 7% of a batch-128 round of 784-200-10, one core idle).
        let (first_layer, upper) = self.net.layers.split_at_mut(1);
        let half = self.column_sums.len() / 2;
        let (sums_below, sums_above) = self.column_sums.split_at_mut(half);
        let slots = self.state.first.len().min(2);
        let (first_below, first_above) = self.state.first.split_at_mut(slots);
        let slots = self.state.second.len().min(2);
        let (second_below, second_above) = self.state.second.split_at_mut(slots);
        let deltas = &self.deltas;
        // Distorted batches are drawn afresh each step: nothing to fetch ahead.
        let ahead = self.noisy.is_none().then_some((&self.train.lit, next));
        let (input, columns, gradients) = (&mut self.input, &self.columns, &mut self.gradients);
        let (dropped, activations) = (&self.dropped, &self.activations);
        let a_in = |l: usize, inputs: usize| -> &[f32] {
            let a = if dropout.is_active() {
                &dropped[l - 1]
            } else {
                &activations[l - 1]
            };
            &a[..rows * inputs]
        };
        rayon::join(
            || {
                // The first layer's weights step pixel by pixel as their gradient is summed
                // (never stored); its biases step by the column sums of δ.
                let biases = &mut first_layer[0].biases;
                let width = biases.len();
                let sums = column_sums(&deltas[0][..rows * width], width, sums_below);
                optimizer.visit(InputStep {
                    input,
                    columns,
                    delta: &deltas[0],
                    ahead,
                    k: scalars,
                });
                let first = first_below.get_mut(1).map(Vec::as_mut_slice);
                let second = second_below.get_mut(1).map(Vec::as_mut_slice);
                apply_update(optimizer, scalars, biases, sums, first, second);
            },
            || {
                for (l, layer) in (1..).zip(upper.iter_mut()) {
                    let delta = &deltas[l][..rows * layer.outputs];
                    let sums = column_sums(delta, layer.outputs, sums_above);
                    let a_in = a_in(l, layer.inputs);
                    if optimizer.is_sgd() {
                        // W[l] −= lr · δ[l]ᵀ · a[l-1]
                        gemm(
                            Mat::rows(&mut layer.weights, layer.inputs),
                            MatRef::transposed(delta, layer.outputs),
                            MatRef::rows(a_in, layer.inputs),
                            Some(-lr),
                        );
                        // b[l] −= lr · column sums of δ[l].
                        for (b, s) in layer.biases.iter_mut().zip(sums.iter()) {
                            *b -= lr * s;
                        }
                        continue;
                    }
                    let (gw, gb) = gradients[2 * l..2 * l + 2].split_at_mut(1);
                    gb[0].copy_from_slice(sums);
                    gemm(
                        Mat::rows(&mut gw[0], layer.inputs),
                        MatRef::transposed(delta, layer.outputs),
                        MatRef::rows(a_in, layer.inputs),
                        None,
                    );
                    for (slot, (params, grads)) in [
                        (2 * l, (&mut layer.weights, &gw[0])),
                        (2 * l + 1, (&mut layer.biases, &gb[0])),
                    ] {
                        let first = first_above.get_mut(slot - 2).map(Vec::as_mut_slice);
                        let second = second_above.get_mut(slot - 2).map(Vec::as_mut_slice);
                        apply_update(optimizer, scalars, params, grads, first, second);
                    }
                }
            },
        );
        let bound = self.recipe.max_norm;
        if bound > 0.0 {
            self.input.clip_norms(bound);
            for layer in &mut self.net.layers[1..] {
                clip_rows(&mut layer.weights, layer.inputs, bound);
            }
        }
        cost
    }

    /// One round's batches (see [`Engine::train_round`]).
    fn round(&mut self, order: Option<&[u32]>) -> Result<f64> {
        let images = self.train.len();
        if let Some(order) = order {
            check_order(order, images)?;
        }
        let batch_size = self.recipe.hyper.batch_size;
        let count = images.div_ceil(batch_size);
        let mut total = 0.0;
        for (batch, (first, rows)) in batches(images, batch_size).enumerate() {
            self.batch_images.clear();
            match order {
                Some(order) => self
                    .batch_images
                    .extend_from_slice(&order[first..first + rows]),
                None => self
                    .batch_images
                    .extend(first as u32..(first + rows) as u32),
            }
            let train = &self.train;
            self.batch_labels.clear();
            self.batch_labels
                .extend(self.batch_images.iter().map(|&i| train.labels[i as usize]));
            let lr = self.recipe.lr.lr(self.round, batch, count);
            let next = order.map_or(&[][..], |order| {
                let end = first + rows;
                &order[end..(end + batch_size).min(images)]
            });
            total += self.step(batch, lr, next);
        }
        self.round += 1;
        Ok(total / count.max(1) as f64)
    }

    /// Runs `visit(first, rows, outputs)` over forward passes of a whole split, chunk by chunk.
    fn for_each_output(&mut self, split: Split, visit: impl FnMut(usize, usize, &[f32])) {
        let images = match split {
            Split::Train => &self.train.lit,
            Split::Test => &self.test.lit,
        };
        let chunk = &mut self.batch_images;
        forward_all(
            &self.net,
            &self.input,
            &mut self.activations,
            chunk,
            images,
            visit,
        );
    }
}

/// Forward passes of all of `images`, [`EVAL_CHUNK`] at a time (their indices written into
/// `chunk`): `visit(first, rows, outputs)` after each.
fn forward_all(
    net: &Network,
    input: &InputLayer,
    activations: &mut [Vec<f32>],
    chunk: &mut Vec<u32>,
    images: &LitPixels,
    mut visit: impl FnMut(usize, usize, &[f32]),
) {
    let classes = net.outputs();
    for (first, rows) in batches(images.len(), EVAL_CHUNK) {
        chunk.clear();
        chunk.extend(first as u32..(first + rows) as u32);
        let what = ForwardRows::all(images, chunk, 0..net.layers.len());
        CpuEngine::forward(net, input, activations, None, what);
        let outputs = &activations[net.layers.len() - 1][..rows * classes];
        visit(first, rows, outputs);
    }
}

/// `z ← f(z + b)` (or `z ← f(z)` without `biases`) over rows of `width` values, split over
/// rayon tasks.
#[inline(always)]
fn add_bias_then(
    a_out: &mut [f32],
    width: usize,
    biases: Option<&[f32]>,
    f: impl Fn(f32) -> f32 + Sync,
    kept_z: Option<&mut [f32]>,
) {
    let chunk = width * ROWS_PER_TASK;
    let add_bias = |chunk: &mut [f32]| {
        if let Some(biases) = biases {
            for row in chunk.chunks_mut(width) {
                row.iter_mut().zip(biases).for_each(|(z, b)| *z += b);
            }
        }
    };
    match kept_z {
        // z is kept for the derivative: a = f(z) after copying z.
        Some(kept_z) => a_out
            .par_chunks_mut(chunk)
            .zip(kept_z.par_chunks_mut(chunk))
            .for_each(|(a, z)| {
                add_bias(a);
                z.copy_from_slice(a);
                a.iter_mut().for_each(|a| *a = f(*a));
            }),
        None => a_out.par_chunks_mut(chunk).for_each(|chunk| {
            for row in chunk.chunks_mut(width) {
                match biases {
                    Some(biases) => row.iter_mut().zip(biases).for_each(|(z, b)| *z = f(*z + b)),
                    None => row.iter_mut().for_each(|z| *z = f(*z)),
                }
            }
        }),
    }
}

/// [`add_bias_then`] with a hidden layer's activation, compiled per activation.
struct AddBiasThenActivate<'a> {
    a_out: &'a mut [f32],
    width: usize,
    bias: Option<&'a [f32]>,
    kept_z: Option<&'a mut [f32]>,
}

impl Visit for AddBiasThenActivate<'_> {
    type Output = ();
    fn visit<A: ActivationOp>(self) {
        let f = |z: f32| A::apply(Fast(z)).0;
        add_bias_then(self.a_out, self.width, self.bias, f, self.kept_z);
    }
}

/// [`times_derivative`] with a hidden layer's activation, compiled per activation.
struct TimesDerivative<'a> {
    delta: &'a mut [f32],
    saved: &'a [f32],
    mask: Option<&'a [f32]>,
}

impl Visit for TimesDerivative<'_> {
    type Output = ();
    fn visit<A: ActivationOp>(self) {
        let derivative = |s: f32| A::derivative(Fast(s)).0;
        times_derivative(self.delta, self.saved, self.mask, derivative);
    }
}

/// `δ ← δ ⊙ f'(s)` (and `⊙ m` with a dropout mask), `s` what the activation saved, split
/// over rayon tasks.
#[inline(always)]
fn times_derivative(
    delta: &mut [f32],
    a: &[f32],
    mask: Option<&[f32]>,
    derivative: impl Fn(f32) -> f32 + Sync,
) {
    const CHUNK: usize = 64 * 1024;
    match mask {
        None => delta
            .par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK))
            .for_each(|(d, a)| {
                for (d, &a) in d.iter_mut().zip(a) {
                    *d *= derivative(a);
                }
            }),
        Some(mask) => delta
            .par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK))
            .zip(mask.par_chunks(CHUNK))
            .for_each(|((d, a), m)| {
                for ((d, &a), &m) in d.iter_mut().zip(a).zip(m) {
                    *d *= derivative(a) * m;
                }
            }),
    }
}

/// [`Optimizer::update`] over one tensor, split over rayon tasks.
fn apply_update(
    optimizer: Optimizer,
    k: StepScalars,
    params: &mut [f32],
    grads: &[f32],
    first: Option<&mut [f32]>,
    second: Option<&mut [f32]>,
) {
    optimizer.visit(ApplyUpdate {
        k,
        params,
        grads,
        first,
        second,
    });
}

/// [`apply_update`] compiled per optimiser, so each loop has no branch and vectorises.
struct ApplyUpdate<'a> {
    k: StepScalars,
    params: &'a mut [f32],
    grads: &'a [f32],
    first: Option<&'a mut [f32]>,
    second: Option<&'a mut [f32]>,
}

impl VisitRule for ApplyUpdate<'_> {
    type Output = ();
    fn visit<O: Rule>(self, rule: O) {
        let (k, params, grads) = (self.k, self.params, self.grads);
        match (self.first, self.second) {
            (Some(first), Some(second)) => params
                .par_chunks_mut(UPDATE_CHUNK)
                .zip(grads.par_chunks(UPDATE_CHUNK))
                .zip(first.par_chunks_mut(UPDATE_CHUNK))
                .zip(second.par_chunks_mut(UPDATE_CHUNK))
                .for_each(|(((p, g), m), v)| {
                    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                        rule.update(k, p, g, m, v);
                    }
                }),
            (Some(first), None) => params
                .par_chunks_mut(UPDATE_CHUNK)
                .zip(grads.par_chunks(UPDATE_CHUNK))
                .zip(first.par_chunks_mut(UPDATE_CHUNK))
                .for_each(|((p, g), m)| {
                    let mut unused = 0.0;
                    for ((p, &g), m) in p.iter_mut().zip(g).zip(m) {
                        rule.update(k, p, g, m, &mut unused);
                    }
                }),
            _ => params
                .par_chunks_mut(UPDATE_CHUNK)
                .zip(grads.par_chunks(UPDATE_CHUNK))
                .for_each(|(p, g)| {
                    let (mut m, mut v) = (0.0, 0.0);
                    for (p, &g) in p.iter_mut().zip(g) {
                        rule.update(k, p, g, &mut m, &mut v);
                    }
                }),
        }
    }
}

/// The first layer's step ([`InputLayer::step`]) compiled per optimiser.
struct InputStep<'a> {
    input: &'a mut InputLayer,
    columns: &'a BatchColumns,
    delta: &'a [f32],
    ahead: Ahead<'a>,
    k: StepScalars,
}

impl VisitRule for InputStep<'_> {
    type Output = ();
    fn visit<O: Rule>(self, rule: O) {
        let k = self.k;
        (self.input).step(self.columns, self.delta, self.ahead, move |w, g, m, v| {
            rule.update(k, w, g, m, v)
        });
    }
}

/// Classifies a held-out set (a validation split) with any network, on the CPU: the images are
/// converted once, each evaluation is one forward pass per chunk.
pub struct Evaluator {
    images: Images,
    activations: Vec<Vec<f32>>,
    chunk: Vec<u32>,
}

impl Evaluator {
    pub fn new(set: &Dataset, net: &Network) -> Self {
        let rows = EVAL_CHUNK.min(set.len().max(1));
        Evaluator {
            images: Images::new(set),
            activations: activation_buffers(net, rows),
            chunk: Vec::with_capacity(rows),
        }
    }
}

impl Validation for Evaluator {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn correct(&mut self, net: &Network) -> usize {
        let input = InputLayer::new(&net.layers[0], &[], &[]);
        let labels = &self.images.labels;
        let classes = net.outputs();
        let mut correct = 0;
        forward_all(
            net,
            &input,
            &mut self.activations,
            &mut self.chunk,
            &self.images.lit,
            |first, rows, outputs| {
                correct += outputs
                    .chunks(classes)
                    .zip(&labels[first..first + rows])
                    .filter(|(o, l)| argmax(o) == **l)
                    .count();
            },
        );
        correct
    }
}

/// The CPU's forward-only engine ([`Inference`]): the network's first layer in the lit-pixel
/// tiles of training, the layers above through `gemm`, [`EVAL_CHUNK`] images at a time.
pub struct CpuInference {
    net: Network,
    input: InputLayer,
    activations: Vec<Vec<f32>>,
    chunk: Vec<u32>,
}

impl CpuInference {
    pub fn new(net: Network) -> Self {
        let input = InputLayer::new(&net.layers[0], &[], &[]);
        let activations = activation_buffers(&net, EVAL_CHUNK);
        CpuInference {
            net,
            input,
            activations,
            chunk: Vec::with_capacity(EVAL_CHUNK),
        }
    }
}

impl Inference for CpuInference {
    fn describe(&self) -> String {
        format!(
            "cpu: {} threads, f32, forward only",
            rayon::current_num_threads()
        )
    }

    fn classes(&self) -> usize {
        self.net.outputs()
    }

    fn outputs(&mut self, images: Pixels<'_>) -> Result<Vec<f32>> {
        let width = self.net.inputs();
        let count = images.images(width)?;
        let lit = match images {
            Pixels::Bytes(bytes) => LitPixels::from_bytes(bytes, width),
            Pixels::Values(values) => LitPixels::from_values(values, width),
        };
        let mut outputs = Vec::with_capacity(count * self.net.outputs());
        forward_all(
            &self.net,
            &self.input,
            &mut self.activations,
            &mut self.chunk,
            &lit,
            |_, _, o| outputs.extend_from_slice(o),
        );
        Ok(outputs)
    }
}

impl Engine for CpuEngine {
    fn describe(&self) -> String {
        format!(
            "cpu: {} threads, f32, first layer in lit-pixel tiles, gemm SIMD kernels above",
            rayon::current_num_threads()
        )
    }

    fn train_round(&mut self, order: Option<&[u32]>) -> Result<f64> {
        // The round runs on a pool thread: its many small parallel passes then split by work
        // stealing instead of each being injected into the pool from outside while this
        // thread sleeps (which `perf` showed as ~15% of a batch-128 round in the scheduler).
        float_mode::flushing_denormals(|| hot_pool::run_hot(|| self.round(order)))
    }

    fn correct(&mut self, split: Split) -> Result<usize> {
        let predictions = self.predictions(split)?;
        let labels = &self.images(split).labels;
        Ok(predictions
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count())
    }

    fn predictions(&mut self, split: Split) -> Result<Vec<u8>> {
        let classes = self.net.outputs();
        let mut predicted = Vec::with_capacity(self.images(split).len());
        self.for_each_output(split, |_, _, outputs| {
            predicted.extend(outputs.chunks(classes).map(argmax));
        });
        Ok(predicted)
    }

    fn outputs(&mut self, split: Split, index: usize) -> Result<Vec<f32>> {
        let images = match split {
            Split::Train => &self.train.lit,
            Split::Test => &self.test.lit,
        };
        if index >= images.len() {
            return Err(Error::Config(format!(
                "image {index} is out of range: the split has {} images",
                images.len()
            )));
        }
        let one = [index as u32];
        Self::forward(
            &self.net,
            &self.input,
            &mut self.activations,
            None,
            ForwardRows::all(images, &one, 0..self.net.layers.len()),
        );
        let classes = self.net.outputs();
        Ok(self.activations[self.net.layers.len() - 1][..classes].to_vec())
    }

    fn network(&mut self) -> Result<Network> {
        let mut net = self.net.clone();
        net.layers[0].weights = self.input.weights();
        Ok(net)
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        let mut state = self.state.clone();
        let (first, second) = self.input.moments();
        if let Some(slot) = state.first.first_mut() {
            *slot = first;
        }
        if let Some(slot) = state.second.first_mut() {
            *slot = second;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::GroupedBuffers;

    #[test]
    fn a_batch_groups_by_label_keeping_row_order_within_a_label() {
        let mut buffers = GroupedBuffers {
            order: Vec::new(),
            images: Vec::new(),
            sums: Vec::new(),
        };
        let labels = [3, 1, 3, 0, 1, 9];
        let images = [40, 41, 42, 43, 44, 45];
        let grouped = buffers.group(&labels, &images);
        assert_eq!(grouped.order, [3, 1, 4, 0, 2, 5]);
        assert_eq!(grouped.images, [43, 41, 44, 40, 42, 45]);
    }
}
