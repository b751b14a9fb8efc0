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
    Err(Error::DataMissing(format!(
        "{}: missing {stem}.gz (or {stem})",
        dir.display()
    )))
}

/// The largest content read from one file, decompressed (MNIST's largest is 47 MB; EMNIST's
/// 550 MB): a bound against a gzip bomb or a file that is no data set.
pub const MAX_CONTENT_BYTES: u64 = 1 << 30;

/// The file's content, gunzipped if it starts with the gzip magic.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_CONTENT_BYTES {
        return Err(Error::bad_file(
            path,
            format!(
                "{} is too large for an IDX file (at most {})",
                crate::memory::human(size.into()),
                crate::memory::human(MAX_CONTENT_BYTES.into())
            ),
        ));
    }
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decompress_if_gzip(path, raw)
}

/// `raw` itself, or its gzip decompression when it starts with the gzip magic `1f 8b`.
pub fn decompress_if_gzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::GzDecoder::new(&raw[..])
        .take(MAX_CONTENT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::bad_file(path, format!("corrupt gzip data ({e})")))?;
    if out.len() as u64 > MAX_CONTENT_BYTES {
        return Err(Error::bad_file(
            path,
            format!(
                "decompresses to more than {}: not an IDX file",
                crate::memory::human(MAX_CONTENT_BYTES.into())
            ),
        ));
    }
    Ok(out)
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
            format!("{} unexpected bytes after the data", have - data),
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
