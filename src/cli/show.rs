//! `mnist-gpu show`: the tutorial's first look at the data, digits with their labels as a PNG.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::data::Split;
use mnist_gpu::report::grid::digit_grid_png;

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
    /// How many digits to draw (1 to 1000).
    #[arg(long, default_value_t = 10, value_name = "N", allow_negative_numbers = true, value_parser = super::numbers::whole)]
    pub count: usize,
    /// Index of the first digit drawn.
    #[arg(long, default_value_t = 0, value_name = "INDEX", allow_negative_numbers = true, value_parser = super::numbers::whole)]
    pub start: usize,
    /// PNG file to write.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
}

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
    if !(1..=MAX_DIGITS).contains(&args.count) {
        anyhow::bail!(
            "--count must be between 1 and {MAX_DIGITS}, not {}",
            args.count
        );
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
    let end = (args.start + args.count).min(images.len());
    let digits: Vec<&[u8]> = (args.start..end).map(|i| images.image(i)).collect();
    let captions: Vec<String> = (args.start..end)
        .map(|i| images.labels[i].to_string())
        .collect();
    digit_grid_png(&digits, &captions, COLUMNS, &args.out).context("cannot write the picture")?;
    let shown = end - args.start;
    let note = if shown < args.count {
        format!(" (only {shown} of the {} asked for exist)", args.count)
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
