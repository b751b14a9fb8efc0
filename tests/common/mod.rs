//! Helpers shared by the test files: synthetic data sets, the binary in a clean environment,
//! a GPU context. Each test file uses some of them.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext};
use mnist_gpu::reference::input_of;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random non-zero pixels and random labels; images of `rows × cols` pixels.
pub fn synthetic(train: usize, test: usize, rows: usize, cols: usize, seed: u64) -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = |n: usize| Dataset {
        images: (0..n * rows * cols)
            .map(|_| rng.random_range(1..=255u8))
            .collect(),
        labels: (0..n).map(|_| rng.random_range(0..10u8)).collect(),
        rows,
        cols,
    };
    Mnist::new(split(train), split(test), "synthetic".into())
}

pub fn inputs(set: &Dataset, indices: impl Iterator<Item = usize>) -> (Vec<Vec<f64>>, Vec<u8>) {
    indices
        .map(|i| (input_of(set.image(i)), set.labels[i]))
        .unzip()
}

/// A tiny valid data set (not MNIST: a fixed pattern of grey levels, labels 0–9 in turn) of
/// `train` and `test` images, its raw files written to `dir`.
pub fn write_fixture(dir: &Path, train: usize, test: usize) {
    let dataset = |count: usize| Dataset {
        images: (0..count * 784).map(|i| (i * 7 % 256) as u8).collect(),
        labels: (0..count).map(|i| (i % 10) as u8).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist::new(dataset(train), dataset(test), dir.to_path_buf())
        .save(dir, false)
        .expect("save fixture");
}

/// The binary with `args` in a clean environment: no MNIST_GPU_DATA, WGPU_BACKEND or
/// RUST_BACKTRACE, and HOME and the cache folder inside `home`, so nothing can touch (or
/// download into) the real user cache.
pub fn binary(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"));
    command
        .args(args)
        .env_remove("MNIST_GPU_DATA")
        .env_remove("WGPU_BACKEND")
        .env_remove("RUST_BACKTRACE")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"));
    command
}

/// [`binary`], run to completion.
pub fn run_binary(home: &Path, args: &[&str]) -> Output {
    binary(home, args).output().expect("run mnist-gpu")
}

/// A GPU context on any adapter, software ones included (`WGPU_BACKEND` picks the API).
/// Without one: `None` after a `SKIPPED (no GPU adapter)` line, or a failure under
/// MNIST_GPU_REQUIRE_GPU=1 (CI).
pub fn gpu_context() -> Option<Arc<GpuContext>> {
    let request = AdapterRequest {
        backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        allow_software: true,
    };
    match GpuContext::new(request) {
        Ok(context) => Some(Arc::new(context)),
        Err(e) => {
            if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("MNIST_GPU_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            println!("SKIPPED (no GPU adapter: {e})");
            None
        }
    }
}
