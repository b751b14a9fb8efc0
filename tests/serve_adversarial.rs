//! The `serve` binary against a hostile client, one named case per row: malformed and huge
//! ranges, garbage validators, path tricks, long URLs and many headers, pipelining and
//! `Connection: close`, methods the routes do not take, HEAD on the API, bodies too big or of
//! the wrong type, silent and half-open connections. docs/serving.md lists the cases.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod serve_support;
use serve_support::{Answer, parse, start_with_files};

/// Each data file's size in these cases.
const SIZE: u64 = 4096;
const FILE: &str = "/data/train-images-idx3-ubyte";

/// What a case's answer must be.
enum Expect {
    /// This status; a 4xx/5xx also has a JSON `error` body, and no answer names a server path.
    Status(u16),
    /// This status and a check of the whole answer.
    Check(u16, fn(&Answer) -> Result<(), String>),
    /// Every answer of a pipelined or repeated exchange, in order.
    Statuses(&'static [u16]),
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n").into_bytes()
}

fn method(verb: &str, path: &str) -> Vec<u8> {
    format!("{verb} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

fn header_is(answer: &Answer, name: &str, value: &str) -> Result<(), String> {
    match answer.header(name) {
        Some(v) if v == value => Ok(()),
        other => Err(format!("{name}: {other:?}, not {value}")),
    }
}

fn body_len(answer: &Answer, len: usize) -> Result<(), String> {
    if answer.body.len() == len {
        Ok(())
    } else {
        Err(format!("{} bytes of body, not {len}", answer.body.len()))
    }
}

/// All the answers in `bytes`, bodies cut by Content-Length.
fn all_answers(mut bytes: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    while let Some(answer) = parse(bytes) {
        statuses.push(answer.status);
        let head = bytes.len() - answer.body.len();
        let len: usize = answer
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        bytes = &bytes[(head + len).min(bytes.len())..];
    }
    statuses
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let long_path = format!("/data/{}", "a".repeat(70_000));
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big_header = format!("X-Big: {}\r\n", "b".repeat(500_000));
    // Kept alive after the first, closed after the second.
    let pipelined = [
        b"GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        get(FILE, ""),
    ]
    .concat();
    vec![
        // Ranges.
        ("range: a suffix", get(FILE, "Range: bytes=-10\r\n"), Check(206, |a| {
            header_is(a, "content-range", "bytes 4086-4095/4096")?;
            body_len(a, 10)
        })),
        ("range: an open end", get(FILE, "Range: bytes=4000-\r\n"), Check(206, |a| body_len(a, 96))),
        ("range: an end past the file is cut to it", get(FILE, "Range: bytes=4090-9999\r\n"), Check(206, |a| {
            header_is(a, "content-range", "bytes 4090-4095/4096")
        })),
        ("range: wholly past the end", get(FILE, "Range: bytes=5000-6000\r\n"), Check(416, |a| {
            header_is(a, "content-range", "bytes */4096")
        })),
        ("range: inverted", get(FILE, "Range: bytes=20-10\r\n"), Status(416)),
        ("range: negative numbers", get(FILE, "Range: bytes=--5\r\n"), Status(416)),
        ("range: a number past u64", get(FILE, "Range: bytes=0-99999999999999999999999\r\n"), Status(416)),
        ("range: not bytes (ignored)", get(FILE, "Range: items=0-5\r\n"), Check(200, |a| body_len(a, 4096))),
        ("range: several (whole file)", get(FILE, "Range: bytes=0-1,5-6\r\n"), Check(200, |a| body_len(a, 4096))),
        ("range: on HEAD", method("HEAD", FILE).then_insert(b"Range: bytes=0-9\r\n"), Check(206, |a| {
            header_is(a, "content-length", "10")?;
            body_len(a, 0)
        })),
        ("range: on the model card (ignored)", get("/api/model", "Range: bytes=0-3\r\n"), Status(200)),
        ("range: on the WebAssembly keeps its type", get("/pkg/mnist_gpu_web_bg.wasm", "Range: bytes=0-3\r\n"), Check(206, |a| {
            header_is(a, "content-type", "application/wasm")
        })),
        // Validators.
        ("if-none-match: garbage", get(FILE, "If-None-Match: garbage\r\n"), Status(200)),
        ("if-none-match: *", get(FILE, "If-None-Match: *\r\n"), Status(304)),
        ("if-match: another tag", get(FILE, "If-Match: \"nope\"\r\n"), Status(412)),
        ("if-modified-since: garbage", get(FILE, "If-Modified-Since: yesterday\r\n"), Status(200)),
        ("if-modified-since: long ago", get(FILE, "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"), Status(200)),
        // Paths.
        ("path: %2e%2e in /data/", get("/data/%2e%2e/Cargo.toml", ""), Status(404)),
        ("path: ..%2f in /data/", get("/data/..%2f..%2fetc%2fpasswd", ""), Status(404)),
        ("path: %2e%2e%2f in /pkg/", get("/pkg/%2e%2e%2fmnist_gpu_web.js", ""), Status(404)),
        ("path: a NUL in the name", get("/pkg/mnist_gpu_web.js%00", ""), Status(404)),
        ("path: a trailing slash", get(&format!("{FILE}/"), ""), Status(404)),
        ("path: another case", get("/data/TRAIN-IMAGES-IDX3-UBYTE", ""), Status(404)),
        ("path: a query is ignored", get(&format!("{FILE}?v=1"), ""), Check(200, |a| body_len(a, 4096))),
        ("path: 70 KB long", get(&long_path, ""), Status(414)),
        // Headers.
        ("headers: 200 of them", get("/api/model", &many_headers), Status(431)),
        ("headers: one of 500 KB", get("/api/model", &big_header), Status(431)),
        ("headers: a NUL in a value", get("/api/model", "X-A: a\0b\r\n"), Status(400)),
        // Chunked wins over Content-Length (RFC 9112, 6.3): an empty picture.
        ("headers: Content-Length and chunked", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), Status(422)),
        ("headers: an h2c upgrade is ignored", get("/api/model", "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"), Status(200)),
        // Connections.
        ("pipelined: two requests in one write", pipelined, Statuses(&[200, 200])),
        ("HTTP/1.0 without keep-alive closes", b"GET /api/model HTTP/1.0\r\n\r\n".to_vec(), Status(200)),
        ("absolute-form target", b"GET http://x/api/model HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), Status(200)),
        // Methods.
        ("method: PUT on a data file", method("PUT", FILE), Status(405)),
        ("method: DELETE on the web build", method("DELETE", "/pkg/mnist_gpu_web.js"), Status(405)),
        ("method: OPTIONS on a data file", method("OPTIONS", FILE), Status(405)),
        ("method: POST on the listing", method("POST", "/data/files.json"), Status(405)),
        ("method: TRACE on the page", method("TRACE", "/"), Status(405)),
        ("method: not a token", method("G@T", "/"), Status(400)),
        ("method: GET on predict", get("/api/predict", ""), Status(405)),
        ("HEAD on the model card", method("HEAD", "/api/model"), Check(200, |a| {
            header_is(a, "content-type", "application/json")?;
            body_len(a, 0)
        })),
        ("HEAD on the page", method("HEAD", "/"), Check(200, |a| body_len(a, 0))),
        // Bodies.
        ("predict: 50 MB declared", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n[".to_vec(), Status(413)),
        ("predict: text/plain", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".to_vec(), Status(415)),
        ("predict: no content type", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".to_vec(), Status(415)),
        ("predict: JSON nested 100000 deep", {
            let body = "[".repeat(100_000);
            format!("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes()
        }, Status(400)),
        ("predict: Expect 100-continue of a wrong type", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".to_vec(), Status(415)),
    ]
}

/// A request's bytes with a header added after the request line.
trait ThenInsert {
    fn then_insert(self, header: &[u8]) -> Vec<u8>;
}

impl ThenInsert for Vec<u8> {
    fn then_insert(mut self, header: &[u8]) -> Vec<u8> {
        let at = self.windows(2).position(|w| w == b"\r\n").expect("a line") + 2;
        self.splice(at..at, header.iter().copied());
        self
    }
}

fn check(name: &str, addr: SocketAddr, request: &[u8], expect: &Expect, root: &str) {
    let start = Instant::now();
    let bytes = serve_support::exchange(addr, request, Duration::from_secs(15));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(12), "{name}: took {took:?}");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(root), "{name}: a server path in {text}");
    if let Expect::Statuses(statuses) = expect {
        assert_eq!(all_answers(&bytes), *statuses, "{name}: {text}");
        return;
    }
    let answer = parse(&bytes).unwrap_or_else(|| panic!("{name}: no answer: {text:?}"));
    let (status, more) = match expect {
        Expect::Status(s) => (*s, None),
        Expect::Check(s, f) => (*s, Some(f)),
        Expect::Statuses(_) => unreachable!(),
    };
    assert_eq!(
        answer.status,
        status,
        "{name}: {}",
        &text[..text.len().min(600)]
    );
    if status >= 400 {
        assert!(
            answer.text().contains("\"error\""),
            "{name}: {}",
            answer.text()
        );
    }
    if let Some(more) = more
        && let Err(why) = more(&answer)
    {
        panic!("{name}: {why}: {}", &text[..text.len().min(600)]);
    }
}

#[test]
fn hostile_requests_get_their_answers_and_the_server_keeps_serving() {
    let home = tempfile::tempdir().expect("tempdir");
    let (server, _) = start_with_files(home.path(), SIZE);
    let root = home.path().to_string_lossy().into_owned();
    let cases = cases();
    let failed: Vec<&str> = cases
        .iter()
        .filter(|(name, request, expect)| {
            let run = || check(name, server.addr, request, expect, &root);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err()
        })
        .map(|(name, _, _)| *name)
        .collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
    let timed = connection_cases(server.addr);
    eprintln!(
        "serve: {} hostile cases answered as they should",
        cases.len() + timed
    );
    assert_eq!(serve_support::get(server.addr, "/api/model").status, 200);
}

/// Cases about a connection's life rather than one answer; returns how many.
fn connection_cases(addr: SocketAddr) -> usize {
    let open = || {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream
    };
    let until_closed = |mut stream: TcpStream| {
        let start = Instant::now();
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        (start.elapsed(), bytes)
    };
    // A silent connection, and one that sends its headers a byte a second (slowloris): both
    // closed around the header timeout (10 s), in parallel.
    std::thread::scope(|scope| {
        let silent = scope.spawn(|| until_closed(open()));
        let slow = scope.spawn(|| {
            let mut stream = open();
            let start = Instant::now();
            for byte in b"GET /api/model HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if stream.write_all(&[*byte]).is_err() || start.elapsed() > Duration::from_secs(18)
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            start.elapsed()
        });
        let (took, bytes) = silent.join().expect("silent");
        assert!(
            took < Duration::from_secs(13),
            "silent connection kept {took:?}"
        );
        assert!(bytes.is_empty());
        let took = slow.join().expect("slowloris");
        assert!(took < Duration::from_secs(14), "slowloris kept {took:?}");
    });
    // Connection: close: the server closes right after the answer.
    let mut stream = open();
    stream.write_all(&get("/api/model", "")).expect("send");
    let (took, bytes) = until_closed(stream);
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    assert_eq!(parse(&bytes).map(|a| a.status), Some(200));
    // Half-open: the client shuts its side after a file request and still gets the file.
    let mut stream = open();
    stream
        .write_all(format!("GET {FILE} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    let (_, bytes) = until_closed(stream);
    let answer = parse(&bytes).expect("an answer");
    assert_eq!((answer.status, answer.body.len()), (200, SIZE as usize));
    // A client gone mid-download leaves the server serving.
    let mut stream = open();
    stream.write_all(&get(FILE, "")).expect("send");
    drop(stream);
    4
}
