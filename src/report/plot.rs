//! `train --plot FILE`: two stacked panels sharing the round axis, the cost per round on top and
//! the test accuracy of the rounds that evaluated below, with tick labels and titles.

use std::path::Path;

use super::canvas::{BLACK, Canvas, Rgb, WHITE, text_height, text_width};
use crate::Result;
use crate::train::RoundRecord;

pub const WIDTH: usize = 900;
pub const HEIGHT: usize = PANEL_HEIGHT + X_TITLE_TOP + 14 + MARGIN;

/// Colour of the cost curve.
pub const COST_COLOUR: Rgb = [31, 119, 180];
/// Colour of the accuracy curve.
pub const ACCURACY_COLOUR: Rgb = [214, 39, 40];

const SCALE: usize = 2;
const MARGIN: usize = 16;
/// From the picture's left edge to the plot area: room for tick labels like `0.4500`.
const PLOT_LEFT: usize = 110;
const PLOT_RIGHT: usize = WIDTH - 30;
/// Each panel: its title, the plot area, the round tick labels under it.
const PANEL_HEIGHT: usize = 320;
const PLOT_TOP: usize = MARGIN + 14 + 20;
const PLOT_HEIGHT: usize = 220;
/// From a panel's top to the x axis title under the second panel's tick labels.
const X_TITLE_TOP: usize = PLOT_TOP + PLOT_HEIGHT + 10 + 14 + 14;
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];
const TICK_TEXT: Rgb = [40, 40, 40];
/// With more points than this, markers would merge into a thick line: draw the line alone.
const MAX_MARKERS: usize = 60;

/// One panel's content.
struct Series<'a> {
    title: String,
    points: Vec<(f64, f64)>,
    colour: Rgb,
    /// What to say when there is nothing to draw.
    empty_note: &'a str,
}

/// Draws the curves of `records` (in round order).
pub fn curves_canvas(records: &[RoundRecord]) -> Canvas {
    let mut canvas = Canvas::new(WIDTH, HEIGHT, WHITE);
    let rounds = value_range(records.iter().map(|r| r.round as f64));

    let cost_points: Vec<(f64, f64)> = records
        .iter()
        .map(|r| (r.round as f64, r.cost))
        .filter(|(_, cost)| cost.is_finite())
        .collect();
    let cost_title = match cost_points.last() {
        Some((round, cost)) => format!("cost per round (round {round}: {cost:.4})"),
        None => "cost per round".to_string(),
    };
    let accuracy_points: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| Some((r.round as f64, r.test_accuracy?)))
        .filter(|(_, acc)| acc.is_finite())
        .collect();
    let accuracy_title = match accuracy_points.last() {
        Some((round, acc)) => format!("test accuracy % (round {round}: {acc:.2}%)"),
        None => "test accuracy %".to_string(),
    };

    let panels = [
        Series {
            title: cost_title,
            points: cost_points,
            colour: COST_COLOUR,
            empty_note: "no finite cost to plot",
        },
        Series {
            title: accuracy_title,
            points: accuracy_points,
            colour: ACCURACY_COLOUR,
            empty_note: "no round measured test accuracy (see --eval-every)",
        },
    ];
    for (index, series) in panels.iter().enumerate() {
        draw_panel(&mut canvas, index * PANEL_HEIGHT, rounds, series);
    }
    canvas.text_centred(
        ((PLOT_LEFT + PLOT_RIGHT) / 2) as i64,
        (PANEL_HEIGHT + X_TITLE_TOP) as i64,
        "round",
        SCALE,
        BLACK,
    );
    canvas
}

/// [`curves_canvas`] saved as a PNG at `path`.
pub fn curves_png(records: &[RoundRecord], path: &Path) -> Result<()> {
    curves_canvas(records).save_png(path)
}

/// The plot area's pixel box of panel `index` (0 = cost, 1 = accuracy): `(x, y, width, height)`.
pub fn plot_area(index: usize) -> (usize, usize, usize, usize) {
    (
        PLOT_LEFT,
        index * PANEL_HEIGHT + PLOT_TOP,
        PLOT_RIGHT - PLOT_LEFT,
        PLOT_HEIGHT,
    )
}

