//! `mnist-gpu eval`: accuracy, per-digit precision and recall, and the confusion matrix of a
//! saved model on one split.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mnist_gpu::data::Split;
use mnist_gpu::engine::Pixels;
use mnist_gpu::model::CLASSES;
use mnist_gpu::model_file::{self, data_fingerprint};
use mnist_gpu::report::confusion::confusion_png;
use mnist_gpu::report::evaluation::Confusion;
use mnist_gpu::report::grid::{misclassified_caption, titled_digit_grid_png};

use super::DataArgs;
use super::backend::{BackendArgs, build_inference};
use super::paths::{Named, check_distinct};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Test,
    Train,
}

impl From<SplitArg> for Split {
    fn from(split: SplitArg) -> Split {
        match split {
            SplitArg::Test => Split::Test,
            SplitArg::Train => Split::Train,
        }
    }
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model file written by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which images to classify.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Also draw the confusion matrix as a picture (PNG; JPEG for a .jpg name).
    #[arg(long, value_name = "FILE.png")]
    pub confusion: Option<PathBuf>,
    /// Also draw the first --count misclassified images with their labels.
    #[arg(long, value_name = "FILE.png")]
    pub misclassified: Option<PathBuf>,
    /// How many misclassified images --misclassified draws.
    #[arg(
        long,
        default_value_t = 50,
        value_name = "N",
        requires = "misclassified",
        allow_hyphen_values = true,
        value_parser = super::numbers::at_least_one
    )]
    pub count: usize,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.count > super::paths::MAX_DIGITS {
        anyhow::bail!(
            "--count must be between 1 and {}, not {}",
            super::paths::MAX_DIGITS,
            args.count
        );
    }
    for (flag, path) in [
        ("--confusion", &args.confusion),
        ("--misclassified", &args.misclassified),
    ] {
        if let Some(path) = path {
            super::paths::check_output_file(path, flag)?;
        }
    }
    let data_files = super::data::data_files(&args.data);
    let mut inputs: Vec<Named<'_>> = vec![("--model", args.model.as_path())];
    inputs.extend(data_files.iter().map(|(f, p)| (*f, p.as_path())));
    let outputs: Vec<Named<'_>> = [
        ("--confusion", &args.confusion),
        ("--misclassified", &args.misclassified),
    ]
    .into_iter()
    .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
    .collect();
    check_distinct(&inputs, &outputs)?;
    super::backend::check_backend(&args.backend)?;
    let saved = model_file::load(&args.model).context("cannot load the model")?;
    let mut data = super::data::load(&args.data)?;
    let split = Split::from(args.split);
    let info = &saved.training;
    println!(
        "model: {} ({}, {}; {} init, {}; {} rounds, batch {}, lr {}, seed {}, {}; trained on {})",
        args.model.display(),
        saved.network.shape_name(),
        saved.network.describe(),
        info.init.name(),
        info.optimizer.describe(),
        info.rounds_completed,
        info.batch_size,
        info.learning_rate,
        info.seed,
        if info.shuffle { "shuffled" } else { "in order" },
        info.engine
    );
    if info.data_fingerprint != data_fingerprint(&data) {
        println!(
            "note: the model was trained on other training data than {}",
            data.dir.display()
        );
    }
    // The images as the network saw them in training.
    saved.network.preprocess.apply_to_data(&mut data);
    let mut engine = build_inference(&args.backend, &saved.network, info.batch_size)?;
    println!("engine: {}", engine.describe());
    let set = data.split(split);
    let labels = &set.labels;
    let predictions = engine.predictions(Pixels::Bytes(&set.images))?;
    let confusion = Confusion::new(labels, &predictions, CLASSES)?;
    println!(
        "{} split: {} of {} images classified correctly: accuracy {:.2}%",
        split.name(),
        confusion.correct(),
        confusion.total(),
        confusion.accuracy()
    );
    if let (Split::Test, Some(saved_acc)) = (split, info.test_accuracy) {
        println!("(training measured {saved_acc:.2}% on the test split)");
    }
    println!();
    print!("{}", confusion.class_table());
    println!();
    println!("confusion matrix (rows: real digit, columns: predicted digit):");
    print!("{}", confusion.matrix_table());
    if let Some(path) = &args.confusion {
        let mut matrix = [[0usize; 10]; 10];
        for (truth, row) in matrix.iter_mut().enumerate() {
            for (predicted, cell) in row.iter_mut().enumerate() {
                *cell = confusion.count(truth, predicted);
            }
        }
        confusion_png(&matrix, path).context("cannot draw the confusion matrix")?;
        println!("confusion matrix drawn in {}", path.display());
    }
    if let Some(path) = &args.misclassified {
        let set = data.split(split);
        let wrong: Vec<usize> = (0..set.len())
            .filter(|&i| predictions[i] != set.labels[i])
            .take(args.count)
            .collect();
        if wrong.is_empty() {
            println!(
                "no misclassified digits in the {} split: {} not drawn",
                split.name(),
                path.display()
            );
            return Ok(());
        }
        let images: Vec<&[u8]> = wrong.iter().map(|&i| set.image(i)).collect();
        let captions: Vec<String> = wrong
            .iter()
            .map(|&i| misclassified_caption(set.labels[i], predictions[i]))
            .collect();
        let title = format!(
            "first {} misclassified {} digits (true→predicted)",
            wrong.len(),
            split.name()
        );
        titled_digit_grid_png(&title, &images, &captions, 10, path)
            .context("cannot draw the misclassified digits")?;
        println!(
            "{} misclassified digits drawn in {}",
            wrong.len(),
            path.display()
        );
    }
    Ok(())
}
