//! CPU twins of the WGSL kernels in `shaders/`, name for name: plain loops that compute exactly
//! what each kernel computes, on the same inputs (packed u8 pixels, order buffer, the same
//! [`BatchParams`] and [`LayerParams`] blocks), so kernel tests can compare the two.

pub mod activation;
pub mod backprop_error;
pub mod backprop_error_tiled;
pub mod batch_cost;
pub mod batch_cost_xent;
pub mod bias_update;
pub mod bias_update_vec4;
pub mod dropout_backward;
pub mod dropout_forward;
pub mod evaluate;
pub mod forward_hidden;
pub mod forward_hidden_tiled;
pub mod forward_input;
pub mod forward_input_tiled;
pub mod gather_input;
pub mod max_norm;
pub mod output_error;
pub mod parameter_step;
pub mod softmax;
pub mod weight_gradient_hidden;
pub mod weight_gradient_hidden_tiled;
pub mod weight_gradient_input;
pub mod weight_gradient_input_tiled;
pub mod weight_update;
pub mod weight_update_vec4;

pub use crate::kernel_params::{BatchParams, LayerParams};
use crate::ops::activation::Saved;
pub use activation::Activation;

/// What every twin is called with besides its buffers: the activation the kernel's `ACTIVATION`
/// override selects (kernels without one ignore it) and the two uniform blocks.
#[derive(Clone, Copy, Debug)]
pub struct Dispatch {
    pub activation: Activation,
    pub batch: BatchParams,
    pub layer: LayerParams,
}

/// The one calling convention of the twins (each `crate::twin::<kernel>::<kernel>`): a
/// dispatch and its storage buffers in binding order, as bytes, exactly as a device runs the
/// kernel on them; the buffers the kernel writes are updated in place. The kernel table holds
/// each kernel's twin, so one harness checks any kernel on any device.
pub type Twin = fn(&Dispatch, &mut [Vec<u8>]);

/// A buffer's f32 values.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// A buffer's u32 values.
pub fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// Writes `values` back into a buffer.
pub fn put<T: bytemuck::Pod>(bytes: &mut Vec<u8>, values: &[T]) {
    *bytes = bytemuck::cast_slice(values).to_vec();
}

/// Twin of `shaders/lib/forward.wgsl`: output element `e` of a forward kernel is `f(z)`, and `z`
/// itself [`saved_offset`] further on when the activation's derivative needs it.
pub fn store_activation(
    activation: Activation,
    layer: &LayerParams,
    outputs: &mut [f32],
    e: usize,
    z: f32,
) {
    outputs[e] = activation.apply(z);
    if activation.saves() == Saved::Input {
        outputs[saved_offset(activation, layer, layer.outputs as usize) + e] = z;
    }
}

/// Where the saved values of a layer `width` wide begin in its activation buffer (the WGSL
/// `saved_offset`): at 0 (its outputs), or `layer.saved_rows` rows on (its `z`).
pub fn saved_offset(activation: Activation, layer: &LayerParams, width: usize) -> usize {
    match activation.saves() {
        Saved::Output => 0,
        Saved::Input => layer.saved_rows as usize * width,
    }
}

/// Twin of `shaders/lib/batch_sum.wgsl`, the cost kernels' frame: `row_cost` of every row of the
/// batch (from its activations and its label, read through the order) summed in f64, and
/// `costs[batch.index] = batch_cost(sum, rows)`. Bindings: activations, labels, order, costs.
pub fn batch_sum(
    d: &Dispatch,
    storage: &mut [Vec<u8>],
    row_cost: impl Fn(&[f32], usize) -> f64,
    batch_cost: impl Fn(f64, usize) -> f64,
) {
    let (batch, classes) = (&d.batch, d.layer.outputs as usize);
    let (activations, labels, order) = (f32s(&storage[0]), u32s(&storage[1]), u32s(&storage[2]));
    let rows = batch.rows as usize;
    let sum: f64 = (0..rows)
        .map(|r| {
            let label = labels[order[batch.first as usize + r] as usize] as usize;
            row_cost(&activations[r * classes..(r + 1) * classes], label)
        })
        .sum();
    let mut costs = f32s(&storage[3]);
    costs[batch.index as usize] = batch_cost(sum, rows) as f32;
    put(&mut storage[3], &costs);
}

/// Twin of the weight-gradient kernels' split-K structure (`split_rows` in
/// shaders/lib/params.wgsl, `store_partials` in shaders/lib/partials.wgsl): into `partials`
/// (splits × outputs × inputs), each split's `Σ_r term(r, o, i)` over its rows, in row order.
pub fn split_sums(d: &Dispatch, partials: &mut [f32], term: impl Fn(usize, usize, usize) -> f32) {
    let (ins, outs) = (d.layer.inputs as usize, d.layer.outputs as usize);
    let (rows, chunk) = (d.batch.rows as usize, d.batch.chunk as usize);
    for s in 0..d.batch.splits as usize {
        let range = (s * chunk).min(rows)..((s + 1) * chunk).min(rows);
        for o in 0..outs {
            for i in 0..ins {
                let sum: f32 = range.clone().map(|r| term(r, o, i)).sum();
                partials[(s * outs + o) * ins + i] = sum;
            }
        }
    }
}

/// Pixel `i` (as `pixel / 255 · batch.input_scale`, shaders/lib/pixels.wgsl) of the packed
/// image starting at word `base`.
pub fn pixel(batch: &BatchParams, images: &[u32], base: usize, i: usize) -> f32 {
    let byte = (images[base + i / 4] >> (8 * (i % 4))) & 0xff;
    byte as f32 / 255.0 * batch.input_scale
}
