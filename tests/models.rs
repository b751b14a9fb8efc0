//! Trained models: save/load, bad model files, `train --resume`, `eval`, `predict`.
//!
//! Most tests use a tiny synthetic data folder written here (all four IDX files); the
//! prediction test on rendered real digits needs MNIST_GPU_DATA and says SKIPPED without it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mnist_gpu::Error;
use mnist_gpu::data::Mnist;
use mnist_gpu::engine::cpu::CpuEngine;

use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Network, argmax};
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo, data_fingerprint};
use mnist_gpu::ops::Preprocess;
use mnist_gpu::predict::{mnist_input, network_input, read_picture, top_classes};
use mnist_gpu::report::metrics;
use safetensors::Dtype;
use safetensors::tensor::TensorView;

mod common;

use common::small_train_args;

const BIN: &str = env!("CARGO_BIN_EXE_mnist-gpu");

// ---------------------------------------------------------------- fixtures

/// A tiny learnable data set: class `d` is a bright 6×6 square at a place of its own, plus
/// seeded noise, so a small network learns it in a few rounds.
fn write_fixture(dir: &Path, train: usize, test: usize) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (stem_images, stem_labels, count) in [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", train),
        ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", test),
    ] {
        let mut images = idx_header(2051, &[count as u32, 28, 28]);
        let mut labels = idx_header(2049, &[count as u32]);
        for _ in 0..count {
            let label = (next() % 10) as usize;
            let (top, left) = (4 + (label / 5) * 12, 2 + (label % 5) * 5);
            for y in 0..28 {
                for x in 0..28 {
                    let inside = (top..top + 6).contains(&y) && (left..left + 6).contains(&x);
                    let noise = (next() % 60) as u8;
                    images.push(if inside { 255 - noise } else { noise });
                }
            }
            labels.push(label as u8);
        }
        std::fs::write(dir.join(stem_images), images).expect("write images");
        std::fs::write(dir.join(stem_labels), labels).expect("write labels");
    }
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    write_fixture(&data, 600, 200);
    (dir, data)
}

fn training_info() -> TrainingInfo {
    TrainingInfo {
        rounds_completed: 3,
        batch_size: 50,
        learning_rate: 0.75,
        seed: 9,
        shuffle: true,
        engine: "cpu: test".into(),
        data_fingerprint: "sha256:abc".into(),
        test_accuracy: Some(87.5),
        ..TrainingInfo::tutorial(3, 50, 0.75, 9)
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("MNIST_GPU_DATA")
        .output()
        .expect("run mnist-gpu")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Succeeds or shows why not.
fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Fails with exactly one `error: …` line on stderr (no panic, no backtrace); returns it.
fn run_fails(args: &[&str]) -> String {
    let out = run(args);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "{args:?} should fail:\n{}",
        stdout(&out)
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one error line:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    lines[0].to_string()
}

/// The number in `…<prefix>NUMBER%…` on the first line holding `prefix`.
fn percent_after(text: &str, prefix: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' in:\n{text}"));
    let rest = &line[line.find(prefix).expect("prefix") + prefix.len()..];
    rest.split('%').next().expect("number").trim().to_string()
}

// ---------------------------------------------------------------- model files

#[test]
fn save_load_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.safetensors");
    let model = SavedModel {
        network: Network::new(&[16, 12], 5).expect("net"),
        training: training_info(),
        optimizer_state: Default::default(),
    };
    model_file::save(&path, &model).expect("save");
    let loaded = model_file::load(&path).expect("load");
    assert_eq!(loaded.training, model.training);
    assert_eq!(loaded.network.sizes(), vec![784, 16, 12, 10]);
    assert_eq!(loaded.network.preprocess, Preprocess::None);
    let deskewing = SavedModel {
        network: Network {
            preprocess: Preprocess::Deskew,
            ..model.network.clone()
        },
        ..model.clone()
    };
    model_file::save(&path, &deskewing).expect("save");
    assert_eq!(model_file::load(&path).expect("load"), deskewing);
    for (a, b) in loaded.network.layers.iter().zip(&model.network.layers) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.weights), bits(&b.weights));
        assert_eq!(bits(&a.biases), bits(&b.biases));
    }
    // Only the model is left in the folder (atomic write, no temporary file).
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
}

#[test]
fn fingerprint_tells_data_sets_apart() {
    let (_dir, data) = fixture();
    let mnist = Mnist::load(&data).expect("load");
    let print = data_fingerprint(&mnist);
    assert!(
        print.starts_with("sha256:") && print.len() == 7 + 64,
        "{print}"
    );
    let mut other = mnist.clone();
    other.train.labels[0] = (other.train.labels[0] + 1) % 10;
    assert_ne!(data_fingerprint(&other), print);
    assert_eq!(data_fingerprint(&mnist.clone()), print);
}

