//! The first layer's weights as pictures: one 28×28 map per hidden unit, what the unit looks
//! for in a digit — red where a lit pixel raises the unit's input, blue where it lowers it,
//! white at 0 — the picture of a network 3Blue1Brown's series draws.

use std::path::Path;

use super::canvas::{Canvas, WHITE};
use super::grid::{DIGIT_SCALE, DIGIT_SIDE, GridLayout};
use crate::model::INPUTS;
use crate::{Error, Result};

const MARGIN: usize = 16;
const TITLE_SCALE: usize = 2;
const CAPTION_COLOUR: [u8; 3] = [20, 20, 20];
const FRAME: [u8; 3] = [200, 200, 200];

/// The units whose incoming weights have the largest L2 norms (the most used), strongest
/// first, at most `most` of them; `weights` holds `inputs` weights per unit.
pub fn strongest_units(weights: &[f32], inputs: usize, most: usize) -> Vec<usize> {
    let norms: Vec<f32> = weights
        .chunks(inputs.max(1))
        .map(|row| row.iter().map(|w| w * w).sum())
        .collect();
    let mut units: Vec<usize> = (0..norms.len()).collect();
    units.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]).then(a.cmp(&b)));
    units.truncate(most);
    units
}

/// The diverging colour of `v` in [−1, 1]: blue (−1) through white (0) to red (+1).
pub fn diverging(v: f32) -> [u8; 3] {
    let v = if v.is_nan() { 0.0 } else { v.clamp(-1.0, 1.0) };
    let fade = (255.0 * (1.0 - v.abs())).round() as u8;
    if v >= 0.0 {
        [255, fade, fade]
    } else {
        [fade, fade, 255]
    }
}

/// A grid of the weight maps of `units` (rows of `weights`, 784 weights each), each captioned
/// with its unit's index, under `title`; one symmetric colour scale for all, the largest |w|
/// drawn (said in the title).
pub fn weight_maps(
    weights: &[f32],
    units: &[usize],
    columns: usize,
    title: &str,
) -> Result<Canvas> {
    if units.is_empty() || columns == 0 {
        return Err(Error::Config("no weight maps to draw".into()));
    }
    if let Some(&bad) = units.iter().find(|&&u| (u + 1) * INPUTS > weights.len()) {
        return Err(Error::Config(format!(
            "unit {bad} is past the {} units of the layer",
            weights.len() / INPUTS
        )));
    }
    let row = |u: usize| &weights[u * INPUTS..(u + 1) * INPUTS];
    let scale = units
        .iter()
        .flat_map(|&u| row(u).iter().map(|w| w.abs()))
        .fold(0.0f32, f32::max);
    let title = format!("{title} (red +, blue −, full colour at ±{scale:.3})");
    let captions: Vec<String> = units.iter().map(|u| format!("#{u}")).collect();
    let layout = GridLayout::new(&captions, columns).with_title(&title);
    let mut canvas = Canvas::new(layout.width(), layout.height(), WHITE);
    canvas.text(
        MARGIN as i64,
        MARGIN as i64,
        &title,
        TITLE_SCALE,
        CAPTION_COLOUR,
    );
    let side = DIGIT_SIDE * DIGIT_SCALE;
    for (index, &unit) in units.iter().enumerate() {
        let (x, y) = layout.digit_origin(index);
        canvas.rect(x as i64 - 1, y as i64 - 1, side + 2, side + 2, 1, FRAME);
        for (pixel, &w) in row(unit).iter().enumerate() {
            let (px, py) = (pixel % DIGIT_SIDE, pixel / DIGIT_SIDE);
            let colour = diverging(if scale > 0.0 { w / scale } else { 0.0 });
            canvas.fill_rect(
                (x + px * DIGIT_SCALE) as i64,
                (y + py * DIGIT_SCALE) as i64,
                DIGIT_SCALE,
                DIGIT_SCALE,
                colour,
            );
        }
        let (cx, cy, cw, _) = layout.caption_box(index);
        canvas.text_centred(
            (cx + cw / 2) as i64,
            cy as i64,
            &captions[index],
            layout.caption_scale,
            CAPTION_COLOUR,
        );
    }
    Ok(canvas)
}

/// [`weight_maps`] saved as a PNG at `path`.
pub fn weight_maps_png(
    weights: &[f32],
    units: &[usize],
    columns: usize,
    title: &str,
    path: &Path,
) -> Result<()> {
    weight_maps(weights, units, columns, title)?.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_map_diverges_from_white() {
        assert_eq!(diverging(0.0), [255, 255, 255]);
        assert_eq!(diverging(1.0), [255, 0, 0]);
        assert_eq!(diverging(-1.0), [0, 0, 255]);
        assert_eq!(diverging(7.0), [255, 0, 0]);
        assert_eq!(diverging(f32::NAN), [255, 255, 255]);
    }

    #[test]
    fn strongest_units_come_first() {
        // Three units of two weights: norms 1, 25, 4.
        let weights = [1.0, 0.0, 3.0, 4.0, 0.0, -2.0];
        assert_eq!(strongest_units(&weights, 2, 10), vec![1, 2, 0]);
        assert_eq!(strongest_units(&weights, 2, 2), vec![1, 2]);
    }
}
