//! The optimisers' shared vocabulary: the [`Rule`] each optimiser implements (one file per
//! optimiser beside this one), the settings they draw on, and the WGSL library `optimizers`
//! generated from them. Depends on nothing but std and [`crate::ops::real`]: the build script
//! includes it to write that library. A new optimiser is its own file and two lines here (its
//! `mod` and its name in [`for_each_optimizer`]).

use crate::ops::real::Real;

#[path = "adam.rs"]
pub mod adam;
#[path = "adamw.rs"]
pub mod adamw;
#[path = "lion.rs"]
pub mod lion;
#[path = "momentum.rs"]
pub mod momentum;
#[path = "sgd.rs"]
pub mod sgd;

pub use adam::Adam;
pub use adamw::AdamW;
pub use lion::Lion;
pub use momentum::Momentum;
pub use sgd::Sgd;

/// Calls `$m!` with every optimiser, in WGSL id order (the first is the default).
macro_rules! for_each_optimizer {
    ($m:ident) => {
        $m! { Sgd, Momentum, Adam, AdamW, Lion }
    };
}
#[allow(unused_imports)] // the build script generates WGSL only
pub(crate) use for_each_optimizer;

/// The settings an optimiser may use, before its kind is chosen (CLI flags, model metadata);
/// each optimiser names the ones it reads ([`Rule::SETTINGS`]). The kernels read all of them
/// from the layer's uniform block.
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

/// One of the [`OptimizerSettings`], as the CLI flag and the model-file key name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Momentum,
    Nesterov,
    Beta1,
    Beta2,
    Eps,
    WeightDecay,
}

impl Setting {
    pub const ALL: [Setting; 6] = [
        Setting::Momentum,
        Setting::Nesterov,
        Setting::Beta1,
        Setting::Beta2,
        Setting::Eps,
        Setting::WeightDecay,
    ];

    /// The model file's metadata key.
    pub fn key(self) -> &'static str {
        match self {
            Setting::Momentum => "momentum",
            Setting::Nesterov => "nesterov",
            Setting::Beta1 => "beta1",
            Setting::Beta2 => "beta2",
            Setting::Eps => "eps",
            Setting::WeightDecay => "weight_decay",
        }
    }

    /// The CLI flag.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::Momentum => "--momentum",
            Setting::Nesterov => "--nesterov",
            Setting::Beta1 => "--beta1",
            Setting::Beta2 => "--beta2",
            Setting::Eps => "--eps",
            Setting::WeightDecay => "--weight-decay",
        }
    }

    /// Its value in `s`, as the model file writes it.
    pub fn value(self, s: &OptimizerSettings) -> String {
        match self {
            Setting::Momentum => s.momentum.to_string(),
            Setting::Nesterov => s.nesterov.to_string(),
            Setting::Beta1 => s.beta1.to_string(),
            Setting::Beta2 => s.beta2.to_string(),
            Setting::Eps => s.eps.to_string(),
            Setting::WeightDecay => s.weight_decay.to_string(),
        }
    }
}

/// Per-step scalars of an update, computed once per step (on the GPU: in the batch's uniform).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepScalars<R = f32> {
    pub lr: R,
    /// `1/(1 − β₁ᵗ)` and `1/(1 − β₂ᵗ)` (Adam's bias corrections; 1 otherwise).
    pub correction1: R,
    pub correction2: R,
}

/// One optimiser: how one parameter moves given its gradient and its state.
pub trait Rule: Copy + Send + Sync {
    /// As the CLI and the model file spell it.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// State slots per parameter (`m`, then `v`).
    const MOMENTS: usize;
    /// The settings it reads.
    const SETTINGS: &'static [Setting];
    /// Whether the step scalars carry Adam's bias corrections.
    const BIAS_CORRECTED: bool = false;
    /// Its own defaults over the shared ones, where they differ.
    fn defaults(_settings: &mut OptimizerSettings) {}
    fn from_settings(s: &OptimizerSettings) -> Self;
    /// Writes its settings into `s`.
    fn settings(self, s: &mut OptimizerSettings);
    /// `adam (beta1 0.9, beta2 0.999, eps 1e-8)`, for printed lines.
    fn describe(self) -> String;
    /// One element's update: parameter `p`, gradient `g`, state `m` and `v` (unused slots are
    /// left alone). The CPU engine maps it over tensors in f32, the reference runs it in f64.
    fn update<R: Real>(self, k: StepScalars<R>, p: &mut R, g: R, m: &mut R, v: &mut R);
    /// WGSL statements of the same rule: `p`, `g`, `m` and `v` (pointers to the moments) and
    /// `lr` in scope, the settings as `layer.<key>`; returns the new parameter.
    const WGSL: &'static str;
}

/// The WGSL library `optimizers`: an `OPTIMIZER_<NAME>` id per optimiser, each rule as
/// `optimizer_update_<name>`, and `optimizer_update` and `optimizer_moments` switching on
/// `layer.optimizer`.
pub fn wgsl_library() -> String {
    struct Row {
        name: &'static str,
        moments: usize,
        wgsl: &'static str,
    }
    macro_rules! rows {
        ($($rule:ident),*) => {
            vec![$(Row { name: $rule::NAME, moments: $rule::MOMENTS, wgsl: $rule::WGSL }),*]
        };
    }
    let rows: Vec<Row> = for_each_optimizer!(rows);
    let id = |name: &str| format!("OPTIMIZER_{}", name.to_uppercase());
    let mut out = String::from(
        "// Generated from the optimiser definitions (src/optim/rules.rs and one file each).\n\
         #import params\n",
    );
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("const {}: u32 = {i}u;\n", id(row.name)));
    }
    for row in &rows {
        out.push_str(&format!(
            "\nfn optimizer_update_{}(p: f32, g: f32, m: ptr<function, f32>, v: ptr<function, f32>) -> f32 {{\n    let lr = batch.lr;\n    {}\n}}\n",
            row.name,
            row.wgsl.trim()
        ));
    }
    let cases = |call: &dyn Fn(&Row) -> String| -> String {
        let mut text = String::new();
        for (i, row) in rows.iter().enumerate() {
            let default = if i == 0 { ", default" } else { "" };
            text.push_str(&format!(
                "        case {}{default}: {{\n            return {};\n        }}\n",
                id(row.name),
                call(row)
            ));
        }
        text
    };
    out.push_str(&format!(
        "\n// The parameter after one step of the layer's optimiser; m and v are updated in place.\n\
         fn optimizer_update(p: f32, g: f32, m: ptr<function, f32>, v: ptr<function, f32>) -> f32 {{\n    switch layer.optimizer {{\n{}    }}\n}}\n",
        cases(&|row| format!("optimizer_update_{}(p, g, m, v)", row.name))
    ));
    out.push_str(&format!(
        "\n// State slots per parameter of the layer's optimiser.\nfn optimizer_moments() -> u32 {{\n    switch layer.optimizer {{\n{}    }}\n}}\n",
        cases(&|row| format!("{}u", row.moments))
    ));
    out
}
