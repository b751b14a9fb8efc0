//! Twin of `shaders/weight_gradient_input_subgroup.wgsl`: it computes exactly what
//! `weight_gradient_input` does (only how lanes share loads differs), so the twin is that
//! function under the shader's name.

pub use super::weight_gradient_input::weight_gradient_input as weight_gradient_input_subgroup;
