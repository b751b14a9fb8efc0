//! Runs that go wrong numerically: a diverged run ends with one line and leaves the --save file
//! as it was; save and load refuse the same broken models (non-finite weights or moments, a
//! step count no run could reach); a model whose outputs overflow gives an error, not a digit;
//! a validation hold-out is recorded so eval and --resume recognise the data.

use std::path::Path;

use common::{assert_one_line_error, run_binary, write_fixture};
use mnist_gpu::model_file::{self, SavedModel};

mod common;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20, 10);
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Trains the small network of the reported case on the fixture and saves it to `model`.
fn train_small(dir: &Path, model: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--cpu",
        "--data",
        s(dir),
        "--hidden",
        "8",
        "--loss",
        "xent",
        "--activation",
        "relu",
        "--batch-size",
        "10",
        "--save",
        s(model),
    ];
    args.extend_from_slice(extra);
    let out = run_binary(dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The file's bytes with metadata `key` set to `value` (the tensors untouched).
fn with_metadata(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).expect("header");
    header["__metadata__"][key] = serde_json::Value::String(value.into());
    let mut text = serde_json::to_vec(&header).expect("json");
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

#[test]
fn a_diverged_run_ends_with_one_line_and_keeps_the_saved_model() {
    let dir = fixture();
    let model = dir.path().join("m.safetensors");
    let metrics = dir.path().join("m.jsonl");
    // Adam at the largest rate a float holds diverges on the fixture within a round (the
    // tiny data set keeps plain SGD's weights finite, if useless, where MNIST's go to NaN).
    let extra = ["--rounds", "4", "--stop-after", "1", "--optimizer", "adam"];
    train_small(dir.path(), &model, &extra);
    let before = std::fs::read(&model).expect("model");
    let out = run_binary(
        dir.path(),
        &[
            "train",
            "--cpu",
            "--data",
            s(dir.path()),
            "--resume",
            s(&model),
            "--lr",
            "3e38",
            "--save",
            s(&model),
            "--metrics",
            s(&metrics),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for needle in ["training diverged in round 2", "smaller --lr", "as it was"] {
        assert!(errors[0].contains(needle), "{needle}: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read(&model).expect("model"),
        before,
        "--save replaced"
    );
    // The metrics hold only the rounds before the divergence: nothing non-finite.
    let lines = std::fs::read_to_string(&metrics).unwrap_or_default();
    assert!(!lines.contains("NaN") && !lines.contains("null"), "{lines}");
    let eval = run_binary(
        dir.path(),
        &[
            "eval",
            "--cpu",
            "--data",
            s(dir.path()),
            "--model",
            s(&model),
        ],
    );
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
}

#[test]
fn a_fresh_diverged_run_saves_nothing() {
    let dir = fixture();
    let model = dir.path().join("new.safetensors");
    let out = run_binary(
        dir.path(),
        &[
            "train",
            "--cpu",
            "--data",
            s(dir.path()),
            "--hidden",
            "8",
            "--loss",
            "xent",
            "--activation",
            "relu",
            "--batch-size",
            "10",
            "--rounds",
            "3",
            "--lr",
            "1e30",
            "--save",
            s(&model),
        ],
    );
    assert_one_line_error(
        &out,
        1,
        &["training diverged in round 1", "--lr", "was not written"],
    );
    assert!(!model.exists());
}

/// A change that makes a model unloadable.
type Spoil = Box<dyn Fn(&mut SavedModel)>;

#[test]
fn save_refuses_what_load_would_refuse() {
    let dir = fixture();
    let path = dir.path().join("m.safetensors");
    train_small(dir.path(), &path, &["--rounds", "1", "--optimizer", "adam"]);
    let good = model_file::load(&path).expect("load");
    let broken: Vec<(&str, Spoil)> = vec![
        (
            "NaN weight",
            Box::new(|m| m.network.layers[0].weights[3] = f32::NAN),
        ),
        (
            "infinite bias",
            Box::new(|m| m.network.layers[1].biases[0] = f32::INFINITY),
        ),
        (
            "NaN first moment",
            Box::new(|m| m.optimizer_state.first[0][0] = f32::NAN),
        ),
        (
            "negative second moment",
            Box::new(|m| m.optimizer_state.second[1][0] = -1.0),
        ),
        (
            "short moment",
            Box::new(|m| {
                m.optimizer_state.second[0].pop();
            }),
        ),
        (
            "steps beyond any run",
            Box::new(|m| m.optimizer_state.steps = u64::MAX),
        ),
    ];
    for (name, spoil) in broken {
        let mut model = good.clone();
        spoil(&mut model);
        let target = dir.path().join("out.safetensors");
        assert!(model_file::save(&target, &model).is_err(), "{name} saved");
        assert!(!target.exists(), "{name} wrote a file");
    }
    let again = dir.path().join("again.safetensors");
    model_file::save(&again, &good).expect("a good model saves");
    assert_eq!(model_file::load(&again).expect("loads"), good);
}

#[test]
fn a_tampered_step_count_is_refused_on_load_and_resume() {
    let dir = fixture();
    let path = dir.path().join("m.safetensors");
    train_small(
        dir.path(),
        &path,
        &["--rounds", "4", "--stop-after", "1", "--optimizer", "adam"],
    );
    let bytes = std::fs::read(&path).expect("model");
    let huge = dir.path().join("huge.safetensors");
    std::fs::write(
        &huge,
        with_metadata(&bytes, "optimizer_steps", &u64::MAX.to_string()),
    )
    .expect("write");
    let err = model_file::load(&huge).expect_err("u64::MAX steps");
    assert!(err.to_string().contains("optimizer_steps"), "{err}");
    let out = run_binary(
        dir.path(),
        &[
            "train",
            "--cpu",
            "--data",
            s(dir.path()),
            "--resume",
            s(&huge),
        ],
    );
    assert_one_line_error(&out, 1, &["optimizer_steps"]);
    // Within what a file can claim, but more than one round over 20 images can take.
    let many = dir.path().join("many.safetensors");
    std::fs::write(&many, with_metadata(&bytes, "optimizer_steps", "1000")).expect("write");
    let out = run_binary(
        dir.path(),
        &[
            "train",
            "--cpu",
            "--data",
            s(dir.path()),
            "--resume",
            s(&many),
        ],
    );
    assert_one_line_error(&out, 1, &["optimizer_steps 1000", "altered"]);
}

#[test]
fn outputs_that_overflow_are_an_error_not_a_digit() {
    let dir = fixture();
    let path = dir.path().join("m.safetensors");
    train_small(dir.path(), &path, &["--rounds", "1"]);
    let mut model = model_file::load(&path).expect("load");
    for layer in &mut model.network.layers {
        layer.weights.iter_mut().for_each(|w| *w = 3e38);
    }
    let big = dir.path().join("big.safetensors");
    model_file::save(&big, &model).expect("finite weights save");
    let picture = dir.path().join("dot.png");
    image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (10..18).contains(&x) && (10..18).contains(&y) {
            0
        } else {
            255
        }])
    })
    .save(&picture)
    .expect("png");
    let out = run_binary(dir.path(), &["predict", "--model", s(&big), s(&picture)]);
    let stdout = assert_one_line_error(&out, 1, &["outputs overflow"]);
    assert!(!stdout.contains("NaN"), "{stdout}");
    let out = run_binary(
        dir.path(),
        &["eval", "--cpu", "--data", s(dir.path()), "--model", s(&big)],
    );
    assert_one_line_error(&out, 1, &["outputs overflow"]);
}

