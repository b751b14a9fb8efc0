//! Byte-level mutation of a valid input: bits flipped, bytes overwritten, size fields set to
//! extremes, cut short, extended. The generators apply it on top of their structural edits.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Size-like values a mutation writes into 4-byte fields.
pub const EXTREMES: [u32; 8] = [
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
pub fn mutate(rng: &mut ChaCha8Rng, input: &[u8]) -> Vec<u8> {
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

/// One of `values`, chosen at random.
pub fn pick<T: Copy>(rng: &mut ChaCha8Rng, values: &[T]) -> T {
    values[rng.random_range(0..values.len())]
}

/// Applies [`mutate`] with probability `chance`.
pub fn maybe_mutate(rng: &mut ChaCha8Rng, chance: f64, bytes: Vec<u8>) -> Vec<u8> {
    if rng.random_bool(chance) {
        mutate(rng, &bytes)
    } else {
        bytes
    }
}
