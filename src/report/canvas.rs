//! An RGB canvas for the program's pictures: rectangles, grey images at integer scales and
//! anti-aliased text (DejaVu Sans, embedded), saved as PNG through an atomic write. Drawing clips at the edges, so callers may
//! draw partly outside without checks.

use std::path::Path;

use std::sync::OnceLock;

use crate::atomic_file::write_atomic;
use crate::{Error, Result};
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

/// A colour as red, green, blue bytes.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];

/// How grey bytes (0 = blank paper, 255 = full ink, as MNIST stores them) become colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// Dark digits on white paper.
    DarkOnWhite,
    /// White digits on black, as MNIST is usually shown.
    WhiteOnBlack,
}

impl Ink {
    pub fn colour(self, grey: u8) -> Rgb {
        match self {
            Ink::DarkOnWhite => [255 - grey; 3],
            Ink::WhiteOnBlack => [grey; 3],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas {
    width: usize,
    height: usize,
    /// Row-major RGB bytes.
    bytes: Vec<u8>,
}

impl Canvas {
    /// A `width × height` canvas filled with `background`.
    pub fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        Canvas {
            width,
            height,
            bytes: background.repeat(width * height),
        }
    }

    /// A canvas holding `bytes`, row-major RGB (padded with white or cut to size).
    pub fn from_rgb(width: usize, height: usize, mut bytes: Vec<u8>) -> Canvas {
        bytes.resize(width * height * 3, 255);
        Canvas {
            width,
            height,
            bytes,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The colour at (x, y), or `None` outside the canvas.
    pub fn pixel(&self, x: usize, y: usize) -> Option<Rgb> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = 3 * (y * self.width + x);
        Some([self.bytes[at], self.bytes[at + 1], self.bytes[at + 2]])
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, colour: Rgb) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let at = 3 * (y as usize * self.width + x as usize);
        self.bytes[at..at + 3].copy_from_slice(&colour);
    }

    pub fn fill(&mut self, colour: Rgb) {
        for pixel in self.bytes.chunks_exact_mut(3) {
            pixel.copy_from_slice(&colour);
        }
    }

    /// Fills the `w × h` rectangle whose top-left corner is (x, y).
    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize, colour: Rgb) {
        let x0 = x.clamp(0, self.width as i64) as usize;
        let y0 = y.clamp(0, self.height as i64) as usize;
        let x1 = (x + w as i64).clamp(0, self.width as i64) as usize;
        let y1 = (y + h as i64).clamp(0, self.height as i64) as usize;
        for row in y0..y1 {
            let start = 3 * (row * self.width + x0);
            let end = 3 * (row * self.width + x1);
            for pixel in self.bytes[start..end].chunks_exact_mut(3) {
                pixel.copy_from_slice(&colour);
            }
        }
    }

    /// The outline of a rectangle, `thickness` pixels wide, drawn inside its bounds.
    pub fn rect(&mut self, x: i64, y: i64, w: usize, h: usize, thickness: usize, colour: Rgb) {
        let t = thickness.min(w).min(h);
        self.fill_rect(x, y, w, t, colour);
        self.fill_rect(x, y + (h - t) as i64, w, t, colour);
        self.fill_rect(x, y, t, h, colour);
        self.fill_rect(x + (w - t) as i64, y, t, h, colour);
    }

    /// Draws a grey image of `cols` columns (row-major bytes) with its top-left corner at (x, y),
    /// each source pixel as a `scale × scale` block.
    pub fn blit_grey(&mut self, x: i64, y: i64, grey: &[u8], cols: usize, scale: usize, ink: Ink) {
        if cols == 0 {
            return;
        }
        for (index, &value) in grey.iter().enumerate() {
            let (col, row) = ((index % cols) as i64, (index / cols) as i64);
            let s = scale as i64;
            self.fill_rect(x + col * s, y + row * s, scale, scale, ink.colour(value));
        }
    }

    /// Writes `text` with the top of its capitals at (x, y); capitals are `7 × scale` pixels
    /// tall. Glyphs are anti-aliased (DejaVu Sans, embedded).
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        self.draw_text(text, scale, |canvas, gx, gy, coverage| {
            canvas.blend_pixel(x + gx, y + gy, colour, coverage);
        });
    }

