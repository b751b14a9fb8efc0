//! Checks on output paths made before any long work starts, so a typo in `--metrics` (or any
//! other output flag) fails in a second instead of after training.

use std::path::{Component, Path, PathBuf};

use anyhow::bail;
use mnist_gpu::Error;
use mnist_gpu::atomic_file::{Destination, destination};

/// The most digits a picture of digits (`show`, `eval --misclassified`) draws.
pub const MAX_DIGITS: usize = 1000;

/// The most pictures `predict` takes in one run, and the most it draws into one picture
/// (`--show-input`, `--show-activations`: a row or a tile each).
pub const MAX_PREDICT_PICTURES: usize = 10_000;
pub const MAX_DRAWN_PICTURES: usize = 100;

/// Refuses more pictures than `predict` classifies, or draws, in one run.
pub fn check_picture_count(
    count: usize,
    drawings: [(&str, &Option<PathBuf>); 2],
) -> anyhow::Result<()> {
    if count > MAX_PREDICT_PICTURES {
        bail!(
            "{count} pictures given: predict classifies at most {MAX_PREDICT_PICTURES} in one run"
        );
    }
    for (flag, path) in drawings {
        if path.is_some() && count > MAX_DRAWN_PICTURES {
            bail!(
                "{flag} draws at most {MAX_DRAWN_PICTURES} pictures, {count} given: pass fewer \
                 pictures or leave {flag} out"
            );
        }
    }
    Ok(())
}

/// Fails unless `path` (named `flag` in the message) can be written: a new or regular file
/// whose folder accepts a file (symlinks followed), or a FIFO or character device written in
/// place. Leaves nothing behind: the probe file it creates is removed at once.
pub fn check_output_file(path: &Path, flag: &str) -> anyhow::Result<()> {
    // `-` means standard output only where a command streams text there (`--metrics -`).
    if path.as_os_str() == "-" && flag != "--metrics" {
        bail!("{flag} -: only --metrics streams to standard output; name a file");
    }
    let target = match destination(path) {
        Ok(Destination::InPlace(_)) => return Ok(()),
        Ok(Destination::Atomic(target)) => target,
        Err(Error::Io { cause, .. }) => bail!("{flag} {}: {cause}", path.display()),
        Err(other) => bail!("{flag} {}: {other}", path.display()),
    };
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            parent.display()
        );
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let probe = parent.join(format!(".{name}.probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => bail!(
            "{flag} {}: cannot create a file in {} ({e})",
            path.display(),
            parent.display()
        ),
    }
}

/// A file a command reads or writes, with the flag (or argument) that names it for messages.
pub type Named<'a> = (&'a str, &'a Path);

/// Fails, before any work starts, if an output is the same file as an input or as another
/// output: the later write would win silently (a model saved then overwritten by a plot, a
/// photo overwritten by the picture drawn from it). Two paths are the same file when they
/// reach the same device and inode (links, `./`, `..` and symlinks included), or, for files
/// that do not exist yet, the same absolute path once symlinked folders are resolved. Standard
/// output and character devices (`/dev/null`, a terminal) are not files a write can destroy.
/// Every output flag in [`PICTURE_FLAGS`] must also name a picture format.
pub fn check_distinct(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> anyhow::Result<()> {
    check_distinct_files(inputs, outputs)?;
    // Then, with every output its own file, each picture's name must say a format it is
    // written in.
    for &(flag, path) in outputs {
        if PICTURE_FLAGS.contains(&flag)
            && let Err(e) = mnist_gpu::report::canvas::PictureFormat::of(path)
        {
            bail!("{flag} {e}");
        }
    }
    Ok(())
}

/// [`check_distinct`] for a command whose outputs are not pictures (`export --out m.onnx`).
pub fn check_distinct_files(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> anyhow::Result<()> {
    for (i, &(flag, path)) in outputs.iter().enumerate() {
        let Some(id) = identity(path) else { continue };
        let clash = |&&(_, other): &&Named<'_>| identity(other).as_ref() == Some(&id);
        if let Some((input, _)) = inputs.iter().find(clash) {
            bail!(
                "{flag} {} is the file {input} reads: writing it would destroy that input; choose another path",
                path.display()
            );
        }
        if let Some((earlier, _)) = outputs[..i].iter().find(clash) {
            bail!(
                "{flag} {} is the same file as {earlier}: one would overwrite the other; give each output its own path",
                path.display()
            );
        }
    }
    Ok(())
}

/// The output flags that write pictures (PNG, or JPEG by a .jpg or .jpeg name).
const PICTURE_FLAGS: [&str; 6] = [
    "--out",
    "--plot",
    "--confusion",
    "--misclassified",
    "--show-input",
    "--show-activations",
];

/// What makes two paths the same file (see [`check_distinct`]); `None` for what a write cannot
/// destroy.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    if is_stdout(path) {
        return None;
    }
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(meta) => {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            if meta.file_type().is_char_device() {
                return None;
            }
            Some(Identity::Inode(meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        Ok(_) => Some(Identity::Path(
            std::fs::canonicalize(path).unwrap_or_else(|_| normalised(path)),
        )),
        Err(_) => Some(Identity::Path(normalised(path))),
    }
}

/// `path` made absolute, its folder's symlinks resolved where the folder exists, `.` and `..`
/// removed.
fn normalised(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    match (clean.parent(), clean.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|parent| parent.join(name))
            .unwrap_or(clean),
        _ => clean,
    }
}

/// Whether `path` names standard output (`-`, `/dev/stdout`, `/dev/fd/1`).
pub fn is_stdout(path: &Path) -> bool {
    matches!(
        path.to_str(),
        Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1")
    )
}

/// Standard output for a data stream (JSONL metrics): the program's own lines move to stderr,
/// so standard output carries the data alone and pipes straight into other tools.
#[cfg(unix)]
pub fn take_stdout() -> anyhow::Result<Box<dyn std::io::Write + Send>> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    std::io::stdout().flush()?;
    // SAFETY: plain descriptor calls; the duplicate is owned by the File made from it alone.
    let data = unsafe { libc::dup(1) };
    if data < 0 || unsafe { libc::dup2(2, 1) } < 0 {
        bail!(
            "cannot write the metrics to standard output ({})",
            std::io::Error::last_os_error()
        );
    }
    Ok(Box::new(unsafe { std::fs::File::from_raw_fd(data) }))
}

#[cfg(not(unix))]
pub fn take_stdout() -> anyhow::Result<Box<dyn std::io::Write + Send>> {
    Ok(Box::new(std::io::stdout()))
}
