//! Plain stochastic gradient descent, the tutorial's: `p −= lr·g`.

use super::{OptimizerSettings, Rule, Setting, StepScalars};
use crate::ops::real::Real;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sgd;

impl Rule for Sgd {
    const NAME: &'static str = "sgd";
    const ABOUT: &'static str = "p -= lr g (the tutorial's)";
    const MOMENTS: usize = 0;
    const SETTINGS: &'static [Setting] = &[];
    fn from_settings(_: &OptimizerSettings) -> Self {
        Sgd
    }
    fn settings(self, _: &mut OptimizerSettings) {}
    fn describe(self) -> String {
        Self::NAME.into()
    }
    #[inline(always)]
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, _: &mut R, _: &mut R) {
        *p = *p - k.lr * g;
    }
    const WGSL: &'static str = "return p - lr * g;";
}
