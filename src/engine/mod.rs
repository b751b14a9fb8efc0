//! Engines: one per kind of device. A training [`Engine`] trains a [`Network`] the same way on
//! each; an [`Inference`] engine only runs one forward.
//!
//! A training engine owns the network's parameters and both data splits for its whole life (on
//! the GPU they are resident in device buffers), so a round only says which images to visit.
//! An inference engine owns only the network: images come with each call, and it needs no data
//! set, no optimiser and no learning rate (eval, predict, serve).

#[cfg(feature = "native")]
pub mod cpu;
#[cfg(feature = "native")]
pub mod gemm;
pub mod gpu;

use crate::data::Mnist;
use crate::data::Split;
use crate::model::Network;
use crate::ops::Dropout;
use crate::ops::augment::{InputNoise, NoiseParams};
use crate::optim::{LrPlan, Optimizer, OptimizerState};
use crate::{Error, Result};

/// The optimiser settings a round needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper {
    /// Images per gradient step; the last batch of a round may be smaller.
    pub batch_size: usize,
    /// Gradient-descent step size.
    pub learning_rate: f32,
}

/// Everything about how a run trains besides the network: the optimiser and its state's
/// starting point, the learning-rate plan, dropout, and where the run is (for the schedule and
/// the dropout masks, which depend on the round and batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub hyper: Hyper,
    pub optimizer: Optimizer,
    pub lr: LrPlan,
    pub dropout: Dropout,
    /// The bound on each unit's incoming weights' L2 norm after every step (0: none).
    pub max_norm: f32,
    /// What the training images go through before the first layer: distortions and input
    /// dropout.
    pub noise: InputNoise,
    /// Seed of the dropout masks (the run's seed).
    pub seed: u64,
    /// The round the engine's first `train_round` runs (1, or later when resuming).
    pub first_round: usize,
}

impl Recipe {
    /// The tutorial's training: plain gradient descent at a constant rate, no dropout.
    pub fn sgd(hyper: Hyper) -> Self {
        Recipe {
            hyper,
            optimizer: Optimizer::default(),
            lr: LrPlan::constant(hyper.learning_rate),
            dropout: Dropout::default(),
            max_norm: 0.0,
            noise: InputNoise::default(),
            seed: 0,
            first_round: 1,
        }
    }

    /// Whether this is the tutorial's plain SGD at a constant rate without dropout (what every
    /// engine runs).
    pub fn is_plain_sgd(&self) -> bool {
        self.optimizer.is_sgd()
            && self.lr.schedule == crate::optim::LrSchedule::Constant
            && self.lr.warmup <= 0.0
            && self.lr.base == self.hyper.learning_rate
            && !self.dropout.is_active()
            && self.max_norm == 0.0
            && !self.noise.is_active()
    }
}

/// A training backend. The training loop ([`crate::train`]) drives it; it never prints.
pub trait Engine {
    /// What runs the maths, for the first printed line (e.g. `cpu: 2 threads, f32`).
    fn describe(&self) -> String;

    /// One round: consecutive batches of `batch_size` images over the training split, visited
    /// in `order` (a permutation of the image indices) or in storage order when `None`.
    /// Each batch does one gradient-descent step. Returns the mean of the batches' costs.
    fn train_round(&mut self, order: Option<&[u32]>) -> Result<f64>;

    /// How many images of `split` the network classifies correctly (argmax of the outputs).
    fn correct(&mut self, split: Split) -> Result<usize>;

    /// The predicted class of every image of `split`.
    fn predictions(&mut self, split: Split) -> Result<Vec<u8>>;

    /// The output vector of image `index` of `split`.
    fn outputs(&mut self, split: Split, index: usize) -> Result<Vec<f32>>;

    /// A copy of the current parameters.
    fn network(&mut self) -> Result<Network>;

    /// A copy of the optimiser's state (moments, step count), to save beside the network.
    /// Engines that run only plain SGD have none.
    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        Ok(OptimizerState::default())
    }
}

