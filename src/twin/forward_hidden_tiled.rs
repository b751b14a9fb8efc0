//! Twin of `shaders/forward_hidden_tiled.wgsl`: it computes exactly what `forward_hidden` does for every tile
//! (only how the product is staged and blocked differs, and the order of the sums), so the twin
//! is that function under the shader's name.

pub use super::forward_hidden::forward_hidden as forward_hidden_tiled;
