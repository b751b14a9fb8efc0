//! Max-norm (Srivastava et al. 2014): after every step, each unit's incoming weights are kept
//! within an L2 ball, a row whose norm exceeds the bound scaled back onto it. Written once over
//! [`Real`]: f32 for the engines and `shaders/max_norm.wgsl`'s twin, f64 for the reference.

use crate::ops::real::Real;

/// Scales each row of `weights` (`inputs` wide) whose L2 norm exceeds `bound` back to `bound`,
/// summing the squares in order, as `shaders/max_norm.wgsl` does.
pub fn clip_rows<T: Real>(weights: &mut [T], inputs: usize, bound: T) {
    for row in weights.chunks_exact_mut(inputs.max(1)) {
        let norm = row
            .iter()
            .fold(T::from_f64(0.0), |sum, &w| sum + w * w)
            .sqrt();
        if norm > bound {
            let scale = bound / norm;
            row.iter_mut().for_each(|w| *w = *w * scale);
        }
    }
}
