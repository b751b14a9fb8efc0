//! Twin of `shaders/batch_cost.wgsl`:
//! `costs[index] = Σ_r Σ_j (a[r][j] − y[r][j])² / (2·rows)`, y the one-hot label of image
//! `order[first + r]`.

use super::Dispatch;

/// The kernel on its bindings (see [`super::Twin`]).
pub fn batch_cost(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let row_cost = |row: &[f32], label: usize| -> f64 {
        let squares = row.iter().enumerate().map(|(j, &a)| {
            let diff = a - if j == label { 1.0 } else { 0.0 };
            f64::from(diff * diff)
        });
        squares.sum()
    };
    super::batch_sum(d, storage, row_cost, |sum, rows| sum / (2.0 * rows as f64));
}
