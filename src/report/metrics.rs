//! `--metrics FILE`: one JSON object per round, rewritten atomically after every round so the
//! file is always complete and can be plotted while a run goes on.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::atomic_file::write_atomic;
use crate::train::RoundRecord;

pub struct MetricsFile {
    path: PathBuf,
    text: String,
}

impl MetricsFile {
    pub fn new(path: &Path) -> Self {
        MetricsFile {
            path: path.to_path_buf(),
            text: String::new(),
        }
    }

    /// Appends a round and rewrites the file.
    pub fn push(&mut self, record: &RoundRecord) -> Result<()> {
        let line = serde_json::to_string(record)
            .map_err(|e| crate::Error::Config(format!("cannot encode metrics: {e}")))?;
        self.text.push_str(&line);
        self.text.push('\n');
        write_atomic(&self.path, self.text.as_bytes())
    }
}

/// Reads a metrics file back.
pub fn read(path: &Path) -> Result<Vec<RoundRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| crate::Error::bad_file(path, format!("not a metrics line ({e})")))
        })
        .collect()
}
