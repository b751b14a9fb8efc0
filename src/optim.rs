//! Optimisers and learning-rate schedules, described once for every engine.
//!
//! An [`Optimizer`] says how one parameter moves given its gradient and its state;
//! [`Optimizer::update`] is that rule for one element (the CPU engine maps it over a tensor, the
//! WGSL kernel is its twin), and [`OptimizerState`] holds the moments and the step count, saved
//! in model files so a resumed run continues exactly.
//!
//! * `sgd`: `p −= lr·g` (the tutorial's);
//! * `momentum`: `v = μv + g`, `p −= lr·v`, or with Nesterov `p −= lr·(g + μv)` (PyTorch's form);
//! * `adam`: `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`,
//!   `p −= lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`;
//! * `adamw`: adam with decoupled weight decay `p −= lr·λ·p` first (Loshchilov & Hutter).

use crate::ops::parse_named;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Optimizer {
    #[default]
    Sgd,
    Momentum {
        momentum: f32,
        nesterov: bool,
    },
    Adam {
        beta1: f32,
        beta2: f32,
        eps: f32,
    },
    AdamW {
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
    },
}

/// The settings an optimiser may use, before its kind is chosen (CLI flags, model metadata).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerSettings {
    pub momentum: f32,
    pub nesterov: bool,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl Default for OptimizerSettings {
    /// PyTorch's defaults (momentum 0.9 as most recipes set it; AdamW's decay 0.01).
    fn default() -> Self {
        OptimizerSettings {
            momentum: 0.9,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Per-step scalars of an update, computed once per step (on the GPU: one uniform).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepScalars {
    pub lr: f32,
    /// `1/(1 − β₁ᵗ)` and `1/(1 − β₂ᵗ)` (Adam's bias corrections; 1 otherwise).
    pub correction1: f32,
    pub correction2: f32,
}

impl Optimizer {
    pub const NAMES: [&'static str; 4] = ["sgd", "momentum", "adam", "adamw"];

    pub fn from_name(name: &str, s: OptimizerSettings) -> Result<Self> {
        let kind = parse_named(
            "optimizer",
            name,
            &[("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 3)],
        )?;
        let optimizer = match kind {
            0 => Optimizer::Sgd,
            1 => Optimizer::Momentum {
                momentum: s.momentum,
                nesterov: s.nesterov,
            },
            2 => Optimizer::Adam {
                beta1: s.beta1,
                beta2: s.beta2,
                eps: s.eps,
            },
            _ => Optimizer::AdamW {
                beta1: s.beta1,
                beta2: s.beta2,
                eps: s.eps,
                weight_decay: s.weight_decay,
            },
        };
        optimizer.validate()?;
        Ok(optimizer)
    }

    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Adam { .. } => "adam",
            Optimizer::AdamW { .. } => "adamw",
        }
    }

    /// Its settings, the unused ones at their defaults.
    pub fn settings(self) -> OptimizerSettings {
        let mut s = OptimizerSettings::default();
        match self {
            Optimizer::Sgd => {}
            Optimizer::Momentum { momentum, nesterov } => {
                s.momentum = momentum;
                s.nesterov = nesterov;
            }
            Optimizer::Adam { beta1, beta2, eps } => {
                (s.beta1, s.beta2, s.eps) = (beta1, beta2, eps);
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                (s.beta1, s.beta2, s.eps, s.weight_decay) = (beta1, beta2, eps, weight_decay);
            }
        }
        s
    }

    /// `adam (β₁ 0.9, β₂ 0.999, ε 1e-8)` for printed lines.
    pub fn describe(self) -> String {
        match self {
            Optimizer::Sgd => "sgd".into(),
            Optimizer::Momentum { momentum, nesterov } => format!(
                "momentum {momentum}{}",
                if nesterov { " (Nesterov)" } else { "" }
            ),
            Optimizer::Adam { beta1, beta2, eps } => {
                format!("adam (beta1 {beta1}, beta2 {beta2}, eps {eps})")
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => format!(
                "adamw (beta1 {beta1}, beta2 {beta2}, eps {eps}, weight decay {weight_decay})"
            ),
        }
    }

    fn validate(self) -> Result<()> {
        let s = self.settings();
        let unit = |name: &str, x: f32| -> Result<()> {
            if (0.0..1.0).contains(&x) {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{name} must be at least 0 and below 1, got {x}"
                )))
            }
        };
        unit("--momentum", s.momentum)?;
        unit("--beta1", s.beta1)?;
        unit("--beta2", s.beta2)?;
        if !(s.eps.is_finite() && s.eps > 0.0) {
            return Err(Error::Config(format!(
                "--eps must be a positive number, got {}",
                s.eps
            )));
        }
        if !(s.weight_decay.is_finite() && s.weight_decay >= 0.0) {
            return Err(Error::Config(format!(
                "--weight-decay must be 0 or more, got {}",
                s.weight_decay
            )));
        }
        Ok(())
    }

    /// State slots per parameter: 0 (sgd), 1 (momentum's velocity), 2 (adam's moments).
    pub fn moments(self) -> usize {
        match self {
            Optimizer::Sgd => 0,
            Optimizer::Momentum { .. } => 1,
            Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2,
        }
    }

    /// The scalars of step number `t` (counting from 1) at learning rate `lr`.
    pub fn scalars(self, lr: f32, t: u64) -> StepScalars {
        let (correction1, correction2) = match self {
            Optimizer::Adam { beta1, beta2, .. } | Optimizer::AdamW { beta1, beta2, .. } => {
                let t = t.min(i32::MAX as u64) as i32;
                (
                    (1.0 / (1.0 - f64::from(beta1).powi(t))) as f32,
                    (1.0 / (1.0 - f64::from(beta2).powi(t))) as f32,
                )
            }
            _ => (1.0, 1.0),
        };
        StepScalars {
            lr,
            correction1,
            correction2,
        }
    }

    /// One element's update: parameter `p`, gradient `g`, state `m` and `v` (unused slots are
    /// left alone).
    #[inline(always)]
    pub fn update(self, k: StepScalars, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) {
        match self {
            Optimizer::Sgd => *p -= k.lr * g,
            Optimizer::Momentum { momentum, nesterov } => {
                *m = momentum * *m + g;
                let step = if nesterov { g + momentum * *m } else { *m };
                *p -= k.lr * step;
            }
            Optimizer::Adam { beta1, beta2, eps } => {
                adam(k, beta1, beta2, eps, p, g, m, v);
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                *p -= k.lr * weight_decay * *p;
                adam(k, beta1, beta2, eps, p, g, m, v);
            }
        }
    }

    /// The same rule in f64, for the reference.
    #[allow(clippy::too_many_arguments)]
    pub fn update_f64(self, lr: f64, t: u64, p: &mut f64, g: f64, m: &mut f64, v: &mut f64) {
        match self {
            Optimizer::Sgd => *p -= lr * g,
            Optimizer::Momentum { momentum, nesterov } => {
                let mu = f64::from(momentum);
                *m = mu * *m + g;
                *p -= lr * if nesterov { g + mu * *m } else { *m };
            }
            Optimizer::Adam { beta1, beta2, eps }
            | Optimizer::AdamW {
                beta1, beta2, eps, ..
            } => {
                if let Optimizer::AdamW { weight_decay, .. } = self {
                    *p -= lr * f64::from(weight_decay) * *p;
                }
                let (b1, b2) = (f64::from(beta1), f64::from(beta2));
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                let t = t as i32;
                let m_hat = *m / (1.0 - b1.powi(t));
                let v_hat = *v / (1.0 - b2.powi(t));
                *p -= lr * m_hat / (v_hat.sqrt() + f64::from(eps));
            }
        }
    }
}

/// Adam's rule for one element (AdamW's decay applied before it by the caller).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn adam(
    k: StepScalars,
    beta1: f32,
    beta2: f32,
    eps: f32,
    p: &mut f32,
    g: f32,
    m: &mut f32,
    v: &mut f32,
) {
    *m = beta1 * *m + (1.0 - beta1) * g;
    *v = beta2 * *v + (1.0 - beta2) * g * g;
    let m_hat = *m * k.correction1;
    let v_hat = *v * k.correction2;
    *p -= k.lr * m_hat / (v_hat.sqrt() + eps);
}

/// An optimiser's state: the step count and, per parameter tensor (layer 0's weights, layer 0's
/// biases, layer 1's weights, ...), its first and second moments (empty when unused).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    pub steps: u64,
    pub first: Vec<Vec<f32>>,
    pub second: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// Zero moments for tensors of `lens` elements.
    pub fn new(optimizer: Optimizer, lens: &[usize]) -> Self {
        let slots = |used: bool| -> Vec<Vec<f32>> {
            if used {
                lens.iter().map(|&n| vec![0.0; n]).collect()
            } else {
                Vec::new()
            }
        };
        OptimizerState {
            steps: 0,
            first: slots(optimizer.moments() >= 1),
            second: slots(optimizer.moments() >= 2),
        }
    }

    /// `saved` checked against the optimiser and tensor sizes (a resumed run), or zero moments.
    pub fn resume_or_new(
        saved: Option<Self>,
        optimizer: Optimizer,
        lens: &[usize],
    ) -> Result<Self> {
        match saved {
            Some(state) => {
                state.check(optimizer, lens)?;
                Ok(state)
            }
            None => Ok(OptimizerState::new(optimizer, lens)),
        }
    }

    /// Checks a saved state against the optimiser and tensor sizes it is used with.
    pub fn check(&self, optimizer: Optimizer, lens: &[usize]) -> Result<()> {
        let fits = |slots: &Vec<Vec<f32>>, used: bool| -> bool {
            if used {
                slots.len() == lens.len() && slots.iter().zip(lens).all(|(s, &n)| s.len() == n)
            } else {
                slots.is_empty()
            }
        };
        if fits(&self.first, optimizer.moments() >= 1)
            && fits(&self.second, optimizer.moments() >= 2)
        {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "the saved optimiser state does not fit {} on this network",
                optimizer.name()
            )))
        }
    }
}

