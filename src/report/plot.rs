//! `train --plot FILE`: two stacked panels sharing the round axis, the cost per round on top and
//! the test accuracy of the rounds that evaluated below, drawn by `plotters` with an embedded
//! TrueType font (DejaVu Sans, so no system font is needed) at twice the size and scaled down,
//! which anti-aliases every line, marker and glyph.

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::canvas::{Canvas, Rgb};
use crate::train::RoundRecord;
use crate::{Error, Result};

pub const WIDTH: usize = 900;
pub const HEIGHT: usize = 640;

/// Colour of the cost curve (matplotlib's first default colour).
pub const COST_COLOUR: Rgb = [31, 119, 180];
/// Colour of the accuracy curve (matplotlib's fourth).
pub const ACCURACY_COLOUR: Rgb = [214, 39, 40];

/// Drawn this many times larger, then averaged down: anti-aliasing for everything drawn.
const SUPERSAMPLE: u32 = 2;
/// With more points than this, markers would merge into a thick line: draw the line alone.
const MAX_MARKERS: usize = 60;
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// A drawn plot: RGB pixels and where each panel's plot area lies.
pub struct Curves {
    pub canvas: Canvas,
    /// `(x, y, width, height)` of the cost (0) and accuracy (1) plot areas, in pixels.
    pub areas: [(usize, usize, usize, usize); 2],
}

/// One panel's content.
struct Series {
    title: String,
    axis: &'static str,
    points: Vec<(f64, f64)>,
    colour: Rgb,
    /// What to say when there is nothing to draw.
    empty_note: &'static str,
}

/// Draws the curves of `records` (in round order).
pub fn curves(records: &[RoundRecord]) -> Result<Curves> {
    font()?;
    let rounds = records.iter().map(|r| r.round as f64);
    // A margin keeps the first and last markers off the frame.
    let rounds = match (rounds.clone().reduce(f64::min), rounds.reduce(f64::max)) {
        (Some(lo), Some(hi)) if hi > lo => {
            let margin = ((hi - lo) * 0.03).max(0.25);
            lo - margin..hi + margin
        }
        (Some(one), _) => one - 1.0..one + 1.0,
        _ => 0.0..1.0,
    };
    let cost_points: Vec<(f64, f64)> = records
        .iter()
        .map(|r| (r.round as f64, r.cost))
        .filter(|(_, cost)| cost.is_finite())
        .collect();
    let accuracy_points: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| Some((r.round as f64, r.test_accuracy?)))
        .filter(|(_, acc)| acc.is_finite())
        .collect();
    let panels = [
        Series {
            title: match cost_points.last() {
                Some((round, cost)) => format!("Cost per round (round {round:.0}: {cost:.4})"),
                None => "Cost per round".to_string(),
            },
            axis: "cost",
            points: cost_points,
            colour: COST_COLOUR,
            empty_note: "no finite cost to plot",
        },
        Series {
            title: match accuracy_points.last() {
                Some((round, acc)) => format!("Test accuracy (round {round:.0}: {acc:.2}%)"),
                None => "Test accuracy".to_string(),
            },
            axis: "accuracy %",
            points: accuracy_points,
            colour: ACCURACY_COLOUR,
            empty_note: "no round measured test accuracy (see --eval-every)",
        },
    ];

    let s = SUPERSAMPLE;
    let (width, height) = (WIDTH as u32 * s, HEIGHT as u32 * s);
    let mut big = vec![255u8; (width * height * 3) as usize];
    let mut areas = [(0, 0, 0, 0); 2];
    {
        let root = BitMapBackend::with_buffer(&mut big, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let halves = root.split_evenly((2, 1));
        for (index, (area, series)) in halves.iter().zip(&panels).enumerate() {
            let pixels = draw_panel(area, rounds.clone(), series)?;
            let (x, y) = (pixels.0.start as u32 / s, pixels.1.start as u32 / s);
            let (w, h) = (
                (pixels.0.end - pixels.0.start) as u32 / s,
                (pixels.1.end - pixels.1.start) as u32 / s,
            );
            areas[index] = (x as usize, y as usize, w as usize, h as usize);
        }
        root.present().map_err(draw_error)?;
    }
    Ok(Curves {
        canvas: Canvas::from_rgb(WIDTH, HEIGHT, downsample(&big, WIDTH, HEIGHT, s as usize)),
        areas,
    })
}

/// [`curves`] saved as a PNG at `path`.
pub fn curves_png(records: &[RoundRecord], path: &Path) -> Result<()> {
    curves(records)?.canvas.save_png(path)
}

/// Registers the embedded font once.
fn font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Config(
            "the embedded plot font could not be read".into(),
        ))
    }
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("cannot draw the plot: {e}"))
}

