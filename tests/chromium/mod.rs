//! Starting headless Chromium through chromedriver, for the test files that drive a browser.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/skip.rs"]
mod skip;

/// What the browser tests need.
pub const CHROMIUM_INSTALL: &str = "apt-get install chromium chromium-driver";

/// Skips (or fails, under MNIST_GPU_REQUIRE_BROWSER=1) when something the test needs is
/// missing: `why`, and what to install or do for it to run.
pub fn missing(why: &str, what_to_install: &str) {
    if std::env::var("MNIST_GPU_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("MNIST_GPU_REQUIRE_BROWSER=1 but {why}");
    }
    skip::skip(why, what_to_install);
}

pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// A child process killed when the test ends, however it ends.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn start_chromedriver(driver: &Path) -> (Process, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (process, format!("http://127.0.0.1:{port}"))
}
