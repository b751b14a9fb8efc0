//! Your own digit: any PNG turned into an MNIST-like 28×28 input, the way the data set was
//! made, and the network's top classes for it.
//!
//! The steps ([`mnist_input`]): grey with alpha composited on white; inverted when the ink is
//! darker than the background (the image's border), so ink is bright as in MNIST; background level
//! subtracted and ink stretched to full strength; cropped to the ink's bounding box; scaled to
//! fit 20×20 keeping the aspect ratio with area averaging (anti-aliased grey levels); placed in
//! 28×28 with its centre of mass at the centre.

use std::io::Cursor;
use std::path::Path;

use crate::atomic_file::write_atomic_with;
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

/// Reads a PNG of any colour type and depth as grey, alpha composited on white.
pub fn read_png(path: &Path) -> Result<GreyImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_png(path, &bytes)
}

/// Decodes PNG bytes; `path` names the image in errors.
pub fn decode_png(path: &Path, bytes: &[u8]) -> Result<GreyImage> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return Err(Error::bad_file(path, "not a PNG file (no PNG signature)"));
    }
    let bad =
        |e: png::DecodingError| Error::bad_file(path, format!("corrupt or truncated PNG ({e})"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palette → RGB(A), low bit depths → 8 bits, tRNS → alpha, 16 bits → 8 bits.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::bad_file(path, "the image is too large to decode"))?;
    let mut buffer = vec![0u8; size];
    let info = reader.next_frame(&mut buffer).map_err(bad)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let (grey_channels, has_alpha) = match info.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => {
            return Err(Error::bad_file(path, "palette image was not expanded"));
        }
    };
    if width == 0 || height == 0 {
        return Err(Error::bad_file(path, "the image is empty"));
    }
    let mut values = Vec::with_capacity(width * height);
    for row in buffer.chunks(info.line_size).take(height) {
        for pixel in row.chunks_exact(channels).take(width) {
            let level = |i: usize| f32::from(pixel[i]) / 255.0;
            let grey = if grey_channels == 1 {
                level(0)
            } else {
                // ITU-R BT.601 luma, as most grey conversions use.
                0.299 * level(0) + 0.587 * level(1) + 0.114 * level(2)
            };
            let alpha = if has_alpha { level(channels - 1) } else { 1.0 };
            values.push(alpha * grey + (1.0 - alpha));
        }
    }
    Ok(GreyImage {
        width,
        height,
        values,
    })
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
pub fn top_classes(net: &Network, input: &[f32], count: usize) -> Vec<(u8, f32)> {
    let outputs = net.forward(input);
    let sum: f32 = outputs.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut ranked: Vec<(u8, f32)> = outputs
        .iter()
        .enumerate()
        .map(|(class, &o)| (class as u8, o / sum))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(count);
    ranked
}

/// Writes 28×28 inputs side by side (2-pixel grey gaps), each pixel as a `scale`×`scale`
/// block, white ink on black as the network sees it; grey PNG, written atomically.
pub fn write_inputs_png(path: &Path, inputs: &[Vec<f32>], scale: usize) -> Result<()> {
    const GAP: usize = 2;
    let scale = scale.max(1);
    let tile = SIDE * scale;
    let width = inputs.len() * tile + inputs.len().saturating_sub(1) * GAP;
    let height = tile;
    let mut pixels = vec![128u8; width * height];
    for (n, input) in inputs.iter().enumerate() {
        let left = n * (tile + GAP);
        for y in 0..height {
            for x in 0..tile {
                let v = input
                    .get((y / scale) * SIDE + x / scale)
                    .copied()
                    .unwrap_or(0.0);
                pixels[y * width + left + x] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    write_atomic_with(path, |file| {
        let mut encoder =
            png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
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
        let top = top_classes(&net, &vec![0.5; INPUTS], 10);
        let sum: f32 = top.iter().map(|t| t.1).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}
