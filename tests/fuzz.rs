//! A brief seeded mutation fuzz of the three parsers that read files from outside: the IDX
//! parser, the model loader and the picture decoder. Valid inputs are mutated (bits flipped,
//! bytes overwritten, size fields set to extremes, cut short, extended) and every result must
//! be a value or an error: no panic, no abort, and no allocation beyond a bound, which a
//! counting allocator checks. The seed is fixed, so a failure reproduces.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use mnist_gpu::data::idx;
use mnist_gpu::model::Network;
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo};
use mnist_gpu::predict::decode_picture;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Records the largest single allocation the process asks for.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// No single allocation may exceed this: the decoder's own limit (512 MiB) plus room.
const ALLOCATION_BOUND: usize = 600 << 20;

/// Size-like values a mutation writes into 4-byte fields.
const EXTREMES: [u32; 8] = [
    0,
    1,
    28,
    60_000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    u32::MAX,
];

/// One random mutation of `input`.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        if bytes.is_empty() {
            bytes.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..6) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes[at] = rng.random(),
            2 => {
                // A big-endian and a little-endian size field, somewhere near the start.
                let at = rng.random_range(0..bytes.len().min(64));
                let value = EXTREMES[rng.random_range(0..EXTREMES.len())];
                let word = if rng.random() {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                for (i, b) in word.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            3 => bytes.truncate(at),
            4 => {
                let extra: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                bytes.splice(at..at, extra);
            }
            _ => {
                let len = rng.random_range(1..=8).min(bytes.len() - at);
                bytes.drain(at..at + len);
            }
        }
    }
    bytes
}

fn check_bound(what: &str) {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_BOUND,
        "{what}: an allocation of {largest} bytes"
    );
}

#[test]
fn idx_parser_survives_mutations() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let pixels: Vec<u8> = (0..3 * 784).map(|i| (i % 251) as u8).collect();
    let images = idx::encode_images(3, 28, 28, &pixels);
    let labels = idx::encode_labels(&[1, 2, 3]);
    let path = Path::new("fuzz");
    let (mut ok, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let seed = if rng.random() { &images } else { &labels };
        let input = mutate(&mut rng, seed);
        let parsed_images = idx::parse_images(path, &input).is_ok();
        let parsed_labels = idx::parse_labels(path, &input).is_ok();
        if parsed_images || parsed_labels {
            ok += 1;
        } else {
            rejected += 1;
        }
        // Gzip framing: the decompressor must fail cleanly too.
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(&input);
        let _ = idx::read_content(path, &gz[..]);
    }
    // Both kinds of outcome occurred: the mutations reach past the header checks.
    assert!(
        ok > 100 && rejected > 100,
        "{ok} accepted, {rejected} rejected"
    );
    check_bound("IDX");
}

#[test]
fn model_loader_survives_mutations() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let model = SavedModel {
        network: Network::new(&[6, 4], 1).expect("net"),
        training: TrainingInfo {
            rounds_completed: 2,
            batch_size: 10,
            learning_rate: 0.5,
            seed: 1,
            shuffle: true,
            engine: "cpu".into(),
            data_fingerprint: "sha256:00".into(),
            test_accuracy: Some(50.0),
            ..TrainingInfo::tutorial(2, 10, 0.5, 1)
        },
        optimizer_state: Default::default(),
    };
    let bytes = model_file::to_bytes(&model).expect("encode");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let path = Path::new("fuzz.safetensors");
    // Targeted edits of the JSON header: absurd layer sizes and tensor shapes.
    for (from, to) in [
        ("784,6,4,10", "784,4294967295,10"),
        ("784,6,4,10", "784,18446744073709551615,4,10"),
        ("784,6,4,10", "784,100000000,100000000,10"),
        ("[6,784]", "[4294967295,784]"),
        ("[6,784]", "[18446744073709551615,2]"),
    ] {
        if text.contains(from) {
            let edited = text.replacen(from, to, 1).into_bytes();
            assert!(model_file::from_bytes(path, &edited).is_err(), "{to}");
        }
    }
    let mut rejected = 0;
    for _ in 0..20_000 {
        let input = mutate(&mut rng, &bytes);
        rejected += usize::from(model_file::from_bytes(path, &input).is_err());
    }
    assert!(rejected > 4000, "{rejected}");
    check_bound("model");
}

#[test]
fn picture_decoder_survives_mutations() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let picture = image::RgbImage::from_fn(24, 20, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 12) as u8, ((x + y) * 5) as u8])
    });
    let seeds: Vec<Vec<u8>> = [
        image::ImageFormat::Png,
        image::ImageFormat::Jpeg,
        image::ImageFormat::Bmp,
        image::ImageFormat::Gif,
        image::ImageFormat::WebP,
        image::ImageFormat::Tiff,
    ]
    .into_iter()
    .map(|format| {
        let mut out = Cursor::new(Vec::new());
        let written = if format == image::ImageFormat::Gif {
            // GIF frames are RGBA.
            image::DynamicImage::ImageRgb8(picture.clone())
                .to_rgba8()
                .write_to(&mut out, format)
        } else {
            picture.write_to(&mut out, format)
        };
        written.expect("encode");
        out.into_inner()
    })
    .collect();
    for seed in &seeds {
        decode_picture("seed", seed).expect("every seed decodes");
    }
    let mut decoded = 0;
    for i in 0..20_000 {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        decoded += usize::from(decode_picture("fuzz", &input).is_ok());
    }
    assert!(
        decoded > 0,
        "no mutation decoded: the mutations are too coarse"
    );
    check_bound("pictures");
}
