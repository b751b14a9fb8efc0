//! The network: fully connected layers, `784 → hidden… → 10`, and its seeded init.
//!
//! Conventions shared by every engine (CPU, GPU, reference):
//! * a layer's weights are row-major `[outputs][inputs]`, so `z = W·a + b` for one image;
//! * the input is `pixel / 255`;
//! * hidden layers apply the network's [`Activation`]; the output layer and the cost are its
//!   [`Loss`]: sigmoid outputs with the quadratic cost `C = 1/(2B) · Σ (a_L − y)²` (the
//!   tutorial's), or softmax outputs with cross-entropy, over one-hot targets `y`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ops::{Activation, Init, Loss, Preprocess};
use crate::{Error, Result};

/// Inputs of the network: one 28×28 image.
pub const INPUTS: usize = 28 * 28;
/// Outputs of the network: one per digit.
pub const CLASSES: usize = 10;
/// With `--init uniform`, weights and biases start uniform in `[-INIT_HALF_WIDTH,
/// INIT_HALF_WIDTH)`, as in the tutorial.
pub const INIT_HALF_WIDTH: f32 = crate::ops::init::UNIFORM_HALF_WIDTH;

/// One fully connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    /// Row-major `[outputs][inputs]`.
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
}

/// What a network computes besides its weights: the preprocessing of its input images, the
/// hidden activation and the output/cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Architecture {
    pub activation: Activation,
    pub loss: Loss,
    pub preprocess: Preprocess,
}

/// A stack of fully connected layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub layers: Vec<Layer>,
    pub activation: Activation,
    pub loss: Loss,
    /// What every image goes through before the first layer (engines and [`Network::forward`]
    /// take images already preprocessed: see [`Network::prepare`]).
    pub preprocess: Preprocess,
}

impl Network {
    /// The tutorial's network `INPUTS → hidden… → CLASSES`: sigmoid layers, quadratic cost,
    /// seeded uniform init.
    pub fn new(hidden: &[usize], seed: u64) -> Result<Self> {
        let mut sizes = vec![INPUTS];
        sizes.extend_from_slice(hidden);
        sizes.push(CLASSES);
        Self::with_sizes(&sizes, seed)
    }

    /// The tutorial's network with the given layer sizes (inputs first).
    pub fn with_sizes(sizes: &[usize], seed: u64) -> Result<Self> {
        Self::build(sizes, Architecture::default(), Init::Uniform, seed)
    }

