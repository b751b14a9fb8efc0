//! SGD with momentum: `v = μv + g`, `p −= lr·v`, or with Nesterov `p −= lr·(g + μv)`
//! (PyTorch's form).

use super::{OptimizerSettings, Rule, Setting, StepScalars};
use crate::ops::real::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Momentum {
    pub momentum: f32,
    pub nesterov: bool,
}

impl Rule for Momentum {
    const NAME: &'static str = "momentum";
    const ABOUT: &'static str = "v = mu v + g; p -= lr v (or lr (g + mu v) with --nesterov)";
    const MOMENTS: usize = 1;
    const SETTINGS: &'static [Setting] = &[Setting::Momentum, Setting::Nesterov];
    fn from_settings(s: &OptimizerSettings) -> Self {
        Momentum {
            momentum: s.momentum,
            nesterov: s.nesterov,
        }
    }
    fn settings(self, s: &mut OptimizerSettings) {
        s.momentum = self.momentum;
        s.nesterov = self.nesterov;
    }
    fn describe(self) -> String {
        let nesterov = if self.nesterov { " (Nesterov)" } else { "" };
        format!("momentum {}{nesterov}", self.momentum)
    }
    #[inline(always)]
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, _: &mut R) {
        let mu = R::from_f64(f64::from(self.momentum));
        *m = mu * *m + g;
        let step = if self.nesterov { g + mu * *m } else { *m };
        *p = *p - k.lr * step;
    }
    const WGSL: &'static str = "
    *m = layer.momentum * *m + g;
    var step = *m;
    if layer.nesterov != 0u {
        step = g + layer.momentum * *m;
    }
    return p - lr * step;";
}
