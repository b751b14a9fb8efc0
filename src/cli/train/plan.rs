//! A run's recipe: the flags, the preset and a resumed model turned into the network to train
//! and the settings to train it with, and the checks that refuse a run that would not do what
//! was asked.

use anyhow::Context;
use mnist_gpu::data::{Dataset, Mnist};
use mnist_gpu::engine::{Hyper, Recipe};
use mnist_gpu::model::{Architecture, CLASSES, INPUTS, Network, parse_hidden};
use mnist_gpu::model_file::{self, TrainingInfo};
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss, Preprocess};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings, OptimizerState, Setting};

use super::flags::TrainArgs;
use mnist_gpu::preset::{Preset, PresetName, STEP_GAMMA, STEP_ROUNDS};

/// Moves the last `n` training images of `data` into a validation set.
pub(super) fn hold_out(data: &mut Mnist, n: usize) -> anyhow::Result<Dataset> {
    let total = data.train.len();
    if n == 0 || n >= total {
        anyhow::bail!(
            "--validation must hold out at least 1 and fewer than the {total} training images, got {n}"
        );
    }
    let keep = total - n;
    let pixels = data.train.pixels();
    let validation = Dataset {
        images: data.train.images[keep * pixels..].to_vec(),
        labels: data.train.labels[keep..].to_vec(),
        rows: data.train.rows,
        cols: data.train.cols,
    };
    data.train = data.train.truncated(keep);
    Ok(validation)
}

/// The network to train and the settings to train it with: fresh from the preset and the
/// flags, or the saved run's, continued (flags given explicitly win, with a warning when they
/// change the run).
pub(super) struct Plan {
    pub(super) network: Network,
    pub(super) init: Init,
    pub(super) batch_size: usize,
    pub(super) lr: f32,
    pub(super) seed: u64,
    pub(super) shuffle: bool,
    pub(super) optimizer: Optimizer,
    pub(super) schedule: LrSchedule,
    pub(super) warmup: f64,
    pub(super) dropout: Dropout,
    pub(super) max_norm: f32,
    pub(super) noise: InputNoise,
    /// The round the schedule spans to.
    pub(super) rounds: usize,
    pub(super) first_round: usize,
    /// How the resumed model was trained, when resuming, and its optimiser's state.
    pub(super) resumed: Option<TrainingInfo>,
    pub(super) state: Option<OptimizerState>,
}

impl Plan {
    pub(super) fn new(args: &TrainArgs) -> anyhow::Result<Plan> {
        let preset = args.preset.preset();
        let Some(path) = &args.resume else {
            return Self::fresh(args, &preset);
        };
        if args.preset != PresetName::Tutorial {
            anyhow::bail!(
                "--preset does not apply to --resume: the saved run's recipe continues (override single flags instead)"
            );
        }
        let saved = model_file::load(path).context("cannot resume")?;
        let info = saved.training;
        let sizes = saved.network.sizes();
        if let Some(text) = &args.hidden {
            let hidden = parse_hidden(text)?;
            if hidden != sizes[1..sizes.len() - 1] {
                anyhow::bail!(
                    "--hidden {text} disagrees with the saved network {} in {}: leave --hidden out when resuming",
                    saved.network.shape_name(),
                    path.display()
                );
            }
        }
        for (flag, given, saved_name) in [
            (
                "--activation",
                &args.activation,
                saved.network.activation.name(),
            ),
            ("--loss", &args.loss, saved.network.loss.name()),
            (
                "--preprocess",
                &args.preprocess,
                saved.network.preprocess.name(),
            ),
            ("--init", &args.init, info.init.name()),
            ("--optimizer", &args.optimizer, info.optimizer.name()),
        ] {
            if let Some(given) = given
                && given != saved_name
            {
                anyhow::bail!(
                    "{flag} {given} disagrees with the saved run's {saved_name} in {}: leave {flag} out when resuming",
                    path.display()
                );
            }
        }
        let rounds = args.rounds.unwrap_or(info.rounds_planned);
        if args.rounds.is_some()
            && rounds != info.rounds_planned
            && info.schedule == LrSchedule::Cosine
        {
            eprintln!(
                "warning: --rounds {rounds} changes the cosine schedule planned for {} rounds",
                info.rounds_planned
            );
        }
        if rounds <= info.rounds_completed {
            anyhow::bail!(
                "{} has already completed {} rounds: pass --rounds N with N > {} to train further",
                path.display(),
                info.rounds_completed,
                info.rounds_completed
            );
        }
        let batch_size = overridden("--batch-size", args.batch_size, info.batch_size);
        let lr = overridden("--lr", args.lr, info.learning_rate);
        let seed = overridden("--seed", args.seed, info.seed);
        if args.shuffle && !info.shuffle {
            eprintln!("warning: the saved run visited images in order; continuing shuffled");
        }
        let schedule = match &args.lr_schedule {
            Some(name) => schedule_from(args, name)?,
            None => info.schedule,
        };
        if schedule != info.schedule {
            eprintln!(
                "warning: --lr-schedule {} differs from the saved run's {}",
                schedule.describe(),
                info.schedule.describe()
            );
        }
        let warmup = overridden("--warmup", args.warmup, info.warmup);
        let dropout = Dropout::new(overridden("--dropout", args.dropout, info.dropout))?;
        let max_norm = check_max_norm(overridden("--max-norm", args.max_norm, info.max_norm))?;
        let noise = noise_from(args, &info.noise)?;
        if noise != info.noise {
            eprintln!(
                "warning: the training images' distortions or input dropout differ from the saved run's"
            );
        }
        let mut settings = info.optimizer.settings();
        override_settings(&mut settings, args);
        let optimizer = Optimizer::from_name(info.optimizer.name(), settings)?;
        check_applicable(args, optimizer, schedule, rounds)?;
        Ok(Plan {
            network: saved.network,
            init: info.init,
            batch_size,
            lr,
            seed,
            shuffle: !args.no_shuffle && (args.shuffle || info.shuffle),
            optimizer,
            schedule,
            warmup,
            dropout,
            max_norm,
            noise,
            rounds,
            first_round: info.rounds_completed + 1,
            resumed: Some(info),
            state: Some(saved.optimizer_state),
        })
    }

