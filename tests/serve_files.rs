//! The `serve` binary's files as a client sees them: the web build and the data streamed from
//! disk with HEAD, ranges and validators, in bounded memory; only regular files; no server path
//! in any answer; where the web build is looked for; what a missing data file is called; HTTP/2
//! refused in its own words; the page without a web build.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

mod serve_support;
use serve_support::{
    data_folder, get, model_file, request, start, start_in, start_with_files, web_build,
};

const MIB: u64 = 1024 * 1024;

/// HEAD reads nothing, one range is a 206, ETag and Last-Modified give 304s, and each file
/// keeps its type, `nosniff` and `no-cache`.
#[test]
fn files_stream_with_ranges_validators_and_their_types() {
    let home = tempfile::tempdir().expect("tempdir");
    let (server, files) = start_with_files(home.path(), 3 * MIB);
    let addr = server.addr;
    let name = "/data/train-images-idx3-ubyte";
    let whole = std::fs::read(&files[0]).expect("read");

    let head = request(addr, "HEAD", name, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("3145728"));
    assert!(head.body.is_empty());
    assert_eq!(head.header("cache-control"), Some("no-cache"));
    assert_eq!(head.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        head.header("content-type"),
        Some("application/octet-stream")
    );
    let etag = head.header("etag").expect("an ETag").to_string();
    let modified = head
        .header("last-modified")
        .expect("a Last-Modified")
        .to_string();

    let part = request(addr, "GET", name, &[("Range", "bytes=100-199")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 100-199/3145728"));
    assert_eq!(part.body, whole[100..200]);

    let full = get(addr, name);
    assert_eq!((full.status, full.body.len()), (200, whole.len()));
    assert!(full.body == whole);

    let same = request(addr, "GET", name, &[("If-None-Match", &etag)]);
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());
    let same = request(addr, "GET", name, &[("If-Modified-Since", &modified)]);
    assert_eq!(same.status, 304);
    let other = request(
        addr,
        "GET",
        name,
        &[("If-None-Match", "\"something-else\"")],
    );
    assert_eq!(other.status, 200);

    let wasm = get(addr, "/pkg/mnist_gpu_web_bg.wasm");
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("x-content-type-options"), Some("nosniff"));
    assert!(wasm.header("etag").is_some());
    let js = get(addr, "/pkg/mnist_gpu_web.js");
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(js.body, b"export default 1;\n");
}

/// 64 downloads at once of a training-images file of MNIST's size (47 MB) from a server
/// limited to 1 GB of address space: each arrives whole (read whole into memory, they would
/// need 3 GB).
#[test]
fn sixty_four_downloads_at_once_fit_in_a_gigabyte_of_address_space() {
    let home = tempfile::tempdir().expect("tempdir");
    let model = model_file(home.path());
    let data = home.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    data_folder(&data, 4096);
    let images = data.join("train-images-idx3-ubyte");
    let size = 47_040_016u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&images)
        .and_then(|f| f.set_len(size))
        .expect("pad");
    let server = start_in(
        home.path(),
        Path::new(env!("CARGO_BIN_EXE_mnist-gpu")),
        Some("ulimit -v 1000000"),
        &[
            "--model".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ],
        &[],
    );
    let addr = server.addr;
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..64)
            .map(|_| {
                scope.spawn(move || {
                    let mut stream = TcpStream::connect(addr).expect("connect");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(60)))
                        .expect("timeout");
                    stream
                        .write_all(
                            b"GET /data/train-images-idx3-ubyte HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        )
                        .expect("send");
                    let mut buf = vec![0u8; 256 * 1024];
                    let mut head = Vec::new();
                    let mut body = 0u64;
                    loop {
                        let n = stream.read(&mut buf).expect("read");
                        if n == 0 {
                            break;
                        }
                        if body == 0 && !head.ends_with(b"\r\n\r\n") {
                            // Still in the head: keep it, count what follows it.
                            head.extend_from_slice(&buf[..n]);
                            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                                body = (head.len() - end - 4) as u64;
                                head.truncate(end + 4);
                                assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
                            }
                        } else {
                            body += n as u64;
                        }
                    }
                    body
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .collect()
    });
    let elapsed = start.elapsed();
    let peak = server.peak_rss_mib();
    // Straight to the stream, past the harness's capture: CI's log shows the figures.
    let _ = writeln!(
        std::io::stderr().lock(),
        "serve: 64 parallel downloads of a {size}-byte file under `ulimit -v 1000000`: {:.1} s, {:.0} MB/s in all, server peak RSS {peak:.0} MiB",
        elapsed.as_secs_f64(),
        (64 * size) as f64 / 1e6 / elapsed.as_secs_f64()
    );
    assert!(counts.iter().all(|&c| c == size), "{counts:?}");
    let (status, _) = server.stop("INT", Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{status}");
}

