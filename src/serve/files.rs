//! The files the page's in-browser trainer fetches: its WebAssembly (built by `tools/build-web`
//! into a folder) and the four MNIST files of the data folder the server found. Only these
//! names are served; no path a client asks for leads anywhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::sync::Semaphore;
use tower_http::services::ServeDir;

use super::api::ApiError;
use super::file_body::FileBody;
use super::regular_files::RegularFiles;
use super::{AppState, FILE_BODIES, FILE_DEADLINE};
use crate::data::{FILE_STEMS, idx};

/// The bindings `wasm-bindgen` writes for the page's trainer, and its WebAssembly.
pub const PKG_FILES: [(&str, &str); 2] = [
    ("mnist_gpu_web.js", "text/javascript; charset=utf-8"),
    ("mnist_gpu_web_bg.wasm", "application/wasm"),
];

/// Both kinds of file may change between runs of the server (a new web build, another data
/// folder under the same names), so a browser asks again each time, and the validators
/// (ETag, Last-Modified) make that a 304 when nothing changed.
const CACHE_CONTROL: &str = "no-cache";

/// What the page's trainer can fetch: `data/files.json` lists the data files by URL.
#[derive(Clone, Debug)]
pub struct WebFiles {
    /// The folder holding [`PKG_FILES`], when the web build was found.
    pub pkg: Option<PathBuf>,
    /// The four data files as `(name served, path)`, in [`FILE_STEMS`] order, when all exist.
    pub data: Vec<(String, PathBuf)>,
    /// Why `data` is empty, in words fit for any client (no server paths).
    pub data_missing: Option<String>,
    /// One permit per file being sent ([`FILE_BODIES`]).
    pub slots: Arc<Semaphore>,
}

impl Default for WebFiles {
    fn default() -> Self {
        WebFiles {
            pkg: None,
            data: Vec::new(),
            data_missing: Some("the server has no MNIST folder to share (pass --data DIR)".into()),
            slots: Arc::new(Semaphore::new(FILE_BODIES)),
        }
    }
}

/// `data/files.json`: the four files' URLs relative to the page, in [`FILE_STEMS`] order.
#[derive(Debug, Serialize)]
pub struct DataListing {
    pub files: Vec<String>,
}

impl WebFiles {
    /// The web build in `pkg` (if it holds every file) and the data in `data_dir` (if it holds
    /// all four files, each raw or gzipped: the file the command line reads, raw when both exist).
    pub fn find(pkg: Option<&Path>, data_dir: Option<&Path>) -> WebFiles {
        let pkg = pkg
            .filter(|dir| PKG_FILES.iter().all(|(name, _)| dir.join(name).is_file()))
            .map(Path::to_path_buf);
        let mut files = WebFiles {
            pkg,
            ..WebFiles::default()
        };
        let Some(dir) = data_dir else {
            return files;
        };
        let folder = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if !dir.is_dir() {
            files.data_missing = Some(format!(
                "the server's data folder ({folder}) does not exist: restart it with --data DIR"
            ));
            return files;
        }
        let mut data = Vec::new();
        let mut missing = Vec::new();
        for stem in FILE_STEMS {
            match idx::find_file(dir, stem) {
                Ok(path) => match path.file_name().and_then(|n| n.to_str()) {
                    Some(name) => data.push((name.to_string(), path.clone())),
                    None => missing.push(format!("{stem}(.gz)")),
                },
                Err(_) => missing.push(format!("{stem}(.gz)")),
            }
        }
        if missing.is_empty() {
            files.data = data;
            files.data_missing = None;
        } else {
            files.data_missing = Some(format!(
                "the server's data folder ({folder}) lacks {}",
                missing.join(", ")
            ));
        }
        files
    }

    pub fn listing(&self) -> DataListing {
        DataListing {
            files: self
                .data
                .iter()
                .map(|(name, _)| format!("data/{name}"))
                .collect(),
        }
    }
}

/// A quick answer when every file slot is taken: the client may come back soon.
fn busy() -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is sending as many files as it can: try again in a few seconds",
    )
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Why a file cannot be read, without its path.
fn read_error(name: &str, e: &std::io::Error) -> String {
    let why = match (e.kind(), e.raw_os_error()) {
        (std::io::ErrorKind::Unsupported, None) => "not a regular file".to_string(),
        (_, Some(code)) => std::io::Error::from_raw_os_error(code).to_string(),
        (kind, None) => kind.to_string(),
    };
    format!("cannot read {name}: {why}")
}

