//! Finding and loading the data set for a command: `--data DIR` / `MNIST_GPU_DATA`, else the
//! user cache folder, downloading MNIST into it the first time (unless `--offline`).

use anyhow::{Context, bail};
use std::path::PathBuf;

use mnist_gpu::data::download::DEFAULT_MIRRORS;
use mnist_gpu::data::locate::{DATA_ENV, Location, Origin, locate, missing_files};
use mnist_gpu::data::{FILE_STEMS, Mnist};

use super::DataArgs;

/// The data files the flags point at, as `(flag, path)` for [`super::paths::check_distinct`]:
/// each of the four files raw and gzipped, whether present or not (an output written under
/// either name would shadow or replace the data). Empty when no folder can be located.
pub fn data_files(args: &DataArgs) -> Vec<(&'static str, PathBuf)> {
    let Ok(location) = location(args) else {
        return Vec::new();
    };
    let flag = match location.origin {
        Origin::Flag => "--data",
        Origin::Env => DATA_ENV,
        Origin::Cache => "the data set",
    };
    FILE_STEMS
        .iter()
        .flat_map(|stem| [stem.to_string(), format!("{stem}.gz")])
        .map(|name| (flag, location.dir.join(name)))
        .collect()
}

/// The data folder the flags (or the environment, or the user cache) point at.
pub fn location(args: &DataArgs) -> mnist_gpu::Result<Location> {
    let env = std::env::var_os(DATA_ENV).map(PathBuf::from);
    locate(
        args.data.as_deref(),
        env.as_deref(),
        dirs::cache_dir().as_deref(),
    )
}

/// Loads the data set the flags point at.
pub fn load(args: &DataArgs) -> anyhow::Result<Mnist> {
    let location = location(args)?;
    let dir = &location.dir;
    if !location.is_explicit() && !missing_files(dir).is_empty() {
        if args.offline {
            bail!(
                "MNIST is not in {} and --offline forbids downloading it: run `mnist-gpu download` once online, or pass --data DIR",
                dir.display()
            );
        }
        println!(
            "MNIST is not in {} yet: downloading it (once)",
            dir.display()
        );
        let mirrors = DEFAULT_MIRRORS.map(String::from);
        super::download::fetch_mnist(dir, &mirrors).with_context(|| {
            format!(
                "cannot download MNIST into {} (run `mnist-gpu download` once online, or pass --data DIR)",
                dir.display()
            )
        })?;
    }
    let data = Mnist::load(dir).with_context(|| match location.origin {
        Origin::Flag => "cannot load the data set named by --data".to_string(),
        Origin::Env => format!(
            "cannot load the data set named by the environment variable {DATA_ENV}={}",
            dir.display()
        ),
        Origin::Cache => "cannot load the data set".to_string(),
    })?;
    if !data.is_mnist() {
        eprintln!(
            "notice: {} is not the standard MNIST (checksums differ); using it as it is",
            dir.display()
        );
    }
    Ok(data)
}
