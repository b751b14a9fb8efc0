//! `mnist-gpu train`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_gpu::data::{Dataset, Mnist, Split};
use mnist_gpu::engine::Validation;
use mnist_gpu::engine::cpu::Evaluator;
use mnist_gpu::engine::{Engine, Hyper, Recipe};
use mnist_gpu::model::argmax;
use mnist_gpu::model::{Architecture, CLASSES, INPUTS, Network, parse_hidden};
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo, data_fingerprint};
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss, Preprocess};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings, OptimizerState, Setting};
use mnist_gpu::report::metrics::MetricsFile;
use mnist_gpu::train::{RoundRecord, Schedule, accuracy, train_with};

use super::DataArgs;
use super::backend::{BackendArgs, build_training_engine};
use super::interrupt;
use super::paths::{Named, check_distinct, check_output_file};
use super::train_checks::*;
use mnist_gpu::preset::{Preset, PresetName, STEP_GAMMA, STEP_ROUNDS};

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
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least_one)]
    pub rounds: Option<usize>,
    /// Stop after round N of the planned --rounds (the schedule still spans --rounds, so
    /// `--resume` later continues exactly where an uninterrupted run would be).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least_one)]
    pub stop_after: Option<usize>,
    /// Images per gradient step (60000: pure full-batch gradient descent) [preset; with
    /// --resume: the model's]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least_one)]
    pub batch_size: Option<usize>,
    /// Learning rate (the base rate of --lr-schedule) [preset; with --resume: the model's]
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = super::numbers::positive)]
    pub lr: Option<f32>,
    /// Seed of the initial weights, --shuffle's orders and the dropout masks [default: 42; with
    /// --resume: the model's]
    #[arg(long, allow_hyphen_values = true, value_parser = super::numbers::seed)]
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
    #[arg(long, value_name = "MU", allow_hyphen_values = true, value_parser = super::numbers::fraction,
        help = setting_help(Setting::Momentum, "Momentum μ"))]
    pub momentum: Option<f32>,
    #[arg(long, help = setting_help(Setting::Nesterov, "Nesterov momentum"))]
    pub nesterov: bool,
    #[arg(long, value_name = "B1", allow_hyphen_values = true, value_parser = super::numbers::fraction,
        help = setting_help(Setting::Beta1, "Decay β₁ of the first moment (Lion: of the interpolation)"))]
    pub beta1: Option<f32>,
    #[arg(long, value_name = "B2", allow_hyphen_values = true, value_parser = super::numbers::fraction,
        help = setting_help(Setting::Beta2, "Decay β₂ of the second moment (Lion: of its momentum)"))]
    pub beta2: Option<f32>,
    #[arg(long, value_name = "EPS", allow_hyphen_values = true, value_parser = super::numbers::positive,
        help = setting_help(Setting::Eps, "Adam's ε"))]
    pub eps: Option<f32>,
    #[arg(long, value_name = "LAMBDA", allow_hyphen_values = true, value_parser = super::numbers::non_negative,
        help = setting_help(Setting::WeightDecay, "Decoupled weight decay λ"))]
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule: constant, step (×--lr-gamma every --lr-step-rounds), cosine
    /// (to 0 at the last planned round) [preset]
    #[arg(long, value_parser = LrSchedule::NAMES)]
    pub lr_schedule: Option<String>,
    /// Rounds between the step schedule's decays [default: 10]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least_one)]
    pub lr_step_rounds: Option<usize>,
    /// The step schedule's factor [default: 0.1]
    #[arg(long, value_name = "GAMMA", allow_hyphen_values = true, value_parser = super::numbers::positive)]
    pub lr_gamma: Option<f32>,
    /// Rounds of linear learning-rate warm-up (fractions allowed) [preset]
    #[arg(long, value_name = "ROUNDS", allow_hyphen_values = true, value_parser = super::numbers::rounds)]
    pub warmup: Option<f64>,
    /// Dropout rate on hidden layers while training [preset]
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = super::numbers::fraction)]
    pub dropout: Option<f32>,
    /// Keep each unit's incoming weights within an L2 norm of C after every step (max-norm;
    /// 0: off) [preset]
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = super::numbers::non_negative)]
    pub max_norm: Option<f32>,
    /// Dropout rate on the input pixels while training [preset]
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = super::numbers::fraction)]
    pub input_dropout: Option<f32>,
    /// Distort every training image anew each round: a random shift, rotation, size change
    /// and elastic warp, drawn per image like the dropout masks (each bound below) [preset]
    #[arg(long, conflicts_with = "no_augment")]
    pub augment: bool,
    /// Train on the images as they are (overrides a preset's --augment)
    #[arg(long)]
    pub no_augment: bool,
    /// --augment's largest shift along each axis, in pixels [with --augment: 2]
    #[arg(long, conflicts_with = "no_augment", value_name = "PX", allow_hyphen_values = true, value_parser = super::numbers::non_negative)]
    pub augment_shift: Option<f32>,
    /// --augment's largest rotation, in degrees (at most 30) [with --augment: 10]
    #[arg(long, conflicts_with = "no_augment", value_name = "DEG", allow_hyphen_values = true, value_parser = super::numbers::non_negative)]
    pub augment_rotate: Option<f32>,
    /// --augment's largest relative change of size [with --augment: 0.1]
    #[arg(long, conflicts_with = "no_augment", value_name = "F", allow_hyphen_values = true, value_parser = super::numbers::non_negative)]
    pub augment_scale: Option<f32>,
    /// --augment's largest elastic offset of a 4x4 grid of control points, in pixels
    /// [with --augment: 1.5]
    #[arg(long, conflicts_with = "no_augment", value_name = "PX", allow_hyphen_values = true, value_parser = super::numbers::non_negative)]
    pub augment_elastic: Option<f32>,
    /// Stop as soon as the evaluated accuracy (validation with --validation, else test)
    /// reaches P percent, and print the training time it took; evaluates every round.
    #[arg(long, value_name = "P", allow_hyphen_values = true, value_parser = super::numbers::percentage)]
    pub target_accuracy: Option<f64>,
    /// Hold out the last N training images as a validation set, measured at every evaluation.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::whole)]
    pub validation: Option<usize>,
    /// Print test accuracy every K rounds (always after the last).
    #[arg(long, default_value_t = 0, value_name = "K", allow_hyphen_values = true, value_parser = super::numbers::whole)]
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
    #[arg(long, default_value_t = 0, value_name = "K", requires = "save", allow_hyphen_values = true, value_parser = super::numbers::whole)]
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

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // Every setting and output path is checked before the data is loaded and training starts.
    for (flag, path) in [
        ("--save", &args.save),
        ("--metrics", &args.metrics),
        ("--plot", &args.plot),
    ] {
        if let Some(path) = path
            .as_deref()
            .filter(|p| !super::paths::is_stdout(p) || flag != "--metrics")
        {
            check_output_file(path, flag)?;
        }
    }
    let data_files = super::data::data_files(&args.data);
    let inputs: Vec<Named<'_>> = data_files.iter().map(|(f, p)| (*f, p.as_path())).collect();
    let outputs: Vec<Named<'_>> = [
        ("--save", &args.save),
        ("--metrics", &args.metrics),
        ("--plot", &args.plot),
    ]
    .into_iter()
    .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
    .collect();
    check_distinct(&inputs, &outputs)?;
    super::backend::check_backend(&args.backend)?;
    let plan = Plan::new(&args)?;
    check_hyper(plan.batch_size, plan.lr)?;
    let stop_after = args.stop_after.unwrap_or(plan.rounds);
    if stop_after < plan.first_round || stop_after > plan.rounds {
        anyhow::bail!(
            "--stop-after {stop_after} must lie between round {} and the planned --rounds {}",
            plan.first_round,
            plan.rounds
        );
    }
    if let Some(line) = unsaved_stop_warning(args.save.is_some(), stop_after, plan.rounds) {
        eprintln!("{line}");
    }
    let mut metrics = match args.metrics.as_deref() {
        Some(path) if super::paths::is_stdout(path) => Some(MetricsFile::to_writer(
            "standard output",
            super::paths::take_stdout()?,
        )),
        Some(path) => Some(MetricsFile::new(path)),
        None => None,
    };
    let startup = started.elapsed().as_secs_f64();
    let loading = Instant::now();
    let mut data = super::data::load(&args.data)?;
    if data.train.is_empty() {
        anyhow::bail!(
            "the training split in {} has no images: nothing to train on",
            data.dir.display()
        );
    }
    // Hashing the training set costs a fraction of a second: only when a model file needs it.
    // It fingerprints the data as stored, before the hold-out and preprocessing.
    let fingerprint =
        (args.save.is_some() || plan.resumed.is_some()).then(|| data_fingerprint(&data));
    if let (Some(info), Some(state), Some(now)) = (&plan.resumed, &plan.state, &fingerprint) {
        check_steps(state.steps, info, now, data.train.len())?;
    }
    let mut validation_set = match args.validation {
        Some(n) => Some(hold_out(&mut data, n)?),
        None => None,
    };
    let train_images = data.train.len();
    check_batch(
        args.batch_size.is_some(),
        plan.batch_size,
        train_images,
        args.validation,
    )?;
    let preprocess = plan.network.preprocess;
    preprocess.apply_to_data(&mut data);
    if let Some(set) = validation_set.as_mut() {
        preprocess.apply_to_set(set);
    }
    let loading = loading.elapsed().as_secs_f64();
    if let (Some(saved), Some(now)) = (&plan.resumed, &fingerprint) {
        resumed_data_warnings(saved, now, args.validation, &data.dir)
            .iter()
            .for_each(|line| eprintln!("{line}"));
    }
    let net = plan.network.clone();
    let (batch_size, lr, seed, shuffle) = (plan.batch_size, plan.lr, plan.seed, plan.shuffle);
    let recipe = plan.recipe();
    let setup = Instant::now();
    let mut engine = build_training_engine(
        &args.backend,
        net.clone(),
        &data,
        recipe.clone(),
        plan.state.clone(),
    )?;
    let mut validation = validation_set.as_ref().map(|set| Evaluator::new(set, &net));
    let setup = setup.elapsed().as_secs_f64();

    println!(
        "data: {} ({} training, {} test images{})",
        data.dir.display(),
        data.train.len(),
        data.test.len(),
        match &validation_set {
            Some(set) => format!(", {} held out for validation", set.len()),
            None => String::new(),
        }
    );
    println!("engine: {}", engine.describe());
    println!(
        "network {} ({}), batch {}, lr {}, seed {}, {}",
        net.shape_name(),
        net.describe(),
        batch_size,
        lr,
        seed,
        if shuffle {
            "shuffled every round"
        } else {
            "in order"
        }
    );
    if !recipe.is_plain_sgd() || plan.init != Init::Uniform {
        if args.resume.is_none() {
            print!("preset {}: ", args.preset.name());
        }
        println!(
            "training: {} init, {}, {} learning rate{}{}{}",
            plan.init.name(),
            plan.optimizer.describe(),
            plan.schedule.describe(),
            if plan.warmup > 0.0 {
                format!(" after {} rounds of warm-up", plan.warmup)
            } else {
                String::new()
            },
            if plan.dropout.is_active() {
                format!(", dropout {} on hidden layers", plan.dropout.rate)
            } else {
                String::new()
            },
            if plan.max_norm > 0.0 {
                format!(", max-norm {}", plan.max_norm)
            } else {
                String::new()
            }
        );
        if plan.noise.is_active() {
            let mut parts = Vec::new();
            if plan.noise.dropout.is_active() {
                parts.push(format!("input dropout {}", plan.noise.dropout.rate));
            }
            if plan.noise.augment.is_active() {
                parts.push(format!("augmented ({})", plan.noise.augment.describe()));
            }
            println!("training images: {}", parts.join(", "));
        }
    }
    print_first_output(engine.as_mut(), &data, net.loss)?;
    let initial = accuracy(engine.as_mut(), Split::Test, data.test.len())?;
    match (&args.resume, &plan.resumed) {
        (Some(path), Some(saved)) => {
            println!(
                "resumed from {} after round {}: test accuracy {initial:.2}%; running rounds {}..={}",
                path.display(),
                saved.rounds_completed,
                plan.first_round,
                stop_after
            );
        }
        _ => println!("test accuracy after initialisation: {initial:.2}%"),
    }
    let target_split = if validation.is_some() {
        "validation"
    } else {
        "test"
    };
    if let Some(target) = args.target_accuracy {
        let target = percent(target);
        println!("target: {target}% {target_split} accuracy, evaluated after every round");
    }

    let schedule = Schedule {
        rounds: stop_after,
        first_round: plan.first_round,
        eval_every: args.eval_every,
        shuffle,
        seed,
        target_accuracy: args.target_accuracy,
    };
    let progress = Progress::new(stop_after + 1 - plan.first_round);
    let info = plan.info(
        &args,
        &engine.describe(),
        fingerprint.clone().unwrap_or_default(),
    );
    let mut stopped = Stopped {
        planned: stop_after,
        ..Stopped::default()
    };
    interrupt::set_on_disk(&stopped.on_disk(&args));
    interrupt::set_graceful(true);
    let trained = train_with(
        engine.as_mut(),
        &schedule,
        data.train.len(),
        data.test.len(),
        validation.as_mut().map(|v| v as &mut dyn Validation),
        &mut |engine, record| {
            progress.line(&round_line(record, stop_after));
            if let Some(metrics) = metrics.as_mut() {
                metrics.push(record)?;
            }
            let reached = matches!(
                (args.target_accuracy, record.target_metric()),
                (Some(target), Some(acc)) if acc >= target
            );
            let last = record.round == stop_after || reached;
            let checkpoint = args.checkpoint_every > 0 && record.round % args.checkpoint_every == 0;
            if let (Some(path), true) = (&args.save, last || checkpoint) {
                let test_accuracy = match record.test_accuracy {
                    Some(acc) => acc,
                    None => accuracy(engine, Split::Test, data.test.len())?,
                };
                let training = TrainingInfo {
                    rounds_completed: record.round,
                    test_accuracy: Some(test_accuracy),
                    ..info.clone()
                };
                let network = engine.network()?;
                let optimizer_state = engine.optimizer_state()?;
                model_file::save(
                    path,
                    &SavedModel {
                        network,
                        training,
                        optimizer_state,
                    },
                )
                // The failure names the flag (a full disk, a folder that went away).
                .map_err(|e| mnist_gpu::Error::Config(format!("--save {e}")))?;
                stopped.saved = Some(record.round);
                interrupt::set_on_disk(&stopped.on_disk(&args));
                if !last {
                    progress.note(&format!(
                        "checkpoint: model after round {} saved to {}",
                        record.round,
                        path.display()
                    ));
                }
            }
            stopped.round = Some(record.round);
            if interrupt::requested() {
                return Err(mnist_gpu::Error::Interrupted);
            }
            Ok(())
        },
    );
    interrupt::set_graceful(false);
    progress.finish();
    let records = match trained {
        Err(mnist_gpu::Error::Interrupted) => {
            eprintln!("{}", stopped.line(&args));
            return Err(super::Exit(interrupt::EXIT_STATUS).into());
        }
        Err(mnist_gpu::Error::Diverged { round, what }) => {
            anyhow::bail!(diverged_line(round, &what, lr, &stopped.on_disk(&args)))
        }
        other => other?,
    };

    if let Some(last) = records.last().and_then(|r| r.test_accuracy) {
        println!("test accuracy after training: {last:.2}%");
    }
    if let Some(last) = records.last().and_then(|r| r.validation_accuracy) {
        println!("validation accuracy after training: {last:.2}%");
    }
    let mut seconds: Vec<f64> = records.iter().map(|r| r.seconds).collect();
    let total: f64 = seconds.iter().sum();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let gflops = net.flops_per_round(data.train.len()) / median / 1e9;
    println!(
        "time per round: median {median:.3} s ({gflops:.1} GFLOP/s), {total:.2} s for {} rounds",
        records.len()
    );
    if let Some(target) = args.target_accuracy {
        let (last, target) = (records.last(), percent(target));
        match last.and_then(|r| r.target_metric().map(|acc| (r.round, acc))) {
            Some((round, acc)) if args.target_accuracy.is_some_and(|t| acc >= t) => println!(
                "time to target: {acc:.2}% {target_split} accuracy ≥ {target}% after round {round}: {total:.2} s of training (the rounds' wall time)"
            ),
            _ => println!(
                "target not reached: {target}% {target_split} accuracy was not reached in {} rounds ({total:.2} s of training)",
                records.len()
            ),
        }
        let evaluation: f64 = records.iter().map(|r| r.eval_seconds).sum();
        println!(
            "apart from training: startup {startup:.2} s, data loading {loading:.2} s, engine setup (upload, kernel compilation) {setup:.2} s, evaluation {evaluation:.2} s; total wall time {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(path) = args
        .metrics
        .as_deref()
        .filter(|p| !super::paths::is_stdout(p))
    {
        println!("metrics written to {}", path.display());
    }
    if let Some(path) = &args.save {
        println!("model saved to {}", path.display());
    }
    if let Some(path) = &args.plot {
        mnist_gpu::report::plot::curves_png(&records, path).context("cannot write the plot")?;
        println!("curves drawn in {}", path.display());
    }
    if let Some(hint) = unsaved_hint(args.save.is_some(), total) {
        println!("{hint}");
    }
    Ok(())
}

/// Runs longer than this without --save end with a reminder that the model was not kept.
const UNSAVED_HINT_SECONDS: f64 = 30.0;

fn unsaved_hint(saved: bool, seconds: f64) -> Option<&'static str> {
    (!saved && seconds >= UNSAVED_HINT_SECONDS).then_some(
        "note: the trained model was not kept; pass --save FILE to keep it for eval, predict or --resume",
    )
}

