//! Twin of `shaders/forward_hidden.wgsl`:
//! `outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o])`, weights then
//! biases in the layer's `parameters` (z kept past the outputs when f needs it).

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn forward_hidden(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activation = d.activation;
    let inputs = f32s(&storage[0]);
    let parameters = f32s(&storage[1]);
    let mut outputs = f32s(&storage[2]);
    let (ins, outs) = (layer.inputs as usize, layer.outputs as usize);
    let (weights, biases) = parameters.split_at(outs * ins);
    for r in 0..batch.rows as usize {
        for o in 0..outs {
            let mut z = 0.0f32;
            for i in 0..ins {
                z += inputs[r * ins + i] * weights[o * ins + i];
            }
            super::store_activation(activation, layer, &mut outputs, r * outs + o, z + biases[o]);
        }
    }
    put(&mut storage[2], &outputs);
}
