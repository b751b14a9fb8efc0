//! The two uniform blocks every kernel reads, laid out exactly as the WGSL structs `Batch` and
//! `Layer` of `shaders/lib/params.wgsl`, and the split-K policy of the weight gradient.
//!
//! The WGSL is the one source of the layout: build.rs lays the two structs out with naga and
//! generates compile-time checks (`$OUT_DIR/uniforms.rs`, included below) that `BatchParams`
//! and `LayerParams` have exactly their members, by name and type, at the same offsets, and
//! the same size. A member renamed, reordered, resized, added or removed on one side only
//! fails the build.

use bytemuck::{Pod, Zeroable};

use crate::ops::Dropout;
#[cfg(doc)]
use crate::ops::augment::InputNoise;
use crate::ops::augment::NoiseParams;
use crate::optim::{Optimizer, OptimizerSettings, StepScalars};

/// Rows each split of the weight-gradient reduction aims to cover.
pub const ROWS_PER_SPLIT: usize = 512;
/// At most this many splits: bounds the partial-sum buffer (`MAX_SPLITS × outputs × inputs`).
pub const MAX_SPLITS: usize = 32;

/// Which rows a dispatch works on, the step's optimiser scalars and what a training batch's
/// images go through (WGSL `Batch`, 80 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct BatchParams {
    /// Position in the order buffer (training) or image index (evaluation) of row 0.
    pub first: u32,
    pub rows: u32,
    /// Slot of this batch's cost in the cost-per-batch buffer.
    pub index: u32,
    /// Splits of the weight-gradient reduction and rows per split.
    pub splits: u32,
    pub chunk: u32,
    /// `1 / rows`: the cost's mean over the batch.
    pub scale: f32,
    /// The step's learning rate (from the schedule) and Adam's bias corrections
    /// `1/(1 − β₁ᵗ)`, `1/(1 − β₂ᵗ)`: what [`crate::optim::StepScalars`] holds. Written once per
    /// round for the round's batches; read by the optimiser-step kernels only.
    pub lr: f32,
    pub correction1: f32,
    pub correction2: f32,
    /// The round and the run's seed (low and high halves): the dropout masks' counters.
    pub round: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    /// What the first layer multiplies each pixel's `level / 255` by: `1/(1 − rate)` in a
    /// training batch with input dropout, else 1.
    pub input_scale: f32,
    /// The input-dropout threshold (`round(rate·2²⁴)`; 0: none) and the largest distortions
    /// of `shaders/gather_input.wgsl` ([`InputNoise`]), in fixed point
    /// ([`crate::ops::augment::NoiseParams`]); and the images' side.
    pub input_threshold: u32,
    pub shift: u32,
    pub rotate: u32,
    pub zoom: u32,
    pub elastic: u32,
    pub side: u32,
    pub pad: u32,
}

impl BatchParams {
    pub fn new(index: usize, first: usize, rows: usize) -> Self {
        let splits = split_count(rows);
        BatchParams {
            first: first as u32,
            rows: rows as u32,
            index: index as u32,
            splits: splits as u32,
            chunk: rows.div_ceil(splits).max(1) as u32,
            scale: 1.0 / rows.max(1) as f32,
            lr: 0.0,
            correction1: 1.0,
            correction2: 1.0,
            round: 0,
            seed_lo: 0,
            seed_hi: 0,
            input_scale: 1.0,
            input_threshold: 0,
            shift: 0,
            rotate: 0,
            zoom: 0,
            elastic: 0,
            side: 0,
            pad: 0,
        }
    }

    /// The same training batch with its images put through `noise`: `scale` is what the
    /// first layer multiplies pixels by ([`InputNoise::input_scale`]).
    pub fn with_noise(self, noise: NoiseParams, scale: f32) -> Self {
        BatchParams {
            input_scale: scale,
            input_threshold: noise.threshold,
            shift: noise.shift,
            rotate: noise.rotate,
            zoom: noise.zoom,
            elastic: noise.elastic,
            side: noise.side,
            ..self
        }
    }

    /// The input noise of this batch (the twin's view of it).
    pub fn noise(&self) -> NoiseParams {
        NoiseParams {
            shift: self.shift,
            rotate: self.rotate,
            zoom: self.zoom,
            elastic: self.elastic,
            threshold: self.input_threshold,
            side: self.side,
        }
    }

    /// The same batch with the optimiser scalars of its step.
    pub fn with_step(self, k: StepScalars) -> Self {
        BatchParams {
            lr: k.lr,
            correction1: k.correction1,
            correction2: k.correction2,
            ..self
        }
    }

    /// The same batch in round `round` of a run seeded `seed` (its dropout masks).
    pub fn in_round(self, round: usize, seed: u64) -> Self {
        BatchParams {
            round: round as u32,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            ..self
        }
    }

    /// The step's scalars (the CPU twins' view of them).
    pub fn step(&self) -> StepScalars {
        StepScalars {
            lr: self.lr,
            correction1: self.correction1,
            correction2: self.correction2,
        }
    }
}

/// How many splits the weight-gradient reduction over `rows` rows uses.
pub fn split_count(rows: usize) -> usize {
    rows.div_ceil(ROWS_PER_SPLIT).clamp(1, MAX_SPLITS)
}

