//! Twin of `shaders/batch_cost.wgsl`: `costs[index] = Σ_r row_costs[r] / (2·rows)`.

use super::{BatchParams, LayerParams};

pub fn batch_cost(batch: &BatchParams, _layer: &LayerParams, row_costs: &[f32], costs: &mut [f32]) {
    let rows = batch.rows as usize;
    let sum: f64 = row_costs[..rows].iter().map(|&c| f64::from(c)).sum();
    costs[batch.index as usize] = (sum / (2.0 * rows as f64)) as f32;
}
