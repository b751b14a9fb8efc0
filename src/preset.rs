//! Named recipes (`train --preset`, the quick model of `serve`, the page's trainer): each
//! sets every training setting; on the command line, flags given explicitly win.

use crate::Result;
use crate::engine::{Hyper, Recipe};
use crate::model::{Architecture, CLASSES, INPUTS, Network, parse_hidden};
use crate::model_file::TrainingInfo;
use crate::ops::augment::{Augment, InputNoise};
use crate::ops::{Activation, Dropout, Init, Loss, Preprocess};
use crate::optim::{LrPlan, LrSchedule, Optimizer};

/// The step schedule's defaults: `--lr-step-rounds` and `--lr-gamma`.
pub const STEP_ROUNDS: usize = 10;
pub const STEP_GAMMA: f32 = 0.1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
pub enum PresetName {
    /// The tutorial's recipe (the default).
    #[default]
    Tutorial,
    /// The shortest time to 98% test accuracy measured on a 2-core machine.
    Fast,
    /// The best test accuracy of a plain MLP without augmentation measured within about ten
    /// minutes of training on a 2-core machine.
    Best,
    /// The best with distorted training images (--augment) in the same time.
    BestAugmented,
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
    /// What the images go through before the network, at training and inference.
    pub preprocess: &'static str,
    pub init: &'static str,
    pub optimizer: &'static str,
    pub lr_schedule: &'static str,
    pub warmup: f64,
    pub dropout: f32,
    /// The bound on each unit's incoming weights (0: none).
    pub max_norm: f32,
    /// Dropout rate on the input pixels.
    pub input_dropout: f32,
    /// Distortions of the training images (none: all zero).
    pub augment: Augment,
}

impl PresetName {
    pub const ALL: [PresetName; 4] = [
        PresetName::Tutorial,
        PresetName::Fast,
        PresetName::Best,
        PresetName::BestAugmented,
    ];

    /// The preset called `name`, or an error listing the names.
    pub fn parse(name: &str) -> Result<PresetName> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
                crate::Error::Config(format!(
                    "unknown preset {name:?} (choose {})",
                    names.join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            PresetName::Tutorial => "tutorial",
            PresetName::Fast => "fast",
            PresetName::Best => "best",
            PresetName::BestAugmented => "best-augmented",
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
                preprocess: "none",
                init: "uniform",
                optimizer: "sgd",
                lr_schedule: "constant",
                warmup: 0.0,
                dropout: 0.0,
                max_norm: 0.0,
                input_dropout: 0.0,
                augment: Augment::NONE,
            },
            // Deskewed images reach 98% in two rounds where the images as they are need four.
            PresetName::Fast => Preset {
                hidden: "200",
                rounds: 2,
                batch_size: 128,
                lr: 0.015,
                shuffle: true,
                activation: "relu",
                loss: "xent",
                preprocess: "deskew",
                init: "he",
                optimizer: "adam",
                lr_schedule: "cosine",
                warmup: 0.0,
                dropout: 0.0,
                max_norm: 0.0,
                input_dropout: 0.0,
                augment: Augment::NONE,
            },
            // The fast recipe on two wide layers for 60 rounds at a fifteenth of the learning
            // rate, with dropout and max-norm (Srivastava et al. 2014).
            PresetName::Best => Preset {
                hidden: "1200,1200",
                rounds: 60,
                lr: 1e-3,
                dropout: 0.5,
                max_norm: 3.0,
                ..PresetName::Fast.preset()
            },
            // The same network on distorted images for 60 rounds, with less dropout (the
            // distortions regularise too).
            PresetName::BestAugmented => Preset {
                rounds: 60,
                dropout: 0.3,
                preprocess: "none",
                augment: Augment::DEFAULT,
                ..PresetName::Best.preset()
            },
        }
    }
}

impl Preset {
    /// The layer sizes, inputs first.
    pub fn sizes(&self) -> Result<Vec<usize>> {
        let mut sizes = vec![INPUTS];
        sizes.extend(parse_hidden(self.hidden)?);
        sizes.push(CLASSES);
        Ok(sizes)
    }

    /// A fresh network of this recipe, initialised from `seed`.
    pub fn network(&self, seed: u64) -> Result<Network> {
        let arch = Architecture {
            activation: Activation::parse(self.activation)?,
            loss: Loss::parse(self.loss)?,
            preprocess: Preprocess::parse(self.preprocess)?,
        };
        Network::build(&self.sizes()?, arch, Init::parse(self.init)?, seed)
    }

    /// The optimiser with its own default settings.
    pub fn optimizer(&self) -> Result<Optimizer> {
        Optimizer::from_name(self.optimizer, Optimizer::defaults(self.optimizer))
    }

    pub fn lr_schedule(&self) -> Result<LrSchedule> {
        LrSchedule::from_name(self.lr_schedule, STEP_ROUNDS, STEP_GAMMA)
    }

    /// How an engine trains by this recipe, planned for `rounds` rounds from the first.
    pub fn recipe(&self, seed: u64, rounds: usize) -> Result<Recipe> {
        Ok(Recipe {
            hyper: Hyper {
                batch_size: self.batch_size,
                learning_rate: self.lr,
            },
            optimizer: self.optimizer()?,
            lr: LrPlan {
                base: self.lr,
                schedule: self.lr_schedule()?,
                warmup: self.warmup,
                rounds,
            },
            dropout: Dropout::new(self.dropout)?,
            max_norm: self.max_norm,
            noise: self.noise()?,
            seed,
            first_round: 1,
        })
    }

    /// What a model file records of a run of this recipe planned for `rounds` rounds (rounds
    /// completed and accuracy filled in when saving).
    pub fn training_info(&self, seed: u64, rounds: usize, engine: String) -> Result<TrainingInfo> {
        Ok(TrainingInfo {
            rounds_completed: 0,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            seed,
            shuffle: self.shuffle,
            engine,
            data_fingerprint: String::new(),
            validation: 0,
            test_accuracy: None,
            init: Init::parse(self.init)?,
            optimizer: self.optimizer()?,
            schedule: self.lr_schedule()?,
            warmup: self.warmup,
            rounds_planned: rounds,
            dropout: self.dropout,
            max_norm: self.max_norm,
            noise: self.noise()?,
        })
    }

    /// What the training images go through.
    pub fn noise(&self) -> Result<InputNoise> {
        Ok(InputNoise {
            augment: self.augment,
            dropout: Dropout::new(self.input_dropout)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_builds_and_parses_by_name() {
        for name in PresetName::ALL {
            assert_eq!(PresetName::parse(name.name()).expect("parses"), name);
            let preset = name.preset();
            let net = preset.network(1).expect("network");
            assert_eq!(net.sizes(), preset.sizes().expect("sizes"));
            let recipe = preset.recipe(1, preset.rounds).expect("recipe");
            assert_eq!(recipe.hyper.batch_size, preset.batch_size);
        }
        assert!(PresetName::parse("quick").is_err());
    }
}
