//! JSON bodies of `POST /api/predict`, written as text (so numbers like `1e309` and bytes that
//! are not UTF-8 can appear): 28×28 arrays whose numbers are in range, out of range, at the
//! limits of f32 and f64, or not numbers; wrong row counts and lengths; other JSON types;
//! nesting thousands deep; arrays of hundreds of thousands of elements (up to the body
//! limit); and bytes that are not UTF-8, a BOM or garbage spliced in.

use mnist_gpu::serve::api::{BODY_LIMIT, parse_array};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::harness::{self, Verdict};
use super::mutate::{maybe_mutate, pick};

/// Numbers as text: in range, at its edges, out of it, and past f32 and f64.
const NUMBERS: [&str; 24] = [
    "0",
    "1",
    "0.5",
    "-0",
    "-0.0",
    "1.0",
    "1e0",
    "0e999",
    "1.0000001",
    "0.99999999999999999",
    "-1e-45",
    "1e-46",
    "2",
    "-1",
    "1e38",
    "1e39",
    "3.5e38",
    "1e309",
    "-1e309",
    "1e-400",
    "123456789012345678901234567890",
    "0.00000000000000000000000000000000000000000001",
    "01",
    ".5",
];

/// Values that are not numbers.
const OTHERS: [&str; 10] = [
    "null",
    "true",
    "\"0.5\"",
    "NaN",
    "Infinity",
    "-Infinity",
    "{}",
    "[]",
    "[0.5]",
    "\"\u{0}\"",
];

fn value(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..5) {
        0 => pick(rng, &OTHERS).to_string(),
        1 | 2 => pick(rng, &NUMBERS).to_string(),
        3 => format!("{}", rng.random::<f64>() * 2.0 - 0.5),
        _ => format!("{}", rng.random::<f32>()),
    }
}

fn array(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    format!("[{}]", items.join(","))
}

/// A JSON body, mostly a 28×28 array with something wrong in it.
pub fn body(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let text = match rng.random_range(0..12) {
        0 => {
            let depth = pick(rng, &[2, 3, 127, 128, 129, 1000, 100_000]);
            format!("{}0.5{}", "[".repeat(depth), "]".repeat(depth))
        }
        1 => {
            // One huge row: up to the body limit.
            let n = pick(rng, &[29, 1000, 100_000, BODY_LIMIT / 2 - 2]);
            format!("[{}0]", "0,".repeat(n - 1))
        }
        2 => {
            let rows = pick(rng, &[0, 1, 27, 29, 100_000]);
            let row = format!("[{}0]", "0,".repeat(27));
            format!("[{}]", vec![row; rows].join(","))
        }
        3 => pick(
            rng,
            &[
                "",
                "null",
                "{}",
                "{\"pixels\": []}",
                "\"[]\"",
                "[",
                "]",
                "[[]]",
                "0",
            ],
        )
        .to_string(),
        _ => {
            // Rows of random levels, one or two cells or sizes then made wrong.
            let rows = if rng.random_range(0..10) == 0 {
                rng.random_range(26..31)
            } else {
                28
            };
            let mut cells: Vec<Vec<String>> = (0..rows)
                .map(|_| {
                    (0..28)
                        .map(|_| format!("{}", rng.random::<f32>()))
                        .collect()
                })
                .collect();
            for _ in 0..rng.random_range(0..3) {
                let row = rng.random_range(0..cells.len());
                match rng.random_range(0..8) {
                    0 => {
                        cells[row].pop();
                    }
                    1 => cells[row].push(value(rng)),
                    _ => {
                        let col = rng.random_range(0..cells[row].len());
                        cells[row][col] = value(rng);
                    }
                }
            }
            array(cells.into_iter().map(|row| array(row.into_iter())))
        }
    };
    let mut bytes = text.into_bytes();
    match rng.random_range(0..12) {
        0 => {
            let at = rng.random_range(0..=bytes.len());
            let junk: &[u8] = pick(
                rng,
                &[&[0xff][..], &[0xc3, 0x28], &[0xed, 0xa0, 0x80], &[0]],
            );
            bytes.splice(at..at, junk.iter().copied());
        }
        1 => bytes.splice(0..0, [0xef, 0xbb, 0xbf]).for_each(drop),
        2 => bytes.extend_from_slice(pick(rng, &[&b" \n\t"[..], b"garbage", b"]", b",[0]"])),
        _ => {}
    }
    maybe_mutate(rng, 0.1, bytes)
}

/// The body's parse: 784 values in `[0, 1]`, or a 400 with one line.
pub fn check_body(bytes: &[u8]) -> Result<Verdict, String> {
    match parse_array(bytes) {
        Ok(input) => {
            if input.len() != 784 || input.iter().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(format!(
                    "accepted {} values, some out of range",
                    input.len()
                ));
            }
            Ok(Verdict::Accepted)
        }
        Err(e) => {
            if e.status != 400 || e.message.trim().is_empty() || e.message.contains('\n') {
                return Err(format!("answer {}: {:?}", e.status, e.message));
            }
            Ok(Verdict::Rejected)
        }
    }
}

fn run(base: u64, count: usize) {
    let summary = harness::run(
        "api_json",
        base,
        count,
        body,
        |bytes| bytes,
        |bytes| check_body(bytes),
    );
    harness::assert_mixed(&summary, summary.cases / 20);
}

#[test]
fn generated_json_bodies() {
    run(5_000_000, harness::cases(4_000));
}

#[test]
#[ignore = "100,000 cases: cargo test --release --test fuzz -- --ignored"]
fn generated_json_bodies_full() {
    run(50_000_000, harness::cases(harness::FULL_CASES));
}
