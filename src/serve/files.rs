//! The files the page's in-browser trainer fetches: its WebAssembly (built by `tools/build-web`
//! into a folder) and the four MNIST files of the data folder the server found. Only these
//! names are served; no path a client asks for leads anywhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::api::ApiError;
use crate::data::{FILE_STEMS, idx};

/// The bindings `wasm-bindgen` writes for the page's trainer, and its WebAssembly.
pub const PKG_FILES: [(&str, &str); 2] = [
    ("mnist_gpu_web.js", "text/javascript; charset=utf-8"),
    ("mnist_gpu_web_bg.wasm", "application/wasm"),
];

/// What the page's trainer can fetch: `data/files.json` lists the data files by URL.
#[derive(Clone, Debug, Default)]
pub struct WebFiles {
    /// The folder holding [`PKG_FILES`], when the web build was found.
    pub pkg: Option<PathBuf>,
    /// The four data files as `(name served, path)`, in [`FILE_STEMS`] order, when all exist.
    pub data: Vec<(String, PathBuf)>,
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
        let data: Vec<(String, PathBuf)> = data_dir
            .map(|dir| {
                FILE_STEMS
                    .iter()
                    .filter_map(|stem| idx::find_file(dir, stem).ok())
                    .filter_map(|path| {
                        let name = path.file_name()?.to_str()?.to_string();
                        Some((name, path))
                    })
                    .collect()
            })
            .unwrap_or_default();
        WebFiles {
            pkg,
            data: if data.len() == FILE_STEMS.len() {
                data
            } else {
                Vec::new()
            },
        }
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

async fn send_file(path: &Path, content_type: &'static str) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", path.display()),
        )
        .into_response(),
    }
}

async fn pkg_file(State(state): State<Arc<AppState>>, UrlPath(name): UrlPath<String>) -> Response {
    let Some((name, content_type)) = PKG_FILES.iter().find(|(n, _)| *n == name) else {
        return super::api::not_found().await.into_response();
    };
    match &state.files.pkg {
        Some(dir) => send_file(&dir.join(name), content_type).await,
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "the in-browser trainer is not built: run tools/build-web, then restart the server",
        )
        .into_response(),
    }
}

async fn data_listing(State(state): State<Arc<AppState>>) -> Response {
    if state.files.data.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "the server has no MNIST folder to share (pass --data DIR)",
        )
        .into_response();
    }
    axum::Json(state.files.listing()).into_response()
}

async fn data_file(State(state): State<Arc<AppState>>, UrlPath(name): UrlPath<String>) -> Response {
    match state.files.data.iter().find(|(n, _)| *n == name) {
        Some((_, path)) => send_file(path, "application/octet-stream").await,
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