/// The layer a dispatch works on, the optimiser's constants and the layer's dropout (WGSL
/// `Layer`, 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct LayerParams {
    pub inputs: u32,
    pub outputs: u32,
    /// The constant learning rate of the fused plain-SGD update kernels.
    pub lr: f32,
    /// u32 words per packed image row: `ceil(inputs / 4)`.
    pub words: u32,
    /// The optimiser of the optimiser-step kernels ([`Optimizer::id`], `OPTIMIZER_*` in the
    /// generated library `optimizers`) and its settings.
    pub optimizer: u32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub nesterov: u32,
    /// The layer's index (a dropout-mask counter), its dropout threshold (`round(rate·2²⁴)`)
    /// and what a kept element is multiplied by.
    pub index: u32,
    pub dropout_threshold: u32,
    pub keep_scale: f32,
    /// Rows of the layer's activation buffers: where a kept `z` begins (an activation whose
    /// derivative needs it, shaders/lib/forward.wgsl).
    pub saved_rows: u32,
    pub momentum: f32,
    /// The bound on each unit's incoming weights' L2 norm (`shaders/max_norm.wgsl`; 0: none).
    pub max_norm: f32,
}

impl LayerParams {
    pub fn new(inputs: usize, outputs: usize, lr: f32) -> Self {
        LayerParams {
            inputs: inputs as u32,
            outputs: outputs as u32,
            lr,
            words: words_per_image(inputs) as u32,
            ..LayerParams::default()
        }
    }

    /// The same layer stepped by `optimizer`: its id and every setting (each rule reads its
    /// own).
    pub fn with_optimizer(self, optimizer: Optimizer) -> Self {
        let s = optimizer.settings();
        LayerParams {
            optimizer: optimizer.id(),
            momentum: s.momentum,
            beta1: s.beta1,
            beta2: s.beta2,
            eps: s.eps,
            weight_decay: s.weight_decay,
            nesterov: u32::from(s.nesterov),
            ..self
        }
    }

    /// The same layer as layer `index` of its network, with `dropout` on its outputs.
    pub fn with_dropout(self, index: usize, dropout: Dropout) -> Self {
        LayerParams {
            index: index as u32,
            dropout_threshold: dropout.threshold(),
            keep_scale: dropout.keep_scale(),
            ..self
        }
    }

    /// The same layer with each unit's incoming weights kept within an L2 norm of `max_norm`.
    pub fn with_max_norm(self, max_norm: f32) -> Self {
        LayerParams { max_norm, ..self }
    }

    /// The same layer with activation buffers of `rows` rows.
    pub fn with_saved_rows(self, rows: usize) -> Self {
        LayerParams {
            saved_rows: rows as u32,
            ..self
        }
    }

    /// The optimiser [`LayerParams::with_optimizer`] wrote (the CPU twins run its rule).
    pub fn optimizer(&self) -> Optimizer {
        let settings = OptimizerSettings {
            momentum: self.momentum,
            nesterov: self.nesterov != 0,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        Optimizer::from_id(self.optimizer, &settings).unwrap_or_default()
    }
}

include!(concat!(env!("OUT_DIR"), "/uniforms.rs"));

/// u32 words holding one image of `pixels` u8 pixels, 4 per word.
pub fn words_per_image(pixels: usize) -> usize {
    pixels.div_ceil(4)
}

/// Packs u8 images (`pixels` bytes each) into little-endian u32 words, each image padded with
/// zero pixels to a whole number of words.
pub fn pack_images(images: &[u8], pixels: usize) -> Vec<u32> {
    let words = words_per_image(pixels);
    let count = images.len().checked_div(pixels).unwrap_or(0);
    let mut packed = vec![0u32; count * words];
    for (image, out) in images.chunks(pixels).zip(packed.chunks_mut(words.max(1))) {
        for (bytes, word) in image.chunks(4).zip(out.iter_mut()) {
            let mut le = [0u8; 4];
            le[..bytes.len()].copy_from_slice(bytes);
            *word = u32::from_le_bytes(le);
        }
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_pack_little_endian_with_zero_padding() {
        // Two images of 5 pixels: 2 words each, the second word padded with zeros.
        let packed = pack_images(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5);
        assert_eq!(packed, vec![0x0403_0201, 0x05, 0x0908_0706, 0x0a]);
        let batch = BatchParams::new(0, 0, 1);
        assert_eq!(crate::twin::pixel(&batch, &packed, 2, 4), 10.0 / 255.0);
        // A batch block's noise reads back exactly as it was written.
        let noise = crate::ops::augment::InputNoise {
            augment: crate::ops::augment::Augment::DEFAULT,
            dropout: Dropout::new(0.2).expect("rate"),
        };
        let with = batch.with_noise(noise.params(28), noise.input_scale());
        assert_eq!(with.noise(), noise.params(28));
        assert_eq!((with.input_scale, with.rows), (1.25, 1));
    }

    #[test]
    fn splits_cover_every_row_once() {
        for rows in [1, 37, 512, 513, 1000, 60_000] {
            let batch = BatchParams::new(0, 0, rows);
            let (splits, chunk) = (batch.splits as usize, batch.chunk as usize);
            assert!((1..=MAX_SPLITS).contains(&splits));
            assert!(
                splits * chunk >= rows && (splits - 1) * chunk < rows,
                "{rows}"
            );
        }
    }
}
