//! What the binary does with what it is given and where it writes: sizes too large for memory,
//! symlinks, FIFOs, devices and standard output as outputs, Ctrl-C and SIGTERM in the middle of
//! a run (and of a checkpoint being written), and errors that name what the user typed.

#![cfg(unix)]

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mnist_gpu::model_file;

mod common;

use common::binary as command;
use common::{assert_one_line_error, file_names, small_train_args};

fn write_fixture(dir: &Path, train: usize) {
    common::write_fixture(dir, train, 10);
}

fn run(home: &Path, args: &[&str]) -> Output {
    common::run_binary(home, args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn data_dir(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

// ---------------------------------------------------------------- sizes

#[test]
fn networks_too_large_for_memory_are_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let data = data_dir(dir.path());
    for hidden in ["100000000", "10000000", "128,100000000"] {
        for backend in [&["--cpu"][..], &[][..], &["--backend", "vulkan"][..]] {
            let mut args = vec!["train", "--data", data, "--hidden", hidden];
            args.extend_from_slice(backend);
            let output = run(dir.path(), &args);
            // Checked before any engine or adapter is opened: the same line on every backend.
            assert_one_line_error(&output, 1, &["network would need", "GB of memory"]);
            assert!(text(&output.stdout).is_empty());
        }
    }
}

// ---------------------------------------------------------------- special outputs

#[test]
fn symlinked_outputs_write_their_targets_and_stay_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let data = data_dir(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    for name in ["metrics.jsonl", "model.safetensors", "digits.png"] {
        // Relative targets, resolved from the link's folder.
        std::os::unix::fs::symlink(format!("real-{name}"), out.join(name)).expect("symlink");
    }
    let path = |name: &str| out.join(name).to_str().expect("utf-8").to_string();
    let output = run(
        dir.path(),
        &small_train_args(
            data,
            "2",
            &[
                "--metrics",
                &path("metrics.jsonl"),
                "--save",
                &path("model.safetensors"),
            ],
        ),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(
        dir.path(),
        &[
            "show",
            "--data",
            data,
            "--count",
            "3",
            "--out",
            &path("digits.png"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    for name in ["metrics.jsonl", "model.safetensors", "digits.png"] {
        let link = std::fs::symlink_metadata(out.join(name)).expect("stat");
        assert!(link.file_type().is_symlink(), "{name} was replaced");
        let target = std::fs::metadata(out.join(format!("real-{name}"))).expect("target");
        assert!(target.is_file() && target.len() > 0, "{name}");
    }
    let metrics = std::fs::read_to_string(out.join("real-metrics.jsonl")).expect("read");
    assert_eq!(metrics.lines().count(), 2);
    model_file::load(&out.join("model.safetensors")).expect("model through the link");
    assert_eq!(file_names(&out).len(), 6, "{:?}", file_names(&out));
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn a_fifo_is_written_in_place_and_its_reader_gets_every_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let fifo = dir.path().join("metrics.fifo");
    mkfifo(&fifo);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(&reader_path)
            .expect("open fifo")
            .read_to_string(&mut text)
            .expect("read fifo");
        text
    });
    let output = run(
        dir.path(),
        &small_train_args(
            data_dir(dir.path()),
            "3",
            &["--metrics", fifo.to_str().expect("utf-8")],
        ),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let received = reader.join().expect("reader");
    assert_eq!(received.lines().count(), 3, "{received}");
    for line in received.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("JSON line");
    }
    let meta = std::fs::symlink_metadata(&fifo).expect("stat");
    assert!(meta.file_type().is_fifo(), "the FIFO was replaced");
}

#[test]
fn metrics_to_standard_output_stream_jsonl_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    for target in ["-", "/dev/stdout"] {
        let output = run(
            dir.path(),
            &small_train_args(
                data_dir(dir.path()),
                "3",
                &["--eval-every", "1", "--metrics", target],
            ),
        );
        assert!(
            output.status.success(),
            "{target}: {}",
            text(&output.stderr)
        );
        let stdout = text(&output.stdout);
        let rounds: Vec<u64> = stdout
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {line}"));
                value["round"].as_u64().expect("round")
            })
            .collect();
        assert_eq!(rounds, [1, 2, 3], "{target}: {stdout}");
        // The run's own lines moved to stderr.
        assert!(text(&output.stderr).contains("round 3/3"), "{target}");
    }
    assert_eq!(file_names(dir.path()).len(), 4, "nothing else written");
}

#[test]
fn device_nodes_are_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let data = data_dir(dir.path());
    // /dev/full takes no bytes: the save fails with the device's own error, and stays a device.
    let output = run(
        dir.path(),
        &small_train_args(data, "1", &["--save", "/dev/full"]),
    );
    assert_one_line_error(&output, 1, &["/dev/full", "No space left"]);
    let meta = std::fs::metadata("/dev/full").expect("stat");
    assert!(meta.file_type().is_char_device(), "/dev/full was replaced");
    // /dev/null takes them all.
    let output = run(
        dir.path(),
        &small_train_args(
            data,
            "1",
            &["--save", "/dev/null", "--metrics", "/dev/null"],
        ),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        std::fs::metadata("/dev/null")
            .expect("stat")
            .file_type()
            .is_char_device()
    );
}

