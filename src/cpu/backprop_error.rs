//! Twin of `shaders/backprop_error.wgsl`:
//! `deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · a[r][i](1 − a[r][i])`.

use super::activation::Activation;
use super::{BatchParams, LayerParams};

pub fn backprop_error(
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
            let a = activations_in[r * ins + i];
            deltas_in[r * ins + i] = sum * Activation::Sigmoid.derivative(a);
        }
    }
}
