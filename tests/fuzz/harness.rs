//! Runs generated cases through a parser: each case from its own seed (so one case reruns
//! alone), under `catch_unwind`, with its time and its largest allocation measured.

use std::fmt::Display;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::alloc;

/// No single allocation may exceed this: the picture decoder's own limit (512 MiB) plus room.
pub const ALLOCATION_BOUND: usize = 600 << 20;
/// No case may take longer than this (a hang, or work out of proportion to the input).
pub const CASE_TIME_BOUND: Duration = Duration::from_secs(5);
/// Cases of each ignored (full) run.
pub const FULL_CASES: usize = 100_000;

/// What a parser did with one input.
pub enum Verdict {
    Accepted,
    Rejected,
}

/// What a run saw.
pub struct Summary {
    pub cases: usize,
    pub accepted: usize,
    pub rejected: usize,
}

/// The number of cases: MNIST_GPU_FUZZ_CASES, or `default`.
pub fn cases(default: usize) -> usize {
    std::env::var("MNIST_GPU_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `Ok(Rejected)` when `error`'s message is one non-empty line; a description otherwise.
pub fn one_line(error: &impl Display) -> Result<Verdict, String> {
    let text = error.to_string();
    if text.trim().is_empty() || text.contains('\n') || text.contains('\r') {
        return Err(format!("the error is not one non-empty line: {text:?}"));
    }
    Ok(Verdict::Rejected)
}

/// Runs `count` cases: case `i` is `generate` on a generator seeded with `base + i`, and
/// `check` must return its verdict (or say what is wrong). A panic, a wrong result, an
/// allocation over [`ALLOCATION_BOUND`] or a case over [`CASE_TIME_BOUND`] fails the test
/// with the case's seed; its bytes are saved under `target/fuzz-failures/`.
pub fn run<C>(
    name: &str,
    base: u64,
    count: usize,
    mut generate: impl FnMut(&mut ChaCha8Rng) -> C,
    bytes_of: impl Fn(&C) -> &[u8],
    check: impl Fn(&C) -> Result<Verdict, String>,
) -> Summary {
    let seeds: Vec<u64> = match std::env::var("MNIST_GPU_FUZZ_ONLY") {
        Ok(seed) => vec![seed.parse().expect("MNIST_GPU_FUZZ_ONLY is a seed")],
        Err(_) => (0..count as u64).map(|i| base + i).collect(),
    };
    let started = Instant::now();
    let (mut accepted, mut rejected, mut largest) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for &seed in &seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let case = generate(&mut rng);
        alloc::reset_thread();
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&case)));
        let took = start.elapsed();
        let allocated = alloc::thread_largest();
        let failure = match outcome {
            Err(panic) => Some(format!("panicked: {}", panic_text(&panic))),
            Ok(Err(wrong)) => Some(wrong),
            Ok(Ok(_)) if allocated > ALLOCATION_BOUND => {
                Some(format!("allocated {allocated} bytes at once"))
            }
            Ok(Ok(_)) if took > CASE_TIME_BOUND => Some(format!("took {took:?}")),
            Ok(Ok(Verdict::Accepted)) => {
                accepted += 1;
                None
            }
            Ok(Ok(Verdict::Rejected)) => {
                rejected += 1;
                None
            }
        };
        if let Some(failure) = failure {
            let saved = save(name, seed, bytes_of(&case));
            panic!(
                "{name}: case seed {seed} {failure}\n  input ({} bytes, saved to {}): {}\n  \
                 rerun: MNIST_GPU_FUZZ_ONLY={seed} cargo test --release --test fuzz {} -- \
                 --include-ignored",
                bytes_of(&case).len(),
                saved.display(),
                preview(bytes_of(&case)),
                std::thread::current().name().unwrap_or(name),
            );
        }
        largest = largest.max(allocated);
        slowest = slowest.max(took);
    }
    // Straight to the stream, so a full run shows its figures without --nocapture.
    let _ = writeln!(
        std::io::stderr(),
        "{name}: {} cases in {:.1} s ({accepted} accepted, {rejected} rejected), largest \
         allocation {}, slowest case {:.1} ms",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        binary_size(largest),
        slowest.as_secs_f64() * 1e3,
    );
    Summary {
        cases: seeds.len(),
        accepted,
        rejected,
    }
}

/// `812 KiB`, `371.4 MiB`.
fn binary_size(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// The first bytes in hex.
fn preview(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(96).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 96 { " …" } else { "" };
    format!("{}{more}", shown.join(""))
}

fn save(name: &str, seed: u64, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let path = dir.join(format!("{name}-{seed}.bin"));
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes));
    path
}

/// Both outcomes occurred: the generator reaches past the first checks and keeps some inputs
/// valid. (A generator whose every input is rejected at the magic tests nothing.)
pub fn assert_mixed(summary: &Summary, min_accepted: usize) {
    if summary.cases < 200 {
        return; // one case rerun alone
    }
    assert!(
        summary.accepted >= min_accepted && summary.rejected > summary.cases / 10,
        "{} accepted, {} rejected of {}",
        summary.accepted,
        summary.rejected,
        summary.cases
    );
}