    fn fresh(args: &TrainArgs, preset: &Preset) -> anyhow::Result<Plan> {
        let hidden = parse_hidden(args.hidden.as_deref().unwrap_or(preset.hidden))?;
        let seed = args.seed.unwrap_or(42);
        let arch = Architecture {
            activation: Activation::parse(args.activation.as_deref().unwrap_or(preset.activation))?,
            loss: Loss::parse(args.loss.as_deref().unwrap_or(preset.loss))?,
            preprocess: Preprocess::parse(args.preprocess.as_deref().unwrap_or(preset.preprocess))?,
        };
        let init = Init::parse(args.init.as_deref().unwrap_or(preset.init))?;
        let mut sizes = vec![INPUTS];
        sizes.extend_from_slice(&hidden);
        sizes.push(CLASSES);
        let optimizer_name = args.optimizer.as_deref().unwrap_or(preset.optimizer);
        let mut settings = Optimizer::defaults(optimizer_name);
        override_settings(&mut settings, args);
        let optimizer = Optimizer::from_name(optimizer_name, settings)?;
        let schedule = schedule_from(
            args,
            args.lr_schedule.as_deref().unwrap_or(preset.lr_schedule),
        )?;
        // --warmup and --rounds are in range from their parsers, the preset's by definition.
        let warmup = args.warmup.unwrap_or(preset.warmup);
        let rounds = args.rounds.unwrap_or(preset.rounds);
        check_applicable(args, optimizer, schedule, rounds)?;
        Ok(Plan {
            network: Network::build(&sizes, arch, init, seed)?,
            init,
            batch_size: args.batch_size.unwrap_or(preset.batch_size),
            lr: args.lr.unwrap_or(preset.lr),
            seed,
            shuffle: !args.no_shuffle && (args.shuffle || preset.shuffle),
            optimizer,
            schedule,
            warmup,
            dropout: Dropout::new(args.dropout.unwrap_or(preset.dropout))?,
            max_norm: check_max_norm(args.max_norm.unwrap_or(preset.max_norm))?,
            noise: noise_from(args, &preset.noise()?)?,
            rounds,
            first_round: 1,
            resumed: None,
            state: None,
        })
    }

    pub(super) fn recipe(&self) -> Recipe {
        Recipe {
            hyper: Hyper {
                batch_size: self.batch_size,
                learning_rate: self.lr,
            },
            optimizer: self.optimizer,
            lr: LrPlan {
                base: self.lr,
                schedule: self.schedule,
                warmup: self.warmup,
                rounds: self.rounds,
            },
            dropout: self.dropout,
            max_norm: self.max_norm,
            noise: self.noise,
            seed: self.seed,
            first_round: self.first_round,
        }
    }

