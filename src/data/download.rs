//! Downloading the four IDX files from public mirrors, each verified against its expected
//! content checksum before it is written (atomically). A download that fails leaves the folder
//! as it found it: the files it fetched before the failure are removed, and so are the folders
//! it created.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{FILE_STEMS, checksums, idx};
use crate::atomic_file::{provisional, settled, write_atomic};
use crate::{Error, Result};

/// Tried in this order: PyTorch's, TensorFlow's, then the original (which often refuses).
pub const DEFAULT_MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// The largest body accepted (MNIST's biggest .gz is under 10 MB): a bound against a runaway
/// server, not a tight fit.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;
/// The largest decompressed content accepted (MNIST's biggest file is 47 MB): a bound against
/// a gzip bomb.
const MAX_CONTENT_BYTES: u64 = 1 << 30;

/// Receives transfer progress (a progress bar on a terminal, plain lines otherwise).
pub trait Progress {
    /// A transfer from `url` starts; `total` is the size when the server announces it.
    fn start(&mut self, url: &str, total: Option<u64>);
    /// `bytes` more bytes arrived.
    fn advance(&mut self, bytes: u64);
    /// The transfer ended (successfully or not).
    fn finish(&mut self);
    /// A file is settled (already there, or downloaded and verified), as soon as it is.
    fn file_done(&mut self, _stem: &str, _outcome: &Outcome) {}
}

/// Progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _url: &str, _total: Option<u64>) {}
    fn advance(&mut self, _bytes: u64) {}
    fn finish(&mut self) {}
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A valid copy was already there; nothing was fetched.
    AlreadyPresent { path: PathBuf },
    /// Fetched from `url` and verified; `rejected` lists the mirrors tried before, with why.
    Downloaded {
        path: PathBuf,
        url: String,
        bytes: u64,
        rejected: Vec<String>,
    },
}

/// Makes sure `dir` holds the four files, fetching each missing one as
/// `mirror + stem + ".gz"` from the first mirror that serves valid content: a well-formed IDX
/// file of its kind whose decompressed content has the SHA-256 checksum given in `expected`
/// (in [`FILE_STEMS`] order; `None` accepts any well-formed content, for other data sets).
pub fn download(
    dir: &Path,
    mirrors: &[String],
    expected: [Option<&str>; 4],
    progress: &mut dyn Progress,
) -> Result<Vec<(&'static str, Outcome)>> {
    if mirrors.is_empty() {
        return Err(Error::Download("no mirror to download from".into()));
    }
    let created = create_folders(dir)?;
    let agent = agent();
    let mut outcomes = Vec::new();
    for (stem, sha256) in FILE_STEMS.into_iter().zip(expected) {
        let outcome = match present(dir, stem, sha256) {
            Ok(Some(path)) => Ok(Outcome::AlreadyPresent { path }),
            Ok(None) => fetch_file(&agent, dir, stem, sha256, mirrors, progress),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(outcome) => {
                if let Outcome::Downloaded { path, .. } = &outcome {
                    provisional(path);
                }
                progress.file_done(stem, &outcome);
                outcomes.push((stem, outcome));
            }
            Err(e) => {
                // The folder is left as it was found: no partial set, no new empty folder.
                for (_, outcome) in &outcomes {
                    if let Outcome::Downloaded { path, .. } = outcome {
                        let _ = std::fs::remove_file(path);
                        settled(path);
                    }
                }
                for folder in created.iter().rev() {
                    let _ = std::fs::remove_dir(folder);
                    settled(folder);
                }
                return Err(e);
            }
        }
    }
    // The set is complete: nothing of it is provisional any more.
    for (_, outcome) in &outcomes {
        if let Outcome::Downloaded { path, .. } = outcome {
            settled(path);
        }
    }
    for folder in &created {
        settled(folder);
    }
    Ok(outcomes)
}

