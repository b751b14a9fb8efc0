//! Where the data set is looked for: an explicit folder (`--data DIR`, then the
//! `MNIST_GPU_DATA` environment variable), else the user cache folder
//! (`~/.cache/mnist-gpu/mnist` on Linux), which the CLI fills by downloading, as Keras and
//! torchvision do.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The environment variable naming the data folder.
pub const DATA_ENV: &str = "MNIST_GPU_DATA";

/// How the folder was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--data DIR`.
    Flag,
    /// The `MNIST_GPU_DATA` environment variable.
    Env,
    /// The user cache folder: the only place the program downloads into unasked.
    Cache,
}

/// A data folder and why it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub dir: PathBuf,
    pub origin: Origin,
}

impl Location {
    /// Whether the user named this folder (so a missing file is an error, never a download).
    pub fn is_explicit(&self) -> bool {
        self.origin != Origin::Cache
    }
}

/// `cache_root/mnist-gpu/mnist`.
pub fn cache_dir_in(cache_root: &Path) -> PathBuf {
    cache_root.join("mnist-gpu").join("mnist")
}

/// The default download folder: [`cache_dir_in`] the platform's user cache folder.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|root| cache_dir_in(&root))
}

/// The data folder, by priority: `flag`, then `env` (an empty value counts as unset), then the
/// cache folder under `cache_root` (normally `dirs::cache_dir()`; a parameter so tests can use a
/// temporary one).
pub fn locate(
    flag: Option<&Path>,
    env: Option<&Path>,
    cache_root: Option<&Path>,
) -> Result<Location> {
    if let Some(dir) = given(flag) {
        return Ok(Location {
            dir: dir.to_path_buf(),
            origin: Origin::Flag,
        });
    }
    if let Some(dir) = given(env) {
        return Ok(Location {
            dir: dir.to_path_buf(),
            origin: Origin::Env,
        });
    }
    match cache_root {
        Some(root) => Ok(Location {
            dir: cache_dir_in(root),
            origin: Origin::Cache,
        }),
        None => Err(Error::DataMissing(format!(
            "no user cache folder to keep the data in: pass --data DIR or set {DATA_ENV}"
        ))),
    }
}

/// The stems of the standard files missing from `dir` (neither raw nor .gz present).
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    super::FILE_STEMS
        .into_iter()
        .filter(|stem| super::idx::find_file(dir, stem).is_err())
        .collect()
}

fn given(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| !p.as_os_str().is_empty())
}
