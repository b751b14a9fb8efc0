//! Pictures in every format the decoder reads. Valid encodings made here (PNG in every colour
//! type and bit depth, palette and 16-bit included, and an animated PNG; JPEG grey and colour
//! at random qualities; BMP in each colour type; GIF with one to many frames; lossless WebP;
//! TIFF from the image crate, and TIFF written tag by tag here, CMYK included), then one
//! structural edit: the header's width and height set to edge values (with the PNG header's
//! CRC fixed, so the decoder gets past it), TIFF tags set to absurd strip counts, bit depths
//! and compressions, or cut short; then sometimes byte mutations. Each input goes through
//! `decode_picture`, the digit preprocessing, and (one case in eight) the server's upload path.

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{ExtendedColorType, ImageEncoder, RgbaImage};
use mnist_gpu::predict::{decode_picture, mnist_input};
use mnist_gpu::serve::api::decode_upload;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::harness::{self, Verdict, one_line};
use super::mutate::{maybe_mutate, pick};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Png,
    Jpeg,
    Bmp,
    Gif,
    WebP,
    Tiff,
}

pub const FORMATS: [Format; 6] = [
    Format::Png,
    Format::Jpeg,
    Format::Bmp,
    Format::Gif,
    Format::WebP,
    Format::Tiff,
];

/// Sides a header edit writes: tiny, ordinary, at and past the limits, absurd.
const SIDES: [u32; 16] = [
    0,
    1,
    2,
    3,
    28,
    255,
    4096,
    4097,
    20_000,
    20_001,
    65_535,
    65_536,
    1 << 24,
    0x7fff_ffff,
    0x8000_0000,
    u32::MAX,
];

fn pixels(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random()).collect()
}

fn size(rng: &mut ChaCha8Rng) -> (u32, u32) {
    match rng.random_range(0..10) {
        0 => (1, rng.random_range(1..300)),
        1 => (rng.random_range(1..300), 1),
        _ => (rng.random_range(1..48), rng.random_range(1..48)),
    }
}

fn png(rng: &mut ChaCha8Rng) -> Vec<u8> {
    use png::{BitDepth, ColorType};
    let (w, h) = size(rng);
    let (color, depth) = pick(
        rng,
        &[
            (ColorType::Grayscale, BitDepth::One),
            (ColorType::Grayscale, BitDepth::Four),
            (ColorType::Grayscale, BitDepth::Eight),
            (ColorType::Grayscale, BitDepth::Sixteen),
            (ColorType::GrayscaleAlpha, BitDepth::Eight),
            (ColorType::GrayscaleAlpha, BitDepth::Sixteen),
            (ColorType::Rgb, BitDepth::Eight),
            (ColorType::Rgb, BitDepth::Sixteen),
            (ColorType::Rgba, BitDepth::Eight),
            (ColorType::Rgba, BitDepth::Sixteen),
            (ColorType::Indexed, BitDepth::Two),
            (ColorType::Indexed, BitDepth::Eight),
        ],
    );
    let samples = match color {
        ColorType::Grayscale | ColorType::Indexed => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
    };
    let bits = samples * depth as usize;
    let row = (w as usize * bits).div_ceil(8);
    let frames = if rng.random_range(0..10) == 0 { 3 } else { 1 };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if color == ColorType::Indexed {
        encoder.set_palette(pixels(rng, 3 << depth as usize));
    }
    if frames > 1 {
        encoder.set_animated(frames, 0).expect("animated");
    }
    let mut writer = encoder.write_header().expect("png header");
    for _ in 0..frames {
        let mut data = pixels(rng, row * h as usize);
        if color == ColorType::Indexed {
            // Indices within the palette.
            let max = (1u16 << depth as u16) - 1;
            data.iter_mut().for_each(|b| {
                if depth == BitDepth::Eight {
                    *b = (*b as u16 % (max + 1)) as u8;
                }
            });
        }
        writer.write_image_data(&data).expect("png data");
    }
    writer.finish().expect("png end");
    out
}

