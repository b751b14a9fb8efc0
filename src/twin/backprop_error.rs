//! Twin of `shaders/backprop_error.wgsl`:
//! `deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · f'(s[r][i])`, s what the activation
//! saved in `activations_in`: its outputs (σ' = a(1 − a)) or its z past them.

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn backprop_error(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activation = d.activation;
    let deltas = f32s(&storage[0]);
    let weights = f32s(&storage[1]);
    let activations_in = f32s(&storage[2]);
    let mut deltas_in = f32s(&storage[3]);
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
    put(&mut storage[3], &deltas_in);
}
