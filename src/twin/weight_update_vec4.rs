//! Twin of `shaders/weight_update_vec4.wgsl`: it computes exactly what `weight_update` does
//! (four weights per invocation instead of one), so the twin is that function under the
//! shader's name.

pub use super::weight_update::weight_update as weight_update_vec4;
