//! `--preset`: named recipes. Each sets every training flag; flags given explicitly win.

use clap::ValueEnum;

/// The step schedule's defaults: `--lr-step-rounds` and `--lr-gamma`.
pub const STEP_ROUNDS: usize = 10;
pub const STEP_GAMMA: f32 = 0.1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PresetName {
    /// The tutorial's recipe (the default).
    #[default]
    Tutorial,
    /// The shortest time to 98% test accuracy measured on a 2-core machine.
    Fast,
    /// The best test accuracy measured within about a minute of training on a 2-core machine.
    Best,
}

/// What a preset sets.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    pub hidden: &'static str,
    pub rounds: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub shuffle: bool,
    pub activation: &'static str,
    pub loss: &'static str,
    pub init: &'static str,
    pub optimizer: &'static str,
    pub lr_schedule: &'static str,
    pub warmup: f64,
    pub dropout: f32,
}

impl PresetName {
    pub fn name(self) -> &'static str {
        match self {
            PresetName::Tutorial => "tutorial",
            PresetName::Fast => "fast",
            PresetName::Best => "best",
        }
    }

    pub fn preset(self) -> Preset {
        match self {
            PresetName::Tutorial => Preset {
                hidden: "128",
                rounds: 20,
                batch_size: 1000,
                lr: 2.0,
                shuffle: false,
                activation: "sigmoid",
                loss: "mse",
                init: "uniform",
                optimizer: "sgd",
                lr_schedule: "constant",
                warmup: 0.0,
                dropout: 0.0,
            },
            PresetName::Fast => Preset {
                hidden: "400",
                rounds: 5,
                batch_size: 128,
                lr: 2e-3,
                shuffle: true,
                activation: "relu",
                loss: "xent",
                init: "he",
                optimizer: "adam",
                lr_schedule: "cosine",
                warmup: 0.0,
                dropout: 0.0,
            },
            // The fast recipe on a wider network, for more rounds, at half the learning rate,
            // with dropout.
            PresetName::Best => Preset {
                hidden: "800",
                rounds: 30,
                lr: 1e-3,
                dropout: 0.5,
                ..PresetName::Fast.preset()
            },
        }
    }
}
