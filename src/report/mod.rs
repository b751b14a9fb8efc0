//! What a run shows people: metrics files and pictures.

pub mod evaluation;
pub mod metrics;
