//! CPU twins of the WGSL kernels in `shaders/`, name for name: plain loops that compute exactly
//! what each kernel computes, on the same inputs (packed u8 pixels, order buffer, the same
//! [`BatchParams`] and [`LayerParams`] blocks), so kernel tests can compare the two.

pub mod activation;
pub mod backprop_error;
pub mod backprop_error_tiled;
pub mod batch_cost;
pub mod batch_cost_xent;
pub mod bias_step;
pub mod bias_update;
pub mod bias_update_vec4;
pub mod dropout_backward;
pub mod dropout_forward;
pub mod evaluate;
pub mod forward_hidden;
pub mod forward_hidden_tiled;
pub mod forward_input;
pub mod forward_input_tiled;
pub mod output_error;
pub mod softmax;
pub mod weight_gradient_hidden;
pub mod weight_gradient_hidden_tiled;
pub mod weight_gradient_input;
pub mod weight_gradient_input_tiled;
pub mod weight_step;
pub mod weight_update;
pub mod weight_update_vec4;

pub use crate::kernel_params::{BatchParams, LayerParams};
use crate::ops::activation::Saved;
pub use activation::Activation;

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

/// Pixel `i` (as `pixel / 255`) of the packed image starting at word `base`.
pub fn pixel(images: &[u32], base: usize, i: usize) -> f32 {
    let byte = (images[base + i / 4] >> (8 * (i % 4))) & 0xff;
    byte as f32 / 255.0
}