// ---------------------------------------------------------------- interrupts

/// Sends `signal` to the child.
fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid.
    let result = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(result, 0, "kill failed");
}

/// Whether `dir` holds a temporary file of an atomic write.
fn has_temp_file(dir: &Path) -> bool {
    file_names(dir).iter().any(|n| n.contains(".tmp-"))
}

/// A training run on the fixture in `dir` that goes on far longer than any test waits
/// (`--rounds` huge, batches of 10), with `extra` flags; stderr piped.
fn endless_run(dir: &Path, hidden: &str, extra: &[&str], stdout: Stdio) -> Child {
    let mut args = vec![
        "train",
        "--cpu",
        "--data",
        data_dir(dir),
        "--hidden",
        hidden,
        "--rounds",
        "100000",
        "--batch-size",
        "10",
    ];
    args.extend_from_slice(extra);
    command(dir, &args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// A long training run on the fixture in `dir` that saves a checkpoint of a large network
/// (9 MB) every round, so a good part of its time is spent writing checkpoints.
fn checkpointing_run(dir: &Path, model: &Path) -> Child {
    let model = model.to_str().expect("utf-8");
    endless_run(
        dir,
        "3000",
        &["--checkpoint-every", "1", "--save", model],
        Stdio::null(),
    )
}

/// Waits until `dir` holds a temporary file (a checkpoint being written), or fails.
fn wait_for_temp_file(dir: &Path, child: &mut Child) {
    let start = Instant::now();
    while !has_temp_file(dir) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended before a checkpoint was seen: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint seen being written"
        );
    }
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("wait")
}

/// The fixture in a new folder, and the folder `out` in it where a checkpointing run saves
/// `m.safetensors`.
fn checkpoint_fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let model = out.join("m.safetensors");
    (dir, out, model)
}

/// A checkpointing run on the fixture in `dir`, sent `signals` once the temporary file exists,
/// so they arrive while a checkpoint is being written; its output once it ends.
fn interrupt_mid_checkpoint(dir: &Path, model: &Path, signals: &[libc::c_int]) -> Output {
    let mut child = checkpointing_run(dir, model);
    wait_for_temp_file(model.parent().expect("a folder"), &mut child);
    for &sig in signals {
        signal(&child, sig);
    }
    finish(child)
}

#[test]
fn ctrl_c_during_a_checkpoint_finishes_it_and_says_what_is_on_disk() {
    let (dir, out, model) = checkpoint_fixture();
    let output = interrupt_mid_checkpoint(dir.path(), &model, &[libc::SIGINT]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(!has_temp_file(&out), "{:?}", file_names(&out));
    assert_eq!(file_names(&out), ["m.safetensors"]);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("interrupted after round "), "{stderr}");
    // The line names the round of the model on disk, and the file holds that model.
    let saved = model_file::load(&model).expect("a whole model");
    let claim = format!(
        "holds the model after round {}",
        saved.training.rounds_completed
    );
    assert!(last.contains(&claim), "{last} / {claim}");
    assert_eq!(stderr.lines().count(), 2, "notice + the line: {stderr}");
}