    /// Writes `text` turned a quarter turn anticlockwise (read bottom to top, as a y-axis title),
    /// with (x, y) the bottom-left corner of the first capital as seen upright.
    pub fn text_up(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        self.draw_text(text, scale, |canvas, gx, gy, coverage| {
            // Upright rightwards becomes upwards and upright downwards becomes rightwards.
            canvas.blend_pixel(x + gy, y - gx - 1, colour, coverage);
        });
    }

    /// Writes `text` centred horizontally on `centre_x`.
    pub fn text_centred(&mut self, centre_x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        let half = (text_width(text, scale) / 2) as i64;
        self.text(centre_x - half, y, text, scale, colour);
    }

    /// Mixes `colour` into the pixel at (x, y) by `coverage` (0 to 1); outside is ignored.
    fn blend_pixel(&mut self, x: i64, y: i64, colour: Rgb, coverage: f32) {
        if let Some(under) = (x >= 0 && y >= 0)
            .then(|| self.pixel(x as usize, y as usize))
            .flatten()
        {
            self.set(x, y, blend(under, colour, f64::from(coverage)));
        }
    }

    /// Calls `dot(canvas, gx, gy, coverage)` for every pixel `text` covers, with (0, 0) the top
    /// left of its first capital.
    fn draw_text(
        &mut self,
        text: &str,
        scale: usize,
        mut dot: impl FnMut(&mut Self, i64, i64, f32),
    ) {
        let Some(font) = font() else {
            return;
        };
        let scaled = font.as_scaled(PxScale::from(pixel_size(scale)));
        let baseline = text_height(scale) as f32;
        let (glyphs, _) = glyph_carets(&scaled, text);
        for (id, caret) in glyphs {
            let glyph = id.with_scale_and_position(scaled.scale(), point(caret, baseline));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
                outlined.draw(|gx, gy, coverage| {
                    dot(self, left + i64::from(gx), top + i64::from(gy), coverage);
                });
            }
        }
    }

    /// The pixels as row-major RGBA bytes (opaque): what a browser's `ImageData` takes.
    pub fn rgba(&self) -> Vec<u8> {
        self.bytes
            .chunks_exact(3)
            .flat_map(|rgb| [rgb[0], rgb[1], rgb[2], 255])
            .collect()
    }

    /// The canvas as PNG bytes.
    pub fn encode_png(&self) -> std::result::Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.bytes)?;
        writer.finish()?;
        Ok(out)
    }

    /// The canvas as JPEG bytes (quality 92: a picture of text and lines stays readable).
    pub fn encode_jpeg(&self) -> std::result::Result<Vec<u8>, image::ImageError> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode(
            &self.bytes,
            self.width as u32,
            self.height as u32,
            image::ExtendedColorType::Rgb8,
        )?;
        Ok(out)
    }

    /// Encodes the canvas in the format `path`'s extension names ([`PictureFormat::of`]) in
    /// memory, then writes it to `path` atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let format = PictureFormat::of(path)?;
        if self.width == 0
            || self.height == 0
            || u32::try_from(self.width.max(self.height)).is_err()
        {
            return Err(Error::Config(format!(
                "cannot save a {}×{} picture",
                self.width, self.height
            )));
        }
        let bytes = match format {
            PictureFormat::Png => self
                .encode_png()
                .map_err(|e| Error::io(path, std::io::Error::other(e)))?,
            PictureFormat::Jpeg => self
                .encode_jpeg()
                .map_err(|e| Error::io(path, std::io::Error::other(e)))?,
        };
        write_atomic(path, &bytes)
    }
}

/// The formats pictures are written in, named by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    Png,
    Jpeg,
}

impl PictureFormat {
    /// The format `path` names: `.png` (or no extension) is PNG, `.jpg` and `.jpeg` are JPEG,
    /// any other extension is refused rather than filled with bytes of another format.
    pub fn of(path: &Path) -> Result<Self> {
        let Some(ext) = path.extension() else {
            return Ok(PictureFormat::Png);
        };
        match ext.to_string_lossy().to_ascii_lowercase().as_str() {
            "png" => Ok(PictureFormat::Png),
            "jpg" | "jpeg" => Ok(PictureFormat::Jpeg),
            other => Err(Error::Config(format!(
                "{}: pictures are written as PNG (.png) or JPEG (.jpg, .jpeg), not .{other}",
                path.display()
            ))),
        }
    }
}

