//! Sizes checked before allocating: a request too large for this machine's memory is one clear
//! error that says what and how much, never an aborted allocation.

use crate::{Error, Result};

/// Rows an engine evaluates at once (the larger of this and the batch is kept resident).
const EVAL_ROWS: u128 = 2000;

/// Bytes of memory available to this process now: Linux's `MemAvailable` (free memory plus
/// what the kernel can reclaim at once); `None` where the system does not tell.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `1.5 GB`, `318.0 GB`, `12.0 MB`: decimal units, as people read memory sizes.
pub fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Fails when `bytes` (for `what`) exceed the memory available now.
pub fn check(what: &str, bytes: u128) -> Result<()> {
    check_against(what, bytes, available_bytes())
}

/// [`check`] against a given amount of memory (`None`: unknown, so only absurd sizes fail).
pub fn check_against(what: &str, bytes: u128, available: Option<u64>) -> Result<()> {
    // Without a figure, anything beyond what a 64-bit address space can hold still fails.
    let limit = available.map_or(1u128 << 47, u128::from);
    if bytes > limit {
        let have = match available {
            Some(have) => format!("this machine has {} available", human(have.into())),
            None => "more than this machine can address".into(),
        };
        return Err(Error::TooLarge(format!(
            "{what} would need {} of memory; {have}",
            human(bytes)
        )));
    }
    Ok(())
}

/// Weights and biases of a network with these layer sizes (inputs first).
pub fn parameters(sizes: &[usize]) -> u128 {
    sizes
        .windows(2)
        .map(|pair| pair[0] as u128 * pair[1] as u128 + pair[1] as u128)
        .sum()
}

/// What an engine holds to train a network with these sizes on `images` images (both splits):
/// the parameters, their gradients and two optimiser moments, the activations and errors of a
/// batch (or of an evaluation chunk), the batch input, the CPU engine's index of a batch's lit
/// pixels (at most a row number and 4 values per tile of 4 pixels) and the images as f32, 4
/// bytes a value.
pub fn training_bytes(sizes: &[usize], batch: usize, images: usize) -> u128 {
    let neurons: u128 = sizes.iter().skip(1).map(|&s| s as u128).sum();
    let inputs = sizes.first().copied().unwrap_or(0) as u128;
    let batch = batch as u128;
    let values = 4 * parameters(sizes)
        + (batch.max(EVAL_ROWS) + batch) * neurons
        + batch * inputs
        + batch * inputs.div_ceil(4) * 5
        + images as u128 * inputs;
    4 * values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_words() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1_500_000_000), "1.5 GB");
        assert_eq!(human(318_000_000_000), "318.0 GB");
    }

    #[test]
    fn too_much_is_an_error_that_says_how_much() {
        let bytes = 4 * parameters(&[784, 100_000_000, 10]);
        let err = check_against("the network", bytes, Some(8 << 30)).expect_err("too large");
        let text = err.to_string();
        assert!(text.contains("318.0 GB"), "{text}");
        assert!(text.contains("8.6 GB available"), "{text}");
        assert!(check_against("x", 1 << 20, Some(8 << 30)).is_ok());
        assert!(check_against("x", u128::MAX, None).is_err());
    }

    #[test]
    fn the_tutorial_network_fits_easily() {
        let bytes = training_bytes(&[784, 128, 10], 1000, 70_000);
        // The images as f32 dominate: 70000 · 784 · 4 = 219.5 MB.
        assert!((200_000_000..300_000_000).contains(&bytes), "{bytes}");
    }
}
