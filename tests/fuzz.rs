//! Generated inputs for every parser that reads bytes from outside: IDX files (raw and
//! gzipped), model files, pictures in each format the decoder reads, and the JSON bodies of
//! `POST /api/predict`. One structure-aware generator per format (see docs/robustness-parsers.md)
//! makes inputs that are mostly well-formed and wrong in one or two places, so they get past
//! the first checks; byte mutations on top reach the rest.
//!
//! Every input must give a value or one error whose message is a single non-empty line: no
//! panic (each call runs under `catch_unwind`, and a panic names the case's seed and saves its
//! bytes), no abort, no single allocation beyond [`harness::ALLOCATION_BOUND`] (a counting
//! allocator checks), and no case slower than [`harness::CASE_TIME_BOUND`].
//!
//! A plain `cargo test` runs a few thousand cases per parser; the ignored tests run 100,000
//! each (`cargo test --release --test fuzz -- --ignored --nocapture`). MNIST_GPU_FUZZ_CASES
//! sets the count of either, MNIST_GPU_FUZZ_ONLY=<seed> reruns one case.
//! The handcrafted cases of the adversarial pass are in `adversarial`.

mod fuzz {
    pub mod adversarial;
    pub mod alloc;
    pub mod api;
    pub mod gzip;
    pub mod harness;
    pub mod idx;
    pub mod model;
    pub mod mutate;
    pub mod picture;
}

#[global_allocator]
static ALLOCATOR: fuzz::alloc::Counting = fuzz::alloc::Counting;
