//! The run of `mnist-gpu train`: checks, data, the loop driving `train_with` with its progress
//! and lines, and saving.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_gpu::data::{Mnist, Split};
use mnist_gpu::engine::Engine;
use mnist_gpu::engine::Validation;
use mnist_gpu::engine::cpu::Evaluator;
use mnist_gpu::model::argmax;
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo, data_fingerprint};
use mnist_gpu::ops::{Init, Loss};
use mnist_gpu::report::metrics::MetricsFile;
use mnist_gpu::train::{RoundRecord, Schedule, accuracy, train_with};

use super::flags::TrainArgs;
use super::plan::{
    Plan, check_batch, check_hyper, check_steps, hold_out, resumed_data_warnings,
    unsaved_stop_warning,
};
use crate::cli::backend::build_training_engine;
use crate::cli::interrupt;
use crate::cli::paths::{Named, check_distinct, check_output_file};

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
            .filter(|p| !crate::cli::paths::is_stdout(p) || flag != "--metrics")
        {
            check_output_file(path, flag)?;
        }
    }
    let data_files = crate::cli::data::data_files(&args.data);
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
    crate::cli::backend::check_backend(&args.backend)?;
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
        Some(path) if crate::cli::paths::is_stdout(path) => Some(MetricsFile::to_writer(
            "standard output",
            crate::cli::paths::take_stdout()?,
        )),
        Some(path) => Some(MetricsFile::new(path)),
        None => None,
    };
    let startup = started.elapsed().as_secs_f64();
    let loading = Instant::now();
    let mut data = crate::cli::data::load(&args.data)?;
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
            return Err(crate::cli::Exit(interrupt::EXIT_STATUS).into());
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
        .filter(|p| !crate::cli::paths::is_stdout(p))
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
            (Some(path), Some(round)) if !crate::cli::paths::is_stdout(path) => {
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

/// The one line a diverged run ends with: where it diverged, why it likely did, and what is on
/// disk (the --save file as it was, or its last good checkpoint).
fn diverged_line(round: usize, what: &str, lr: f32, on_disk: &str) -> String {
    format!(
        "training diverged in round {round} (checked after each round's last batch): {what}; \
         the learning rate {} is likely too large, try a smaller --lr such as {}; {on_disk}",
        short(lr),
        short(tenth(lr))
    )
}

/// A tenth of `x`, shifted in decimal so 1e30 gives 1e29, not 9.999999e28.
fn tenth(x: f32) -> f32 {
    let text = format!("{x:e}");
    text.split_once('e')
        .and_then(|(mantissa, exponent)| {
            let exponent: i32 = exponent.parse().ok()?;
            format!("{mantissa}e{}", exponent - 1).parse().ok()
        })
        .unwrap_or(x / 10.0)
}

/// A rate in a few characters: `0.5`, `1e30` (not thirty-one digits).
fn short(x: f32) -> String {
    if x != 0.0 && !(1e-3..1e4).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A percentage as typed, in at most a few digits: `98`, `99.5`, `1e-5`.
fn percent(value: f64) -> String {
    if value >= 0.01 {
        format!("{}", (value * 1e6).round() / 1e6)
    } else {
        format!("{value:e}")
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

    #[test]
    fn lines_are_short_and_say_what_to_do() {
        let line = diverged_line(2, "a weight of layer 1 became NaN", 1e30, "m is as it was");
        assert!(
            line.contains("round 2") && line.contains("smaller --lr"),
            "{line}"
        );
        assert!(!line.contains('\n') && line.contains("1e30") && line.contains("1e29"));
        assert_eq!(percent(98.0), "98");
        assert_eq!(percent(1e-300), "1e-300");
        assert!(percent(99.123456789).len() < 12);
    }
}