/// How the learning rate changes over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LrSchedule {
    /// The same rate throughout (the tutorial's).
    #[default]
    Constant,
    /// Multiplied by `gamma` every `every` rounds.
    Step { every: usize, gamma: f32 },
    /// Half a cosine from the base rate to 0 at the end of the last round.
    Cosine,
}

impl LrSchedule {
    pub const NAMES: [&'static str; 3] = ["constant", "step", "cosine"];

    pub fn from_name(name: &str, every: usize, gamma: f32) -> Result<Self> {
        let kind = parse_named(
            "schedule",
            name,
            &[("constant", 0), ("step", 1), ("cosine", 2)],
        )?;
        Ok(match kind {
            0 => LrSchedule::Constant,
            1 => {
                if every == 0 || !(gamma.is_finite() && gamma > 0.0) {
                    return Err(Error::Config(format!(
                        "the step schedule needs --lr-step-rounds ≥ 1 and --lr-gamma > 0, got {every} and {gamma}"
                    )));
                }
                LrSchedule::Step { every, gamma }
            }
            _ => LrSchedule::Cosine,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Step { .. } => "step",
            LrSchedule::Cosine => "cosine",
        }
    }

    pub fn describe(self) -> String {
        match self {
            LrSchedule::Step { every, gamma } => format!("step (×{gamma} every {every} rounds)"),
            other => other.name().into(),
        }
    }
}

/// The learning rate of every step of a run: base rate, schedule, linear warm-up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrPlan {
    pub base: f32,
    pub schedule: LrSchedule,
    /// Rounds of linear warm-up from ~0 to the base rate (fractions allowed).
    pub warmup: f64,
    /// The run's last round (cosine ends there).
    pub rounds: usize,
}

impl LrPlan {
    pub fn constant(lr: f32) -> Self {
        LrPlan {
            base: lr,
            schedule: LrSchedule::Constant,
            warmup: 0.0,
            rounds: 1,
        }
    }

