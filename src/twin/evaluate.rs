//! Twin of `shaders/evaluate.wgsl`: `predictions[first + r] = argmax(activations[r])` (first
//! on ties) and `correct += (prediction == labels[first + r])`.

use super::{BatchParams, LayerParams};
use crate::model::argmax;

pub fn evaluate(
    batch: &BatchParams,
    layer: &LayerParams,
    activations: &[f32],
    labels: &[u32],
    predictions: &mut [u32],
    correct: &mut u32,
) {
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let image = batch.first as usize + r;
        let best = u32::from(argmax(&activations[r * classes..(r + 1) * classes]));
        predictions[image] = best;
        if best == labels[image] {
            *correct += 1;
        }
    }
}