/// How far an interrupted run got.
#[derive(Default)]
struct Stopped {
    /// The round the run was to stop after.
    planned: usize,
    /// The last round completed.
    round: Option<usize>,
    /// The round of the model last saved to --save.
    saved: Option<usize>,
}

impl Stopped {
    /// What is on disk: the model's file and round, and the metrics.
    fn on_disk(&self, args: &TrainArgs) -> String {
        let model = match (&args.save, self.saved) {
            (Some(path), Some(round)) => format!(
                "{} holds the model after round {round} (continue with --resume {})",
                path.display(),
                path.display()
            ),
            (Some(path), None) if path.exists() => format!(
                "no model saved by this run ({} is as it was)",
                path.display()
            ),
            (Some(path), None) => format!("no model saved ({} was not written)", path.display()),
            (None, _) => "no model saved".to_string(),
        };
        match (&args.metrics, self.round) {
            (Some(path), Some(round)) if !super::paths::is_stdout(path) => {
                format!("{model}; metrics up to round {round} in {}", path.display())
            }
            _ => model,
        }
    }

    /// The line an interrupted run ends with.
    fn line(&self, args: &TrainArgs) -> String {
        let at = match self.round {
            Some(round) => format!("after round {round} of {}", self.planned),
            None => "before the first round ended".to_string(),
        };
        format!("interrupted {at}: {}", self.on_disk(args))
    }
}

