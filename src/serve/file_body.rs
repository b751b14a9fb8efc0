//! A file's answer body that holds one of the server's file slots while it is sent, and ends
//! in an error (the connection dropped) if the whole transfer outlasts its deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;

pub struct FileBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    /// Given back when the body is dropped: sent, or its connection gone.
    _slot: OwnedSemaphorePermit,
}

impl FileBody {
    pub fn new(inner: Body, slot: OwnedSemaphorePermit, deadline: Duration) -> Self {
        FileBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(deadline)),
            _slot: slot,
        }
    }
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the download took too long",
            )))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    // The file's length, so the answer keeps its Content-Length.
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
