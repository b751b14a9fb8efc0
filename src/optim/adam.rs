//! Adam (Kingma & Ba): `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`,
//! `p −= lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`.

use super::{OptimizerSettings, Rule, Setting, StepScalars};
use crate::ops::real::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

impl Rule for Adam {
    const NAME: &'static str = "adam";
    const ABOUT: &'static str = "bias-corrected first and second moments (Kingma & Ba)";
    const MOMENTS: usize = 2;
    const SETTINGS: &'static [Setting] = &[Setting::Beta1, Setting::Beta2, Setting::Eps];
    const BIAS_CORRECTED: bool = true;
    fn from_settings(s: &OptimizerSettings) -> Self {
        Adam {
            beta1: s.beta1,
            beta2: s.beta2,
            eps: s.eps,
        }
    }
    fn settings(self, s: &mut OptimizerSettings) {
        (s.beta1, s.beta2, s.eps) = (self.beta1, self.beta2, self.eps);
    }
    fn describe(self) -> String {
        format!(
            "adam (beta1 {}, beta2 {}, eps {})",
            self.beta1, self.beta2, self.eps
        )
    }
    #[inline(always)]
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, v: &mut R) {
        let one = R::from_f64(1.0);
        let (beta1, beta2) = (
            R::from_f64(self.beta1.into()),
            R::from_f64(self.beta2.into()),
        );
        *m = beta1 * *m + (one - beta1) * g;
        *v = beta2 * *v + (one - beta2) * g * g;
        let m_hat = *m * k.correction1;
        let v_hat = *v * k.correction2;
        *p = *p - k.lr * m_hat / (v_hat.sqrt() + R::from_f64(self.eps.into()));
    }
    const WGSL: &'static str = "
    *m = layer.beta1 * *m + (1.0 - layer.beta1) * g;
    *v = layer.beta2 * *v + (1.0 - layer.beta2) * g * g;
    let m_hat = *m * batch.correction1;
    let v_hat = *v * batch.correction2;
    return p - lr * m_hat / (sqrt(v_hat) + layer.eps);";
}
