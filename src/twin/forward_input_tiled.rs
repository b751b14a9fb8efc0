//! Twin of `shaders/forward_input_tiled.wgsl`: it computes exactly what `forward_input` does for every tile
//! (only how the product is staged and blocked differs, and the order of the sums), so the twin
//! is that function under the shader's name.

pub use super::forward_input::forward_input as forward_input_tiled;
