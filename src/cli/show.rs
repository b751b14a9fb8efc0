//! `mnist-gpu show`: the tutorial's first look at the data, digits with their labels as a PNG;
//! with `--weights`, what a trained network's first layer looks for, one map per hidden unit.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::data::Split;
use mnist_gpu::report::grid::digit_grid_png;
use mnist_gpu::report::weights::{strongest_units, weight_maps_png};

use super::DataArgs;
use super::paths::{MAX_DIGITS, Named, check_distinct};

/// The most digits one picture holds (a 10-column grid of 100 rows is already very tall).
/// Digits per row.
const COLUMNS: usize = 10;

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Which images to draw from.
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    pub split: SplitArg,
    /// How many digits (1 to 1000) or weight maps to draw [default: 10 digits; with --weights
    /// every unit, at most the 100 strongest]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::whole)]
    pub count: Option<usize>,
    /// Index of the first digit drawn.
    #[arg(long, default_value_t = 0, value_name = "INDEX", allow_hyphen_values = true, value_parser = super::numbers::whole)]
    pub start: usize,
    /// The picture to write: PNG, or JPEG when its name ends in .jpg or .jpeg.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Draw the first layer's weights of --model instead of digits: one 28×28 map per hidden
    /// unit (red where a lit pixel raises its input, blue where it lowers it), the units with
    /// the largest weights first.
    #[arg(long, requires = "model", conflicts_with_all = ["split", "start"])]
    pub weights: bool,
    /// The trained model (.safetensors) --weights draws.
    #[arg(long, value_name = "FILE", requires = "weights")]
    pub model: Option<PathBuf>,
}

/// At most this many weight maps in one picture (the strongest units of a wider layer).
const MAX_MAPS: usize = 100;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SplitArg {
    Train,
    Test,
}

impl From<SplitArg> for Split {
    fn from(split: SplitArg) -> Split {
        match split {
            SplitArg::Train => Split::Train,
            SplitArg::Test => Split::Test,
        }
    }
}

pub fn run(args: ShowArgs) -> anyhow::Result<()> {
    if let Some(model) = &args.model {
        return weights(&args, model);
    }
    let count = args.count.unwrap_or(10);
    if !(1..=MAX_DIGITS).contains(&count) {
        anyhow::bail!("--count must be between 1 and {MAX_DIGITS}, not {count}");
    }
    super::paths::check_output_file(&args.out, "--out")?;
    let data_files = super::data::data_files(&args.data);
    let inputs: Vec<Named<'_>> = data_files.iter().map(|(f, p)| (*f, p.as_path())).collect();
    check_distinct(&inputs, &[("--out", args.out.as_path())])?;
    let data = super::data::load(&args.data)?;
    let split = Split::from(args.split);
    let images = data.split(split);
    if args.start >= images.len() {
        anyhow::bail!(
            "--start {} is past the end of the {} split ({} images, so at most {})",
            args.start,
            split.name(),
            images.len(),
            images.len().saturating_sub(1)
        );
    }
    let end = (args.start + count).min(images.len());
    let digits: Vec<&[u8]> = (args.start..end).map(|i| images.image(i)).collect();
    let captions: Vec<String> = (args.start..end)
        .map(|i| images.labels[i].to_string())
        .collect();
    digit_grid_png(&digits, &captions, COLUMNS, &args.out).context("cannot write the picture")?;
    let shown = end - args.start;
    let note = if shown < count {
        format!(" (only {shown} of the {count} asked for exist)")
    } else {
        String::new()
    };
    println!(
        "wrote {}: {} {} digits from index {} with their labels{note}",
        args.out.display(),
        shown,
        split.name(),
        args.start
    );
    Ok(())
}

/// `show --weights`: the first layer's weight maps of `model`.
fn weights(args: &ShowArgs, model: &std::path::Path) -> anyhow::Result<()> {
    super::paths::check_output_file(&args.out, "--out")?;
    check_distinct(&[("--model", model)], &[("--out", args.out.as_path())])?;
    let saved = mnist_gpu::model_file::load(model)
        .with_context(|| format!("cannot read the model {}", model.display()))?;
    let first = &saved.network.layers[0];
    let count = args.count.unwrap_or(first.outputs.min(MAX_MAPS));
    if !(1..=first.outputs.min(MAX_MAPS)).contains(&count) {
        anyhow::bail!(
            "--count must be between 1 and {} for this model's {} first-layer units, not {count}",
            first.outputs.min(MAX_MAPS),
            first.outputs
        );
    }
    let units = strongest_units(&first.weights, first.inputs, count);
    let title = format!(
        "first-layer weights, {} of {} units, strongest first",
        units.len(),
        first.outputs
    );
    weight_maps_png(&first.weights, &units, COLUMNS, &title, &args.out)
        .context("cannot write the picture")?;
    println!(
        "wrote {}: the weight maps of {} of the {} first-layer units of {}",
        args.out.display(),
        units.len(),
        first.outputs,
        model.display()
    );
    Ok(())
}
