//! `mnist-gpu export`: a saved model in another format (ONNX), preprocessing included.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use mnist_gpu::atomic_file::write_atomic;
use mnist_gpu::export::onnx::{self, DIGIT, INPUT, OPSET};
use mnist_gpu::model_file;

use super::paths::{check_distinct_files, check_output_file};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// ONNX (opset 20): runs in ONNX Runtime and other ONNX runtimes.
    Onnx,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Model file written by `train --save`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Where to write the exported model (its extension names the format: .onnx).
    #[arg(long, value_name = "FILE.onnx")]
    pub out: PathBuf,
    /// The format, whatever --out's extension [default: from --out's extension]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => match args.out.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("onnx") => Format::Onnx,
            _ => bail!(
                "--out {}: name a .onnx file, or say which format with --format onnx",
                args.out.display()
            ),
        },
    };
    check_output_file(&args.out, "--out")?;
    check_distinct_files(&[("--model", &args.model)], &[("--out", &args.out)])?;
    let saved = model_file::load(&args.model).context("cannot load the model")?;
    let started = web_time::Instant::now();
    let bytes = match format {
        Format::Onnx => onnx::to_onnx_bytes(&saved)?,
    };
    write_atomic(&args.out, &bytes)?;
    println!(
        "wrote {} (ONNX opset {OPSET}, {} bytes, {:.2} s): {} {}; input `{INPUT}` f32 N×1×28×28 \
         grey levels 0–255, outputs `{}` and `{DIGIT}`",
        args.out.display(),
        bytes.len(),
        started.elapsed().as_secs_f64(),
        saved.network.shape_name(),
        saved.network.describe(),
        onnx::scores_name(saved.network.loss),
    );
    Ok(())
}
