//! Ctrl-C and SIGTERM. During training the first one asks the loop to stop after the round in
//! progress (a checkpoint being written is finished first), so the run ends cleanly with one
//! line saying where it stopped and what is on disk. A second one, or one outside training,
//! ends the process at once, removing any half-written temporary file first. Exit status 130,
//! as shells report a process ended by SIGINT.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Exit status of an interrupted run.
pub const EXIT_STATUS: u8 = 130;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
/// Whether a loop checks [`requested`] now (otherwise a signal ends the process at once).
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// What is on disk, for the line printed when the process ends at once.
static ON_DISK: Mutex<String> = Mutex::new(String::new());

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (Ctrl-C and Ctrl-Break on Windows).
pub fn install() {
    // Failing to install leaves the default (the process ends at once): not worth an error.
    let _ = ctrlc::set_handler(on_signal);
}

fn on_signal() {
    let count = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    if count == 1 && GRACEFUL.load(Ordering::SeqCst) {
        STOP_REQUESTED.store(true, Ordering::SeqCst);
        if std::io::stderr().is_terminal() {
            eprintln!("\nstopping after the round in progress (press Ctrl-C again to stop now)");
        }
        return;
    }
    mnist_gpu::atomic_file::remove_pending();
    let on_disk = ON_DISK.lock().map(|s| s.clone()).unwrap_or_default();
    if on_disk.is_empty() {
        eprintln!("interrupted: stopped at once");
    } else {
        eprintln!("interrupted: stopped at once; {on_disk}");
    }
    std::process::exit(EXIT_STATUS.into());
}

/// While `on`, a first signal only sets [`requested`], for the loop to stop by itself.
pub fn set_graceful(on: bool) {
    GRACEFUL.store(on, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Says what is on disk, for the line printed if the process must end at once.
pub fn set_on_disk(text: &str) {
    if let Ok(mut on_disk) = ON_DISK.lock() {
        *on_disk = text.to_string();
    }
}
