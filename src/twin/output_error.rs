//! Twin of `shaders/output_error.wgsl`: `deltas[r][j] = (a − y)·scale·f'(a)` with y the
//! one-hot label of image `order[first + r]`, f the output activation (the sigmoid for the
//! quadratic cost; linear, f' = 1, for softmax with cross-entropy).

use super::activation::Activation;
use super::{BatchParams, LayerParams};

pub fn output_error(
    activation: Activation,
    batch: &BatchParams,
    layer: &LayerParams,
    activations: &[f32],
    labels: &[u32],
    order: &[u32],
    deltas: &mut [f32],
) {
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let label = labels[order[batch.first as usize + r] as usize] as usize;
        for j in 0..classes {
            let a = activations[r * classes + j];
            let diff = a - if j == label { 1.0 } else { 0.0 };
            deltas[r * classes + j] = diff * batch.scale * activation.derivative(a);
        }
    }
}