    /// The rate of batch `batch` (from 0) of `batches` in round `round` (from 1). The constant
    /// schedule without warm-up returns the base rate itself, bit for bit.
    pub fn lr(&self, round: usize, batch: usize, batches: usize) -> f32 {
        if self.schedule == LrSchedule::Constant && self.warmup <= 0.0 {
            return self.base;
        }
        let batches = batches.max(1) as f64;
        // Rounds done when this step ends, counted in fractions of a round.
        let done = (round as f64 - 1.0) + (batch as f64 + 1.0) / batches;
        let base = f64::from(self.base);
        let scheduled = match self.schedule {
            LrSchedule::Constant => base,
            LrSchedule::Step { every, gamma } => {
                base * f64::from(gamma).powi(((round - 1) / every.max(1)) as i32)
            }
            LrSchedule::Cosine => {
                let span = (self.rounds as f64 - self.warmup).max(1e-9);
                let progress = ((done - 1.0 / batches - self.warmup) / span).clamp(0.0, 1.0);
                base * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        };
        let warm = if done < self.warmup {
            done / self.warmup
        } else {
            1.0
        };
        (scheduled * warm) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_shape_the_rate() {
        let constant = LrPlan::constant(0.1);
        assert_eq!(constant.lr(7, 3, 10), 0.1);
        let step = LrPlan {
            base: 1.0,
            schedule: LrSchedule::Step {
                every: 2,
                gamma: 0.5,
            },
            warmup: 0.0,
            rounds: 6,
        };
        assert_eq!(step.lr(1, 0, 4), 1.0);
        assert_eq!(step.lr(2, 3, 4), 1.0);
        assert_eq!(step.lr(3, 0, 4), 0.5);
        assert_eq!(step.lr(6, 0, 4), 0.25);
        let cosine = LrPlan {
            base: 1.0,
            schedule: LrSchedule::Cosine,
            warmup: 1.0,
            rounds: 5,
        };
        // Warm-up: linear over the first round's 4 batches.
        assert!((cosine.lr(1, 0, 4) - 0.25).abs() < 1e-7);
        assert!((cosine.lr(1, 3, 4) - 1.0).abs() < 1e-7);
        // Half-way through the cosine part (rounds 2..=5): half the rate.
        assert!((cosine.lr(4, 0, 4) - 0.5).abs() < 1e-6);
        assert!(cosine.lr(5, 3, 4) < 0.02);
    }

    #[test]
    fn f32_update_matches_f64_update() {
        let s = OptimizerSettings::default();
        for name in Optimizer::NAMES {
            for nesterov in [false, true] {
                let opt = Optimizer::from_name(name, OptimizerSettings { nesterov, ..s })
                    .expect("optimizer");
                let (mut p, mut m, mut v) = (0.3f32, 0.0f32, 0.0f32);
                let (mut p64, mut m64, mut v64) = (0.3f64, 0.0f64, 0.0f64);
                for t in 1..=50u64 {
                    let g = ((t as f32) * 0.7).sin() * 0.01;
                    opt.update(opt.scalars(0.01, t), &mut p, g, &mut m, &mut v);
                    opt.update_f64(0.01, t, &mut p64, f64::from(g), &mut m64, &mut v64);
                }
                // 50 steps of f32 arithmetic on values near 0.3: a few ulps each.
                assert!((f64::from(p) - p64).abs() < 1e-5, "{name}: {p} vs {p64}");
            }
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let s = OptimizerSettings::default();
        assert!(Optimizer::from_name("rmsprop", s).is_err());
        assert!(Optimizer::from_name("adam", OptimizerSettings { beta2: 1.0, ..s }).is_err());
        assert!(Optimizer::from_name("adamw", OptimizerSettings { eps: 0.0, ..s }).is_err());
        assert!(LrSchedule::from_name("step", 0, 0.5).is_err());
        assert!(LrSchedule::from_name("cosine", 0, 0.5).is_ok());
    }
}
