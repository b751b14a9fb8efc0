//! What happens to a training batch's images before the first layer reads them: distortions
//! drawn on the fly (`--augment`) and input dropout (`--input-dropout`).
//!
//! Each image of each batch of each round gets its own warp: a rotation, a change of size, a
//! translation and an elastic displacement (a smooth random field, bilinear between a 4 × 4 grid
//! of random control-point offsets). Its draws come from the counter-based generator of the
//! dropout masks, keyed by `(seed, round, batch, stream)` and hashed with the image's row in the
//! batch, so every engine draws the same warps and a resumed run draws those of an
//! uninterrupted one. The warped image is resampled bilinearly (zero outside the frame) and
//! rounded back to grey levels, so it stays u8 wherever the images live; input dropout then
//! zeroes pixels, and the first layer scales the kept ones by `1/(1 − rate)`.
//!
//! Written once here and mirrored operation for operation by `shaders/gather_input.wgsl`
//! (sine and cosine are polynomials, not the device's approximations, so both sides compute the
//! same warp).

use super::dropout::{Dropout, pcg_hash};

/// The key stream of the warps (a counter beside the layer indices of the dropout masks).
pub const WARP_STREAM: usize = 0x5741_5250;
/// The key stream of the input-dropout masks.
pub const INPUT_DROPOUT_STREAM: usize = 0x4452_4f50;
/// Control points per side of the elastic displacement grid.
pub const GRID: usize = 4;
/// Random draws per image: angle, size, two shifts, then an (x, y) offset per control point.
pub const DRAWS: u32 = 4 + 2 * (GRID * GRID) as u32;

/// The largest settings accepted: beyond them a digit no longer reads as itself.
const MAX_SHIFT: f32 = 8.0;
const MAX_ROTATE: f32 = 30.0;
const MAX_SCALE: f32 = 0.5;
const MAX_ELASTIC: f32 = 4.0;

/// How far each training image may be distorted; every draw is uniform within its bound.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Augment {
    /// Largest translation along each axis, in pixels.
    pub shift: f32,
    /// Largest rotation, in degrees.
    pub rotate: f32,
    /// Largest relative change of size (0.1: 90% to 110%).
    pub scale: f32,
    /// Largest offset of an elastic control point along each axis, in pixels.
    pub elastic: f32,
}

impl Augment {
    /// No distortion.
    pub const NONE: Augment = Augment {
        shift: 0.0,
        rotate: 0.0,
        scale: 0.0,
        elastic: 0.0,
    };

    /// `--augment`'s default distortions, the strength of the affine and elastic distortions
    /// that MLPs on MNIST are trained with (Simard et al. 2003; Cireşan et al. 2010).
    pub const DEFAULT: Augment = Augment {
        shift: 2.0,
        rotate: 10.0,
        scale: 0.1,
        elastic: 1.5,
    };

    pub fn new(shift: f32, rotate: f32, scale: f32, elastic: f32) -> crate::Result<Self> {
        for (flag, value, max) in [
            ("--augment-shift", shift, MAX_SHIFT),
            ("--augment-rotate", rotate, MAX_ROTATE),
            ("--augment-scale", scale, MAX_SCALE),
            ("--augment-elastic", elastic, MAX_ELASTIC),
        ] {
            if !(0.0..=max).contains(&value) || (flag == "--augment-scale" && value >= max) {
                return Err(crate::Error::Config(format!(
                    "{flag} must be at least 0 and {} {max}, got {value}",
                    if flag == "--augment-scale" {
                        "below"
                    } else {
                        "at most"
                    }
                )));
            }
        }
        Ok(Augment {
            shift,
            rotate,
            scale,
            elastic,
        })
    }

    pub fn is_active(&self) -> bool {
        self.shift > 0.0 || self.rotate > 0.0 || self.scale > 0.0 || self.elastic > 0.0
    }

    /// The largest rotation in radians (what the kernels read).
    pub fn rotate_radians(&self) -> f32 {
        self.rotate.to_radians()
    }

    /// `shift 2 px, rotate 10°, scale ±10%, elastic 1.5 px`.
    pub fn describe(&self) -> String {
        format!(
            "shift {} px, rotate {}°, scale ±{}%, elastic {} px",
            self.shift,
            self.rotate,
            self.scale * 100.0,
            self.elastic
        )
    }
}

