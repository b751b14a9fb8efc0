//! What happens to an image before the network sees it, at training and at inference alike:
//! nothing, or deskewing, the classic MNIST preprocessing (LeCun et al. 1998 list their
//! classifiers with and without it).
//!
//! Deskewing shears each image along its rows so that its ink's principal axis stands upright
//! (the covariance of the ink's row and column becomes zero) and moves the ink's centre of mass
//! to the image's centre, resampling bilinearly. Slanted writing then looks like upright
//! writing, which a fully connected network, seeing pixels rather than strokes, cannot learn
//! for itself from a few examples.
//!
//! It is part of the network: the model file records it, and every path that feeds the
//! network (training, `eval`, `predict`, `serve`, the page) applies it through this module. It
//! runs once per image on the CPU in f64 with no fused operations, so every machine (and the
//! WebAssembly build) computes the same levels.

use crate::data::{Dataset, Mnist};

/// The preprocessing of a network's input images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preprocess {
    /// The images as they are.
    #[default]
    None,
    /// Sheared upright and centred by their ink's moments.
    Deskew,
}

impl Preprocess {
    pub const ALL: [Preprocess; 2] = [Preprocess::None, Preprocess::Deskew];

    /// The name the CLI and the model file use.
    pub fn name(self) -> &'static str {
        match self {
            Preprocess::None => "none",
            Preprocess::Deskew => "deskew",
        }
    }

    /// How a network's description names it (`deskewed inputs`); none for the images as they
    /// are.
    pub fn describe(self) -> Option<&'static str> {
        match self {
            Preprocess::None => None,
            Preprocess::Deskew => Some("deskewed inputs"),
        }
    }

    pub fn parse(text: &str) -> crate::Result<Preprocess> {
        let names: Vec<(&str, Preprocess)> = Self::ALL.iter().map(|p| (p.name(), *p)).collect();
        super::parse_named("preprocessing", text, &names)
    }

    /// `input` (one image of `rows × cols` values, any scale) as the network sees it.
    pub fn apply(self, input: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        match self {
            Preprocess::None => input.to_vec(),
            Preprocess::Deskew => {
                let values: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
                deskew(&values, rows, cols)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect()
            }
        }
    }

    /// Every image of `set`, preprocessed and rounded back to grey levels (natively on every
    /// core: each image on its own, so the result does not depend on how they are shared).
    pub fn apply_to_set(self, set: &mut Dataset) {
        if self == Preprocess::None || set.pixels() == 0 {
            return;
        }
        let (rows, cols) = (set.rows, set.cols);
        let deskew_all = |images: &mut [u8]| {
            for image in images.chunks_exact_mut(rows * cols) {
                let values: Vec<f64> = image.iter().map(|&v| f64::from(v)).collect();
                for (level, value) in image.iter_mut().zip(deskew(&values, rows, cols)) {
                    *level = value.round().clamp(0.0, 255.0) as u8;
                }
            }
        };
        #[cfg(feature = "native")]
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The page's WebAssembly runs on one thread.
        #[cfg(not(feature = "native"))]
        let threads = 1;
        if threads < 2 {
            deskew_all(&mut set.images);
            return;
        }
        let share = set.len().div_ceil(threads) * rows * cols;
        std::thread::scope(|scope| {
            for images in set.images.chunks_mut(share) {
                scope.spawn(|| deskew_all(images));
            }
        });
    }

    /// Both splits of `data`, preprocessed.
    pub fn apply_to_data(self, data: &mut Mnist) {
        self.apply_to_set(&mut data.train);
        self.apply_to_set(&mut data.test);
    }
}