/// Safetensors bytes with the given F32 tensors (shape, values) and metadata.
fn raw_model(tensors: &[(&str, Vec<usize>)], meta: &[(&str, &str)]) -> Vec<u8> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            (name.to_string(), shape.clone(), vec![0u8; 4 * n])
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(name, shape, bytes)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes).expect("view");
            (name.clone(), view)
        })
        .collect();
    let meta: HashMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::serialize(views, Some(meta)).expect("serialize")
}

/// The tensor names of a network with one hidden layer, each with its shape: weights and
/// bias of the hidden layer, then of the output layer.
fn one_hidden_layer(
    w0: &[usize],
    b0: &[usize],
    w1: &[usize],
    b1: &[usize],
) -> Vec<(&'static str, Vec<usize>)> {
    vec![
        ("layers.0.weight", w0.to_vec()),
        ("layers.0.bias", b0.to_vec()),
        ("layers.1.weight", w1.to_vec()),
        ("layers.1.bias", b1.to_vec()),
    ]
}

fn good_meta(sizes: &str) -> Vec<(&str, &str)> {
    vec![
        ("format_version", "1"),
        ("layer_sizes", sizes),
        ("activation", "sigmoid"),
        ("cost", "quadratic"),
        ("rounds_completed", "1"),
        ("batch_size", "10"),
        ("learning_rate", "1"),
        ("seed", "1"),
        ("shuffle", "false"),
        ("engine", "hand-made"),
        ("data_fingerprint", "sha256:0"),
    ]
}

#[test]
fn bad_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = model_file::to_bytes(&SavedModel {
        network: Network::new(&[16], 1).expect("net"),
        training: training_info(),
        optimizer_state: Default::default(),
    })
    .expect("encode");
    let layers = |w0: &[usize], b0: &[usize], w1: &[usize]| one_hidden_layer(w0, b0, w1, &[10]);
    // The output layer's bias under another name.
    let mut extra_instead_of_bias = layers(&[16, 784], &[16], &[10, 16]);
    extra_instead_of_bias[3].0 = "layers.1.extra";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("header-only", good[..6].to_vec(), "truncated"),
        (
            "random",
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            "not a safetensors",
        ),
        ("empty", Vec::new(), "not a safetensors"),
        (
            "not-chaining",
            raw_model(
                &layers(&[16, 784], &[16], &[10, 15]),
                &good_meta("784,16,10"),
            ),
            "shape",
        ),
        (
            "bias-length",
            raw_model(
                &layers(&[16, 784], &[15], &[10, 16]),
                &good_meta("784,16,10"),
            ),
            "shape",
        ),
        (
            "input-size",
            raw_model(
                &layers(&[16, 700], &[16], &[10, 16]),
                &good_meta("700,16,10"),
            ),
            "inputs",
        ),
        (
            "output-size",
            raw_model(
                &one_hidden_layer(&[16, 784], &[16], &[9, 16], &[9]),
                &good_meta("784,16,9"),
            ),
            "outputs",
        ),
        (
            "missing-tensor",
            raw_model(&extra_instead_of_bias, &good_meta("784,16,10")),
            "missing",
        ),
        (
            "no-metadata",
            raw_model(&layers(&[16, 784], &[16], &[10, 16]), &[]),
            "missing",
        ),
        (
            "unknown-preprocessing",
            raw_model(
                &layers(&[16, 784], &[16], &[10, 16]),
                &[good_meta("784,16,10"), vec![("preprocess", "deslant")]].concat(),
            ),
            "preprocess",
        ),
    ];
    for (name, bytes, expected) in &cases {
        let path = dir.path().join(format!("{name}.safetensors"));
        std::fs::write(&path, bytes).expect("write");
        let err = model_file::load(&path).expect_err(name);
        assert!(matches!(err, Error::BadFile { .. }), "{name}: {err:?}");
        let text = err.to_string();
        assert!(
            text.contains(expected),
            "{name}: '{text}' lacks '{expected}'"
        );
        assert!(text.contains(&path.display().to_string()), "{name}: {text}");
        assert_eq!(text.lines().count(), 1, "{name}: {text}");
    }
    let missing = dir.path().join("absent.safetensors");
    assert!(matches!(model_file::load(&missing), Err(Error::Io { .. })));

    // The command line turns each into one error line.
    let (_data_dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    for name in ["random", "not-chaining", "absent"] {
        let model = dir.path().join(format!("{name}.safetensors"));
        let model = model.to_str().expect("utf-8");
        run_fails(&["eval", "--cpu", "--data", data, "--model", model]);
        run_fails(&["predict", "--model", model, "x.png"]);
    }
}

// ---------------------------------------------------------------- train --resume, eval

