//! The plain, obviously-correct reference: f64 loops, no tricks, one image at a time.
//! The tests trust it; every engine is checked against it.

use crate::model::Network;

/// A network's parameters in f64.
#[derive(Clone, Debug)]
pub struct RefNetwork {
    /// Per layer: `weights[o][i]`.
    pub weights: Vec<Vec<Vec<f64>>>,
    pub biases: Vec<Vec<f64>>,
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

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
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
        RefNetwork { weights, biases }
    }

    /// Every layer's activations for one input, the input first.
    pub fn activations(&self, input: &[f64]) -> Vec<Vec<f64>> {
        let mut all = vec![input.to_vec()];
        for (w, b) in self.weights.iter().zip(&self.biases) {
            let a = &all[all.len() - 1];
            let next = w
                .iter()
                .zip(b)
                .map(|(row, bias)| {
                    let mut z = *bias;
                    for (wi, ai) in row.iter().zip(a) {
                        z += wi * ai;
                    }
                    sigmoid(z)
                })
                .collect();
            all.push(next);
        }
        all
    }

    /// The output vector for one input.
    pub fn forward(&self, input: &[f64]) -> Vec<f64> {
        self.activations(input).pop().unwrap_or_default()
    }

    /// The quadratic cost `1/(2B) Σ_b Σ_j (a_j − y_j)²` of a batch.
    pub fn cost(&self, inputs: &[Vec<f64>], labels: &[u8]) -> f64 {
        let mut sum = 0.0;
        for (x, &label) in inputs.iter().zip(labels) {
            for (j, a) in self.forward(x).iter().enumerate() {
                let y = if j == label as usize { 1.0 } else { 0.0 };
                sum += (a - y) * (a - y);
            }
        }
        sum / (2.0 * inputs.len() as f64)
    }

    /// Backpropagation over a batch, image by image, gradients averaged as the cost is.
    pub fn gradients(&self, inputs: &[Vec<f64>], labels: &[u8]) -> Gradients {
        let batch = inputs.len() as f64;
        let mut gw: Vec<Vec<Vec<f64>>> = self
            .weights
            .iter()
            .map(|w| w.iter().map(|row| vec![0.0; row.len()]).collect())
            .collect();
        let mut gb: Vec<Vec<f64>> = self.biases.iter().map(|b| vec![0.0; b.len()]).collect();
        let mut cost = 0.0;
        for (x, &label) in inputs.iter().zip(labels) {
            let acts = self.activations(x);
            let out = &acts[acts.len() - 1];
            // δ of the output layer: dC/dz = (a − y)/B · σ'(z), σ'(z) = a(1 − a).
            let mut delta: Vec<f64> = out
                .iter()
                .enumerate()
                .map(|(j, &a)| {
                    let y = if j == label as usize { 1.0 } else { 0.0 };
                    cost += (a - y) * (a - y);
                    (a - y) / batch * a * (1.0 - a)
                })
                .collect();
            for l in (0..self.weights.len()).rev() {
                let a_in = &acts[l];
                for (o, d) in delta.iter().enumerate() {
                    gb[l][o] += d;
                    for (i, a) in a_in.iter().enumerate() {
                        gw[l][o][i] += d * a;
                    }
                }
                if l > 0 {
                    delta = (0..a_in.len())
                        .map(|i| {
                            let mut sum = 0.0;
                            for (o, d) in delta.iter().enumerate() {
                                sum += self.weights[l][o][i] * d;
                            }
                            sum * a_in[i] * (1.0 - a_in[i])
                        })
                        .collect();
                }
            }
        }
        Gradients {
            cost: cost / (2.0 * batch),
            weights: gw,
            biases: gb,
        }
    }

    /// One gradient-descent step; returns the batch's cost before the step.
    pub fn step(&mut self, inputs: &[Vec<f64>], labels: &[u8], learning_rate: f64) -> f64 {
        let g = self.gradients(inputs, labels);
        for (w, gw) in self.weights.iter_mut().zip(&g.weights) {
            for (row, grow) in w.iter_mut().zip(gw) {
                for (x, gx) in row.iter_mut().zip(grow) {
                    *x -= learning_rate * gx;
                }
            }
        }
        for (b, gb) in self.biases.iter_mut().zip(&g.biases) {
            for (x, gx) in b.iter_mut().zip(gb) {
                *x -= learning_rate * gx;
            }
        }
        g.cost
    }
}

/// `pixel / 255` in f64.
pub fn input_of(pixels: &[u8]) -> Vec<f64> {
    pixels.iter().map(|&p| f64::from(p) / 255.0).collect()
}
