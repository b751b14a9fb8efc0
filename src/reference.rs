//! The plain, obviously-correct reference: f64 loops, no tricks, one image at a time.
//! The tests trust it; every engine is checked against it. It uses the same described-once
//! operations as the engines ([`Activation`], [`Loss`], [`Dropout`]'s masks, [`Optimizer`]'s
//! rule), in their f64 forms.

use crate::model::Network;
use crate::ops::{Activation, Dropout, Loss};
use crate::optim::Optimizer;

/// A network's parameters in f64.
#[derive(Clone, Debug)]
pub struct RefNetwork {
    /// Per layer: `weights[o][i]`.
    pub weights: Vec<Vec<Vec<f64>>>,
    pub biases: Vec<Vec<f64>>,
    pub activation: Activation,
    pub loss: Loss,
}

/// What one batch's backpropagation gives.
#[derive(Clone, Debug)]
pub struct Gradients {
    pub cost: f64,
    /// `dC/dW[l][o][i]`.
    pub weights: Vec<Vec<Vec<f64>>>,
    /// `dC/db[l][o]`.
    pub biases: Vec<Vec<f64>>,
}

/// The dropout masks of one batch: which batch of which round, under which seed.
#[derive(Clone, Copy, Debug)]
pub struct BatchMasks {
    pub dropout: Dropout,
    pub seed: u64,
    pub round: usize,
    pub batch: usize,
}

impl BatchMasks {
    /// The multiplier of unit `unit` of hidden layer `layer` for image `row` of the batch,
    /// `width` units wide.
    fn mask(&self, layer: usize, row: usize, width: usize, unit: usize) -> f64 {
        let d = self.dropout;
        let key = Dropout::batch_key(self.seed, self.round, self.batch, layer);
        let element = (row * width + unit) as u32;
        f64::from(Dropout::mask(key, element, d.threshold(), d.keep_scale()))
    }
}

/// An optimiser's state in f64: per parameter, first and second moments.
#[derive(Clone, Debug, Default)]
pub struct RefOptimizer {
    pub steps: u64,
    pub first_w: Vec<Vec<Vec<f64>>>,
    pub second_w: Vec<Vec<Vec<f64>>>,
    pub first_b: Vec<Vec<f64>>,
    pub second_b: Vec<Vec<f64>>,
}

