//! Twin of `shaders/weight_gradient_input.wgsl`: split-K partial sums
//! `partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[first + r]][i]`, x = pixel / 255.

use super::{Dispatch, f32s, pixel, put, u32s};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_gradient_input(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let deltas = f32s(&storage[0]);
    let images = u32s(&storage[1]);
    let order = u32s(&storage[2]);
    let mut partials = f32s(&storage[3]);
    let (ins, outs, words) = (
        layer.inputs as usize,
        layer.outputs as usize,
        layer.words as usize,
    );
    let (rows, chunk) = (batch.rows as usize, batch.chunk as usize);
    for s in 0..batch.splits as usize {
        let range = (s * chunk).min(rows)..((s + 1) * chunk).min(rows);
        for o in 0..outs {
            for i in 0..ins {
                let sum: f32 = range
                    .clone()
                    .map(|r| {
                        let base = order[batch.first as usize + r] as usize * words;
                        deltas[r * outs + o] * pixel(&images, base, i)
                    })
                    .sum();
                partials[(s * outs + o) * ins + i] = sum;
            }
        }
    }
    put(&mut storage[3], &partials);
}
