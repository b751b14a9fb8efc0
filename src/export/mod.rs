//! Trained networks in other formats: ONNX ([`onnx`]), for any ONNX runtime. Pure Rust with
//! no native-only dependency, so the page's WebAssembly offers the same file.

mod deskew;
mod graph;
pub mod onnx;
pub mod proto;
