//! `mnist-gpu download`: fetch MNIST into the cache folder (or `--dir`), verified.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_gpu::data::checksums::MNIST_SHA256;
use mnist_gpu::data::download::{DEFAULT_MIRRORS, Outcome, Progress, download};
use mnist_gpu::data::locate::default_cache_dir;

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// Folder to download into [default: the user cache folder, e.g. ~/.cache/mnist-gpu/mnist]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Base URL to fetch the four .gz files from; repeat to try several in order (replaces the
    /// default PyTorch, TensorFlow and yann.lecun.com mirrors).
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// Accept any well-formed IDX files instead of only MNIST's (checked by SHA-256), to fetch
    /// another data set in MNIST's format, e.g. Fashion-MNIST, from its --mirror.
    #[arg(long, requires = "mirrors")]
    pub any_content: bool,
}

pub fn run(args: DownloadArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            default_cache_dir().context("no user cache folder to download into: pass --dir DIR")?
        }
    };
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "--dir {}: a file, not a folder to download into",
            dir.display()
        );
    }
    let mirrors = if args.mirrors.is_empty() {
        DEFAULT_MIRRORS.map(String::from).to_vec()
    } else {
        args.mirrors
    };
    let expected = if args.any_content {
        [None; 4]
    } else {
        MNIST_SHA256.map(Some)
    };
    fetch(&dir, &mirrors, expected)?;
    let what = if args.any_content {
        "the data"
    } else {
        "MNIST"
    };
    println!("{what} is ready in {}", dir.display());
    Ok(())
}

/// Downloads whatever MNIST files `dir` lacks and says what it did, one line per file.
pub fn fetch_mnist(dir: &Path, mirrors: &[String]) -> anyhow::Result<()> {
    fetch(dir, mirrors, MNIST_SHA256.map(Some))
}

fn fetch(dir: &Path, mirrors: &[String], expected: [Option<&str>; 4]) -> anyhow::Result<()> {
    let mut progress = TransferProgress::new(expected[0].is_some());
    download(dir, mirrors, expected, &mut progress)?;
    Ok(())
}

/// A byte progress bar on a terminal; otherwise one plain line per transfer.
struct TransferProgress {
    terminal: bool,
    bar: Option<ProgressBar>,
    /// Whether downloads are checked against checksums (else only as well-formed IDX).
    checksums: bool,
}

impl TransferProgress {
    fn new(checksums: bool) -> Self {
        TransferProgress {
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            checksums,
        }
    }
}

impl Progress for TransferProgress {
    fn start(&mut self, url: &str, total: Option<u64>) {
        if !self.terminal {
            // Called again once the size is known: one line per transfer is enough.
            if total.is_none() {
                println!("fetching {url}");
            }
            return;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::no_length(),
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} {bar:30.cyan/blue} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn file_done(&mut self, stem: &str, outcome: &Outcome) {
        match outcome {
            Outcome::AlreadyPresent { path } => {
                println!("{stem}: already present and valid ({})", path.display())
            }
            Outcome::Downloaded {
                path,
                url,
                bytes,
                rejected,
            } => {
                for reason in rejected {
                    println!("  skipped {reason}");
                }
                let check = if self.checksums {
                    "SHA-256 verified"
                } else {
                    "valid IDX"
                };
                println!(
                    "{stem}: {bytes} bytes from {url}, {check}, saved as {}",
                    path.display()
                );
            }
        }
    }
}
