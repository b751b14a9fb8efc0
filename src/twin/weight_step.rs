//! Twin of `shaders/weight_step.wgsl`: `g = Σ_s partials[s][e]`, then one step of the layer's
//! optimiser ([`crate::optim::Optimizer::update`]) on weight `e`, its moments at `moments[e]`
//! and `moments[count + e]`, count = (inputs + 1)·outputs.

use super::{BatchParams, Dispatch, LayerParams, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn weight_step(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let partials = f32s(&storage[0]);
    let mut parameters = f32s(&storage[1]);
    let mut moments = f32s(&storage[2]);
    let weights = (layer.outputs * layer.inputs) as usize;
    for e in 0..weights {
        let g: f32 = (0..batch.splits as usize)
            .map(|s| partials[s * weights + e])
            .sum();
        step_parameter(batch, layer, e, g, &mut parameters, &mut moments);
    }
    put(&mut storage[1], &parameters);
    put(&mut storage[2], &moments);
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
