//! Twin of `shaders/output_error.wgsl`: `deltas[r][j] = (a − y)·scale·a(1 − a)` with y the
//! one-hot label of image `order[first + r]`, and `row_costs[r] = Σ_j (a − y)²`.

use super::activation::Activation;
use super::{BatchParams, LayerParams};

pub fn output_error(
    batch: &BatchParams,
    layer: &LayerParams,
    activations: &[f32],
    labels: &[u32],
    order: &[u32],
    deltas: &mut [f32],
    row_costs: &mut [f32],
) {
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let label = labels[order[batch.first as usize + r] as usize] as usize;
        let mut sum = 0.0f32;
        for j in 0..classes {
            let a = activations[r * classes + j];
            let diff = a - if j == label { 1.0 } else { 0.0 };
            sum += diff * diff;
            deltas[r * classes + j] = diff * batch.scale * Activation::Sigmoid.derivative(a);
        }
        row_costs[r] = sum;
    }
}
