//! Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of an
//! interpolated momentum, one state slot. `c = β₁m + (1−β₁)g`,
//! `p −= lr·(sign(c) + λp)`, then `m = β₂m + (1−β₂)g`. Every step moves each parameter by
//! ±lr, so it wants a rate 3–10× below Adam's.

use super::{OptimizerSettings, Rule, Setting, StepScalars};
use crate::ops::real::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lion {
    pub beta1: f32,
    pub beta2: f32,
    pub weight_decay: f32,
}

impl Rule for Lion {
    const NAME: &'static str = "lion";
    const ABOUT: &'static str = "p -= lr (sign(b1 m + (1 - b1) g) + wd p) (Chen et al.)";
    const MOMENTS: usize = 1;
    const SETTINGS: &'static [Setting] = &[Setting::Beta1, Setting::Beta2, Setting::WeightDecay];
    /// The paper's β₂ = 0.99, and no weight decay unless asked for.
    fn defaults(s: &mut OptimizerSettings) {
        s.beta2 = 0.99;
        s.weight_decay = 0.0;
    }
    fn from_settings(s: &OptimizerSettings) -> Self {
        Lion {
            beta1: s.beta1,
            beta2: s.beta2,
            weight_decay: s.weight_decay,
        }
    }
    fn settings(self, s: &mut OptimizerSettings) {
        (s.beta1, s.beta2, s.weight_decay) = (self.beta1, self.beta2, self.weight_decay);
    }
    fn describe(self) -> String {
        format!(
            "lion (beta1 {}, beta2 {}, weight decay {})",
            self.beta1, self.beta2, self.weight_decay
        )
    }
    #[inline(always)]
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, _: &mut R) {
        let one = R::from_f64(1.0);
        let (beta1, beta2) = (
            R::from_f64(self.beta1.into()),
            R::from_f64(self.beta2.into()),
        );
        let c = beta1 * *m + (one - beta1) * g;
        *p = *p - k.lr * (c.sign() + R::from_f64(self.weight_decay.into()) * *p);
        *m = beta2 * *m + (one - beta2) * g;
    }
    const WGSL: &'static str = "
    let c = layer.beta1 * *m + (1.0 - layer.beta1) * g;
    *m = layer.beta2 * *m + (1.0 - layer.beta2) * g;
    return p - lr * (sign(c) + layer.weight_decay * p);";
}