/// Costs and accuracies of a metrics file, keyed by round.
fn trajectory(path: &Path) -> Vec<(usize, f64, Option<f64>)> {
    metrics::read(path)
        .expect("metrics")
        .iter()
        .map(|r| (r.round, r.cost, r.test_accuracy))
        .collect()
}

/// The trajectory of a run stopped with its metrics in `part` and resumed with them in `rest`.
fn joined_trajectory(part: &str, rest: &str) -> Vec<(usize, f64, Option<f64>)> {
    let mut joined = trajectory(Path::new(part));
    joined.extend(trajectory(Path::new(rest)));
    joined
}

/// `name` in `dir`, as an argument.
fn arg_in(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_string()
}

/// The arguments of `base` followed by `extra`, run to success; returns stdout.
fn run_ok_with(base: &[&str], extra: &[&str]) -> String {
    run_ok(&[base, extra].concat())
}

/// `train --cpu --data data` with `flags` (written as on a command line) and then `extra`,
/// run to success; returns stdout.
fn train_ok(data: &str, flags: &str, extra: &[&str]) -> String {
    let mut base = vec!["train", "--cpu", "--data", data];
    base.extend(flags.split_whitespace());
    run_ok_with(&base, extra)
}

/// Resumes training from `model` on the data in `data`, evaluating every round and writing
/// the metrics to `rest`, with `extra` flags; returns stdout.
fn resume(data: &str, model: &str, rest: &str, extra: &[&str]) -> String {
    let base = [
        "train",
        "--cpu",
        "--data",
        data,
        "--eval-every",
        "1",
        "--resume",
        model,
        "--metrics",
        rest,
    ];
    run_ok_with(&base, extra)
}

