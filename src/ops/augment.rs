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
//! The warp is computed in fixed-point integer arithmetic (positions in 1/256 pixel, angles,
//! sines and scale factors in 1/16384): a device may fuse a float `a·b + c` into one FMA and
//! round a level the other way, but integers come out the same everywhere, so every engine
//! trains on exactly the same images. Written once here and mirrored operation for operation by
//! `shaders/gather_input.wgsl`; every product stays within i32.

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

/// Fixed-point units: positions in `1/POSITION` pixel; angles (radians), sines and scale
/// factors in `1/UNIT`; draws in `1/DRAW` of their bound.
pub const POSITION: i32 = 256;
pub const UNIT: i32 = 16384;
pub const DRAW: i32 = 32768;

/// Draw `j` of the image in batch row `row`: uniform in [−DRAW, DRAW) (the hash's top 16 bits).
#[inline(always)]
pub fn draw(key: u32, row: u32, j: u32) -> i32 {
    let hash = pcg_hash(key ^ pcg_hash(row.wrapping_mul(DRAWS).wrapping_add(j)));
    (hash >> 16) as i32 - DRAW
}

/// `bound · draw / DRAW`, rounded down.
#[inline(always)]
fn scaled(bound: u32, draw: i32) -> i32 {
    (bound as i32 * draw) >> 15
}

/// `(sin a, cos a)` in `1/UNIT` for an angle `a` in `1/UNIT` radians, |a| ≤ 30°: Taylor
/// polynomials to the a⁵ and a⁴ terms (off by < 3e-4 at 30°, under 0.01 pixel at the edge).
#[inline(always)]
pub fn small_sin_cos(a: i32) -> (i32, i32) {
    let a2 = (a * a) >> 14;
    let a4 = (a2 * a2) >> 14;
    let sin = (a * (UNIT - a2 / 6 + a4 / 120)) >> 14;
    let cos = UNIT - a2 / 2 + a4 / 24;
    (sin, cos)
}

/// One image's warp: where each output pixel is read from in the source image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warp {
    /// In `1/UNIT`.
    sin: i32,
    cos: i32,
    inv_scale: i32,
    /// In `1/POSITION` pixel.
    shift: [i32; 2],
    /// Control-point offsets, row-major (y then x), in `1/POSITION` pixel.
    grid: [[i32; 2]; GRID * GRID],
}

impl Warp {
    /// The warp of the image in batch row `row` of a batch whose warps are keyed `key`.
    pub fn draw(bounds: &NoiseParams, key: u32, row: u32) -> Warp {
        let (sin, cos) = small_sin_cos(scaled(bounds.rotate, draw(key, row, 0)));
        let mut grid = [[0; 2]; GRID * GRID];
        for (k, offset) in grid.iter_mut().enumerate() {
            let j = 4 + 2 * k as u32;
            *offset = [
                scaled(bounds.elastic, draw(key, row, j)),
                scaled(bounds.elastic, draw(key, row, j + 1)),
            ];
        }
        Warp {
            sin,
            cos,
            inv_scale: (UNIT * UNIT) / (UNIT + scaled(bounds.zoom, draw(key, row, 1))),
            shift: [
                scaled(bounds.shift, draw(key, row, 2)),
                scaled(bounds.shift, draw(key, row, 3)),
            ],
            grid,
        }
    }

    /// The source position (in `1/POSITION` pixel) of output pixel `(x, y)` of a `side × side`
    /// image: the inverse of "rotate and scale about the centre, then translate", plus the
    /// elastic offset there.
    #[inline(always)]
    pub fn source(&self, x: u32, y: u32, side: u32) -> (i32, i32) {
        let centre = (side as i32 - 1) * (POSITION / 2);
        let px = x as i32 * POSITION - centre - self.shift[0];
        let py = y as i32 * POSITION - centre - self.shift[1];
        let [ex, ey] = self.elastic_offset(x, y, side);
        let rx = (self.cos * px + self.sin * py) >> 14;
        let ry = (self.cos * py - self.sin * px) >> 14;
        let sx = ((rx * self.inv_scale) >> 14) + centre + ex;
        let sy = ((ry * self.inv_scale) >> 14) + centre + ey;
        (sx, sy)
    }

    /// Every pixel of a `side × side` image warped into `out`.
    pub fn warp_image(&self, image: &[u8], side: u32, out: &mut [u8]) {
        for (k, level) in out.iter_mut().enumerate() {
            let (sx, sy) = self.source(k as u32 % side, k as u32 / side, side);
            *level = sample(image, side, sx, sy);
        }
    }

    /// The elastic offset at `(x, y)`: bilinear between the four control points around it
    /// (cells `side − 1` wide in units of `1/(GRID − 1)`).
    fn elastic_offset(&self, x: u32, y: u32, side: u32) -> [i32; 2] {
        let d = (side as i32 - 1).max(1);
        let (gx, gy) = (x as i32 * (GRID as i32 - 1), y as i32 * (GRID as i32 - 1));
        let (ix, iy) = ((gx / d).min(GRID as i32 - 2), (gy / d).min(GRID as i32 - 2));
        let (fx, fy) = (gx - ix * d, gy - iy * d);
        let at = |i: i32, j: i32| self.grid[(j * GRID as i32 + i) as usize];
        let mut offset = [0; 2];
        for (axis, value) in offset.iter_mut().enumerate() {
            let top = at(ix, iy)[axis] * (d - fx) + at(ix + 1, iy)[axis] * fx;
            let bottom = at(ix, iy + 1)[axis] * (d - fx) + at(ix + 1, iy + 1)[axis] * fx;
            *value = (top * (d - fy) + bottom * fy) / (d * d);
        }
        offset
    }
}

