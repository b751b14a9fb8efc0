//! Twin of `shaders/bias_step.wgsl`: `g = Σ_r deltas[r][o]` (row by row), then one optimiser
//! step on bias `o` (stored after the weights) and its moments.

use super::weight_step::step_parameter;
use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn bias_step(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let deltas = f32s(&storage[0]);
    let mut parameters = f32s(&storage[1]);
    let mut moments = f32s(&storage[2]);
    let outputs = layer.outputs as usize;
    let weights = outputs * layer.inputs as usize;
    for o in 0..outputs {
        let mut g = 0.0f32;
        for r in 0..batch.rows as usize {
            g += deltas[r * outputs + o];
        }
        step_parameter(batch, layer, weights + o, g, &mut parameters, &mut moments);
    }
    put(&mut storage[1], &parameters);
    put(&mut storage[2], &moments);
}
