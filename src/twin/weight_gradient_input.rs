//! Twin of `shaders/weight_gradient_input.wgsl`: split-K partial sums
//! `partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[first + r]][i]`, x = pixel / 255.

use super::{BatchParams, LayerParams, pixel};

pub fn weight_gradient_input(
    batch: &BatchParams,
    layer: &LayerParams,
    deltas: &[f32],
    images: &[u32],
    order: &[u32],
    partials: &mut [f32],
) {
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
                        deltas[r * outs + o] * pixel(images, base, i)
                    })
                    .sum();
                partials[(s * outs + o) * ins + i] = sum;
            }
        }
    }
}
