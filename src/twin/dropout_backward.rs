//! Twin of `shaders/dropout_backward.wgsl`: `deltas[e] *= mask(e)`, the forward pass's mask.

use super::dropout_forward::key;
use super::{Dispatch, f32s, put};
use crate::ops::Dropout;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn dropout_backward(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let mut deltas = f32s(&storage[0]);
    let key = key(batch, layer);
    let n = (batch.rows * layer.outputs) as usize;
    for (e, d) in deltas.iter_mut().enumerate().take(n) {
        *d *= Dropout::mask(key, e as u32, layer.dropout_threshold, layer.keep_scale);
    }
    put(&mut storage[0], &deltas);
}