#[test]
fn resume_continues_the_uninterrupted_trajectory() {
    let (dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let path = |name: &str| arg_in(dir.path(), name);
    let flags = "--hidden 16 --batch-size 50 --lr 1.5 --seed 7 --shuffle --eval-every 1";
    let run_with = |extra: &[&str]| train_ok(data, flags, extra);

    let (whole, part, rest) = (path("whole.jsonl"), path("part.jsonl"), path("rest.jsonl"));
    let model = path("m.safetensors");
    run_with(&["--rounds", "6", "--metrics", &whole]);
    run_with(&[
        "--rounds",
        "3",
        "--metrics",
        &part,
        "--save",
        &model,
        "--checkpoint-every",
        "2",
    ]);
    let saved = model_file::load(Path::new(&model)).expect("load");
    assert_eq!(saved.training.rounds_completed, 3);
    assert_eq!((saved.training.seed, saved.training.batch_size), (7, 50));
    assert!(saved.training.shuffle);
    // Resuming takes the layer sizes and settings from the file.
    let out = resume(data, &model, &rest, &["--rounds", "6"]);
    assert!(out.contains("784-16-10"), "{out}");

    let whole = trajectory(Path::new(&whole));
    let joined = joined_trajectory(&part, &rest);
    assert_eq!(whole.len(), 6);
    // The CPU engine is deterministic and the shuffle depends on seed and round only, so the
    // resumed run repeats the uninterrupted one bit for bit: no tolerance.
    assert_eq!(joined, whole);
    assert!(whole.iter().all(|(_, cost, _)| cost.is_finite()));
    assert!(
        whole[5].1 < whole[0].1,
        "training lowers the cost: {whole:?}"
    );

    // Resuming cannot change the layers, nor go backwards.
    let err = run_fails(&[
        "train", "--cpu", "--data", data, "--rounds", "6", "--hidden", "32", "--resume", &model,
    ]);
    assert!(err.contains("--hidden"), "{err}");
    let err = run_fails(&[
        "train", "--cpu", "--data", data, "--rounds", "3", "--resume", &model,
    ]);
    assert!(err.contains("already completed 3 rounds"), "{err}");
}

/// Lion (one moment per parameter, its own β₂ default) and GELU (whose backward pass reads the
/// kept pre-activations) survive a save and a resume exactly.
#[test]
fn resume_with_lion_and_gelu_is_identical_to_an_uninterrupted_run() {
    let (dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let path = |name: &str| arg_in(dir.path(), name);
    let recipe = "--preset fast --hidden 24 --batch-size 32 --lr 0.0005 --optimizer lion \
        --weight-decay 0.1 --activation gelu --rounds 4 --seed 5 --eval-every 1";
    let runs = WholeAndPart::run(data, recipe, &path);
    let part_model = runs.part_model.clone();
    let saved = model_file::load(Path::new(&part_model)).expect("load");
    assert_eq!(saved.network.activation.name(), "gelu");
    assert_eq!(saved.training.optimizer.name(), "lion");
    assert_eq!(saved.training.optimizer.settings().beta2, 0.99);
    assert_eq!(saved.training.optimizer.settings().weight_decay, 0.1);
    assert_eq!(saved.optimizer_state.first.len(), 4);
    assert!(saved.optimizer_state.second.is_empty());
    resume(data, &part_model, &runs.rest, &["--save", &part_model]);
    let whole_run = runs.check_resumed_is_whole();
    assert!(whole_run[3].1 < whole_run[0].1, "{whole_run:?}");
}

/// A run of a recipe to its end, and the same run stopped after round 2, each with its metrics
/// and model; `rest` names the metrics of the stopped run's resumption.
struct WholeAndPart {
    whole: String,
    part: String,
    rest: String,
    whole_model: String,
    part_model: String,
}

impl WholeAndPart {
    fn run(data: &str, recipe: &str, path: &dyn Fn(&str) -> String) -> WholeAndPart {
        let runs = WholeAndPart {
            whole: path("whole.jsonl"),
            part: path("part.jsonl"),
            rest: path("rest.jsonl"),
            whole_model: path("whole.safetensors"),
            part_model: path("part.safetensors"),
        };
        let whole = ["--metrics", &runs.whole, "--save", &runs.whole_model];
        train_ok(data, recipe, &whole);
        let stop = [
            "--stop-after",
            "2",
            "--metrics",
            &runs.part,
            "--save",
            &runs.part_model,
        ];
        train_ok(data, recipe, &stop);
        runs
    }

    /// After the resumption: the joined trajectory, the network and the optimiser state are
    /// the uninterrupted run's, bit for bit (masks depend on counters only, the state is saved
    /// exactly). Returns the whole run's trajectory.
    fn check_resumed_is_whole(&self) -> Vec<(usize, f64, Option<f64>)> {
        let whole_run = trajectory(Path::new(&self.whole));
        assert_eq!(joined_trajectory(&self.part, &self.rest), whole_run);
        let a = model_file::load(Path::new(&self.whole_model)).expect("load");
        let b = model_file::load(Path::new(&self.part_model)).expect("load");
        assert_eq!(a.network, b.network);
        assert_eq!(a.optimizer_state, b.optimizer_state);
        whole_run
    }
}

/// AdamW with dropout, max-norm, input dropout, distorted images, warm-up and a cosine
/// schedule: the recipe comes back from the file and the resumed run repeats the uninterrupted
/// one bit for bit.
#[test]
fn resume_with_adam_dropout_and_a_schedule_is_identical_to_an_uninterrupted_run() {
    let (dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let path = |name: &str| arg_in(dir.path(), name);
    let recipe = "--preset fast --hidden 24,12 --batch-size 32 --lr 0.003 --optimizer adamw \
        --dropout 0.3 --max-norm 1.2 --input-dropout 0.2 --augment --augment-rotate 15 \
        --lr-schedule cosine --warmup 1.5 --rounds 5 --seed 11 --eval-every 1";
    let runs = WholeAndPart::run(data, recipe, &path);
    let part_model = runs.part_model.clone();
    let saved = model_file::load(Path::new(&part_model)).expect("load");
    assert_eq!(saved.training.rounds_completed, 2);
    assert_eq!(saved.training.rounds_planned, 5);
    assert_eq!(saved.training.optimizer.name(), "adamw");
    assert_eq!(saved.training.max_norm, 1.2);
    let noise = saved.training.noise;
    assert_eq!(noise.dropout.rate, 0.2);
    assert_eq!(
        (
            noise.augment.shift,
            noise.augment.rotate,
            noise.augment.elastic
        ),
        (2.0, 15.0, 1.5)
    );
    assert!(saved.optimizer_state.steps > 0);
    assert_eq!(saved.optimizer_state.second.len(), 6);
    // The recipe comes from the file: only --resume and the outputs are given.
    let out = resume(data, &part_model, &runs.rest, &["--save", &part_model]);
    assert!(out.contains("running rounds 3..=5"), "{out}");
    // Dropout masks and warps depend on (seed, round, batch, element) only and the optimiser
    // state is saved exactly, so the resumed run repeats the uninterrupted one bit for bit.
    let whole_run = runs.check_resumed_is_whole();
    assert_eq!(whole_run.len(), 5);
    assert!(whole_run[4].1 < whole_run[0].1, "{whole_run:?}");

    // The architecture and optimiser of a saved run cannot change on resuming.
    let err = run_fails(&[
        "train",
        "--cpu",
        "--data",
        data,
        "--rounds",
        "9",
        "--optimizer",
        "sgd",
        "--resume",
        &part_model,
    ]);
    assert!(err.contains("--optimizer"), "{err}");
}

#[test]
fn version_1_model_files_still_load_and_evaluate() {
    // A file exactly as the tutorial-only format wrote it: no init, optimiser or state fields.
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = raw_model(
        &one_hidden_layer(&[16, 784], &[16], &[10, 16], &[10]),
        &good_meta("784,16,10"),
    );
    let path = dir.path().join("v1.safetensors");
    std::fs::write(&path, bytes).expect("write");
    let model = model_file::load(&path).expect("version 1 loads");
    assert_eq!(model.network.architecture(), Default::default());
    assert_eq!(model.training.optimizer.name(), "sgd");
    assert_eq!(model.training.init.name(), "uniform");
    assert_eq!(model.optimizer_state, Default::default());
    let (_data_dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let model = path.to_str().expect("utf-8");
    let out = run_ok(&["eval", "--cpu", "--data", data, "--model", model]);
    assert!(out.contains("accuracy"), "{out}");
    let out = run_ok(&[
        "train", "--cpu", "--data", data, "--rounds", "2", "--resume", model,
    ]);
    assert!(out.contains("running rounds 2..=2"), "{out}");
}

#[test]
fn bad_save_paths_fail_before_training() {
    let (dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let nowhere = dir.path().join("no-such-folder").join("m.safetensors");
    let out = run(&small_train_args(
        data,
        "1",
        &["--save", nowhere.to_str().expect("utf-8")],
    ));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("round 1"), "trained before failing");
    // A usage error: one line naming the missing flag, exit status 2.
    let out = run(&["train", "--cpu", "--data", data, "--checkpoint-every", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("--save"), "{}", stderr(&out));
}

/// `eval --cpu` of `model` on the data in `data`, with `extra` flags.
fn eval_args<'a>(data: &'a str, model: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [
        &["eval", "--cpu", "--data", data, "--model", model][..],
        extra,
    ]
    .concat()
}

#[test]
fn eval_reproduces_the_accuracy_training_printed() {
    let (dir, data) = fixture();
    let data = data.to_str().expect("utf-8");
    let model = dir.path().join("m.safetensors");
    let model = model.to_str().expect("utf-8");
    let trained = train_ok(
        data,
        "--hidden 16 --rounds 4 --batch-size 20 --lr 1",
        &["--save", model],
    );
    let printed = percent_after(&trained, "test accuracy after training: ");
    let eval = run_ok(&eval_args(data, model, &[]));
    assert_eq!(percent_after(&eval, "accuracy "), printed, "{eval}");
    // The synthetic classes are easy: a network that learnt nothing would sit near 10%.
    let accuracy: f64 = printed.parse().expect("number");
    assert!(accuracy > 50.0, "{trained}");
    assert!(
        eval.contains("precision") && eval.contains("confusion matrix"),
        "{eval}"
    );
    // Ten table rows for the digits under the header lines.
    let matrix: Vec<&str> = eval
        .lines()
        .skip_while(|l| !l.contains("real\\pred"))
        .collect();
    assert_eq!(matrix.len(), 12, "{eval}");

    let train_split = run_ok(&eval_args(data, model, &["--split", "train"]));
    assert!(train_split.contains("train split: "), "{train_split}");
    assert!(train_split.contains("of 600 images"), "{train_split}");

    // The pictures of eval: a confusion heat map and a grid of the misclassified digits.
    let pictures = tempfile::tempdir().expect("tempdir");
    let confusion = pictures.path().join("c.png");
    let wrong = pictures.path().join("w.png");
    let out = run_ok(&eval_args(
        data,
        model,
        &[
            "--split",
            "train",
            "--confusion",
            confusion.to_str().expect("utf-8"),
            "--misclassified",
            wrong.to_str().expect("utf-8"),
        ],
    ));
    assert!(out.contains("confusion matrix drawn in"), "{out}");
    let bytes = std::fs::read(&confusion).expect("picture written");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    // This small model classifies all of its training split correctly: nothing to draw.
    assert!(out.contains("no misclassified digits"), "{out}");
    assert!(!wrong.exists());
    let err = run_fails(&eval_args(
        data,
        model,
        &["--confusion", "/no/such/dir/c.png"],
    ));
    assert!(err.contains("--confusion"), "{err}");
}

// ---------------------------------------------------------------- predict

/// Encodes 8-bit pixels of `color` type as PNG bytes.
fn png_bytes(
    width: usize,
    height: usize,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(data).expect("data");
        writer.finish().expect("finish");
    }
    out
}

/// Ink in `[0, 1]` of a 28×28 MNIST digit, bilinearly resampled so the 28×28 field covers
/// `size`×`size` pixels whose top-left corner is at (`left`, `top`) of the canvas.
fn ink_at(digit: &[u8], size: f32, left: f32, top: f32, x: usize, y: usize) -> f32 {
    let u = (x as f32 + 0.5 - left) * 28.0 / size - 0.5;
    let v = (y as f32 + 0.5 - top) * 28.0 / size - 0.5;
    let pixel = |px: i32, py: i32| -> f32 {
        if (0..28).contains(&px) && (0..28).contains(&py) {
            f32::from(digit[py as usize * 28 + px as usize]) / 255.0
        } else {
            0.0
        }
    };
    let (x0, y0) = (u.floor(), v.floor());
    let (fx, fy) = (u - x0, v - y0);
    let (x0, y0) = (x0 as i32, y0 as i32);
    let top_row = pixel(x0, y0) * (1.0 - fx) + pixel(x0 + 1, y0) * fx;
    let bottom_row = pixel(x0, y0 + 1) * (1.0 - fx) + pixel(x0 + 1, y0 + 1) * fx;
    top_row * (1.0 - fy) + bottom_row * fy
}

/// The digit drawn four ways, by `variant`: 50×50 dark on light grey; 100×60 RGB dark blue on
/// cream with wide margins; 64×64 black ink on a transparent background (grey+alpha);
/// 16-bit grey 90×90 light on dark, small in a corner.
fn render(digit: &[u8], variant: usize) -> Vec<u8> {
    use png::{BitDepth, ColorType};
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let (width, height, color, depth, px) = match variant % 4 {
        0 => {
            let px: Vec<u8> = (0..50 * 50)
                .map(|i| {
                    let ink = ink_at(digit, 50.0, 0.0, 0.0, i % 50, i / 50);
                    (255.0 * (1.0 - ink)) as u8
                })
                .collect();
            (50, 50, ColorType::Grayscale, BitDepth::Eight, px)
        }
        1 => {
            let mut px = Vec::with_capacity(100 * 60 * 3);
            for i in 0..100 * 60 {
                let ink = ink_at(digit, 56.0, 30.0, 2.0, i % 100, i / 100);
                let (paper, pen) = ([250.0, 240.0, 215.0], [20.0, 30.0, 110.0]);
                for c in 0..3 {
                    px.push(lerp(paper[c], pen[c], ink) as u8);
                }
            }
            (100, 60, ColorType::Rgb, BitDepth::Eight, px)
        }
        2 => {
            let mut px = Vec::with_capacity(64 * 64 * 2);
            for i in 0..64 * 64 {
                let ink = ink_at(digit, 56.0, 4.0, 4.0, i % 64, i / 64);
                px.push(0);
                px.push((255.0 * ink) as u8);
            }
            (64, 64, ColorType::GrayscaleAlpha, BitDepth::Eight, px)
        }
        _ => {
            let mut px = Vec::with_capacity(90 * 90 * 2);
            for i in 0..90 * 90 {
                let ink = ink_at(digit, 40.0, 8.0, 10.0, i % 90, i / 90);
                let level = lerp(3000.0, 60000.0, ink) as u16;
                px.extend(level.to_be_bytes());
            }
            (90, 90, ColorType::Grayscale, BitDepth::Sixteen, px)
        }
    };
    png_bytes(width, height, color, depth, &px)
}

#[test]
fn predict_recognises_rendered_test_digits() {
    let Some(dir) = common::real_mnist_dir("predict_recognises_rendered_test_digits") else {
        return;
    };
    let data = Mnist::load(Path::new(&dir)).expect("MNIST_GPU_DATA holds MNIST");
    let hyper = Hyper {
        batch_size: 100,
        learning_rate: 2.0,
    };
    let mut engine =
        CpuEngine::new(Network::new(&[64], 42).expect("net"), &data, hyper).expect("engine");
    for _ in 0..5 {
        engine.train_round(None).expect("round");
    }
    let net = engine.network().expect("net");

    let work = tempfile::tempdir().expect("tempdir");
    const DIGITS: usize = 40;
    let (mut right_original, mut right_rendered) = (0, 0);
    let mut paths = Vec::new();
    for i in 0..DIGITS {
        let digit = data.test.image(i);
        let label = data.test.labels[i];
        let original: Vec<f32> = digit.iter().map(|&p| f32::from(p) / 255.0).collect();
        right_original += usize::from(argmax(&net.forward(&original)) == label);
        let path = work.path().join(format!("digit-{i}-label-{label}.png"));
        std::fs::write(&path, render(digit, i)).expect("write png");
        let input = mnist_input(&path, &read_picture(&path).expect("read png")).expect("input");
        let top = top_classes(&net, &input, 3).expect("finite outputs");
        right_rendered += usize::from(top[0].0 == label);
        paths.push(path);
    }
    println!(
        "{right_original}/{DIGITS} right as 28×28 originals, {right_rendered}/{DIGITS} rendered"
    );
    // Re-rendering blurs a little and re-centres; the label must still win for a clear
    // majority (a network that ignores its input would be right about 10% of the time).
    assert!(
        right_rendered * 4 >= DIGITS * 3,
        "{right_rendered}/{DIGITS}"
    );

    // The command line: top-3 lines per picture and the picture of the inputs.
    let model = work.path().join("m.safetensors");
    let training = TrainingInfo {
        rounds_completed: 5,
        batch_size: 100,
        learning_rate: 2.0,
        seed: 42,
        shuffle: false,
        engine: engine.describe(),
        data_fingerprint: data_fingerprint(&data),
        ..TrainingInfo::tutorial(5, 100, 2.0, 42)
    };
    model_file::save(
        &model,
        &SavedModel {
            network: net,
            training,
            optimizer_state: Default::default(),
        },
    )
    .expect("save");
    let shown = work.path().join("inputs.png");
    let mut args = vec![
        "predict".to_string(),
        "--model".into(),
        model.display().to_string(),
        "--show-input".into(),
        shown.display().to_string(),
    ];
    args.extend(paths[..4].iter().map(|p| p.display().to_string()));
    let out = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("digit-")).collect();
    assert_eq!(lines.len(), 4, "{out}");
    for line in lines {
        assert_eq!(line.matches('%').count(), 3, "{line}");
    }
    let picture = read_picture(&shown).expect("inputs picture");
    // Four 224-pixel tiles with 2-pixel gaps, each over its caption strip.
    assert_eq!(
        (picture.width, picture.height),
        (4 * 224 + 3 * 2, 224 + mnist_gpu::predict::CAPTION_HEIGHT)
    );
}

/// A network trained on deskewed images carries its preprocessing: `eval` reproduces the
/// accuracy training printed on the deskewed test set, `predict` reads pictures through it,
/// and resuming cannot switch it off.
#[test]
fn deskewing_travels_with_the_model() {
    let Some(dir) = common::real_mnist_dir("deskewing_travels_with_the_model") else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let model = arg_in(work.path(), "m.safetensors");
    let trained = run_ok(&[
        "train", "--cpu", "--data", &dir, "--preset", "fast", "--hidden", "32", "--rounds", "1",
        "--save", &model,
    ]);
    assert!(trained.contains("deskewed inputs"), "{trained}");
    let saved = model_file::load(Path::new(&model)).expect("load");
    assert_eq!(saved.network.preprocess, Preprocess::Deskew);
    let printed = percent_after(&trained, "test accuracy after training: ");
    let eval = run_ok(&eval_args(&dir, &model, &[]));
    assert_eq!(percent_after(&eval, "accuracy "), printed, "{eval}");
    assert!(printed.parse::<f64>().expect("number") > 90.0, "{trained}");

    // predict: the top classes of the deskewed picture, which differs from the plain one.
    let data = Mnist::load(Path::new(&dir)).expect("MNIST");
    let mut args = vec!["predict".to_string(), "--model".into(), model.clone()];
    let mut expected = Vec::new();
    let mut changed = 0;
    for i in 0..6 {
        let path = work.path().join(format!("digit-{i}.png"));
        std::fs::write(&path, render(data.test.image(i), i)).expect("write png");
        let picture = read_picture(&path).expect("read png");
        let input = network_input(&saved.network, &path, &picture).expect("input");
        changed += usize::from(input != mnist_input(&path, &picture).expect("plain input"));
        let ranked: Vec<String> = top_classes(&saved.network, &input, 3)
            .expect("finite outputs")
            .iter()
            .map(|(class, p)| format!("{class} ({:.1}%)", 100.0 * p))
            .collect();
        expected.push(format!("{}: {}", path.display(), ranked.join(", ")));
        args.push(path.display().to_string());
    }
    assert!(
        changed >= 5,
        "deskewing changed only {changed} of 6 pictures"
    );
    let out = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("digit-")).collect();
    assert_eq!(lines, expected, "{out}");

    let err = run_fails(&[
        "train",
        "--cpu",
        "--data",
        &dir,
        "--resume",
        &model,
        "--rounds",
        "2",
        "--preprocess",
        "none",
    ]);
    assert!(err.contains("--preprocess none disagrees"), "{err}");
}

#[test]
fn bad_pictures_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    model_file::save(
        &model,
        &SavedModel {
            network: Network::new(&[8], 1).expect("net"),
            training: training_info(),
            optimizer_state: Default::default(),
        },
    )
    .expect("save");
    let model = model.to_str().expect("utf-8");

    let good = render(&[200u8; 784], 0);
    let text = dir.path().join("text.png");
    std::fs::write(&text, b"this is not a picture").expect("write");
    let truncated = dir.path().join("truncated.png");
    std::fs::write(&truncated, &good[..good.len() / 2]).expect("write");
    let blank = dir.path().join("blank.png");
    std::fs::write(
        &blank,
        png_bytes(
            20,
            20,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[255; 400],
        ),
    )
    .expect("write");
    for path in [&text, &truncated] {
        assert!(
            matches!(read_picture(path), Err(Error::BadFile { .. })),
            "{path:?}"
        );
    }
    for (path, expected) in [
        (&text, "not a picture in a supported format"),
        (&truncated, "corrupt or truncated PNG"),
        (&blank, "blank"),
    ] {
        let err = run_fails(&["predict", "--model", model, path.to_str().expect("utf-8")]);
        assert!(err.contains(expected), "{err}");
    }
    let err = run_fails(&["predict", "--model", model, "/no/such/picture.png"]);
    assert!(err.contains("/no/such/picture.png"), "{err}");
}

