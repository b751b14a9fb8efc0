//! Twin of `shaders/batch_cost_xent.wgsl`: `costs[index] = −Σ_r ln p[r][label_r] / rows`, label_r
//! the label of image `order[first + r]` ([`crate::ops::Loss`]'s xent cost).

use super::Dispatch;
use crate::ops::Loss;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn batch_cost_xent(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let row_cost = |row: &[f32], label: usize| -> f64 {
        let mut unused = vec![0.0f32; row.len()];
        Loss::Xent.output_error(row, label as u8, 1.0, &mut unused)
    };
    super::batch_sum(d, storage, row_cost, |sum, rows| {
        Loss::Xent.batch_cost(sum, rows)
    });
}
