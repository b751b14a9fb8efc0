//! The first layer on the CPU, stored pixel-major (`Wᵀ`, one row of weights per pixel).
//!
//! About four in five MNIST pixels are 0. Both of this layer's products work on register tiles of
//! 4 × N sums and leave out the pixels (or batch rows) where the whole tile's inputs are zero:
//! * forward: 4 images × N outputs; for each pixel lit in any of the 4 images, one row block of
//!   `Wᵀ` is loaded and feeds 4·N multiply-adds (`z = b + Σ_k x_k·Wᵀ[k]`);
//! * weight step: 4 adjacent pixels × N outputs; for each batch row lighting any of the 4
//!   pixels, one block of `δ` feeds 4·N multiply-adds (`g = Σ_b x_bk·δ[b]`), and the optimiser
//!   steps the 4 rows of `Wᵀ` while `g` is still in registers, so the gradient is never stored.
//!
//! A skipped pixel or row only ever adds exact zeros, so the sums are those of the dense
//! products. On MNIST a tile of 4 images lights about 40% of the pixels, and neighbouring pixels
//! are lit by mostly the same images; on images with no zeros the tiles are the dense product.

use std::ops::Range;

use rayon::prelude::*;

use super::aligned::AlignedVec;
use crate::model::Layer;

/// Rows of `Wᵀ` are padded to a multiple of this many values (one 512-bit vector), so a block
/// of a row never needs a scalar tail when it reads weights.
const LANES: usize = 16;
/// Values of slack the weight step needs after the batch's errors (see [`InputLayer::step`]).
pub const DELTA_SLACK: usize = LANES;
/// Images (forward) or pixels (weight step) per register tile.
const TILE: usize = 4;
/// Images per rayon task in the forward pass.
const IMAGES_PER_TASK: usize = 32;
/// Pixels per rayon task in the weight step (a multiple of [`TILE`]): 49 tasks for MNIST's 784.
const PIXELS_PER_TASK: usize = 16;
/// Batch rows whose errors the weight step reads in one pass. Larger batches are summed a slice
/// of rows at a time into a stored gradient, so that each slice of `δ` (2,048 × 400 values:
/// 3.2 MB) stays in cache while every pixel reads it; a whole 60,000-image batch read per
/// task instead would stream 96 MB from memory 49 times.
const STEP_ROWS: usize = 2048;

/// Images as f32 rows (padded with zeros to a whole number of tiles of pixels) and, per image,
/// a bitmap of its lit (non-zero) pixels and one of its lit tiles (`TILE` adjacent pixels of
/// which any is lit).
pub struct LitPixels {
    values: Vec<f32>,
    bits: Vec<u64>,
    tiles: Vec<u64>,
    /// Values per row: the image width rounded up to [`TILE`].
    stride: usize,
    /// Pixel bitmap words per image.
    words: usize,
    /// Tile bitmap words per image.
    tile_words: usize,
    images: usize,
}

impl LitPixels {
    /// Images of `width` grey levels each (0–255), as values `level / 255`.
    pub fn from_bytes(bytes: &[u8], width: usize) -> Self {
        Self::collect(bytes, width, |&p| f32::from(p) / 255.0)
    }

    /// Images of `width` values each.
    pub fn from_values(values: &[f32], width: usize) -> Self {
        Self::collect(values, width, |&v| v)
    }

    /// Room for `images` images of `width` pixels, all dark (filled by [`Self::set_levels`]).
    pub fn dark(images: usize, width: usize) -> Self {
        Self::from_values(&vec![0.0; images * width.max(1)], width)
    }

    /// Replaces image `i` by `levels` (grey levels 0–255), each read as `level / 255 · scale`
    /// (what the GPU's `unpack_pixels` reads).
    pub fn set_levels(&mut self, i: usize, levels: &[u8], scale: f32) {
        let (stride, words) = (self.stride, self.words);
        let values = &mut self.values[i * stride..(i + 1) * stride];
        let bits = &mut self.bits[i * words..(i + 1) * words];
        bits.fill(0);
        for (k, (value, &level)) in values.iter_mut().zip(levels).enumerate() {
            *value = f32::from(level) / 255.0 * scale;
            if level != 0 {
                bits[k / 64] |= 1 << (k % 64);
            }
        }
        self.mark_tiles(i);
    }

