//! Checks on output paths made before any long work starts, so a typo in `--metrics` (or any
//! other output flag) fails in a second instead of after training.

use std::path::Path;

use anyhow::bail;
use mnist_gpu::Error;
use mnist_gpu::atomic_file::{Destination, destination};

/// Fails unless `path` (named `flag` in the message) can be written: a new or regular file
/// whose folder accepts a file (symlinks followed), or a FIFO or character device written in
/// place. Leaves nothing behind: the probe file it creates is removed at once.
pub fn check_output_file(path: &Path, flag: &str) -> anyhow::Result<()> {
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
        Err(e) => bail!("{flag} {}: cannot write there ({e})", path.display()),
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
