//! Twin of `shaders/parameter_step.wgsl`: each weight's gradient `Σ_s partials[s][e]`, each
//! bias's `Σ_r deltas[r][o]` (row by row), then one step of the layer's optimiser
//! ([`crate::optim::Optimizer::update`]) on every parameter `e`, its moments at `moments[e]` and
//! `moments[count + e]`, count = (inputs + 1)·outputs.

use super::{BatchParams, Dispatch, LayerParams, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn parameter_step(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let partials = f32s(&storage[0]);
    let deltas = f32s(&storage[1]);
    let mut parameters = f32s(&storage[2]);
    let mut moments = f32s(&storage[3]);
    let outputs = layer.outputs as usize;
    let weights = outputs * layer.inputs as usize;
    for e in 0..weights {
        let g: f32 = (0..batch.splits as usize)
            .map(|s| partials[s * weights + e])
            .sum();
        step_parameter(batch, layer, e, g, &mut parameters, &mut moments);
    }
    for o in 0..outputs {
        let mut g = 0.0f32;
        for r in 0..batch.rows as usize {
            g += deltas[r * outputs + o];
        }
        step_parameter(batch, layer, weights + o, g, &mut parameters, &mut moments);
    }
    put(&mut storage[2], &parameters);
    put(&mut storage[3], &moments);
}

/// Twin of `step_parameter` in shaders/lib/optim.wgsl.
pub fn step_parameter(
    batch: &BatchParams,
    layer: &LayerParams,
    e: usize,
    g: f32,
    parameters: &mut [f32],
    moments: &mut [f32],
) {
    let optimizer = layer.optimizer();
    let (mut m, mut v) = (0.0, 0.0);
    let slots = optimizer.moments();
    if slots == 0 {
        optimizer.update(batch.step(), &mut parameters[e], g, &mut m, &mut v);
        return;
    }
    let count = ((layer.inputs + 1) * layer.outputs) as usize;
    m = moments[e];
    if slots > 1 {
        v = moments[count + e];
    }
    optimizer.update(batch.step(), &mut parameters[e], g, &mut m, &mut v);
    moments[e] = m;
    if slots > 1 {
        moments[count + e] = v;
    }
}
