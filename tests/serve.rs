//! `serve` over loopback: the page, the API's answers (the same numbers as the library's
//! preprocessing and forward pass), a JSON 4xx for every kind of bad request while the server
//! keeps serving, slow clients cut off, concurrent clients, a bounded load test, and the binary
//! started and stopped with Ctrl-C. Every server binds 127.0.0.1 port 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mnist_gpu::engine::cpu::CpuInference;
use mnist_gpu::engine::gpu::inference::{GpuInference, INFERENCE_ROWS};
use mnist_gpu::engine::gpu::plan::KernelPlan;
use mnist_gpu::engine::{Inference, Pixels};
use mnist_gpu::model::{INPUTS, Network, argmax};
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo};
use mnist_gpu::ops::Preprocess;
use mnist_gpu::predict::{decode_picture, network_input};
use mnist_gpu::serve::files::WebFiles;
use mnist_gpu::serve::{self, AppState, EngineClassifier, ModelCard, NetworkClassifier, Predictor};
use serde_json::Value;

mod common;

/// A server on its own runtime thread; dropping it shuts it down and waits for it.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(network: &Network, header_timeout: Duration, body_timeout: Duration) -> Server {
        let (predictor, _worker) =
            Predictor::start(NetworkClassifier::new(network.clone())).expect("classifier");
        Server::with(predictor, network, header_timeout, body_timeout)
    }

    /// A server whose predictions run on the CPU's inference engine, as the binary's do
    /// without a GPU.
    fn on_cpu_engine(network: &Network) -> Server {
        let network_copy = network.clone();
        let (predictor, _worker) = Predictor::start_with(move || {
            Ok(EngineClassifier::new(Box::new(CpuInference::new(
                network_copy,
            ))))
        })
        .expect("classifier");
        Server::with(
            predictor,
            network,
            serve::HEADER_TIMEOUT,
            serve::BODY_TIMEOUT,
        )
    }

    fn with(
        predictor: Predictor,
        network: &Network,
        header_timeout: Duration,
        body_timeout: Duration,
    ) -> Server {
        Server::sharing(
            predictor,
            network,
            header_timeout,
            body_timeout,
            WebFiles::default(),
        )
    }

    /// A server that also shares `files` with the page's in-browser trainer.
    fn sharing(
        predictor: Predictor,
        network: &Network,
        header_timeout: Duration,
        body_timeout: Duration,
        files: WebFiles,
    ) -> Server {
        let card = ModelCard::new(
            &saved(network),
            "test network".into(),
            None,
            predictor.describe(),
        );
        let app = serve::router(AppState {
            predictor,
            preprocess: network.preprocess,
            card,
            body_timeout,
            files,
        });
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = serve::bind("127.0.0.1:0".parse().expect("addr"))
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                serve::run(listener, app, header_timeout, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server address");
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn default(network: &Network) -> Server {
        Server::start(network, serve::HEADER_TIMEOUT, serve::BODY_TIMEOUT)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn saved(network: &Network) -> SavedModel {
    SavedModel {
        network: network.clone(),
        training: TrainingInfo {
            rounds_completed: 4,
            batch_size: 20,
            learning_rate: 0.5,
            seed: 9,
            shuffle: true,
            engine: "cpu: test".into(),
            data_fingerprint: "sha256:00".into(),
            test_accuracy: Some(91.5),
            ..TrainingInfo::tutorial(4, 20, 0.5, 9)
        },
        optimizer_state: Default::default(),
    }
}

fn network() -> Network {
    Network::new(&[24], 5).expect("network")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status and parsed JSON body of a POST.
fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .expect("request");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {status}: {text}"));
    (status, json)
}

/// A grey PNG (0 black … 255 white).
fn png_bytes(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(pixels).expect("pixels");
    writer.finish().expect("finish");
    out
}

/// Black strokes of a round pen on a white `size`×`size` picture, like the page's pad.
fn drawing(size: usize, strokes: &[&[(f32, f32)]], pen: f32) -> Vec<u8> {
    let mut pixels = vec![255u8; size * size];
    let radius = pen / 2.0;
    for stroke in strokes {
        for pair in stroke.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            let steps = ((x1 - x0).hypot(y1 - y0) / 2.0).ceil().max(1.0) as usize;
            for s in 0..=steps {
                let t = s as f32 / steps as f32;
                let (cx, cy) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                for y in 0..size {
                    for x in 0..size {
                        if (x as f32 + 0.5 - cx).hypot(y as f32 + 0.5 - cy) <= radius {
                            pixels[y * size + x] = 0;
                        }
                    }
                }
            }
        }
    }
    pixels
}

/// A "7" and an "L" drawn on the page's 280-pixel pad with its 20-pixel pen.
fn seven() -> Vec<u8> {
    png_bytes(
        280,
        280,
        &drawing(280, &[&[(70.0, 50.0), (210.0, 50.0), (120.0, 240.0)]], 20.0),
    )
}

fn ell() -> Vec<u8> {
    png_bytes(
        280,
        280,
        &drawing(
            280,
            &[&[(100.0, 40.0), (100.0, 230.0), (190.0, 230.0)]],
            20.0,
        ),
    )
}

/// What the library says for a picture: the input `predict` makes and the network's outputs.
fn expected(network: &Network, picture: &[u8]) -> (Vec<f32>, Vec<f32>) {
    let image = decode_picture("p", picture).expect("decode");
    let input = network_input(network, Path::new("p"), &image).expect("input");
    let outputs = network.forward(&input);
    (input, outputs)
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

/// Checks an answer against the library's input and outputs; `tolerance` on the outputs is 0
/// for the plain forward pass and 1e-5 for the CPU engine (f32 sums in another order and its
/// fast sigmoid: relative error ≤ 4e-7 + 1e-7·|z|).
fn check_prediction(json: &Value, input: &[f32], outputs: &[f32], tolerance: f32) {
    let rows = json["input"].as_array().expect("input rows");
    assert_eq!(rows.len(), 28);
    let seen: Vec<f32> = rows.iter().flat_map(floats).collect();
    assert_eq!(seen, input, "the input the network saw");
    let got = floats(&json["outputs"]);
    assert_eq!(got.len(), outputs.len());
    for (g, w) in got.iter().zip(outputs) {
        assert!((g - w).abs() <= tolerance, "outputs {got:?} vs {outputs:?}");
    }
    assert_eq!(json["digit"].as_u64(), Some(u64::from(argmax(outputs))));
    let p = floats(&json["probabilities"]);
    assert_eq!(p.len(), 10);
    let sum: f32 = p.iter().sum();
    // Ten normalised f32 values: their sum is 1 up to a few roundings.
    assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
    let total: f32 = outputs.iter().sum();
    for (p, o) in p.iter().zip(outputs) {
        assert!(
            (p * total - o).abs() < 1e-5 + tolerance,
            "{p} vs {o}/{total}"
        );
    }
}

/// Posts the drawing of a seven to the binary serving at `url` (as its startup line gives it).
fn post_seven(url: &str) -> (u16, Value) {
    post(
        &agent(),
        &format!("{url}api/predict"),
        "image/png",
        &seven(),
    )
}

/// The test network, saved as `m.safetensors` in `dir`.
fn saved_network(dir: &Path) -> (PathBuf, Network) {
    let path = dir.join("m.safetensors");
    let network = network();
    model_file::save(&path, &saved(&network)).expect("save");
    (path, network)
}

/// Sends raw bytes and returns what the server answers before closing (or within 10 s).
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Streams `bytes` zero bytes as a chunked picture body from another thread (write errors
/// ignored: the server may answer and close early) and returns the answer.
fn streamed(addr: SocketAddr, bytes: usize) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n";
        writer.write_all(head)?;
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..bytes / chunk.len() {
            writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
            writer.write_all(&chunk)?;
            writer.write_all(b"\r\n")?;
        }
        writer.write_all(b"0\r\n\r\n")
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = sender.join();
    String::from_utf8_lossy(&answer).into_owned()
}

/// The in-browser trainer's files: the web build's two files and the four data files (the raw
/// one when both exist, as the command line reads them) under their own names, listed in `data/files.json`; any other name
/// is a 404, and without them each route says what is missing.
#[test]
fn the_trainer_fetches_its_webassembly_and_the_data_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir(&pkg).expect("mkdir");
    std::fs::write(pkg.join("mnist_gpu_web.js"), "export default 1;").expect("write");
    std::fs::write(pkg.join("mnist_gpu_web_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    let data = dir.path().join("data");
    let train = mnist_gpu::data::Dataset {
        images: vec![7; 3 * 784],
        labels: vec![1, 2, 3],
        rows: 28,
        cols: 28,
    };
    let mnist = mnist_gpu::data::Mnist::new(train.clone(), train, data.clone());
    mnist.save(&data, true).expect("gzipped fixture");
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), b"raw twin").expect("write");
    let files = WebFiles::find(Some(&pkg), Some(&data));
    let network = network();
    let (predictor, _worker) =
        Predictor::start(NetworkClassifier::new(network.clone())).expect("classifier");
    let server = Server::sharing(
        predictor,
        &network,
        serve::HEADER_TIMEOUT,
        serve::BODY_TIMEOUT,
        files,
    );
    let agent = agent();
    let get = |path: &str| {
        let mut response = agent.get(&server.url(path)).call().expect("get");
        let kind = response.headers()["content-type"]
            .to_str()
            .expect("type")
            .to_string();
        let body = response.body_mut().read_to_vec().expect("body");
        (response.status().as_u16(), kind, body)
    };
    let (status, kind, body) = get("/pkg/mnist_gpu_web_bg.wasm");
    assert_eq!(
        (status, kind.as_str(), body.len()),
        (200, "application/wasm", 8)
    );
    let (_, kind, _) = get("/pkg/mnist_gpu_web.js");
    assert!(kind.starts_with("text/javascript"), "{kind}");
    let (status, kind, body) = get("/data/files.json");
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let listing: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let names: Vec<&str> = listing["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        [
            "data/train-images-idx3-ubyte.gz",
            "data/train-labels-idx1-ubyte.gz",
            "data/t10k-images-idx3-ubyte.gz",
            "data/t10k-labels-idx1-ubyte"
        ]
    );
    for name in &names {
        let (status, _, body) = get(&format!("/{name}"));
        assert_eq!(status, 200, "{name}");
        assert_eq!(
            body,
            std::fs::read(dir.path().join(name)).expect("file"),
            "{name}"
        );
    }
    for path in [
        "/pkg/other.js",
        "/pkg/..%2FCargo.toml",
        "/data/t10k-labels-idx1-ubyte.gz",
        "/data/..%2Fpkg%2Fmnist_gpu_web.js",
    ] {
        let (status, _, body) = get(path);
        assert_eq!(status, 404, "{path}");
        assert!(String::from_utf8_lossy(&body).contains("error"), "{path}");
    }
    // Without a web build or a data folder, each route says what to do.
    let bare = Server::default(&network);
    for (path, says) in [
        ("/pkg/mnist_gpu_web_bg.wasm", "tools/build-web"),
        ("/data/files.json", "--data"),
    ] {
        let mut response = agent.get(&bare.url(path)).call().expect("get");
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body = response.body_mut().read_to_string().expect("body");
        assert!(body.contains(says), "{path}: {body}");
    }
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let server = Server::default(&network());
    let agent = agent();
    for (path, kind, needle) in [
        ("/", "text/html", "<canvas id=\"pad\""),
        // An inline icon: the browser asks the server for no favicon.ico (a 404 in its console).
        ("/", "text/html", "<link rel=\"icon\" href=\"data:,\">"),
        ("/app.js", "text/javascript", "api/predict"),
        ("/train.js", "text/javascript", "Trainer.new"),
        ("/style.css", "text/css", ".bars"),
    ] {
        let mut response = agent.get(&server.url(path)).call().expect("get");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        let content_type = headers["content-type"].to_str().expect("type");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
        let body = response.body_mut().read_to_string().expect("body");
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
}

#[test]
fn the_model_card_describes_the_network() {
    let server = Server::default(&network());
    let mut response = agent().get(&server.url("/api/model")).call().expect("get");
    assert_eq!(response.status().as_u16(), 200);
    let card: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(card["layers"], serde_json::json!([784, 24, 10]));
    assert_eq!(card["activation"], "sigmoid");
    assert_eq!(card["loss"], "sigmoid outputs, quadratic cost");
    assert_eq!(card["rounds"], 4);
    assert_eq!(card["test_accuracy"], 91.5);
    assert_eq!(card["source"], "test network");
}

#[test]
fn a_picture_gets_the_same_input_and_outputs_as_the_library() {
    let network = network();
    let server = Server::default(&network);
    let agent = agent();
    for picture in [seven(), ell()] {
        let (status, json) = post(&agent, &server.url("/api/predict"), "image/png", &picture);
        assert_eq!(status, 200, "{json}");
        let (input, outputs) = expected(&network, &picture);
        check_prediction(&json, &input, &outputs, 0.0);
    }
    // A network trained on deskewed images sees the picture deskewed.
    let deskewing = Network {
        preprocess: Preprocess::Deskew,
        ..network.clone()
    };
    let deskewing_server = Server::default(&deskewing);
    let (status, json) = post(
        &agent,
        &deskewing_server.url("/api/predict"),
        "image/png",
        &seven(),
    );
    assert_eq!(status, 200, "{json}");
    let (input, outputs) = expected(&deskewing, &seven());
    assert_ne!(
        input,
        expected(&network, &seven()).0,
        "the seven is slanted"
    );
    check_prediction(&json, &input, &outputs, 0.0);
    // Any image/* type and octet-stream are read as pictures too.
    let (status, _) = post(
        &agent,
        &server.url("/api/predict"),
        "application/octet-stream",
        &seven(),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_json_array_is_fed_to_the_network_as_it_is() {
    let network = network();
    let server = Server::default(&network);
    let input: Vec<f32> = (0..INPUTS)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let rows: Vec<&[f32]> = input.chunks(28).collect();
    let body = serde_json::to_vec(&rows).expect("json");
    let (status, json) = post(
        &agent(),
        &server.url("/api/predict"),
        "application/json; charset=utf-8",
        &body,
    );
    assert_eq!(status, 200, "{json}");
    check_prediction(&json, &input, &network.forward(&input), 0.0);
}

#[test]
fn every_bad_request_gets_a_json_4xx_and_the_server_keeps_serving() {
    let network = network();
    let server = Server::default(&network);
    let agent = agent();
    let url = server.url("/api/predict");
    let row = format!("[{}]", vec!["0"; 28].join(","));
    let short = format!("[{}]", vec![row.as_str(); 27].join(","));
    let bright = format!("[{}]", vec![row.as_str(); 28].join(",")).replacen('0', "3", 1);
    let mut huge_header = seven();
    huge_header[16..24].copy_from_slice(&[0, 1, 0, 0, 0, 1, 0, 0]); // 65536 × 65536
    let blank = png_bytes(60, 60, &[255u8; 3600]);
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("wrong content type", "text/plain", b"7".to_vec(), 415),
        ("form content type", "multipart/form-data", seven(), 415),
        (
            "malformed JSON",
            "application/json",
            b"[[0.5, ".to_vec(),
            400,
        ),
        (
            "JSON object",
            "application/json",
            b"{\"a\": 1}".to_vec(),
            400,
        ),
        ("27 rows", "application/json", short.into_bytes(), 400),
        (
            "value out of range",
            "application/json",
            bright.into_bytes(),
            400,
        ),
        (
            "not a picture",
            "image/png",
            b"plain text, not a picture".to_vec(),
            422,
        ),
        ("truncated PNG", "image/png", seven()[..200].to_vec(), 422),
        ("blank picture", "image/png", blank, 422),
        ("oversized picture", "image/png", huge_header, 413),
    ];
    for (what, content_type, body, status) in cases {
        let (got, json) = post(&agent, &url, content_type, &body);
        assert_eq!(got, status, "{what}: {json}");
        let message = json["error"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{what}: no error message in {json}");
    }
    // Requests refused on their headers: (what, request, status, what the answer holds).
    let refused: [(&str, &[u8], &str, &str); 3] = [
        (
            "no Content-Type at all",
            b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n7",
            "415",
            "{\"error\":",
        ),
        (
            "a compressed body, not read as if it were plain",
            b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\nConnection: close\r\n\r\n7",
            "415",
            "Content-Encoding gzip",
        ),
        (
            "a body over the limit, announced (answered before the body is sent)",
            b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5242880\r\n\r\n",
            "413",
            "{\"error\":",
        ),
    ];
    for (what, request, status, needle) in refused {
        let answer = raw(server.addr, request);
        let status_line = format!("HTTP/1.1 {status}");
        assert!(answer.starts_with(&status_line), "{what}: {answer}");
        assert!(answer.contains(needle), "{what}: {answer}");
    }
    // A body over the limit streamed in chunks without a length: cut off at the limit.
    let answer = streamed(server.addr, 5 * 1024 * 1024);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("{\"error\":"), "{answer}");
    // Unknown paths, paths climbing out of the page, and wrong methods.
    for path in [
        "/nope",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/src/serve/page/app.js",
        "/api/predict/",
        "//etc/passwd",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw(server.addr, request.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
        assert!(answer.contains("{\"error\":"), "{path}: {answer}");
    }
    let mut response = agent.get(&url).call().expect("get");
    assert_eq!(response.status().as_u16(), 405);
    let text = response.body_mut().read_to_string().expect("body");
    assert!(text.starts_with("{\"error\":"), "{text}");
    let (status, _) = post(&agent, &server.url("/api/model"), "image/png", &seven());
    assert_eq!(status, 405);

    // Still serving, with the right answer.
    let picture = ell();
    let (status, json) = post(&agent, &url, "image/png", &picture);
    assert_eq!(status, 200);
    let (input, outputs) = expected(&network, &picture);
    check_prediction(&json, &input, &outputs, 0.0);
}

#[test]
fn slow_clients_are_cut_off_and_others_still_served() {
    let network = network();
    let short = Duration::from_millis(300);
    let server = Server::start(&network, short, short);
    // Headers that never finish: the connection is closed soon after the header timeout.
    let start = Instant::now();
    let answer = raw(server.addr, b"POST /api/predict HTTP/1.1\r\nHost: x\r\n");
    let waited = start.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "closed after {waited:?}: {answer}"
    );
    // A body that never finishes: a JSON 408.
    let start = Instant::now();
    let answer = raw(
        server.addr,
        b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n\x89PNG");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("{\"error\":"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // A kept-alive connection that goes quiet after its answer is closed as well.
    let start = Instant::now();
    let answer = raw(server.addr, b"GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let waited = start.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "idle connection kept {waited:?}"
    );
    let (status, _) = post(&agent(), &server.url("/api/predict"), "image/png", &seven());
    assert_eq!(status, 200);
}

/// `clients` threads each sending `per_client` pictures (alternating two drawings), every
/// answer checked; returns each request's latency.
fn hammer(server: &Server, network: &Network, clients: usize, per_client: usize) -> Vec<Duration> {
    let pictures = [seven(), ell()];
    let digits: Vec<u64> = pictures
        .iter()
        .map(|p| u64::from(argmax(&expected(network, p).1)))
        .collect();
    let url = server.url("/api/predict");
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                let (pictures, digits, url) = (&pictures, &digits, &url);
                scope.spawn(move || {
                    let agent = agent();
                    let mut latencies = Vec::with_capacity(per_client);
                    for r in 0..per_client {
                        let which = (c + r) % 2;
                        let start = Instant::now();
                        let (status, json) = post(&agent, url, "image/png", &pictures[which]);
                        latencies.push(start.elapsed());
                        assert_eq!(status, 200, "{json}");
                        assert_eq!(json["digit"].as_u64(), Some(digits[which]));
                    }
                    latencies
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("client"))
            .collect()
    })
}

#[test]
fn concurrent_clients_all_get_their_own_answers() {
    let network = network();
    let server = Server::default(&network);
    let latencies = hammer(&server, &network, 8, 10);
    assert_eq!(latencies.len(), 80);
}

/// The load test of BENCHMARKS.md: 2,000 pictures of the page's size from 16 clients at once,
/// classified by the CPU engine as in the binary.
/// Every answer must be right; the figures are printed, never asserted (run with
/// `--nocapture` to read them).
#[test]
fn load_2000_requests_from_16_clients_without_errors() {
    let network = Network::new(&[128], 5).expect("network");
    let server = Server::on_cpu_engine(&network);
    let start = Instant::now();
    let mut latencies = hammer(&server, &network, 16, 125);
    let elapsed = start.elapsed();
    assert_eq!(latencies.len(), 2000);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "load: 2000 requests (280×280 PNG drawings, 784-128-10) from 16 clients in {:.2} s: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        2000.0 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
}

type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts the binary with `args` (MNIST_GPU_DATA removed) and reads stdout up to the line with
/// the page's URL; returns the child, the rest of stdout, the URL and the lines before it.
fn spawn_serve(args: &[&std::ffi::OsStr]) -> (std::process::Child, Lines, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args(args)
        .env_remove("MNIST_GPU_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mnist-gpu serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut before = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .expect("line");
        if let Some(at) = line.find("http://") {
            let url = &line[at..];
            break url[..url.find(' ').unwrap_or(url.len())].to_string();
        }
        before.push(line);
    };
    (child, lines, url, before)
}

/// Ctrl-C (`INT`) or `systemctl stop` (`TERM`): a clean shutdown whose last line is
/// `stopped`, and exit status 130 like every interrupted command.
fn interrupt(mut child: std::process::Child, lines: Lines, signal: &str) -> String {
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "exit status {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    stderr
}

#[test]
fn without_a_model_the_binary_trains_a_quick_one_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_fixture(dir.path(), 40, 10);
    let (child, lines, url, before) = spawn_serve(&[
        "serve".as_ref(),
        "--cpu".as_ref(),
        "--data".as_ref(),
        dir.path().as_os_str(),
        "--port".as_ref(),
        "0".as_ref(),
    ]);
    let said = before.join("\n");
    assert!(
        said.contains("no --model given: training a quick model first"),
        "{said}"
    );
    assert!(said.contains("quick model trained in"), "{said}");
    let mut response = agent().get(&format!("{url}api/model")).call().expect("get");
    let card: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(
        card["source"],
        "a quick model trained when the server started"
    );
    assert!(card["rounds"].as_u64() >= Some(1));
    assert!(card["trained_at"].is_string());
    let (status, json) = post_seven(&url);
    assert_eq!(status, 200, "{json}");
    let stderr = interrupt(child, lines, "TERM");
    assert!(!stderr.contains("error:"), "{stderr}");
}

#[test]
fn the_binary_serves_a_saved_model_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, network) = saved_network(dir.path());
    let (child, lines, url, _) = spawn_serve(&[
        "serve".as_ref(),
        "--model".as_ref(),
        path.as_os_str(),
        "--cpu".as_ref(),
        "--port".as_ref(),
        "0".as_ref(),
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut response = agent().get(&format!("{url}api/model")).call().expect("get");
    let card: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(card["layers"], serde_json::json!([784, 24, 10]));
    let (status, json) = post_seven(&url);
    assert_eq!(status, 200);
    let (input, outputs) = expected(&network, &seven());
    check_prediction(&json, &input, &outputs, 1e-5);

    assert_eq!(
        card["source"], "m.safetensors",
        "the card names the file only"
    );
    let stderr = interrupt(child, lines, "INT");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn bad_flags_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, needle) in [
        (
            vec![
                "serve",
                "--model",
                "/nonexistent/m.safetensors",
                "--port",
                "0",
            ],
            "cannot load the model",
        ),
        (vec!["serve", "--host", "example", "--port", "0"], "--host"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
            .args(&args)
            .env_remove("MNIST_GPU_DATA")
            .env("HOME", dir.path())
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .output()
            .expect("run");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(needle),
            "{stderr}"
        );
    }
}

/// The inference engines the server uses (CPU, and GPU when there is one) against the plain
/// forward pass, for more images than one GPU chunk takes, twice on the same engine (the
/// second call finds the buffers holding the first's values).
#[test]
fn inference_engines_classify_pictures_like_the_network() {
    let network = Network::new(&[37, 12], 11).expect("network");
    let images = INFERENCE_ROWS + 6;
    // Values on MNIST's 256 grey levels, so the GPU's byte images hold them exactly.
    let inputs: Vec<f32> = (0..images * INPUTS)
        .map(|i| ((i * 7919 + i / 3) % 256) as f32 / 255.0)
        .collect();
    let want: Vec<f32> = inputs
        .chunks(INPUTS)
        .flat_map(|image| network.forward(image))
        .collect();
    let mut engines: Vec<Box<dyn Inference>> = vec![Box::new(CpuInference::new(network.clone()))];
    if let Some(context) = common::gpu_context() {
        let plan = KernelPlan::default_for(&context.info, &context.limits);
        engines.push(Box::new(
            GpuInference::new(context, plan, &network).expect("gpu inference"),
        ));
    }
    for mut engine in engines {
        for _ in 0..2 {
            let got = engine.outputs(Pixels::Values(&inputs)).expect("outputs");
            assert_eq!(got.len(), images * 10, "{}", engine.describe());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                // f32 sums of 784 products in another order, and the fast sigmoid (relative
                // error ≤ 4e-7 + 1e-7·|z|): outputs in (0, 1) agree to 1e-5; NaN fails.
                assert!(
                    (g - w).abs() <= 1e-5,
                    "{}: output {i}: {g} vs {w}",
                    engine.describe()
                );
            }
        }
    }
}

/// `serve --backend vulkan`: the predictions run on the GPU engine (lavapipe in CI). Skipped
/// without a Vulkan adapter, unless MNIST_GPU_REQUIRE_GPU=1.
#[test]
fn the_binary_predicts_on_the_gpu_with_backend_vulkan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, network) = saved_network(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args(["serve", "--backend", "vulkan", "--port", "0", "--model"])
        // The kernel tuner's choice goes to a folder of the test's, not the user's cache.
        .env("MNIST_GPU_CACHE_DIR", dir.path())
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mnist-gpu serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut engine = String::new();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(described) = line.strip_prefix("predictions: ") {
                    engine = described.to_string();
                }
                if let Some(at) = line.find("http://") {
                    let url = &line[at..];
                    break url[..url.find(' ').unwrap_or(url.len())].to_string();
                }
            }
            _ => {
                let mut stderr = String::new();
                let _ = child
                    .stderr
                    .take()
                    .expect("stderr")
                    .read_to_string(&mut stderr);
                let _ = child.wait();
                if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                    panic!("MNIST_GPU_REQUIRE_GPU=1 but serve --backend vulkan failed: {stderr}");
                }
                common::skip(
                    &format!("serve --backend vulkan: {}", stderr.trim()),
                    common::GPU_INSTALL,
                );
                return;
            }
        }
    };
    assert!(engine.starts_with("gpu: "), "{engine}");
    let (status, json) = post_seven(&url);
    assert_eq!(status, 200, "{json}");
    let (input, _) = expected(&network, &seven());
    // The GPU holds pixels as bytes: it sees the input on MNIST's 256 grey levels.
    let levels: Vec<f32> = input.iter().map(|v| (v * 255.0).round() / 255.0).collect();
    let outputs = network.forward(&levels);
    let got = floats(&json["outputs"]);
    for (g, w) in got.iter().zip(&outputs) {
        // f32 sums in another order: outputs in (0, 1) agree to 1e-5.
        assert!((g - w).abs() <= 1e-5, "{got:?} vs {outputs:?}");
    }
    assert_eq!(json["digit"].as_u64(), Some(u64::from(argmax(&outputs))));
    let stderr = interrupt(child, lines, "INT");
    assert!(!stderr.contains("error:"), "{stderr}");
}

