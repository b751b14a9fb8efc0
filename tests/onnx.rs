//! `mnist-gpu export` to ONNX, checked by the real runtime: models of every hidden activation,
//! both losses, with and without deskewing, and the `fast` and `best` presets' shapes are
//! exported, checked by `onnx.checker.check_model(full_check=True)` and run by ONNX Runtime
//! (tools/onnx_check.py) on the test images, raw; the library's own CPU inference
//! ([`Network::forward`] after the preprocessing `eval` applies) must give the same digit for
//! every image and outputs within [`TOLERANCE`].
//!
//! The Python comes from MNIST_GPU_PYTHON (a virtual environment with `onnx onnxruntime numpy
//! pillow`), else `python3`. Without those packages the tests say they skip ([`skip`]) and
//! pass, unless MNIST_GPU_REQUIRE_ONNX=1 (CI). With MNIST_GPU_DATA the models train one round
//! on the real MNIST and run on all 10,000 test images; without it, on a small fixture.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_one_line_error, run_binary, skip, write_fixture};
use mnist_gpu::data::Mnist;
use mnist_gpu::model_file;

/// `eprintln!` straight to the stream: the test harness captures `eprintln!`, and the table of
/// differences must show in plain `cargo test` output.
macro_rules! shout {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The largest difference allowed between an ONNX Runtime output and the library's, both in
/// [0, 1]. The two sum each layer's f32 products in different orders (and ONNX Runtime's
/// sigmoid, tanh and exp are vectorised approximations): a layer of n inputs may differ by
/// about n·2⁻²⁴·Σ|wᵢaᵢ|, about 1e-5 for 1200 inputs with Σ|wᵢaᵢ| ≈ 100; 1e-4 leaves room for
/// that to pass through two hidden layers.
const TOLERANCE: f64 = 1e-4;

/// The Python that has onnx, onnxruntime and numpy; `None` after a SKIPPED line (or a failure
/// under MNIST_GPU_REQUIRE_ONNX=1) when there is none.
fn onnx_python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("MNIST_GPU_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let probe = Command::new(&python)
        .args(["-c", "import onnx, onnxruntime, numpy"])
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_string(),
        Err(e) => e.to_string(),
    };
    let message = format!("{test}: no ONNX Runtime in {} ({why})", python.display());
    if std::env::var("MNIST_GPU_REQUIRE_ONNX").as_deref() == Ok("1") {
        panic!("MNIST_GPU_REQUIRE_ONNX=1 but {message}");
    }
    skip(
        &message,
        "python3 -m venv DIR && DIR/bin/pip install onnx onnxruntime numpy pillow, then set \
         MNIST_GPU_PYTHON=DIR/bin/python",
    );
    None
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// What tools/onnx_check.py found for one model.
struct Check {
    report: serde_json::Value,
}

impl Check {
    fn f64(&self, key: &str) -> f64 {
        self.report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {}", self.report))
    }
}

/// Exports `model`, computes the library's outputs for the raw test images of `data`, and has
/// ONNX Runtime run the export on them.
fn check_export(python: &Path, dir: &Path, model: &Path, data: &Mnist) -> Check {
    let onnx = model.with_extension("onnx");
    let out = run_binary(
        dir,
        &["export", "--model", utf8(model), "--out", utf8(&onnx)],
    );
    assert!(
        out.status.success(),
        "export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = model_file::load(model).expect("load the model");
    let net = &saved.network;
    let raw = &data.test;
    let mut seen = raw.clone();
    net.preprocess.apply_to_set(&mut seen);
    let pixels = seen.pixels();
    // The outputs on every core: each image on its own, so the order does not matter.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = seen.len().div_ceil(threads).max(1);
    let expected: Vec<f32> = std::thread::scope(|scope| {
        let jobs: Vec<_> = seen
            .images
            .chunks(share * pixels)
            .map(|images| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for image in images.chunks_exact(pixels) {
                        let input: Vec<f32> = image.iter().map(|&p| f32::from(p) / 255.0).collect();
                        out.extend(net.forward(&input));
                    }
                    out
                })
            })
            .collect();
        jobs.into_iter()
            .flat_map(|job| job.join().expect("forward"))
            .collect()
    });
    let stem = model
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 name");
    let files = |name: &str| dir.join(format!("{stem}.{name}"));
    let (images, want, labels, deskewed) = (
        files("images"),
        files("expected"),
        files("labels"),
        files("deskewed"),
    );
    std::fs::write(&images, &raw.images).expect("write images");
    let bytes: Vec<u8> = expected.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&want, bytes).expect("write outputs");
    std::fs::write(&labels, &raw.labels).expect("write labels");
    let mut args = vec![
        "tools/onnx_check.py",
        "--model",
        utf8(&onnx),
        "--images",
        utf8(&images),
        "--expected",
        utf8(&want),
        "--labels",
        utf8(&labels),
    ];
    if net.preprocess != mnist_gpu::ops::Preprocess::None {
        std::fs::write(&deskewed, &seen.images).expect("write deskewed");
        args.extend(["--deskewed", utf8(&deskewed)]);
    }
    let out = Command::new(python)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run tools/onnx_check.py");
    assert!(
        out.status.success(),
        "onnx_check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let check = Check { report };
    let r = &check.report;
    // The metadata travels: what the network is, how it was trained, what it reads.
    let meta = &r["metadata"];
    assert_eq!(
        meta["layer_sizes"],
        serde_json::json!(
            net.sizes()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        "{meta}"
    );
    assert_eq!(meta["activation"], net.activation.name());
    assert_eq!(meta["preprocess"], net.preprocess.name());
    assert_eq!(
        meta["data_fingerprint"],
        saved.training.data_fingerprint.as_str()
    );
    assert_eq!(
        r["producer"],
        format!("mnist-gpu {}", env!("CARGO_PKG_VERSION"))
    );
    let doc = r["doc_string"].as_str().expect("doc_string");
    assert!(doc.contains(&net.describe()), "{doc}");
    assert!(doc.contains("0–255"), "{doc}");
    check
}

/// Trains with `args` (after `train --cpu --data DIR --save FILE`) into `dir/name.safetensors`.
fn train(dir: &Path, data: &str, name: &str, args: &[&str]) -> PathBuf {
    let model = dir.join(format!("{name}.safetensors"));
    let mut all = vec!["train", "--cpu", "--data", data, "--save", utf8(&model)];
    all.extend_from_slice(args);
    let out = run_binary(dir, &all);
    assert!(
        out.status.success(),
        "train {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

#[test]
fn exports_of_every_activation_and_preset_shape_match_onnx_runtime() {
    let test = "exports_of_every_activation_and_preset_shape_match_onnx_runtime";
    let Some(python) = onnx_python(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (data_dir, real) = match std::env::var("MNIST_GPU_DATA") {
        Ok(d) => (PathBuf::from(d), true),
        Err(_) => {
            let fixture = dir.path().join("fixture");
            write_fixture(&fixture, 200, 100);
            shout!("{test}: on a 100-image fixture (MNIST_GPU_DATA runs all 10,000 test images)");
            (fixture, false)
        }
    };
    let data = Mnist::load(&data_dir).expect("load data");
    let data_arg = utf8(&data_dir);
    let tiny = |activation: &'static str, loss: &'static str, preprocess: &'static str| {
        (
            format!("{activation}-{loss}-{preprocess}"),
            vec![
                "--hidden",
                "16",
                "--rounds",
                "1",
                "--activation",
                activation,
                "--loss",
                loss,
                "--preprocess",
                preprocess,
            ],
        )
    };
    let models = vec![
        tiny("sigmoid", "mse", "none"),
        tiny("relu", "xent", "deskew"),
        tiny("tanh", "mse", "deskew"),
        tiny("gelu", "xent", "none"),
        tiny("silu", "xent", "deskew"),
        tiny("gelu", "mse", "deskew"),
        (
            "fast-deskew".into(),
            vec![
                "--preset",
                "fast",
                "--rounds",
                "1",
                "--preprocess",
                "deskew",
            ],
        ),
        ("best".into(), vec!["--preset", "best", "--rounds", "1"]),
    ];
    shout!(
        "onnx: model | images | largest output difference where the inputs agree (anywhere) | digits that differ | deskewed pixels that differ | ONNX Runtime accuracy (training's)"
    );
    for (name, args) in models {
        let model = train(dir.path(), data_arg, &name, &args);
        let check = check_export(&python, dir.path(), &model, &data);
        let r = &check.report;
        let saved = model_file::load(&model).expect("load");
        shout!(
            "onnx: {name} | {} | {:.2e} ({:.2e}) | {} | {} | {:.2}% ({}) | onnxruntime {}",
            r["images"],
            check.f64("max_abs_diff_same_input"),
            check.f64("max_abs_diff"),
            r["digits_differ"],
            r.get("deskewed_pixels_differ")
                .map_or("-".to_string(), |v| v.to_string()),
            check.f64("accuracy"),
            saved
                .training
                .test_accuracy
                .map_or("-".to_string(), |a| format!("{a:.2}%")),
            r["onnxruntime"].as_str().unwrap_or("?"),
        );
        assert_eq!(r["images"], data.test.len(), "{name}");
        assert_eq!(r["digits_differ"], 0, "{name}: {r}");
        assert_eq!(r["argmax_of_scores_differs"], 0, "{name}: {r}");
        assert!(
            check.f64("max_abs_diff_same_input") <= TOLERANCE,
            "{name}: {r}"
        );
        if r.get("deskewed_pixels_differ").is_some() {
            // The graph deskews in f64 like the library, but GridSample weighs the four
            // neighbours in another order: a pixel whose exact value is a whole level and a
            // half may round the other way. One grey level, in a few images at most.
            assert!(check.f64("deskewed_max_level_diff") <= 1.0, "{name}: {r}");
            let images = check.f64("images");
            assert!(
                check.f64("deskewed_images_differ") <= (images / 1000.0).max(1.0),
                "{name}: {r}"
            );
        }
        if let (true, Some(accuracy)) = (real, saved.training.test_accuracy) {
            // Training measured the same weights on the same images: to the hundredth.
            assert!(
                (check.f64("accuracy") - accuracy).abs() < 0.005,
                "{name}: {accuracy} {r}"
            );
        }
        if name == "fast-deskew" {
            if real {
                check_readme_snippet(&python, dir.path(), &model.with_extension("onnx"));
            } else {
                skip(
                    "docs/onnx.md's snippet needs a model trained on the real MNIST",
                    "set MNIST_GPU_DATA to the folder holding the four MNIST files",
                );
            }
        }
    }
}

/// docs/onnx.md's ten lines of Python read docs/examples/seven.png as a 7 with `onnx` (a model
/// trained on the real MNIST).
fn check_readme_snippet(python: &Path, dir: &Path, onnx: &Path) {
    let probe = Command::new(python)
        .args(["-c", "import PIL"])
        .output()
        .expect("run python");
    if !probe.status.success() {
        let message = "docs/onnx.md's snippet needs Pillow";
        if std::env::var("MNIST_GPU_REQUIRE_ONNX").as_deref() == Ok("1") {
            panic!("MNIST_GPU_REQUIRE_ONNX=1 but {message}");
        }
        skip(message, "pip install pillow");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/onnx.md")).expect("read docs/onnx.md");
    let after = doc
        .split("<!-- snippet: read_digit.py")
        .nth(1)
        .expect("the snippet's marker");
    let code = after
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a python block after the marker");
    assert!(code.lines().count() <= 10, "ten lines: {code}");
    let script = dir.join("read_digit.py");
    std::fs::write(&script, code).expect("write the snippet");
    let out = Command::new(python)
        .arg(&script)
        .arg(onnx)
        .arg(root.join("docs/examples/seven.png"))
        .output()
        .expect("run the snippet");
    assert!(
        out.status.success(),
        "the snippet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
}

#[test]
fn export_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let fixture = home.join("fixture");
    write_fixture(&fixture, 20, 10);
    let model = home.join("m.safetensors");
    let out = run_binary(
        home,
        &[
            "train",
            "--cpu",
            "--data",
            utf8(&fixture),
            "--hidden",
            "8",
            "--rounds",
            "1",
            "--save",
            utf8(&model),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = utf8(&model);

    // A file that is not a model.
    let junk = home.join("junk.safetensors");
    std::fs::write(&junk, b"not a model").expect("write");
    let onnx = home.join("m.onnx");
    let out = run_binary(
        home,
        &["export", "--model", utf8(&junk), "--out", utf8(&onnx)],
    );
    assert_one_line_error(&out, 1, &["cannot load the model", "junk.safetensors"]);
    assert!(!onnx.exists(), "nothing written");

    // A missing model.
    let out = run_binary(
        home,
        &[
            "export",
            "--model",
            "absent.safetensors",
            "--out",
            utf8(&onnx),
        ],
    );
    assert_one_line_error(&out, 1, &["absent.safetensors"]);

    // The output is the input.
    let same = home.join("m.onnx.safetensors");
    std::fs::copy(&model, &same).expect("copy");
    let out = run_binary(
        home,
        &[
            "export",
            "--model",
            utf8(&same),
            "--out",
            utf8(&same),
            "--format",
            "onnx",
        ],
    );
    assert_one_line_error(&out, 1, &["--out", "would destroy that input"]);
    assert_eq!(
        std::fs::read(&same).expect("read"),
        std::fs::read(&model).expect("read")
    );

    // A folder that does not exist.
    let out = run_binary(
        home,
        &[
            "export",
            "--model",
            m,
            "--out",
            utf8(&home.join("no/such/m.onnx")),
        ],
    );
    assert_one_line_error(&out, 1, &["--out", "does not exist"]);

    // An extension that names no format.
    let out = run_binary(
        home,
        &["export", "--model", m, "--out", utf8(&home.join("m.bin"))],
    );
    assert_one_line_error(&out, 1, &["--out", ".onnx", "--format onnx"]);

    // An existing ONNX file is replaced whole, and the export is a protobuf ModelProto:
    // field 1 (ir_version) first, as a varint.
    std::fs::write(&onnx, b"old").expect("write");
    let out = run_binary(home, &["export", "--model", m, "--out", utf8(&onnx)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&onnx).expect("read");
    assert_eq!(&bytes[..2], &[0x08, 9], "ir_version 9");
    let saved = model_file::load(&model).expect("load");
    assert_eq!(
        bytes,
        mnist_gpu::export::onnx::to_onnx_bytes(&saved).expect("export")
    );
}
