//! Twin of `shaders/weight_update.wgsl`: `weights[e] −= lr · Σ_s partials[s][e]`.

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_update(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let partials = f32s(&storage[0]);
    let mut weights = f32s(&storage[1]);
    let count = (layer.outputs * layer.inputs) as usize;
    for (e, w) in weights[..count].iter_mut().enumerate() {
        let sum: f32 = (0..batch.splits as usize)
            .map(|s| partials[s * count + e])
            .sum();
        *w -= layer.lr * sum;
    }
    put(&mut storage[1], &weights);
}
