//! Twin of `shaders/weight_gradient_input.wgsl`: split-K partial sums
//! `partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[first + r]][i]`, x = pixel / 255 · input_scale.

use super::{Dispatch, f32s, pixel, put, u32s};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_gradient_input(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let deltas = f32s(&storage[0]);
    let (images, order) = (u32s(&storage[1]), u32s(&storage[2]));
    let (outs, words) = (d.layer.outputs as usize, d.layer.words as usize);
    let first = d.batch.first as usize;
    let mut partials = f32s(&storage[3]);
    super::split_sums(d, &mut partials, |r, o, i| {
        deltas[r * outs + o] * pixel(&d.batch, &images, order[first + r] as usize * words, i)
    });
    put(&mut storage[3], &partials);
}
