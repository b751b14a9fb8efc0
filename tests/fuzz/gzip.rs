//! Gzipped IDX files: a generated IDX file (see `idx`) compressed at a random level with
//! random optional header fields, then one gzip-level edit: cut short, a byte changed in the
//! header, the deflate data or the CRC/size trailer, the content split over several
//! concatenated members, trailing garbage, a bomb (a tiny stream of zeros that expands to
//! megabytes, or far more than its header declares), or byte mutations.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::GzEncoder;
use mnist_gpu::data::idx;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::harness::{self, Verdict, one_line};
use super::idx::{check_idx, idx_bytes};
use super::mutate::mutate;

/// A gzip input and, when it is a valid gzip stream, the content it holds.
pub struct GzCase {
    pub bytes: Vec<u8>,
    pub content: Option<Vec<u8>>,
}

/// One gzip member of `content` with random header fields.
pub fn member(rng: &mut ChaCha8Rng, content: &[u8]) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if rng.random_bool(0.2) {
        builder = builder.filename("train-images-idx3-ubyte");
    }
    if rng.random_bool(0.1) {
        builder = builder.comment(vec![b'c'; rng.random_range(0..300)]);
    }
    if rng.random_bool(0.1) {
        builder = builder.extra(vec![7u8; rng.random_range(0..100)]);
    }
    let level = Compression::new(rng.random_range(0..=9));
    let mut encoder = builder.write(Vec::new(), level);
    encoder.write_all(content).expect("compress");
    encoder.finish().expect("compress")
}

/// Gzip of `content` in one go.
pub fn gzip(content: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(content).expect("compress");
    encoder.finish().expect("compress")
}

/// Bombs: `(declared images, zero bytes after the header)`, compressed once. The header of
/// the first declares what follows; the others declare far less than follows.
fn bombs() -> &'static [Vec<u8>] {
    static BOMBS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BOMBS.get_or_init(|| {
        [(4000, 4000 * 784), (10, 8 << 20), (1, 2 << 20)]
            .iter()
            .map(|&(count, zeros)| {
                let mut content = idx::encode_images(count, 28, 28, &[]);
                content.resize(16 + zeros, 0);
                gzip(&content)
            })
            .collect()
    })
}

pub fn gz_case(rng: &mut ChaCha8Rng) -> GzCase {
    let content = idx_bytes(rng);
    let whole = member(rng, &content);
    let (bytes, valid) = match rng.random_range(0..10) {
        0 | 1 => (whole, true),
        2 => {
            let at = rng.random_range(0..whole.len());
            (whole[..at].to_vec(), false)
        }
        3 => {
            // Header (first 10 bytes), deflate data, or trailer (CRC and size).
            let mut bytes = whole;
            let at = match rng.random_range(0..3) {
                0 => rng.random_range(0..10),
                1 => rng.random_range(10..bytes.len() - 8),
                _ => bytes.len() - rng.random_range(1..=8),
            };
            bytes[at] ^= rng.random_range(1..=255u8);
            (bytes, false)
        }
        4 => {
            // The content over 2–4 members, as `cat a.gz b.gz` or parallel compressors make.
            let mut cuts: Vec<usize> = (0..rng.random_range(1..4))
                .map(|_| rng.random_range(0..=content.len()))
                .collect();
            cuts.extend([0, content.len()]);
            cuts.sort_unstable();
            let mut bytes = Vec::new();
            for pair in cuts.windows(2) {
                bytes.extend(member(rng, &content[pair[0]..pair[1]]));
            }
            (bytes, true)
        }
        5 => {
            let mut bytes = whole;
            let garbage = rng.random_range(1..64);
            if rng.random_bool(0.5) {
                bytes.extend((0..garbage).map(|_| rng.random::<u8>()));
            } else {
                bytes.resize(bytes.len() + garbage, 0);
            }
            (bytes, false)
        }
        6 if rng.random_range(0..8) == 0 => {
            let bombs = bombs();
            (bombs[rng.random_range(0..bombs.len())].clone(), false)
        }
        _ => (mutate(rng, &whole), false),
    };
    GzCase {
        content: valid.then_some(content),
        bytes,
    }
}

/// The reader on the gzip stream: a valid stream reads as its content would raw; whatever
/// it reads goes through both parsers.
pub fn check_gz(case: &GzCase) -> Result<Verdict, String> {
    let path = Path::new("generated.gz");
    let read = idx::read_content(path, &case.bytes[..]);
    if let Some(content) = &case.content {
        let raw = idx::read_content(path, &content[..]);
        match (&read, &raw) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
            (a, b) => {
                return Err(format!(
                    "a valid gzip stream reads differently from its content: {:?} vs {:?}",
                    a.as_ref().map(Vec::len).map_err(ToString::to_string),
                    b.as_ref().map(Vec::len).map_err(ToString::to_string)
                ));
            }
        }
    }
    match read {
        Ok(content) => check_idx(&content),
        Err(e) => one_line(&e),
    }
}

fn run(base: u64, count: usize) {
    let summary = harness::run(
        "idx_gzip",
        base,
        count,
        gz_case,
        |case| &case.bytes,
        check_gz,
    );
    harness::assert_mixed(&summary, summary.cases / 20);
}

#[test]
fn generated_gzip_files() {
    run(2_000_000, harness::cases(30_000));
}

#[test]
#[ignore = "100,000 cases: cargo test --release --test fuzz -- --ignored"]
fn generated_gzip_files_full() {
    run(20_000_000, harness::cases(harness::FULL_CASES));
}
