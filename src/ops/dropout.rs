//! Dropout masks from a counter-based generator: whether element `e` of hidden layer `l` in
//! batch `b` of round `r` is kept depends only on `(seed, r, b, l, e)`, never on what ran
//! before, so every engine draws the same masks and a resumed run draws the masks of an
//! uninterrupted one.
//!
//! The generator uses 32-bit integer arithmetic only (WGSL has no 64-bit integers): the PCG
//! output hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020) chained over the
//! counters. An element is kept when the top 24 bits of its hash are at or above
//! `round(rate·2²⁴)`; kept activations are scaled by `1/(1 − rate)` (inverted dropout), so
//! evaluation runs the network unchanged.

/// One PCG step of a 32-bit word followed by its output permutation.
#[inline(always)]
pub fn pcg_hash(input: u32) -> u32 {
    let state = input.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Dropout on hidden layers with probability `rate` of dropping each activation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dropout {
    pub rate: f32,
}

impl Dropout {
    pub fn new(rate: f32) -> crate::Result<Self> {
        if !(0.0..1.0).contains(&rate) {
            return Err(crate::Error::Config(format!(
                "--dropout must be at least 0 and below 1, got {rate}"
            )));
        }
        Ok(Dropout { rate })
    }

    pub fn is_active(self) -> bool {
        self.rate > 0.0
    }

    /// Hashes at or above this (in 24 bits) keep their element.
    pub fn threshold(self) -> u32 {
        (f64::from(self.rate) * f64::from(1u32 << 24)).round() as u32
    }

    /// What a kept activation is multiplied by.
    pub fn keep_scale(self) -> f32 {
        1.0 / (1.0 - self.rate)
    }

    /// The key of one layer's masks in one batch: fold the counters in, the 64-bit seed as two
    /// 32-bit halves. A GPU kernel receives this key and hashes only the element index.
    pub fn batch_key(seed: u64, round: usize, batch: usize, layer: usize) -> u32 {
        let mut key = pcg_hash(seed as u32);
        key = pcg_hash(key ^ (seed >> 32) as u32);
        key = pcg_hash(key ^ round as u32);
        key = pcg_hash(key ^ batch as u32);
        pcg_hash(key ^ layer as u32)
    }

    /// The multiplier of element `element` (row-major index within the batch's layer
    /// activations): 0 when dropped, [`Dropout::keep_scale`] when kept.
    #[inline(always)]
    pub fn mask(key: u32, element: u32, threshold: u32, keep_scale: f32) -> f32 {
        if (pcg_hash(key ^ pcg_hash(element)) >> 8) >= threshold {
            keep_scale
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_right_fraction_and_depend_on_every_counter() {
        let dropout = Dropout::new(0.3).expect("rate");
        let (threshold, scale) = (dropout.threshold(), dropout.keep_scale());
        let key = Dropout::batch_key(42, 1, 0, 0);
        let n = 200_000u32;
        let kept = (0..n)
            .filter(|&e| Dropout::mask(key, e, threshold, scale) > 0.0)
            .count();
        // Binomial(200000, 0.7): standard deviation 205, so ±1500 is over 7 sigma.
        assert!((kept as i64 - 140_000).abs() < 1500, "kept {kept}");
        let pattern = |key: u32| -> Vec<bool> {
            (0..256)
                .map(|e| Dropout::mask(key, e, threshold, scale) > 0.0)
                .collect()
        };
        let base = pattern(key);
        for other in [
            Dropout::batch_key(43, 1, 0, 0),
            Dropout::batch_key(42 | (1 << 40), 1, 0, 0),
            Dropout::batch_key(42, 2, 0, 0),
            Dropout::batch_key(42, 1, 1, 0),
            Dropout::batch_key(42, 1, 0, 1),
        ] {
            assert_ne!(pattern(other), base);
        }
        assert_eq!(pattern(Dropout::batch_key(42, 1, 0, 0)), base);
    }

    #[test]
    fn pcg_hash_known_values() {
        // Values of the published PCG hash, computed by hand from its definition in u64.
        let reference = |x: u32| -> u32 {
            let state = (u64::from(x) * 747_796_405 + 2_891_336_453) as u32;
            let word = (u64::from((state >> ((state >> 28) + 4)) ^ state) * 277_803_737) as u32;
            (word >> 22) ^ word
        };
        for x in [0u32, 1, 2, 12345, u32::MAX] {
            assert_eq!(pcg_hash(x), reference(x));
        }
        assert!(Dropout::new(1.0).is_err() && Dropout::new(-0.1).is_err());
    }
}
