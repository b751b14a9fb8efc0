//! Optimisers and learning-rate schedules, described once for every engine.
//!
//! Each optimiser is one file (`sgd.rs`, `momentum.rs`, `adam.rs`, `adamw.rs`, `lion.rs`)
//! implementing [`Rule`]: its name, settings, state slots, its update written once over
//! [`Real`] (f32 for the CPU engine and the kernels' twins, f64 for the reference) and its WGSL.
//! [`Optimizer`] enumerates them for the CLI, the model file, the engines and the tests;
//! [`OptimizerState`] holds the moments and the step count, saved in model files so a resumed
//! run continues exactly.

pub mod max_norm;
pub mod rules;

use rules::for_each_optimizer;
pub use rules::{Adam, AdamW, Lion, Momentum, OptimizerSettings, Rule, Setting, Sgd, StepScalars};

use crate::ops::parse_named;
use crate::ops::real::Real;
use crate::{Error, Result};

/// Code generic over one optimiser, run for the one an [`Optimizer`] holds (so the CPU
/// engine's update loops are compiled per optimiser, with no branch inside).
pub trait VisitRule {
    type Output;
    fn visit<O: Rule>(self, rule: O) -> Self::Output;
}

macro_rules! optimizer_enum {
    ($($rule:ident),*) => {
        /// One of the optimisers, with its settings; its position in the list is its WGSL id.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Optimizer {
            $($rule($rule)),*
        }

        impl Optimizer {
            pub const NAMES: [&'static str; [$($rule::NAME),*].len()] = [$($rule::NAME),*];

            /// Runs `visitor` with this optimiser's rule.
            #[inline(always)]
            pub fn visit<V: VisitRule>(self, visitor: V) -> V::Output {
                match self {
                    $(Optimizer::$rule(rule) => visitor.visit(rule)),*
                }
            }

            /// The optimiser called `name` (one of [`Optimizer::NAMES`]) with `settings`.
            fn named(name: &str, settings: &OptimizerSettings) -> Option<Self> {
                $(if name == $rule::NAME {
                    return Some(Optimizer::$rule($rule::from_settings(settings)));
                })*
                None
            }

            /// The settings `name` starts from: the shared defaults with its own over them.
            pub fn defaults(name: &str) -> OptimizerSettings {
                let mut settings = OptimizerSettings::default();
                $(if name == $rule::NAME {
                    $rule::defaults(&mut settings);
                })*
                settings
            }
        }
    };
}
for_each_optimizer!(optimizer_enum);

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Sgd(Sgd)
    }
}

/// A rule's constants, as a [`VisitRule`].
struct Meta;
impl VisitRule for Meta {
    type Output = (&'static str, &'static str, usize, &'static [Setting], bool);
    fn visit<O: Rule>(self, _: O) -> Self::Output {
        (
            O::NAME,
            O::ABOUT,
            O::MOMENTS,
            O::SETTINGS,
            O::BIAS_CORRECTED,
        )
    }
}

impl Optimizer {
    /// The optimiser called `name` with `s` (its settings checked).
    pub fn from_name(name: &str, s: OptimizerSettings) -> Result<Self> {
        let names: Vec<(&str, &str)> = Self::NAMES.iter().map(|&n| (n, n)).collect();
        let name = parse_named("optimizer", name, &names)?;
        let optimizer = Self::named(name, &s)
            .ok_or_else(|| Error::Config(format!("unknown optimizer '{name}'")))?;
        validate(&s)?;
        Ok(optimizer)
    }

    /// The optimiser with WGSL id `id` (its position in [`Optimizer::NAMES`]) and settings `s`:
    /// how the kernels' twins read a layer's uniform block.
    pub fn from_id(id: u32, s: &OptimizerSettings) -> Option<Self> {
        Self::NAMES
            .get(id as usize)
            .and_then(|name| Self::named(name, s))
    }

    /// The value of the layer uniform's `optimizer` (`OPTIMIZER_*` in the generated library).
    pub fn id(self) -> u32 {
        let name = self.name();
        Self::NAMES.iter().position(|&n| n == name).unwrap_or(0) as u32
    }

    pub fn name(self) -> &'static str {
        self.visit(Meta).0
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        self.visit(Meta).1
    }