    /// A network with the given layer sizes (inputs first), architecture and seeded init.
    ///
    /// The same seed gives bit-identical weights on every machine: ChaCha8 is a portable
    /// generator and `Cargo.lock` pins the sampling code. `Init::Uniform` draws exactly the
    /// tutorial's stream (each layer's weights, then its biases).
    pub fn build(sizes: &[usize], arch: Architecture, init: Init, seed: u64) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::Config(
                "a network needs at least an input and an output layer".into(),
            ));
        }
        if let Some(&zero) = sizes.iter().find(|&&s| s == 0) {
            return Err(Error::Config(format!(
                "layer sizes must be positive, got {zero} in {sizes:?}"
            )));
        }
        let shape: Vec<String> = sizes.iter().map(usize::to_string).collect();
        crate::memory::check(
            &format!("a {} network", shape.join("-")),
            4 * crate::memory::parameters(sizes),
        )?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Where the memory check has no figure (no /proc/meminfo), a failed allocation is still
        // an error rather than an abort.
        let mut uniform = |n: usize, half_width: f32| -> Result<Vec<f32>> {
            let mut values = Vec::new();
            values.try_reserve_exact(n).map_err(|_| {
                Error::TooLarge(format!(
                    "cannot allocate {} for a layer's {n} values",
                    crate::memory::human(4 * n as u128)
                ))
            })?;
            values.extend((0..n).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * half_width));
            Ok(values)
        };
        let layers = sizes
            .windows(2)
            .map(|pair| {
                let (inputs, outputs) = (pair[0], pair[1]);
                let count = inputs.checked_mul(outputs).ok_or_else(|| {
                    Error::TooLarge(format!("a {inputs}×{outputs} layer cannot be addressed"))
                })?;
                let weights = uniform(count, init.weight_half_width(inputs, outputs))?;
                let biases = if init.random_biases() {
                    uniform(outputs, INIT_HALF_WIDTH)?
                } else {
                    vec![0.0; outputs]
                };
                Ok(Layer {
                    inputs,
                    outputs,
                    weights,
                    biases,
                })
            })
            .collect::<Result<Vec<Layer>>>()?;
        Ok(Network::from_layers(layers, arch))
    }

    /// `layers` computing as `arch` says.
    pub fn from_layers(layers: Vec<Layer>, arch: Architecture) -> Network {
        Network {
            layers,
            activation: arch.activation,
            loss: arch.loss,
            preprocess: arch.preprocess,
        }
    }

    pub fn architecture(&self) -> Architecture {
        Architecture {
            activation: self.activation,
            loss: self.loss,
            preprocess: self.preprocess,
        }
    }

    /// `sigmoid layers, quadratic cost` / `relu layers, softmax outputs, cross-entropy`, after
    /// `deskewed inputs, ` when the images are preprocessed.
    pub fn describe(&self) -> String {
        let preprocess = self
            .preprocess
            .describe()
            .map(|what| format!("{what}, "))
            .unwrap_or_default();
        format!(
            "{preprocess}{} layers, {}",
            self.activation.name(),
            self.loss.describe()
        )
    }

    /// One `rows × cols` image given as `pixel / 255` values, as the first layer sees it
    /// (after [`Network::preprocess`]): what [`Network::forward`] takes.
    pub fn prepare(&self, image: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        self.preprocess.apply(image, rows, cols)
    }

    /// Layer sizes, inputs first: `[784, 128, 10]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.layers[0].inputs];
        sizes.extend(self.layers.iter().map(|l| l.outputs));
        sizes
    }

    /// `784-128-10`.
    pub fn shape_name(&self) -> String {
        let sizes: Vec<String> = self.sizes().iter().map(|s| s.to_string()).collect();
        sizes.join("-")
    }

    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// Multiply-adds of one forward pass of one image.
    pub fn macs_per_image(&self) -> usize {
        self.layers.iter().map(|l| l.inputs * l.outputs).sum()
    }

    /// FLOPs of one training round over `images` images: forward (2·MACs), the weight
    /// gradients (2·MACs) and the back-propagated errors (2·MACs for every layer but the first).
    pub fn flops_per_round(&self, images: usize) -> f64 {
        let first = self.layers[0].inputs * self.layers[0].outputs;
        let macs = self.macs_per_image();
        images as f64 * 2.0 * (3 * macs - first) as f64
    }

    /// The output vector for one prepared image ([`Network::prepare`]) (plain loops): sigmoid
    /// outputs for `mse` networks, softmax probabilities for `xent` ones.
    pub fn forward(&self, input: &[f32]) -> Vec<f32> {
        self.forward_layers(input).pop().unwrap_or_default()
    }

    /// Every layer's output for one image: the hidden layers' activations (what the page and
    /// `predict --show-activations` draw), then the output vector as [`Network::forward`]
    /// gives it.
    pub fn forward_layers(&self, input: &[f32]) -> Vec<Vec<f32>> {
        let last = self.layers.len() - 1;
        let mut outputs: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let activation = outputs.last().map_or(input, Vec::as_slice);
            let next = (0..layer.outputs)
                .map(|o| {
                    let row = &layer.weights[o * layer.inputs..(o + 1) * layer.inputs];
                    let z: f32 = row.iter().zip(activation).map(|(w, a)| w * a).sum();
                    let z = z + layer.biases[o];
                    if l == last {
                        z
                    } else {
                        self.activation.apply(z)
                    }
                })
                .collect();
            outputs.push(next);
        }
        if let Some(out) = outputs.last_mut() {
            self.loss.outputs_exact(out);
        }
        outputs
    }
}

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Parses `--hidden 128` or `--hidden 16,16`.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>> {
    let sizes: std::result::Result<Vec<usize>, _> = text
        .split(',')
        .map(|part| part.trim().parse::<usize>())
        .collect();
    match sizes {
        Ok(sizes) if sizes.iter().all(|&s| s > 0) => Ok(sizes),
        _ => Err(Error::Config(format!(
            "--hidden expects positive layer sizes separated by commas (e.g. 128 or 16,16), got '{text}'"
        ))),
    }
}

/// Refuses outputs that are not all finite numbers: a network whose weights are so large that
/// its sums overflow has no largest output to read a class from (argmax would say 0).
pub fn check_outputs(outputs: &[f32]) -> Result<()> {
    if outputs.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    Err(Error::Overflow(
        "the model's outputs overflow (they are not finite numbers): its weights are too large \
         for 32-bit floats; retrain it with a smaller --lr"
            .into(),
    ))
}

/// The index of the largest output (the first one on ties), as a class label.
pub fn argmax(outputs: &[f32]) -> u8 {
    let mut best = 0;
    for (i, &v) in outputs.iter().enumerate() {
        if v > outputs[best] {
            best = i;
        }
    }
    best as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = Network::new(&[16, 16], 7).expect("net");
        let b = Network::new(&[16, 16], 7).expect("net");
        let c = Network::new(&[16, 16], 8).expect("net");
        assert_eq!(a, b);
        assert_ne!(a.layers[0].weights, c.layers[0].weights);
        assert_eq!(a.sizes(), vec![784, 16, 16, 10]);
    }

    #[test]
    fn init_is_uniform_in_range() {
        let net = Network::new(&[128], 1).expect("net");
        let w = &net.layers[0].weights;
        assert!(w.iter().all(|x| (-0.5..0.5).contains(x)));
        let mean = w.iter().map(|&x| x as f64).sum::<f64>() / w.len() as f64;
        let var = w.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / w.len() as f64;
        // uniform(-0.5, 0.5): mean 0, variance 1/12; 100k samples put both well inside these.
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.005, "variance {var}");
    }

    #[test]
    fn hidden_parsing() {
        assert_eq!(parse_hidden("128").expect("ok"), vec![128]);
        assert_eq!(parse_hidden("16,16").expect("ok"), vec![16, 16]);
        assert!(parse_hidden("0").is_err());
        assert!(parse_hidden("a,3").is_err());
        assert!(parse_hidden("").is_err());
    }

    #[test]
    fn flops_of_the_tutorial_round() {
        let net = Network::new(&[128], 0).expect("net");
        // 60000 · 2 · (3·(784·128 + 128·10) − 784·128) = 24.545 GFLOP: the products only
        // (the lavapipe notes' 24.63 also counts element-wise work).
        let gflop = net.flops_per_round(60_000) / 1e9;
        assert!((gflop - 24.545).abs() < 0.001, "{gflop}");
    }
}
