//! hyper answers a request it cannot parse (a garbage request line, HTTP/0.9, a bad or
//! repeated Content-Length, a request line or headers over its limits) by itself, with an
//! empty body. The API answers every 4xx and 5xx with a JSON `{"error": …}` body: this stream
//! wrapper rewrites hyper's empty error answers as they are written, and passes every other
//! byte through untouched. (The application's own answers always carry a body, so an empty
//! 4xx/5xx is hyper's.)

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose empty 4xx/5xx answers get a JSON body. It does not write vectored
/// (tokio's default), so hyper hands each answer's head over in one buffer, which is what the
/// rewrite looks at.
pub struct JsonErrors<S> {
    inner: S,
    /// A rewritten answer not yet fully written, and how much of it was.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S) -> Self {
        JsonErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes what is left of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = with_json_body(buf) {
            self.pending = answer;
            // Taken whole: what the socket does not take now goes out on the next call.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `buf` as a complete 4xx/5xx answer with a JSON body, if it is one with an empty body (its
/// whole head, `content-length: 0`); `None` for anything else.
fn with_json_body(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.strip_prefix("HTTP/1.1 ")?;
    if !(status.starts_with('4') || status.starts_with('5')) {
        return None;
    }
    let headers: Vec<&str> = lines.collect();
    let empty = |h: &&str| h.eq_ignore_ascii_case("content-length: 0");
    if !headers.iter().any(empty) {
        return None;
    }
    let why = match status.get(..3) {
        Some("414") => "the request line is too long",
        Some("431") => "the request's headers are too large",
        Some("400") => "a malformed request: not HTTP/1.1 this server can read",
        _ => "the request could not be served",
    };
    let body = serde_json::json!({ "error": why }).to_string();
    let mut answer = format!("HTTP/1.1 {status}\r\n");
    for header in headers.iter().filter(|h| !empty(h)) {
        answer.push_str(header);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    Some(answer.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_error_answers_are_rewritten() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(with_json_body(hyper).expect("rewritten")).expect("utf-8");
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ndate: x\r\n"));
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{answer}"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert!(
            json["error"]
                .as_str()
                .is_some_and(|e| e.contains("malformed"))
        );
        for untouched in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{\"a\"",
            b"\x00\xff",
        ] {
            assert!(with_json_body(untouched).is_none());
        }
    }
}
