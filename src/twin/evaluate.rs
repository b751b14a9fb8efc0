//! Twin of `shaders/evaluate.wgsl`: `predictions[first + r] = argmax(activations[r])` (first
//! on ties) and `correct += (prediction == labels[first + r])`.

use super::{Dispatch, f32s, put, u32s};
use crate::model::argmax;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn evaluate(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activations = f32s(&storage[0]);
    let labels = u32s(&storage[1]);
    let mut predictions = u32s(&storage[2]);
    let mut correct = u32s(&storage[3]);
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let image = batch.first as usize + r;
        let best = u32::from(argmax(&activations[r * classes..(r + 1) * classes]));
        predictions[image] = best;
        if best == labels[image] {
            correct[0] += 1;
        }
    }
    put(&mut storage[2], &predictions);
    put(&mut storage[3], &correct);
}
