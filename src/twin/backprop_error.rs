//! Twin of `shaders/backprop_error.wgsl`:
//! `deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · f'(s[r][i])`, s what the activation
//! saved in `activations_in`: its outputs (σ' = a(1 − a)) or its z past them.

use super::activation::Activation;
use super::{BatchParams, LayerParams};

/// The kernel as the engine compiles it today (the `ACTIVATION` override's default, sigmoid).
pub fn backprop_error(
    batch: &BatchParams,
    layer: &LayerParams,
    deltas: &[f32],
    weights: &[f32],
    activations_in: &[f32],
    deltas_in: &mut [f32],
) {
    backprop_error_with(
        Activation::Sigmoid,
        batch,
        layer,
        deltas,
        weights,
        activations_in,
        deltas_in,
    );
}

/// The kernel compiled with `ACTIVATION = activation.id()`.
pub fn backprop_error_with(
    activation: Activation,
    batch: &BatchParams,
    layer: &LayerParams,
    deltas: &[f32],
    weights: &[f32],
    activations_in: &[f32],
    deltas_in: &mut [f32],
) {
    let (ins, outs) = (layer.inputs as usize, layer.outputs as usize);
    for r in 0..batch.rows as usize {
        for i in 0..ins {
            let mut sum = 0.0f32;
            for o in 0..outs {
                sum += deltas[r * outs + o] * weights[o * ins + i];
            }
            let s = activations_in[super::saved_offset(activation, layer, ins) + r * ins + i];
            deltas_in[r * ins + i] = sum * activation.derivative(s);
        }
    }
}
