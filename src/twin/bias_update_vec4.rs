//! Twin of `shaders/bias_update_vec4.wgsl`: it computes exactly what `bias_update` does (four
//! biases per invocation instead of one), so the twin is that function under the shader's name.

pub use super::bias_update::bias_update as bias_update_vec4;
