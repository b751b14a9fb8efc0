//! Output layer and cost together, because the output error `δ = dC/dz` is fused from both:
//!
//! * `mse` (the tutorial's): sigmoid outputs, quadratic cost `C = 1/(2B) Σ (a − y)²`,
//!   `δ = (a − y)/B · a(1 − a)`;
//! * `xent`: softmax outputs (computed with the row maximum subtracted, so no `exp` overflows),
//!   cross-entropy `C = −1/B Σ ln p_label`, `δ = (p − y)/B`.

use crate::ops::activation::fast_sigmoid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Loss {
    #[default]
    Mse,
    Xent,
}

impl Loss {
    pub const ALL: [Loss; 2] = [Loss::Mse, Loss::Xent];

    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Xent => "xent",
        }
    }

    pub fn parse(text: &str) -> crate::Result<Self> {
        super::parse_named("loss", text, &Self::ALL.map(|l| (l.name(), l)))
    }

    /// What the model file and the printed lines call the output layer and cost.
    pub fn describe(self) -> &'static str {
        match self {
            Loss::Mse => "sigmoid outputs, quadratic cost",
            Loss::Xent => "softmax outputs, cross-entropy",
        }
    }

    /// The activation the output layer's forward kernel applies: the sigmoid for the quadratic
    /// cost, none before the softmax.
    pub fn output_activation(self) -> super::Activation {
        match self {
            Loss::Mse => super::Activation::Sigmoid,
            Loss::Xent => super::Activation::Linear,
        }
    }

    /// Turns one row of pre-activations `z` into outputs, in place (fast engine).
    #[inline]
    pub fn outputs_fast(self, row: &mut [f32]) {
        match self {
            Loss::Mse => row.iter_mut().for_each(|z| *z = fast_sigmoid(*z)),
            Loss::Xent => softmax(row),
        }
    }

    /// Turns one row of pre-activations into outputs with libm (single images).
    pub fn outputs_exact(self, row: &mut [f32]) {
        match self {
            Loss::Mse => row.iter_mut().for_each(|z| *z = 1.0 / (1.0 + (-*z).exp())),
            Loss::Xent => softmax(row),
        }
    }

    /// Writes `δ = dC/dz` of one image into `delta` from its outputs `a` and label, with the
    /// batch's `scale = 1/B`, and returns the image's unscaled cost term: `Σ (a − y)²` for mse
    /// (halved and averaged by the caller), `−ln p_label` for xent.
    #[inline]
    pub fn output_error(self, a: &[f32], label: u8, scale: f32, delta: &mut [f32]) -> f64 {
        let label = label as usize;
        match self {
            Loss::Mse => {
                let mut sum = 0.0f64;
                for (j, (d, &a)) in delta.iter_mut().zip(a).enumerate() {
                    let diff = a - if j == label { 1.0 } else { 0.0 };
                    sum += f64::from(diff * diff);
                    *d = diff * scale * a * (1.0 - a);
                }
                sum
            }
            Loss::Xent => {
                for (j, (d, &p)) in delta.iter_mut().zip(a).enumerate() {
                    *d = (p - if j == label { 1.0 } else { 0.0 }) * scale;
                }
                // A probability that underflowed to 0 costs ln of the smallest normal (87.3).
                -f64::from(a[label].max(f32::MIN_POSITIVE)).ln()
            }
        }
    }

    /// The batch cost from the sum of [`Loss::output_error`]'s terms over `rows` images.
    pub fn batch_cost(self, sum: f64, rows: usize) -> f64 {
        match self {
            Loss::Mse => sum / (2.0 * rows as f64),
            Loss::Xent => sum / rows as f64,
        }
    }

    /// Outputs of one row of pre-activations in f64 (reference).
    pub fn outputs_f64(self, z: &[f64]) -> Vec<f64> {
        match self {
            Loss::Mse => z.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect(),
            Loss::Xent => {
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = z.iter().map(|&z| (z - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                exps.iter().map(|e| e / sum).collect()
            }
        }
    }

    /// One image's cost (not divided by the batch) and `dC/dz` (divided by `batch`), in f64.
    pub fn error_f64(self, a: &[f64], label: u8, batch: f64) -> (f64, Vec<f64>) {
        let y = |j: usize| if j == label as usize { 1.0 } else { 0.0 };
        match self {
            Loss::Mse => {
                let cost = a
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (a - y(j)).powi(2))
                    .sum::<f64>()
                    / 2.0;
                let delta = a
                    .iter()
                    .enumerate()
                    .map(|(j, &a)| (a - y(j)) / batch * a * (1.0 - a))
                    .collect();
                (cost, delta)
            }
            Loss::Xent => {
                let cost = -a[label as usize].ln();
                let delta = a
                    .iter()
                    .enumerate()
                    .map(|(j, &p)| (p - y(j)) / batch)
                    .collect();
                (cost, delta)
            }
        }
    }
}

/// Softmax of one row in place, with the row maximum subtracted first.
#[inline]
pub fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for z in row.iter_mut() {
        *z = (*z - max).exp();
        sum += *z;
    }
    let inverse = 1.0 / sum;
    for p in row.iter_mut() {
        *p *= inverse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let mut row = [1000.0f32, 999.0, -1000.0, 0.0];
        softmax(&mut row);
        assert!(row.iter().all(|p| p.is_finite()));
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let want = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((f64::from(row[0]) - want).abs() < 1e-6);
        let reference = Loss::Xent.outputs_f64(&[1000.0, 999.0, -1000.0, 0.0]);
        for (got, want) in row.iter().zip(&reference) {
            assert!((f64::from(*got) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn names_round_trip() {
        for l in Loss::ALL {
            assert_eq!(Loss::parse(l.name()).expect("known"), l);
        }
        assert!(Loss::parse("hinge").is_err());
    }
}
