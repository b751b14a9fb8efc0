//! Checks and lines of `mnist-gpu train` kept apart from its main flow: a run that diverged,
//! a batch that the training images cannot fill, a resumed run's step count and data.

use mnist_gpu::model_file::TrainingInfo;

/// The one line a diverged run ends with: where it diverged, why it likely did, and what is on
/// disk (the --save file as it was, or its last good checkpoint).
pub fn diverged_line(round: usize, what: &str, lr: f32, on_disk: &str) -> String {
    format!(
        "training diverged in round {round} (checked after each round's last batch): {what}; \
         the learning rate {} is likely too large, try a smaller --lr such as {}; {on_disk}",
        short(lr),
        short(tenth(lr))
    )
}

/// A tenth of `x`, shifted in decimal so 1e30 gives 1e29, not 9.999999e28.
fn tenth(x: f32) -> f32 {
    let text = format!("{x:e}");
    text.split_once('e')
        .and_then(|(mantissa, exponent)| {
            let exponent: i32 = exponent.parse().ok()?;
            format!("{mantissa}e{}", exponent - 1).parse().ok()
        })
        .unwrap_or(x / 10.0)
}

/// A rate in a few characters: `0.5`, `1e30` (not thirty-one digits).
fn short(x: f32) -> String {
    if x != 0.0 && !(1e-3..1e4).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Refuses a batch larger than the images left to train on when --validation took some, and an
/// explicit --batch-size larger than the training set: either would silently train on fewer
/// images per step than asked. A default batch over a small data set stays full-batch.
pub fn check_batch(
    explicit: bool,
    batch_size: usize,
    train_images: usize,
    validation: Option<usize>,
) -> anyhow::Result<()> {
    if batch_size <= train_images {
        return Ok(());
    }
    match validation {
        Some(held) => anyhow::bail!(
            "--validation {held} leaves {train_images} training images, fewer than a batch of \
             {batch_size}: hold out fewer images or pass a --batch-size of at most {train_images}"
        ),
        None if explicit => anyhow::bail!(
            "--batch-size {batch_size} is larger than the training set ({train_images} images); \
             {train_images} is full-batch gradient descent"
        ),
        None => Ok(()),
    }
}

/// The warning of a run that stops early with nothing kept to resume from.
pub fn unsaved_stop_warning(saved: bool, stop_after: usize, rounds: usize) -> Option<String> {
    (!saved && stop_after < rounds).then(|| {
        format!(
            "warning: --stop-after {stop_after} of {rounds} rounds without --save: nothing is kept \
             to --resume from"
        )
    })
}

/// A resumed model's step count against what its rounds over these images could have taken
/// (at most one step per image per round, whatever the batch sizes), when the model was
/// trained on this data (`fingerprint`, before any hold-out); other data says nothing.
pub fn check_steps(
    steps: u64,
    info: &TrainingInfo,
    fingerprint: &str,
    train_images: usize,
) -> anyhow::Result<()> {
    if info.data_fingerprint != fingerprint {
        return Ok(());
    }
    let most = (info.rounds_completed as u64).saturating_mul(train_images as u64);
    if steps > most {
        anyhow::bail!(
            "the model's optimizer_steps {steps} is more than {} rounds over {train_images} \
             images can take: the file was altered, resume from another",
            info.rounds_completed
        );
    }
    Ok(())
}

/// Warnings when a resumed run trains on other images than the saved run did: other data, or
/// another --validation hold-out of the same data.
pub fn resumed_data_warnings(
    info: &TrainingInfo,
    fingerprint: &str,
    validation: Option<usize>,
    dir: &std::path::Path,
) -> Vec<String> {
    let mut lines = Vec::new();
    if info.data_fingerprint != fingerprint {
        lines.push(format!(
            "warning: the model was trained on other data than {} (fingerprints differ)",
            dir.display()
        ));
    } else if info.validation != validation.unwrap_or(0) {
        lines.push(format!(
            "warning: the saved run held out the last {} training images for validation, this \
             run holds out {}: it trains on other images",
            info.validation,
            validation.unwrap_or(0)
        ));
    }
    lines
}

/// A percentage as typed, in at most a few digits: `98`, `99.5`, `1e-5`.
pub fn percent(value: f64) -> String {
    if value >= 0.01 {
        format!("{}", (value * 1e6).round() / 1e6)
    } else {
        format!("{value:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_short_and_say_what_to_do() {
        let line = diverged_line(2, "a weight of layer 1 became NaN", 1e30, "m is as it was");
        assert!(
            line.contains("round 2") && line.contains("smaller --lr"),
            "{line}"
        );
        assert!(!line.contains('\n') && line.contains("1e30") && line.contains("1e29"));
        assert_eq!(percent(98.0), "98");
        assert_eq!(percent(1e-300), "1e-300");
        assert!(percent(99.123456789).len() < 12);
        assert!(check_batch(false, 1000, 1, Some(59999)).is_err());
        assert!(check_batch(true, 1000, 500, None).is_err());
        assert!(check_batch(false, 1000, 500, None).is_ok());
        assert!(unsaved_stop_warning(false, 1, 4).is_some());
        assert!(unsaved_stop_warning(true, 1, 4).is_none());
        assert!(unsaved_stop_warning(false, 4, 4).is_none());
    }
}
