//! The first layer on the CPU, stored pixel-major (`Wᵀ`, one row of weights per pixel).
//!
//! About four in five MNIST pixels are 0, so both of this layer's products walk only the lit
//! pixels, which leaves out exactly the terms that are zero:
//! * forward, per image: `z = b + Σ_{lit k} x_k·Wᵀ[k]`, a block of `z` held in registers while
//!   the rows `Wᵀ[k]` stream past;
//! * weight gradient, per pixel `k`: `g = Σ_{images b lighting k} x_bk·δ[b]`, and the optimiser
//!   steps `Wᵀ[k]` while `g` is still in registers, so the gradient is never stored.
//!
//! Per batch element that is 2 FLOPs per lit pixel and hidden unit instead of per pixel, and the
//! optimiser's pass over the weights shares the gradient's pass instead of following it.

use rayon::prelude::*;

use crate::model::Layer;

/// Rows of `Wᵀ` are padded to a multiple of this many values (one 512-bit vector), so a block
/// of a row never needs a scalar tail when it reads weights.
const LANES: usize = 16;
/// Images per rayon task in the forward pass.
const IMAGES_PER_TASK: usize = 32;
/// Pixels per rayon task in the weight step: 49 tasks for MNIST's 784.
const PIXELS_PER_TASK: usize = 16;

/// Images as lists of their lit (non-zero) pixels, in pixel order: compressed sparse rows.
pub struct LitPixels {
    /// Image `i`'s entries are `starts[i]..starts[i + 1]`.
    starts: Vec<usize>,
    pixels: Vec<u32>,
    values: Vec<f32>,
}

impl LitPixels {
    /// Images of `width` grey levels each (0–255), as values `level / 255`.
    pub fn from_bytes(bytes: &[u8], width: usize) -> Self {
        Self::collect(bytes, width, |&p| (p != 0).then(|| f32::from(p) / 255.0))
    }

    /// Images of `width` values each.
    pub fn from_values(values: &[f32], width: usize) -> Self {
        Self::collect(values, width, |&v| (v != 0.0).then_some(v))
    }

    fn collect<T>(rows: &[T], width: usize, lit: impl Fn(&T) -> Option<f32>) -> Self {
        let images = rows.len().checked_div(width).unwrap_or(0);
        let mut set = LitPixels {
            starts: Vec::with_capacity(images + 1),
            pixels: Vec::new(),
            values: Vec::new(),
        };
        set.starts.push(0);
        for row in rows.chunks_exact(width.max(1)) {
            for (k, x) in row.iter().enumerate() {
                if let Some(x) = lit(x) {
                    set.pixels.push(k as u32);
                    set.values.push(x);
                }
            }
            set.starts.push(set.pixels.len());
        }
        set
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Image `i`'s lit pixels and their values.
    fn image(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.starts[i]..self.starts[i + 1];
        (&self.pixels[range.clone()], &self.values[range])
    }

    /// The most entries any `count` of the images hold together (a batch index's capacity).
    pub fn most_lit(&self, count: usize) -> usize {
        let mut lit: Vec<usize> = self.starts.windows(2).map(|w| w[1] - w[0]).collect();
        lit.sort_unstable_by(|a, b| b.cmp(a));
        lit.iter().take(count).sum()
    }
}

/// One batch's lit pixels indexed by pixel (compressed sparse columns): for pixel `k`, the
/// batch rows that light it, in row order, with their values. Built per step by a counting
/// sort into buffers allocated once.
pub struct BatchColumns {
    /// Pixel `k`'s entries are `starts[k]..starts[k + 1]`.
    starts: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<f32>,
}

impl BatchColumns {
    /// Room for `width` pixels and `entries` lit pixels (see [`LitPixels::most_lit`]).
    pub fn new(width: usize, entries: usize) -> Self {
        BatchColumns {
            starts: vec![0; width + 1],
            rows: vec![0; entries],
            values: vec![0.0; entries],
        }
    }