/// Images handed to an [`Inference`] engine, `inputs` values per image, concatenated: a data
/// set's grey levels, or values in `[0, 1]` (a decoded or drawn picture; engines that hold
/// images as bytes, the GPU, round them to MNIST's 256 grey levels first).
#[derive(Clone, Copy, Debug)]
pub enum Pixels<'a> {
    Bytes(&'a [u8]),
    Values(&'a [f32]),
}

impl Pixels<'_> {
    /// How many whole images of `width` pixels these are, or an error if they are not whole.
    pub fn images(&self, width: usize) -> Result<usize> {
        let len = match self {
            Pixels::Bytes(b) => b.len(),
            Pixels::Values(v) => v.len(),
        };
        if width == 0 || !len.is_multiple_of(width) {
            return Err(crate::Error::Config(format!(
                "{len} values are not whole images of {width} pixels"
            )));
        }
        Ok(len / width)
    }
}

/// A forward-only engine: a network's outputs for the images of each call.
pub trait Inference {
    /// What runs the maths, for the first printed line.
    fn describe(&self) -> String;

    /// The output vectors of `images` (one per image, concatenated).
    fn outputs(&mut self, images: Pixels<'_>) -> Result<Vec<f32>>;

    /// The predicted class of each image (argmax of its outputs).
    fn predictions(&mut self, images: Pixels<'_>) -> Result<Vec<u8>> {
        let outputs = self.outputs(images)?;
        crate::model::check_outputs(&outputs)?;
        let classes = self.classes();
        Ok(outputs
            .chunks(classes.max(1))
            .map(crate::model::argmax)
            .collect())
    }

    /// The length of an output vector.
    fn classes(&self) -> usize;
}

/// A held-out set (a validation split) that any network can be scored on, whatever engine
/// trains it: the training loop hands it the engine's current network.
pub trait Validation {
    /// Images in the set.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the set's images `net` classifies correctly.
    fn correct(&mut self, net: &Network) -> usize;
}

/// The batches of a round: `(first, len)` pairs covering `images` images.
pub fn batches(images: usize, batch_size: usize) -> impl Iterator<Item = (usize, usize)> {
    let batch_size = batch_size.max(1);
    (0..images)
        .step_by(batch_size)
        .map(move |first| (first, batch_size.min(images - first)))
}

/// Element counts of a network's parameter tensors: weights 0, biases 0, weights 1, ...
pub fn tensor_lens(net: &Network) -> Vec<usize> {
    net.layers
        .iter()
        .flat_map(|l| [l.weights.len(), l.biases.len()])
        .collect()
}

/// Checks what every engine needs of its settings and data.
/// The kernel-level input noise of `recipe` for `net`'s images; distortions need square
/// images.
pub fn noise_params(net: &Network, recipe: &Recipe) -> Result<NoiseParams> {
    let side = crate::ops::augment::square_side(net.inputs());
    match side {
        Some(side) => Ok(recipe.noise.params(side)),
        None if !recipe.noise.augment.is_active() => Ok(recipe.noise.params(0)),
        None => Err(Error::Config(format!(
            "--augment needs square images, and {} pixels are not a square",
            net.inputs()
        ))),
    }
}

pub fn validate(net: &Network, data: &Mnist, hyper: Hyper) -> Result<()> {
    if hyper.batch_size == 0 {
        return Err(Error::Config("--batch-size must be at least 1".into()));
    }
    if !(hyper.learning_rate.is_finite() && hyper.learning_rate > 0.0) {
        return Err(Error::Config(format!(
            "--lr must be a positive number, got {}",
            hyper.learning_rate
        )));
    }
    if net.layers.len() > 16 {
        return Err(Error::Config(format!(
            "at most 15 hidden layers are supported, got {}",
            net.layers.len() - 1
        )));
    }
    if net.inputs() != data.train.pixels() {
        return Err(Error::Config(format!(
            "the network takes {} inputs but the images have {} pixels",
            net.inputs(),
            data.train.pixels()
        )));
    }
    if data.train.is_empty() {
        return Err(Error::Config("the training split has no images".into()));
    }
    Ok(())
}

/// Checks that `order` is a permutation-sized index list within range.
pub fn check_order(order: &[u32], images: usize) -> Result<()> {
    if order.len() != images || order.iter().any(|&i| i as usize >= images) {
        return Err(Error::Config(format!(
            "a round's order must list {images} image indices below {images}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_everything_once() {
        let b: Vec<_> = batches(10, 4).collect();
        assert_eq!(b, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(batches(60_000, 60_000).count(), 1);
        assert_eq!(batches(0, 5).count(), 0);
    }
}
