//! The forward pass's register tiles: 4 images × one block of outputs, over the pixels any of
//! the 4 lights.

use super::{Forward, LANES, TILE, blocks, madd, unchecked};

/// Forward: tiles of 4 images × one block of outputs. The block loop is outermost so that the
/// block's columns of `Wᵀ` (784 × 64 values: 200 KB) stay in the L2 cache while every tile of
/// the task reads them.
#[inline(always)]
pub(super) fn forward_rows<const MAX_VECTORS: usize, const FUSED: bool>(
    task: &Forward<'_>,
    out: &mut [f32],
) {
    let outputs = task.biases.len();
    for (j0, vectors) in blocks(outputs, MAX_VECTORS) {
        for (out, batch) in out.chunks_mut(outputs * TILE).zip(task.batch.chunks(TILE)) {
            with_block_width!(vectors, N => forward_tile::<N, FUSED>(task, j0, batch, out));
        }
    }
}

#[inline(always)]
fn forward_tile<const N: usize, const FUSED: bool>(
    task: &Forward<'_>,
    j0: usize,
    batch: &[u32],
    out: &mut [f32],
) {
    let outputs = task.biases.len();
    let width = N.min(outputs - j0);
    let images = task.images;
    let row = |i: usize| batch.get(i).map_or(task.zeros, |&b| images.row(b as usize));
    let bits = |i: usize, w: usize| batch.get(i).map_or(0, |&b| images.bits(b as usize)[w]);
    let (x0, x1, x2, x3) = (row(0), row(1), row(2), row(3));
    // The checks that make the unchecked reads below in bounds, once per tile: only pixels
    // below `pixels` are read (masked below), every row holds that many values, `Wᵀ` has a row
    // for each, and the block lies within a row. (Bounds checks per pixel cost LLVM the
    // registers that hold the row pointers: it then spilled them and broadcast two of the four
    // values through a shuffle, which competes with the multiply-adds for the vector ports.)
    let pixels = (task.weights.len() / task.stride).min(images.stride);
    assert!(x0.len() >= pixels && x1.len() >= pixels);
    assert!(x2.len() >= pixels && x3.len() >= pixels);
    assert!(j0 + N <= task.stride);
    // Four named accumulator arrays, never sliced at run time, so LLVM keeps them in
    // registers (a 2-D array, or a sliced one, is stored back to the stack every iteration).
    let mut bias = [0.0f32; N];
    bias[..width].copy_from_slice(&task.biases[j0..j0 + width]);
    let (mut a0, mut a1, mut a2, mut a3) = (bias, bias, bias, bias);
    for w in 0..images.words {
        let mut lit = bits(0, w) | bits(1, w) | bits(2, w) | bits(3, w);
        // Only pixels below `pixels` (the bitmaps never mark others; this makes sure).
        let end = pixels.saturating_sub(w * 64);
        if end < 64 {
            lit &= (1u64 << end) - 1;
        }
        while lit != 0 {
            let k = w * 64 + lit.trailing_zeros() as usize;
            lit &= lit - 1;
            // SAFETY: k < pixels (masked above), so the four rows hold index k and `Wᵀ` has
            // a row k, which holds the block j0..j0 + N (all asserted above).
            let (wk, y0, y1, y2, y3) = unsafe {
                let wk = unchecked::block::<N>(task.weights, k * task.stride + j0);
                let y = |x: &[f32]| *unchecked::get(x, k);
                (wk, y(x0), y(x1), y(x2), y(x3))
            };
            for j in 0..N {
                a0[j] = madd::<FUSED>(y0, wk[j], a0[j]);
                a1[j] = madd::<FUSED>(y1, wk[j], a1[j]);
                a2[j] = madd::<FUSED>(y2, wk[j], a2[j]);
                a3[j] = madd::<FUSED>(y3, wk[j], a3[j]);
            }
        }
    }
    let sums = [a0, a1, a2, a3];
    for (out, a) in out.chunks_exact_mut(outputs).zip(&sums) {
        out[j0..j0 + width].copy_from_slice(&a[..width]);
    }
}
