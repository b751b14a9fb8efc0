//! Raw IDX files: a header of plausible and extreme words (magic with any type byte and
//! dimension count, counts and sizes from a list of edge values), a body of the declared
//! length or a little off, labels mostly digits, then sometimes byte mutations.

use std::path::Path;

use mnist_gpu::data::idx;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::harness::{self, Verdict, one_line};
use super::mutate::{maybe_mutate, pick};

/// Words a header field takes: MNIST's, their neighbours, and sizes that overflow.
const WORDS: [u32; 16] = [
    0,
    1,
    2,
    9,
    10,
    27,
    28,
    29,
    784,
    60_000,
    1 << 16,
    1 << 24,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    u32::MAX,
];

/// A generated IDX file (images, labels or neither), before any mutation.
pub fn idx_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let images = rng.random_bool(0.5);
    let dims: u8 = match rng.random_range(0..20) {
        0 => rng.random(),
        1 => rng.random_range(0..6),
        _ if images => 3,
        _ => 1,
    };
    let type_byte = if rng.random_range(0..10) == 0 {
        pick(rng, &[0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff])
    } else {
        0x08
    };
    let mut bytes = vec![0, 0, type_byte, dims];
    let count = if rng.random_range(0..8) == 0 {
        pick(rng, &WORDS)
    } else {
        rng.random_range(0..6)
    };
    let mut sizes = vec![count];
    for _ in 1..dims {
        sizes.push(if rng.random_range(0..6) == 0 {
            pick(rng, &WORDS)
        } else {
            28
        });
    }
    for size in &sizes {
        bytes.extend_from_slice(&size.to_be_bytes());
    }
    let declared = sizes
        .iter()
        .try_fold(1u64, |total, &d| total.checked_mul(u64::from(d)));
    // The declared body when small, give or take a few bytes; a little of it otherwise.
    let len = match declared {
        Some(n) if n <= 8 * 784 => {
            let off: i64 = match rng.random_range(0..8) {
                0 => rng.random_range(-3..=3),
                _ => 0,
            };
            (n as i64 + off).max(0) as usize
        }
        _ => rng.random_range(0..100),
    };
    let labels = !images || dims == 1;
    bytes.extend((0..len).map(|_| {
        if labels && rng.random_range(0..50) != 0 {
            rng.random_range(0..10)
        } else {
            rng.random()
        }
    }));
    bytes
}

/// Both parsers and the bounded reader on `input`; what they accept must be consistent.
pub fn check_idx(input: &[u8]) -> Result<Verdict, String> {
    let path = Path::new("generated");
    let mut verdict = Verdict::Rejected;
    match idx::parse_images(path, input) {
        Ok(images) => {
            let expected = images.count * images.rows * images.cols;
            if images.pixels.len() != expected || (images.rows, images.cols) != (28, 28) {
                return Err(format!(
                    "images accepted with {} pixels for {}×{}×{}",
                    images.pixels.len(),
                    images.count,
                    images.rows,
                    images.cols
                ));
            }
            verdict = Verdict::Accepted;
        }
        Err(e) => {
            one_line(&e)?;
        }
    }
    match idx::parse_labels(path, input) {
        Ok(labels) => {
            if labels.iter().any(|&l| l > 9) {
                return Err("labels accepted with a label over 9".into());
            }
            verdict = Verdict::Accepted;
        }
        Err(e) => {
            one_line(&e)?;
        }
    }
    // The bounded reader keeps whatever the parsers need of a raw file.
    match idx::read_content(path, input) {
        Ok(read) => {
            let same = |a: bool, b: bool| a == b;
            if !same(
                idx::parse_images(path, &read).is_ok(),
                idx::parse_images(path, input).is_ok(),
            ) || !same(
                idx::parse_labels(path, &read).is_ok(),
                idx::parse_labels(path, input).is_ok(),
            ) {
                return Err("the bounded reader changed what parses".into());
            }
        }
        Err(e) => {
            one_line(&e)?;
            if matches!(verdict, Verdict::Accepted) {
                return Err(format!("parsed, but the reader refused it: {e}"));
            }
        }
    }
    Ok(verdict)
}

fn run(base: u64, count: usize) {
    let summary = harness::run(
        "idx_raw",
        base,
        count,
        |rng| {
            let bytes = idx_bytes(rng);
            maybe_mutate(rng, 0.3, bytes)
        },
        |bytes| bytes,
        |bytes| check_idx(bytes),
    );
    harness::assert_mixed(&summary, summary.cases / 10);
}

#[test]
fn generated_idx_files() {
    run(1_000_000, harness::cases(50_000));
}

#[test]
#[ignore = "100,000 cases: cargo test --release --test fuzz -- --ignored"]
fn generated_idx_files_full() {
    run(10_000_000, harness::cases(harness::FULL_CASES));
}