/// Streams `dir/name` (never reading it whole), answering HEAD, one Range (206) and the
/// validators (304, 412) as tower-http's `ServeDir` does; a file slot is held while it is sent.
async fn send_file(
    files: &WebFiles,
    dir: &Path,
    name: &str,
    content_type: &'static str,
    request: Request,
) -> Response {
    let Ok(slot) = Arc::clone(&files.slots).try_acquire_owned() else {
        return busy();
    };
    let mut service = ServeDir::with_backend(dir, RegularFiles)
        .append_index_html_on_directories(false)
        .redirect_to_trailing_slash(false)
        .ignore_multi_range_requests(true);
    // Only the method and the headers go on: the file is named here, never by the client.
    let (parts, _) = request.into_parts();
    let mut forwarded = axum::http::Request::new(Body::empty());
    *forwarded.method_mut() = parts.method;
    *forwarded.headers_mut() = parts.headers;
    // A range in a unit other than bytes is ignored (RFC 9110, 14.2), not refused.
    let headers = forwarded.headers_mut();
    if let Some(range) = headers.get(header::RANGE)
        && !range.as_bytes().starts_with(b"bytes=")
    {
        headers.remove(header::RANGE);
    }
    match format!("/{name}").parse() {
        Ok(uri) => *forwarded.uri_mut() = uri,
        Err(_) => return super::api::not_found().await.into_response(),
    }
    let response = match service.try_call(forwarded).await {
        Ok(response) => response,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{name} is no longer in the server's folder"),
            )
            .into_response();
        }
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, read_error(name, &e))
                .into_response();
        }
    };
    let (mut parts, body) = response.into_parts();
    match parts.status {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
            parts
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        StatusCode::NOT_MODIFIED => {}
        StatusCode::NOT_FOUND => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{name} is no longer in the server's folder"),
            )
            .into_response();
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let mut answer = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("the range asked for is not in {name}"),
            )
            .into_response();
            if let Some(range) = parts.headers.get(header::CONTENT_RANGE) {
                answer
                    .headers_mut()
                    .insert(header::CONTENT_RANGE, range.clone());
            }
            return answer;
        }
        StatusCode::PRECONDITION_FAILED => {
            return ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                format!("{name} does not match the If-Match or If-Unmodified-Since asked for"),
            )
            .into_response();
        }
        status => {
            return ApiError::new(status, format!("cannot send {name}")).into_response();
        }
    }
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    parts.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let body = Body::new(FileBody::new(Body::new(body), slot, FILE_DEADLINE));
    Response::from_parts(parts, body)
}

async fn pkg_file(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    request: Request,
) -> Response {
    let Some((name, content_type)) = PKG_FILES.iter().find(|(n, _)| *n == name) else {
        return super::api::not_found().await.into_response();
    };
    match &state.files.pkg {
        Some(dir) => send_file(&state.files, dir, name, content_type, request).await,
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "the in-browser trainer is not built: run tools/build-web, then restart the server",
        )
        .into_response(),
    }
}

async fn data_listing(State(state): State<Arc<AppState>>) -> Response {
    if state.files.data.is_empty() {
        let why = state.files.data_missing.clone().unwrap_or_else(|| {
            "the server has no MNIST folder to share (pass --data DIR)".to_string()
        });
        return ApiError::new(StatusCode::NOT_FOUND, why).into_response();
    }
    axum::Json(state.files.listing()).into_response()
}

async fn data_file(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    request: Request,
) -> Response {
    let Some((name, path)) = state.files.data.iter().find(|(n, _)| *n == name) else {
        return super::api::not_found().await.into_response();
    };
    match path.parent() {
        Some(dir) => send_file(&state.files, dir, name, "application/octet-stream", request).await,
        None => super::api::not_found().await.into_response(),
    }
}

/// `GET /pkg/{file}`, `/data/files.json` and `/data/{file}`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/pkg/{name}", get(pkg_file))
        .route("/data/files.json", get(data_listing))
        .route("/data/{name}", get(data_file))
}
