//! Twin of `shaders/forward_input.wgsl`:
//! `outputs[r][o] = σ(Σ_i x[order[first + r]][i]·weights[o][i] + biases[o])`,
//! weights then biases in the layer's `parameters`, x = pixel / 255.

use super::activation::Activation;
use super::{BatchParams, LayerParams, pixel};

pub fn forward_input(
    batch: &BatchParams,
    layer: &LayerParams,
    images: &[u32],
    order: &[u32],
    parameters: &[f32],
    outputs: &mut [f32],
) {
    let (inputs, outs, words) = (
        layer.inputs as usize,
        layer.outputs as usize,
        layer.words as usize,
    );
    let (weights, biases) = parameters.split_at(outs * inputs);
    for r in 0..batch.rows as usize {
        let base = order[batch.first as usize + r] as usize * words;
        for o in 0..outs {
            let mut z = 0.0f32;
            for i in 0..inputs {
                z += pixel(images, base, i) * weights[o * inputs + i];
            }
            let e = r * outs + o;
            super::store_activation(Activation::Sigmoid, layer, outputs, e, z + biases[o]);
        }
    }
}
