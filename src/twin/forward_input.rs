//! Twin of `shaders/forward_input.wgsl`:
//! `outputs[r][o] = σ(Σ_i x[order[first + r]][i]·weights[o][i] + biases[o])`,
//! weights then biases in the layer's `parameters`, x = pixel / 255 · input_scale.

use super::activation::Activation;
use super::{Dispatch, f32s, pixel, put, u32s};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn forward_input(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let images = u32s(&storage[0]);
    let order = u32s(&storage[1]);
    let parameters = f32s(&storage[2]);
    let mut outputs = f32s(&storage[3]);
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
                z += pixel(batch, &images, base, i) * weights[o * inputs + i];
            }
            let e = r * outs + o;
            super::store_activation(Activation::Sigmoid, layer, &mut outputs, e, z + biases[o]);
        }
    }
    put(&mut storage[3], &outputs);
}
