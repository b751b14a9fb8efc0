//! `mnist-gpu serve`: a local web page to draw digits on, and its JSON API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use mnist_gpu::data::Split;
use mnist_gpu::model_file::{self, SavedModel, data_fingerprint};
use mnist_gpu::preset::PresetName;
use mnist_gpu::serve::files::WebFiles;
use mnist_gpu::serve::{self, AppState, EngineClassifier, ModelCard, Predictor};
use mnist_gpu::train::{Schedule, train};

use super::DataArgs;
use super::backend::{BackendArgs, build_inference, build_training_engine};

#[derive(Args, Debug)]
#[command(
    after_help = "--cpu and --backend choose the engine that runs the predictions (and trains the quick model), as `train` and `eval` choose it. --data and --offline apply to the quick model trained when --model is not given.\n\nExamples:\n  mnist-gpu serve --model m.safetensors\n  mnist-gpu serve                      # trains a quick model first\n  curl -s http://127.0.0.1:8000/api/model"
)]
pub struct ServeArgs {
    /// Model file written by `train --save` [default: train a quick model first, in seconds]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000, allow_hyphen_values = true)]
    pub port: u16,
    /// Address to listen on. Anything but a loopback address makes the page reachable from
    /// the network.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDRESS")]
    pub host: String,
    /// The page's in-browser trainer, as `tools/build-web` writes it [default: the folder named
    /// by the MNIST_GPU_WEB environment variable, else the `web` folder beside the folder of
    /// this program (target/web for a built checkout), else the user data folder's
    /// mnist-gpu/web (where `tools/build-web` installs it, e.g. ~/.local/share/mnist-gpu/web)]
    #[arg(long, value_name = "DIR")]
    pub web: Option<PathBuf>,
    // Where the quick model's training data comes from (only without --model), and what the
    // page's in-browser trainer fetches.
    #[command(flatten)]
    pub data: DataArgs,
    // The engine that runs the predictions (and trains the quick model), chosen as `eval` and
    // `train` choose it.
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// The quick model's recipe: `train --preset fast` (the shortest measured time to 98% test
/// accuracy) over two rounds, its cosine schedule spanning them: about 98% in a second or two
/// on a 2-core CPU.
const QUICK_ROUNDS: usize = 2;
/// How often the server checks whether a stop was asked for.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(50);
const QUICK_SEED: u64 = 42;
/// How long the runtime waits for its blocking threads once the server has stopped.
const RUNTIME_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
/// Names the web build's folder (an empty value counts as unset).
const WEB_ENV: &str = "MNIST_GPU_WEB";

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ip = parse_host(&args.host)?;
    let (model, source, trained_at, shown) = match &args.model {
        Some(path) => {
            let model = model_file::load(path).context("cannot load the model")?;
            let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            // The card names the file, not where it lives: the page may be seen by others.
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            );
            (model, name, modified, path.display().to_string())
        }
        None => {
            let model = quick_model(&args)?;
            let source = "a quick model trained when the server started".to_string();
            (model, source.clone(), Some(SystemTime::now()), source)
        }
    };
    println!(
        "model: {} ({}, {} rounds{})",
        shown,
        model.network.shape_name(),
        model.training.rounds_completed,
        model
            .training
            .test_accuracy
            .map(|a| format!(", test accuracy {a:.2}%"))
            .unwrap_or_default()
    );
    let network = model.network.clone();
    let backend = args.backend.clone();
    let rows = model.training.batch_size;
    // The engine lives on the classifier's thread (a GPU engine need not be `Send`).
    let (predictor, worker) = Predictor::start_with(move || {
        build_inference(&backend, &network, rows)
            .map(EngineClassifier::new)
            .map_err(|e| format!("{e:#}"))
    })
    .context("cannot set up the engine for predictions")?;
    println!("predictions: {}", predictor.describe());
    let card = ModelCard::new(&model, source, trained_at, predictor.describe());
    let files = web_files(&args);
    let app = serve::router(AppState {
        predictor,
        preprocess: model.network.preprocess,
        card,
        body_timeout: serve::BODY_TIMEOUT,
        files,
    });

    few_malloc_arenas();
    // File reads run on the blocking pool, one thread per read in flight: tokio's default of
    // 512 threads would reserve a stack (and often a malloc arena) each for 128 downloads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(serve::BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async {
        let addr = SocketAddr::new(ip, args.port);
        let listener = serve::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} (is another server using the port? pass --port)")
        })?;
        let local = listener
            .local_addr()
            .context("cannot read the bound address")?;
        if let Some(warning) = exposure_warning(ip) {
            eprintln!("{warning}");
        }
        println!("serving the page on {} (Ctrl-C stops)", page_url(local));
        // A first Ctrl-C or SIGTERM (`systemctl stop`, `docker stop`) shuts the server down
        // cleanly: the interrupt handler only records it while serving; a second one ends the
        // process at once.
        super::interrupt::set_graceful(true);
        serve::run(listener, app, serve::HEADER_TIMEOUT, async {
            while !super::interrupt::requested() {
                tokio::time::sleep(STOP_POLL).await;
            }
        })
        .await;
        super::interrupt::set_graceful(false);
        anyhow::Ok(())
    })?;
    // A file operation stuck in the blocking pool (a read of something that never answers)
    // must not keep the process alive.
    runtime.shutdown_timeout(RUNTIME_GRACE);
    // Every handle to the classifier has gone with the server: its thread ends.
    let _ = worker.join();
    println!("stopped");
    // Stopped by a signal, as every interrupted command: exit status 130.
    Err(super::Exit(super::interrupt::EXIT_STATUS).into())
}

