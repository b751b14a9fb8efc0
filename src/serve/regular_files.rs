//! A file system for tower-http's `ServeDir` that opens regular files only. A FIFO or device
//! swapped in for a data file would block the read (and a thread of the runtime's blocking
//! pool) until a writer comes, so every open is non-blocking and checked on the opened handle.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tower_http::services::fs::{Backend, File};

/// Opens and stats regular files only; anything else is an [`io::ErrorKind::Unsupported`] error.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegularFiles;

/// An opened regular file.
#[derive(Debug)]
pub struct RegularFile(tokio::fs::File);

type Boxed<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

fn not_regular() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "not a regular file")
}

fn open_regular(path: PathBuf) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO without a writer would block; O_NONBLOCK does not change reads of a
    // regular file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    // Checked on the handle itself: a swap after the open cannot slip something else in.
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(not_regular())
    }
}

impl Backend for RegularFiles {
    type File = RegularFile;
    type Metadata = std::fs::Metadata;
    type OpenFuture = Boxed<RegularFile>;
    type MetadataFuture = Boxed<std::fs::Metadata>;

    fn open(&self, path: PathBuf) -> Self::OpenFuture {
        Box::pin(async move {
            let file = tokio::task::spawn_blocking(move || open_regular(path))
                .await
                .map_err(io::Error::other)??;
            Ok(RegularFile(tokio::fs::File::from_std(file)))
        })
    }

    fn metadata(&self, path: PathBuf) -> Self::MetadataFuture {
        Box::pin(async move {
            // `stat` never blocks on a FIFO; a HEAD answered from it says nothing of one.
            let meta = tokio::fs::metadata(&path).await?;
            if meta.is_file() {
                Ok(meta)
            } else {
                Err(not_regular())
            }
        })
    }
}

impl AsyncRead for RegularFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncSeek for RegularFile {
    fn start_seek(mut self: Pin<&mut Self>, position: io::SeekFrom) -> io::Result<()> {
        Pin::new(&mut self.0).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.0).poll_complete(cx)
    }
}

impl File for RegularFile {
    type Metadata = std::fs::Metadata;
    type MetadataFuture<'a> =
        Pin<Box<dyn Future<Output = io::Result<std::fs::Metadata>> + Send + 'a>>;

    fn metadata(&self) -> Self::MetadataFuture<'_> {
        Box::pin(self.0.metadata())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A FIFO without a writer: the open must not wait for one, and what it opened is
    /// refused. Run on a thread of its own, so that a stuck open fails the test, not hangs it.
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("name");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let file = dir.path().join("file");
        std::fs::write(&file, b"data").expect("write");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let kinds = runtime.block_on(async {
                [
                    RegularFiles.open(fifo.clone()).await.map(drop),
                    RegularFiles.metadata(fifo).await.map(drop),
                    RegularFiles.open(file).await.map(drop),
                ]
                .map(|r| r.err().map(|e| e.kind()))
            });
            let _ = tx.send(kinds);
        });
        let kinds = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the FIFO's open returned at once");
        let unsupported = Some(io::ErrorKind::Unsupported);
        assert_eq!(kinds, [unsupported, unsupported, None]);
    }
}
