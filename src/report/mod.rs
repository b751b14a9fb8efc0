//! What a run shows people: metrics files and pictures.

pub mod metrics;