fn encoded(rng: &mut ChaCha8Rng, format: Format) -> Vec<u8> {
    let (w, h) = size(rng);
    let mut out = Vec::new();
    let grey = rng.random_bool(0.3);
    let (color, samples) = if grey {
        (ExtendedColorType::L8, 1)
    } else {
        (ExtendedColorType::Rgb8, 3)
    };
    let data = pixels(rng, (w * h) as usize * samples);
    match format {
        Format::Png => return png(rng),
        Format::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, rng.random_range(1..=100))
                .write_image(&data, w, h, color)
        }
        Format::Bmp => {
            let (color, data) = if rng.random_bool(0.3) {
                (ExtendedColorType::Rgba8, pixels(rng, (w * h) as usize * 4))
            } else {
                (color, data)
            };
            image::codecs::bmp::BmpEncoder::new(&mut out).write_image(&data, w, h, color)
        }
        Format::Gif => {
            let frames = match rng.random_range(0..20) {
                0 => 60,
                1..=5 => rng.random_range(2..6),
                _ => 1,
            };
            let mut encoder = GifEncoder::new_with_speed(&mut out, 30);
            if frames > 1 {
                encoder.set_repeat(Repeat::Infinite).expect("repeat");
            }
            let frames: Vec<image::Frame> = (0..frames)
                .map(|_| {
                    let (fw, fh) = (rng.random_range(1..=w), rng.random_range(1..=h));
                    let buffer = RgbaImage::from_raw(fw, fh, pixels(rng, (fw * fh * 4) as usize))
                        .expect("frame");
                    image::Frame::from_parts(
                        buffer,
                        w - fw,
                        h - fh,
                        image::Delay::from_numer_denom_ms(10, 1),
                    )
                })
                .collect();
            encoder.encode_frames(frames)
        }
        Format::WebP => {
            image::codecs::webp::WebPEncoder::new_lossless(&mut out).write_image(&data, w, h, color)
        }
        Format::Tiff => {
            if rng.random_bool(0.5) {
                return tiff_written(rng, false);
            }
            let mut cursor = Cursor::new(&mut out);
            image::codecs::tiff::TiffEncoder::new(&mut cursor).write_image(&data, w, h, color)
        }
    }
    .expect("encode");
    out
}

/// One TIFF entry: tag, type (3 SHORT, 4 LONG), values.
type Entry = (u16, u16, Vec<u32>);

/// A little-endian TIFF with these entries (sorted by tag) and `data` after them; entries
/// whose values do not fit in the entry point past the directory.
pub fn tiff(entries: &[Entry], data: &[u8]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let directory_end = 8 + 2 + 12 * entries.len() + 4;
    let mut extra: Vec<u8> = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, values) in entries {
        let width = if *kind == 3 { 2 } else { 4 };
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| {
                if width == 2 {
                    (v as u16).to_le_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                }
            })
            .collect();
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&((directory_end + extra.len()) as u32).to_le_bytes());
            extra.extend_from_slice(&bytes);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&extra);
    out.extend_from_slice(data);
    out
}