/// A uniform draw in [−1, 1) from a hash: its top 24 bits, scaled exactly.
#[inline(always)]
pub fn signed_unit(hash: u32) -> f32 {
    (hash >> 8) as f32 * (1.0 / 8_388_608.0) - 1.0
}

/// Draw `j` of the image in batch row `row`.
#[inline(always)]
pub fn draw(key: u32, row: u32, j: u32) -> f32 {
    signed_unit(pcg_hash(
        key ^ pcg_hash(row.wrapping_mul(DRAWS).wrapping_add(j)),
    ))
}

/// `(sin a, cos a)` by their Taylor polynomials, exact to f32 rounding for |a| ≤ 30°
/// (the first term left out is below a^7/5040 < 4e-6·a) and the same on every device.
#[inline(always)]
pub fn small_sin_cos(a: f32) -> (f32, f32) {
    let a2 = a * a;
    let sin = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0)));
    let cos = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0));
    (sin, cos)
}

/// One image's warp: where each output pixel is read from in the source image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warp {
    sin: f32,
    cos: f32,
    inv_scale: f32,
    shift: [f32; 2],
    /// Control-point offsets, row-major (y then x), in pixels.
    grid: [[f32; 2]; GRID * GRID],
}

impl Warp {
    /// The warp of the image in batch row `row` of a batch whose warps are keyed `key`.
    pub fn draw(bounds: &NoiseParams, key: u32, row: u32) -> Warp {
        let angle = bounds.rotate * draw(key, row, 0);
        let (sin, cos) = small_sin_cos(angle);
        let mut grid = [[0.0; 2]; GRID * GRID];
        for (k, offset) in grid.iter_mut().enumerate() {
            let j = 4 + 2 * k as u32;
            *offset = [
                bounds.elastic * draw(key, row, j),
                bounds.elastic * draw(key, row, j + 1),
            ];
        }
        Warp {
            sin,
            cos,
            inv_scale: 1.0 / (1.0 + bounds.zoom * draw(key, row, 1)),
            shift: [
                bounds.shift * draw(key, row, 2),
                bounds.shift * draw(key, row, 3),
            ],
            grid,
        }
    }

    /// The source position of output pixel `(x, y)` of a `side × side` image: the inverse of
    /// "rotate and scale about the centre, then translate", plus the elastic offset there.
    #[inline(always)]
    pub fn source(&self, x: u32, y: u32, side: u32) -> (f32, f32) {
        let centre = (side - 1) as f32 * 0.5;
        let px = x as f32 - centre - self.shift[0];
        let py = y as f32 - centre - self.shift[1];
        let [ex, ey] = self.elastic_offset(x, y, side);
        let sx = (self.cos * px + self.sin * py) * self.inv_scale + centre + ex;
        let sy = (self.cos * py - self.sin * px) * self.inv_scale + centre + ey;
        (sx, sy)
    }

    /// Every pixel of a `side × side` image warped into `out`: [`sample`] at [`Warp::source`]
    /// of each, with the terms that depend only on the column or only on the row computed once
    /// (the same operations on the same values, so the same levels).
    pub fn warp_image(&self, image: &[u8], side: u32, out: &mut [u8]) {
        const MAX_SIDE: usize = 64;
        let n = side as usize;
        if n > MAX_SIDE {
            for (k, level) in out.iter_mut().enumerate() {
                let (sx, sy) = self.source(k as u32 % side, k as u32 / side, side);
                *level = sample(image, side, sx, sy);
            }
            return;
        }
        let centre = (side - 1) as f32 * 0.5;
        let step = (GRID - 1) as f32 / (side - 1).max(1) as f32;
        // Per column: its distance from the centre, its grid cell and where in the cell it is.
        let mut columns = [(0.0f32, 0usize, 0.0f32); MAX_SIDE];
        for (x, column) in columns.iter_mut().enumerate().take(n) {
            let g = x as f32 * step;
            let cell = (g as usize).min(GRID - 2);
            *column = (x as f32 - centre - self.shift[0], cell, g - cell as f32);
        }
        for (y, row) in out.chunks_exact_mut(n).enumerate().take(n) {
            let gy = y as f32 * step;
            let iy = (gy as usize).min(GRID - 2);
            let fy = gy - iy as f32;
            let py = y as f32 - centre - self.shift[1];
            let (above, below) = (&self.grid[iy * GRID..], &self.grid[(iy + 1) * GRID..]);
            for (level, &(px, ix, fx)) in row.iter_mut().zip(&columns) {
                let offset = |axis: usize| {
                    let top = lerp(above[ix][axis], above[ix + 1][axis], fx);
                    let bottom = lerp(below[ix][axis], below[ix + 1][axis], fx);
                    lerp(top, bottom, fy)
                };
                let sx = (self.cos * px + self.sin * py) * self.inv_scale + centre + offset(0);
                let sy = (self.cos * py - self.sin * px) * self.inv_scale + centre + offset(1);
                *level = sample(image, side, sx, sy);
            }
        }
    }

