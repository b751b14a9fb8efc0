//! Twin of `shaders/softmax.wgsl`: each row of a softmax output layer's pre-activations
//! replaced by its probabilities, with the row maximum subtracted ([`crate::ops::loss::softmax`]).

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn softmax(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let mut activations = f32s(&storage[0]);
    let classes = layer.outputs as usize;
    for row in activations.chunks_mut(classes).take(batch.rows as usize) {
        crate::ops::loss::softmax(row);
    }
    put(&mut storage[0], &activations);
}