/// An uncompressed strip TIFF written tag by tag: grey, RGB or CMYK, 8 or 16 bits, one or
/// several strips; then (when `edit`) one tag set to an edge value.
pub fn tiff_written(rng: &mut ChaCha8Rng, edit: bool) -> Vec<u8> {
    let (w, h) = size(rng);
    let (photometric, samples) = pick(rng, &[(1u32, 1usize), (2, 3), (5, 4)]);
    let bits = pick(rng, &[8u32, 16]);
    let rows_per_strip = rng.random_range(1..=h);
    let row_bytes = w as usize * samples * bits as usize / 8;
    let strips = h.div_ceil(rows_per_strip) as usize;
    // Data first (after the directory the offsets are fixed up below).
    let data = pixels(rng, row_bytes * h as usize);
    let mut entries: Vec<Entry> = vec![
        (256, 4, vec![w]),
        (257, 4, vec![h]),
        (258, 3, vec![bits; samples]),
        (259, 3, vec![1]),
        (262, 3, vec![photometric]),
        (273, 4, vec![0; strips]),
        (277, 3, vec![samples as u32]),
        (278, 4, vec![rows_per_strip]),
        (279, 4, vec![0; strips]),
    ];
    match if edit { rng.random_range(0..8) } else { 7 } {
        0 => entries[rng.random_range(0..2)].2 = vec![pick(rng, &SIDES)],
        1 => entries[5].2 = vec![0; pick(rng, &[0, 1, 1000, 100_000])],
        2 => entries[2].2 = vec![pick(rng, &[0, 1, 3, 12, 32, 64, 65_535]); samples],
        3 => entries[3].2 = vec![pick(rng, &[2, 5, 7, 8, 32_773, 65_535])],
        4 => entries[6].2 = vec![pick(rng, &[0, 2, 5, 255, 65_535])],
        5 => entries[7].2 = vec![pick(rng, &[0, 1, u32::MAX])],
        _ => {}
    }
    // Strip offsets and sizes point into the data.
    let header = tiff(&entries, &[]).len() as u32;
    let strip_bytes = (row_bytes * rows_per_strip as usize) as u32;
    let n = entries[5].2.len();
    entries[5].2 = (0..n as u32).map(|i| header + i * strip_bytes).collect();
    entries[8].2 = (0..n as u32)
        .map(|i| strip_bytes.min((data.len() as u32).saturating_sub(i * strip_bytes)))
        .collect();
    tiff(&entries, &data)
}

/// Valid encodings to start from, a few dozen per format.
fn seeds() -> &'static [(Format, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(Format, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4);
        FORMATS
            .iter()
            .flat_map(|&format| (0..40).map(move |_| format))
            .map(|format| (format, encoded(&mut rng, format)))
            .collect()
    })
}

