//! The flags of `mnist-gpu train` and the presets' help.

use std::path::PathBuf;

use clap::Args;
use mnist_gpu::ops::{Activation, Init, Loss, Preprocess};
use mnist_gpu::optim::{LrSchedule, Optimizer, Setting};

use crate::cli::DataArgs;
use crate::cli::backend::BackendArgs;
use mnist_gpu::preset::PresetName;

#[derive(Args, Debug)]
#[command(after_long_help = PRESETS_HELP)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A named recipe setting every flag below that has "[preset]" in its help; flags given
    /// explicitly override it (see the end of --help for what each preset sets).
    #[arg(long, value_enum, default_value_t = PresetName::Tutorial)]
    pub preset: PresetName,
    /// Hidden layer sizes, comma-separated: 128, or 16,16 for two layers [preset; with
    /// --resume: the model's]
    #[arg(long, value_name = "SIZES")]
    pub hidden: Option<String>,
    /// Rounds (passes over the training images) the run is planned for [preset; with --resume:
    /// the saved plan's]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::numbers::at_least_one)]
    pub rounds: Option<usize>,
    /// Stop after round N of the planned --rounds (the schedule still spans --rounds, so
    /// `--resume` later continues exactly where an uninterrupted run would be).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::numbers::at_least_one)]
    pub stop_after: Option<usize>,
    /// Images per gradient step (60000: pure full-batch gradient descent) [preset; with
    /// --resume: the model's]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::numbers::at_least_one)]
    pub batch_size: Option<usize>,
    /// Learning rate (the base rate of --lr-schedule) [preset; with --resume: the model's]
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = crate::cli::numbers::positive)]
    pub lr: Option<f32>,
    /// Seed of the initial weights, --shuffle's orders and the dropout masks [default: 42; with
    /// --resume: the model's]
    #[arg(long, allow_hyphen_values = true, value_parser = crate::cli::numbers::seed)]
    pub seed: Option<u64>,
    /// Visit the training images in a new seeded random order every round [preset].
    #[arg(long, conflicts_with = "no_shuffle")]
    pub shuffle: bool,
    /// Visit the training images in storage order (overrides a preset's shuffling).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Hidden-layer activation [preset]
    #[arg(long, value_parser = activation_names())]
    pub activation: Option<String>,
    /// Output and cost: mse = sigmoid outputs with the quadratic cost (the tutorial's), xent =
    /// softmax outputs with cross-entropy [preset]
    #[arg(long, value_parser = Loss::ALL.map(Loss::name))]
    pub loss: Option<String>,
    /// What every image goes through before the network, in training and in every later use
    /// of the model: none, or deskew (sheared upright and centred by its ink's moments, the
    /// classic MNIST preprocessing) [preset; with --resume: the model's]
    #[arg(long, value_parser = Preprocess::ALL.map(Preprocess::name))]
    pub preprocess: Option<String>,
    /// Initial weights: uniform ±0.5 (the tutorial's), he (for relu, GELU, SiLU), xavier (for
    /// sigmoid, tanh) [preset]
    #[arg(long, value_parser = Init::ALL.map(Init::name))]
    pub init: Option<String>,
    /// Optimiser [preset]
    #[arg(long, value_parser = optimizer_names())]
    pub optimizer: Option<String>,
    #[arg(long, value_name = "MU", allow_hyphen_values = true, value_parser = crate::cli::numbers::fraction,
        help = setting_help(Setting::Momentum, "Momentum μ"))]
    pub momentum: Option<f32>,
    #[arg(long, help = setting_help(Setting::Nesterov, "Nesterov momentum"))]
    pub nesterov: bool,
    #[arg(long, value_name = "B1", allow_hyphen_values = true, value_parser = crate::cli::numbers::fraction,
        help = setting_help(Setting::Beta1, "Decay β₁ of the first moment (Lion: of the interpolation)"))]
    pub beta1: Option<f32>,
    #[arg(long, value_name = "B2", allow_hyphen_values = true, value_parser = crate::cli::numbers::fraction,
        help = setting_help(Setting::Beta2, "Decay β₂ of the second moment (Lion: of its momentum)"))]
    pub beta2: Option<f32>,
    #[arg(long, value_name = "EPS", allow_hyphen_values = true, value_parser = crate::cli::numbers::positive,
        help = setting_help(Setting::Eps, "Adam's ε"))]
    pub eps: Option<f32>,
    #[arg(long, value_name = "LAMBDA", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative,
        help = setting_help(Setting::WeightDecay, "Decoupled weight decay λ"))]
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule: constant, step (×--lr-gamma every --lr-step-rounds), cosine
    /// (to 0 at the last planned round) [preset]
    #[arg(long, value_parser = LrSchedule::NAMES)]
    pub lr_schedule: Option<String>,
    /// Rounds between the step schedule's decays [default: 10]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::numbers::at_least_one)]
    pub lr_step_rounds: Option<usize>,
    /// The step schedule's factor [default: 0.1]
    #[arg(long, value_name = "GAMMA", allow_hyphen_values = true, value_parser = crate::cli::numbers::positive)]
    pub lr_gamma: Option<f32>,
    /// Rounds of linear learning-rate warm-up (fractions allowed) [preset]
    #[arg(long, value_name = "ROUNDS", allow_hyphen_values = true, value_parser = crate::cli::numbers::rounds)]
    pub warmup: Option<f64>,
    /// Dropout rate on hidden layers while training [preset]
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = crate::cli::numbers::fraction)]
    pub dropout: Option<f32>,
    /// Keep each unit's incoming weights within an L2 norm of C after every step (max-norm;
    /// 0: off) [preset]
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative)]
    pub max_norm: Option<f32>,
    /// Dropout rate on the input pixels while training [preset]
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = crate::cli::numbers::fraction)]
    pub input_dropout: Option<f32>,
    /// Distort every training image anew each round: a random shift, rotation, size change
    /// and elastic warp, drawn per image like the dropout masks (each bound below) [preset]
    #[arg(long, conflicts_with = "no_augment")]
    pub augment: bool,
    /// Train on the images as they are (overrides a preset's --augment)
    #[arg(long)]
    pub no_augment: bool,
    /// --augment's largest shift along each axis, in pixels [with --augment: 2]
    #[arg(long, conflicts_with = "no_augment", value_name = "PX", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative)]
    pub augment_shift: Option<f32>,
    /// --augment's largest rotation, in degrees (at most 30) [with --augment: 10]
    #[arg(long, conflicts_with = "no_augment", value_name = "DEG", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative)]
    pub augment_rotate: Option<f32>,
    /// --augment's largest relative change of size [with --augment: 0.1]
    #[arg(long, conflicts_with = "no_augment", value_name = "F", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative)]
    pub augment_scale: Option<f32>,
    /// --augment's largest elastic offset of a 4x4 grid of control points, in pixels
    /// [with --augment: 1.5]
    #[arg(long, conflicts_with = "no_augment", value_name = "PX", allow_hyphen_values = true, value_parser = crate::cli::numbers::non_negative)]
    pub augment_elastic: Option<f32>,
    /// Stop as soon as the evaluated accuracy (validation with --validation, else test)
    /// reaches P percent, and print the training time it took; evaluates every round.
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = crate::cli::numbers::percentage)]
    pub target_accuracy: Option<f64>,
    /// Hold out the last N training images as a validation set, measured at every evaluation.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::numbers::whole)]
    pub validation: Option<usize>,
    /// Print test accuracy every K rounds (always after the last).
    #[arg(long, default_value_t = 0, value_name = "K", allow_hyphen_values = true, value_parser = crate::cli::numbers::whole)]
    pub eval_every: usize,
    /// Write one JSON object per round to FILE (round, cost, seconds, test_accuracy); `-`
    /// streams them to standard output (the run's own lines then go to stderr).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Draw the cost and test accuracy per round into a PNG (JPEG for a .jpg name) after training.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Save the trained network to FILE (safetensors) after the last round.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Also save to the --save FILE every K rounds (each save replaces the last, atomically).
    #[arg(long, default_value_t = 0, value_name = "K", requires = "save", allow_hyphen_values = true, value_parser = crate::cli::numbers::whole)]
    pub checkpoint_every: usize,
    /// Continue training a saved network: runs its next rounds up to --rounds with its layer
    /// sizes, activation, loss and optimiser (state included) and (unless given) its batch
    /// size, learning rate, schedule, dropout, seed and shuffling.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

