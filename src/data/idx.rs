//! The IDX format: a big-endian header (magic, counts, dimensions) followed by u8 data.
//! Images have magic 2051 and dimensions `count, rows, cols`; labels have magic 2049 and `count`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

pub const IMAGE_MAGIC: u32 = 2051;
pub const LABEL_MAGIC: u32 = 2049;
/// The only image size the network is built for.
pub const ROWS: usize = 28;
pub const COLS: usize = 28;

/// Decoded image file.
#[derive(Debug)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// `dir/stem` or `dir/stem.gz`, whichever exists (raw first).
pub fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let raw = dir.join(stem);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    for path in [&raw, &gz] {
        if path.is_dir() {
            return Err(Error::DataMissing(format!(
                "{}: {} is a folder, not the data file",
                dir.display(),
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )));
        }
    }
    Err(Error::DataMissing(format!(
        "{}: missing {stem}.gz (or {stem})",
        dir.display()
    )))
}

/// The largest content read from one file, decompressed (MNIST's largest is 47 MB; EMNIST's
/// 550 MB): a bound against a gzip bomb or a file that is no data set.
pub const MAX_CONTENT_BYTES: u64 = 1 << 30;

/// The file's content, gunzipped if it starts with the gzip magic, read no further than its
/// IDX header declares (see [`read_declared`]): a gzip bomb, or real content followed by a
/// gigabyte of zeros, stops at the declared size.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_content(path, file)
}

/// [`read_bytes`] on any reader (`path` names it in errors).
pub fn read_content(path: &Path, mut reader: impl Read) -> Result<Vec<u8>> {
    let mut magic = Vec::with_capacity(2);
    (&mut reader)
        .take(2)
        .read_to_end(&mut magic)
        .map_err(|e| Error::io(path, e))?;
    let start = std::io::Cursor::new(magic.clone());
    if magic == [0x1f, 0x8b] {
        // Every member: `cat a.gz b.gz` and parallel compressors split one file over several.
        let gunzipped = flate2::read::MultiGzDecoder::new(start.chain(reader));
        read_declared(gunzipped)
            .map_err(|e| e.or_else_bad(path, |e| format!("corrupt gzip data ({e})")))
    } else {
        read_declared(start.chain(reader)).map_err(|e| e.or_else_io(path))
    }
}

/// Why [`read_declared`] stopped.
enum ReadError {
    /// The header declares too much: the message.
    TooLarge(String),
    Io(std::io::Error),
}

impl ReadError {
    fn or_else_bad(self, path: &Path, io: impl FnOnce(std::io::Error) -> String) -> Error {
        match self {
            ReadError::TooLarge(why) => Error::bad_file(path, why),
            ReadError::Io(e) => Error::bad_file(path, io(e)),
        }
    }

    fn or_else_io(self, path: &Path) -> Error {
        match self {
            ReadError::TooLarge(why) => Error::bad_file(path, why),
            ReadError::Io(e) => Error::io(path, e),
        }
    }
}

/// Reads an IDX stream as far as its header says it goes, and one byte more (so a longer
/// file is caught by the parser, which names the lengths): the magic's last byte gives the
/// number of dimensions, the dimensions the number of one-byte elements. A header that is cut
/// short is returned as it is, for the parser to call truncated.
fn read_declared(mut reader: impl Read) -> std::result::Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    (&mut reader)
        .take(4)
        .read_to_end(&mut out)
        .map_err(ReadError::Io)?;
    if out.len() < 4 {
        return Ok(out);
    }
    let dims = u64::from(out[3]);
    (&mut reader)
        .take(4 * dims)
        .read_to_end(&mut out)
        .map_err(ReadError::Io)?;
    if (out.len() as u64) < 4 + 4 * dims {
        return Ok(out);
    }
    let elements = out[4..]
        .chunks_exact(4)
        .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
        .try_fold(1u64, |total, d| total.checked_mul(d));
    let declared = match elements {
        Some(n) if n <= MAX_CONTENT_BYTES => n,
        _ => {
            return Err(ReadError::TooLarge(format!(
                "its header declares more than {} of data: not an IDX file this program reads",
                crate::memory::human(MAX_CONTENT_BYTES.into())
            )));
        }
    };
    read_up_to(reader, declared + 1, &mut out).map_err(ReadError::Io)?;
    Ok(out)
}

/// Appends at most `limit` bytes of `reader` to `out`, growing it by doubling but never past
/// `limit` more bytes (`read_to_end` would double past it: up to twice the declared content).
fn read_up_to(reader: impl Read, limit: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
    let end = (out.len() as u64).saturating_add(limit);
    let mut reader = reader.take(limit);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.capacity() - out.len() < n {
            let grown = (out.capacity() as u64)
                .saturating_mul(2)
                .max((out.len() + n) as u64)
                .min(end);
            out.reserve_exact(grown as usize - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

pub fn read_images(path: &Path) -> Result<Images> {
    parse_images(path, &read_bytes(path)?)
}

pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(path, &read_bytes(path)?)
}

fn header(path: &Path, bytes: &[u8], words: usize) -> Result<Vec<usize>> {
    if bytes.len() < 4 * words {
        return Err(Error::bad_file(
            path,
            format!(
                "truncated IDX header ({} bytes, expected {})",
                bytes.len(),
                4 * words
            ),
        ));
    }
    Ok(bytes[..4 * words]
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize)
        .collect())
}

fn check_magic(path: &Path, found: usize, expected: u32, what: &str) -> Result<()> {
    if found != expected as usize {
        return Err(Error::bad_file(
            path,
            format!("not an IDX {what} file (magic {found}, expected {expected})"),
        ));
    }
    Ok(())
}

fn check_length(path: &Path, bytes: &[u8], header: usize, data: usize) -> Result<()> {
    let have = bytes.len() - header;
    if have < data {
        return Err(Error::bad_file(
            path,
            format!("truncated: the header promises {data} data bytes, the file has {have}"),
        ));
    }
    if have > data {
        return Err(Error::bad_file(
            path,
            format!("longer than its header declares ({data} data bytes): not a clean IDX file"),
        ));
    }
    Ok(())
}

pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<Images> {
    let h = header(path, bytes, 4)?;
    check_magic(path, h[0], IMAGE_MAGIC, "image")?;
    let (count, rows, cols) = (h[1], h[2], h[3]);
    if (rows, cols) != (ROWS, COLS) {
        return Err(Error::bad_file(
            path,
            format!("images are {rows}×{cols}, expected {ROWS}×{COLS}"),
        ));
    }
    let data = count
        .checked_mul(rows * cols)
        .ok_or_else(|| Error::bad_file(path, format!("image count {count} is too large")))?;
    check_length(path, bytes, 16, data)?;
    Ok(Images {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// The IDX bytes of an image file: header then pixels (the inverse of [`parse_images`]).
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16 + pixels.len());
    for word in [IMAGE_MAGIC as usize, count, rows, cols] {
        bytes.extend_from_slice(&(word as u32).to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// The IDX bytes of a label file (the inverse of [`parse_labels`]).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + labels.len());
    for word in [LABEL_MAGIC as usize, labels.len()] {
        bytes.extend_from_slice(&(word as u32).to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let h = header(path, bytes, 2)?;
    check_magic(path, h[0], LABEL_MAGIC, "label")?;
    check_length(path, bytes, 8, h[1])?;
    let labels = bytes[8..].to_vec();
    if let Some(bad) = labels.iter().find(|&&l| l > 9) {
        return Err(Error::bad_file(
            path,
            format!("label {bad} is not a digit 0-9"),
        ));
    }
    Ok(labels)
}
