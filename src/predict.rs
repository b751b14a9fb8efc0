//! Your own digit: a picture (PNG, JPEG, BMP, GIF, WebP, TIFF) turned into an MNIST-like 28×28 input, the way the data set was
//! made, and the network's top classes for it.
//!
//! The steps ([`mnist_input`]): grey with alpha composited on white; inverted when the ink is
//! darker than the background (the image's border), so ink is bright as in MNIST; background level
//! subtracted and ink stretched to full strength; cropped to the ink's bounding box; scaled to
//! fit 20×20 keeping the aspect ratio with area averaging (anti-aliased grey levels); placed in
//! 28×28 with its centre of mass at the centre.

use std::io::Cursor;
use std::path::Path;

use crate::model::{INPUTS, Network};
use crate::{Error, Result};

/// Side of the network's input image.
pub const SIDE: usize = 28;
/// MNIST digits fit a 20×20 box inside the 28×28 field.
pub const BOX: usize = 20;
/// Normalised ink above this counts for the bounding box: faint anti-aliasing and paper
/// texture stay out of it, as in MNIST's bounding boxes of (binary) NIST strokes.
pub const INK_THRESHOLD: f32 = 0.2;
/// Less contrast than this between background and darkest ink: nothing is drawn.
pub const MIN_CONTRAST: f32 = 0.1;

/// A grey picture, brightness in `[0, 1]` (0 black, 1 white), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct GreyImage {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// Pictures wider or taller than this are refused before decoding.
pub const MAX_SIDE: u32 = 20_000;
/// Pictures with more pixels than this (a 40-megapixel photo) are refused before decoding: the
/// decoded picture and its grey copy would take over 300 MB.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most memory a decoder may allocate.
pub const MAX_DECODE_BYTES: u64 = 512 << 20;
/// The most bytes a picture file may hold: far above any photo of a digit, far below memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The picture formats [`decode_picture`] reads.
pub const FORMATS: &str = "PNG, JPEG, BMP, GIF, WebP or TIFF";

/// Reads a picture file (see [`decode_picture`]).
pub fn read_picture(path: &Path) -> Result<GreyImage> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // Read no more than a picture may be (a device like /dev/zero never ends; a file's size
    // can change while it is read): one byte over the limit says it is too large.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::bad_file(
            path.display().to_string(),
            format!(
                "over {} MiB: larger than any picture this program reads",
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    decode_picture(&path.display().to_string(), &bytes)
}

/// Decodes a picture in any supported format ([`FORMATS`]; the content decides, not the
/// name) as grey, alpha composited on white. Its size is checked before it is decoded
/// ([`MAX_SIDE`], [`MAX_PIXELS`]) and the decoder's allocations are bounded
/// ([`MAX_DECODE_BYTES`]). `label` names the picture in errors (a path, an upload's name).
pub fn decode_picture(label: &str, bytes: &[u8]) -> Result<GreyImage> {
    let bad = |reason: String| Error::bad_file(label, reason);
    // Limits off only to read the header's size, which is then checked here in plain words.
    let reader = |limited: bool| -> Result<image::ImageReader<Cursor<&[u8]>>> {
        let mut reader = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| bad(format!("cannot read it ({e})")))?;
        let mut limits = image::Limits::no_limits();
        if limited {
            limits.max_image_width = Some(MAX_SIDE);
            limits.max_image_height = Some(MAX_SIDE);
            limits.max_alloc = Some(MAX_DECODE_BYTES);
        }
        reader.limits(limits);
        Ok(reader)
    };
    let format = reader(false)?
        .format()
        .ok_or_else(|| bad(format!("not a picture in a supported format ({FORMATS})")))?;
    let name = format_name(format);
    let (width, height) = reader(false)?
        .into_dimensions()
        .map_err(|e| bad(image_error(name, e)))?;
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(bad(format!(
            "the {name} picture is {width}×{height} pixels, too large to decode (at most \
             {MAX_SIDE} pixels a side and {} megapixels; it would need about {} of memory)",
            MAX_PIXELS / 1_000_000,
            crate::memory::human(u128::from(pixels) * 8)
        )));
    }
    if pixels == 0 {
        return Err(bad("the image is empty".into()));
    }
    let decoded = reader(true)?
        .decode()
        .map_err(|e| bad(image_error(name, e)))?;
    let rgba = decoded.into_rgba8();
    let (width, height) = (rgba.width() as usize, rgba.height() as usize);
    let values = rgba
        .pixels()
        .map(|pixel| {
            let level = |i: usize| f32::from(pixel.0[i]) / 255.0;
            // ITU-R BT.601 luma, as most grey conversions use.
            let grey = 0.299 * level(0) + 0.587 * level(1) + 0.114 * level(2);
            let alpha = level(3);
            alpha * grey + (1.0 - alpha)
        })
        .collect();
    Ok(GreyImage {
        width,
        height,
        values,
    })
}