    /// The elastic offset at `(x, y)`: bilinear between the four control points around it.
    fn elastic_offset(&self, x: u32, y: u32, side: u32) -> [f32; 2] {
        let step = (GRID - 1) as f32 / (side - 1).max(1) as f32;
        let (gx, gy) = (x as f32 * step, y as f32 * step);
        let (ix, iy) = ((gx as usize).min(GRID - 2), (gy as usize).min(GRID - 2));
        let (fx, fy) = (gx - ix as f32, gy - iy as f32);
        let at = |i: usize, j: usize| self.grid[j * GRID + i];
        let mut offset = [0.0; 2];
        for (axis, value) in offset.iter_mut().enumerate() {
            let top = lerp(at(ix, iy)[axis], at(ix + 1, iy)[axis], fx);
            let bottom = lerp(at(ix, iy + 1)[axis], at(ix + 1, iy + 1)[axis], fx);
            *value = lerp(top, bottom, fy);
        }
        offset
    }
}

#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// `v.floor()` for |v| < 2²³ (every coordinate and level here), without the libm call that
/// `f32::floor` is on x86-64's baseline instruction set: the same value.
#[inline(always)]
fn floor(v: f32) -> f32 {
    let t = v as i32 as f32;
    if t > v { t - 1.0 } else { t }
}

/// The grey level at `(sx, sy)` of a `side × side` image: bilinear between its four
/// neighbouring pixels, zero outside the frame, rounded to the nearest level.
#[inline(always)]
pub fn sample(image: &[u8], side: u32, sx: f32, sy: f32) -> u8 {
    let (x0, y0) = (floor(sx), floor(sy));
    let (fx, fy) = (sx - x0, sy - y0);
    let last = (side - 1) as f32;
    if x0 >= 0.0 && y0 >= 0.0 && x0 < last && y0 < last {
        // All four neighbours inside the frame: the same values without the checks.
        let k = y0 as usize * side as usize + x0 as usize;
        let level = |k: usize| f32::from(image[k]);
        let top = lerp(level(k), level(k + 1), fx);
        let bottom = lerp(level(k + side as usize), level(k + side as usize + 1), fx);
        return floor(lerp(top, bottom, fy) + 0.5).clamp(0.0, 255.0) as u8;
    }
    let at = |x: f32, y: f32| -> f32 {
        if x >= 0.0 && y >= 0.0 && x < side as f32 && y < side as f32 {
            f32::from(image[y as usize * side as usize + x as usize])
        } else {
            0.0
        }
    };
    let top = lerp(at(x0, y0), at(x0 + 1.0, y0), fx);
    let bottom = lerp(at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0), fx);
    floor(lerp(top, bottom, fy) + 0.5).clamp(0.0, 255.0) as u8
}

/// Distortions and input dropout of one run: what a training batch's images go through.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InputNoise {
    pub augment: Augment,
    /// Dropout on the input pixels.
    pub dropout: Dropout,
}

/// The keys of one batch's warps and input-dropout masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchKeys {
    pub warp: u32,
    pub dropout: u32,
}

impl InputNoise {
    pub fn is_active(&self) -> bool {
        self.augment.is_active() || self.dropout.is_active()
    }

    pub fn keys(seed: u64, round: usize, batch: usize) -> BatchKeys {
        BatchKeys {
            warp: Dropout::batch_key(seed, round, batch, WARP_STREAM),
            dropout: Dropout::batch_key(seed, round, batch, INPUT_DROPOUT_STREAM),
        }
    }

    /// What the first layer multiplies a pixel's `level / 255` by: `1/(1 − rate)` with input
    /// dropout, else 1.
    pub fn input_scale(&self) -> f32 {
        if self.dropout.is_active() {
            self.dropout.keep_scale()
        } else {
            1.0
        }
    }

