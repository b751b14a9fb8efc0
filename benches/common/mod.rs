//! What more than one benchmark measures.

use criterion::{Criterion, SamplingMode, Throughput};
use mnist_gpu::engine::gemm::{Mat, MatRef, gemm};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `gemm` crate's peak on this machine: the square `n`×`n`×`n` product of random
/// matrices, benchmarked as `gemm_{n}x{n}x{n}` in the group `group`.
pub fn square_product(c: &mut Criterion, group: &str, n: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let a: Vec<f32> = (0..n * n).map(|_| rng.random::<f32>() - 0.5).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.random::<f32>() - 0.5).collect();
    let mut out = vec![0.0f32; n * n];
    let mut group = c.benchmark_group(group);
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements((2 * n * n * n) as u64));
    group.bench_function(format!("gemm_{n}x{n}x{n}"), |bench| {
        bench.iter(|| {
            let (a, b) = (MatRef::rows(&a, n), MatRef::rows(&b, n));
            gemm(Mat::rows(&mut out, n), a, b, None)
        })
    });
    group.finish();
}
