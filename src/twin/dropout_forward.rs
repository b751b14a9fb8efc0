//! Twin of `shaders/dropout_forward.wgsl`: `dropped[e] = activations[e]·mask(e)` with the mask
//! of [`Dropout::mask`] keyed by [`Dropout::batch_key`] of the batch's round and index and the
//! layer's index.

use super::{BatchParams, Dispatch, LayerParams, f32s, put};
use crate::ops::Dropout;

/// The key of the batch's masks on the layer (what `dropout_key` in the WGSL computes).
pub fn key(batch: &BatchParams, layer: &LayerParams) -> u32 {
    let seed = u64::from(batch.seed_lo) | (u64::from(batch.seed_hi) << 32);
    Dropout::batch_key(
        seed,
        batch.round as usize,
        batch.index as usize,
        layer.index as usize,
    )
}

/// The kernel on its bindings (see [`super::Twin`]).
pub fn dropout_forward(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activations = f32s(&storage[0]);
    let mut dropped = f32s(&storage[1]);
    let key = key(batch, layer);
    let n = (batch.rows * layer.outputs) as usize;
    for e in 0..n {
        let mask = Dropout::mask(key, e as u32, layer.dropout_threshold, layer.keep_scale);
        dropped[e] = activations[e] * mask;
    }
    put(&mut storage[1], &dropped);
}
