//! Finding and loading the data set for a command: `--data DIR` / `MNIST_GPU_DATA`, else the
//! user cache folder, downloading MNIST into it the first time (unless `--offline`).

use anyhow::{Context, bail};
use mnist_gpu::data::Mnist;
use mnist_gpu::data::download::DEFAULT_MIRRORS;
use mnist_gpu::data::locate::{locate, missing_files};

use super::DataArgs;

/// Loads the data set the flags point at.
pub fn load(args: &DataArgs) -> anyhow::Result<Mnist> {
    // clap's `env` on --data has already put MNIST_GPU_DATA there when the flag is absent.
    let location = locate(args.data.as_deref(), None, dirs::cache_dir().as_deref())?;
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
    let data = Mnist::load(dir).context("cannot load the data set")?;
    if !data.is_mnist() {
        eprintln!(
            "notice: {} is not the standard MNIST (checksums differ); using it as it is",
            dir.display()
        );
    }
    Ok(data)
}