fn format_name(format: image::ImageFormat) -> &'static str {
    use image::ImageFormat as F;
    match format {
        F::Png => "PNG",
        F::Jpeg => "JPEG",
        F::Bmp => "BMP",
        F::Gif => "GIF",
        F::WebP => "WebP",
        F::Tiff => "TIFF",
        _ => "picture",
    }
}

/// A decoder's error as one line in plain words.
fn image_error(format: &str, error: image::ImageError) -> String {
    // Some decoders end their messages with a line break: the detail is kept on one line.
    let detail = plain_chunk_names(&error.to_string())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match error {
        image::ImageError::Limits(_) => {
            format!(
                "the {format} picture is too large to decode within the memory limit ({detail})"
            )
        }
        image::ImageError::Unsupported(_) => {
            format!("this kind of {format} picture is not supported ({detail})")
        }
        _ => format!("corrupt or truncated {format} picture ({detail})"),
    }
}

/// The PNG decoder names chunks by their debug form (`ChunkType { type: IHDR, critical: true,
/// … }`); people know them as `IHDR`.
fn plain_chunk_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("ChunkType {") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let inside = &after["ChunkType {".len()..end];
        let name = inside
            .split(',')
            .find_map(|field| field.trim().strip_prefix("type:"))
            .map_or("?", str::trim);
        out.push_str(name);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What `net`'s first layer takes for a picture of one digit: its [`mnist_input`] after the
/// network's preprocessing.
pub fn network_input(net: &Network, path: &Path, image: &GreyImage) -> Result<Vec<f32>> {
    Ok(net.prepare(&mnist_input(path, image)?, SIDE, SIDE))
}

/// The 28×28 network input (`0` background, `1` full ink) for a picture of one digit.
/// `path` names the picture in errors (a blank picture has no digit).
pub fn mnist_input(path: &Path, image: &GreyImage) -> Result<Vec<f32>> {
    let ink = ink_levels(image);
    let max_ink = ink.iter().copied().fold(0.0f32, f32::max);
    if max_ink < MIN_CONTRAST {
        return Err(Error::bad_file(
            path,
            "no digit found: the picture is blank (no contrast with its background)",
        ));
    }
    let ink: Vec<f32> = ink.iter().map(|v| v / max_ink).collect();
    let (x0, y0, x1, y1) = bounding_box(&ink, image.width, INK_THRESHOLD)
        .ok_or_else(|| Error::bad_file(path, "no digit found in the picture"))?;
    let (crop_w, crop_h) = (x1 - x0, y1 - y0);
    let crop: Vec<f32> = (y0..y1)
        .flat_map(|y| {
            ink[y * image.width + x0..y * image.width + x1]
                .iter()
                .copied()
        })
        .collect();

    // Longest side → 20 pixels, the other in proportion (at least one pixel).
    let longest = crop_w.max(crop_h) as f64;
    let fit = |side: usize| ((side as f64 * BOX as f64 / longest).round() as usize).clamp(1, BOX);
    let (box_w, box_h) = (fit(crop_w), fit(crop_h));
    let mut scaled = resize_area(&crop, crop_w, crop_h, box_w, box_h);
    // Thin strokes on a big canvas average out to grey; MNIST strokes peak at full ink.
    let peak = scaled.iter().copied().fold(0.0f32, f32::max);
    if peak > 0.0 {
        scaled.iter_mut().for_each(|v| *v /= peak);
    }

    let (cx, cy) = centre_of_mass(&scaled, box_w);
    let centre = SIDE as f64 / 2.0;
    // Whole-pixel shift putting the centre of mass at the field's centre, kept inside it.
    let place = |com: f64, len: usize| ((centre - com).round().max(0.0) as usize).min(SIDE - len);
    let (left, top) = (place(cx, box_w), place(cy, box_h));
    let mut input = vec![0.0f32; INPUTS];
    for y in 0..box_h {
        for x in 0..box_w {
            input[(top + y) * SIDE + left + x] = scaled[y * box_w + x];
        }
    }
    Ok(input)
}

