//! Reading a webhook's body, shared by the direct listener and the relay's public side: capped
//! at [`MAX_BODY_BYTES`] (413 beyond, declared or not), bounded in time (a body that does not
//! arrive in time is closed unanswered, so Zocdoc retries), and optionally charged to a budget
//! of bytes shared by every request in flight, so that many large bodies cannot exhaust memory.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http_server::close_without_answer;

/// The largest body accepted. Zocdoc's webhooks are well under 1 KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Body bytes that all requests together may hold at once.
#[derive(Debug, Clone)]
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
}

impl BodyBudget {
    pub(crate) fn new(bytes: usize) -> BodyBudget {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Grows `held` to cover `len` bytes, or fails at once when the budget is spent.
    fn cover(&self, held: &mut OwnedSemaphorePermit, len: usize) -> Result<(), BodyError> {
        let missing = len.saturating_sub(held.num_permits());
        if missing > 0 {
            let missing = u32::try_from(missing).map_err(|_| BodyError::Busy)?;
            let more = Arc::clone(&self.bytes)
                .try_acquire_many_owned(missing)
                .map_err(|_| BodyError::Busy)?;
            held.merge(more);
        }
        Ok(())
    }
}

/// A body read in full, holding its share of the budget until dropped.
#[derive(Debug)]
pub(crate) struct ReadBody {
    pub(crate) bytes: Bytes,
    _held: Option<OwnedSemaphorePermit>,
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Over the limit: answered 413 (declared or counted, never an authentic Zocdoc webhook).
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The client went away or sent a broken body: nothing to answer.
    #[error("the body could not be read: {0}")]
    Unreadable(String),
    /// The body did not arrive in time.
    #[error("the body did not arrive in time")]
    TimedOut,
    /// The shared budget of body bytes is spent: closed unanswered, the sender retries.
    #[error("too many body bytes are held at once")]
    Busy,
}

impl BodyError {
    /// What the sender is told.
    pub(crate) fn answer(&self) -> Response {
        match self {
            BodyError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(serde_json::json!({ "error": "the body is larger than 1 MiB" })),
            )
                .into_response(),
            BodyError::Unreadable(_) | BodyError::TimedOut | BodyError::Busy => {
                close_without_answer()
            }
        }
    }
}

/// Reads `body` in full within `timeout`, charging it to `budget` when given.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    budget: Option<&BodyBudget>,
) -> Result<ReadBody, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let reserve = declared.unwrap_or(0);
    let mut held = match budget {
        Some(budget) => {
            let mut held = Arc::clone(&budget.bytes)
                .try_acquire_many_owned(0)
                .map_err(|_| BodyError::Busy)?;
            budget.cover(&mut held, reserve)?;
            Some(held)
        }
        None => None,
    };
    let read = async {
        let mut body = http_body_util::Limited::new(body, MAX_BODY_BYTES);
        let mut bytes = BytesMut::with_capacity(reserve);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                if is_length_limit(error.as_ref()) {
                    BodyError::TooLarge
                } else {
                    BodyError::Unreadable(error.to_string())
                }
            })?;
            if let Ok(data) = frame.into_data() {
                if let (Some(budget), Some(held)) = (budget, held.as_mut()) {
                    budget.cover(held, bytes.len() + data.len())?;
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(bytes.freeze())
    };
    let bytes = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| BodyError::TimedOut)??;
    Ok(ReadBody { bytes, _held: held })
}

fn is_length_limit(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(len: Option<usize>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(len) = len {
            headers.insert(header::CONTENT_LENGTH, len.into());
        }
        headers
    }

    #[tokio::test]
    async fn the_budget_is_charged_while_held_and_refunded_after() {
        let budget = BodyBudget::new(MAX_BODY_BYTES + 10);
        let first = read_body(
            &headers(Some(MAX_BODY_BYTES)),
            Body::from(vec![0u8; MAX_BODY_BYTES]),
            Duration::from_secs(1),
            Some(&budget),
        )
        .await
        .unwrap();
        assert_eq!(first.bytes.len(), MAX_BODY_BYTES);
        // Declared: refused before reading.
        let second = read_body(
            &headers(Some(100)),
            Body::from(vec![0u8; 100]),
            Duration::from_secs(1),
            Some(&budget),
        )
        .await;
        assert!(matches!(second, Err(BodyError::Busy)));
        // Undeclared: refused once its bytes arrive.
        let third = read_body(
            &headers(None),
            Body::from(vec![0u8; 100]),
            Duration::from_secs(1),
            Some(&budget),
        )
        .await;
        assert!(matches!(third, Err(BodyError::Busy)));
        drop(first);
        let fourth = read_body(
            &headers(None),
            Body::from(vec![0u8; 100]),
            Duration::from_secs(1),
            Some(&budget),
        )
        .await
        .unwrap();
        assert_eq!(fourth.bytes.len(), 100);
    }

    #[tokio::test]
    async fn oversized_bodies_are_too_large_declared_or_not() {
        for declared in [Some(MAX_BODY_BYTES + 1), None] {
            let read = read_body(
                &headers(declared),
                Body::from(vec![0u8; MAX_BODY_BYTES + 1]),
                Duration::from_secs(1),
                None,
            )
            .await;
            assert!(matches!(read, Err(BodyError::TooLarge)), "{declared:?}");
        }
    }
}
