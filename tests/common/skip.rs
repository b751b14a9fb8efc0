//! The one way a test says it did not run: [`skip`].

use std::io::Write;

/// Says on the terminal that the calling test did not run, why, and what to install (or set)
/// for it to run. Written straight to the stream: the test harness captures `println!` and
/// `eprintln!` and shows neither for a test that passes, so a skip printed that way looks
/// exactly like a pass.
pub fn skip(why: &str, what_to_install: &str) {
    let thread = std::thread::current();
    let test = thread
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("a test");
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {why} (to run it: {what_to_install})"
    );
}
