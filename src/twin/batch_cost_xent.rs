//! Twin of `shaders/batch_cost_xent.wgsl`: `costs[index] = −Σ_r ln p[r][label_r] / rows`, label_r
//! the label of image `order[first + r]` ([`crate::ops::Loss`]'s xent cost).

use super::{Dispatch, f32s, put, u32s};
use crate::ops::Loss;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn batch_cost_xent(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activations = f32s(&storage[0]);
    let labels = u32s(&storage[1]);
    let order = u32s(&storage[2]);
    let mut costs = f32s(&storage[3]);
    let (rows, classes) = (batch.rows as usize, layer.outputs as usize);
    let mut sum = 0.0f64;
    let mut unused = vec![0.0f32; classes];
    for r in 0..rows {
        let label = labels[order[batch.first as usize + r] as usize] as u8;
        let row = &activations[r * classes..(r + 1) * classes];
        sum += Loss::Xent.output_error(row, label, 1.0, &mut unused);
    }
    costs[batch.index as usize] = Loss::Xent.batch_cost(sum, rows) as f32;
    put(&mut storage[3], &costs);
}
