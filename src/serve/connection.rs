//! What guards one connection before and around hyper: a write timeout (hyper's HTTP/1 has
//! none, so a client that stops reading would hold its connection and the answer's buffers for
//! ever) and a clear refusal of HTTP/2 spoken without negotiation (`h2c` prior knowledge),
//! which hyper's HTTP/1 server drops without a word.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] once one has waited `limit`
/// without the peer taking a byte.
pub struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    /// Started when a write first finds the socket full; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            stalled: None,
        }
    }

    /// After a pending write: has the peer taken nothing for `limit`?
    fn check_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.check_stall(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What every HTTP/2 connection without negotiation starts with (RFC 9113, 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How a connection opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// HTTP/2's connection preface.
    Http2,
    /// Anything else: hyper reads it as HTTP/1.
    Other,
    /// Closed, or silent for the whole wait: nothing to serve.
    Gone,
}

/// Waits (up to `wait`, the header timeout) for the first bytes of `stream` without taking
/// them, and says whether they open HTTP/2.
pub async fn opening(stream: &TcpStream, wait: Duration) -> Opening {
    let look = async {
        let mut buf = [0u8; H2_PREFACE.len()];
        loop {
            let n = match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return Opening::Gone,
                Ok(n) => n,
            };
            if buf[..n] != H2_PREFACE[..n] {
                return Opening::Other;
            }
            if n == H2_PREFACE.len() {
                return Opening::Http2;
            }
            // A prefix of the preface: `peek` returns at once until more arrives.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(wait, look)
        .await
        .unwrap_or(Opening::Gone)
}

/// Answers an HTTP/2 client with its own protocol's refusal: an empty SETTINGS frame, then
/// GOAWAY with HTTP_1_1_REQUIRED and a line of text (curl shows it, and may retry over
/// HTTP/1.1), then closes.
pub async fn refuse_h2(mut stream: TcpStream) {
    const MESSAGE: &[u8] = b"this server speaks HTTP/1.1 only";
    const HTTP_1_1_REQUIRED: u32 = 0xd;
    let mut frames = Vec::new();
    // SETTINGS: length 0, type 4, no flags, stream 0.
    frames.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // GOAWAY: type 7 on stream 0: last stream id 0, the error code, the text.
    let length = 8 + MESSAGE.len() as u32;
    frames.extend_from_slice(&length.to_be_bytes()[1..]);
    frames.extend_from_slice(&[7, 0, 0, 0, 0, 0]);
    frames.extend_from_slice(&0u32.to_be_bytes());
    frames.extend_from_slice(&HTTP_1_1_REQUIRED.to_be_bytes());
    frames.extend_from_slice(MESSAGE);
    let send = async {
        stream.write_all(&frames).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes: closing with unread bytes would reset
        // the connection and could lose the GOAWAY.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), send).await;
}
