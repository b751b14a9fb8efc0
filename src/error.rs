//! The library's typed errors. Every variant prints as one readable line; the CLI adds context.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data or model file whose content is wrong (bad magic, truncated, inconsistent counts).
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },

    /// An operating-system error on a named file.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        /// Printed in the message itself (not as an error source, which would print it twice).
        cause: std::io::Error,
    },

    /// The data set could not be found where it was looked for.
    #[error("{0}")]
    DataMissing(String),

    /// Downloading failed on every mirror.
    #[error("download failed: {0}")]
    Download(String),

    /// Settings that cannot work together (layer sizes, batch size, learning rate...).
    #[error("{0}")]
    Config(String),

    /// No usable GPU adapter for the requested backend.
    #[error("{0}")]
    NoAdapter(String),

    /// A size that would not fit in this machine's memory (checked before allocating).
    #[error("{0}")]
    TooLarge(String),

    /// The run was stopped by an interrupt (Ctrl-C, SIGTERM).
    #[error("interrupted")]
    Interrupted,

    /// Training produced a cost or weight that is not a finite number (a learning rate far too
    /// large, usually). The loop checks once per round, after the round's last step.
    #[error("training diverged in round {round}: {what}")]
    Diverged { round: usize, what: String },

    /// A network's outputs are not finite numbers: its weights are so large that the sums
    /// overflow, so no class can be read from them.
    #[error("{0}")]
    Overflow(String),

    /// The GPU failed: out of memory, device lost, shader or pipeline creation, buffer mapping.
    #[error("GPU error: {0}")]
    Gpu(String),
}

impl Error {
    pub fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
