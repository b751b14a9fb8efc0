//! A grid of 28×28 digits, each upscaled with a caption under it: `show` (caption = label) and
//! the misclassified digits of `eval` (caption `7→3`: true 7, predicted 3).

use std::path::Path;

use super::canvas::{Canvas, Ink, WHITE, text_height, text_width};
use crate::model::INPUTS;
use crate::{Error, Result};

/// Side of an MNIST digit in pixels.
pub const DIGIT_SIDE: usize = 28;
/// Each digit pixel becomes a block this wide: 112 px digits, readable at a glance.
pub const DIGIT_SCALE: usize = 4;
/// Caption glyph pixels: 21 px capitals when the captions fit under the digit, else 14 px.
const CAPTION_SCALES: [usize; 2] = [3, 2];
const TITLE_SCALE: usize = 2;

const MARGIN: usize = 16;
const GAP: usize = 16;
const CAPTION_GAP: usize = 8;
const FRAME: [u8; 3] = [200, 200, 200];
const CAPTION_COLOUR: [u8; 3] = [20, 20, 20];

/// Where each digit and caption of a grid goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    pub count: usize,
    pub columns: usize,
    /// Width of a cell: the digit or the widest caption, whichever is wider.
    pub cell_width: usize,
    /// Size of the caption glyph pixels.
    pub caption_scale: usize,
    /// Width of the heading above the grid (0 without one).
    pub title_width: usize,
}

impl GridLayout {
    pub fn new(captions: &[String], columns: usize) -> GridLayout {
        let digit_width = DIGIT_SIDE * DIGIT_SCALE;
        let widest = |scale| {
            captions
                .iter()
                .map(|c| text_width(c, scale))
                .max()
                .unwrap_or(0)
        };
        let caption_scale = CAPTION_SCALES
            .into_iter()
            .find(|&scale| widest(scale) <= digit_width)
            .unwrap_or(CAPTION_SCALES[CAPTION_SCALES.len() - 1]);
        GridLayout {
            count: captions.len(),
            columns: columns.clamp(1, captions.len().max(1)),
            cell_width: widest(caption_scale).max(digit_width),
            caption_scale,
            title_width: 0,
        }
    }

    /// The same grid under a heading of `title`.
    pub fn with_title(self, title: &str) -> GridLayout {
        GridLayout {
            title_width: text_width(title, TITLE_SCALE),
            ..self
        }
    }

    /// Top of the first row of digits: under the heading if there is one.
    fn grid_top(&self) -> usize {
        if self.title_width == 0 {
            MARGIN
        } else {
            MARGIN + text_height(TITLE_SCALE) + 2 * TITLE_SCALE + GAP
        }
    }

    pub fn rows(&self) -> usize {
        self.count.div_ceil(self.columns)
    }

    fn cell_height(&self) -> usize {
        // Two extra caption glyph rows leave room for descenders.
        DIGIT_SIDE * DIGIT_SCALE
            + CAPTION_GAP
            + text_height(self.caption_scale)
            + 2 * self.caption_scale
    }

    pub fn width(&self) -> usize {
        let cells = self.columns * self.cell_width + (self.columns - 1) * GAP;
        2 * MARGIN + cells.max(self.title_width)
    }

    pub fn height(&self) -> usize {
        let rows = self.rows() * self.cell_height() + self.rows().saturating_sub(1) * GAP;
        self.grid_top() + rows + MARGIN
    }

    /// Top-left corner of cell `index`.
    fn cell_origin(&self, index: usize) -> (usize, usize) {
        let (col, row) = (index % self.columns, index / self.columns);
        (
            MARGIN + col * (self.cell_width + GAP),
            self.grid_top() + row * (self.cell_height() + GAP),
        )
    }

    /// Top-left corner of digit `index` (centred in its cell).
    pub fn digit_origin(&self, index: usize) -> (usize, usize) {
        let (x, y) = self.cell_origin(index);
        (x + (self.cell_width - DIGIT_SIDE * DIGIT_SCALE) / 2, y)
    }