    /// What a saved file records of this run (rounds and accuracy filled in when saving).
    pub(super) fn info(&self, args: &TrainArgs, engine: &str, fingerprint: String) -> TrainingInfo {
        TrainingInfo {
            rounds_completed: 0,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            seed: self.seed,
            shuffle: self.shuffle,
            engine: engine.to_string(),
            data_fingerprint: fingerprint,
            validation: args.validation.unwrap_or(0),
            test_accuracy: None,
            init: self.init,
            optimizer: self.optimizer,
            schedule: self.schedule,
            warmup: self.warmup,
            rounds_planned: self.rounds,
            dropout: self.dropout.rate,
            max_norm: self.max_norm,
            noise: self.noise,
        }
    }
}

/// The input noise of `base` (a preset's or a saved run's) with the flags given applied:
/// `--augment` turns on the default distortions, `--no-augment` turns them off, and each
/// `--augment-*` bound overrides its own.
fn noise_from(args: &TrainArgs, base: &InputNoise) -> anyhow::Result<InputNoise> {
    let mut augment = if args.no_augment {
        Augment::NONE
    } else if args.augment && !base.augment.is_active() {
        Augment::DEFAULT
    } else {
        base.augment
    };
    augment = Augment::new(
        args.augment_shift.unwrap_or(augment.shift),
        args.augment_rotate.unwrap_or(augment.rotate),
        args.augment_scale.unwrap_or(augment.scale),
        args.augment_elastic.unwrap_or(augment.elastic),
    )?;
    let rate = args.input_dropout.unwrap_or(base.dropout.rate);
    let dropout = Dropout::new(rate).map_err(|_| {
        anyhow::anyhow!("--input-dropout must be at least 0 and below 1, got {rate}")
    })?;
    Ok(InputNoise { augment, dropout })
}

/// `--max-norm C`: 0 (off) or a positive bound.
fn check_max_norm(bound: f32) -> anyhow::Result<f32> {
    if !(bound.is_finite() && bound >= 0.0) {
        anyhow::bail!("--max-norm must be 0 (off) or a positive L2 bound, got {bound}");
    }
    Ok(bound)
}

fn schedule_from(args: &TrainArgs, name: &str) -> anyhow::Result<LrSchedule> {
    Ok(LrSchedule::from_name(
        name,
        args.lr_step_rounds.unwrap_or(STEP_ROUNDS),
        args.lr_gamma.unwrap_or(STEP_GAMMA),
    )?)
}

/// Refuses flags the run's optimiser or schedule would ignore: a setting that silently does
/// nothing is a mistake the user should hear of.
fn check_applicable(
    args: &TrainArgs,
    optimizer: Optimizer,
    schedule: LrSchedule,
    rounds: usize,
) -> anyhow::Result<()> {
    let name = optimizer.name();
    let step = matches!(schedule, LrSchedule::Step { .. });
    for setting in Setting::ALL {
        if given_setting(args, setting) && !optimizer.reads().contains(&setting) {
            let readers: Vec<&str> = (Optimizer::NAMES.into_iter())
                .filter(|n| {
                    Optimizer::from_name(n, Optimizer::defaults(n))
                        .is_ok_and(|o| o.reads().contains(&setting))
                })
                .collect();
            anyhow::bail!(
                "{} applies to --optimizer {} only; this run's optimiser is {name}",
                setting.flag(),
                readers.join(" or ")
            );
        }
    }
    for (flag, given) in [
        ("--lr-step-rounds", args.lr_step_rounds.is_some()),
        ("--lr-gamma", args.lr_gamma.is_some()),
    ] {
        if given && !step {
            anyhow::bail!(
                "{flag} applies to --lr-schedule step only; this run's schedule is {}",
                schedule.name()
            );
        }
    }
    if let Some(warmup) = args.warmup.filter(|&w| w > rounds as f64) {
        anyhow::bail!("--warmup {warmup} is longer than the {rounds} planned rounds");
    }
    Ok(())
}

/// Whether the optimiser flag of `setting` was given.
fn given_setting(args: &TrainArgs, setting: Setting) -> bool {
    match setting {
        Setting::Momentum => args.momentum.is_some(),
        Setting::Nesterov => args.nesterov,
        Setting::Beta1 => args.beta1.is_some(),
        Setting::Beta2 => args.beta2.is_some(),
        Setting::Eps => args.eps.is_some(),
        Setting::WeightDecay => args.weight_decay.is_some(),
    }
}