    /// Image `i`'s tile bitmap, from its pixel bitmap.
    fn mark_tiles(&mut self, i: usize) {
        let tile_words = self.tile_words;
        let tiles = &mut self.tiles[i * tile_words..(i + 1) * tile_words];
        tiles.fill(0);
        for (w, &word) in self.bits[i * self.words..(i + 1) * self.words]
            .iter()
            .enumerate()
        {
            // One bit per 4-bit nibble: set where the nibble (a tile) has any pixel lit.
            let mut lit = word | (word >> 1);
            lit |= lit >> 2;
            lit &= 0x1111_1111_1111_1111;
            while lit != 0 {
                let t = w * 64 / TILE + lit.trailing_zeros() as usize / TILE;
                lit &= lit - 1;
                tiles[t / 64] |= 1 << (t % 64);
            }
        }
    }

    fn collect<T>(rows: &[T], width: usize, value: impl Fn(&T) -> f32) -> Self {
        let width = width.max(1);
        let images = rows.len() / width;
        let stride = width.div_ceil(TILE) * TILE;
        let words = stride.div_ceil(64);
        let tile_words = (stride / TILE).div_ceil(64);
        let mut set = LitPixels {
            values: vec![0.0; images * stride],
            bits: vec![0; images * words],
            tiles: vec![0; images * tile_words],
            stride,
            words,
            tile_words,
            images,
        };
        for (i, row) in rows.chunks_exact(width).enumerate() {
            for (k, x) in row.iter().enumerate() {
                let x = value(x);
                set.values[i * stride + k] = x;
                if x != 0.0 {
                    set.bits[i * words + k / 64] |= 1 << (k % 64);
                }
            }
            set.mark_tiles(i);
        }
        set
    }

    pub fn len(&self) -> usize {
        self.images
    }