    /// The box `(x, y, width, height)` that caption `index` is drawn within.
    pub fn caption_box(&self, index: usize) -> (usize, usize, usize, usize) {
        let (x, y) = self.cell_origin(index);
        let top = y + DIGIT_SIDE * DIGIT_SCALE + CAPTION_GAP;
        (
            x,
            top,
            self.cell_width,
            text_height(self.caption_scale) + 2 * self.caption_scale,
        )
    }
}

/// Draws the digits (784 grey bytes each) in rows of `columns`, dark on white, each with its
/// caption under it.
pub fn digit_grid(images: &[&[u8]], captions: &[String], columns: usize) -> Result<Canvas> {
    draw_grid(None, images, captions, columns)
}

/// [`digit_grid`] under a one-line heading (e.g. `misclassified: true→predicted`).
pub fn titled_digit_grid(
    title: &str,
    images: &[&[u8]],
    captions: &[String],
    columns: usize,
) -> Result<Canvas> {
    draw_grid(Some(title), images, captions, columns)
}

fn draw_grid(
    title: Option<&str>,
    images: &[&[u8]],
    captions: &[String],
    columns: usize,
) -> Result<Canvas> {
    if images.is_empty() {
        return Err(Error::Config("no digits to draw".into()));
    }
    if images.len() != captions.len() {
        return Err(Error::Config(format!(
            "{} digits but {} captions",
            images.len(),
            captions.len()
        )));
    }
    if let Some(bad) = images.iter().position(|image| image.len() != INPUTS) {
        return Err(Error::Config(format!(
            "digit {bad} has {} pixels, expected {INPUTS}",
            images[bad].len()
        )));
    }
    if columns == 0 {
        return Err(Error::Config("a grid needs at least one column".into()));
    }
    let mut layout = GridLayout::new(captions, columns);
    if let Some(title) = title {
        layout = layout.with_title(title);
    }
    let mut canvas = Canvas::new(layout.width(), layout.height(), WHITE);
    if let Some(title) = title {
        canvas.text(
            MARGIN as i64,
            MARGIN as i64,
            title,
            TITLE_SCALE,
            CAPTION_COLOUR,
        );
    }
    let side = DIGIT_SIDE * DIGIT_SCALE;
    for (index, (image, caption)) in images.iter().zip(captions).enumerate() {
        let (x, y) = layout.digit_origin(index);
        // A light frame just outside the digit shows the 28×28 box without covering any pixel.
        canvas.rect(x as i64 - 1, y as i64 - 1, side + 2, side + 2, 1, FRAME);
        canvas.blit_grey(
            x as i64,
            y as i64,
            image,
            DIGIT_SIDE,
            DIGIT_SCALE,
            Ink::DarkOnWhite,
        );
        let (cx, cy, cw, _) = layout.caption_box(index);
        canvas.text_centred(
            (cx + cw / 2) as i64,
            cy as i64,
            caption,
            layout.caption_scale,
            CAPTION_COLOUR,
        );
    }
    Ok(canvas)
}

/// [`digit_grid`] saved as a PNG at `path`.
pub fn digit_grid_png(
    images: &[&[u8]],
    captions: &[String],
    columns: usize,
    path: &Path,
) -> Result<()> {
    digit_grid(images, captions, columns)?.save_png(path)
}

/// [`titled_digit_grid`] saved as a PNG at `path`.
pub fn titled_digit_grid_png(
    title: &str,
    images: &[&[u8]],
    captions: &[String],
    columns: usize,
    path: &Path,
) -> Result<()> {
    titled_digit_grid(title, images, captions, columns)?.save_png(path)
}

/// The caption of a misclassified digit: true label, arrow, predicted label.
pub fn misclassified_caption(truth: u8, predicted: u8) -> String {
    format!("{truth}→{predicted}")
}
