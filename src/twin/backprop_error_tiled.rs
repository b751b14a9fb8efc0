//! Twin of `shaders/backprop_error_tiled.wgsl`: it computes exactly what `backprop_error` does for every tile
//! (only how the product is staged and blocked differs, and the order of the sums), so the twin
//! is that function under the shader's name.

pub use super::backprop_error::backprop_error as backprop_error_tiled;