    /// Indexes the images `batch` of `images` (row `r` of the batch is image `batch[r]`).
    pub fn index(&mut self, images: &LitPixels, batch: &[u32]) {
        let starts = &mut self.starts;
        starts.fill(0);
        for &image in batch {
            for &k in images.image(image as usize).0 {
                starts[k as usize + 1] += 1;
            }
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        // `starts[k]` now serves as pixel k's cursor; afterwards it has moved to where pixel
        // k + 1 starts, so shifting the array by one restores the starts.
        for (row, &image) in batch.iter().enumerate() {
            let (pixels, values) = images.image(image as usize);
            for (&k, &x) in pixels.iter().zip(values) {
                let at = starts[k as usize];
                self.rows[at] = row as u32;
                self.values[at] = x;
                starts[k as usize] = at + 1;
            }
        }
        let pixels = starts.len() - 1;
        starts.copy_within(..pixels, 1);
        starts[0] = 0;
    }

    fn column(&self, k: usize) -> (&[u32], &[f32]) {
        let range = self.starts[k]..self.starts[k + 1];
        (&self.rows[range.clone()], &self.values[range])
    }
}

/// The first layer's weights, pixel-major, with the optimiser's moments in the same layout.
pub struct InputLayer {
    inputs: usize,
    outputs: usize,
    /// Values per row of `weights`: `outputs` rounded up to [`LANES`], the rest zero.
    stride: usize,
    weights: Vec<f32>,
    /// The optimiser's first and second moments (zero and untouched when it keeps none).
    first: Vec<f32>,
    second: Vec<f32>,
    simd: Simd,
}

impl InputLayer {
    /// `layer`, with the moments `first` and `second` (row-major like its weights, or empty).
    pub fn new(layer: &Layer, first: &[f32], second: &[f32]) -> Self {
        let stride = layer.outputs.div_ceil(LANES) * LANES;
        let pixel_major = |row_major: &[f32]| {
            let mut t = vec![0.0; layer.inputs * stride];
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
            simd: Simd::detect(),
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
        out.par_chunks_mut(self.outputs * IMAGES_PER_TASK)
            .zip(batch.par_chunks(IMAGES_PER_TASK))
            .for_each(|(out, batch)| {
                let task = Forward {
                    weights: &self.weights,
                    stride: self.stride,
                    biases,
                    images,
                    batch,
                };
                self.simd.forward(&task, out);
            });
    }

    /// One optimiser step: for every pixel `k`, the gradient `g = Σ_b x_bk·δ[b]` over the batch
    /// indexed by `columns`, then `update(w, g, m, v)` for each weight of `Wᵀ[k]` with its two
    /// moments. `delta` holds the batch's rows of `outputs` errors followed by at least
    /// [`LANES`] values of slack (blocks read whole vectors past a row's end and ignore them).
    pub fn step(
        &mut self,
        columns: &BatchColumns,
        delta: &[f32],
        update: impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync,
    ) {
        assert_eq!(
            columns.starts.len(),
            self.inputs + 1,
            "one column per input"
        );
        let chunk = self.stride * PIXELS_PER_TASK;
        let (outputs, stride, simd) = (self.outputs, self.stride, self.simd);
        self.weights
            .par_chunks_mut(chunk)
            .zip(self.first.par_chunks_mut(chunk))
            .zip(self.second.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(task, ((weights, first), second))| {
                let mut rows = StepRows {
                    first_pixel: task * PIXELS_PER_TASK,
                    outputs,
                    stride,
                    columns,
                    delta,
                    weights,
                    first,
                    second,
                };
                simd.step(&mut rows, &update);
            });
    }
}

/// One forward task: a few images against all of `Wᵀ`.
struct Forward<'a> {
    weights: &'a [f32],
    stride: usize,
    biases: &'a [f32],
    images: &'a LitPixels,
    batch: &'a [u32],
}

/// One weight-step task: the rows of `Wᵀ` (and moments) of a few consecutive pixels.
struct StepRows<'a> {
    first_pixel: usize,
    outputs: usize,
    stride: usize,
    columns: &'a BatchColumns,
    delta: &'a [f32],
    weights: &'a mut [f32],
    first: &'a mut [f32],
    second: &'a mut [f32],
}

/// `a·b + c`, fused where the instruction set has it (one rounding, and the fast path);
/// without FMA hardware `mul_add` would be a slow libm call, so those builds round twice.
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// Forward: blocks of `N` outputs, their sums in registers across an image's lit pixels. The
/// block loop is outermost so that the block's columns of `Wᵀ` (784 × 128 values: 400 KB) stay
/// in the L2 cache while every image of the task reads them.
#[inline(always)]
fn forward_rows<const N: usize, const FUSED: bool>(task: &Forward<'_>, out: &mut [f32]) {
    let outputs = task.biases.len();
    let mut j0 = 0;
    while j0 < outputs {
        // Rows of Wᵀ are padded to whole vectors, so a 16-wide block always fits.
        let wide = j0 + N <= task.stride;
        for (row, &image) in out.chunks_exact_mut(outputs).zip(task.batch) {
            let (pixels, values) = task.images.image(image as usize);
            if wide {
                forward_block::<N, FUSED>(task, j0, pixels, values, row);
            } else {
                forward_block::<LANES, FUSED>(task, j0, pixels, values, row);
            }
        }
        j0 += if wide { N } else { LANES };
    }
}

#[inline(always)]
fn forward_block<const N: usize, const FUSED: bool>(
    task: &Forward<'_>,
    j0: usize,
    pixels: &[u32],
    values: &[f32],
    row: &mut [f32],
) {
    let width = N.min(row.len() - j0);
    let mut acc = [0.0f32; N];
    acc[..width].copy_from_slice(&task.biases[j0..j0 + width]);
    for (&k, &x) in pixels.iter().zip(values) {
        let w: &[f32; N] = task.weights[k as usize * task.stride + j0..][..N]
            .try_into()
            .expect("a block of N weights");
        for j in 0..N {
            acc[j] = madd::<FUSED>(x, w[j], acc[j]);
        }
    }
    row[j0..j0 + width].copy_from_slice(&acc[..width]);
}

/// Weight step: per block of `N` outputs and pixel, the gradient summed in registers over the
/// batch rows lighting the pixel, then the optimiser's update of that block. The block loop is
/// outermost so that the block's columns of `δ` stay in cache across the task's pixels.
#[inline(always)]
fn step_rows<const N: usize, const FUSED: bool>(
    rows: &mut StepRows<'_>,
    update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
) {
    let (outputs, stride) = (rows.outputs, rows.stride);
    let pixels = rows.weights.len() / stride;
    let mut j0 = 0;
    while j0 < outputs {
        let wide = j0 + N <= stride;
        let width = (if wide { N } else { LANES }).min(outputs - j0);
        for p in 0..pixels {
            let (batch_rows, values) = rows.columns.column(rows.first_pixel + p);
            let r = p * stride + j0..p * stride + j0 + width;
            let (w, m, v) = (
                &mut rows.weights[r.clone()],
                &mut rows.first[r.clone()],
                &mut rows.second[r],
            );
            if wide {
                let g = gradient_block::<N, FUSED>(rows.delta, outputs, j0, batch_rows, values);
                update_block(update, &g, w, m, v);
            } else {
                let g = gradient_block::<LANES, FUSED>(rows.delta, outputs, j0, batch_rows, values);
                update_block(update, &g, w, m, v);
            }
        }
        j0 += if wide { N } else { LANES };
    }
}

#[inline(always)]
fn gradient_block<const N: usize, const FUSED: bool>(
    delta: &[f32],
    outputs: usize,
    j0: usize,
    batch_rows: &[u32],
    values: &[f32],
) -> [f32; N] {
    let mut g = [0.0f32; N];
    for (&b, &x) in batch_rows.iter().zip(values) {
        let d: &[f32; N] = delta[b as usize * outputs + j0..][..N]
            .try_into()
            .expect("a block of N errors");
        for j in 0..N {
            g[j] = madd::<FUSED>(x, d[j], g[j]);
        }
    }
    g
}

#[inline(always)]
fn update_block(
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
            Simd::Portable => forward_rows::<32, PORTABLE_FMA>(task, out),
        }
    }

    fn step(self, rows: &mut StepRows<'_>, update: &impl Fn(&mut f32, f32, &mut f32, &mut f32)) {
        match self {
            // SAFETY: as in `forward`.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { x86::step_avx512(rows, update) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { x86::step_avx2(rows, update) },
            Simd::Portable => step_rows::<32, PORTABLE_FMA>(rows, update),
        }
    }
}

