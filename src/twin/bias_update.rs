//! Twin of `shaders/bias_update.wgsl`: `biases[o] −= lr · Σ_r deltas[r][o]`, the biases
//! following the weights in the layer's `parameters`.

use super::{Dispatch, f32s, put};

/// The kernel on its bindings (see [`super::Twin`]).
pub fn bias_update(d: &Dispatch, storage: &mut [Vec<u8>]) {
    let (batch, layer) = (&d.batch, &d.layer);
    let deltas = f32s(&storage[0]);
    let mut parameters = f32s(&storage[1]);
    let outs = layer.outputs as usize;
    let biases = &mut parameters[outs * layer.inputs as usize..];
    for (o, b) in biases[..outs].iter_mut().enumerate() {
        let sum: f32 = (0..batch.rows as usize).map(|r| deltas[r * outs + o]).sum();
        *b -= layer.lr * sum;
    }
    put(&mut storage[1], &parameters);
}