#[test]
fn a_second_ctrl_c_ends_at_once_and_sigterm_stops_cleanly() {
    let (dir, out, model) = checkpoint_fixture();

    let output = interrupt_mid_checkpoint(dir.path(), &model, &[libc::SIGINT, libc::SIGINT]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(!has_temp_file(&out), "{:?}", file_names(&out));
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Whatever is on disk is a whole model.
    if model.exists() {
        model_file::load(&model).expect("a whole model");
    }

    let output = interrupt_mid_checkpoint(dir.path(), &model, &[libc::SIGTERM]);
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(!has_temp_file(&out));
    model_file::load(&model).expect("a whole model");
}

#[test]
fn an_interrupt_without_save_says_nothing_was_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let mut child = endless_run(dir.path(), "8", &[], Stdio::piped());
    // Wait for the first round's line, then keep reading so the child never blocks on a full
    // pipe.
    let stdout = child.stdout.take().expect("stdout");
    let (first_round, seen) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut told = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // `round  1/N`: the round number is padded to N's width.
            if !told && line.starts_with("round ") && line.contains(" 1/") {
                told = true;
                let _ = first_round.send(());
            }
        }
    });
    seen.recv_timeout(Duration::from_secs(60))
        .expect("the first round ended");
    signal(&child, libc::SIGINT);
    let output = finish(child);
    drain.join().expect("drain");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("no model saved"), "{stderr}");
}

// ---------------------------------------------------------------- errors in the user's words

#[test]
fn environment_variables_are_named_as_such() {
    let home = tempfile::tempdir().expect("tempdir");
    // An empty MNIST_GPU_DATA counts as unset (the cache folder is used), not as an empty --data.
    let output = command(home.path(), &["train", "--cpu", "--offline"])
        .env("MNIST_GPU_DATA", "")
        .output()
        .expect("run");
    assert_one_line_error(&output, 1, &["--offline"]);
    let output = command(home.path(), &["train", "--cpu"])
        .env("MNIST_GPU_DATA", home.path().join("nowhere"))
        .output()
        .expect("run");
    assert_one_line_error(
        &output,
        1,
        &["environment variable MNIST_GPU_DATA=", "nowhere"],
    );

    write_fixture(home.path(), 20);
    let output = command(
        home.path(),
        &["train", "--data", data_dir(home.path()), "--rounds", "1"],
    )
    .env("WGPU_BACKEND", "nonsense")
    .output()
    .expect("run");
    assert_one_line_error(
        &output,
        1,
        &["environment variable WGPU_BACKEND=\"nonsense\""],
    );
}

#[cfg(target_os = "linux")]
#[test]
fn apis_this_system_lacks_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    for (backend, needle) in [("metal", "macOS"), ("dx12", "Windows")] {
        let output = run(
            dir.path(),
            &[
                "train",
                "--data",
                data_dir(dir.path()),
                "--backend",
                backend,
            ],
        );
        assert_one_line_error(&output, 1, &[needle]);
        assert!(!text(&output.stderr).contains("mesa"));
    }
}

#[test]
fn eval_count_zero_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(
        dir.path(),
        &[
            "eval",
            "--model",
            "m.safetensors",
            "--misclassified",
            "w.png",
            "--count",
            "0",
        ],
    );
    assert_one_line_error(
        &output,
        2,
        &["--count", "'0'", "at least 1", "mnist-gpu eval --help"],
    );
}

/// Path of a file under `dir`.
fn at(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// `name` in `home`, a new folder holding the fixture.
fn fixture_folder(home: &Path, name: &str) -> PathBuf {
    let folder = at(home, name);
    std::fs::create_dir(&folder).expect("fixture folder");
    write_fixture(&folder, 20);
    folder
}

/// `m.safetensors` in `home`: a small network trained one round on the fixture in `data`.
fn trained_model(home: &Path, data: &str) -> PathBuf {
    let model = at(home, "m.safetensors");
    let trained = run(
        home,
        &small_train_args(data, "1", &["--save", model.to_str().unwrap()]),
    );
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    model
}

#[test]
fn usage_errors_are_one_line_with_status_2_and_help_still_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &["show", "--count", "-5", "--out", "x.png"]);
    assert_one_line_error(&output, 2, &["--count", "'-5'", "not negative"]);
    let output = run(dir.path(), &["frobnicate"]);
    assert_one_line_error(&output, 2, &["frobnicate"]);
    let output = run(dir.path(), &["train", "--help"]);
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("--metrics"));
    assert!(!at(dir.path(), "x.png").exists());
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let mut child = endless_run(dir.path(), "8", &[], Stdio::piped());
    // The reader goes away, as `| head` does.
    drop(child.stdout.take());
    let output = finish(child);
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_a_download_leaves_no_folder_behind() {
    let home = tempfile::tempdir().expect("tempdir");
    // A mirror that accepts connections and never answers: the download waits on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mirror = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    let target = home.path().join("new").join("mnist");
    let child = command(home.path(), &common::download_args(&target, &mirror))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while !target.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no folder made");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let it reach the mirror and wait there.
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let output = finish(child);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.starts_with("interrupted"), "{stderr}");
    assert!(
        !home.path().join("new").exists(),
        "the folders it made were left"
    );
}

