//! The weight step's register tiles: 4 pixels × one block of outputs, the gradient summed over
//! the batch rows lighting any of the 4 and the optimiser's update applied while it is in
//! registers.

use super::{LANES, StepRows, TILE, blocks, madd, unchecked};

/// Weight step: tiles of 4 pixels × one block of outputs, the gradient summed in registers over
/// the batch rows lighting any of the 4 pixels, then the optimiser's update of the tile. The
/// tile loop is outermost, so each row of `Wᵀ` and of the moments is read and written whole,
/// once per step: with the block loop outermost (so that a block's columns of `δ` stayed in
/// L1), each row was visited once per block, and Adam's steps on real digits took 5–17% longer.
#[inline(always)]
pub(super) fn step_rows<const MAX_VECTORS: usize, const FUSED: bool>(
    rows: &mut StepRows<'_>,
    update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
) {
    let outputs = rows.outputs;
    let pixels = rows.weights.len() / rows.stride;
    for t in 0..pixels.div_ceil(TILE) {
        let (batch_rows, values) = rows.columns.tile(rows.first_tile + t, &rows.rows);
        for (j0, vectors) in blocks(outputs, MAX_VECTORS) {
            let width = (vectors * LANES).min(outputs - j0);
            with_block_width!(vectors, N => {
                let g = gradient_tile::<N, FUSED>(rows.delta, outputs, j0, batch_rows, values);
                update_tile(rows, t, j0, width, &g, update);
            });
        }
    }
}

/// The optimiser's update of tile `t`'s pixels (those the task has), outputs `j0..j0 + width`,
/// or the sums added to the stored gradient.
#[inline(always)]
fn update_tile<const N: usize>(
    rows: &mut StepRows<'_>,
    t: usize,
    j0: usize,
    width: usize,
    g: &[[f32; N]; TILE],
    update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
) {
    let pixels = rows.weights.len() / rows.stride;
    for (i, g) in g.iter().enumerate().take(pixels - t * TILE) {
        let at = (t * TILE + i) * rows.stride + j0;
        let r = at..at + width;
        if let Some(gradient) = rows.gradient.as_deref_mut() {
            for (sum, g) in gradient[r].iter_mut().zip(g) {
                *sum += g;
            }
            continue;
        }
        update_block(
            update,
            g,
            &mut rows.weights[r.clone()],
            &mut rows.first[r.clone()],
            &mut rows.second[r],
        );
    }
}

#[inline(always)]
fn gradient_tile<const N: usize, const FUSED: bool>(
    delta: &[f32],
    outputs: usize,
    j0: usize,
    batch_rows: &[u32],
    values: &[[f32; TILE]],
) -> [[f32; N]; TILE] {
    let (mut g0, mut g1, mut g2, mut g3) = ([0.0f32; N], [0.0f32; N], [0.0f32; N], [0.0f32; N]);
    // One check of the furthest row's block bounds every read below (see `forward_tile` for
    // why the reads go unchecked).
    let entries = batch_rows.len().min(values.len());
    if let Some(&furthest) = batch_rows[..entries].iter().max() {
        assert!(delta.len() >= furthest as usize * outputs + j0 + N);
    }
    for e in 0..entries {
        // SAFETY: e < entries ≤ both lengths; b ≤ furthest, so the block lies within `delta`
        // (asserted above).
        let (d, y0, y1, y2, y3) = unsafe {
            let b = *unchecked::get(batch_rows, e) as usize;
            let d = unchecked::block::<N>(delta, b * outputs + j0);
            let y = unchecked::get(values, e);
            (d, y[0], y[1], y[2], y[3])
        };
        for j in 0..N {
            g0[j] = madd::<FUSED>(y0, d[j], g0[j]);
            g1[j] = madd::<FUSED>(y1, d[j], g1[j]);
            g2[j] = madd::<FUSED>(y2, d[j], g2[j]);
            g3[j] = madd::<FUSED>(y3, d[j], g3[j]);
        }
    }
    [g0, g1, g2, g3]
}

#[inline(always)]
pub(super) fn update_block(
    update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
    g: &[f32],
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        update(w, g, m, v);
    }
}