/// Draws one panel; returns its plot area's pixel ranges (x, y) on the big canvas.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    rounds: Range<f64>,
    series: &Series,
) -> Result<(Range<i32>, Range<i32>)> {
    let s = SUPERSAMPLE as i32;
    let values = value_range(series.points.iter().map(|p| p.1)).unwrap_or(0.0..1.0);
    let colour = RGBColor(series.colour[0], series.colour[1], series.colour[2]);
    let mut chart = ChartBuilder::on(area)
        .caption(&series.title, (FONT, 19 * s).into_font())
        .margin(12 * s)
        .x_label_area_size(34 * s)
        .y_label_area_size(70 * s)
        .build_cartesian_2d(rounds, values)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("round")
        .y_desc(series.axis)
        .label_style((FONT, 13 * s).into_font())
        .axis_desc_style((FONT, 14 * s).into_font())
        .bold_line_style(RGBColor(222, 222, 222).stroke_width(s as u32))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(60, 60, 60).stroke_width(s as u32))
        .x_labels(8)
        // Rounds are whole numbers: ticks between them stay unlabelled.
        .x_label_formatter(&|x| {
            if x.fract().abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_labels(6)
        .draw()
        .map_err(draw_error)?;
    let pixels = chart.plotting_area().get_pixel_range();
    if series.points.is_empty() {
        let (x, y) = (
            (pixels.0.start + pixels.0.end) / 2,
            (pixels.1.start + pixels.1.end) / 2,
        );
        let style = TextStyle::from((FONT, 15 * s).into_font())
            .color(&RGBColor(90, 90, 90))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        area.draw_text(
            series.empty_note,
            &style,
            (x - area.get_base_pixel().0, y - area.get_base_pixel().1),
        )
        .map_err(draw_error)?;
        return Ok(pixels);
    }
    chart
        .draw_series(LineSeries::new(
            series.points.iter().copied(),
            colour.stroke_width(2 * s as u32),
        ))
        .map_err(draw_error)?;
    if series.points.len() <= MAX_MARKERS {
        chart
            .draw_series(
                series
                    .points
                    .iter()
                    .map(|&point| Circle::new(point, 4 * s, colour.filled())),
            )
            .map_err(draw_error)?;
    }
    Ok(pixels)
}

/// The finite values' range with a 5% margin (a single value gets a range around it).
fn value_range(values: impl Iterator<Item = f64>) -> Option<Range<f64>> {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold(
        None,
        |range: Option<(f64, f64)>, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        },
    )?;
    let spread = if hi > lo {
        hi - lo
    } else {
        lo.abs().max(1.0) * 0.2
    };
    Some(lo - 0.05 * spread..hi + 0.05 * spread)
}

/// Averages `factor × factor` blocks of an RGB picture `factor` times the size of the result.
fn downsample(big: &[u8], width: usize, height: usize, factor: usize) -> Vec<u8> {
    let big_width = width * factor;
    let mut out = vec![0u8; width * height * 3];
    let area = (factor * factor) as u32;
    for y in 0..height {
        for x in 0..width {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..factor {
                    for dx in 0..factor {
                        let i = ((y * factor + dy) * big_width + x * factor + dx) * 3 + c;
                        sum += u32::from(big[i]);
                    }
                }
                out[(y * width + x) * 3 + c] = ((sum + area / 2) / area) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_ranges_have_margins() {
        let range = value_range([0.2, 0.4].into_iter()).expect("range");
        assert!(range.start < 0.2 && range.end > 0.4);
        let one = value_range([3.0].into_iter()).expect("range");
        assert!(one.start < 3.0 && one.end > 3.0);
        assert!(value_range([f64::NAN].into_iter()).is_none());
    }

    #[test]
    fn downsampling_averages_blocks() {
        // 2×1 result from a 4×2 picture: a black block and a white one.
        let mut big = vec![0u8; 4 * 2 * 3];
        for y in 0..2 {
            for x in 2..4 {
                for c in 0..3 {
                    big[(y * 4 + x) * 3 + c] = 255;
                }
            }
        }
        big[0] = 100; // one quarter of the first block's red
        assert_eq!(downsample(&big, 2, 1, 2), vec![25, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn lines_are_anti_aliased() {
        let records: Vec<RoundRecord> = (1..=10)
            .map(|round| RoundRecord {
                round,
                cost: 1.0 / round as f64,
                seconds: 0.1,
                test_accuracy: Some(90.0 + round as f64 / 2.0),
                validation_accuracy: None,
                eval_seconds: 0.0,
            })
            .collect();
        let curves = curves(&records).expect("plot");
        let (x, y, w, h) = curves.areas[0];
        // Between the curve's colour and white there are blended shades along its edges.
        let mut blended = 0;
        for py in y..y + h {
            for px in x..x + w {
                let p = curves.canvas.pixel(px, py).expect("inside");
                let towards_blue = p[2] > p[0] && p != [255, 255, 255] && p != COST_COLOUR;
                blended += usize::from(towards_blue && p[0] > COST_COLOUR[0] + 20);
            }
        }
        assert!(blended > 100, "{blended} blended pixels");
    }
}
