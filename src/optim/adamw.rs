//! AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, `p −= lr·λ·p` first.

use super::{Adam, OptimizerSettings, Rule, Setting, StepScalars};
use crate::ops::real::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    pub adam: Adam,
    pub weight_decay: f32,
}

impl Rule for AdamW {
    const NAME: &'static str = "adamw";
    const ABOUT: &'static str = "adam with decoupled weight decay (Loshchilov & Hutter)";
    const MOMENTS: usize = 2;
    const SETTINGS: &'static [Setting] = &[
        Setting::Beta1,
        Setting::Beta2,
        Setting::Eps,
        Setting::WeightDecay,
    ];
    const BIAS_CORRECTED: bool = true;
    fn from_settings(s: &OptimizerSettings) -> Self {
        AdamW {
            adam: Adam::from_settings(s),
            weight_decay: s.weight_decay,
        }
    }
    fn settings(self, s: &mut OptimizerSettings) {
        self.adam.settings(s);
        s.weight_decay = self.weight_decay;
    }
    fn describe(self) -> String {
        let a = self.adam;
        format!(
            "adamw (beta1 {}, beta2 {}, eps {}, weight decay {})",
            a.beta1, a.beta2, a.eps, self.weight_decay
        )
    }
    #[inline(always)]
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, v: &mut R) {
        *p = *p - k.lr * R::from_f64(self.weight_decay.into()) * *p;
        self.adam.update(k, p, g, m, v);
    }
    const WGSL: &'static str = "
    return optimizer_update_adam(p - lr * layer.weight_decay * p, g, m, v);";
}
