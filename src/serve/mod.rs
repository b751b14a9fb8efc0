//! `mnist-gpu serve`: a local web page to draw a digit on and watch the network read it, and
//! the small JSON API behind it.
//!
//! * [`assets`]: the page (HTML, JS, CSS) embedded in the binary; no other path is served.
//! * [`files`]: the in-browser trainer's WebAssembly and the MNIST files it trains on.
//! * [`api`]: `POST /api/predict` and `GET /api/model`, every failure a JSON error.
//! * [`predictor`]: one classifier shared by all requests through a bounded queue.
//! * [`run`]: the HTTP/1 server loop with timeouts on slow clients and a graceful shutdown.
//!
//! docs/serving.md says how connections are bounded in number and time, and why so.

pub mod api;
pub mod assets;
mod connection;
mod file_body;
pub mod files;
mod json_errors;
pub mod predictor;
mod regular_files;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::model_file::SavedModel;
use crate::ops::Loss;
use connection::{Opening, WriteTimeout};
pub use predictor::{Classify, EngineClassifier, NetworkClassifier, Predictor};

/// A client has this long to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A client has this long to send a request's whole body once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait to be accepted. Well above [`FILE_BODIES`], so
/// clients stuck in downloads leave room for everyone else (each connection costs a file
/// descriptor and a few KiB until it has an answer to write).
pub const MAX_CONNECTIONS: usize = 1024;
/// A client that takes no byte of an answer for this long is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// Files (`/pkg/`, `/data/`) sent at once; more requests get a quick 503 with Retry-After.
/// Each costs a 64 KiB read buffer and a write buffer of at most [`MAX_BUFFER`].
pub const FILE_BODIES: usize = 128;
/// The longest one file download may take: MNIST's largest file (47 MB) in 6 minutes is
/// 1 Mbit/s.
pub const FILE_DEADLINE: Duration = Duration::from_secs(600);
/// A connection's read and write buffers: a request's head larger than this is a 431.
pub const MAX_BUFFER: usize = 128 * 1024;
/// Threads reading files at once: each read is a 64 KiB chunk, so a few keep up with any
/// network; more would only reserve address space (a stack and a malloc arena each).
pub const BLOCKING_THREADS: usize = 8;
/// Open requests get this long to finish after a shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the page's model card and `GET /api/model` show.
#[derive(Clone, Debug, Serialize)]
pub struct ModelCard {
    /// Where the model came from: its file, or the quick model trained at start-up.
    pub source: String,
    /// Layer sizes, inputs first.
    pub layers: Vec<usize>,
    pub activation: String,
    pub loss: String,
    pub rounds: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
    pub shuffle: bool,
    /// The engine that trained it.
    pub trained_on: String,
    /// Test accuracy in percent, when it was measured.
    pub test_accuracy: Option<f64>,
    /// When the model was saved (the file's modification time) or trained, UTC, RFC 3339.
    pub trained_at: Option<String>,
    /// What runs the predictions.
    pub classifier: String,
    /// How `probabilities` relate to the outputs.
    pub probabilities: String,
}

impl ModelCard {
    pub fn new(
        model: &SavedModel,
        source: String,
        trained_at: Option<SystemTime>,
        classifier: &str,
    ) -> Self {
        let info = &model.training;
        ModelCard {
            source,
            layers: model.network.sizes(),
            activation: model.network.activation.name().to_string(),
            loss: model.network.loss.describe().to_string(),
            rounds: info.rounds_completed,
            batch_size: info.batch_size,
            learning_rate: info.learning_rate,
            seed: info.seed,
            shuffle: info.shuffle,
            trained_on: info.engine.clone(),
            test_accuracy: info.test_accuracy,
            trained_at: trained_at.map(rfc3339),
            classifier: classifier.to_string(),
            probabilities: match model.network.loss {
                Loss::Mse => "the sigmoid outputs divided by their sum",
                Loss::Xent => "the softmax of the outputs",
            }
            .to_string(),
        }
    }
}

/// What every request handler shares.
pub struct AppState {
    pub predictor: Predictor,
    /// What the model does to a picture before its first layer (the predictor takes the
    /// result).
    pub preprocess: crate::ops::Preprocess,
    pub card: ModelCard,
    /// How long a request body may take to arrive ([`BODY_TIMEOUT`] unless testing).
    pub body_timeout: Duration,
    /// What the page's in-browser trainer fetches.
    pub files: files::WebFiles,
}

/// The routes: the embedded page, the API, and JSON errors for everything else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/predict", post(api::predict))
        .route("/api/model", get(api::model))
        .merge(assets::routes())
        .merge(files::routes())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(Arc::new(state))
}

/// Binds `addr` (port 0: any free port); the caller reads the real address from the listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// How long a client may keep the server waiting.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For a request's headers ([`HEADER_TIMEOUT`] unless testing).
    pub header: Duration,
    /// For a client to take any byte of an answer ([`WRITE_TIMEOUT`] unless testing).
    pub write: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish for up
/// to [`SHUTDOWN_GRACE`]. A request's headers must arrive within `header_timeout`
/// ([`HEADER_TIMEOUT`] unless testing); at most [`MAX_CONNECTIONS`] connections are served at
/// once, and a client that stops reading is dropped after [`WRITE_TIMEOUT`].
pub async fn run(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let timeouts = Timeouts {
        header: header_timeout,
        write: WRITE_TIMEOUT,
    };
    run_with(listener, app, timeouts, shutdown).await;
}

/// [`run`] with every timeout chosen.
pub async fn run_with(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let next = async {
            let permit = Arc::clone(&slots).acquire_owned().await;
            (permit, listener.accept().await)
        };
        let (permit, accepted) = tokio::select! {
            next = next => next,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else {
            break;
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait a moment instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let mut http = hyper::server::conn::http1::Builder::new();
        // half_close: a client may shut its side down once its request is sent (`nc -N`)
        // and still wait for the answer.
        http.timer(TokioTimer::new())
            .header_read_timeout(timeouts.header)
            .max_buf_size(MAX_BUFFER)
            .half_close(true);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match connection::opening(&stream, timeouts.header).await {
                Opening::Http2 => connection::refuse_h2(stream).await,
                Opening::Gone => {}
                Opening::Other => {
                    let stream = WriteTimeout::new(stream, timeouts.write);
                    let stream = json_errors::JsonErrors::new(stream);
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    // A client that breaks its connection only ends that connection.
                    let _ = watcher.watch(connection).await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// `2026-11-22T07:05:09Z`.
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_331_109);
        assert_eq!(rfc3339(t), "2026-11-22T07:05:09Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
