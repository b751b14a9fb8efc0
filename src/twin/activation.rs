//! Twin of `shaders/lib/activation.wgsl`: the activation a pipeline's `ACTIVATION` override
//! selects, and its derivative written in terms of the output. The activation itself is
//! described once, in [`crate::ops::activation`]; this module is its kernel-side name.

pub use crate::ops::Activation;