/// Ink per pixel in `[0, 1]` away from the background (the median of the border): the ink is
/// dark when the darkest pixel lies further below the background than the brightest lies above
/// it (so black on red paper works as well as black on white), bright otherwise.
fn ink_levels(image: &GreyImage) -> Vec<f32> {
    let mut border = border_values(image);
    border.sort_by(f32::total_cmp);
    let background = border[border.len() / 2];
    let darkest = image.values.iter().copied().fold(1.0f32, f32::min);
    let brightest = image.values.iter().copied().fold(0.0f32, f32::max);
    let dark_ink = background - darkest > brightest - background;
    image
        .values
        .iter()
        .map(|&v| {
            let ink = if dark_ink {
                background - v
            } else {
                v - background
            };
            ink.max(0.0)
        })
        .collect()
}

/// The outermost ring of pixels.
fn border_values(image: &GreyImage) -> Vec<f32> {
    let (w, h) = (image.width, image.height);
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| x == 0 || y == 0 || x + 1 == w || y + 1 == h)
        .map(|(x, y)| image.values[y * w + x])
        .collect()
}

/// `(x0, y0, x1, y1)`, end-exclusive, of the pixels above `threshold`; `None` if none is.
fn bounding_box(
    values: &[f32],
    width: usize,
    threshold: f32,
) -> Option<(usize, usize, usize, usize)> {
    let mut bbox: Option<(usize, usize, usize, usize)> = None;
    for (i, _) in values.iter().enumerate().filter(|(_, v)| **v > threshold) {
        let (x, y) = (i % width, i / width);
        bbox = Some(match bbox {
            None => (x, y, x + 1, y + 1),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
        });
    }
    bbox
}

/// Resamples a `src_w × src_h` picture to `dst_w × dst_h`: each output pixel is the mean of
/// the source area it covers (partly covered source pixels weigh by the part covered).
pub fn resize_area(
    src: &[f32],
    src_w: usize,
    src_h: usize,
    dst_w: usize,
    dst_h: usize,
) -> Vec<f32> {
    let across = area_weights(src_w, dst_w);
    let down = area_weights(src_h, dst_h);
    // Rows first (src_h × dst_w), then columns.
    let mut rows = vec![0.0f32; src_h * dst_w];
    for y in 0..src_h {
        for (x, weights) in across.iter().enumerate() {
            rows[y * dst_w + x] = weights.iter().map(|&(i, w)| w * src[y * src_w + i]).sum();
        }
    }
    let mut out = vec![0.0f32; dst_h * dst_w];
    for (y, weights) in down.iter().enumerate() {
        for x in 0..dst_w {
            out[y * dst_w + x] = weights.iter().map(|&(i, w)| w * rows[i * dst_w + x]).sum();
        }
    }
    out
}

/// For each of `dst` output cells, the source cells it overlaps and their weights (sum 1).
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let step = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            let (start, end) = (o as f64 * step, (o + 1) as f64 * step);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(src);
            (first..last)
                .map(|i| {
                    let overlap = (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0);
                    (i, (overlap / step) as f32)
                })
                .collect()
        })
        .collect()
}

