//! Twin of `shaders/output_error.wgsl`: `deltas[r][j] = (a − y)·scale·f'(a)` with y the
//! one-hot label of image `order[first + r]`, f the output activation (the sigmoid for the
//! quadratic cost; linear, f' = 1, for softmax with cross-entropy).

use super::{Dispatch, f32s, put, u32s};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn output_error(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activation = d.activation;
    let activations = f32s(&storage[0]);
    let labels = u32s(&storage[1]);
    let order = u32s(&storage[2]);
    let mut deltas = f32s(&storage[3]);
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let label = labels[order[batch.first as usize + r] as usize] as usize;
        for j in 0..classes {
            let a = activations[r * classes + j];
            let diff = a - if j == label { 1.0 } else { 0.0 };
            deltas[r * classes + j] = diff * batch.scale * activation.derivative(a);
        }
    }
    put(&mut storage[3], &deltas);
}
