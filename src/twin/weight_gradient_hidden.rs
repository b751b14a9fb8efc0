//! Twin of `shaders/weight_gradient_hidden.wgsl`: split-K partial sums
//! `partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i]`.

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_gradient_hidden(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let deltas = f32s(&storage[0]);
    let activations_in = f32s(&storage[1]);
    let mut partials = f32s(&storage[2]);
    let (ins, outs) = (layer.inputs as usize, layer.outputs as usize);
    let (rows, chunk) = (batch.rows as usize, batch.chunk as usize);
    for s in 0..batch.splits as usize {
        let range = (s * chunk).min(rows)..((s + 1) * chunk).min(rows);
        for o in 0..outs {
            for i in 0..ins {
                let sum: f32 = range
                    .clone()
                    .map(|r| deltas[r * outs + o] * activations_in[r * ins + i])
                    .sum();
                partials[(s * outs + o) * ins + i] = sum;
            }
        }
    }
    put(&mut storage[2], &partials);
}