    /// The kernel-level form of these settings for images `side` pixels square.
    pub fn params(&self, side: u32) -> NoiseParams {
        NoiseParams {
            shift: self.augment.shift,
            rotate: self.augment.rotate_radians(),
            zoom: self.augment.scale,
            elastic: self.augment.elastic,
            threshold: if self.dropout.is_active() {
                self.dropout.threshold()
            } else {
                0
            },
            side,
        }
    }
}

/// [`InputNoise`] as the engines apply it (and as `shaders/gather_input.wgsl` reads it from
/// the batch block): the largest shift (pixels), rotation (radians), relative size change and
/// elastic offset (pixels), the input-dropout threshold (`round(rate·2²⁴)`; 0: none) and the
/// images' side.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NoiseParams {
    pub shift: f32,
    pub rotate: f32,
    pub zoom: f32,
    pub elastic: f32,
    pub threshold: u32,
    pub side: u32,
}

impl NoiseParams {
    fn warps(&self) -> bool {
        self.shift > 0.0 || self.rotate > 0.0 || self.zoom > 0.0 || self.elastic > 0.0
    }

    /// Batch row `row`'s image `image` as the first layer sees it in training, into `out` (as
    /// many pixels; `side × side` when warping): warped when augmenting, then with dropped
    /// pixels zeroed.
    pub fn apply(&self, keys: BatchKeys, row: u32, image: &[u8], out: &mut [u8]) {
        let side = self.side;
        let pixels = out.len();
        if self.warps() {
            Warp::draw(self, keys.warp, row).warp_image(image, side, &mut out[..pixels]);
        } else {
            out[..pixels].copy_from_slice(&image[..pixels]);
        }
        if self.threshold > 0 {
            let first = row.wrapping_mul(pixels as u32);
            for (k, level) in out[..pixels].iter_mut().enumerate() {
                let e = first.wrapping_add(k as u32);
                if Dropout::mask(keys.dropout, e, self.threshold, 1.0) == 0.0 {
                    *level = 0;
                }
            }
        }
    }
}