const PRESETS_HELP: &str = "\
Presets (explicit flags override them):
  tutorial  784-128-10 sigmoid layers, quadratic cost, uniform ±0.5 init, SGD lr 2, batch 1000,
            20 rounds in storage order: the numpy tutorial's recipe, bit for bit.
  fast      deskewed images (--preprocess deskew), 784-200-10 relu, softmax + cross-entropy,
            He init, Adam lr 0.015 with a cosine schedule over 2 rounds, batch 128, shuffled:
            the shortest measured time to 98% test accuracy on a 2-core machine (use with
            --target-accuracy 98).
  best      deskewed images, 784-1200-1200-10 relu, softmax + cross-entropy, He init, dropout
            0.5, max-norm 3, Adam lr 0.001 with a cosine schedule over 60 rounds, batch 128,
            shuffled: the best test accuracy of a plain MLP without distortions measured within
            about ten minutes of training on a 2-core machine.
  best-augmented
            the best recipe on images as they are (no deskewing) distorted anew every round
            (--augment), with dropout 0.3: the best measured with distortions in the same time.
docs/recipes.md gives the measurements each was chosen by.";

/// An optimiser flag's help: what it sets, then each optimiser that reads it with its default,
/// from the definitions (`[adam: 0.9, adamw: 0.9, lion: 0.9]`).
fn setting_help(setting: Setting, what: &str) -> String {
    let readers: Vec<String> = (Optimizer::NAMES.into_iter())
        .filter_map(|name| {
            let optimizer = Optimizer::from_name(name, Optimizer::defaults(name)).ok()?;
            if !optimizer.reads().contains(&setting) {
                return None;
            }
            Some(match setting {
                Setting::Nesterov => name.to_string(),
                _ => format!("{name}: {}", setting.value(&optimizer.settings())),
            })
        })
        .collect();
    format!("{what} [{}]", readers.join(", "))
}

/// The optimisers `--optimizer` accepts, each with its rule, from their definitions.
fn optimizer_names() -> clap::builder::PossibleValuesParser {
    let values = Optimizer::NAMES.into_iter().map(|name| {
        let about = Optimizer::from_name(name, Optimizer::defaults(name)).map_or("", |o| o.about());
        clap::builder::PossibleValue::new(name).help(about)
    });
    clap::builder::PossibleValuesParser::new(values)
}

/// The hidden activations `--activation` accepts, each with its formula, from their definitions.
fn activation_names() -> clap::builder::PossibleValuesParser {
    let values =
        Activation::hidden().map(|a| clap::builder::PossibleValue::new(a.name()).help(a.about()));
    clap::builder::PossibleValuesParser::new(values)
}
