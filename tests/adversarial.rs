//! An adversarial pass over the command line: each case is named and run against the binary on
//! a tiny fixture, with what it must do (succeed saying something, or fail with one line and a
//! given exit status). The cases aim at the recent features: presets, deskewing, distortions,
//! target accuracy, validation, resuming, stopping early, metrics, plots, pictures, GELU/SiLU
//! and the Lion/AdamW optimisers, and at numeric flags given odd text.

use std::path::Path;

use common::{assert_one_line_error, run_binary, write_fixture};

mod common;

/// What a case must do.
enum Expect {
    /// Exit 0 with every needle on stdout or stderr.
    Ok(&'static [&'static str]),
    /// Exit with this status and one `error:` line holding every needle.
    Fails(i32, &'static [&'static str]),
}

struct Case {
    name: &'static str,
    /// Arguments; `{d}` is the fixture folder, `{m}` a model stopped after round 1 of 4,
    /// `{done}` a model whose 2 planned rounds are complete, `{deskew}` a deskewing model,
    /// `{p}` a picture, `{o}` a folder for outputs.
    args: &'static str,
    expect: Expect,
}

const fn ok(name: &'static str, args: &'static str, needles: &'static [&'static str]) -> Case {
    Case {
        name,
        args,
        expect: Expect::Ok(needles),
    }
}

const fn fails(
    name: &'static str,
    args: &'static str,
    code: i32,
    needles: &'static [&'static str],
) -> Case {
    Case {
        name,
        args,
        expect: Expect::Fails(code, needles),
    }
}

const TRAIN: &str = "train --cpu --data {d} --hidden 8 --batch-size 10";

/// `train` on the fixture with a small network, then `rest`.
macro_rules! train {
    ($rest:literal) => {
        concat!("train --cpu --data {d} --hidden 8 --batch-size 10 ", $rest)
    };
}

