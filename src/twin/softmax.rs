//! Twin of `shaders/softmax.wgsl`: each row of a softmax output layer's pre-activations
//! replaced by its probabilities, with the row maximum subtracted ([`crate::ops::loss::softmax`]).

use super::{BatchParams, LayerParams};

pub fn softmax(batch: &BatchParams, layer: &LayerParams, activations: &mut [f32]) {
    let classes = layer.outputs as usize;
    for row in activations.chunks_mut(classes).take(batch.rows as usize) {
        crate::ops::loss::softmax(row);
    }
}
