//! What the network does with one input, as a picture: the 28×28 input, then each hidden
//! layer's activations as a square of cells (one per unit, darker = more active, scaled to the
//! layer's largest), then the ten outputs. `predict --show-activations` saves it; the page draws
//! the same picture for a drawn digit.

use super::canvas::{Canvas, Ink, Rgb, WHITE, text_height, text_width};
use crate::model::INPUTS;
use crate::{Error, Result};

const MARGIN: usize = 12;
const GAP: usize = 20;
/// The side of the input and of each layer's square, in pixels.
const PANEL: usize = 112;
const CAPTION_SCALE: usize = 1;
const TITLE_SCALE: usize = 2;
const TEXT: Rgb = [20, 20, 20];
const FRAME: Rgb = [200, 200, 200];
/// Fully active units: a deep orange (white is an idle unit).
const ACTIVE: Rgb = [200, 70, 0];

/// The colour of an activation `v` on a layer whose largest activation is `max`.
pub fn activity(v: f32, max: f32) -> Rgb {
    let t = if max > 0.0 && v.is_finite() {
        (v / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    super::canvas::blend(WHITE, ACTIVE, f64::from(t))
}

/// Units per row of a layer's square: the smallest whole square that holds them.
fn columns(units: usize) -> usize {
    (units as f64).sqrt().ceil().max(1.0) as usize
}

/// The picture of `input` (784 values in `[0, 1]`) and `layers` (every layer's output, the
/// output vector last, as [`crate::model::Network::forward_layers`] gives them), under `title`.
pub fn activations_picture(input: &[f32], layers: &[Vec<f32>], title: &str) -> Result<Canvas> {
    if input.len() != INPUTS || layers.is_empty() {
        return Err(Error::Config(
            "an activations picture needs a 28×28 input and the network's outputs".into(),
        ));
    }
    let (hidden, outputs) = layers.split_at(layers.len() - 1);
    let outputs = &outputs[0];
    let panels = 1 + hidden.len() + 1;
    let caption_h = text_height(CAPTION_SCALE) + 6;
    let title_h = text_height(TITLE_SCALE) + 10;
    let width = (2 * MARGIN + panels * PANEL + (panels - 1) * GAP)
        .max(2 * MARGIN + text_width(title, TITLE_SCALE));
    let height = 2 * MARGIN + title_h + PANEL + 2 * caption_h;
    let mut canvas = Canvas::new(width, height, WHITE);
    canvas.text(MARGIN as i64, MARGIN as i64, title, TITLE_SCALE, TEXT);
    let top = MARGIN + title_h;
    let caption = |canvas: &mut Canvas, x: usize, lines: [&str; 2]| {
        for (i, line) in lines.iter().enumerate() {
            canvas.text_centred(
                (x + PANEL / 2) as i64,
                (top + PANEL + 6 + i * caption_h) as i64,
                line,
                CAPTION_SCALE,
                TEXT,
            );
        }
    };

    let grey: Vec<u8> = input
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let mut x = MARGIN;
    canvas.rect(x as i64 - 1, top as i64 - 1, PANEL + 2, PANEL + 2, 1, FRAME);
    canvas.blit_grey(
        x as i64,
        top as i64,
        &grey,
        28,
        PANEL / 28,
        Ink::DarkOnWhite,
    );
    caption(&mut canvas, x, ["input", "28×28"]);

    for (l, layer) in hidden.iter().enumerate() {
        x += PANEL + GAP;
        let cols = columns(layer.len());
        let cell = (PANEL / cols).max(1);
        let max = layer
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f32::max);
        canvas.rect(x as i64 - 1, top as i64 - 1, PANEL + 2, PANEL + 2, 1, FRAME);
        for (unit, &v) in layer.iter().enumerate() {
            let (cx, cy) = (unit % cols, unit / cols);
            canvas.fill_rect(
                (x + cx * cell) as i64,
                (top + cy * cell) as i64,
                cell,
                cell,
                activity(v, max),
            );
        }
        let active = layer.iter().filter(|&&v| v > 0.01 * max).count();
        let name = format!("hidden layer {}", l + 1);
        let count = format!("{active} of {} active", layer.len());
        caption(&mut canvas, x, [&name, &count]);
    }

    // The outputs: ten cells, one per digit, shaded by their share of the sum.
    x += PANEL + GAP;
    let sum: f32 = outputs.iter().filter(|v| v.is_finite()).sum();
    let best = crate::model::argmax(outputs);
    let cell_h = PANEL / outputs.len().max(1);
    for (digit, &v) in outputs.iter().enumerate() {
        let y = top + digit * cell_h;
        let share = if sum > 0.0 { v / sum } else { 0.0 };
        canvas.fill_rect(x as i64 + 16, y as i64 + 1, PANEL - 16, cell_h - 2, WHITE);
        let bar = ((PANEL - 16) as f32 * share.clamp(0.0, 1.0)).round() as usize;
        canvas.fill_rect(
            x as i64 + 16,
            y as i64 + 1,
            bar,
            cell_h - 2,
            activity(1.0, 1.0),
        );
        canvas.rect(x as i64 + 15, y as i64, PANEL - 14, cell_h, 1, FRAME);
        canvas.text(
            x as i64 + 2,
            y as i64 + 2,
            &digit.to_string(),
            CAPTION_SCALE,
            TEXT,
        );
    }
    caption(&mut canvas, x, ["outputs", &format!("reads {best}")]);
    Ok(canvas)
}

/// One row of [`activations_pictures`]: its title, its 784 inputs and every layer's output.
pub type ActivationRow = (String, Vec<f32>, Vec<Vec<f32>>);

/// One [`activations_picture`] per input, stacked top to bottom.
pub fn activations_pictures(rows: &[ActivationRow]) -> Result<Canvas> {
    let pictures = rows
        .iter()
        .map(|(title, input, layers)| activations_picture(input, layers, title))
        .collect::<Result<Vec<_>>>()?;
    let width = pictures.iter().map(Canvas::width).max().unwrap_or(0);
    let height = pictures.iter().map(Canvas::height).sum();
    let mut canvas = Canvas::new(width, height, WHITE);
    let mut top = 0;
    for picture in &pictures {
        for y in 0..picture.height() {
            for x in 0..picture.width() {
                if let Some(colour) = picture.pixel(x, y) {
                    canvas.set(x as i64, (top + y) as i64, colour);
                }
            }
        }
        top += picture.height();
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_is_shaded_by_its_activation() {
        let mut input = vec![0.0; INPUTS];
        input[14 * 28 + 14] = 1.0;
        let hidden = vec![0.0, 2.0, 1.0, 0.0];
        let mut outputs = vec![0.0; 10];
        outputs[3] = 1.0;
        let canvas = activations_picture(&input, &[hidden, outputs], "one input").expect("picture");
        let top = MARGIN + text_height(TITLE_SCALE) + 10;
        let x = MARGIN + PANEL + GAP;
        // 4 units: a 2×2 square of 56-pixel cells.
        let centre = |unit: usize| (x + (unit % 2) * 56 + 28, top + (unit / 2) * 56 + 28);
        let (ux, uy) = centre(0);
        assert_eq!(canvas.pixel(ux, uy), Some(WHITE));
        let (ux, uy) = centre(1);
        assert_eq!(canvas.pixel(ux, uy), Some(ACTIVE));
        let (ux, uy) = centre(2);
        let half = canvas.pixel(ux, uy).expect("inside");
        assert!(half != WHITE && half != ACTIVE, "{half:?}");
        assert!(activations_picture(&input[1..], &[vec![0.0; 10]], "x").is_err());
        let one = activations_picture(&input, &[vec![1.0; 3], vec![0.1; 10]], "a").expect("a");
        let rows = vec![
            (
                "a".to_string(),
                input.clone(),
                vec![vec![1.0; 3], vec![0.1; 10]],
            ),
            (
                "b".to_string(),
                input.clone(),
                vec![vec![0.0; 3], vec![0.1; 10]],
            ),
        ];
        let both = activations_pictures(&rows).expect("stacked");
        assert_eq!(
            (both.width(), both.height()),
            (one.width(), 2 * one.height())
        );
    }
}