/// A client that half-closes its connection once its request is sent (`nc -N`, some scripts)
/// still gets the answer, every time.
#[test]
fn a_client_that_half_closes_still_gets_its_answer() {
    let server = Server::start(&network(), serve::HEADER_TIMEOUT, serve::BODY_TIMEOUT);
    for attempt in 0..20 {
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(b"GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "attempt {attempt}: {answer:?}"
        );
        assert!(answer.contains("\"layers\""), "attempt {attempt}: {answer}");
    }
}

/// Requests hyper cannot parse itself (a garbage request line, HTTP/0.9, a bad or repeated
/// Content-Length, a request line or headers over its limits) get the same JSON error body as
/// every other 4xx, not an empty one.
#[test]
fn malformed_http_gets_a_json_error_too() {
    let server = Server::start(&network(), serve::HEADER_TIMEOUT, serve::BODY_TIMEOUT);
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let big_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2_000_000)
    );
    let cases: [(&[u8], &str); 6] = [
        (b"GARBAGE\r\n\r\n", "400"),
        (b"GET /\r\n\r\n", "400"),
        (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400"),
        (
            b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n12",
            "400",
        ),
        (long_line.as_bytes(), "414"),
        (big_headers.as_bytes(), "431"),
    ];
    for (request, status) in cases {
        let answer = raw(server.addr, request);
        let shown = &request[..request.len().min(40)];
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{}: {answer}",
            String::from_utf8_lossy(shown)
        );
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let json: Value = serde_json::from_str(body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {answer}",
                String::from_utf8_lossy(shown)
            )
        });
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
}

/// Weights so large that the sums overflow: the API answers with an error naming the overflow,
/// never digit 0 with null probabilities.
#[test]
fn outputs_that_overflow_are_an_error_not_digit_zero() {
    // ReLU units pass the overflow on and softmax turns it into NaN (sigmoid would saturate).
    let mut network = Network {
        activation: mnist_gpu::ops::Activation::Relu,
        loss: mnist_gpu::ops::Loss::Xent,
        ..network()
    };
    for layer in &mut network.layers {
        layer.weights.iter_mut().for_each(|w| *w = 3e38);
    }
    let server = Server::default(&network);
    let (status, json) = post(&agent(), &server.url("/api/predict"), "image/png", &seven());
    assert_eq!(status, 500, "{json}");
    assert!(json.to_string().contains("outputs overflow"), "{json}");
    assert!(json.get("digit").is_none(), "{json}");
}
