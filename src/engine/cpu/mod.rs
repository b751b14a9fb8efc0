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
//!
//! [`Activation`]: crate::ops::Activation
//! [`Optimizer::update`]: crate::optim::Optimizer::update

mod aligned;
mod float_mode;
mod hot_pool;
mod inference;
mod input_layer;
mod step;

pub use self::inference::{CpuInference, Evaluator};

use std::ops::Range;

use rayon::prelude::*;

use self::aligned::AlignedVec;
use self::input_layer::{BatchColumns, DELTA_SLACK, InputLayer, LitPixels};
use super::gemm::{Mat, MatRef, gemm};
use super::{Engine, Hyper, Recipe, batches, check_order, noise_params, tensor_lens, validate};
use crate::data::{Dataset, Mnist, Split};
use crate::model::{Network, argmax};
use crate::ops::activation::{ActivationOp, Fast, Saved, Visit, fast_sigmoid};
use crate::ops::augment::{InputNoise, NoiseParams};
use crate::ops::{Dropout, Loss};
use crate::optim::OptimizerState;
use crate::{Error, Result};

/// Images per forward chunk when evaluating a whole split.
const EVAL_CHUNK: usize = 2000;
/// Rows per rayon task in element-wise passes: enough work to amortise the task.
const ROWS_PER_TASK: usize = 64;

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
