//! `mnist-gpu predict`: classify your own digit pictures with a saved model.

use std::path::PathBuf;

use super::paths::{Named, check_distinct};
use anyhow::Context;
use clap::Args;
use mnist_gpu::model_file;
use mnist_gpu::ops::Loss;
use mnist_gpu::predict::{network_input, read_picture, top_classes, write_inputs_png};
use mnist_gpu::report::activations::activations_pictures;

/// Each 28×28 input is drawn 8× larger by --show-input.
const SHOW_SCALE: usize = 8;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model file written by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Pictures of single digits: PNG, JPEG, BMP, GIF, WebP or TIFF, any colours (dark ink on
    /// light paper or light on dark).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Write the 28×28 inputs the network was fed (×8, side by side in the order given, each
    /// labelled with its file name) to a PNG (JPEG for a .jpg name); at most 100 pictures.
    #[arg(long, value_name = "FILE.png")]
    pub show_input: Option<PathBuf>,
    /// Draw what the network does with each picture to a PNG (JPEG for a .jpg name): its 28×28
    /// input, every hidden unit's activation (one cell per unit, darker is more active) and the
    /// outputs, one row per picture (at most 100 pictures).
    #[arg(long, value_name = "FILE.png")]
    pub show_activations: Option<PathBuf>,
    /// How many classes to list per picture.
    #[arg(long, default_value_t = 3, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least_one)]
    pub top: usize,
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    super::paths::check_picture_count(
        args.images.len(),
        [
            ("--show-input", &args.show_input),
            ("--show-activations", &args.show_activations),
        ],
    )?;
    let mut outputs: Vec<Named<'_>> = Vec::new();
    if let Some(path) = &args.show_input {
        super::paths::check_output_file(path, "--show-input")?;
        outputs.push(("--show-input", path.as_path()));
    }
    if let Some(path) = &args.show_activations {
        super::paths::check_output_file(path, "--show-activations")?;
        outputs.push(("--show-activations", path.as_path()));
    }
    if !outputs.is_empty() {
        let mut inputs: Vec<Named<'_>> = vec![("--model", args.model.as_path())];
        inputs.extend(args.images.iter().map(|p| ("the picture", p.as_path())));
        check_distinct(&inputs, &outputs)?;
    }
    let saved = model_file::load(&args.model).context("cannot load the model")?;
    // Every picture gets its line: the classes of a good one, an error for a bad one.
    let (mut inputs, mut captions, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for path in &args.images {
        match read_picture(path).and_then(|picture| network_input(&saved.network, path, &picture)) {
            Ok(input) => {
                let ranked: Vec<String> = top_classes(&saved.network, &input, args.top)
                    .with_context(|| format!("cannot classify {}", path.display()))?
                    .iter()
                    .map(|(class, p)| format!("{class} ({:.1}%)", 100.0 * p))
                    .collect();
                println!("{}: {}", path.display(), ranked.join(", "));
                captions.push(path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ));
                inputs.push(input);
            }
            Err(e) => {
                eprintln!("error: cannot use the picture {e}");
                failed += 1;
            }
        }
    }
    if !inputs.is_empty() {
        match saved.network.loss {
            Loss::Mse => {
                println!("(percentages: the network's 10 sigmoid outputs normalised to sum to 1)")
            }
            Loss::Xent => {
                println!("(percentages: the softmax probabilities of the network's outputs)")
            }
        }
    }
    if let Some(path) = &args.show_activations {
        if inputs.is_empty() {
            println!("no picture could be used: {} not drawn", path.display());
        } else {
            let rows: Vec<_> = inputs
                .iter()
                .zip(&captions)
                .map(|(input, caption)| {
                    let layers = saved.network.forward_layers(input);
                    let digit = mnist_gpu::model::argmax(layers.last().map_or(&[][..], |o| o));
                    (format!("{caption}: reads {digit}"), input.clone(), layers)
                })
                .collect();
            activations_pictures(&rows)
                .and_then(|canvas| canvas.save_png(path))
                .context("cannot draw the activations")?;
            println!("activations drawn to {}", path.display());
        }
    }
    if let Some(path) = &args.show_input {
        if inputs.is_empty() {
            println!("no picture could be used: {} not drawn", path.display());
        } else {
            write_inputs_png(path, &inputs, &captions, SHOW_SCALE)
                .context("cannot draw the inputs")?;
            println!("network inputs drawn to {}", path.display());
        }
    }
    if failed > 0 {
        // Each failure has its line already.
        return Err(super::Exit(1).into());
    }
    Ok(())
}