/// `image` (`rows × cols`, row-major, non-negative) sheared upright and centred. A blank image,
/// or one whose ink lies on a single row, comes back unchanged.
pub fn deskew(image: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let ink: f64 = image.iter().sum();
    if ink.is_nan() || ink <= 0.0 {
        return image.to_vec();
    }
    let image_rows = || image.chunks_exact(cols).enumerate();
    let (mut mean_r, mut mean_c) = (0.0, 0.0);
    for (r, row) in image_rows() {
        for (c, &v) in row.iter().enumerate() {
            mean_r += r as f64 * v;
            mean_c += c as f64 * v;
        }
    }
    let (mean_r, mean_c) = (mean_r / ink, mean_c / ink);
    let (mut var_r, mut cov) = (0.0, 0.0);
    for (r, row) in image_rows() {
        let dr = r as f64 - mean_r;
        for (c, &v) in row.iter().enumerate() {
            let dc = c as f64 - mean_c;
            var_r += dr * dr * v;
            cov += dr * dc * v;
        }
    }
    if var_r <= 1e-12 * ink {
        return image.to_vec();
    }
    // Output pixel (r, c) reads the source at row r + (mean_r − centre_r) and column
    // c + (mean_c − centre_c) + slant · (r − centre_r): the shear that removes the covariance,
    // about the centre, with the centre of mass moved there. The row offset is the same for
    // the whole image and the column offset the same along a row, so each has one fraction.
    let slant = cov / var_r;
    let (centre_r, centre_c) = (rows as f64 / 2.0, cols as f64 / 2.0);
    // Offsets beyond the image read only zeros; clamped so the index arithmetic stays small.
    let split = |offset: f64, side: usize| {
        let whole = offset.floor();
        let reach = (side + 2) as f64;
        (whole.clamp(-reach, reach) as isize, offset - whole)
    };
    // A source row, or none above or below the image (all zeros).
    let source_row = |r: isize| {
        usize::try_from(r)
            .ok()
            .filter(|&r| r < rows)
            .map(|r| &image[r * cols..(r + 1) * cols])
    };
    let pixel = |row: Option<&[f64]>, c: isize| match (row, usize::try_from(c)) {
        (Some(row), Ok(c)) => row.get(c).copied().unwrap_or(0.0),
        _ => 0.0,
    };
    let (shift_r, fraction_r) = split(mean_r - centre_r, rows);
    let mut out = vec![0.0; rows * cols];
    for (r, row) in out.chunks_exact_mut(cols).enumerate() {
        let top = r as isize + shift_r;
        let (upper_row, lower_row) = (source_row(top), source_row(top + 1));
        if upper_row.is_none() && lower_row.is_none() {
            // Every term below is a zero pixel times a weight: the row stays 0.
            continue;
        }
        let (shift_c, fraction_c) = split(mean_c - centre_c + slant * (r as f64 - centre_r), cols);
        for (c, value) in row.iter_mut().enumerate() {
            let left = c as isize + shift_c;
            let upper = (1.0 - fraction_c) * pixel(upper_row, left)
                + fraction_c * pixel(upper_row, left + 1);
            let lower = (1.0 - fraction_c) * pixel(lower_row, left)
                + fraction_c * pixel(lower_row, left + 1);
            *value = (1.0 - fraction_r) * upper + fraction_r * lower;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moments of an image: (mean row, mean column, row variance, row–column covariance).
    fn moments(image: &[f64], rows: usize, cols: usize) -> (f64, f64, f64, f64) {
        let ink: f64 = image.iter().sum();
        let mut m = [0.0; 4];
        for r in 0..rows {
            for c in 0..cols {
                let v = image[r * cols + c];
                m[0] += r as f64 * v / ink;
                m[1] += c as f64 * v / ink;
            }
        }
        for r in 0..rows {
            for c in 0..cols {
                let v = image[r * cols + c];
                let (dr, dc) = (r as f64 - m[0], c as f64 - m[1]);
                m[2] += dr * dr * v / ink;
                m[3] += dr * dc * v / ink;
            }
        }
        (m[0], m[1], m[2], m[3])
    }

    /// A slanted bar: one pixel per row, leaning right by `lean` columns per row.
    fn slanted_bar(rows: usize, cols: usize, lean: f64) -> Vec<f64> {
        let mut image = vec![0.0; rows * cols];
        for r in 4..rows - 4 {
            let c = (cols as f64 / 2.0 + lean * (r as f64 - rows as f64 / 2.0)).round() as usize;
            image[r * cols + c] = 200.0;
            image[r * cols + c + 1] = 120.0;
        }
        image
    }

    #[test]
    fn a_slanted_bar_comes_out_upright_and_centred() {
        for (rows, cols) in [(28, 28), (20, 31)] {
            let bar = slanted_bar(rows, cols, -0.4);
            let (_, _, var_before, cov_before) = moments(&bar, rows, cols);
            assert!(cov_before.abs() > 0.2 * var_before, "the fixture leans");
            let upright = deskew(&bar, rows, cols);
            let (mean_r, mean_c, var_r, cov) = moments(&upright, rows, cols);
            // Resampling spreads ink over neighbours, so the moments move by a fraction of a
            // pixel, not to exactly zero.
            assert!(
                cov.abs() < 0.05 * var_r,
                "{rows}x{cols}: covariance {cov} of {var_r}"
            );
            assert!(
                (mean_r - rows as f64 / 2.0).abs() < 0.3,
                "row centre {mean_r}"
            );
            assert!(
                (mean_c - cols as f64 / 2.0).abs() < 0.3,
                "column centre {mean_c}"
            );
            let ink_before: f64 = bar.iter().sum();
            let ink_after: f64 = upright.iter().sum();
            assert!((ink_after / ink_before - 1.0).abs() < 0.02, "ink is kept");
        }
    }

    #[test]
    fn an_upright_centred_image_is_unchanged_and_blank_ones_pass_through() {
        let (rows, cols) = (28, 28);
        // Symmetric about the centre in both directions: no covariance, centred at (14, 14).
        let mut cross = vec![0.0; rows * cols];
        for i in 8..21 {
            cross[i * cols + 14] = 255.0;
            cross[14 * cols + i] = 255.0;
        }
        assert_eq!(deskew(&cross, rows, cols), cross);
        let blank = vec![0.0; rows * cols];
        assert_eq!(deskew(&blank, rows, cols), blank);
        let mut line = vec![0.0; rows * cols];
        line[5 * cols..6 * cols].fill(9.0);
        assert_eq!(
            deskew(&line, rows, cols),
            line,
            "ink on one row has no slant"
        );
    }

    #[test]
    fn grey_levels_and_inputs_are_deskewed_alike() {
        let (rows, cols) = (28, 28);
        let bar = slanted_bar(rows, cols, 0.3);
        let mut set = Dataset {
            images: bar.iter().map(|&v| v as u8).collect(),
            labels: vec![1],
            rows,
            cols,
        };
        Preprocess::Deskew.apply_to_set(&mut set);
        let input: Vec<f32> = bar.iter().map(|&v| v as f32 / 255.0).collect();
        let seen = Preprocess::Deskew.apply(&input, rows, cols);
        for (level, value) in set.images.iter().zip(&seen) {
            // The set is rounded to whole levels: half a level apart at most.
            assert!((f32::from(*level) / 255.0 - value).abs() <= 0.5 / 255.0 + 1e-6);
        }
        assert_ne!(
            set.images,
            bar.iter().map(|&v| v as u8).collect::<Vec<u8>>()
        );
        let mut untouched = set.clone();
        Preprocess::None.apply_to_set(&mut untouched);
        assert_eq!(untouched, set);
        assert_eq!(Preprocess::None.apply(&input, rows, cols), input);
    }

    #[test]
    fn a_set_is_deskewed_image_by_image_however_it_is_shared() {
        let (rows, cols) = (28, 28);
        let leans = [-0.5, -0.3, -0.1, 0.0, 0.2, 0.35, 0.5];
        let images: Vec<u8> = leans
            .iter()
            .flat_map(|&lean| slanted_bar(rows, cols, lean))
            .map(|v| v as u8)
            .collect();
        let mut set = Dataset {
            images: images.clone(),
            labels: vec![0; leans.len()],
            rows,
            cols,
        };
        Preprocess::Deskew.apply_to_set(&mut set);
        for (i, image) in images.chunks_exact(rows * cols).enumerate() {
            let mut one = Dataset {
                images: image.to_vec(),
                labels: vec![0],
                rows,
                cols,
            };
            Preprocess::Deskew.apply_to_set(&mut one);
            assert_eq!(one.images, set.image(i), "image {i}");
        }
    }

    #[test]
    fn names_round_trip() {
        for p in Preprocess::ALL {
            assert_eq!(Preprocess::parse(p.name()).expect("parses"), p);
        }
        assert!(Preprocess::parse("deslant").is_err());
    }
}
