//! Twin of `shaders/bias_step.wgsl`: `g = Σ_r deltas[r][o]` (row by row), then one optimiser
//! step on bias `o` (stored after the weights) and its moments.

use super::weight_step::step_parameter;
use super::{BatchParams, LayerParams};

pub fn bias_step(
    batch: &BatchParams,
    layer: &LayerParams,
    deltas: &[f32],
    parameters: &mut [f32],
    moments: &mut [f32],
) {
    let outputs = layer.outputs as usize;
    let weights = outputs * layer.inputs as usize;
    for o in 0..outputs {
        let mut g = 0.0f32;
        for r in 0..batch.rows as usize {
            g += deltas[r * outputs + o];
        }
        step_parameter(batch, layer, weights + o, g, parameters, moments);
    }
}
