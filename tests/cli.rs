//! The binary on bad input: a non-zero exit and exactly one clear line on stderr, never a panic
//! or a backtrace, and no training started for a bad setting.

use std::path::Path;
use std::process::Output;

use common::assert_one_line_error;
use mnist_gpu::data::{FILE_STEMS, idx};

mod common;

/// A tiny valid data set (not MNIST) saved raw into `dir`.
fn write_fixture(dir: &Path) {
    common::write_fixture(dir, 20, 10);
}

fn run(home: &Path, args: &[&str]) -> Output {
    common::run_binary(home, args)
}

/// A fixture folder with file `stem` (raw) replaced by `bytes`.
fn fixture_with(stem: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path());
    std::fs::write(dir.path().join(stem), bytes).expect("write bad file");
    dir
}

fn train_on(dir: &Path, extra: &[&str]) -> Output {
    let data = dir.to_str().expect("utf-8 path");
    let mut args = vec!["train", "--cpu", "--data", data];
    args.extend_from_slice(extra);
    run(dir, &args)
}

#[test]
fn a_good_fixture_trains() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path());
    let metrics = dir.path().join("m.jsonl");
    let output = train_on(
        dir.path(),
        &[
            "--rounds",
            "2",
            "--batch-size",
            "5",
            "--metrics",
            metrics.to_str().expect("utf-8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // The fixture is not MNIST: accepted with a one-line notice.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not the standard MNIST"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("round 2/2"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&metrics)
            .expect("metrics")
            .lines()
            .count(),
        2
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = idx::encode_images(20, 28, 28, &[0; 20 * 784]);
    bytes[3] = 0x01;
    let dir = fixture_with(FILE_STEMS[0], &bytes);
    let output = train_on(dir.path(), &[]);
    assert_one_line_error(&output, 1, &[FILE_STEMS[0], "magic 2049, expected 2051"]);
}

#[test]
fn truncated_file() {
    let bytes = idx::encode_images(10, 28, 28, &[0; 10 * 784]);
    let dir = fixture_with(FILE_STEMS[2], &bytes[..bytes.len() - 1]);
    let output = train_on(dir.path(), &[]);
    assert_one_line_error(&output, 1, &[FILE_STEMS[2], "truncated"]);
}

#[test]
fn count_mismatch() {
    let dir = fixture_with(FILE_STEMS[1], &idx::encode_labels(&[1; 19]));
    let output = train_on(dir.path(), &[]);
    assert_one_line_error(&output, 1, &[FILE_STEMS[1], "19 labels but", "20 images"]);
}

#[test]
fn explicit_folder_missing_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path());
    std::fs::remove_file(dir.path().join(FILE_STEMS[3])).expect("rm");
    let output = train_on(dir.path(), &[]);
    assert_one_line_error(&output, 1, &[FILE_STEMS[3]]);
    // Nothing was downloaded into the user's folder.
    assert!(!dir.path().join(format!("{}.gz", FILE_STEMS[3])).exists());
}

#[test]
fn missing_data_offline() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = run(home.path(), &["train", "--cpu", "--offline"]);
    assert_one_line_error(&output, 1, &["--offline", "mnist-gpu download", "--data"]);
}

#[test]
fn bad_settings_fail_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path());
    // Exit status 1 for settings that parse but cannot work, 2 for values that do not parse
    // (usage errors); the flag and the value are named either way.
    let cases: [(&[&str], i32, &[&str]); 14] = [
        (&["--hidden", "0"], 1, &["--hidden", "'0'"]),
        (&["--hidden", "x"], 1, &["--hidden", "'x'"]),
        (&["--hidden", "16,"], 1, &["--hidden", "'16,'"]),
        (&["--lr", "-1"], 2, &["--lr", "'-1'", "above 0"]),
        (&["--lr", "NaN"], 2, &["--lr", "'NaN'", "finite"]),
        (
            &["--batch-size", "0"],
            2,
            &["--batch-size", "'0'", "at least 1"],
        ),
        (&["--rounds", "0"], 2, &["--rounds", "'0'", "at least 1"]),
        (
            &["--rounds", "-1"],
            2,
            &["--rounds", "'-1'", "not negative"],
        ),
        (&["--seed", "-1"], 2, &["--seed", "'-1'", "not negative"]),
        (&["--seed", "abc"], 2, &["--seed", "'abc'", "whole number"]),
        (&["--eval-every", "-3"], 2, &["--eval-every", "'-3'"]),
        (&["--batch-size", "1.5"], 2, &["--batch-size", "'1.5'"]),
        (&["--bogus"], 2, &["--bogus", "mnist-gpu train --help"]),
        (
            &["--batch-size", "21"],
            1,
            &["--batch-size 21", "20 images"],
        ),
    ];
    for (flags, code, needles) in cases {
        let output = train_on(dir.path(), flags);
        let stdout = assert_one_line_error(&output, code, needles);
        assert!(stdout.is_empty(), "{flags:?} started: {stdout}");
    }
}

#[test]
fn unwritable_metrics_fails_before_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path());
    let output = train_on(dir.path(), &["--metrics", "/nonexistent/dir/m.jsonl"]);
    let stdout = assert_one_line_error(&output, 1, &["--metrics", "/nonexistent/dir"]);
    assert!(stdout.is_empty(), "training started: {stdout}");
    let folder = dir.path().to_str().expect("utf-8");
    let output = train_on(dir.path(), &["--metrics", folder]);
    assert_one_line_error(&output, 1, &["--metrics", "is a folder"]);
}

#[test]
fn download_with_refused_connection() {
    let home = tempfile::tempdir().expect("tempdir");
    let target = home.path().join("data");
    let output = run(
        home.path(),
        &common::download_args(&target, "http://127.0.0.1:1/"),
    );
    assert_one_line_error(
        &output,
        1,
        &["download failed", "127.0.0.1:1", FILE_STEMS[0]],
    );
    // The folder it would have created is not left behind.
    assert!(!target.exists());
}