#[test]
fn each_checkpoint_prints_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let model = dir.path().join("m.safetensors");
    let output = run(
        dir.path(),
        &small_train_args(
            data_dir(dir.path()),
            "5",
            &[
                "--checkpoint-every",
                "2",
                "--save",
                model.to_str().expect("utf-8"),
            ],
        ),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let checkpoints: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("checkpoint: "))
        .collect();
    // Rounds 2 and 4; round 5's save is the final one, reported as "model saved".
    assert_eq!(checkpoints.len(), 2, "{stdout}");
    assert!(checkpoints[0].contains("after round 2") && checkpoints[1].contains("after round 4"));
    assert!(stdout.contains("model saved to"), "{stdout}");
}

// ---------------------------------------------------------------- outputs that are inputs

/// An output that is the same file as an input or as another output fails before any work,
/// naming both, and leaves every file as it was: by the same name, through `./` and `..`,
/// through a symlink, and for a data file not yet written raw (only its .gz exists).
#[test]
fn an_output_that_is_an_input_or_another_output_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let data = data_dir(&fixture_folder(home, "data")).to_string();
    let model = trained_model(home, &data);
    let photo = at(home, "seven.png");
    std::fs::write(&photo, b"the user's photo").expect("photo");
    std::os::unix::fs::symlink(&model, at(home, "link.safetensors")).expect("symlink");
    let (m, x) = (model.to_str().unwrap(), at(home, "x").display().to_string());
    let photo = photo.to_str().unwrap();
    std::fs::create_dir(at(home, "sub")).expect("sub folder");
    let same_x = format!("{}/sub/../x", home.display());
    let raw_images = format!("{data}/train-images-idx3-ubyte");
    let link = at(home, "link.safetensors").display().to_string();
    let eval = ["eval", "--cpu", "--data", &data, "--model", m];
    let cases: Vec<(Vec<&str>, [&str; 2])> = vec![
        (
            small_train_args(&data, "1", &["--save", &x, "--plot", &x]),
            ["--plot", "--save"],
        ),
        (
            small_train_args(&data, "1", &["--metrics", &x, "--save", &same_x]),
            ["--save", "--metrics"],
        ),
        (
            [&eval[..], &["--confusion", &x, "--misclassified", &x][..]].concat(),
            ["--misclassified", "--confusion"],
        ),
        (
            [&eval[..], &["--confusion", m][..]].concat(),
            ["--confusion", "--model"],
        ),
        (
            [&eval[..], &["--confusion", &link][..]].concat(),
            ["--confusion", "--model"],
        ),
        (
            vec!["predict", "--model", m, photo, "--show-input", photo],
            ["--show-input", "the picture"],
        ),
        (
            vec!["show", "--data", &data, "--out", &raw_images],
            ["--out", "--data"],
        ),
    ];
    let before: Vec<(PathBuf, Vec<u8>)> = [model.clone(), at(home, "seven.png")]
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect();
    let listing = file_names(home);
    let data_listing = file_names(Path::new(&data));
    for (args, [output, other]) in &cases {
        let result = run(home, args);
        assert_one_line_error(&result, 1, &[output, other]);
        for (path, bytes) in &before {
            assert_eq!(
                &std::fs::read(path).expect("read"),
                bytes,
                "{args:?}: {}",
                path.display()
            );
        }
        assert_eq!(file_names(home), listing, "{args:?} left a file");
        assert_eq!(
            file_names(Path::new(&data)),
            data_listing,
            "{args:?} wrote into the data"
        );
    }
    // Writing to /dev/null twice destroys nothing; resuming and saving the same model is an
    // update, not a loss.
    let fine = run(
        home,
        &small_train_args(
            &data,
            "1",
            &["--metrics", "/dev/null", "--plot", "/dev/null"],
        ),
    );
    assert!(fine.status.success(), "{}", text(&fine.stderr));
    let resumed = run(
        home,
        &[
            "train", "--cpu", "--data", &data, "--resume", m, "--rounds", "2", "--save", m,
        ],
    );
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
}