/// The in-browser trainer's files: the web build and the data folder, each when found; one
/// line says what the page's "Train in this browser" panel will have.
fn web_files(args: &ServeArgs) -> WebFiles {
    let env = std::env::var_os(WEB_ENV).filter(|value| !value.is_empty());
    let exe = std::env::current_exe().ok();
    let candidates = super::web_build::candidates(
        args.web.as_deref(),
        env.as_deref().map(Path::new),
        exe.as_deref(),
        dirs::data_dir().as_deref(),
    );
    let pkg = super::web_build::first_built(&candidates);
    let data = super::data::location(&args.data).ok().map(|l| l.dir);
    let files = WebFiles::find(pkg.as_deref(), data.as_deref());
    match (&files.pkg, &files.data_missing) {
        (Some(dir), None) => println!(
            "in-browser training: {} with the data in {}",
            dir.display(),
            data.as_deref().unwrap_or(Path::new("")).display()
        ),
        (Some(dir), Some(_)) => println!("in-browser training: {}", dir.display()),
        (None, _) => {}
    }
    if files.pkg.is_none() {
        println!(
            "in-browser training: not built (run tools/build-web; looked in {})",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(why) = &files.data_missing {
        println!(
            "in-browser training: {why}{}",
            data.map(|d| format!(" ({})", d.display()))
                .unwrap_or_default()
        );
    }
    files
}

/// glibc gives each thread that allocates under contention its own arena, reserving 64 MiB of
/// address space apiece: a server with a few dozen threads would reserve a gigabyte it never
/// uses, and fail under `ulimit -v`. Two arenas serve a server whose work is I/O.
fn few_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Anything but loopback exposes the page: say so.
fn exposure_warning(ip: IpAddr) -> Option<String> {
    (!ip.is_loopback()).then(|| {
        format!(
            "warning: listening on {ip}: the page and its API are reachable from the network, by anyone who can reach this machine"
        )
    })
}

/// The address a browser on this machine opens.
fn page_url(local: SocketAddr) -> String {
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(host, local.port()))
}

fn parse_host(text: &str) -> anyhow::Result<IpAddr> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse().with_context(|| {
        format!("--host {text} is not an IP address (e.g. 127.0.0.1, ::1 or 0.0.0.0)")
    })
}

/// Trains the quick model with the engine the flags choose, saying so and how long it took.
fn quick_model(args: &ServeArgs) -> anyhow::Result<SavedModel> {
    let mut data = super::data::load(&args.data)?;
    // The fast preset's recipe, cut to QUICK_ROUNDS rounds.
    let preset = PresetName::Fast.preset();
    let network = preset.network(QUICK_SEED)?;
    network.preprocess.apply_to_data(&mut data);
    let recipe = preset.recipe(QUICK_SEED, QUICK_ROUNDS)?;
    println!(
        "no --model given: training a quick model first ({}, {}; {}, batch {}, {QUICK_ROUNDS} rounds, shuffled: the fast preset's recipe)",
        network.shape_name(),
        network.describe(),
        recipe.optimizer.describe(),
        preset.batch_size
    );
    let start = Instant::now();
    let mut engine = build_training_engine(&args.backend, network, &data, recipe, None)?;
    println!("engine: {}", engine.describe());
    let schedule = Schedule {
        rounds: QUICK_ROUNDS,
        first_round: 1,
        eval_every: 0,
        shuffle: preset.shuffle,
        seed: QUICK_SEED,
        target_accuracy: None,
    };
    let records = train(
        engine.as_mut(),
        &schedule,
        data.train.len(),
        data.test.len(),
        &mut |_| Ok(()),
    )?;
    let test_accuracy = match records.last().and_then(|r| r.test_accuracy) {
        Some(acc) => acc,
        None => mnist_gpu::train::accuracy(engine.as_mut(), Split::Test, data.test.len())?,
    };
    println!(
        "quick model trained in {:.1} s: test accuracy {test_accuracy:.2}% (train a better one with `mnist-gpu train --preset best --save m.safetensors`, then `serve --model m.safetensors`)",
        start.elapsed().as_secs_f64()
    );
    let mut training = preset.training_info(QUICK_SEED, QUICK_ROUNDS, engine.describe())?;
    training.rounds_completed = QUICK_ROUNDS;
    training.data_fingerprint = data_fingerprint(&data);
    training.test_accuracy = Some(test_accuracy);
    Ok(SavedModel {
        network: engine.network()?,
        training,
        optimizer_state: engine.optimizer_state()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_quiet() {
        for quiet in ["127.0.0.1", "::1", "localhost", "127.0.0.2"] {
            assert_eq!(
                exposure_warning(parse_host(quiet).expect(quiet)),
                None,
                "{quiet}"
            );
        }
        for loud in ["0.0.0.0", "::", "192.168.1.20"] {
            let warning = exposure_warning(parse_host(loud).expect(loud)).expect(loud);
            assert!(warning.contains("reachable from the network"), "{warning}");
        }
        assert!(parse_host("example.org").is_err());
    }

    #[test]
    fn urls_open_on_this_machine() {
        let url = |text: &str| page_url(text.parse().expect("address"));
        assert_eq!(url("0.0.0.0:8000"), "http://127.0.0.1:8000/");
        assert_eq!(url("[::]:80"), "http://[::1]:80/");
        assert_eq!(url("192.168.1.20:8000"), "http://192.168.1.20:8000/");
    }
}
