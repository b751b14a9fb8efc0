//! The confusion matrix as a heat map: rows = true digit, columns = predicted digit, the count
//! written in each cell, darker cells for larger counts.

use std::path::Path;

use super::canvas::{BLACK, Canvas, WHITE, blend, luminance, text_height, text_width};
use crate::Result;

/// Side of one cell in pixels: room for a four-digit count at text scale 2.
pub const CELL: usize = 56;
/// The colour of the largest count (the smallest is white).
pub const FULL: [u8; 3] = [8, 48, 107];

const MARGIN: usize = 16;
const LABEL_SCALE: usize = 2;
const GAP: usize = 10;
const ZERO_COLOUR: [u8; 3] = [190, 190, 190];

fn label_height() -> usize {
    text_height(LABEL_SCALE)
}

/// Top-left pixel of the matrix.
fn grid_origin() -> (usize, usize) {
    let x = MARGIN + label_height() + GAP + text_width("0", LABEL_SCALE) + GAP;
    let y = MARGIN + 2 * (label_height() + GAP);
    (x, y)
}

/// Top-left pixel of the cell for true digit `truth` predicted as `predicted`.
pub fn cell_origin(truth: usize, predicted: usize) -> (usize, usize) {
    let (x, y) = grid_origin();
    (x + predicted * CELL, y + truth * CELL)
}

/// The picture's size in pixels.
pub fn size(matrix: &[[usize; 10]; 10]) -> (usize, usize) {
    let (x, y) = grid_origin();
    let width = x + 10 * CELL + MARGIN;
    let height = y + 10 * CELL + GAP + label_height() + GAP + label_height() + MARGIN;
    let title_width = MARGIN + text_width(&title(matrix), LABEL_SCALE) + MARGIN;
    (width.max(title_width), height)
}

/// The heading: how many images and how many of them on the diagonal.
fn title(matrix: &[[usize; 10]; 10]) -> String {
    let total: usize = matrix.iter().flatten().sum();
    let correct: usize = (0..10).map(|d| matrix[d][d]).sum();
    if total == 0 {
        return "confusion matrix (no images)".into();
    }
    let percent = 100.0 * correct as f64 / total as f64;
    format!("confusion matrix: {total} images, {percent:.2}% correct")
}

/// The cell colour for `count` when the largest count is `max`. A square root spreads the few
/// errors away from white, so they show beside the large diagonal; it keeps the order of counts.
pub fn cell_colour(count: usize, max: usize) -> [u8; 3] {
    if max == 0 {
        return WHITE;
    }
    blend(WHITE, FULL, (count as f64 / max as f64).sqrt())
}

/// Draws the heat map.
pub fn confusion_canvas(matrix: &[[usize; 10]; 10]) -> Canvas {
    let (width, height) = size(matrix);
    let mut canvas = Canvas::new(width, height, WHITE);
    let max = matrix.iter().flatten().copied().max().unwrap_or(0);

    canvas.text(
        MARGIN as i64,
        MARGIN as i64,
        &title(matrix),
        LABEL_SCALE,
        BLACK,
    );
    let (grid_x, grid_y) = grid_origin();
    for (truth, row) in matrix.iter().enumerate() {
        for (predicted, &count) in row.iter().enumerate() {
            let (x, y) = cell_origin(truth, predicted);
            let fill = cell_colour(count, max);
            // One white pixel between cells keeps neighbouring equal colours apart.
            canvas.fill_rect(x as i64, y as i64, CELL - 1, CELL - 1, fill);
            let text = count.to_string();
            let scale = if text_width(&text, LABEL_SCALE) + 4 <= CELL {
                LABEL_SCALE
            } else {
                1
            };
            let ink = if count == 0 {
                ZERO_COLOUR
            } else if luminance(fill) < 140.0 {
                WHITE
            } else {
                BLACK
            };
            let text_y = y + (CELL - text_height(scale)) / 2;
            canvas.text_centred((x + CELL / 2) as i64, text_y as i64, &text, scale, ink);
        }
    }
    // Digits on both axes, then the axis titles.
    let digit_w = text_width("0", LABEL_SCALE);
    for digit in 0..10 {
        let label = digit.to_string();
        let (x, y) = cell_origin(digit, digit);
        let row_y = y + (CELL - label_height()) / 2;
        canvas.text(
            (grid_x - GAP - digit_w) as i64,
            row_y as i64,
            &label,
            LABEL_SCALE,
            BLACK,
        );
        let below = grid_y + 10 * CELL + GAP;
        canvas.text_centred(
            (x + CELL / 2) as i64,
            below as i64,
            &label,
            LABEL_SCALE,
            BLACK,
        );
    }
    let axis_y = grid_y + 10 * CELL + GAP + label_height() + GAP;
    canvas.text_centred(
        (grid_x + 5 * CELL) as i64,
        axis_y as i64,
        "predicted",
        LABEL_SCALE,
        BLACK,
    );
    let true_w = text_width("true", LABEL_SCALE) as i64;
    canvas.text_up(
        MARGIN as i64,
        (grid_y + 5 * CELL) as i64 + true_w / 2,
        "true",
        LABEL_SCALE,
        BLACK,
    );
    canvas
}

/// [`confusion_canvas`] saved as a PNG at `path`.
pub fn confusion_png(matrix: &[[usize; 10]; 10], path: &Path) -> Result<()> {
    confusion_canvas(matrix).save_png(path)
}