// ---------------------------------------------------------------- bounded reads

/// Inputs that never end or lie about their size are read no further than their format
/// allows: a gzipped IDX file whose real content is followed by a gigabyte of zeros,
/// `/dev/zero` as a model or a picture, a model with 6 GB of sparse bytes after its tensors, a
/// header declaring a terabyte of tensors. Each is one line, under an address-space
/// limit of 2 GiB that an unbounded read would run into (an abort, which fails the check).
#[test]
fn reads_stop_where_the_format_says() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    write_fixture(home, 20);
    let data = data_dir(home).to_string();
    let model = trained_model(home, &data);
    let padded = at(home, "padded.safetensors");
    std::fs::copy(&model, &padded).expect("copy");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&padded)
        .expect("open");
    file.set_len(file.metadata().expect("size").len() + (6 << 30))
        .expect("sparse tail");
    let lying = at(home, "lying.safetensors");
    let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1000000000000]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    std::fs::write(&lying, bytes).expect("lying model");
    // Real training images, then a gigabyte of zeros, gzipped (about a megabyte).
    let bomb = fixture_folder(home, "bomb");
    let raw = bomb.join("train-images-idx3-ubyte");
    let images = std::fs::read(&raw).expect("images");
    std::fs::remove_file(&raw).expect("remove raw");
    let gz = std::fs::File::create(bomb.join("train-images-idx3-ubyte.gz")).expect("gz");
    let mut encoder = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &images).expect("gzip");
    for _ in 0..1024 {
        std::io::Write::write_all(&mut encoder, &[0u8; 1 << 20]).expect("gzip");
    }
    encoder.finish().expect("gzip");
    let bomb = bomb.to_str().unwrap().to_string();
    let digits = at(home, "digits.png").display().to_string();
    let m = model.to_str().unwrap();
    let eval = |model| vec!["eval", "--cpu", "--data", &data, "--model", model];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["show", "--data", &bomb, "--out", &digits],
            "longer than its header declares",
        ),
        (eval("/dev/zero"), "declare a 0-byte header"),
        (
            vec!["predict", "--model", m, "/dev/zero"],
            "larger than any picture",
        ),
        (eval(padded.to_str().unwrap()), "longer than the"),
        (eval(lying.to_str().unwrap()), "memory"),
    ];
    for (args, needle) in cases {
        let mut command = common::binary(home, &args);
        // SAFETY: setrlimit only, between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 2 << 30,
                    rlim_max: 2 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let output = command.output().expect("run mnist-gpu");
        assert_one_line_error(&output, 1, &[needle]);
    }
}

// ---------------------------------------------------------------- flags

