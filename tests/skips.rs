//! A test that cannot run says so in a plain `cargo test`: the harness captures `println!`
//! and `eprintln!` and shows neither for a test that passes, so a skip printed that way reads
//! as a pass. Every skip goes through `common::skip`, which writes past the capture and names
//! what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The word a skip line starts with (split, so this file does not match itself).
const WORD: &str = concat!("SKIP", "PED");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read tests/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// No test file prints a skip line itself (with `println!`, `eprintln!` or a write of its
/// own): the word appears in code only in the helper.
#[test]
fn every_skip_goes_through_the_helper() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let helper = tests.join("common").join("skip.rs");
    let mut files = Vec::new();
    rust_files(&tests, &mut files);
    let mut offenders = Vec::new();
    for file in files.iter().filter(|f| **f != helper) {
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && code.contains(WORD) {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, code));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "print skips with common::skip (or chromium::missing), which shows in a plain \
         `cargo test`:\n{}",
        offenders.join("\n")
    );
    let helper = std::fs::read_to_string(&helper).expect("read the helper");
    assert!(!helper.contains("println!(") && !helper.contains("eprintln!("));
}

#[test]
#[ignore = "run by skip_lines_show_in_a_plain_test_run, in a child process"]
fn probe_that_skips() {
    common::skip("the probe skips", "nothing");
}

/// The helper's line reaches the terminal of a run that captures output (the default).
#[test]
fn skip_lines_show_in_a_plain_test_run() {
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--ignored",
            "--exact",
            "probe_that_skips",
            "--test-threads=2",
        ])
        .output()
        .expect("run the probe");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{WORD} probe_that_skips: the probe skips (to run it: nothing)"
        )),
        "stderr: {stderr}\nstdout: {stdout}"
    );
}
