//! Twin of `shaders/bias_update.wgsl`: `biases[o] −= lr · Σ_r deltas[r][o]`, the biases
//! following the weights in the layer's `parameters`.

use super::{BatchParams, LayerParams};

pub fn bias_update(
    batch: &BatchParams,
    layer: &LayerParams,
    deltas: &[f32],
    parameters: &mut [f32],
) {
    let outs = layer.outputs as usize;
    let biases = &mut parameters[outs * layer.inputs as usize..];
    for (o, b) in biases[..outs].iter_mut().enumerate() {
        let sum: f32 = (0..batch.rows as usize).map(|r| deltas[r * outs + o]).sum();
        *b -= layer.learning_rate * sum;
    }
}