/// A data file swapped for a FIFO gets a quick error (opening it would wait for a writer),
/// Ctrl-C still stops the server at once, and no answer names a server path.
#[test]
fn a_fifo_in_place_of_a_data_file_is_refused_and_ctrl_c_still_stops() {
    let home = tempfile::tempdir().expect("tempdir");
    let model = model_file(home.path());
    let data = home.path().join("data");
    let files = data_folder(&data, 4096);
    let server = start(
        home.path(),
        &[
            "--model".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ],
        &[],
    );
    std::fs::remove_file(&files[1]).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&files[1])
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // A folder in place of another: not a regular file either.
    std::fs::remove_file(&files[2]).expect("remove");
    std::fs::create_dir(&files[2]).expect("mkdir");
    let root = home.path().to_string_lossy().into_owned();
    for (name, method) in [
        ("train-labels-idx1-ubyte", "GET"),
        ("train-labels-idx1-ubyte", "HEAD"),
        ("t10k-images-idx3-ubyte", "GET"),
    ] {
        let start = Instant::now();
        let answer = request(server.addr, method, &format!("/data/{name}"), &[]);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name} took {:?}",
            start.elapsed()
        );
        assert_eq!(answer.status, 500, "{method} {name}: {}", answer.text());
        if method == "GET" {
            let text = answer.text();
            assert!(text.contains("not a regular file"), "{text}");
            assert!(!text.contains(&root) && !text.contains("/data"), "{text}");
        }
    }
    // A file gone since the start: a 404 that names it, not where it was.
    std::fs::remove_file(&files[3]).expect("remove");
    let gone = get(server.addr, "/data/t10k-labels-idx1-ubyte");
    assert_eq!(gone.status, 404);
    assert!(
        gone.text().contains("t10k-labels-idx1-ubyte"),
        "{}",
        gone.text()
    );
    assert!(!gone.text().contains(&root), "{}", gone.text());
    // A client still waiting on the FIFO must not hold the server up either.
    let mut waiting = TcpStream::connect(server.addr).expect("connect");
    waiting
        .write_all(b"GET /data/train-labels-idx1-ubyte HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let (status, took) = server.stop("INT", Duration::from_secs(8));
    let _ = writeln!(
        std::io::stderr().lock(),
        "serve: stopped {took:?} after SIGINT with a FIFO in the data folder"
    );
    assert_eq!(status.code(), Some(130), "{status}");
}

/// `--data` lacking a file, or naming no folder: the log line and `data/files.json` name what
/// is missing (the JSON without the folder's path).
#[test]
fn a_missing_data_file_or_folder_is_named() {
    let home = tempfile::tempdir().expect("tempdir");
    let model = model_file(home.path());
    let data = home.path().join("data");
    let files = data_folder(&data, 4096);
    std::fs::remove_file(&files[3]).expect("remove");
    let root = home.path().to_string_lossy().into_owned();
    let nowhere = home.path().join("nowhere");
    for (dir, says) in [
        (&data, "lacks t10k-labels-idx1-ubyte(.gz)"),
        (&nowhere, "(nowhere) does not exist"),
    ] {
        let server = start(
            home.path(),
            &[
                "--model".as_ref(),
                model.as_os_str(),
                "--data".as_ref(),
                dir.as_os_str(),
            ],
            &[],
        );
        let log = server.log.join("\n");
        assert!(log.contains(says), "{log}");
        assert!(log.contains(&*dir.to_string_lossy()), "{log}");
        let listing = get(server.addr, "/data/files.json");
        assert_eq!(listing.status, 404);
        let text = listing.text();
        assert!(text.contains(says), "{text}");
        assert!(!text.contains(&root), "{text}");
    }
}