/// The grey level at `(sx, sy)` (in `1/POSITION` pixel) of a `side × side` image: bilinear
/// between its four neighbouring pixels, zero outside the frame, rounded to the nearest level.
#[inline(always)]
pub fn sample(image: &[u8], side: u32, sx: i32, sy: i32) -> u8 {
    let (x0, y0) = (sx >> 8, sy >> 8);
    let (fx, fy) = (sx & 255, sy & 255);
    let n = side as i32;
    let at = |x: i32, y: i32| -> i32 {
        if x >= 0 && y >= 0 && x < n && y < n {
            i32::from(image[(y * n + x) as usize])
        } else {
            0
        }
    };
    let top = at(x0, y0) * (256 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (256 - fx) + at(x0 + 1, y0 + 1) * fx;
    ((top * (256 - fy) + bottom * fy + 32768) >> 16) as u8
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
        let fixed = |value: f32, unit: i32| (value * unit as f32).round() as u32;
        NoiseParams {
            shift: fixed(self.augment.shift, POSITION),
            rotate: fixed(self.augment.rotate_radians(), UNIT),
            zoom: fixed(self.augment.scale, UNIT),
            elastic: fixed(self.augment.elastic, POSITION),
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
/// the batch block), in fixed point: the largest shift (`1/POSITION` pixel), rotation
/// (`1/UNIT` radian), relative size change (`1/UNIT`) and elastic offset (`1/POSITION`
/// pixel), the input-dropout threshold (`round(rate·2²⁴)`; 0: none) and the images' side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoiseParams {
    pub shift: u32,
    pub rotate: u32,
    pub zoom: u32,
    pub elastic: u32,
    pub threshold: u32,
    pub side: u32,
}

impl NoiseParams {
    fn warps(&self) -> bool {
        self.shift > 0 || self.rotate > 0 || self.zoom > 0 || self.elastic > 0
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
        warp.shift = [POSITION, 0];
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
        let mut angles = (f64::MAX, f64::MIN);
        let unit = f64::from(UNIT);
        for row in 0..500 {
            let warp = Warp::draw(&noise, keys.warp, row);
            let (sin, cos) = (f64::from(warp.sin) / unit, f64::from(warp.cos) / unit);
            let angle = sin.atan2(cos).to_degrees();
            angles = (angles.0.min(angle), angles.1.max(angle));
            let inv_scale = f64::from(warp.inv_scale) / unit;
            assert!((1.0 / 1.1 - 1e-3..=1.0 / 0.9 + 1e-3).contains(&inv_scale));
            assert!(warp.shift.iter().all(|s| s.abs() <= 2 * POSITION));
            let elastic = 3 * POSITION / 2;
            assert!(warp.grid.iter().flatten().all(|e| e.abs() <= elastic));
            assert!((sin * sin + cos * cos - 1.0).abs() < 1e-3);
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
    fn fixed_point_samples_are_the_bilinear_value_to_within_a_level() {
        let image = digit();
        let strong = InputNoise {
            augment: Augment::new(3.0, 30.0, 0.3, 3.0).expect("bounds"),
            dropout: Dropout::default(),
        }
        .params(28);
        let mut changed = 0;
        for row in 0..50 {
            let warp = Warp::draw(&strong, InputNoise::keys(3, 2, 1).warp, row);
            let mut out = vec![0u8; 784];
            warp.warp_image(&image, 28, &mut out);
            for (k, &level) in out.iter().enumerate() {
                // The float bilinear value at the same position.
                let (sx, sy) = warp.source(k as u32 % 28, k as u32 / 28, 28);
                let (x, y) = (f64::from(sx) / 256.0, f64::from(sy) / 256.0);
                let (x0, y0) = (x.floor(), y.floor());
                let at = |x: f64, y: f64| {
                    let inside = (0.0..28.0).contains(&x) && (0.0..28.0).contains(&y);
                    if inside {
                        f64::from(image[y as usize * 28 + x as usize])
                    } else {
                        0.0
                    }
                };
                let (fx, fy) = (x - x0, y - y0);
                let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
                let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
                let want = top * (1.0 - fy) + bottom * fy;
                assert!(
                    (f64::from(level) - want).abs() <= 0.5 + 1e-9,
                    "row {row} pixel {k}"
                );
                changed += usize::from(level != image[k]);
            }
        }
        assert!(changed > 1000, "{changed}");
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
    fn fixed_point_sines_match_the_library() {
        for i in -100..=100 {
            let a = (i as f64 / 100.0) * 30f64.to_radians();
            let (s, c) = small_sin_cos((a * f64::from(UNIT)).round() as i32);
            let unit = f64::from(UNIT);
            // Fixed-point rounding (1/16384) and the terms left out (< 3e-4 at 30°).
            assert!(
                (f64::from(s) / unit - a.sin()).abs() < 4e-4
                    && (f64::from(c) / unit - a.cos()).abs() < 4e-4,
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
