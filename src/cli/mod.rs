//! Flags, sub-commands and their handlers.

mod backend;
mod bench;
mod data;
mod devices;
mod download;
mod eval;
mod export;
#[cfg(test)]
mod flags_fuzz;
pub mod interrupt;
mod numbers;
mod paths;
mod predict;
mod serve;
mod show;
mod train;
mod web_build;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "mnist-gpu",
    version,
    about = "Train a fully connected sigmoid network on MNIST with WGSL compute shaders (wgpu) or a fast native CPU path",
    after_help = "Examples:\n  mnist-gpu train --hidden 128 --rounds 100\n  mnist-gpu train --cpu --hidden 16,16 --rounds 20 --metrics m.jsonl\n  mnist-gpu show --count 10 --out digits.png\n  mnist-gpu serve --model m.safetensors"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a network and report cost and test accuracy per round.
    Train(Box<train::TrainArgs>),
    /// Download MNIST (four .gz files, checksums verified) into the cache folder or --dir.
    Download(download::DownloadArgs),
    /// Draw digits with their labels into a PNG (the first ten training digits by default).
    Show(show::ShowArgs),
    /// Accuracy, per-digit precision/recall and the confusion matrix of a saved model.
    Eval(eval::EvalArgs),
    /// Classify your own digit pictures (PNG, JPEG, BMP, GIF, WebP, TIFF) with a saved model.
    Predict(predict::PredictArgs),
    /// A local web page to draw digits on and watch the network read them, and its JSON API.
    Serve(serve::ServeArgs),
    /// List the GPU adapters wgpu finds (name, backend, type, driver, key limits).
    Devices(devices::DevicesArgs),
    /// Tune the GPU kernels on this adapter and time each product and a round (a table to
    /// paste into a bug report; --json for machines).
    Bench(bench::BenchArgs),
    /// Write a saved model as ONNX (preprocessing included) for ONNX Runtime and other runtimes.
    Export(export::ExportArgs),
}

/// Where the data comes from (shared by every command that reads it).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Folder holding the four MNIST IDX files (.gz or raw) [default: the folder named by the
    /// MNIST_GPU_DATA environment variable, else the user cache folder, downloading into it
    /// when empty]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Never download: fail if the data is not already there.
    #[arg(long)]
    pub offline: bool,
}

/// Ends the run with this exit status, printing nothing more: what went wrong is on stderr
/// already (a picture `predict` could not use, an interrupt's line).
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(*args),
        Command::Download(args) => download::run(args),
        Command::Show(args) => show::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Devices(args) => devices::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Export(args) => export::run(args),
    }
}