/// Moves the last `n` training images of `data` into a validation set.
fn hold_out(data: &mut Mnist, n: usize) -> anyhow::Result<Dataset> {
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
struct Plan {
    network: Network,
    init: Init,
    batch_size: usize,
    lr: f32,
    seed: u64,
    shuffle: bool,
    optimizer: Optimizer,
    schedule: LrSchedule,
    warmup: f64,
    dropout: Dropout,
    max_norm: f32,
    noise: InputNoise,
    /// The round the schedule spans to.
    rounds: usize,
    first_round: usize,
    /// How the resumed model was trained, when resuming, and its optimiser's state.
    resumed: Option<TrainingInfo>,
    state: Option<OptimizerState>,
}

impl Plan {
    fn new(args: &TrainArgs) -> anyhow::Result<Plan> {
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

    fn recipe(&self) -> Recipe {
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
    fn info(&self, args: &TrainArgs, engine: &str, fingerprint: String) -> TrainingInfo {
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

fn check_hyper(batch_size: usize, lr: f32) -> anyhow::Result<()> {
    if batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if !(lr.is_finite() && lr > 0.0) {
        anyhow::bail!("--lr must be a positive number, got {lr}");
    }
    Ok(())
}

/// The tutorial's first look at the network: the outputs for the first test image.
fn print_first_output(engine: &mut dyn Engine, data: &Mnist, loss: Loss) -> anyhow::Result<()> {
    if data.test.is_empty() {
        return Ok(());
    }
    let outputs = engine.outputs(Split::Test, 0)?;
    let shown: Vec<String> = outputs.iter().map(|o| format!("{o:.3}")).collect();
    println!("output for the first test image: [{}]", shown.join(", "));
    let class = argmax(&outputs);
    let sum: f32 = outputs.iter().sum();
    let confidence = 100.0 * outputs[class as usize] / sum.max(f32::MIN_POSITIVE);
    match loss {
        Loss::Mse => println!(
            "classified as {class} with confidence {confidence:.1}% (output {:.3}); real label {}",
            outputs[class as usize], data.test.labels[0]
        ),
        Loss::Xent => println!(
            "classified as {class} with probability {confidence:.1}% (softmax); real label {}",
            data.test.labels[0]
        ),
    }
    Ok(())
}

fn round_line(record: &RoundRecord, rounds: usize) -> String {
    let width = rounds.to_string().len();
    let mut line = format!(
        "round {:>width$}/{rounds}  cost {:.6}  {:.3} s",
        record.round, record.cost, record.seconds
    );
    if let Some(acc) = record.test_accuracy {
        line.push_str(&format!("  test accuracy {acc:.2}%"));
    }
    if let Some(acc) = record.validation_accuracy {
        line.push_str(&format!("  validation accuracy {acc:.2}%"));
    }
    line
}

/// A progress bar on a terminal, plain lines otherwise.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(rounds: usize) -> Self {
        if !std::io::stdout().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(rounds as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40.cyan/blue} round {pos}/{len} [{elapsed} < {eta}]")
        {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) => {
                bar.println(text);
                bar.inc(1);
            }
            None => println!("{text}"),
        }
    }

    /// A line that is not a round's (the bar does not advance).
    fn note(&self, text: &str) {
        match &self.0 {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_without_save_end_with_a_hint() {
        assert!(unsaved_hint(false, 45.0).is_some_and(|h| h.contains("--save")));
        assert!(unsaved_hint(false, 5.0).is_none());
        assert!(unsaved_hint(true, 45.0).is_none());
    }
}
