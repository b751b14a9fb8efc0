//! Twin of `shaders/backprop_error_subgroup.wgsl`: it computes exactly what `backprop_error`
//! does (only how lanes share loads differs), so the twin is that function under the shader's
//! name.

pub use super::backprop_error::backprop_error as backprop_error_subgroup;
