//! Twin of `shaders/weight_gradient_hidden_subgroup.wgsl`: it computes exactly what
//! `weight_gradient_hidden` does (only how lanes share loads differs), so the twin is that
//! function under the shader's name.

pub use super::weight_gradient_hidden::weight_gradient_hidden as weight_gradient_hidden_subgroup;