/// Capital height at scale 1, in pixels.
const CAP_HEIGHT: usize = 7;
/// DejaVu Sans's capital height over its em size (1493 / 2048 units).
const CAP_PER_EM: f32 = 1493.0 / 2048.0;
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The embedded font (`None` only if its bytes were damaged, which the tests rule out).
fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// The font's pixel size whose capitals are `text_height(scale)` pixels tall.
fn pixel_size(scale: usize) -> f32 {
    text_height(scale) as f32 / CAP_PER_EM
}

/// Width in pixels of `text` drawn at `scale` (advances and kerning).
pub fn text_width(text: &str, scale: usize) -> usize {
    let Some(font) = font() else {
        return 0;
    };
    let (_, width) = glyph_carets(&font.as_scaled(PxScale::from(pixel_size(scale))), text);
    width.ceil() as usize
}

/// The glyphs of `text` with the caret position each starts at (advances and kerning), and
/// the caret position after the last.
fn glyph_carets<F: Font>(scaled: &impl ScaleFont<F>, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let mut glyphs = Vec::with_capacity(text.len());
    let mut caret = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, caret)
}

/// Height in pixels of capitals at `scale` (descenders go below it).
pub fn text_height(scale: usize) -> usize {
    CAP_HEIGHT * scale
}

/// Mixes two colours: `t = 0` gives `from`, `t = 1` gives `to`.
pub fn blend(from: Rgb, to: Rgb, t: f64) -> Rgb {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    [
        mix(from[0], to[0]),
        mix(from[1], to[1]),
        mix(from[2], to[2]),
    ]
}

/// Perceived brightness, 0 (black) to 255 (white), to choose a readable text colour.
pub fn luminance(colour: Rgb) -> f64 {
    0.299 * colour[0] as f64 + 0.587 * colour[1] as f64 + 0.114 * colour[2] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_clips_at_the_edges() {
        let mut canvas = Canvas::new(4, 3, WHITE);
        canvas.fill_rect(-2, -2, 4, 4, BLACK);
        canvas.fill_rect(-5, 1, 16, 1, [1, 2, 3]);
        assert_eq!(canvas.pixel(0, 0), Some(BLACK));
        assert_eq!(canvas.pixel(2, 0), Some(WHITE));
        assert_eq!(canvas.pixel(3, 1), Some([1, 2, 3]));
        assert_eq!(canvas.pixel(4, 0), None);
    }

    #[test]
    fn text_draws_within_its_measured_box() {
        let mut canvas = Canvas::new(100, 40, WHITE);
        canvas.text(10, 10, "Ag", 2, BLACK);
        let (w, h) = (text_width("Ag", 2), text_height(2));
        let mut inside = 0;
        for y in 0..40 {
            for x in 0..100 {
                if canvas.pixel(x, y) != Some(WHITE) {
                    assert!((10..10 + w).contains(&x), "ink at x {x}");
                    // Descenders go about a third of the capital height below it.
                    assert!((10..10 + h + h / 2).contains(&y), "ink at y {y}");
                    inside += 1;
                }
            }
        }
        assert!(inside > 20, "too little ink: {inside}");
    }

    #[test]
    fn turned_text_reads_upwards() {
        let mut canvas = Canvas::new(60, 100, WHITE);
        canvas.text_up(10, 90, "L", 4, BLACK);
        let dark = |x: usize, y: usize| canvas.pixel(x, y).is_some_and(|p| p[0] < 100);
        // The L's stem (upright, a column at its left) becomes a row near the bottom; its foot
        // (upright, the bottom row) becomes a column at the right, 28 pixels (the capital
        // height) from the left edge.
        let stem_row = (80..90).find(|&y| (14..30).all(|x| dark(x, y)));
        assert!(stem_row.is_some(), "no stem row");
        assert!((70..88).any(|y| dark(36, y)), "no foot column");
        assert!(!dark(20, 60), "ink where the L is open");
    }

    #[test]
    fn text_is_anti_aliased() {
        let mut canvas = Canvas::new(100, 40, WHITE);
        canvas.text(5, 5, "O7", 3, BLACK);
        let greys = (0..40)
            .flat_map(|y| (0..100).map(move |x| (x, y)))
            .filter(|&(x, y)| canvas.pixel(x, y).is_some_and(|p| p[0] > 20 && p[0] < 235))
            .count();
        assert!(greys > 10, "{greys} partly covered pixels");
    }
}