fn draw_panel(canvas: &mut Canvas, top: usize, rounds: Option<(f64, f64)>, series: &Series) {
    let plot_top = top + PLOT_TOP;
    let plot_bottom = plot_top + PLOT_HEIGHT;
    canvas.text(
        PLOT_LEFT as i64,
        (top + MARGIN) as i64,
        &series.title,
        SCALE,
        BLACK,
    );

    let values = value_range(series.points.iter().map(|p| p.1));
    let (Some(rounds), Some(values)) = (rounds, values) else {
        canvas.rect(
            PLOT_LEFT as i64,
            plot_top as i64,
            PLOT_RIGHT - PLOT_LEFT,
            PLOT_HEIGHT,
            1,
            GRID,
        );
        canvas.text_centred(
            ((PLOT_LEFT + PLOT_RIGHT) / 2) as i64,
            (plot_top + PLOT_HEIGHT / 2) as i64,
            series.empty_note,
            SCALE,
            TICK_TEXT,
        );
        return;
    };
    let x_axis = Axis::new(rounds, true);
    let y_axis = Axis::new(values, false);
    let to_x = |x: f64| PLOT_LEFT as f64 + x_axis.fraction(x) * (PLOT_RIGHT - PLOT_LEFT) as f64;
    let to_y = |y: f64| plot_bottom as f64 - y_axis.fraction(y) * PLOT_HEIGHT as f64;

    // Grid lines and tick labels first, so the curve is drawn over them.
    for &tick in &y_axis.ticks {
        let y = to_y(tick).round() as i64;
        canvas.line((PLOT_LEFT as i64, y), (PLOT_RIGHT as i64, y), 1, GRID);
        let label = y_axis.label(tick);
        let label_x = PLOT_LEFT - 10 - text_width(&label, SCALE);
        let label_y = y - (text_height(SCALE) / 2) as i64;
        canvas.text(label_x as i64, label_y, &label, SCALE, TICK_TEXT);
    }
    for &tick in &x_axis.ticks {
        let x = to_x(tick).round() as i64;
        canvas.line(
            (x, plot_bottom as i64),
            (x, plot_bottom as i64 + 5),
            1,
            AXIS,
        );
        canvas.text_centred(
            x,
            (plot_bottom + 10) as i64,
            &x_axis.label(tick),
            SCALE,
            TICK_TEXT,
        );
    }
    canvas.line(
        (PLOT_LEFT as i64, plot_top as i64),
        (PLOT_LEFT as i64, plot_bottom as i64),
        2,
        AXIS,
    );
    canvas.line(
        (PLOT_LEFT as i64, plot_bottom as i64),
        (PLOT_RIGHT as i64, plot_bottom as i64),
        2,
        AXIS,
    );

    let pixels: Vec<(i64, i64)> = series
        .points
        .iter()
        .map(|&(x, y)| (to_x(x).round() as i64, to_y(y).round() as i64))
        .collect();
    for pair in pixels.windows(2) {
        canvas.line(pair[0], pair[1], 3, series.colour);
    }
    if pixels.len() <= MAX_MARKERS {
        for &(x, y) in &pixels {
            canvas.disc(x, y, 5, series.colour);
        }
    }
}

/// The smallest and largest finite value, or `None` when there is none.
fn value_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// An axis: the shown range and its ticks at "nice" steps (1, 2 or 5 times a power of ten).
struct Axis {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl Axis {
    fn new((min, max): (f64, f64), whole_numbers: bool) -> Axis {
        // A single value still needs a range around it; a small margin keeps end points off
        // the frame.
        let spread = if max > min {
            max - min
        } else {
            min.abs().max(1.0) * 0.1
        };
        let (mut low, mut high) = if max > min {
            (min - 0.05 * spread, max + 0.05 * spread)
        } else {
            (min - spread, max + spread)
        };
        let mut step = nice_step((high - low) / 5.0);
        if whole_numbers {
            step = step.max(1.0);
            low = low.min(min.floor());
            high = high.max(max.ceil());
        }
        let first = (low / step).ceil() as i64;
        let last = (high / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        let decimals = if whole_numbers {
            0
        } else {
            (-step.log10().floor()).max(0.0) as usize
        };
        Axis {
            low,
            high,
            ticks,
            decimals,
        }
    }

    /// Where `value` lies between the axis's ends, 0 to 1.
    fn fraction(&self, value: f64) -> f64 {
        (value - self.low) / (self.high - self.low)
    }

    fn label(&self, value: f64) -> String {
        // Avoid "-0.00" for a tick at zero that picked up a rounding error.
        let value = if value.abs() < 1e-12 { 0.0 } else { value };
        format!("{value:.*}", self.decimals)
    }
}

/// The "nice" step (1, 2 or 5 times a power of ten) nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let mantissa = raw / power;
    let nice = if mantissa <= 1.0 {
        1.0
    } else if mantissa <= 2.0 {
        2.0
    } else if mantissa <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.07), 0.1);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(12.0), 20.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn ticks_lie_inside_the_axis_and_are_labelled_distinctly() {
        let axis = Axis::new((0.0213, 0.4587), false);
        assert!(axis.ticks.len() >= 3, "{:?}", axis.ticks);
        for &tick in &axis.ticks {
            assert!((0.0..=1.0).contains(&axis.fraction(tick)));
        }
        let labels: Vec<String> = axis.ticks.iter().map(|&t| axis.label(t)).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(labels, unique);
    }

    #[test]
    fn one_round_gets_a_range_around_it() {
        let axis = Axis::new((3.0, 3.0), true);
        assert!(axis.low < 3.0 && axis.high > 3.0);
        assert!(axis.ticks.contains(&3.0), "{:?}", axis.ticks);
    }
}