/// The side of the square images of `pixels` pixels, if they are square.
pub fn square_side(pixels: usize) -> Option<u32> {
    let side = (pixels as f64).sqrt().round() as usize;
    (side * side == pixels && side >= 2).then_some(side as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit() -> Vec<u8> {
        // A bright 6 × 10 bar with soft edges, off-centre in a 28 × 28 frame.
        let mut image = vec![0u8; 784];
        for y in 6..16 {
            for x in 9..15 {
                image[y * 28 + x] = if x == 9 || y == 6 { 128 } else { 255 };
            }
        }
        image
    }

    #[test]
    fn no_distortion_is_the_identity_and_a_shift_moves_whole_pixels() {
        let image = digit();
        let mut out = vec![7u8; 784];
        let none = InputNoise::default();
        none.params(28)
            .apply(InputNoise::keys(1, 1, 0), 3, &image, &mut out);
        assert_eq!(out, image);
        // A warp of only a shift of exactly one pixel to the right moves every column.
        let mut warp = Warp::draw(&NoiseParams::default(), 9, 0);
        warp.shift = [1.0, 0.0];
        for y in 0..28 {
            for x in 1..28 {
                let (sx, sy) = warp.source(x, y, 28);
                assert_eq!(sample(&image, 28, sx, sy), image[(y * 28 + x - 1) as usize]);
            }
        }
    }

    #[test]
    fn warps_stay_within_their_bounds_and_differ_per_image_and_round() {
        let augment = Augment::new(2.0, 10.0, 0.1, 1.5).expect("valid");
        let keys = InputNoise::keys(42, 3, 7);
        let noise = InputNoise {
            augment,
            dropout: Dropout::default(),
        }
        .params(28);
        let mut angles = (f32::MAX, f32::MIN);
        for row in 0..500 {
            let warp = Warp::draw(&noise, keys.warp, row);
            let angle = warp.sin.atan2(warp.cos).to_degrees();
            angles = (angles.0.min(angle), angles.1.max(angle));
            assert!((1.0 / 1.1 - 1e-6..=1.0 / 0.9 + 1e-6).contains(&warp.inv_scale));
            assert!(warp.shift.iter().all(|s| s.abs() <= 2.0));
            assert!(warp.grid.iter().flatten().all(|e| e.abs() <= 1.5));
            assert!((warp.sin * warp.sin + warp.cos * warp.cos - 1.0).abs() < 1e-6);
        }
        // 500 uniform draws reach within 0.5° of both ends with near certainty.
        assert!(angles.0 < -9.5 && angles.1 > 9.5, "{angles:?}");
        let image = digit();
        let warped = |keys: BatchKeys, row| {
            let mut out = vec![0u8; 784];
            noise.apply(keys, row, &image, &mut out);
            out
        };
        let base = warped(keys, 0);
        assert_ne!(base, image);
        assert_ne!(warped(keys, 1), base);
        assert_ne!(warped(InputNoise::keys(42, 4, 7), 0), base);
        assert_eq!(warped(InputNoise::keys(42, 3, 7), 0), base);
        // Ink is moved, not made: a size change of ±10% changes the area by at most 21%, and
        // the elastic field (offsets ≤ 1.5 px over 9-px cells) stretches it by at most ~33%.
        let ink = |v: &[u8]| v.iter().map(|&p| f64::from(p)).sum::<f64>();
        let ratio = ink(&base) / ink(&image);
        assert!((0.5..1.6).contains(&ratio), "{ratio}");
    }

    #[test]
    fn the_whole_image_warp_is_the_per_pixel_definition() {
        let image = digit();
        let strong = InputNoise {
            augment: Augment::new(3.0, 30.0, 0.3, 3.0).expect("bounds"),
            dropout: Dropout::default(),
        }
        .params(28);
        for row in 0..50 {
            let warp = Warp::draw(&strong, InputNoise::keys(3, 2, 1).warp, row);
            let mut fast = vec![0u8; 784];
            warp.warp_image(&image, 28, &mut fast);
            for (k, &level) in fast.iter().enumerate() {
                let (sx, sy) = warp.source(k as u32 % 28, k as u32 / 28, 28);
                let (x0, y0) = (sx.floor(), sy.floor());
                let at = |x: f32, y: f32| {
                    let inside = (0.0..28.0).contains(&x) && (0.0..28.0).contains(&y);
                    if inside {
                        f32::from(image[y as usize * 28 + x as usize])
                    } else {
                        0.0
                    }
                };
                let top = lerp(at(x0, y0), at(x0 + 1.0, y0), sx - x0);
                let bottom = lerp(at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0), sx - x0);
                let want = (lerp(top, bottom, sy - y0) + 0.5).floor().clamp(0.0, 255.0) as u8;
                assert_eq!(level, want, "row {row} pixel {k}");
            }
        }
    }

    #[test]
    fn input_dropout_zeroes_about_its_rate_of_pixels() {
        let image = vec![200u8; 784];
        let noise = InputNoise {
            augment: Augment::default(),
            dropout: Dropout::new(0.2).expect("rate"),
        };
        let mut zeros = 0;
        for row in 0..100 {
            let mut out = vec![0u8; 784];
            noise
                .params(28)
                .apply(InputNoise::keys(5, 1, 2), row, &image, &mut out);
            assert!(out.iter().all(|&p| p == 0 || p == 200));
            zeros += out.iter().filter(|&&p| p == 0).count();
        }
        // Binomial(78400, 0.2): standard deviation 112, so ±800 is over 7 sigma.
        assert!((zeros as i64 - 15_680).abs() < 800, "{zeros}");
        assert_eq!(noise.input_scale(), 1.25);
    }

    #[test]
    fn sines_match_the_library_within_f32_rounding() {
        for i in -100..=100 {
            let a = (i as f32 / 100.0) * 30f32.to_radians();
            let (s, c) = small_sin_cos(a);
            assert!(
                (s - a.sin()).abs() < 2e-7 && (c - a.cos()).abs() < 2e-7,
                "{a}"
            );
        }
        assert!(Augment::new(9.0, 0.0, 0.0, 0.0).is_err());
        assert!(Augment::new(0.0, 0.0, 0.5, 0.0).is_err());
        assert!(Augment::new(0.0, -1.0, 0.0, 0.0).is_err());
        assert!(Augment::new(0.0, f32::NAN, 0.0, 0.0).is_err());
        assert_eq!(square_side(784), Some(28));
        assert_eq!(square_side(785), None);
    }
}
