//! Fixtures shared by the CPU-engine test files.

use mnist_gpu::data::{Dataset, Mnist};
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
