//! Finding and loading the data set for a command.

use anyhow::Context;
use mnist_gpu::data::Mnist;

use super::DataArgs;

/// Loads the data set the flags point at.
pub fn load(args: &DataArgs) -> anyhow::Result<Mnist> {
    let dir = args
        .data
        .clone()
        .context("no data folder: pass --data DIR or set MNIST_GPU_DATA")?;
    Ok(Mnist::load(&dir)?)
}
