//! Writing output files without losing or replacing anything the user owns.
//!
//! * A regular file (or a new one) is written atomically: a temporary file beside it, then a
//!   rename over it, so a reader never sees a half-written file and a failure leaves nothing
//!   behind. The temporary file is removed on every error path, and [`remove_pending`] lets an
//!   interrupt handler remove the one being written before the process ends.
//! * A symlink is followed: its target is written (atomically when it is a regular file) and the
//!   link itself stays.
//! * A FIFO or a character device (`/dev/null`, a terminal, `/dev/stdout`) is written in place,
//!   never replaced. A block device or a socket is refused.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Error, Result};

/// Temporary files being written now, removed by [`remove_pending`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Files and folders made by work that is not finished (a download), removed by
/// [`remove_pending`], newest first, so an interrupt leaves things as they were found.
static PROVISIONAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// How a path is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A regular file (existing or not) at this path, symlinks resolved: temp + rename.
    Atomic(PathBuf),
    /// A FIFO or character device: opened and written where it is.
    InPlace(PathBuf),
}

/// Where writing `path` goes, or why it must not be written.
pub fn destination(path: &Path) -> Result<Destination> {
    // `metadata` follows every link, including /proc's magic links such as /dev/stdout.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Destination::Atomic(resolve_links(path)?)),
        Ok(meta) if meta.is_dir() => Err(Error::io(
            path,
            std::io::Error::other("is a folder, not a file"),
        )),
        Ok(meta) => special(path, &meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Destination::Atomic(resolve_links(path)?))
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(unix)]
fn special(path: &Path, meta: &std::fs::Metadata) -> Result<Destination> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() || kind.is_char_device() {
        return Ok(Destination::InPlace(path.to_path_buf()));
    }
    let what = if kind.is_block_device() {
        "is a block device (a disk): refusing to write a file over it"
    } else if kind.is_socket() {
        "is a socket, not a file"
    } else {
        "is not a regular file"
    };
    Err(Error::io(path, std::io::Error::other(what)))
}

#[cfg(not(unix))]
fn special(path: &Path, _meta: &std::fs::Metadata) -> Result<Destination> {
    Ok(Destination::InPlace(path.to_path_buf()))
}

/// The file a chain of symlinks ends at (which may not exist yet); `path` itself when it is no
/// link. Relative link targets are taken from the link's folder, as the OS does.
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    // Linux gives up after 40 links (ELOOP); so do we.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| Error::io(&current, e))?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other("too many levels of symbolic links"),
    ))
}

/// Writes `bytes` to `path` (see the module's rules).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| std::io::Write::write_all(file, bytes))
}

/// Like [`write_atomic`], with the content produced by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    match destination(path)? {
        Destination::InPlace(target) => {
            let mut file = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)
                .map_err(|e| Error::io(path, e))?;
            fill(&mut file).map_err(|e| Error::io(path, e))
        }
        Destination::Atomic(target) => {
            let temp = TempFile::new(temp_path(&target));
            let result = (|| {
                {
                    // Closed before the rename.
                    let mut file = File::create(&temp.path)?;
                    fill(&mut file)?;
                    file.sync_all()?;
                }
                std::fs::rename(&temp.path, &target)
            })();
            match result {
                Ok(()) => {
                    temp.renamed();
                    Ok(())
                }
                // The guard removes the temporary file.
                Err(e) => Err(Error::io(path, e)),
            }
        }
    }
}

/// `dir/.name.tmp-<pid>`: hidden, in the target's folder so the rename stays on one file system.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Removes the temporary files being written now and the provisional files and (empty)
/// folders, for an interrupt that ends the process.
pub fn remove_pending() {
    let lock = |list: &'static Mutex<Vec<PathBuf>>| match list.lock() {
        Ok(list) => list,
        Err(poisoned) => poisoned.into_inner(),
    };
    for path in lock(&PENDING).iter() {
        let _ = std::fs::remove_file(path);
    }
    for path in lock(&PROVISIONAL).iter().rev() {
        if path.is_dir() {
            let _ = std::fs::remove_dir(path);
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Marks a file or folder just made as provisional: removed if the process is interrupted
/// before [`settled`] is called for it.
pub fn provisional(path: &Path) {
    if let Ok(mut list) = PROVISIONAL.lock() {
        list.push(path.to_path_buf());
    }
}

/// The work that made `path` is over (kept or removed): no longer provisional.
pub fn settled(path: &Path) {
    if let Ok(mut list) = PROVISIONAL.lock() {
        list.retain(|p| p != path);
    }
}

/// A registered temporary file, removed when dropped unless it was renamed into place (also
/// when the write fails by a panic).
struct TempFile {
    path: PathBuf,
    renamed: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> TempFile {
        if let Ok(mut pending) = PENDING.lock() {
            pending.push(path.clone());
        }
        TempFile {
            path,
            renamed: false,
        }
    }

    fn renamed(mut self) {
        self.renamed = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Ok(mut pending) = PENDING.lock() {
            pending.retain(|p| p != &self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"one").expect("write");
        write_atomic(&path, b"two").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn failure_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing-folder").join("out.txt");
        assert!(write_atomic(&path, b"x").is_err());
        let path = dir.path().join("out.txt");
        let err = write_atomic_with(&path, |_| Err(std::io::Error::other("boom")));
        assert!(err.is_err());
        assert!(names(dir.path()).is_empty());
        // Other tests may be writing at the same time: only this folder's entries count.
        let pending = PENDING.lock().expect("lock");
        assert!(pending.iter().all(|p| !p.starts_with(dir.path())));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("real.txt");
        std::fs::write(&target, b"old").expect("write");
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("real.txt", &link).expect("symlink");
        write_atomic(&link, b"new").expect("write through the link");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).expect("read"), b"new");
        // A dangling link gets its target created.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("created.txt", &dangling).expect("symlink");
        write_atomic(&dangling, b"made").expect("write");
        assert_eq!(
            std::fs::read(dir.path().join("created.txt")).expect("read"),
            b"made"
        );
        assert_eq!(
            names(dir.path()),
            ["created.txt", "dangling", "link.txt", "real.txt"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn character_devices_are_written_in_place() {
        assert_eq!(
            destination(Path::new("/dev/null")).expect("dest"),
            Destination::InPlace("/dev/null".into())
        );
        write_atomic(Path::new("/dev/null"), b"gone").expect("write /dev/null");
        assert!(
            std::fs::metadata("/dev/null")
                .map(|m| !m.is_file())
                .expect("stat")
        );
    }
}
