//! Helpers for the tests of the `serve` binary as a client sees it: a small model file, data
//! folders of chosen sizes, the server started and stopped, raw HTTP over loopback, and the
//! server's memory from /proc.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mnist_gpu::data::FILE_STEMS;
use mnist_gpu::model::Network;
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo};

#[path = "../common/mod.rs"]
pub mod common;

/// A small sigmoid network saved as `m.safetensors` in `dir`.
pub fn model_file(dir: &Path) -> PathBuf {
    let path = dir.join("m.safetensors");
    let network = Network::new(&[24], 5).expect("network");
    let saved = SavedModel {
        network,
        training: TrainingInfo::tutorial(1, 20, 0.5, 9),
        optimizer_state: Default::default(),
    };
    model_file::save(&path, &saved).expect("save model");
    path
}

/// The four raw data files in `dir`, each made `size` bytes long (the tail zeros, sparse on
/// disk): the server only streams them.
pub fn data_folder(dir: &Path, size: u64) -> Vec<PathBuf> {
    common::write_fixture(dir, 20, 10);
    FILE_STEMS
        .iter()
        .map(|stem| {
            let path = dir.join(stem);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open fixture");
            file.set_len(size).expect("pad fixture");
            path
        })
        .collect()
}

/// A fake web build (the two files `serve` looks for) in `dir`.
pub fn web_build(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("mnist_gpu_web.js"), "export default 1;\n").expect("write");
    std::fs::write(dir.join("mnist_gpu_web_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
}

/// A running `mnist-gpu serve`.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    /// stdout up to the line with the address.
    pub log: Vec<String>,
}

/// The binary (or `program`) run as `sh -c 'PREFIX; exec program serve ARGS'`, in a clean
/// environment with HOME inside `home`, plus `envs`; waits for the page's address.
pub fn start_in(
    home: &Path,
    program: &Path,
    shell_prefix: Option<&str>,
    args: &[&OsStr],
    envs: &[(&str, &OsStr)],
) -> Served {
    let mut command = match shell_prefix {
        Some(prefix) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                .arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .arg("serve")
        .args(["--port", "0", "--cpu"])
        .args(args)
        .env_remove("MNIST_GPU_DATA")
        .env_remove("MNIST_GPU_WEB")
        .env_remove("RUST_BACKTRACE")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("share"));
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mnist-gpu serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut log = Vec::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut stderr));
            panic!("the server stopped before serving: {log:?} {stderr}");
        };
        if let Some(at) = line.find("http://") {
            let url = &line[at + "http://".len()..];
            let end = url.find('/').unwrap_or(url.len());
            break url[..end].parse().expect("address");
        }
        log.push(line);
    };
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Served { child, addr, log }
}

/// The test binary itself, as [`start_in`].
/// A server of a fresh model under `home` with every file route in use: a data folder of
/// `size`-byte image files and a stand-in web build. Returns the server and the data files.
pub fn start_with_files(home: &Path, size: u64) -> (Served, Vec<PathBuf>) {
    let model = model_file(home);
    let data = home.join("data");
    let files = data_folder(&data, size);
    let web = home.join("web");
    web_build(&web);
    let server = start(
        home,
        &[
            "--model".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
            "--web".as_ref(),
            web.as_os_str(),
        ],
        &[],
    );
    (server, files)
}

pub fn start(home: &Path, args: &[&OsStr], envs: &[(&str, &OsStr)]) -> Served {
    start_in(
        home,
        Path::new(env!("CARGO_BIN_EXE_mnist-gpu")),
        None,
        args,
        envs,
    )
}

impl Served {
    /// Sends `signal` and waits (at most `within`) for the exit.
    pub fn stop(mut self, signal: &str, within: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, start.elapsed());
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the server did not stop within {within:?} of SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The most memory the server has held (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM");
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("a number");
        kib / 1024.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` as it is and reads until the server closes (or `timeout`); the head is
/// parsed, the rest is the body as sent (chunked encoding left as it is).
pub fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(timeout)).expect("timeout");
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// The first answer in `bytes`, or `None` when there is none.
pub fn parse(bytes: &[u8]) -> Option<Answer> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    })
}

/// One request on its own connection (`Connection: close` added), its answer parsed.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let bytes = exchange(addr, text.as_bytes(), Duration::from_secs(20));
    parse(&bytes).unwrap_or_else(|| {
        panic!(
            "no answer to {method} {path}: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

pub fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, &[])
}
