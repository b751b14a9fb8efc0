//! mnist-gpu: train a fully connected network on MNIST, on the GPU through wgpu
//! (WGSL compute shaders) or on a fast native CPU path.
//!
//! The modules follow the data's path:
//! [`data`] (IDX files, download) → [`model`] (the network and its init) →
//! [`engine`] (one training backend per device: [`engine::cpu`] and [`engine::gpu`]) →
//! [`train`] (the round loop) → [`report`] (printed lines, metrics, pictures).
//! [`ops`] and [`optim`] define each operation once (maths, WGSL, metadata); [`twin`] holds the
//! plain CPU twin of every WGSL kernel in `shaders/`, name for name, and
//! [`reference`] a plain f64 implementation of the whole network that the tests trust.
//! [`model_file`] saves and loads trained networks (safetensors), and [`predict`] turns a
//! picture of a digit into the network's MNIST-like input; [`export`] writes a network as ONNX; [`serve`] puts a trained network
//! behind a local web page to draw on and a small JSON API.

pub mod atomic_file;
pub mod data;
pub mod engine;
pub mod error;
pub mod export;
pub mod kernel_params;
pub mod memory;
pub mod model;
pub mod model_file;
pub mod ops;
pub mod optim;
pub mod predict;
pub mod preset;
pub mod reference;
pub mod report;
#[cfg(feature = "native")]
pub mod serve;
pub mod train;
pub mod twin;

pub use error::{Error, Result};
