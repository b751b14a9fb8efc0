//! Flags, sub-commands and their handlers.

mod backend;
mod data;
mod devices;
mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "mnist-gpu",
    version,
    about = "Train a fully connected sigmoid network on MNIST with WGSL compute shaders (wgpu) or a fast native CPU path",
    after_help = "Examples:\n  mnist-gpu train --hidden 128 --rounds 100\n  mnist-gpu train --cpu --hidden 16,16 --rounds 20 --metrics m.jsonl\n  mnist-gpu show --count 10 --out digits.png"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a network and report cost and test accuracy per round.
    Train(train::TrainArgs),
    /// List the GPU adapters wgpu finds (name, backend, type, driver, key limits).
    Devices(devices::DevicesArgs),
}

/// Where the data comes from (shared by every command that reads it).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Folder holding the four MNIST IDX files (.gz or raw) [default: the user cache folder,
    /// downloading into it when empty]
    #[arg(long, env = "MNIST_GPU_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Never download: fail if the data is not already there.
    #[arg(long)]
    pub offline: bool,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Devices(args) => devices::run(args),
    }
}
