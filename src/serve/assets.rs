//! The page's files, compiled into the binary: the server reads nothing from disk, so no path a
//! client asks for can lead outside this list.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use std::sync::Arc;

use super::AppState;

pub const INDEX_HTML: &str = include_str!("page/index.html");
pub const APP_JS: &str = include_str!("page/app.js");
pub const STYLE_CSS: &str = include_str!("page/style.css");
pub const TRAIN_JS: &str = include_str!("page/train.js");

/// Only the page's own scripts, styles and pictures; nothing loads from elsewhere. The
/// in-browser trainer compiles its WebAssembly (`'wasm-unsafe-eval'`; no JavaScript eval).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' blob:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        body,
    )
}

/// `GET /`, `/app.js`, `/train.js` and `/style.css`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/train.js",
            get(|| async { asset("text/javascript; charset=utf-8", TRAIN_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}
