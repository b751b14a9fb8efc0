//! `--metrics FILE`: one JSON object per round. A regular file is rewritten atomically after
//! every round, so it is always complete and can be plotted while a run goes on; a stream
//! (standard output, a FIFO, a terminal) gets each line as it comes.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::{Destination, destination, write_atomic};
use crate::train::RoundRecord;
use crate::{Error, Result};

pub struct MetricsFile {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    /// Not opened yet: decided at the first line (opening a FIFO waits for its reader).
    Unopened,
    /// A regular file, rewritten whole each round.
    Rewrite(String),
    /// Lines appended as they come.
    Stream(Box<dyn Write + Send>),
}

impl MetricsFile {
    pub fn new(path: &Path) -> Self {
        MetricsFile {
            path: path.to_path_buf(),
            sink: Sink::Unopened,
        }
    }

    /// Lines go to `writer` (standard output, say), named `name` in errors.
    pub fn to_writer(name: &str, writer: Box<dyn Write + Send>) -> Self {
        MetricsFile {
            path: PathBuf::from(name),
            sink: Sink::Stream(writer),
        }
    }

    /// Appends a round: rewrites the file, or writes the line to the stream.
    pub fn push(&mut self, record: &RoundRecord) -> Result<()> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| Error::Config(format!("cannot encode metrics: {e}")))?;
        line.push('\n');
        if let Sink::Unopened = self.sink {
            self.sink = match destination(&self.path)? {
                Destination::Atomic(_) => Sink::Rewrite(String::new()),
                Destination::InPlace(target) => Sink::Stream(Box::new(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&target)
                        .map_err(|e| Error::io(&self.path, e))?,
                )),
            };
        }
        match &mut self.sink {
            Sink::Rewrite(text) => {
                text.push_str(&line);
                write_atomic(&self.path, text.as_bytes())
            }
            Sink::Stream(writer) => writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.flush())
                .map_err(|e| Error::io(&self.path, e)),
            Sink::Unopened => Ok(()),
        }
    }
}

/// Reads a metrics file back.
pub fn read(path: &Path) -> Result<Vec<RoundRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| Error::bad_file(path, format!("not a metrics line ({e})")))
        })
        .collect()
}