fn put_be32(bytes: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = bytes.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

fn put_le(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(slot) = bytes.get_mut(at..at + value.len()) {
        slot.copy_from_slice(value);
    }
}

/// Where a lossless WebP's size bits start: after the `VP8L` chunk's tag, length and signature.
pub fn vp8l_size_at(bytes: &[u8]) -> Option<usize> {
    let tag = bytes.windows(4).position(|w| w == b"VP8L")?;
    (bytes.len() >= tag + 13).then_some(tag + 9)
}

/// Width and height in the format's header set to `(w, h)`.
fn set_size(format: Format, bytes: &mut [u8], w: u32, h: u32) {
    match format {
        Format::Png => {
            put_be32(bytes, 16, w);
            put_be32(bytes, 20, h);
            // The IHDR's CRC fixed, so the decoder reads the new size.
            if bytes.len() >= 33 {
                let mut crc = flate2::Crc::new();
                crc.update(&bytes[12..29]);
                put_be32(bytes, 29, crc.sum());
            }
        }
        Format::Jpeg => {
            if let Some(at) = bytes
                .windows(2)
                .position(|m| m[0] == 0xff && (0xc0..=0xc2).contains(&m[1]))
            {
                put_le(bytes, at + 5, &(h as u16).to_be_bytes());
                put_le(bytes, at + 7, &(w as u16).to_be_bytes());
            }
        }
        Format::Bmp => {
            put_le(bytes, 18, &w.to_le_bytes());
            put_le(bytes, 22, &h.to_le_bytes());
        }
        Format::Gif => {
            put_le(bytes, 6, &(w as u16).to_le_bytes());
            put_le(bytes, 8, &(h as u16).to_le_bytes());
            if let Some(at) = bytes.iter().skip(13).position(|&b| b == 0x2c) {
                put_le(bytes, 13 + at + 5, &(w as u16).to_le_bytes());
                put_le(bytes, 13 + at + 7, &(h as u16).to_le_bytes());
            }
        }
        Format::WebP => {
            // VP8L: 14 bits of width − 1, 14 of height − 1, after the signature byte.
            let bits = (w.wrapping_sub(1) & 0x3fff) | ((h.wrapping_sub(1) & 0x3fff) << 14);
            if let Some(at) = vp8l_size_at(bytes) {
                let old = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
                let new = (old & 0xf000_0000) | bits;
                bytes[at..at + 4].copy_from_slice(&new.to_le_bytes());
            }
        }
        Format::Tiff => {}
    }
}

/// A generated picture in `format`.
pub fn picture_case(rng: &mut ChaCha8Rng, format: Format) -> Vec<u8> {
    let seeds: Vec<&Vec<u8>> = seeds()
        .iter()
        .filter(|(f, _)| *f == format)
        .map(|(_, bytes)| bytes)
        .collect();
    let seed = seeds[rng.random_range(0..seeds.len())];
    let format = &format;
    let mut bytes = if rng.random_range(0..10) == 0 {
        encoded(rng, *format)
    } else {
        seed.clone()
    };
    match rng.random_range(0..7) {
        6 if *format == Format::Tiff => bytes = tiff_written(rng, true),
        0 => {
            // Mostly sizes refused from the header; now and then a big one that is decoded.
            let side = |rng: &mut ChaCha8Rng| {
                let side = pick(rng, &SIDES);
                if (4096..=20_000).contains(&side) && rng.random_range(0..20) != 0 {
                    rng.random_range(1..600)
                } else {
                    side
                }
            };
            let (w, h) = (side(rng), side(rng));
            set_size(*format, &mut bytes, w, h);
        }
        1 => bytes.truncate(rng.random_range(0..bytes.len())),
        _ => {}
    }
    maybe_mutate(rng, 0.5, bytes)
}

/// Decoding, the digit preprocessing and (when `upload`) the server's path: a value or one
/// line, and a decoded picture's grey levels all in `[0, 1]`.
pub fn check_picture(bytes: &[u8], upload: bool) -> Result<Verdict, String> {
    if upload
        && let Err(e) = decode_upload(bytes)
        && (e.message.trim().is_empty() || e.message.contains('\n'))
    {
        return Err(format!("upload error not one line: {:?}", e.message));
    }
    match decode_picture("generated", bytes) {
        Ok(image) => {
            if image.values.len() != image.width * image.height
                || image.values.iter().any(|v| !(0.0..=1.0).contains(v))
            {
                return Err(format!(
                    "decoded {}×{} with {} values, some outside [0, 1]",
                    image.width,
                    image.height,
                    image.values.len()
                ));
            }
            match mnist_input(Path::new("generated"), &image) {
                Ok(input) if input.len() == 784 && input.iter().all(|v| v.is_finite()) => {}
                Ok(_) => return Err("the digit's input is not 784 finite values".into()),
                Err(e) => {
                    one_line(&e)?;
                }
            }
            Ok(Verdict::Accepted)
        }
        Err(e) => one_line(&e),
    }
}

/// `count` cases of each format.
fn run(base: u64, count: usize) {
    // Every format decodes from its seeds: the generators make what the decoder reads.
    for (format, seed) in seeds() {
        decode_picture("seed", seed).unwrap_or_else(|e| panic!("{format:?} seed: {e}"));
    }
    for (i, format) in FORMATS.into_iter().enumerate() {
        let name = format!("picture_{format:?}").to_lowercase();
        let summary = harness::run(
            &name,
            base + i as u64 * 1_000_000,
            count,
            |rng| (picture_case(rng, format), rng.random_range(0..8) == 0),
            |(bytes, _)| bytes,
            |(bytes, upload)| check_picture(bytes, *upload),
        );
        harness::assert_mixed(&summary, summary.cases / 20);
    }
}

#[test]
fn generated_pictures() {
    run(4_000_000, harness::cases(5_000));
}

#[test]
#[ignore = "100,000 cases of each format: cargo test --release --test fuzz -- --ignored"]
fn generated_pictures_full() {
    run(40_000_000, harness::cases(harness::FULL_CASES));
}
