//! Twin of `shaders/output_error_xent.wgsl`: `deltas[r][j] = (p − y)·scale` with y the one-hot
//! label of image `order[first + r]` ([`crate::ops::Loss::output_error`] for xent).

use super::{BatchParams, LayerParams};
use crate::ops::Loss;

pub fn output_error_xent(
    batch: &BatchParams,
    layer: &LayerParams,
    activations: &[f32],
    labels: &[u32],
    order: &[u32],
    deltas: &mut [f32],
) {
    let classes = layer.outputs as usize;
    for r in 0..batch.rows as usize {
        let label = labels[order[batch.first as usize + r] as usize] as u8;
        let row = r * classes..(r + 1) * classes;
        Loss::Xent.output_error(
            &activations[row.clone()],
            label,
            batch.scale,
            &mut deltas[row],
        );
    }
}
