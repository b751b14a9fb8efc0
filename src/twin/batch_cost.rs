//! Twin of `shaders/batch_cost.wgsl`:
//! `costs[index] = Σ_r Σ_j (a[r][j] − y[r][j])² / (2·rows)`, y the one-hot label of image
//! `order[first + r]`.

use super::{Dispatch, f32s, put, u32s};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn batch_cost(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let activations = f32s(&storage[0]);
    let labels = u32s(&storage[1]);
    let order = u32s(&storage[2]);
    let mut costs = f32s(&storage[3]);
    let (rows, classes) = (batch.rows as usize, layer.outputs as usize);
    let mut sum = 0.0f64;
    for r in 0..rows {
        let label = labels[order[batch.first as usize + r] as usize] as usize;
        for j in 0..classes {
            let diff = activations[r * classes + j] - if j == label { 1.0 } else { 0.0 };
            sum += f64::from(diff * diff);
        }
    }
    costs[batch.index as usize] = (sum / (2.0 * rows as f64)) as f32;
    put(&mut storage[3], &costs);
}
