//! The operations a network is built from, each described once: a name (as the CLI and the
//! model file spell it), a fast f32 CPU function, an exact f64 one for the reference, and the
//! WGSL text of the GPU kernels. Every engine and the reference use these, never their own copy.

pub mod activation;
pub mod augment;
pub mod dropout;
pub mod init;
pub mod loss;
pub mod preprocess;
pub mod real;

pub use activation::Activation;
pub use dropout::Dropout;
pub use init::Init;
pub use loss::Loss;
pub use preprocess::Preprocess;

/// Parses one of `names` (each paired with its value), or says which names exist.
pub(crate) fn parse_named<T: Copy>(
    what: &str,
    text: &str,
    names: &[(&str, T)],
) -> crate::Result<T> {
    names
        .iter()
        .find(|(name, _)| *name == text)
        .map(|&(_, value)| value)
        .ok_or_else(|| {
            let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            crate::Error::Config(format!(
                "unknown {what} '{text}' (one of: {})",
                known.join(", ")
            ))
        })
}