#[test]
fn every_png_kind_reads_as_the_same_grey() {
    // 16×16: a black 8×8 square on white (1 = white in the decoded grey).
    const SIDE: usize = 16;
    let dark = |i: usize| (4..12).contains(&(i % SIDE)) && (4..12).contains(&(i / SIDE));
    let expected: Vec<f32> = (0..SIDE * SIDE)
        .map(|i| if dark(i) { 0.0 } else { 1.0 })
        .collect();
    let level = |i: usize| if dark(i) { 0u8 } else { 255 };
    let all = 0..SIDE * SIDE;
    use png::{BitDepth, ColorType};
    let one_bit: Vec<u8> = (0..SIDE)
        .flat_map(|y| {
            (0..SIDE / 8).map(move |byte| {
                (0..8).fold(0u8, |acc, bit| {
                    let i = y * SIDE + byte * 8 + bit;
                    acc | (u8::from(!dark(i)) << (7 - bit))
                })
            })
        })
        .collect();
    let palette = |transparent_background: bool| {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, SIDE as u32, SIDE as u32);
            encoder.set_color(ColorType::Indexed);
            encoder.set_depth(BitDepth::Eight);
            // Entry 0: black ink; entry 1: red paper, or fully transparent (→ white).
            encoder.set_palette(vec![0, 0, 0, 255, 0, 0]);
            let paper = if transparent_background {
                vec![255, 0]
            } else {
                vec![255, 255]
            };
            encoder.set_trns(paper);
            let mut writer = encoder.write_header().expect("header");
            let px: Vec<u8> = (0..SIDE * SIDE).map(|i| u8::from(!dark(i))).collect();
            writer.write_image_data(&px).expect("data");
            writer.finish().expect("finish");
        }
        out
    };
    let kinds: Vec<(&str, Vec<u8>)> = vec![
        (
            "grey 1-bit",
            png_bytes(SIDE, SIDE, ColorType::Grayscale, BitDepth::One, &one_bit),
        ),
        (
            "grey 8-bit",
            png_bytes(
                SIDE,
                SIDE,
                ColorType::Grayscale,
                BitDepth::Eight,
                &all.clone().map(level).collect::<Vec<_>>(),
            ),
        ),
        (
            "grey 16-bit",
            png_bytes(
                SIDE,
                SIDE,
                ColorType::Grayscale,
                BitDepth::Sixteen,
                &all.clone().flat_map(|i| [level(i); 2]).collect::<Vec<_>>(),
            ),
        ),
        (
            "RGB",
            png_bytes(
                SIDE,
                SIDE,
                ColorType::Rgb,
                BitDepth::Eight,
                &all.clone().flat_map(|i| [level(i); 3]).collect::<Vec<_>>(),
            ),
        ),
        (
            // Black ink opaque, background black but transparent: composited on white.
            "RGBA",
            png_bytes(
                SIDE,
                SIDE,
                ColorType::Rgba,
                BitDepth::Eight,
                &all.clone()
                    .flat_map(|i| [0, 0, 0, 255 - level(i)])
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "grey+alpha",
            png_bytes(
                SIDE,
                SIDE,
                ColorType::GrayscaleAlpha,
                BitDepth::Eight,
                &all.clone()
                    .flat_map(|i| [0, 255 - level(i)])
                    .collect::<Vec<_>>(),
            ),
        ),
        ("palette, transparent paper", palette(true)),
    ];
    for (name, bytes) in kinds {
        let image = mnist_gpu::predict::decode_picture(name, &bytes).expect(name);
        assert_eq!((image.width, image.height), (SIDE, SIDE), "{name}");
        assert_eq!(image.values, expected, "{name}");
    }
    // Opaque red paper reads as its luma (0.299): darker than mid-grey, yet the black square
    // on it is still found as dark ink, the same input as black on white.
    let red = mnist_gpu::predict::decode_picture("red", &palette(false)).expect("red");
    assert!((red.values[0] - 0.299).abs() < 1e-6, "{}", red.values[0]);
    let on_white = mnist_gpu::predict::GreyImage {
        width: SIDE,
        height: SIDE,
        values: expected.clone(),
    };
    let input = |image| mnist_input(Path::new("square"), image).expect("input");
    assert_eq!(input(&red), input(&on_white));
}
