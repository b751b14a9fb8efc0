//! What a run shows people: metrics files and pictures.

pub mod activations;
pub mod bench;
pub mod canvas;
pub mod confusion;
pub mod evaluation;
pub mod grid;
pub mod metrics;
#[cfg(feature = "native")]
pub mod plot;
pub mod weights;
