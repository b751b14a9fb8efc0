//! Twin of `shaders/weight_gradient_hidden.wgsl`: split-K partial sums
//! `partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i]`.

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_gradient_hidden(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (deltas, activations_in) = (f32s(&storage[0]), f32s(&storage[1]));
    let (ins, outs) = (d.layer.inputs as usize, d.layer.outputs as usize);
    let mut partials = f32s(&storage[2]);
    super::split_sums(d, &mut partials, |r, o, i| {
        deltas[r * outs + o] * activations_in[r * ins + i]
    });
    put(&mut storage[2], &partials);
}