    /// Starts fetching the rows and bitmaps of `images` into the cache, without waiting for
    /// them: the next batch's images, scattered over a training set far larger than the
    /// caches, arrive while the weight step computes instead of stalling its index.
    pub fn prefetch(&self, images: &[u32]) {
        #[cfg(target_arch = "x86_64")]
        for &i in images {
            use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
            let i = i as usize;
            let lines = self
                .row(i)
                .chunks(16)
                .map(<[f32]>::as_ptr)
                .map(|p| p.cast::<i8>());
            let bits = self
                .bits(i)
                .chunks(8)
                .map(<[u64]>::as_ptr)
                .map(|p| p.cast::<i8>());
            let tiles = &self.tiles[i * self.tile_words..(i + 1) * self.tile_words];
            let tiles = tiles.chunks(8).map(<[u64]>::as_ptr).map(|p| p.cast::<i8>());
            for line in lines.chain(bits).chain(tiles) {
                // SAFETY: a prefetch reads nothing; the pointer is into a live slice anyway.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(line) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = images;
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.stride..(i + 1) * self.stride]
    }

    fn bits(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    /// Calls `visit(t)` for each tile `t` (`TILE` adjacent pixels) image `i` lights, in order.
    #[inline(always)]
    fn for_each_lit_tile(&self, i: usize, mut visit: impl FnMut(usize)) {
        let words = &self.tiles[i * self.tile_words..(i + 1) * self.tile_words];
        for (w, &word) in words.iter().enumerate() {
            let mut lit = word;
            while lit != 0 {
                visit(w * 64 + lit.trailing_zeros() as usize);
                lit &= lit - 1;
            }
        }
    }

    fn lit_tile_count(&self, i: usize) -> usize {
        let words = &self.tiles[i * self.tile_words..(i + 1) * self.tile_words];
        words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The most (row, tile) entries any `count` of the images make (a batch index's capacity).
    pub fn most_lit_tiles(&self, count: usize) -> usize {
        let mut lit: Vec<usize> = (0..self.images).map(|i| self.lit_tile_count(i)).collect();
        lit.sort_unstable_by(|a, b| b.cmp(a));
        lit.iter().take(count).sum()
    }
}

/// One batch indexed by tile of pixels: for each tile, the batch rows that light any of its
/// pixels, in row order, with the row's values at the tile's pixels. Built per step by a
/// counting sort into buffers allocated once.
pub struct BatchColumns {
    /// Rows in the indexed batch.
    batch: usize,
    /// Tile `t`'s entries are `starts[t]..starts[t + 1]`.
    starts: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<[f32; TILE]>,
}

impl BatchColumns {
    /// Room for images of `width` pixels and `entries` (row, tile) entries (see
    /// [`LitPixels::most_lit_tiles`]).
    pub fn new(width: usize, entries: usize) -> Self {
        BatchColumns {
            batch: 0,
            starts: vec![0; width.div_ceil(TILE) + 1],
            rows: vec![0; entries],
            values: vec![[0.0; TILE]; entries],
        }
    }

    /// Indexes the images `batch` of `images` (row `r` of the batch is image `batch[r]`).
    pub fn index(&mut self, images: &LitPixels, batch: &[u32]) {
        self.batch = batch.len();
        let starts = &mut self.starts;
        starts.fill(0);
        for &image in batch {
            images.for_each_lit_tile(image as usize, |t| starts[t + 1] += 1);
        }
        for t in 1..starts.len() {
            starts[t] += starts[t - 1];
        }
        // `starts[t]` now serves as tile t's cursor; afterwards it has moved to where tile
        // t + 1 starts, so shifting the array by one restores the starts.
        let (rows, entries) = (&mut self.rows, &mut self.values);
        for (row, &image) in batch.iter().enumerate() {
            let values = images.row(image as usize);
            images.for_each_lit_tile(image as usize, |t| {
                let at = starts[t];
                rows[at] = row as u32;
                entries[at] = values[t * TILE..][..TILE]
                    .try_into()
                    .expect("a tile of values");
                starts[t] = at + 1;
            });
        }
        let tiles = starts.len() - 1;
        starts.copy_within(..tiles, 1);
        starts[0] = 0;
    }

    /// Tile `t`'s entries for the batch rows in `rows`.
    fn tile(&self, t: usize, rows: &Range<u32>) -> (&[u32], &[[f32; TILE]]) {
        let all = &self.rows[self.starts[t]..self.starts[t + 1]];
        let first = self.starts[t] + all.partition_point(|&r| r < rows.start);
        let end = self.starts[t] + all.partition_point(|&r| r < rows.end);
        (&self.rows[first..end], &self.values[first..end])
    }
}

/// The first layer's weights, pixel-major, with the optimiser's moments in the same layout.
pub struct InputLayer {
    inputs: usize,
    outputs: usize,
    /// Values per row of `weights`: `outputs` rounded up to [`LANES`], the rest zero.
    stride: usize,
    weights: AlignedVec,
    /// The optimiser's first and second moments (zero and untouched when it keeps none).
    first: AlignedVec,
    second: AlignedVec,
    /// The weight gradient, same layout, for batches summed in slices of `slice_rows` rows
    /// (empty until [`InputLayer::reserve`] is asked for a batch of more).
    gradient: AlignedVec,
    slice_rows: usize,
    /// A row of zeros standing in for the missing images of a batch's last tile.
    zeros: Vec<f32>,
    /// Each unit's squared weight norm, for max-norm (one per column).
    norms: Vec<f32>,
    simd: Simd,
}

impl InputLayer {
    /// `layer`, with the moments `first` and `second` (row-major like its weights, or empty).
    pub fn new(layer: &Layer, first: &[f32], second: &[f32]) -> Self {
        let stride = layer.outputs.div_ceil(LANES) * LANES;
        let pixel_major = |row_major: &[f32]| {
            let mut t = AlignedVec::zeros(layer.inputs * stride);
            for (o, row) in row_major.chunks_exact(layer.inputs).enumerate() {
                for (k, &w) in row.iter().enumerate() {
                    t[k * stride + o] = w;
                }
            }
            t
        };
        InputLayer {
            inputs: layer.inputs,
            outputs: layer.outputs,
            stride,
            weights: pixel_major(&layer.weights),
            first: pixel_major(first),
            second: pixel_major(second),
            gradient: AlignedVec::zeros(0),
            slice_rows: STEP_ROWS,
            zeros: vec![0.0; layer.inputs.div_ceil(TILE) * TILE],
            norms: vec![0.0; stride],
            simd: Simd::detect(),
        }
    }

    /// Allocates what steps on batches of `batch` rows need beyond the weights.
    pub fn reserve(&mut self, batch: usize) {
        if batch > self.slice_rows {
            self.gradient = AlignedVec::zeros(self.weights.len());
        }
    }

    fn row_major(&self, pixel_major: &[f32]) -> Vec<f32> {
        let mut w = vec![0.0; self.outputs * self.inputs];
        for (k, row) in pixel_major.chunks_exact(self.stride).enumerate() {
            for (o, &v) in row[..self.outputs].iter().enumerate() {
                w[o * self.inputs + k] = v;
            }
        }
        w
    }

    /// Scales each unit's incoming weights whose L2 norm exceeds `bound` back onto it (max-norm),
    /// its squares summed pixel by pixel as the GPU kernel and its twin sum them.
    pub fn clip_norms(&mut self, bound: f32) {
        self.norms.fill(0.0);
        for row in self.weights.chunks_exact(self.stride) {
            for (n, w) in self.norms.iter_mut().zip(row) {
                *n += w * w;
            }
        }
        for n in &mut self.norms {
            let norm = n.sqrt();
            *n = if norm > bound { bound / norm } else { 1.0 };
        }
        for row in self.weights.chunks_exact_mut(self.stride) {
            for (w, scale) in row.iter_mut().zip(&self.norms) {
                *w *= scale;
            }
        }
    }

    /// The weights, row-major (`[outputs][inputs]`, as [`Layer`] keeps them).
    pub fn weights(&self) -> Vec<f32> {
        self.row_major(&self.weights)
    }

    /// The first and second moments, row-major.
    pub fn moments(&self) -> (Vec<f32>, Vec<f32>) {
        (self.row_major(&self.first), self.row_major(&self.second))
    }

    /// `out[r] = biases + Σ_k x_k·Wᵀ[k]` for the images `batch` of `images`: rows of
    /// `outputs` values.
    pub fn forward(&self, biases: &[f32], images: &LitPixels, batch: &[u32], out: &mut [f32]) {
        assert_eq!(biases.len(), self.outputs, "one bias per output");
        assert_eq!(out.len(), batch.len() * self.outputs, "one row per image");
        assert_eq!(
            images.stride,
            self.zeros.len(),
            "images as wide as the layer's inputs"
        );
        out.par_chunks_mut(self.outputs * IMAGES_PER_TASK)
            .zip(batch.par_chunks(IMAGES_PER_TASK))
            .for_each(|(out, batch)| {
                let task = Forward {
                    weights: &self.weights,
                    stride: self.stride,
                    biases,
                    images,
                    batch,
                    zeros: &self.zeros,
                };
                self.simd.forward(&task, out);
            });
    }

    /// One optimiser step: for every pixel `k`, the gradient `g = Σ_b x_bk·δ[b]` over the batch
    /// indexed by `columns`, then `update(w, g, m, v)` for each weight of `Wᵀ[k]` with its two
    /// moments. `delta` holds the batch's rows of `outputs` errors followed by at least
    /// [`DELTA_SLACK`] values (blocks read whole vectors past a row's end and ignore them).
    pub fn step(
        &mut self,
        columns: &BatchColumns,
        delta: &[f32],
        ahead: Ahead<'_>,
        update: impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync,
    ) {
        assert_eq!(
            columns.starts.len(),
            self.inputs.div_ceil(TILE) + 1,
            "one column tile per 4 inputs"
        );
        let batch = columns.batch as u32;
        if self.gradient.is_empty() || columns.batch <= self.slice_rows {
            return self.pass(columns, delta, 0..batch, false, ahead, &update);
        }
        self.gradient.fill(0.0);
        let slice = self.slice_rows as u32;
        for first in (0..batch).step_by(self.slice_rows) {
            let rows = first..batch.min(first + slice);
            // One prefetch of the next batch is enough.
            let ahead = ahead.filter(|_| first == 0);
            self.pass(columns, delta, rows, true, ahead, &update);
        }
        let (outputs, stride) = (self.outputs, self.stride);
        self.weights
            .par_chunks_mut(stride * PIXELS_PER_TASK)
            .zip(self.first.par_chunks_mut(stride * PIXELS_PER_TASK))
            .zip(self.second.par_chunks_mut(stride * PIXELS_PER_TASK))
            .zip(self.gradient.par_chunks(stride * PIXELS_PER_TASK))
            .for_each(|(((w, m), v), g)| {
                for (((w, m), v), g) in w
                    .chunks_exact_mut(stride)
                    .zip(m.chunks_exact_mut(stride))
                    .zip(v.chunks_exact_mut(stride))
                    .zip(g.chunks_exact(stride))
                {
                    update_block(&update, &g[..outputs], w, m, v);
                }
            });
    }

    /// One pass of the weight step over the batch rows `rows`: the gradient's share of those
    /// rows is added to `self.gradient` (`accumulate`), or is the whole gradient and updates
    /// the weights at once.
    fn pass(
        &mut self,
        columns: &BatchColumns,
        delta: &[f32],
        rows: Range<u32>,
        accumulate: bool,
        ahead: Ahead<'_>,
        update: &(impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync),
    ) {
        let chunk = self.stride * PIXELS_PER_TASK;
        let tasks = self.inputs.div_ceil(PIXELS_PER_TASK);
        let (outputs, stride, simd) = (self.outputs, self.stride, self.simd);
        let run = |task: usize, weights, first, second, gradient| {
            let mut task_rows = StepRows {
                first_tile: task * PIXELS_PER_TASK / TILE,
                outputs,
                stride,
                columns,
                rows: rows.clone(),
                delta,
                weights,
                first,
                second,
                gradient,
            };
            if let Some((images, next)) = ahead {
                let share = next.len() * task / tasks..next.len() * (task + 1) / tasks;
                images.prefetch(&next[share]);
            }
            simd.step(&mut task_rows, update);
        };
        let params = self
            .weights
            .par_chunks_mut(chunk)
            .zip(self.first.par_chunks_mut(chunk))
            .zip(self.second.par_chunks_mut(chunk))
            .enumerate();
        if accumulate {
            params
                .zip(self.gradient.par_chunks_mut(chunk))
                .for_each(|((task, ((w, m), v)), g)| run(task, w, m, v, Some(g)));
        } else {
            params.for_each(|(task, ((w, m), v))| run(task, w, m, v, None));
        }
    }
}

/// Images the weight step prefetches while it runs (see [`LitPixels::prefetch`]).
pub type Ahead<'a> = Option<(&'a LitPixels, &'a [u32])>;

/// One forward task: a few images against all of `Wᵀ`.
struct Forward<'a> {
    weights: &'a [f32],
    stride: usize,
    biases: &'a [f32],
    images: &'a LitPixels,
    batch: &'a [u32],
    zeros: &'a [f32],
}

/// One weight-step task: the rows of `Wᵀ` (and moments) of a few consecutive pixels, over the
/// batch rows `rows`; with `gradient` (the same pixels' rows of it), the sums are added there
/// instead of updating the weights.
struct StepRows<'a> {
    first_tile: usize,
    outputs: usize,
    stride: usize,
    columns: &'a BatchColumns,
    rows: Range<u32>,
    delta: &'a [f32],
    weights: &'a mut [f32],
    first: &'a mut [f32],
    second: &'a mut [f32],
    gradient: Option<&'a mut [f32]>,
}

/// The blocks of outputs a kernel's register tiles cover, as `(first output, vectors)`: the
/// fewest blocks of at most `max_vectors` vectors of [`LANES`] values, as even as whole vectors
/// allow (200 outputs, 13 vectors, at most 5: blocks of 4, 4 and 5). Rows are padded to whole
/// vectors, so a block's last vector may run into the padding.
fn blocks(outputs: usize, max_vectors: usize) -> impl Iterator<Item = (usize, usize)> {
    let vectors = outputs.div_ceil(LANES);
    let count = vectors.div_ceil(max_vectors.max(1));
    (0..count).map(move |b| {
        let (first, end) = (vectors * b / count, vectors * (b + 1) / count);
        (first * LANES, end - first)
    })
}

/// Runs `$body` with the constant `$n` set to `$vectors` vectors' worth of values (1 to 5), so
/// that each block width has a kernel whose sums are a fixed set of registers.
macro_rules! with_block_width {
    ($vectors:expr, $n:ident => $body:expr) => {
        match $vectors {
            1 => {
                const $n: usize = LANES;
                $body
            }
            2 => {
                const $n: usize = 2 * LANES;
                $body
            }
            3 => {
                const $n: usize = 3 * LANES;
                $body
            }
            4 => {
                const $n: usize = 4 * LANES;
                $body
            }
            _ => {
                const $n: usize = 5 * LANES;
                $body
            }
        }
    };
}

/// `a·b + c`, fused where the instruction set has it (one rounding, and the fast path);
/// without FMA hardware `mul_add` would be a slow libm call, so those builds round twice.
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

mod forward;
mod step;
mod unchecked;

use self::forward::forward_rows;
use self::step::{step_rows, update_block};

/// The widest vector instructions this CPU runs, found once; each kernel is compiled for each.
#[derive(Clone, Copy, Debug)]
enum Simd {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

/// Whether the portable build fuses multiply-adds: every aarch64 CPU has FMA.
const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

impl Simd {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                return Simd::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Simd::Avx2;
            }
        }
        Simd::Portable
    }