/// A negative number is read as the flag's value, so the flag's own check names it; a flag
/// the run's optimiser or schedule would ignore is refused, not silently dropped.
#[test]
fn flags_name_themselves_and_none_is_silently_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_fixture(dir.path(), 20);
    let data = data_dir(dir.path());
    let cases: [(&[&str], &[&str]); 13] = [
        (&["--dropout", "-0.1"], &["--dropout", "-0.1"]),
        (&["--input-dropout", "1"], &["--input-dropout", "below 1"]),
        (
            &["--augment", "--augment-rotate", "45"],
            &["--augment-rotate", "at most 30", "45"],
        ),
        (&["--augment-scale", "-0.1"], &["--augment-scale", "-0.1"]),
        (&["--target-accuracy", "-5"], &["--target-accuracy", "-5"]),
        (&["--warmup", "-1"], &["--warmup", "-1"]),
        (
            &["--optimizer", "momentum", "--momentum", "-0.5"],
            &["--momentum", "-0.5"],
        ),
        (
            &["--momentum", "0.5"],
            &["--momentum applies to --optimizer momentum", "sgd"],
        ),
        (
            &["--optimizer", "adam", "--nesterov"],
            &["--nesterov", "adam"],
        ),
        (
            &["--weight-decay", "0.1"],
            &["--weight-decay applies to --optimizer adamw"],
        ),
        (
            &["--optimizer", "momentum", "--beta1", "0.8"],
            &["--beta1", "momentum"],
        ),
        (
            &["--lr-gamma", "0.5"],
            &["--lr-gamma applies to --lr-schedule step", "constant"],
        ),
        (
            &["--warmup", "5", "--rounds", "2"],
            &["--warmup 5 is longer than the 2 planned rounds"],
        ),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["train", "--cpu", "--data", data, "--hidden", "8"];
        args.extend_from_slice(flags);
        let output = run(dir.path(), &args);
        // A value out of its flag's range is a usage error (2) from the flag's parser; a
        // setting that conflicts with the rest of the run is refused by the run (1).
        let code = output.status.code().filter(|&c| c == 2).unwrap_or(1);
        assert_one_line_error(&output, code, needles);
    }
    // Pictures never go to standard output (only --metrics streams there); a picture of
    // digits holds at most 1000, in `eval` as in `show`.
    let model = trained_model(dir.path(), data);
    let m = model.to_str().unwrap();
    let show: Vec<&str> = vec!["show", "--data", data, "--out", "-"];
    let eval: Vec<&str> = vec![
        "eval",
        "--cpu",
        "--data",
        data,
        "--model",
        m,
        "--misclassified",
        "x.png",
        "--count",
        "100000",
    ];
    assert_one_line_error(&run(dir.path(), &show), 1, &["--out -", "name a file"]);
    assert_one_line_error(
        &run(dir.path(), &eval),
        1,
        &["--count must be between 1 and 1000"],
    );
    // The same flags where they apply are fine.
    let mut args = vec![
        "train", "--cpu", "--data", data, "--hidden", "8", "--rounds", "2",
    ];
    args.extend([
        "--optimizer",
        "adamw",
        "--weight-decay",
        "0.1",
        "--beta1",
        "0.8",
    ]);
    args.extend([
        "--lr-schedule",
        "step",
        "--lr-gamma",
        "0.5",
        "--warmup",
        "1",
    ]);
    let output = run(dir.path(), &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

// ---------------------------------------------------------------- messages

/// Each message names the real cause and the flag: a folder where a data file should be, a
/// file given as the data folder, an empty training split, a folder that takes no new files,
/// a file given as the download folder, a rate beyond f32, a full disk.
#[test]
fn messages_name_the_real_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let folder_for_file = fixture_folder(home, "folder");
    let images = folder_for_file.join("train-images-idx3-ubyte");
    std::fs::remove_file(&images).expect("remove");
    std::fs::create_dir(&images).expect("a folder in its place");
    let empty = at(home, "empty");
    std::fs::create_dir(&empty).expect("empty");
    write_fixture(&empty, 0);
    let a_file = at(home, "a_file");
    std::fs::write(&a_file, b"x").expect("file");
    let good = fixture_folder(home, "good");
    let (folder, empty, a_file, good) = (
        data_dir(&folder_for_file),
        data_dir(&empty),
        data_dir(&a_file),
        data_dir(&good),
    );
    let cases: [(Vec<&str>, i32, &[&str]); 7] = [
        (
            small_train_args(folder, "1", &[]),
            1,
            &["train-images-idx3-ubyte is a folder"],
        ),
        (
            small_train_args(a_file, "1", &[]),
            1,
            &["a file, not a folder"],
        ),
        (small_train_args(empty, "1", &[]), 1, &["has no images"]),
        (
            small_train_args(good, "1", &["--save", "/proc/version"]),
            1,
            &["--save", "cannot create a file in /proc"],
        ),
        (
            vec!["download", "--dir", a_file],
            1,
            &["--dir", "a file, not a folder"],
        ),
        (
            small_train_args(good, "1", &["--lr", "1e308"]),
            2,
            &["--lr", "beyond a 32-bit float"],
        ),
        (
            small_train_args(good, "1", &["--save", "/dev/full"]),
            1,
            &["--save /dev/full", "No space left"],
        ),
    ];
    for (args, code, needles) in cases {
        assert_one_line_error(&run(home, &args), code, needles);
    }
}