const CASES: &[Case] = &[
    // Distortions against --no-augment: contradictory, so refused whichever comes first.
    fails(
        "no-augment with rotate",
        train!("--no-augment --augment-rotate 5"),
        2,
        &["--augment-rotate", "cannot be used with"],
    ),
    fails(
        "rotate before no-augment",
        train!("--augment-rotate 5 --no-augment"),
        2,
        &["cannot be used with"],
    ),
    fails(
        "no-augment with shift",
        train!("--no-augment --augment-shift 1"),
        2,
        &["--augment-shift"],
    ),
    fails(
        "no-augment with scale",
        train!("--no-augment --augment-scale 0.1"),
        2,
        &["--augment-scale"],
    ),
    fails(
        "no-augment with elastic",
        train!("--no-augment --augment-elastic 1"),
        2,
        &["--augment-elastic"],
    ),
    fails(
        "no-augment with augment",
        train!("--no-augment --augment"),
        2,
        &["cannot be used with"],
    ),
    ok(
        "best-augmented preset turned off",
        train!("--preset best-augmented --no-augment --rounds 1"),
        &["round 1/1"],
    ),
    fails(
        "rotation over 30 degrees",
        train!("--augment --augment-rotate 31"),
        1,
        &["--augment-rotate", "at most 30"],
    ),
    // Numbers that look like flags, and numbers that are not finite.
    fails(
        "shift of minus infinity",
        train!("--augment-shift -inf"),
        2,
        &["--augment-shift", "finite"],
    ),
    fails(
        "learning rate NaN",
        train!("--lr NaN"),
        2,
        &["--lr", "finite"],
    ),
    fails(
        "learning rate infinity",
        train!("--lr infinity"),
        2,
        &["--lr", "finite"],
    ),
    fails(
        "negative learning rate",
        train!("--lr -1e-3"),
        2,
        &["--lr", "above 0"],
    ),
    fails(
        "negative zero learning rate",
        train!("--lr -0"),
        2,
        &["--lr", "above 0"],
    ),
    fails(
        "learning rate beyond f32",
        train!("--lr 1e39"),
        2,
        &["--lr", "32-bit"],
    ),
    fails(
        "learning rate of 200 digits",
        train!(
            "--lr 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        ),
        2,
        &["--lr", "too long"],
    ),
    fails(
        "empty learning rate",
        train!("--lr="),
        2,
        &["--lr", "number"],
    ),
    fails(
        "hexadecimal rounds",
        train!("--rounds 0x10"),
        2,
        &["--rounds", "whole number"],
    ),
    fails(
        "arabic-indic digits as seed",
        train!("--seed ١٢"),
        2,
        &["--seed", "whole number"],
    ),
    fails(
        "negative eval-every",
        train!("--eval-every -1"),
        2,
        &["--eval-every", "not negative"],
    ),
    fails(
        "flag as a value",
        train!("--rounds --cpu"),
        2,
        &["--rounds", "whole number"],
    ),
    fails(
        "momentum of infinity",
        train!("--optimizer momentum --momentum inf"),
        2,
        &["--momentum", "finite"],
    ),
    fails(
        "dropout of one",
        train!("--dropout 1"),
        2,
        &["--dropout", "below 1"],
    ),
    fails(
        "warmup of infinity",
        train!("--warmup inf"),
        2,
        &["--warmup", "finite"],
    ),
    fails(
        "negative weight decay",
        train!("--optimizer adamw --weight-decay -0.1"),
        2,
        &["--weight-decay", "0 or more"],
    ),
    fails(
        "eps with lion",
        train!("--optimizer lion --eps 1e-8"),
        1,
        &["--eps applies to --optimizer"],
    ),
    // Target accuracy: bounded to (0, 100], printed in a few characters.
    fails(
        "target of minus infinity",
        train!("--target-accuracy -inf"),
        2,
        &["--target-accuracy", "finite"],
    ),
    fails(
        "target of zero",
        train!("--target-accuracy 0"),
        2,
        &["--target-accuracy", "above 0"],
    ),
    fails(
        "target over 100",
        train!("--target-accuracy 100.5"),
        2,
        &["--target-accuracy", "at most 100"],
    ),
    ok(
        "target of 1e-300",
        train!("--target-accuracy 1e-300 --rounds 2"),
        &["target: 1e-300%", "time to target"],
    ),
    // Validation and batches.
    fails(
        "validation leaving under a batch",
        train!("--validation 19"),
        1,
        &["--validation 19", "fewer than a batch of 10"],
    ),
    fails(
        "validation of everything",
        train!("--validation 20"),
        1,
        &["--validation"],
    ),
    fails(
        "batch over the training set",
        "train --cpu --data {d} --hidden 8 --batch-size 21",
        1,
        &["--batch-size 21", "larger than the training set"],
    ),
    ok(
        "validation with a fitting batch",
        train!("--validation 10 --rounds 1"),
        &["validation accuracy"],
    ),
    // Stopping early, resuming.
    ok(
        "stop-after without save warns",
        train!("--rounds 4 --stop-after 1"),
        &["nothing is kept to --resume from"],
    ),
    fails(
        "stop-after past the plan",
        train!("--rounds 2 --stop-after 3"),
        1,
        &["--stop-after 3"],
    ),
    fails(
        "resume a complete run",
        "train --cpu --data {d} --resume {done}",
        1,
        &["already completed 2 rounds"],
    ),
    fails(
        "resume with a preset",
        "train --cpu --data {d} --resume {m} --preset fast",
        1,
        &["--preset does not apply"],
    ),
    fails(
        "resume with other hidden sizes",
        "train --cpu --data {d} --resume {m} --hidden 16",
        1,
        &["--hidden 16 disagrees"],
    ),
    fails(
        "resume deskew without it",
        "train --cpu --data {d} --resume {deskew} --preprocess none",
        1,
        &["--preprocess none disagrees"],
    ),
    ok(
        "resume the deskewing model",
        "train --cpu --data {d} --resume {deskew} --rounds 2",
        &["resumed from", "round 2/2"],
    ),
    fails(
        "checkpoints without save",
        train!("--checkpoint-every 1"),
        2,
        &["--save"],
    ),
    // Presets, activations, optimisers.
    ok(
        "fast preset on the fixture",
        train!("--preset fast --rounds 1"),
        &["preset fast", "round 1/1"],
    ),
    ok(
        "gelu with adamw",
        train!("--activation gelu --optimizer adamw --rounds 1"),
        &["adamw", "round 1/1"],
    ),
    ok(
        "silu with lion",
        train!("--activation silu --optimizer lion --rounds 1"),
        &["lion", "round 1/1"],
    ),
    fails(
        "unknown activation",
        train!("--activation swish"),
        2,
        &["--activation"],
    ),
    // Outputs: metrics, plots, pictures in the format their names say.
    ok(
        "metrics to stdout with a plot",
        train!("--rounds 1 --metrics - --plot {o}/c.png"),
        &["\"round\":1", "curves drawn"],
    ),
    fails(
        "metrics and save on one file",
        train!("--rounds 1 --metrics {o}/x --save {o}/x"),
        1,
        &["--metrics", "--save"],
    ),
    fails(
        "plot as gif",
        train!("--rounds 1 --plot {o}/c.gif"),
        1,
        &["--plot", "not .gif"],
    ),
    ok(
        "plot as jpeg",
        train!("--rounds 1 --plot {o}/c.jpg"),
        &["curves drawn"],
    ),
    ok(
        "weights as jpeg",
        "show --data {d} --weights --model {m} --out {o}/w.jpg",
        &[],
    ),
    fails(
        "weights as bmp",
        "show --data {d} --weights --model {m} --out {o}/w.bmp",
        1,
        &["--out", "not .bmp"],
    ),
    fails(
        "digits as webp",
        "show --data {d} --out {o}/d.webp",
        1,
        &["not .webp"],
    ),
    fails(
        "misclassified as tiff",
        "eval --cpu --data {d} --model {m} --misclassified {o}/x.tiff",
        1,
        &["--misclassified", "not .tiff"],
    ),
    ok(
        "confusion as jpeg",
        "eval --cpu --data {d} --model {m} --confusion {o}/c.JPEG",
        &["confusion matrix drawn"],
    ),
    fails(
        "activations as gif",
        "predict --model {m} {p} --show-activations {o}/a.gif",
        1,
        &["--show-activations", "not .gif"],
    ),
    fails(
        "top of minus one",
        "predict --model {m} {p} --top -1",
        2,
        &["--top"],
    ),
    fails(
        "show count of minus infinity",
        "show --data {d} --count -inf --out {o}/d.png",
        2,
        &["--count"],
    ),
    fails(
        "port of minus one",
        "serve --model {m} --cpu --port -1",
        2,
        &["--port"],
    ),
];

/// Fills in a case's placeholders.
fn expand(args: &str, paths: &[(&str, &Path)]) -> Vec<String> {
    args.split_whitespace()
        .map(|word| {
            let mut word = word.to_string();
            for (key, path) in paths {
                word = word.replace(key, path.to_str().expect("utf-8 path"));
            }
            word
        })
        .collect()
}

fn must_train(dir: &Path, args: &str, paths: &[(&str, &Path)]) {
    let args = expand(args, paths);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_binary(dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn adversarial_command_lines() {
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("data");
    let o = dir.path().join("out");
    std::fs::create_dir_all(&o).expect("mkdir");
    write_fixture(&d, 20, 10);
    let (m, done, deskew, p) = (
        dir.path().join("m.safetensors"),
        dir.path().join("done.safetensors"),
        dir.path().join("deskew.safetensors"),
        dir.path().join("dot.png"),
    );
    image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (12..16).contains(&x) && (6..22).contains(&y) {
            0
        } else {
            255
        }])
    })
    .save(&p)
    .expect("png");
    let paths: Vec<(&str, &Path)> = vec![
        ("{d}", &d),
        ("{o}", &o),
        ("{m}", &m),
        ("{done}", &done),
        ("{deskew}", &deskew),
        ("{p}", &p),
    ];
    must_train(
        dir.path(),
        &format!("{TRAIN} --rounds 4 --stop-after 1 --save {{m}}"),
        &paths,
    );
    must_train(
        dir.path(),
        &format!("{TRAIN} --rounds 2 --save {{done}}"),
        &paths,
    );
    must_train(
        dir.path(),
        &format!("{TRAIN} --preprocess deskew --rounds 2 --stop-after 1 --save {{deskew}}"),
        &paths,
    );
    let mut failures = Vec::new();
    for case in CASES {
        let args = expand(case.args, &paths);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_binary(dir.path(), &args);
        let result = std::panic::catch_unwind(|| match case.expect {
            Expect::Ok(needles) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.status.success(), "{text}");
                for needle in needles {
                    assert!(text.contains(needle), "'{needle}' not in: {text}");
                }
                assert!(
                    text.lines().all(|l| l.len() < 400),
                    "a very long line: {text}"
                );
            }
            Expect::Fails(code, needles) => {
                assert_one_line_error(&out, code, needles);
            }
        });
        if let Err(e) = result {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Pictures are in the format their names say.
    for jpeg in ["c.jpg", "w.jpg", "c.JPEG"] {
        let bytes = std::fs::read(o.join(jpeg)).expect(jpeg);
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "{jpeg} is not a JPEG");
    }
    assert_eq!(&std::fs::read(o.join("c.png")).expect("png")[1..4], b"PNG");
}

/// `predict` bounds how many pictures it takes and draws, before reading any of them.
#[test]
fn predict_bounds_its_pictures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("missing.safetensors");
    let picture = dir.path().join("p.png");
    let (model, picture) = (
        model.to_str().expect("utf-8"),
        picture.to_str().expect("utf-8"),
    );
    let mut args = vec!["predict", "--model", model];
    args.extend(std::iter::repeat_n(picture, 101));
    let mut drawn = args.clone();
    drawn.extend(["--show-activations", "a.png"]);
    assert_one_line_error(
        &run_binary(dir.path(), &drawn),
        1,
        &["--show-activations draws at most 100", "101 given"],
    );
    let mut inputs = args.clone();
    inputs.extend(["--show-input", "i.png"]);
    assert_one_line_error(
        &run_binary(dir.path(), &inputs),
        1,
        &["--show-input draws at most 100"],
    );
    let mut many = vec!["predict", "--model", model];
    many.extend(std::iter::repeat_n(picture, 10_001));
    assert_one_line_error(
        &run_binary(dir.path(), &many),
        1,
        &["10001 pictures", "at most 10000"],
    );
}