#[test]
fn a_validation_hold_out_is_recorded_so_eval_and_resume_agree() {
    let dir = fixture();
    let path = dir.path().join("m.safetensors");
    train_small(
        dir.path(),
        &path,
        &["--rounds", "3", "--stop-after", "1", "--validation", "5"],
    );
    assert_eq!(
        model_file::load(&path).expect("load").training.validation,
        5
    );
    let eval = run_binary(
        dir.path(),
        &[
            "eval",
            "--cpu",
            "--data",
            s(dir.path()),
            "--model",
            s(&path),
        ],
    );
    let stdout = String::from_utf8_lossy(&eval.stdout);
    assert!(
        eval.status.success() && !stdout.contains("other training data"),
        "{stdout}"
    );
    let resume = |validation: &str, rounds: &str| {
        run_binary(
            dir.path(),
            &[
                "train",
                "--cpu",
                "--data",
                s(dir.path()),
                "--resume",
                s(&path),
                "--validation",
                validation,
                "--rounds",
                rounds,
            ],
        )
    };
    let same = resume("5", "2");
    let stderr = String::from_utf8_lossy(&same.stderr);
    assert!(same.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let other = resume("3", "2");
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(other.status.success(), "{stderr}");
    assert!(
        stderr.contains("holds out 3") && !stderr.contains("fingerprints differ"),
        "{stderr}"
    );
}