    /// Every level this CPU runs, widest first (the tests run each).
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut levels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if matches!(Simd::detect(), Simd::Avx512) {
                levels.push(Simd::Avx512);
            }
            if !matches!(Simd::detect(), Simd::Portable) {
                levels.push(Simd::Avx2);
            }
        }
        levels.push(Simd::Portable);
        levels
    }

    fn forward(self, task: &Forward<'_>, out: &mut [f32]) {
        match self {
            // SAFETY: `detect` found the features these functions are compiled for.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { x86::forward_avx512(task, out) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { x86::forward_avx2(task, out) },
            Simd::Portable => forward_rows::<1, PORTABLE_FMA>(task, out),
        }
    }

    fn step(self, rows: &mut StepRows<'_>, update: &impl Fn(&mut f32, f32, &mut f32, &mut f32)) {
        match self {
            // SAFETY: as in `forward`.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { x86::step_avx512(rows, update) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { x86::step_avx2(rows, update) },
            Simd::Portable => step_rows::<1, PORTABLE_FMA>(rows, update),
        }
    }
}

/// The kernels compiled for x86-64's vector extensions, their blocks sized so the sums stay in
/// registers beside the streamed block and the broadcast inputs: with AVX-512, forward tiles of
/// 4 images × up to 4 vectors (16 of the 32 zmm registers) and weight-step tiles of 4 pixels ×
/// up to 5 vectors (20 registers; measured 5–10% faster than blocks of up to 4 for the weight
/// step, 5% slower for the forward pass); with AVX2, 4 × 16 values (8 of the 16 ymm
/// registers).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Forward, StepRows, forward_rows, step_rows};

    #[target_feature(enable = "avx512f,fma")]
    pub fn forward_avx512(task: &Forward<'_>, out: &mut [f32]) {
        forward_rows::<4, true>(task, out)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn forward_avx2(task: &Forward<'_>, out: &mut [f32]) {
        forward_rows::<1, true>(task, out)
    }

    #[target_feature(enable = "avx512f,fma")]
    pub fn step_avx512(
        rows: &mut StepRows<'_>,
        update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
    ) {
        step_rows::<5, true>(rows, update)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn step_avx2(rows: &mut StepRows<'_>, update: &impl Fn(&mut f32, f32, &mut f32, &mut f32)) {
        step_rows::<1, true>(rows, update)
    }
}

#[cfg(test)]
mod tests;
