//! The JSON API: `POST /api/predict` (a picture, or a JSON 28×28 array) and `GET /api/model`.
//! Every failure is a 4xx/5xx status with `{"error": "..."}`; nothing a client sends stops the
//! server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::predictor::{PredictError, probabilities};
use crate::model::INPUTS;
use crate::model::argmax;
use crate::predict::{GreyImage, SIDE, mnist_input};

/// Largest request body: a few MiB holds any sensible photo of a digit.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest picture in pixels (width × height) the server decodes: 16 megapixels.
pub const MAX_PICTURE_PIXELS: u64 = 4096 * 4096;

/// An error answer: a status and one readable line, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response()
    }
}

/// The answer of `POST /api/predict`.
#[derive(Debug, Serialize)]
pub struct Prediction {
    /// The most likely digit (the largest output).
    pub digit: u8,
    /// The ten outputs normalised to sum to 1 (see [`probabilities`]): the network's sigmoid
    /// outputs are independent scores, so this is a normalisation, not a softmax.
    pub probabilities: Vec<f32>,
    /// The network's raw outputs, digit by digit.
    pub outputs: Vec<f32>,
    /// The 28×28 input the network saw (rows, `0` background to `1` full ink).
    pub input: Vec<Vec<f32>>,
}

/// What a request body holds, from its `Content-Type`.
enum Payload {
    Picture,
    Array,
}

fn payload_kind(headers: &HeaderMap) -> Result<Payload, ApiError> {
    let unsupported = |what: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "{what}: send a picture (Content-Type image/png, image/* or application/octet-stream) or a JSON 28×28 array (application/json)"
            ),
        )
    };
    // A compressed body would be read as if plain and fail as a bad picture: say why instead.
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        if encoding != "identity" {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {encoding} is not supported: send the body uncompressed"),
            ));
        }
    }
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("no Content-Type"));
    };
    let text = value
        .to_str()
        .map_err(|_| unsupported("unreadable Content-Type"))?;
    let mime = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" {
        Ok(Payload::Array)
    } else if mime.starts_with("image/") || mime == "application/octet-stream" {
        Ok(Payload::Picture)
    } else {
        Err(unsupported(&format!(
            "Content-Type {mime} is not supported"
        )))
    }
}

/// The whole body, refused early when it announces more than [`BODY_LIMIT`], cut off when it
/// sends more, and given up on when it has not all arrived after `timeout`.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is over the limit of {} MiB",
                BODY_LIMIT / (1024 * 1024)
            ),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {:.1} s",
                timeout.as_secs_f64()
            ),
        )),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the body: {inner}"),
                ))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes.to_vec()),
    }
}

/// Every picture the server decodes goes through here: the same decoder as `predict` (every
/// format it reads, with its limits), behind the server's own smaller pixel limit, checked
/// from the header before anything is decoded.
pub fn decode_upload(bytes: &[u8]) -> Result<GreyImage, ApiError> {
    const LABEL: &str = "the uploaded picture";
    if let Some((width, height)) = picture_size(bytes)
        && u64::from(width) * u64::from(height) > MAX_PICTURE_PIXELS
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the picture is {width}×{height} pixels, over the limit of {MAX_PICTURE_PIXELS} pixels"
            ),
        ));
    }
    crate::predict::decode_picture(LABEL, bytes)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
}

/// Width and height from a picture's header, read before anything is decoded: a PNG's IHDR
/// as written (its CRC unchecked), any other format through the decoder's header reader;
/// `None` when no header can be read (the decoder then says why).
fn picture_size(bytes: &[u8]) -> Option<(u32, u32)> {
    png_size(bytes).or_else(|| {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()?
            .into_dimensions()
            .ok()
    })
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // Signature (8 bytes), IHDR length and type (8), then width and height, big-endian.
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((word(16), word(20)))
}

/// A JSON 28×28 array of numbers in `[0, 1]` (`0` background, `1` full ink), row by row: used
/// as the network's input as it is.
pub fn parse_array(bytes: &[u8]) -> Result<Vec<f32>, ApiError> {
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let rows: Vec<Vec<f32>> = serde_json::from_slice(bytes).map_err(|e| {
        bad(format!(
            "the body is not a JSON 28×28 array of numbers ({e})"
        ))
    })?;
    if rows.len() != SIDE || rows.iter().any(|row| row.len() != SIDE) {
        return Err(bad(format!(
            "the array must have {SIDE} rows of {SIDE} numbers"
        )));
    }
    let input: Vec<f32> = rows.into_iter().flatten().collect();
    if let Some(v) = input.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(bad(format!(
            "values must lie in [0, 1] (0 background, 1 ink), found {v}"
        )));
    }
    Ok(input)
}

/// `POST /api/predict`.
pub async fn predict(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Prediction>, ApiError> {
    let kind = payload_kind(&headers)?;
    let bytes = read_body(&headers, body, state.body_timeout).await?;
    let input = match kind {
        Payload::Array => parse_array(&bytes)?,
        Payload::Picture => {
            // Decoding and preprocessing take milliseconds of CPU: off the async workers.
            tokio::task::spawn_blocking(move || {
                let image = decode_upload(&bytes)?;
                mnist_input(Path::new("the uploaded picture"), &image)
                    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
            })
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("reading the picture failed: {e}"),
                )
            })??
        }
    };
    debug_assert_eq!(input.len(), INPUTS);
    let input = state.preprocess.apply(&input, SIDE, SIDE);
    let outputs = state
        .predictor
        .outputs(input.clone())
        .await
        .map_err(|e| match e {
            PredictError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        })?;
    crate::model::check_outputs(&outputs)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(Prediction {
        digit: argmax(&outputs),
        probabilities: probabilities(&outputs),
        outputs,
        input: input.chunks(SIDE).map(<[f32]>::to_vec).collect(),
    }))
}

/// `GET /api/model`.
pub async fn model(State(state): State<Arc<AppState>>) -> Response {
    Json(&state.card).into_response()
}

/// Any path that is neither a page asset nor an API route.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page or API route")
}

/// A known path asked with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed: GET the page and /api/model, POST /api/predict",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_reads_the_header_only() {
        let mut header = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        header.extend_from_slice(&70_000u32.to_be_bytes());
        header.extend_from_slice(&3u32.to_be_bytes());
        assert_eq!(png_size(&header), Some((70_000, 3)));
        assert_eq!(picture_size(b"plain text"), None);
        let err = decode_upload(&{
            let mut big = header.clone();
            big[16..20].copy_from_slice(&100_000u32.to_be_bytes());
            big[20..24].copy_from_slice(&100_000u32.to_be_bytes());
            big
        })
        .expect_err("too large");
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn arrays_must_be_28_by_28_in_range() {
        let row = format!("[{}]", vec!["0.5"; SIDE].join(","));
        let good = format!("[{}]", vec![row.as_str(); SIDE].join(","));
        assert_eq!(parse_array(good.as_bytes()).expect("good").len(), INPUTS);
        let short = format!("[{}]", vec![row.as_str(); SIDE - 1].join(","));
        assert!(parse_array(short.as_bytes()).is_err());
        let bright = good.replacen("0.5", "2", 1);
        assert!(parse_array(bright.as_bytes()).is_err());
        assert!(parse_array(b"{\"x\": 1}").is_err());
        assert!(parse_array(b"[[0.5,").is_err());
    }
}
