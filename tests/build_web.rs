//! `tools/build-web` checks every argument before it builds anything: each bad one is a single
//! `build-web: …` line and exit status 2, and neither cargo nor wasm-bindgen is run (stand-ins
//! on PATH record any call).

use std::path::Path;
use std::process::Command;

/// Runs the script with `args` from `cwd`, cargo, rustup and wasm-bindgen replaced by
/// stand-ins that leave `called` behind; returns (status, stderr).
fn build_web(cwd: &Path, fakes: &Path, args: &[&str]) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/build-web");
    let output = Command::new(script)
        .args(args)
        .current_dir(cwd)
        .env("PATH", format!("{}:/usr/bin:/bin", fakes.display()))
        .env_remove("MNIST_GPU_DATA")
        .output()
        .expect("run tools/build-web");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_are_one_line_errors_before_any_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let fakes = root.join("fakes");
    std::fs::create_dir(&fakes).expect("mkdir");
    let called = root.join("called");
    for tool in ["cargo", "rustup", "wasm-bindgen"] {
        let path = fakes.join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\ntouch '{}'\nexit 1\n", called.display()),
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // A file, a folder holding something else, an MNIST folder lacking a file, a whole one
    // and an earlier site holding its own data.
    std::fs::write(root.join("a-file"), "x").expect("write");
    std::fs::create_dir(root.join("full")).expect("mkdir");
    std::fs::write(root.join("full/notes.txt"), "mine").expect("write");
    let stems = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    for (folder, count) in [("partial", 3), ("mnist", 4), ("site/data", 4)] {
        std::fs::create_dir_all(root.join(folder)).expect("mkdir");
        for stem in &stems[..count] {
            std::fs::write(root.join(folder).join(format!("{stem}.gz")), "x").expect("write");
        }
    }
    std::fs::write(root.join("site/.mnist-gpu-site"), "").expect("write");

    for (name, args, says) in [
        (
            "--static without a folder",
            &["--static"][..],
            "--static needs a folder",
        ),
        (
            "--static taking --data",
            &["--static", "--data", "mnist"],
            "--static needs a folder",
        ),
        (
            "--data without a folder",
            &["--static", "out", "--data"],
            "--data needs a folder",
        ),
        (
            "--data without --static",
            &["--data", "mnist"],
            "only used with --static",
        ),
        (
            "an unknown argument",
            &["--sttic", "out"],
            "unknown argument --sttic",
        ),
        (
            "--static naming a file",
            &["--static", "a-file", "--data", "mnist"],
            "a-file is a file, not a folder",
        ),
        (
            "--static naming a folder of others",
            &["--static", "full", "--data", "mnist"],
            "not empty and holds no earlier site",
        ),
        (
            "--static without data",
            &["--static", "out"],
            "pass --data DIR or set MNIST_GPU_DATA",
        ),
        (
            "--data naming no folder",
            &["--static", "out", "--data", "nowhere"],
            "nowhere does not exist",
        ),
        (
            "--data lacking a file",
            &["--static", "out", "--data", "partial"],
            "has no t10k-labels-idx1-ubyte(.gz)",
        ),
        (
            "--data inside --static",
            &["--static", "site", "--data", "site/data"],
            "inside --static site",
        ),
        (
            "--data as --static",
            &["--static", "site", "--data", "site"],
            "has no train-images-idx3-ubyte(.gz)",
        ),
    ] {
        let (code, stderr) = build_web(root, &fakes, args);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {stderr}");
        assert!(lines[0].starts_with("build-web: "), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: '{says}' not in {stderr}");
        assert!(!called.exists(), "{name}: the build started");
        assert!(!root.join("out").exists(), "{name}: wrote the site");
    }
    // Good arguments get as far as the build (the stand-in cargo fails it).
    let (code, _) = build_web(root, &fakes, &["--static", "out", "--data", "mnist"]);
    assert_ne!(code, Some(0));
    assert!(called.exists(), "good arguments must reach the build");
}
