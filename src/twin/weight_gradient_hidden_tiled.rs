//! Twin of `shaders/weight_gradient_hidden_tiled.wgsl`: it computes exactly what `weight_gradient_hidden` does for every tile
//! (only how the product is staged and blocked differs, and the order of the sums), so the twin
//! is that function under the shader's name.

pub use super::weight_gradient_hidden::weight_gradient_hidden as weight_gradient_hidden_tiled;
