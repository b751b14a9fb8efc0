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
use mnist_gpu::report::metrics::MetricsFile;
use mnist_gpu::train::{RoundRecord, Schedule, accuracy, train};

use super::DataArgs;
use super::backend::{BackendArgs, build_engine};

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Hidden layer sizes, comma-separated: 128, or 16,16 for two layers.
    #[arg(long, default_value = "128", value_name = "SIZES")]
    pub hidden: String,
    /// Rounds (passes over all training images).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub rounds: usize,
    /// Images per gradient step (60000: pure full-batch gradient descent).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: usize,
    /// Learning rate of plain gradient descent.
    #[arg(
        long,
        default_value_t = 2.0,
        value_name = "RATE",
        allow_negative_numbers = true
    )]
    pub lr: f32,
    /// Seed of the initial weights (and of --shuffle's orders).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Visit the training images in a new seeded random order every round.
    #[arg(long)]
    pub shuffle: bool,
    /// Print test accuracy every K rounds (always after the last).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub eval_every: usize,
    /// Write one JSON object per round to FILE (round, cost, seconds, test_accuracy).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Draw the cost and test accuracy per round into a PNG after training.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    // Every setting is checked before the data is loaded (or downloaded) and training starts.
    let hidden = parse_hidden(&args.hidden)?;
    if args.rounds == 0 {
        anyhow::bail!("--rounds must be at least 1");
    }
    if let Some(path) = &args.plot {
        super::paths::check_output_file(path, "--plot")?;
    }
    let hyper = Hyper {
        batch_size: args.batch_size,
        learning_rate: args.lr,
    };
    check_hyper(hyper)?;
    if let Some(path) = &args.metrics {
        super::paths::check_output_file(path, "--metrics")?;
    }
    let data = super::data::load(&args.data)?;
    let net = Network::new(&hidden, args.seed)?;
    let mut engine = build_engine(&args.backend, net.clone(), &data, hyper)?;
    let mut metrics = args.metrics.as_deref().map(MetricsFile::new);

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
        args.batch_size,
        args.lr,
        args.seed,
        if args.shuffle {
            "shuffled every round"
        } else {
            "in order"
        }
    );
    print_first_output(engine.as_mut(), &data)?;
    let initial = accuracy(engine.as_mut(), Split::Test, data.test.len())?;
    println!("test accuracy after initialisation: {initial:.2}%");

    let schedule = Schedule {
        rounds: args.rounds,
        first_round: 1,
        eval_every: args.eval_every,
        shuffle: args.shuffle,
        seed: args.seed,
    };
    let progress = Progress::new(args.rounds);
    let records = train(
        engine.as_mut(),
        &schedule,
        data.train.len(),
        data.test.len(),
        &mut |record| {
            progress.line(&round_line(record, args.rounds));
            if let Some(metrics) = metrics.as_mut() {
                metrics.push(record)?;
            }
            Ok(())
        },
    )?;
    progress.finish();

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
    if let Some(path) = &args.metrics {
        println!("metrics written to {}", path.display());
    }
    if let Some(path) = &args.plot {
        mnist_gpu::report::plot::curves_png(&records, path).context("cannot write the plot")?;
        println!("curves drawn in {}", path.display());
    }
    Ok(())
}

fn check_hyper(hyper: Hyper) -> anyhow::Result<()> {
    if hyper.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if !(hyper.learning_rate.is_finite() && hyper.learning_rate > 0.0) {
        anyhow::bail!(
            "--lr must be a positive number, got {}",
            hyper.learning_rate
        );
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
