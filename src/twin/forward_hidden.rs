//! Twin of `shaders/forward_hidden.wgsl`:
//! `outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o])`, weights then
//! biases in the layer's `parameters` (z kept past the outputs when f needs it).

use super::activation::Activation;
use super::{BatchParams, LayerParams};

/// The kernel as the engine compiles it today (the `ACTIVATION` override's default, sigmoid).
pub fn forward_hidden(
    batch: &BatchParams,
    layer: &LayerParams,
    inputs: &[f32],
    parameters: &[f32],
    outputs: &mut [f32],
) {
    forward_hidden_with(
        Activation::Sigmoid,
        batch,
        layer,
        inputs,
        parameters,
        outputs,
    );
}

/// The kernel compiled with `ACTIVATION = activation.id()`.
pub fn forward_hidden_with(
    activation: Activation,
    batch: &BatchParams,
    layer: &LayerParams,
    inputs: &[f32],
    parameters: &[f32],
    outputs: &mut [f32],
) {
    let (ins, outs) = (layer.inputs as usize, layer.outputs as usize);
    let (weights, biases) = parameters.split_at(outs * ins);
    for r in 0..batch.rows as usize {
        for o in 0..outs {
            let mut z = 0.0f32;
            for i in 0..ins {
                z += inputs[r * ins + i] * weights[o * ins + i];
            }
            super::store_activation(activation, layer, outputs, r * outs + o, z + biases[o]);
        }
    }
}
