//! Checks on output paths made before any long work starts, so a typo in `--metrics` (or any
//! other output flag) fails in a second instead of after training.

use std::path::Path;

use anyhow::bail;

/// Fails unless a file can be created at `path` (named `flag` in the message). Leaves nothing
/// behind: the probe file it creates is removed at once.
pub fn check_output_file(path: &Path, flag: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("{flag} {}: is a folder, not a file", path.display());
    }
    let parent = match path.parent() {
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
    let name = path
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
