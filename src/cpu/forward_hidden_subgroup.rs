//! Twin of `shaders/forward_hidden_subgroup.wgsl`: it computes exactly what `forward_hidden`
//! does (only how lanes share loads differs), so the twin is that function under the shader's
//! name.

pub use super::forward_hidden::forward_hidden as forward_hidden_subgroup;