// ---------------------------------------------------------------- an adversarial sweep

/// Wrong values, wrong kinds of file and impossible combinations across the commands: each
/// ends with exit status 1 or 2 and one `error:` line (never a panic), and leaves no file.
#[test]
fn wrong_inputs_across_the_commands_are_one_line_and_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let data_path = fixture_folder(home, "data");
    let data = data_dir(&data_path).to_string();
    let model = trained_model(home, &data);
    let m = model.to_str().unwrap().to_string();
    std::fs::write(at(home, "text.txt"), "hello").expect("text");
    std::fs::write(at(home, "empty"), "").expect("empty");
    std::fs::create_dir(at(home, "folder")).expect("folder");
    std::os::unix::fs::symlink("/nonexistent/target", at(home, "dangling")).expect("link");
    let p = |name: &str| at(home, name).display().to_string();
    let (text_file, empty, folder, dangling) =
        (p("text.txt"), p("empty"), p("folder"), p("dangling"));
    let no_folder = p("nofolder/m.safetensors");
    let out = p("out.png");
    let train = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["train", "--cpu", "--data", &data, "--hidden", "8"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|s| s.to_string()).collect() };
    let cases: Vec<Vec<String>> = vec![
        train(&["--hidden", "0"]),
        train(&["--hidden", "128,,16"]),
        train(&["--rounds", "0"]),
        train(&["--batch-size", "0"]),
        train(&["--lr", "0"]),
        train(&["--lr", "inf"]),
        train(&["--activation", "nope"]),
        train(&["--loss", "hinge"]),
        train(&["--optimizer", "nope"]),
        train(&["--lr-schedule", "exp"]),
        train(&["--validation", "70000"]),
        train(&["--stop-after", "5", "--rounds", "2"]),
        train(&["--resume", &text_file]),
        train(&["--resume", &folder]),
        train(&["--save", &folder]),
        train(&["--save", &no_folder]),
        train(&["--metrics", &folder]),
        train(&["--checkpoint-every", "1"]),
        train(&["--target-accuracy", "101"]),
        train(&["--seed", "99999999999999999999999"]),
        owned(&["train", "--cpu", "--data", &empty]),
        owned(&["train", "--cpu", "--data", &folder]),
        owned(&["train", "--cpu", "--data", &dangling]),
        owned(&["eval", "--cpu", "--data", &data, "--model", &empty]),
        owned(&["eval", "--cpu", "--data", &data, "--model", &folder]),
        owned(&["eval", "--cpu", "--data", &data, "--model", &dangling]),
        owned(&[
            "eval",
            "--cpu",
            "--data",
            &data,
            "--model",
            &m,
            "--split",
            "validation",
        ]),
        owned(&["predict", "--model", &m]),
        owned(&["predict", "--model", &m, &text_file]),
        owned(&["predict", "--model", &m, &folder]),
        owned(&["predict", "--model", &m, &empty]),
        owned(&["predict", "--model", &m, "/dev/null"]),
        owned(&["predict", "--model", &m, &text_file, "--top", "0"]),
        owned(&["show", "--data", &data, "--count", "0", "--out", &out]),
        owned(&["show", "--data", &data, "--start", "70000", "--out", &out]),
        owned(&["show", "--data", &data, "--out", &folder]),
        owned(&["serve", "--model", &text_file, "--cpu"]),
        owned(&["serve", "--model", &m, "--cpu", "--port", "70000"]),
        owned(&["serve", "--model", &m, "--cpu", "--host", "not-an-ip"]),
        owned(&["bench", "--hidden", "abc"]),
        owned(&["frobnicate"]),
    ];
    let listing = file_names(home);
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(home, &args);
        let code = output.status.code().unwrap_or(-1);
        assert!(code == 1 || code == 2, "{args:?}: exit status {code}");
        assert_one_line_error(&output, code, &[]);
        assert_eq!(file_names(home), listing, "{args:?} left a file");
    }
}
