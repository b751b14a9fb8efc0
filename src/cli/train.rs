//! `mnist-gpu train`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_gpu::data::{Mnist, Split};
use mnist_gpu::engine::cpu::argmax;
use mnist_gpu::engine::{Engine, Hyper};
use mnist_gpu::model::{Network, parse_hidden};
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo, data_fingerprint};
use mnist_gpu::report::metrics::MetricsFile;
use mnist_gpu::train::{RoundRecord, Schedule, accuracy, train_with};

use super::DataArgs;
use super::backend::{BackendArgs, build_engine};
use super::interrupt;
use super::paths::check_output_file;

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Hidden layer sizes, comma-separated: 128, or 16,16 for two layers [default: 128; with
    /// --resume: the model's]
    #[arg(long, value_name = "SIZES")]
    pub hidden: Option<String>,
    /// Rounds (passes over all training images); with --resume, the round to stop after.
    #[arg(
        long,
        default_value_t = 20,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = super::numbers::at_least_one
    )]
    pub rounds: usize,
    /// Images per gradient step (60000: pure full-batch gradient descent) [default: 1000; with
    /// --resume: the model's]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = super::numbers::at_least_one)]
    pub batch_size: Option<usize>,
    /// Learning rate of plain gradient descent [default: 2; with --resume: the model's]
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Seed of the initial weights (and of --shuffle's orders) [default: 42; with --resume: the
    /// model's]
    #[arg(long, allow_negative_numbers = true, value_parser = super::numbers::seed)]
    pub seed: Option<u64>,
    /// Visit the training images in a new seeded random order every round.
    #[arg(long)]
    pub shuffle: bool,
    /// Print test accuracy every K rounds (always after the last).
    #[arg(long, default_value_t = 0, value_name = "K", allow_negative_numbers = true, value_parser = super::numbers::whole)]
    pub eval_every: usize,
    /// Write one JSON object per round to FILE (round, cost, seconds, test_accuracy); `-`
    /// streams them to standard output (the run's own lines then go to stderr).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Draw the cost and test accuracy per round into a PNG after training.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Save the trained network to FILE (safetensors) after the last round.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Also save to the --save FILE every K rounds (each save replaces the last, atomically).
    #[arg(long, default_value_t = 0, value_name = "K", requires = "save", allow_negative_numbers = true, value_parser = super::numbers::whole)]
    pub checkpoint_every: usize,
    /// Continue training a saved network: runs its next rounds up to --rounds, with its layer
    /// sizes and (unless given) its batch size, learning rate, seed and shuffling.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
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
    super::backend::check_backend(&args.backend)?;
    let plan = Plan::new(&args)?;
    check_hyper(plan.batch_size, plan.lr)?;
    let mut metrics = match args.metrics.as_deref() {
        Some(path) if super::paths::is_stdout(path) => Some(MetricsFile::to_writer(
            "standard output",
            super::paths::take_stdout()?,
        )),
        Some(path) => Some(MetricsFile::new(path)),
        None => None,
    };
    let data = super::data::load(&args.data)?;
    // An explicit --batch-size over the training set is a mistake; the default (or a resumed
    // run's size) simply makes each step full-batch on a small data set.
    if args.batch_size.is_some() && plan.batch_size > data.train.len() {
        anyhow::bail!(
            "--batch-size {} is larger than the training set ({} images); {} is full-batch gradient descent",
            plan.batch_size,
            data.train.len(),
            data.train.len()
        );
    }
    // Hashing the training set costs a fraction of a second: only when a model file needs it.
    let fingerprint =
        (args.save.is_some() || plan.resumed.is_some()).then(|| data_fingerprint(&data));
    if let (Some(saved), Some(now)) = (&plan.resumed, &fingerprint) {
        if saved.data_fingerprint != *now {
            eprintln!(
                "warning: the model was trained on other data than {} (fingerprints differ)",
                data.dir.display()
            );
        }
    }
    let net = plan.network.clone();
    let (batch_size, lr, seed, shuffle) = (plan.batch_size, plan.lr, plan.seed, plan.shuffle);
    let hyper = Hyper {
        batch_size,
        learning_rate: lr,
    };
    let mut engine = build_engine(&args.backend, net.clone(), &data, hyper)?;

    println!(
        "data: {} ({} training, {} test images)",
        data.dir.display(),
        data.train.len(),
        data.test.len()
    );
    println!("engine: {}", engine.describe());
    println!(
        "network {} (sigmoid layers, quadratic cost), batch {}, lr {}, seed {}, {}",
        net.shape_name(),
        batch_size,
        lr,
        seed,
        if shuffle {
            "shuffled every round"
        } else {
            "in order"
        }
    );
    print_first_output(engine.as_mut(), &data)?;
    let initial = accuracy(engine.as_mut(), Split::Test, data.test.len())?;
    match (&args.resume, &plan.resumed) {
        (Some(path), Some(saved)) => {
            println!(
                "resumed from {} after round {}: test accuracy {initial:.2}%; running rounds {}..={}",
                path.display(),
                saved.rounds_completed,
                plan.first_round,
                args.rounds
            );
        }
        _ => println!("test accuracy after initialisation: {initial:.2}%"),
    }

    let schedule = Schedule {
        rounds: args.rounds,
        first_round: plan.first_round,
        eval_every: args.eval_every,
        shuffle,
        seed,
    };
    let progress = Progress::new(args.rounds + 1 - plan.first_round);
    let mut stopped = Stopped::default();
    interrupt::set_on_disk(&stopped.on_disk(&args));
    interrupt::set_graceful(true);
    let trained = train_with(
        engine.as_mut(),
        &schedule,
        data.train.len(),
        data.test.len(),
        &mut |engine, record| {
            progress.line(&round_line(record, args.rounds));
            if let Some(metrics) = metrics.as_mut() {
                metrics.push(record)?;
            }
            let last = record.round == args.rounds;
            let checkpoint = args.checkpoint_every > 0 && record.round % args.checkpoint_every == 0;
            if let (Some(path), true) = (&args.save, last || checkpoint) {
                let test_accuracy = match record.test_accuracy {
                    Some(acc) => acc,
                    None => accuracy(engine, Split::Test, data.test.len())?,
                };
                let training = TrainingInfo {
                    rounds_completed: record.round,
                    batch_size,
                    learning_rate: lr,
                    seed,
                    shuffle,
                    engine: engine.describe(),
                    data_fingerprint: fingerprint.clone().unwrap_or_default(),
                    test_accuracy: Some(test_accuracy),
                };
                let network = engine.network()?;
                model_file::save(path, &SavedModel { network, training })?;
                stopped.saved = Some(record.round);
                interrupt::set_on_disk(&stopped.on_disk(&args));
                if !last {
                    progress.line(&format!(
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
        other => other?,
    };

    if let Some(last) = records.last().and_then(|r| r.test_accuracy) {
        println!("test accuracy after training: {last:.2}%");
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
            Some(round) => format!("after round {round} of {}", args.rounds),
            None => "before the first round ended".to_string(),
        };
        format!("interrupted {at}: {}", self.on_disk(args))
    }
}

/// The network to train and the settings to train it with: fresh from the flags, or the saved
/// run's, continued (flags given explicitly win, with a warning when they change the run).
struct Plan {
    network: Network,
    batch_size: usize,
    lr: f32,
    seed: u64,
    shuffle: bool,
    first_round: usize,
    /// How the resumed model was trained, when resuming.
    resumed: Option<TrainingInfo>,
}

impl Plan {
    fn new(args: &TrainArgs) -> anyhow::Result<Plan> {
        let Some(path) = &args.resume else {
            let hidden = parse_hidden(args.hidden.as_deref().unwrap_or("128"))?;
            let seed = args.seed.unwrap_or(42);
            return Ok(Plan {
                network: Network::new(&hidden, seed)?,
                batch_size: args.batch_size.unwrap_or(1000),
                lr: args.lr.unwrap_or(2.0),
                seed,
                shuffle: args.shuffle,
                first_round: 1,
                resumed: None,
            });
        };
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
        if args.rounds <= info.rounds_completed {
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
        Ok(Plan {
            network: saved.network,
            batch_size,
            lr,
            seed,
            shuffle: args.shuffle || info.shuffle,
            first_round: info.rounds_completed + 1,
            resumed: Some(info),
        })
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
fn print_first_output(engine: &mut dyn Engine, data: &Mnist) -> anyhow::Result<()> {
    if data.test.is_empty() {
        return Ok(());
    }
    let outputs = engine.outputs(Split::Test, 0)?;
    let shown: Vec<String> = outputs.iter().map(|o| format!("{o:.3}")).collect();
    println!("output for the first test image: [{}]", shown.join(", "));
    let class = argmax(&outputs);
    let sum: f32 = outputs.iter().sum();
    println!(
        "classified as {class} with confidence {:.1}% (output {:.3}); real label {}",
        100.0 * outputs[class as usize] / sum.max(f32::MIN_POSITIVE),
        outputs[class as usize],
        data.test.labels[0]
    );
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

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
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
