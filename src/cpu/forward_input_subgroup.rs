//! Twin of `shaders/forward_input_subgroup.wgsl`: it computes exactly what `forward_input` does
//! (only how lanes share loads differs), so the twin is that function under the shader's name.

pub use super::forward_input::forward_input as forward_input_subgroup;