/// Ink-weighted mean position, in pixel units from the top-left corner (pixel centres at +0.5).
fn centre_of_mass(values: &[f32], width: usize) -> (f64, f64) {
    let (mut sum, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in values.iter().enumerate() {
        let v = f64::from(v);
        sum += v;
        sx += v * ((i % width) as f64 + 0.5);
        sy += v * ((i / width) as f64 + 0.5);
    }
    let height = values.len() / width.max(1);
    if sum <= 0.0 {
        return (width as f64 / 2.0, height as f64 / 2.0);
    }
    (sx / sum, sy / sum)
}

/// The `count` most likely classes for `input`, best first, with the network's outputs
/// normalised to sum to 1: sigmoid outputs (`mse` networks) are independent scores, not
/// probabilities; softmax outputs (`xent` networks) already are probabilities.
pub fn top_classes(net: &Network, input: &[f32], count: usize) -> Result<Vec<(u8, f32)>> {
    let outputs = net.forward(input);
    crate::model::check_outputs(&outputs)?;
    let sum: f32 = outputs.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut ranked: Vec<(u8, f32)> = outputs
        .iter()
        .enumerate()
        .map(|(class, &o)| (class as u8, o / sum))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(count);
    Ok(ranked)
}

/// Height of the caption strip under each tile of [`write_inputs_png`].
pub const CAPTION_HEIGHT: usize = 24;

/// Writes 28×28 inputs side by side (2-pixel grey gaps), each pixel as a `scale`×`scale`
/// block, white ink on black as the network sees it, each with its caption (the file's name,
/// shortened to fit) under it; PNG, written atomically.
pub fn write_inputs_png(
    path: &Path,
    inputs: &[Vec<f32>],
    captions: &[String],
    scale: usize,
) -> Result<()> {
    use crate::report::canvas::{Canvas, Ink, text_height, text_width};
    const GAP: usize = 2;
    const TEXT_SCALE: usize = 2;
    let scale = scale.max(1);
    let tile = SIDE * scale;
    let width = inputs.len() * tile + inputs.len().saturating_sub(1) * GAP;
    let mut canvas = Canvas::new(width, tile + CAPTION_HEIGHT, [128, 128, 128]);
    for (n, input) in inputs.iter().enumerate() {
        let left = (n * (tile + GAP)) as i64;
        let grey: Vec<u8> = (0..SIDE * SIDE)
            .map(|i| (input.get(i).copied().unwrap_or(0.0).clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        canvas.blit_grey(left, 0, &grey, SIDE, scale, Ink::WhiteOnBlack);
        canvas.fill_rect(left, tile as i64, tile, CAPTION_HEIGHT, [255, 255, 255]);
        if let Some(caption) = captions.get(n) {
            let shown = fit_caption(caption, tile.saturating_sub(4), |t| {
                text_width(t, TEXT_SCALE)
            });
            let top = tile + (CAPTION_HEIGHT - text_height(TEXT_SCALE)) / 2;
            canvas.text_centred(
                left + (tile / 2) as i64,
                top as i64,
                &shown,
                TEXT_SCALE,
                [0, 0, 0],
            );
        }
    }
    canvas.save_png(path)
}

/// `text`, or its end after `..` when it is wider than `room` pixels (a file name's end tells
/// pictures apart better than its start).
fn fit_caption(text: &str, room: usize, width: impl Fn(&str) -> usize) -> String {
    if width(text) <= room {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for skip in 1..chars.len() {
        let shortened = format!("..{}", chars[skip..].iter().collect::<String>());
        if width(&shortened) <= room {
            return shortened;
        }
    }
    String::new()
}

/// Sigmoid outputs are ten independent scores, not a distribution: the page's bars and the
/// API's `probabilities` are the outputs divided by their sum (the same normalisation as
/// `mnist-gpu predict`). A network whose outputs already sum to 1 is left unchanged.
pub fn probabilities(outputs: &[f32]) -> Vec<f32> {
    let sum: f32 = outputs.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    outputs.iter().map(|o| o / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(width: usize, height: usize, paint: impl Fn(usize, usize) -> f32) -> GreyImage {
        GreyImage {
            width,
            height,
            values: (0..height)
                .flat_map(|y| (0..width).map(move |x| (x, y)))
                .map(|(x, y)| paint(x, y))
                .collect(),
        }
    }

    #[test]
    fn area_resize_keeps_the_mean() {
        let src: Vec<f32> = (0..7 * 5).map(|i| (i % 11) as f32 / 10.0).collect();
        let mean = src.iter().sum::<f32>() / src.len() as f32;
        for (w, h) in [(3, 2), (7, 5), (14, 10), (4, 9)] {
            let out = resize_area(&src, 7, 5, w, h);
            let out_mean = out.iter().sum::<f32>() / out.len() as f32;
            // Area averaging conserves the mean exactly, up to f32 rounding of a few sums.
            assert!(
                (mean - out_mean).abs() < 1e-5,
                "{w}×{h}: {mean} vs {out_mean}"
            );
        }
    }

    #[test]
    fn dark_bar_on_white_becomes_a_centred_bright_bar() {
        // A black 10×40 bar at the left of a white 100×60 picture.
        let image = picture(100, 60, |x, y| {
            if (5..15).contains(&x) && (10..50).contains(&y) {
                0.0
            } else {
                1.0
            }
        });
        let input = mnist_input(Path::new("bar"), &image).expect("input");
        // 40 tall → 20 tall, 10 wide → 5 wide, centred: columns 12..17 (14 − 2.5 rounds to 12).
        let lit: Vec<usize> = (0..INPUTS).filter(|&i| input[i] > 0.5).collect();
        let cols: Vec<usize> = lit.iter().map(|i| i % SIDE).collect();
        let rows: Vec<usize> = lit.iter().map(|i| i / SIDE).collect();
        assert_eq!(lit.len(), 5 * 20);
        assert_eq!(
            (cols.iter().min(), cols.iter().max()),
            (Some(&12), Some(&16))
        );
        assert_eq!(
            (rows.iter().min(), rows.iter().max()),
            (Some(&4), Some(&23))
        );
        assert!(input.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn light_on_dark_and_dark_on_light_give_the_same_input() {
        let shape = |x: usize, y: usize| (x as i32 - 20).pow(2) + (y as i32 - 25).pow(2) < 120;
        let dark_on_light = picture(50, 50, |x, y| if shape(x, y) { 0.1 } else { 0.9 });
        let light_on_dark = picture(50, 50, |x, y| if shape(x, y) { 0.9 } else { 0.1 });
        let a = mnist_input(Path::new("a"), &dark_on_light).expect("a");
        let b = mnist_input(Path::new("b"), &light_on_dark).expect("b");
        assert_eq!(a, b);
        assert!(a.iter().any(|&v| v > 0.99));
    }

    #[test]
    fn blank_picture_is_an_error() {
        let blank = picture(30, 30, |_, _| 0.8);
        assert!(matches!(
            mnist_input(Path::new("blank"), &blank),
            Err(Error::BadFile { .. })
        ));
    }

    #[test]
    fn probabilities_sum_to_one_best_first() {
        let net = Network::new(&[8], 1).expect("net");
        let top = top_classes(&net, &vec![0.5; INPUTS], 10).expect("finite");
        let sum: f32 = top.iter().map(|t| t.1).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    }

    #[test]
    fn chunk_types_read_as_their_names() {
        let text = "CRC error: expected 0x1 have 0x2 while decoding ChunkType { type: IHDR, \
                    critical: true, private: false, reserved: false, safecopy: false } chunk.";
        assert_eq!(
            plain_chunk_names(text),
            "CRC error: expected 0x1 have 0x2 while decoding IHDR chunk."
        );
        assert_eq!(plain_chunk_names("no chunk"), "no chunk");
    }
}