impl RefNetwork {
    pub fn from_network(net: &Network) -> Self {
        let weights = net
            .layers
            .iter()
            .map(|l| {
                (0..l.outputs)
                    .map(|o| {
                        (0..l.inputs)
                            .map(|i| f64::from(l.weights[o * l.inputs + i]))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let biases = net
            .layers
            .iter()
            .map(|l| l.biases.iter().map(|&b| f64::from(b)).collect())
            .collect();
        RefNetwork {
            weights,
            biases,
            activation: net.activation,
            loss: net.loss,
        }
    }

    /// Every layer's activations for one input, the input first; hidden layers multiplied by
    /// their dropout masks when `masks` is given (image `row` of the batch).
    fn activations_masked(
        &self,
        input: &[f64],
        masks: Option<(&BatchMasks, usize)>,
    ) -> Vec<Vec<f64>> {
        self.forward_masked(input, masks).0
    }

    /// Every layer's activations (the input first) and every layer's pre-activations `z`.
    fn forward_masked(
        &self,
        input: &[f64],
        masks: Option<(&BatchMasks, usize)>,
    ) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut all = vec![input.to_vec()];
        let mut zs = Vec::with_capacity(self.weights.len());
        let last = self.weights.len() - 1;
        for (l, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let a = &all[all.len() - 1];
            let z: Vec<f64> = w
                .iter()
                .zip(b)
                .map(|(row, bias)| {
                    let mut z = *bias;
                    for (wi, ai) in row.iter().zip(a) {
                        z += wi * ai;
                    }
                    z
                })
                .collect();
            let next = if l == last {
                self.loss.outputs_f64(&z)
            } else {
                let width = z.len();
                z.iter()
                    .enumerate()
                    .map(|(u, &z)| {
                        let a = self.activation.f64(z);
                        match masks {
                            Some((m, row)) => a * m.mask(l, row, width, u),
                            None => a,
                        }
                    })
                    .collect()
            };
            all.push(next);
            zs.push(z);
        }
        (all, zs)
    }

    /// Every layer's activations for one input, the input first.
    pub fn activations(&self, input: &[f64]) -> Vec<Vec<f64>> {
        self.activations_masked(input, None)
    }

    /// The output vector for one input.
    pub fn forward(&self, input: &[f64]) -> Vec<f64> {
        self.activations(input).pop().unwrap_or_default()
    }

    /// The cost of a batch (quadratic or cross-entropy, averaged over the batch).
    pub fn cost(&self, inputs: &[Vec<f64>], labels: &[u8]) -> f64 {
        self.cost_masked(inputs, labels, None)
    }

    /// The cost of a batch under the given dropout masks.
    pub fn cost_masked(
        &self,
        inputs: &[Vec<f64>],
        labels: &[u8],
        masks: Option<&BatchMasks>,
    ) -> f64 {
        let batch = inputs.len() as f64;
        let mut sum = 0.0;
        for (row, (x, &label)) in inputs.iter().zip(labels).enumerate() {
            let acts = self.activations_masked(x, masks.map(|m| (m, row)));
            sum += self.loss.error_f64(&acts[acts.len() - 1], label, batch).0;
        }
        sum / batch
    }

    /// Backpropagation over a batch, image by image, gradients averaged as the cost is.
    pub fn gradients(&self, inputs: &[Vec<f64>], labels: &[u8]) -> Gradients {
        self.gradients_masked(inputs, labels, None)
    }

    /// Backpropagation with the given dropout masks on the hidden layers.
    pub fn gradients_masked(
        &self,
        inputs: &[Vec<f64>],
        labels: &[u8],
        masks: Option<&BatchMasks>,
    ) -> Gradients {
        let batch = inputs.len() as f64;
        let mut gw: Vec<Vec<Vec<f64>>> = self
            .weights
            .iter()
            .map(|w| w.iter().map(|row| vec![0.0; row.len()]).collect())
            .collect();
        let mut gb: Vec<Vec<f64>> = self.biases.iter().map(|b| vec![0.0; b.len()]).collect();
        let mut cost = 0.0;
        for (row, (x, &label)) in inputs.iter().zip(labels).enumerate() {
            let (acts, zs) = self.forward_masked(x, masks.map(|m| (m, row)));
            let (image_cost, mut delta) = self.loss.error_f64(&acts[acts.len() - 1], label, batch);
            cost += image_cost;
            for l in (0..self.weights.len()).rev() {
                let a_in = &acts[l];
                for (o, d) in delta.iter().enumerate() {
                    gb[l][o] += d;
                    for (i, a) in a_in.iter().enumerate() {
                        gw[l][o][i] += d * a;
                    }
                }
                if l > 0 {
                    let width = a_in.len();
                    delta = (0..width)
                        .map(|i| {
                            let mut sum = 0.0;
                            for (o, d) in delta.iter().enumerate() {
                                sum += self.weights[l][o][i] * d;
                            }
                            let mask = masks.map_or(1.0, |m| m.mask(l - 1, row, width, i));
                            sum * self.activation.derivative_at_f64(zs[l - 1][i]) * mask
                        })
                        .collect();
                }
            }
        }
        Gradients {
            cost: cost / batch,
            weights: gw,
            biases: gb,
        }
    }

    /// One gradient-descent step; returns the batch's cost before the step.
    pub fn step(&mut self, inputs: &[Vec<f64>], labels: &[u8], learning_rate: f64) -> f64 {
        let mut state = RefOptimizer::default();
        self.step_with(
            Optimizer::default(),
            &mut state,
            learning_rate,
            inputs,
            labels,
            None,
        )
    }

    /// One step of `optimizer` (state in `state`) at `lr`, under the given dropout masks;
    /// returns the batch's cost before the step.
    pub fn step_with(
        &mut self,
        optimizer: Optimizer,
        state: &mut RefOptimizer,
        lr: f64,
        inputs: &[Vec<f64>],
        labels: &[u8],
        masks: Option<&BatchMasks>,
    ) -> f64 {
        let g = self.gradients_masked(inputs, labels, masks);
        if state.first_w.is_empty() {
            let zeros_w: Vec<Vec<Vec<f64>>> = self
                .weights
                .iter()
                .map(|w| w.iter().map(|r| vec![0.0; r.len()]).collect())
                .collect();
            let zeros_b: Vec<Vec<f64>> = self.biases.iter().map(|b| vec![0.0; b.len()]).collect();
            state.first_w = zeros_w.clone();
            state.second_w = zeros_w;
            state.first_b = zeros_b.clone();
            state.second_b = zeros_b;
        }
        state.steps += 1;
        let k = optimizer.scalars_f64(lr, state.steps);
        for l in 0..self.weights.len() {
            for o in 0..self.weights[l].len() {
                for i in 0..self.weights[l][o].len() {
                    optimizer.update(
                        k,
                        &mut self.weights[l][o][i],
                        g.weights[l][o][i],
                        &mut state.first_w[l][o][i],
                        &mut state.second_w[l][o][i],
                    );
                }
                optimizer.update(
                    k,
                    &mut self.biases[l][o],
                    g.biases[l][o],
                    &mut state.first_b[l][o],
                    &mut state.second_b[l][o],
                );
            }
        }
        g.cost
    }

    /// Max-norm after a step: each unit's incoming weights scaled back onto the L2 ball of
    /// radius `bound` when their norm exceeds it.
    pub fn clip_norms(&mut self, bound: f64) {
        for layer in &mut self.weights {
            for row in layer.iter_mut() {
                let inputs = row.len();
                crate::optim::max_norm::clip_rows(row, inputs, bound);
            }
        }
    }
}

/// `pixel / 255` in f64.
pub fn input_of(pixels: &[u8]) -> Vec<f64> {
    pixels.iter().map(|&p| f64::from(p) / 255.0).collect()
}
