//! Twin of the WGSL library `activation` (generated from the definitions in
//! [`crate::ops::activation`]): the activation a pipeline's `ACTIVATION` override selects.

pub use crate::ops::Activation;