/// The kernels compiled for x86-64's vector extensions: blocks of 8 vectors of sums (128 values
/// in zmm registers, 64 in ymm), leaving registers for the streamed operands.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Forward, StepRows, forward_rows, step_rows};

    #[target_feature(enable = "avx512f,fma")]
    pub fn forward_avx512(task: &Forward<'_>, out: &mut [f32]) {
        forward_rows::<128, true>(task, out)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn forward_avx2(task: &Forward<'_>, out: &mut [f32]) {
        forward_rows::<64, true>(task, out)
    }

    #[target_feature(enable = "avx512f,fma")]
    pub fn step_avx512(
        rows: &mut StepRows<'_>,
        update: &impl Fn(&mut f32, f32, &mut f32, &mut f32),
    ) {
        step_rows::<128, true>(rows, update)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn step_avx2(rows: &mut StepRows<'_>, update: &impl Fn(&mut f32, f32, &mut f32, &mut f32)) {
        step_rows::<64, true>(rows, update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded values in [-1, 1) (xorshift), none of them zero.
    fn noise(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let v = (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0;
                if v == 0.0 { 0.5 } else { v }
            })
            .collect()
    }

    /// Images of `width` bytes with about a fifth of the pixels lit, like MNIST.
    fn sparse_bytes(seed: u32, images: usize, width: usize) -> Vec<u8> {
        noise(seed, images * width)
            .iter()
            .map(|&v| if v > 0.6 { (v * 255.0) as u8 | 1 } else { 0 })
            .collect()
    }

    fn layer(inputs: usize, outputs: usize, seed: u32) -> Layer {
        Layer {
            inputs,
            outputs,
            weights: noise(seed, inputs * outputs),
            biases: noise(seed + 1, outputs),
        }
    }

    // Shapes on both sides of the 16-lane padding and the 64/128-wide blocks.
    const SHAPES: [(usize, usize); 4] = [(37, 5), (50, 150), (29, 131), (784, 400)];

    #[test]
    fn lit_pixels_keep_exactly_the_non_zero_pixels() {
        let bytes = sparse_bytes(3, 9, 31);
        let lit = LitPixels::from_bytes(&bytes, 31);
        assert_eq!(lit.len(), 9);
        for (i, row) in bytes.chunks(31).enumerate() {
            let (pixels, values) = lit.image(i);
            let dense: Vec<f32> = (0..31)
                .map(|k| {
                    pixels
                        .iter()
                        .position(|&p| p as usize == k)
                        .map_or(0.0, |e| values[e])
                })
                .collect();
            let want: Vec<f32> = row.iter().map(|&p| f32::from(p) / 255.0).collect();
            assert_eq!(dense, want, "image {i}");
        }
        let counts: Vec<usize> = (0..9).map(|i| lit.image(i).0.len()).collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(lit.most_lit(3), sorted[..3].iter().sum::<usize>());
        assert_eq!(lit.most_lit(100), counts.iter().sum::<usize>());
    }

    #[test]
    fn batch_columns_list_each_pixels_rows_in_order() {
        let width = 23;
        let bytes = sparse_bytes(5, 40, width);
        let lit = LitPixels::from_bytes(&bytes, width);
        let batch: Vec<u32> = vec![7, 3, 39, 3, 0, 12];
        let mut columns = BatchColumns::new(width, lit.most_lit(batch.len()));
        // Indexing twice checks that nothing of the first index survives into the second.
        columns.index(&lit, &[1, 2, 5]);
        columns.index(&lit, &batch);
        for k in 0..width {
            let (rows, values) = columns.column(k);
            let want: Vec<(u32, f32)> = batch
                .iter()
                .enumerate()
                .filter(|&(_, &i)| bytes[i as usize * width + k] != 0)
                .map(|(r, &i)| (r as u32, f32::from(bytes[i as usize * width + k]) / 255.0))
                .collect();
            let got: Vec<(u32, f32)> = rows.iter().copied().zip(values.iter().copied()).collect();
            assert_eq!(got, want, "pixel {k}");
        }
    }

    #[test]
    fn forward_matches_the_dense_product() {
        for ((inputs, outputs), simd) in SHAPES
            .into_iter()
            .flat_map(|s| Simd::available().into_iter().map(move |l| (s, l)))
        {
            let l = layer(inputs, outputs, 11);
            let bytes = sparse_bytes(13, 45, inputs);
            let lit = LitPixels::from_bytes(&bytes, inputs);
            let mut input = InputLayer::new(&l, &[], &[]);
            input.simd = simd;
            let batch: Vec<u32> = (0..45).rev().collect();
            let mut out = vec![f32::NAN; batch.len() * outputs];
            input.forward(&l.biases, &lit, &batch, &mut out);
            for (r, &image) in batch.iter().enumerate() {
                for o in 0..outputs {
                    let mut want = f64::from(l.biases[o]);
                    let mut magnitude = want.abs();
                    for k in 0..inputs {
                        let x = f64::from(bytes[image as usize * inputs + k]) / 255.0;
                        want += x * f64::from(l.weights[o * inputs + k]);
                        magnitude += (x * f64::from(l.weights[o * inputs + k])).abs();
                    }
                    let got = f64::from(out[r * outputs + o]);
                    // An f32 sum of n terms is off by at most n·2⁻²⁴·Σ|terms| and typically
                    // √n·2⁻²⁴·Σ|terms|: with n ≈ 160 lit pixels, 4e-6·Σ|terms| lies between
                    // the two, and far below a single misplaced term.
                    assert!(
                        (got - want).abs() <= 4e-6 * magnitude,
                        "{inputs}-{outputs} {simd:?}: row {r} output {o}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn step_applies_the_update_to_the_dense_gradient() {
        for ((inputs, outputs), simd) in SHAPES
            .into_iter()
            .flat_map(|s| Simd::available().into_iter().map(move |l| (s, l)))
        {
            let l = layer(inputs, outputs, 17);
            let (first, second) = (noise(19, inputs * outputs), noise(23, inputs * outputs));
            let rows = 21;
            let bytes = sparse_bytes(29, rows, inputs);
            let lit = LitPixels::from_bytes(&bytes, inputs);
            let batch: Vec<u32> = (0..rows as u32).collect();
            let mut delta = noise(31, rows * outputs);
            delta.extend([f32::NAN; LANES]); // slack the blocks read and ignore
            let mut columns = BatchColumns::new(inputs, lit.most_lit(rows));
            columns.index(&lit, &batch);
            let mut input = InputLayer::new(&l, &first, &second);
            input.simd = simd;
            // An update that uses all four operands, so a misplaced one shows.
            input.step(&columns, &delta, |w, g, m, v| {
                *m += g;
                *v -= 2.0 * g;
                *w += 0.5 * *m - 0.25 * *v + g;
            });
            let (m_got, v_got) = input.moments();
            let w_got = input.weights();
            for o in 0..outputs {
                for k in 0..inputs {
                    let mut g = 0.0f64;
                    for r in 0..rows {
                        let x = f64::from(bytes[r * inputs + k]) / 255.0;
                        g += x * f64::from(delta[r * outputs + o]);
                    }
                    let i = o * inputs + k;
                    let m = f64::from(first[i]) + g;
                    let v = f64::from(second[i]) - 2.0 * g;
                    let w = f64::from(l.weights[i]) + 0.5 * m - 0.25 * v + g;
                    // 21 f32 terms of |x·δ| < 1 and a few more roundings: 1e-5 is ample.
                    for (what, got, want) in
                        [("m", m_got[i], m), ("v", v_got[i], v), ("w", w_got[i], w)]
                    {
                        assert!(
                            (f64::from(got) - want).abs() <= 1e-5,
                            "{inputs}-{outputs} {simd:?}: {what}[{o}][{k}] {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn weights_and_moments_round_trip_through_the_pixel_major_layout() {
        let l = layer(29, 131, 37);
        let (first, second) = (noise(41, 29 * 131), noise(43, 29 * 131));
        let input = InputLayer::new(&l, &first, &second);
        assert_eq!(input.weights(), l.weights);
        assert_eq!(input.moments(), (first, second));
    }
}
