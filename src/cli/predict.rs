//! `mnist-gpu predict`: classify your own digit pictures with a saved model.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mnist_gpu::model_file;
use mnist_gpu::ops::Loss;
use mnist_gpu::predict::{mnist_input, read_png, top_classes, write_inputs_png};

/// Each 28×28 input is drawn 8× larger by --show-input.
const SHOW_SCALE: usize = 8;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model file written by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Pictures of single digits (PNG, any colour type; dark on light or light on dark).
    #[arg(required = true, value_name = "IMAGE.png")]
    pub images: Vec<PathBuf>,
    /// Write the 28×28 inputs the network was fed (×8, side by side in the order given) to a
    /// grey PNG.
    #[arg(long, value_name = "FILE.png")]
    pub show_input: Option<PathBuf>,
    /// How many classes to list per picture.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub top: usize,
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.show_input {
        super::paths::check_output_file(path, "--show-input")?;
    }
    let saved = model_file::load(&args.model).context("cannot load the model")?;
    // Every picture is read before anything is printed: a bad one stops the run at once.
    let inputs = args
        .images
        .iter()
        .map(|path| mnist_input(path, &read_png(path)?))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot use the picture")?;
    for (path, input) in args.images.iter().zip(&inputs) {
        let ranked: Vec<String> = top_classes(&saved.network, input, args.top.max(1))
            .iter()
            .map(|(class, p)| format!("{class} ({:.1}%)", 100.0 * p))
            .collect();
        println!("{}: {}", path.display(), ranked.join(", "));
    }
    match saved.network.loss {
        Loss::Mse => {
            println!("(percentages: the network's 10 sigmoid outputs normalised to sum to 1)")
        }
        Loss::Xent => println!("(percentages: the softmax probabilities of the network's outputs)"),
    }
    if let Some(path) = &args.show_input {
        write_inputs_png(path, &inputs, SHOW_SCALE)?;
        println!("network inputs drawn to {}", path.display());
    }
    Ok(())
}
