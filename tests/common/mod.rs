//! Helpers shared by the test files: synthetic data sets, the binary in a clean environment,
//! a GPU context. Each test file uses some of them.
#![allow(dead_code)]

mod skip;
pub use skip::skip;

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
/// Without one: `None` after a [`skip`] line, or a failure under MNIST_GPU_REQUIRE_GPU=1 (CI).
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
            skip(&format!("no GPU adapter: {e}"), GPU_INSTALL);
            None
        }
    }
}

/// The names of the entries in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that the command failed with exit status `code` (2 for a usage error) and exactly
/// one `error: ` line on stderr holding every one of `needles`, with no panic, backtrace hint or
/// allocator abort; returns stdout. The fixture's "not the standard MNIST" notice may come first.
pub fn assert_one_line_error(output: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        !output.status.success(),
        "must fail; stderr: {stderr}; stdout: {stdout}"
    );
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("notice: "))
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].len() > "error: ".len(), "{stderr}");
    for banned in [
        "panicked",
        "RUST_BACKTRACE",
        "internal error",
        "memory allocation",
        "ChunkType",
    ] {
        assert!(!stderr.contains(banned), "{banned}: {stderr}");
    }
    for needle in needles {
        assert!(stderr.contains(needle), "'{needle}' not in: {stderr}");
    }
    stdout
}

/// What makes a GPU adapter appear on a machine without a GPU.
pub const GPU_INSTALL: &str =
    "apt-get install mesa-vulkan-drivers (lavapipe), or a machine with a GPU";
/// Why a test on real digits skips.
pub fn missing_mnist(test: &str) -> String {
    let named = std::thread::current().name() == Some(test);
    if named {
        "MNIST_GPU_DATA is not set (the test reads the real MNIST)".into()
    } else {
        format!("MNIST_GPU_DATA is not set ({test} reads the real MNIST)")
    }
}

/// What the tests on real digits need.
pub const MNIST_INSTALL: &str =
    "mnist-gpu download, then set MNIST_GPU_DATA to the folder holding the four MNIST files";

/// The real MNIST folder named by MNIST_GPU_DATA; without it, `None` after a [`skip`] line
/// (which names the running test; `test` names it where the thread has no name).
pub fn real_mnist_dir(test: &str) -> Option<String> {
    let dir = std::env::var("MNIST_GPU_DATA").ok();
    if dir.is_none() {
        skip(&missing_mnist(test), MNIST_INSTALL);
    }
    dir
}

/// `train --cpu` of a small network (8 hidden units, batches of 10) on the fixture in `data`
/// for `rounds` rounds, then `extra`.
pub fn small_train_args<'a>(data: &'a str, rounds: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--cpu",
        "--data",
        data,
        "--hidden",
        "8",
        "--rounds",
        rounds,
        "--batch-size",
        "10",
    ];
    args.extend_from_slice(extra);
    args
}

/// `download` into `target` from the one mirror `mirror`.
pub fn download_args<'a>(target: &'a Path, mirror: &'a str) -> [&'a str; 5] {
    let target = target.to_str().expect("utf-8");
    ["download", "--dir", target, "--mirror", mirror]
}
