//! Twin of `shaders/weight_step.wgsl`: `g = Σ_s partials[s][e]`, then one step of the layer's
//! optimiser ([`crate::optim::Optimizer::update`]) on weight `e`, its moments at `moments[e]`
//! and `moments[count + e]`, count = (inputs + 1)·outputs.

use super::{BatchParams, LayerParams};

pub fn weight_step(
    batch: &BatchParams,
    layer: &LayerParams,
    partials: &[f32],
    parameters: &mut [f32],
    moments: &mut [f32],
) {
    let weights = (layer.outputs * layer.inputs) as usize;
    for e in 0..weights {
        let g: f32 = (0..batch.splits as usize)
            .map(|s| partials[s * weights + e])
            .sum();
        step_parameter(batch, layer, e, g, parameters, moments);
    }
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
    if optimizer.moments() == 0 {
        optimizer.update(batch.step(), &mut parameters[e], g, &mut m, &mut v);
        return;
    }
    let count = ((layer.inputs + 1) * layer.outputs) as usize;
    (m, v) = (moments[e], moments[count + e]);
    optimizer.update(batch.step(), &mut parameters[e], g, &mut m, &mut v);
    (moments[e], moments[count + e]) = (m, v);
}