/// Creates `dir` and its missing parents; returns the folders it created, outermost first.
fn create_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .filter(|folder| !folder.as_os_str().is_empty() && !folder.exists())
        .map(Path::to_path_buf)
        .collect();
    let created: Vec<PathBuf> = missing.into_iter().rev().collect();
    // Marked before they exist, so an interrupt between the two still removes them.
    for folder in &created {
        provisional(folder);
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Config(format!(
            "{} is a file, not a folder to download into",
            dir.display()
        )));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        for folder in created.iter().rev() {
            let _ = std::fs::remove_dir(folder);
            settled(folder);
        }
        return Err(Error::io(dir, e));
    }
    Ok(created)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        // A stalled transfer fails; a slow but moving one may take as long as it needs.
        .timeout_per_read(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The path of a valid copy of `stem` in `dir`, if there is one. A copy with other content
/// is an error: it may be the user's own data, so it is never overwritten.
fn present(dir: &Path, stem: &str, sha256: Option<&str>) -> Result<Option<PathBuf>> {
    let Ok(path) = idx::find_file(dir, stem) else {
        return Ok(None);
    };
    let content = idx::read_bytes(&path)?;
    if let Err(reason) = check_content(stem, &content, sha256) {
        return Err(Error::bad_file(
            &path,
            format!(
                "already exists but is not the expected file ({reason}); move it away or download into another folder"
            ),
        ));
    }
    Ok(Some(path))
}

fn fetch_file(
    agent: &ureq::Agent,
    dir: &Path,
    stem: &str,
    sha256: Option<&str>,
    mirrors: &[String],
    progress: &mut dyn Progress,
) -> Result<Outcome> {
    let mut rejected = Vec::new();
    for mirror in mirrors {
        let url = format!("{}/{stem}.gz", mirror.trim_end_matches('/'));
        progress.start(&url, None);
        let fetched = fetch(agent, &url, progress).and_then(|body| verify(stem, body, sha256));
        progress.finish();
        match fetched {
            Ok(body) => {
                // Name it for what it is: servers may hand out the content already gunzipped.
                let name = if body.starts_with(&GZIP_MAGIC) {
                    format!("{stem}.gz")
                } else {
                    stem.to_string()
                };
                let path = dir.join(name);
                write_atomic(&path, &body)?;
                return Ok(Outcome::Downloaded {
                    path,
                    url,
                    bytes: body.len() as u64,
                    rejected,
                });
            }
            Err(reason) => rejected.push(format!("{url}: {reason}")),
        }
    }
    Err(Error::Download(format!(
        "{stem}.gz: no mirror served it ({})",
        rejected.join("; ")
    )))
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The body of `url`, or why not (as one line).
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    progress: &mut dyn Progress,
) -> std::result::Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = response.body().content_length();
    if total.is_some() {
        progress.start(url, total);
    }
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();
    let mut body = Vec::with_capacity(total.unwrap_or(0).min(MAX_DOWNLOAD_BYTES) as usize);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let read = reader.read(&mut chunk).map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
        progress.advance(read as u64);
    }
    Ok(body)
}

/// `body` itself when its decompressed content is valid (see [`check_content`]).
fn verify(stem: &str, body: Vec<u8>, sha256: Option<&str>) -> std::result::Result<Vec<u8>, String> {
    if !body.starts_with(&GZIP_MAGIC) {
        check_content(stem, &body, sha256)?;
        return Ok(body);
    }
    let mut content = Vec::new();
    // Every member, as the loader reads it (data/idx.rs): what passes here loads.
    flate2::read::MultiGzDecoder::new(&body[..])
        .take(MAX_CONTENT_BYTES)
        .read_to_end(&mut content)
        .map_err(|e| format!("corrupt gzip data ({e})"))?;
    check_content(stem, &content, sha256)?;
    Ok(body)
}

/// Whether `content` is a well-formed IDX file of the kind `stem` names and, when `sha256` is
/// given, has that checksum; the reason as one line when not.
fn check_content(
    stem: &str,
    content: &[u8],
    sha256: Option<&str>,
) -> std::result::Result<(), String> {
    if let Some(sha256) = sha256 {
        let found = checksums::sha256_hex(content);
        if found != sha256 {
            return Err(format!(
                "wrong content (SHA-256 {found}, expected {sha256})"
            ));
        }
    }
    let path = Path::new(stem);
    let parsed = if stem.contains("images") {
        idx::parse_images(path, content).map(|_| ())
    } else {
        idx::parse_labels(path, content).map(|_| ())
    };
    parsed.map_err(|e| match e {
        Error::BadFile { reason, .. } => format!("not a valid IDX file ({reason})"),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(content: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content).expect("compress");
        encoder.finish().expect("compress")
    }

    #[test]
    fn verify_reads_every_gzip_member_and_refuses_trailing_garbage() {
        let content = idx::encode_labels(&[1, 2, 3, 4]);
        let sha = checksums::sha256_hex(&content);
        let mut members = gzip(&content[..6]);
        members.extend(gzip(&content[6..]));
        let stem = "t10k-labels-idx1-ubyte";
        assert!(verify(stem, members.clone(), Some(&sha)).is_ok());
        let mut trailing = gzip(&content);
        trailing.extend_from_slice(b"garbage");
        assert!(verify(stem, trailing, Some(&sha)).is_err());
    }
}
