//! An RGB canvas for the program's pictures: rectangles, lines, grey images at integer scales and
//! bitmap text, saved as PNG through an atomic write. Drawing clips at the edges, so callers may
//! draw partly outside without checks.

use std::path::Path;

use super::font::{self, ADVANCE, CAP_HEIGHT, GLYPH_WIDTH};
use crate::atomic_file::write_atomic;
use crate::{Error, Result};

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

    /// A straight line from (x0, y0) to (x1, y1) with a square pen `width` pixels wide.
    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), width: usize, colour: Rgb) {
        let offset = (width / 2) as i64;
        // Bresenham over all octants.
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.fill_rect(x - offset, y - offset, width, width, colour);
            if x == x1 && y == y1 {
                break;
            }
            let doubled = 2 * err;
            if doubled >= dy {
                err += dy;
                x += sx;
            }
            if doubled <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A filled disc of radius `radius` centred on (cx, cy), for plot markers.
    pub fn disc(&mut self, cx: i64, cy: i64, radius: i64, colour: Rgb) {
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                if dx * dx + dy * dy <= radius * radius + radius {
                    self.set(cx + dx, cy + dy, colour);
                }
            }
        }
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

    /// Writes `text` with the top of its capitals at (x, y), glyph pixels `scale × scale`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        self.draw_text(text, |canvas, gx, gy| {
            let s = scale as i64;
            canvas.fill_rect(x + gx * s, y + gy * s, scale, scale, colour);
        });
    }

    /// Writes `text` turned a quarter turn anticlockwise (read bottom to top, as a y-axis title),
    /// with (x, y) the bottom-left corner of the first capital as seen upright.
    pub fn text_up(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        self.draw_text(text, |canvas, gx, gy| {
            let s = scale as i64;
            // Upright rightwards becomes upwards and upright downwards becomes rightwards.
            canvas.fill_rect(x + gy * s, y - (gx + 1) * s, scale, scale, colour);
        });
    }

    /// Writes `text` centred horizontally on `centre_x`.
    pub fn text_centred(&mut self, centre_x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        let half = (text_width(text, scale) / 2) as i64;
        self.text(centre_x - half, y, text, scale, colour);
    }

    /// Calls `dot(canvas, gx, gy)` for every ink pixel of `text` laid out at scale 1.
    fn draw_text(&mut self, text: &str, mut dot: impl FnMut(&mut Self, i64, i64)) {
        for (index, c) in text.chars().enumerate() {
            let left = (index * ADVANCE) as i64;
            for (gy, row) in font::glyph(c).enumerate() {
                for (gx, &cell) in row.iter().enumerate().take(GLYPH_WIDTH) {
                    if cell == b'#' {
                        dot(self, left + gx as i64, gy as i64);
                    }
                }
            }
        }
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

    /// Encodes the canvas as PNG in memory, then writes it to `path` atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        if self.width == 0
            || self.height == 0
            || u32::try_from(self.width.max(self.height)).is_err()
        {
            return Err(Error::Config(format!(
                "cannot save a {}×{} picture",
                self.width, self.height
            )));
        }
        let bytes = self
            .encode_png()
            .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        write_atomic(path, &bytes)
    }
}

/// Width in pixels of `text` drawn at `scale` (no trailing spacing column).
pub fn text_width(text: &str, scale: usize) -> usize {
    let chars = text.chars().count();
    (chars * ADVANCE).saturating_sub(1) * scale
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
        canvas.line((-5, 1), (10, 1), 1, [1, 2, 3]);
        assert_eq!(canvas.pixel(0, 0), Some(BLACK));
        assert_eq!(canvas.pixel(2, 0), Some(WHITE));
        assert_eq!(canvas.pixel(3, 1), Some([1, 2, 3]));
        assert_eq!(canvas.pixel(4, 0), None);
    }

    #[test]
    fn lines_reach_both_ends() {
        let mut canvas = Canvas::new(20, 20, WHITE);
        canvas.line((2, 17), (15, 3), 1, BLACK);
        assert_eq!(canvas.pixel(2, 17), Some(BLACK));
        assert_eq!(canvas.pixel(15, 3), Some(BLACK));
    }

    #[test]
    fn text_draws_within_its_measured_box() {
        let mut canvas = Canvas::new(100, 40, WHITE);
        canvas.text(10, 10, "Ag", 2, BLACK);
        let (w, h) = (text_width("Ag", 2), text_height(2));
        let mut inside = 0;
        for y in 0..40 {
            for x in 0..100 {
                if canvas.pixel(x, y) == Some(BLACK) {
                    assert!((10..10 + w).contains(&x), "ink at x {x}");
                    // Descenders may go two glyph rows below the capitals.
                    assert!((10..10 + h + 4).contains(&y), "ink at y {y}");
                    inside += 1;
                }
            }
        }
        assert!(inside > 20, "too little ink: {inside}");
    }

    #[test]
    fn turned_text_reads_upwards() {
        let mut canvas = Canvas::new(40, 100, WHITE);
        canvas.text_up(10, 90, "L", 1, BLACK);
        // The L's stem (upright left column) becomes the bottom row, its foot the right column.
        assert_eq!(canvas.pixel(10, 89), Some(BLACK));
        assert_eq!(canvas.pixel(16, 89), Some(BLACK));
        assert_eq!(canvas.pixel(16, 85), Some(BLACK));
        assert_eq!(canvas.pixel(12, 85), Some(WHITE));
    }
}
