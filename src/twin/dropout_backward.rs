//! Twin of `shaders/dropout_backward.wgsl`: `deltas[e] *= mask(e)`, the forward pass's mask.

use super::dropout_forward::key;
use super::{BatchParams, LayerParams};
use crate::ops::Dropout;

pub fn dropout_backward(batch: &BatchParams, layer: &LayerParams, deltas: &mut [f32]) {
    let key = key(batch, layer);
    let n = (batch.rows * layer.outputs) as usize;
    for (e, d) in deltas.iter_mut().enumerate().take(n) {
        *d *= Dropout::mask(key, e as u32, layer.dropout_threshold, layer.keep_scale);
    }
}