/// The optimiser flags given explicitly, over `settings`.
fn override_settings(settings: &mut OptimizerSettings, args: &TrainArgs) {
    if let Some(x) = args.momentum {
        settings.momentum = x;
    }
    if args.nesterov {
        settings.nesterov = true;
    }
    if let Some(x) = args.beta1 {
        settings.beta1 = x;
    }
    if let Some(x) = args.beta2 {
        settings.beta2 = x;
    }
    if let Some(x) = args.eps {
        settings.eps = x;
    }
    if let Some(x) = args.weight_decay {
        settings.weight_decay = x;
    }
}

/// The flag's value when given (warning when it differs from the saved run's), else the saved.
fn overridden<T: PartialEq + std::fmt::Display + Copy>(
    flag: &str,
    given: Option<T>,
    saved: T,
) -> T {
    match given {
        Some(value) if value != saved => {
            eprintln!("warning: {flag} {value} differs from the saved run's {saved}");
            value
        }
        Some(value) => value,
        None => saved,
    }
}

pub(super) fn check_hyper(batch_size: usize, lr: f32) -> anyhow::Result<()> {
    if batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if !(lr.is_finite() && lr > 0.0) {
        anyhow::bail!("--lr must be a positive number, got {lr}");
    }
    Ok(())
}

/// Refuses a batch larger than the images left to train on when --validation took some, and an
/// explicit --batch-size larger than the training set: either would silently train on fewer
/// images per step than asked. A default batch over a small data set stays full-batch.
pub(super) fn check_batch(
    explicit: bool,
    batch_size: usize,
    train_images: usize,
    validation: Option<usize>,
) -> anyhow::Result<()> {
    if batch_size <= train_images {
        return Ok(());
    }
    match validation {
        Some(held) => anyhow::bail!(
            "--validation {held} leaves {train_images} training images, fewer than a batch of \
             {batch_size}: hold out fewer images or pass a --batch-size of at most {train_images}"
        ),
        None if explicit => anyhow::bail!(
            "--batch-size {batch_size} is larger than the training set ({train_images} images); \
             {train_images} is full-batch gradient descent"
        ),
        None => Ok(()),
    }
}

/// The warning of a run that stops early with nothing kept to resume from.
pub(super) fn unsaved_stop_warning(
    saved: bool,
    stop_after: usize,
    rounds: usize,
) -> Option<String> {
    (!saved && stop_after < rounds).then(|| {
        format!(
            "warning: --stop-after {stop_after} of {rounds} rounds without --save: nothing is kept \
             to --resume from"
        )
    })
}

/// A resumed model's step count against what its rounds over these images could have taken
/// (at most one step per image per round, whatever the batch sizes), when the model was
/// trained on this data (`fingerprint`, before any hold-out); other data says nothing.
pub(super) fn check_steps(
    steps: u64,
    info: &TrainingInfo,
    fingerprint: &str,
    train_images: usize,
) -> anyhow::Result<()> {
    if info.data_fingerprint != fingerprint {
        return Ok(());
    }
    let most = (info.rounds_completed as u64).saturating_mul(train_images as u64);
    if steps > most {
        anyhow::bail!(
            "the model's optimizer_steps {steps} is more than {} rounds over {train_images} \
             images can take: the file was altered, resume from another",
            info.rounds_completed
        );
    }
    Ok(())
}

/// Warnings when a resumed run trains on other images than the saved run did: other data, or
/// another --validation hold-out of the same data.
pub(super) fn resumed_data_warnings(
    info: &TrainingInfo,
    fingerprint: &str,
    validation: Option<usize>,
    dir: &std::path::Path,
) -> Vec<String> {
    let mut lines = Vec::new();
    if info.data_fingerprint != fingerprint {
        lines.push(format!(
            "warning: the model was trained on other data than {} (fingerprints differ)",
            dir.display()
        ));
    } else if info.validation != validation.unwrap_or(0) {
        lines.push(format!(
            "warning: the saved run held out the last {} training images for validation, this \
             run holds out {}: it trains on other images",
            info.validation,
            validation.unwrap_or(0)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_refuse_what_would_not_do_what_was_asked() {
        assert!(check_batch(false, 1000, 1, Some(59999)).is_err());
        assert!(check_batch(true, 1000, 500, None).is_err());
        assert!(check_batch(false, 1000, 500, None).is_ok());
        assert!(unsaved_stop_warning(false, 1, 4).is_some());
        assert!(unsaved_stop_warning(true, 1, 4).is_none());
        assert!(unsaved_stop_warning(false, 4, 4).is_none());
    }
}