    /// The settings it reads.
    pub fn reads(self) -> &'static [Setting] {
        self.visit(Meta).3
    }

    /// Whether this is plain SGD (the engines fuse its step into the gradient product).
    pub fn is_sgd(self) -> bool {
        matches!(self, Optimizer::Sgd(_))
    }

    /// Its settings, the unused ones at their defaults.
    pub fn settings(self) -> OptimizerSettings {
        struct Settings;
        impl VisitRule for Settings {
            type Output = OptimizerSettings;
            fn visit<O: Rule>(self, rule: O) -> OptimizerSettings {
                let mut s = Optimizer::defaults(O::NAME);
                rule.settings(&mut s);
                s
            }
        }
        self.visit(Settings)
    }

    /// `adam (beta1 0.9, beta2 0.999, eps 1e-8)` for printed lines.
    pub fn describe(self) -> String {
        struct Describe;
        impl VisitRule for Describe {
            type Output = String;
            fn visit<O: Rule>(self, rule: O) -> String {
                rule.describe()
            }
        }
        self.visit(Describe)
    }

    /// State slots per parameter: 0 (sgd), 1 (momentum's velocity, lion's momentum), 2 (adam's
    /// moments).
    pub fn moments(self) -> usize {
        self.visit(Meta).2
    }

    /// The scalars of step number `t` (counting from 1) at learning rate `lr`.
    pub fn scalars(self, lr: f32, t: u64) -> StepScalars {
        let k = self.scalars_f64(f64::from(lr), t);
        StepScalars {
            lr,
            correction1: k.correction1 as f32,
            correction2: k.correction2 as f32,
        }
    }

    /// The same scalars in f64, for the reference.
    pub fn scalars_f64(self, lr: f64, t: u64) -> StepScalars<f64> {
        let s = self.settings();
        let (correction1, correction2) = if self.visit(Meta).4 {
            // Step 0 does not exist (it would divide by 0); past i32::MAX both are 1 anyway.
            let t = t.clamp(1, i32::MAX as u64) as i32;
            (
                1.0 / (1.0 - f64::from(s.beta1).powi(t)),
                1.0 / (1.0 - f64::from(s.beta2).powi(t)),
            )
        } else {
            (1.0, 1.0)
        };
        StepScalars {
            lr,
            correction1,
            correction2,
        }
    }

    /// One element's update (see [`Rule::update`]), in f32 or f64.
    #[inline(always)]
    pub fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, v: &mut R) {
        struct Update<'a, R> {
            k: StepScalars<R>,
            p: &'a mut R,
            g: R,
            m: &'a mut R,
            v: &'a mut R,
        }
        impl<R: Real> VisitRule for Update<'_, R> {
            type Output = ();
            #[inline(always)]
            fn visit<O: Rule>(self, rule: O) {
                rule.update(self.k, self.p, self.g, self.m, self.v);
            }
        }
        self.visit(Update { k, p, g, m, v });
    }
}

/// Checks settings against their ranges.
fn validate(s: &OptimizerSettings) -> Result<()> {
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
    fn bias_corrections_are_finite_at_every_step_count() {
        let adam = Optimizer::from_name("adam", Optimizer::defaults("adam")).expect("adam");
        for t in [0, 1, 2, 1 << 40, u64::MAX] {
            let k = adam.scalars(0.1, t);
            assert!(
                k.correction1.is_finite() && k.correction2.is_finite(),
                "step {t}"
            );
            assert!(k.correction1 >= 1.0 && k.correction2 >= 1.0, "step {t}");
        }
    }

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
                    let k = opt.scalars_f64(0.01, t);
                    opt.update(k, &mut p64, f64::from(g), &mut m64, &mut v64);
                }
                // 50 steps of f32 arithmetic on values near 0.3: a few ulps each (lion's
                // sign never flips between the two: its momenta stay far from 0 here).
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

    #[test]
    fn ids_round_trip_through_the_kernels_settings() {
        for name in Optimizer::NAMES {
            let opt = Optimizer::from_name(name, Optimizer::defaults(name)).expect("optimizer");
            assert_eq!(Optimizer::from_id(opt.id(), &opt.settings()), Some(opt));
            let line = format!(
                "const OPTIMIZER_{}: u32 = {}u;",
                name.to_uppercase(),
                opt.id()
            );
            assert!(rules::wgsl_library().contains(&line), "{line}");
        }
        assert_eq!(Optimizer::defaults("lion").beta2, 0.99);
        assert_eq!(Optimizer::defaults("adam").beta2, 0.999);
    }
}
