//! Twin of `shaders/weight_update.wgsl`: `weights[e] −= lr · Σ_s partials[s][e]`.

use super::{BatchParams, LayerParams};

pub fn weight_update(
    batch: &BatchParams,
    layer: &LayerParams,
    partials: &[f32],
    weights: &mut [f32],
) {
    let count = (layer.outputs * layer.inputs) as usize;
    for (e, w) in weights[..count].iter_mut().enumerate() {
        let sum: f32 = (0..batch.splits as usize)
            .map(|s| partials[s * count + e])
            .sum();
        *w -= layer.learning_rate * sum;
    }
}
