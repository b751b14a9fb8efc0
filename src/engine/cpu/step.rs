//! The training step: a batch forward, its error back through the layers, and each layer's
//! update.

use rayon::prelude::*;

use super::input_layer::{Ahead, BatchColumns, InputLayer, LitPixels};
use super::{CpuEngine, DropoutPass, ForwardRows};
use crate::engine::gemm::{Mat, MatRef, gemm};
use crate::ops::activation::{ActivationOp, Fast, Saved, Visit};
use crate::ops::{Activation, Dropout};
use crate::optim::max_norm::clip_rows;
use crate::optim::{Optimizer, Rule, StepScalars, VisitRule};

/// Parameters per rayon task in the optimiser's element-wise update.
const UPDATE_CHUNK: usize = 16 * 1024;

impl CpuEngine {
    /// One optimiser step on the training images `self.batch_images` (labels
    /// `self.batch_labels`); `batch` is the batch's index in the round, `next` the next batch's
    /// images when the round is shuffled. Returns the batch's cost.
    pub(super) fn step(&mut self, batch: usize, lr: f32, next: &[u32]) -> f64 {
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