/// An installed binary (`~/.cargo/bin/mnist-gpu`: no `web` folder beside its own) finds the
/// build `tools/build-web` installs in the user data folder; without one it says where it
/// looked. An empty MNIST_GPU_WEB counts as unset.
#[test]
fn an_installed_binary_finds_the_web_build_in_the_user_data_folder() {
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let home = scratch.path();
    let bin = home.join("cargo").join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let program = bin.join("mnist-gpu");
    let built = env!("CARGO_BIN_EXE_mnist-gpu");
    if std::fs::hard_link(built, &program).is_err() {
        std::fs::copy(built, &program).expect("copy the binary");
    }
    let model = model_file(home);
    let args = ["--model".as_ref(), model.as_os_str()];
    let installed = home.join("share").join("mnist-gpu").join("web");

    let bare = start_in(home, &program, None, &args, &[]);
    let log = bare.log.join("\n");
    assert!(log.contains("in-browser training: not built"), "{log}");
    assert!(log.contains(&*installed.to_string_lossy()), "{log}");
    assert!(
        log.contains(&*home.join("cargo").join("web").to_string_lossy()),
        "{log}"
    );
    drop(bare);

    web_build(&installed);
    let empty = OsStr::new("");
    let server = start_in(home, &program, None, &args, &[("MNIST_GPU_WEB", empty)]);
    let log = server.log.join("\n");
    assert!(
        log.contains(&format!("in-browser training: {}", installed.display())),
        "{log}"
    );
    let js = get(server.addr, "/pkg/mnist_gpu_web.js");
    assert_eq!(
        (js.status, js.body.as_slice()),
        (200, &b"export default 1;\n"[..])
    );
}

/// HTTP/2 with prior knowledge (`curl --http2-prior-knowledge`) gets HTTP/2's own refusal:
/// SETTINGS, then GOAWAY with HTTP_1_1_REQUIRED and a line of text.
#[test]
fn http2_with_prior_knowledge_gets_a_goaway_that_asks_for_http_1_1() {
    let home = tempfile::tempdir().expect("tempdir");
    let model = model_file(home.path());
    let server = start(home.path(), &["--model".as_ref(), model.as_os_str()], &[]);
    let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    opening.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let bytes = serve_support::exchange(server.addr, &opening, Duration::from_secs(10));
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let length = u32::from_be_bytes([0, bytes[at], bytes[at + 1], bytes[at + 2]]) as usize;
        let kind = bytes[at + 3];
        let payload = bytes.get(at + 9..at + 9 + length).expect("a whole frame");
        frames.push((kind, payload.to_vec()));
        at += 9 + length;
    }
    assert_eq!(at, bytes.len(), "{bytes:?}");
    assert_eq!(
        frames.first().map(|f| f.0),
        Some(4),
        "SETTINGS first: {frames:?}"
    );
    let (_, goaway) = frames.iter().find(|f| f.0 == 7).expect("a GOAWAY");
    assert_eq!(goaway[4..8], 13u32.to_be_bytes(), "HTTP_1_1_REQUIRED");
    let text = String::from_utf8_lossy(&goaway[8..]);
    assert!(text.contains("HTTP/1.1"), "{text}");
    // HTTP/1.1 still works on the same server.
    assert_eq!(get(server.addr, "/api/model").status, 200);
}

/// Without a web build the page's trainer panel must still load and say so: the trainer's
/// module is imported dynamically (a static import's 404 would stop the whole panel), and the
/// status line names a softmax model's probabilities as such.
#[test]
fn the_page_imports_its_trainer_dynamically_and_names_softmax_probabilities() {
    let home = tempfile::tempdir().expect("tempdir");
    let model = model_file(home.path());
    // An empty --web folder: a web build beside the binary (target/web) must not be found.
    let empty = home.path().join("no-web-build");
    std::fs::create_dir(&empty).expect("mkdir");
    let server = start(
        home.path(),
        &[
            "--model".as_ref(),
            model.as_os_str(),
            "--web".as_ref(),
            empty.as_os_str(),
        ],
        &[],
    );
    let train = get(server.addr, "/train.js").text();
    let static_import = train
        .lines()
        .any(|l| l.trim_start().starts_with("import ") && l.contains("./pkg/"));
    assert!(!static_import, "a static import of ./pkg/");
    assert!(train.contains("await import(\"./pkg/mnist_gpu_web.js\")"));
    assert!(train.contains("not built: run tools/build-web"));
    let pkg = get(server.addr, "/pkg/mnist_gpu_web.js");
    assert_eq!(pkg.status, 404);
    let app = get(server.addr, "/app.js").text();
    assert!(app.contains("softmax probability"));
}
