//! Deskewing ([`crate::ops::preprocess::deskew`]) as ONNX operators, in f64 like the original,
//! followed by the rounding to grey levels that training and `eval` apply
//! ([`crate::ops::Preprocess::apply_to_set`]).
//!
//! * moments: `ReduceSum` of the image times row and column index grids;
//! * the shear and shift: a sampling grid, output pixel `(r, c)` reading the source at row
//!   `r + mean_r − rows/2` and column `c + mean_c − cols/2 + slant·(r − rows/2)`;
//! * the resampling: `GridSample` (opset 20: f64 grids and images), bilinear, zeros outside,
//!   `align_corners = 1` so that normalised −1 and +1 are the centres of the first and last
//!   pixels and a pixel index maps to itself, as in the original's index arithmetic;
//! * a blank image (no ink) or one whose ink lies on a row (`var_r ≤ 1e-12·ink`) passes
//!   through unchanged (`Where`), as in the original;
//! * rounding half away from zero like Rust's `f64::round` (ONNX `Round` rounds halves to
//!   even), then `Clip` to 0–255.

use super::graph::{Attr, Graph};
use super::proto::data_type;

/// Adds the nodes that deskew `image` (f32, `N×1×rows×cols`, grey levels 0–255) and round
/// the result to grey levels; returns the name of the f32 `N×1×rows×cols` levels.
pub fn deskewed_levels(g: &mut Graph, image: &str, rows: usize, cols: usize) -> String {
    let x = g.op(
        "Cast",
        &[image],
        vec![("to", Attr::Int(data_type::DOUBLE.into()))],
        "levels_f64",
    );
    let row_values: Vec<f64> = (0..rows).map(|r| r as f64).collect();
    let col_values: Vec<f64> = (0..cols).map(|c| c as f64).collect();
    // Shapes 1×1×rows×1 and 1×1×1×cols: they broadcast against N×1×rows×cols.
    let row_index = g.f64s("row_index", &[1, 1, rows, 1], &row_values);
    let col_index = g.f64s("col_index", &[1, 1, 1, cols], &col_values);
    let axes = g.i64s("image_axes", &[2], &[2, 3]);
    let sum = |g: &mut Graph, value: &str, hint: &str| {
        g.op(
            "ReduceSum",
            &[value, &axes],
            vec![("keepdims", Attr::Int(1))],
            hint,
        )
    };
    let zero = g.f64("zero", 0.0);
    let one = g.f64("one", 1.0);

    let ink = sum(g, &x, "ink");
    let has_ink = g.binary("Greater", &ink, &zero);
    // Divisors that are 1 where the image passes through, so no NaN reaches the sampler.
    let safe_ink = g.op("Where", &[&has_ink, &ink, &one], Vec::new(), "safe_ink");
    let row_mass = g.binary("Mul", &x, &row_index);
    let row_mass = sum(g, &row_mass, "row_mass");
    let mean_r = g.binary("Div", &row_mass, &safe_ink);
    let col_mass = g.binary("Mul", &x, &col_index);
    let col_mass = sum(g, &col_mass, "col_mass");
    let mean_c = g.binary("Div", &col_mass, &safe_ink);
    let dr = g.binary("Sub", &row_index, &mean_r);
    let dc = g.binary("Sub", &col_index, &mean_c);
    let dr2 = g.binary("Mul", &dr, &dr);
    let dr2v = g.binary("Mul", &dr2, &x);
    let var_r = sum(g, &dr2v, "var_r");
    let drdc = g.binary("Mul", &dr, &dc);
    let drdcv = g.binary("Mul", &drdc, &x);
    let cov = sum(g, &drdcv, "cov");
    let tiny = g.f64("degenerate_fraction", 1e-12);
    let floor_var = g.binary("Mul", &tiny, &ink);
    let spread = g.binary("Greater", &var_r, &floor_var);
    let deskews = g.binary("And", &has_ink, &spread);
    let safe_var = g.op("Where", &[&deskews, &var_r, &one], Vec::new(), "safe_var");
    let slant = g.binary("Div", &cov, &safe_var);

    let (centre_r, centre_c) = (rows as f64 / 2.0, cols as f64 / 2.0);
    let centre_r = g.f64("centre_r", centre_r);
    let centre_c = g.f64("centre_c", centre_c);
    // Source row r + (mean_r − centre_r): N×1×rows×1.
    let shift_r = g.binary("Sub", &mean_r, &centre_r);
    let source_r = g.binary("Add", &row_index, &shift_r);
    // Source column c + (mean_c − centre_c + slant·(r − centre_r)): N×1×rows×cols.
    let shift_c = g.binary("Sub", &mean_c, &centre_c);
    let from_centre = g.binary("Sub", &row_index, &centre_r);
    let lean = g.binary("Mul", &slant, &from_centre);
    let shift_c = g.binary("Add", &shift_c, &lean);
    let source_c = g.binary("Add", &col_index, &shift_c);
    // Normalised for align_corners = 1: index i ↦ i/((side − 1)/2) − 1.
    let half_w = g.f64("half_width", (cols as f64 - 1.0) / 2.0);
    let half_h = g.f64("half_height", (rows as f64 - 1.0) / 2.0);
    let gx = g.binary("Div", &source_c, &half_w);
    let gx = g.binary("Sub", &gx, &one);
    let gy = g.binary("Div", &source_r, &half_h);
    let gy = g.binary("Sub", &gy, &one);
    let zeros_row = g.f64s("zeros_row", &[1, 1, 1, cols], &vec![0.0; cols]);
    let gy = g.binary("Add", &gy, &zeros_row);
    let xy = g.op(
        "Concat",
        &[&gx, &gy],
        vec![("axis", Attr::Int(1))],
        "grid_nchw",
    );
    let grid = g.op(
        "Transpose",
        &[&xy],
        vec![("perm", Attr::Ints(vec![0, 2, 3, 1]))],
        "grid",
    );
    let sampled = g.op(
        "GridSample",
        &[&x, &grid],
        vec![
            ("mode", Attr::Str("linear")),
            ("padding_mode", Attr::Str("zeros")),
            ("align_corners", Attr::Int(1)),
        ],
        "sampled",
    );
    let chosen = g.op("Where", &[&deskews, &sampled, &x], Vec::new(), "deskewed");

    // Half away from zero: a value exactly halfway goes up (the values are never negative).
    let floor = g.op("Floor", &[&chosen], Vec::new(), "floor");
    let fraction = g.binary("Sub", &chosen, &floor);
    let half = g.f64("half", 0.5);
    let is_half = g.binary("Equal", &fraction, &half);
    let up = g.op("Ceil", &[&chosen], Vec::new(), "ceil");
    let nearest = g.op("Round", &[&chosen], Vec::new(), "round");
    let rounded = g.op("Where", &[&is_half, &up, &nearest], Vec::new(), "rounded");
    let lowest = g.f64("lowest_level", 0.0);
    let highest = g.f64("highest_level", 255.0);
    let clipped = g.op(
        "Clip",
        &[&rounded, &lowest, &highest],
        Vec::new(),
        "grey_levels",
    );
    g.op(
        "Cast",
        &[&clipped],
        vec![("to", Attr::Int(data_type::FLOAT.into()))],
        "deskewed_levels",
    )
}
