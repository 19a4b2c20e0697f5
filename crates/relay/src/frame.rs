//! The tunnel protocol's frames: what the relay and the desk app say to each other inside the
//! WebSocket, one frame per binary WebSocket message.
//!
//! # Why a hand-rolled format
//! The frames are few and small, the body must travel byte for byte (the signature is computed on
//! the raw bytes, so no re-encoding, escaping or base64), and the decoder reads input that a
//! peer controls. A hand-written length-prefixed layout gives exact control over every limit: no
//! length is trusted before it is checked against the bytes actually present, so the decoder never
//! allocates more than it was given, and it never panics (property-tested and fuzzed). It needs no
//! serialisation crate and is simple to reimplement should the app side ever change language.
//!
//! # Layout (all integers big-endian)
//! ```text
//! byte 0    protocol version (1)
//! byte 1    frame type
//! bytes 2.. the type's fields:
//!   0x01 Hello    app→relay  app_name: u16 length + UTF-8 (at most 256 bytes)
//!   0x02 Welcome  relay→app  (no fields): the app is registered and will receive deliveries
//!   0x03 Deliver  relay→app  id: u64, header count: u16 (at most 64),
//!                            each header: name u8 length + bytes, value u16 length + bytes
//!                            (at most 8 KiB), body: u32 length + bytes (at most 1 MiB)
//!   0x04 Outcome  app→relay  id: u64, kind: u8 (1 stored, 2 duplicate, 3 stale, 4 rejected,
//!                            5 failed), sent only after the commit that covers the event
//!   0x05 Ping     both       nonce: u64
//!   0x06 Pong     both       nonce: u64 (the nonce of the ping it answers)
//!   0x07 Closing  relay→app  reason: u8 (1 replaced, 2 revoked, 3 shutting down, 4 in use,
//!                            5 unsupported version, 6 protocol error, 7 timed out)
//! ```
//! Nothing may follow the last field. A frame whose version is not 1 fails with
//! [`DecodeError::UnsupportedVersion`] (the relay answers `Closing{UnsupportedVersion}`, whose
//! layout every version keeps); an unknown type, a short or over-long frame, a field beyond its
//! limit or an invalid header fails with its own [`DecodeError`], and the receiver closes the
//! tunnel with a reason. An unknown `Closing` reason is kept as [`CloseReason::Other`] so an
//! older app still learns that the relay closed on purpose.

use std::fmt;

use bytes::{BufMut as _, Bytes, BytesMut};
use deskbridge_core::ingest::Outcome;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// The longest app name in a `Hello`.
pub const MAX_APP_NAME_LEN: usize = 256;

/// The most headers one `Deliver` carries.
pub const MAX_HEADERS: usize = 64;

/// The longest header value one `Deliver` carries.
pub const MAX_HEADER_VALUE_LEN: usize = 8 * 1024;

/// The largest body one `Deliver` carries: the same limit as the public side's.
pub const MAX_BODY_LEN: usize = 1024 * 1024;

/// The largest encoded frame: a `Deliver` with every field at its limit.
pub const MAX_FRAME_LEN: usize =
    2 + 8 + 2 + MAX_HEADERS * (1 + 255 + 2 + MAX_HEADER_VALUE_LEN) + 4 + MAX_BODY_LEN;

/// The largest frame an app sends (every app→relay frame is small).
pub const MAX_APP_FRAME_LEN: usize = 2 + 2 + MAX_APP_NAME_LEN;

const HELLO: u8 = 0x01;
const WELCOME: u8 = 0x02;
const DELIVER: u8 = 0x03;
const OUTCOME: u8 = 0x04;
const PING: u8 = 0x05;
const PONG: u8 = 0x06;
const CLOSING: u8 = 0x07;

/// One tunnel frame.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// App → relay, first frame after the authenticated upgrade.
    Hello {
        /// A name for the relay's logs, e.g. "Deskbridge 0.1.0 (FRONTDESK-1)".
        app_name: String,
    },
    /// Relay → app: the app is registered for its endpoint and deliveries may follow.
    Welcome,
    /// Relay → app: one webhook request to ingest.
    Deliver {
        /// The relay's id for this request, echoed in the `Outcome`.
        id: u64,
        /// The request headers that matter for verification and the record.
        headers: HeaderMap,
        /// The raw request body.
        body: Bytes,
    },
    /// App → relay: what became of a delivered request, sent only after its commit.
    Outcome {
        /// The `Deliver` id.
        id: u64,
        /// What became of it.
        kind: OutcomeKind,
    },
    /// Either side: are you there?
    Ping {
        /// Echoed in the `Pong`.
        nonce: u64,
    },
    /// Either side: yes.
    Pong {
        /// The nonce of the ping being answered.
        nonce: u64,
    },
    /// Relay → app: the relay is closing the tunnel, and why.
    Closing {
        /// Why.
        reason: CloseReason,
    },
}

impl fmt::Debug for Frame {
    /// Never shows header values or body bytes: they belong in the encrypted store only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Hello { app_name } => {
                f.debug_struct("Hello").field("app_name", app_name).finish()
            }
            Frame::Welcome => f.write_str("Welcome"),
            Frame::Deliver { id, headers, body } => f
                .debug_struct("Deliver")
                .field("id", id)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .field("body_len", &body.len())
                .finish(),
            Frame::Outcome { id, kind } => f
                .debug_struct("Outcome")
                .field("id", id)
                .field("kind", kind)
                .finish(),
            Frame::Ping { nonce } => f.debug_struct("Ping").field("nonce", nonce).finish(),
            Frame::Pong { nonce } => f.debug_struct("Pong").field("nonce", nonce).finish(),
            Frame::Closing { reason } => f.debug_struct("Closing").field("reason", reason).finish(),
        }
    }
}

/// What became of a delivered request: the tunnel's copy of [`Outcome`], without row ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// Authentic and new: committed.
    Stored,
    /// Authentic and already stored: committed.
    Duplicate,
    /// Authentic with a timestamp out of tolerance: stored, flagged, committed.
    Stale,
    /// Not authentic.
    Rejected,
    /// Could not be stored.
    Failed,
}

impl OutcomeKind {
    /// The status to answer the sender with; `None`: close the connection without an answer.
    /// The same mapping as [`Outcome::http_status`].
    pub fn http_status(self) -> Option<u16> {
        match self {
            OutcomeKind::Stored | OutcomeKind::Duplicate | OutcomeKind::Stale => Some(200),
            OutcomeKind::Rejected => Some(401),
            OutcomeKind::Failed => None,
        }
    }

    /// The same names as [`Outcome::kind`].
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Stored => "stored",
            OutcomeKind::Duplicate => "duplicate",
            OutcomeKind::Stale => "stale",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Failed => "failed",
        }
    }

    fn code(self) -> u8 {
        match self {
            OutcomeKind::Stored => 1,
            OutcomeKind::Duplicate => 2,
            OutcomeKind::Stale => 3,
            OutcomeKind::Rejected => 4,
            OutcomeKind::Failed => 5,
        }
    }

    fn from_code(code: u8) -> Option<OutcomeKind> {
        Some(match code {
            1 => OutcomeKind::Stored,
            2 => OutcomeKind::Duplicate,
            3 => OutcomeKind::Stale,
            4 => OutcomeKind::Rejected,
            5 => OutcomeKind::Failed,
            _ => return None,
        })
    }
}

impl From<&Outcome> for OutcomeKind {
    fn from(outcome: &Outcome) -> OutcomeKind {
        match outcome {
            Outcome::Stored { .. } => OutcomeKind::Stored,
            Outcome::Duplicate { .. } => OutcomeKind::Duplicate,
            Outcome::Stale { .. } => OutcomeKind::Stale,
            Outcome::Rejected(_) => OutcomeKind::Rejected,
            Outcome::Failed(_) => OutcomeKind::Failed,
        }
    }
}

/// Why the relay closes a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Another app took over this endpoint.
    Replaced,
    /// The endpoint was revoked on the relay.
    Revoked,
    /// The relay is shutting down (it will be back; reconnect).
    ShuttingDown,
    /// Another app is already receiving for this endpoint.
    InUse,
    /// The app speaks a protocol version the relay does not.
    UnsupportedVersion,
    /// The app sent something that is not a valid frame, or a frame out of turn.
    ProtocolError,
    /// The app did not say hello, or stopped answering, in time.
    TimedOut,
    /// A reason this version does not know.
    Other(u8),
}

impl CloseReason {
    /// A stable snake_case name for logs and the app's state.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Replaced => "replaced",
            CloseReason::Revoked => "revoked",
            CloseReason::ShuttingDown => "shutting_down",
            CloseReason::InUse => "in_use",
            CloseReason::UnsupportedVersion => "unsupported_version",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::TimedOut => "timed_out",
            CloseReason::Other(_) => "other",
        }
    }

    fn code(self) -> u8 {
        match self {
            CloseReason::Replaced => 1,
            CloseReason::Revoked => 2,
            CloseReason::ShuttingDown => 3,
            CloseReason::InUse => 4,
            CloseReason::UnsupportedVersion => 5,
            CloseReason::ProtocolError => 6,
            CloseReason::TimedOut => 7,
            CloseReason::Other(code) => code,
        }
    }

    fn from_code(code: u8) -> CloseReason {
        match code {
            1 => CloseReason::Replaced,
            2 => CloseReason::Revoked,
            3 => CloseReason::ShuttingDown,
            4 => CloseReason::InUse,
            5 => CloseReason::UnsupportedVersion,
            6 => CloseReason::ProtocolError,
            7 => CloseReason::TimedOut,
            other => CloseReason::Other(other),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why bytes are not a frame. Every variant is something a peer can send; none is a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer than the two bytes of version and type.
    #[error("the frame is shorter than its header")]
    TooShort,
    /// A protocol version this crate does not speak.
    #[error("protocol version {0} is not supported (this side speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u8),
    /// An unknown frame type.
    #[error("unknown frame type {0:#04x}")]
    UnknownType(u8),
    /// The frame ends before its fields do.
    #[error("the frame is truncated")]
    Truncated,
    /// Bytes follow the last field.
    #[error("{0} unexpected bytes after the frame")]
    TrailingBytes(usize),
    /// A length beyond the field's limit.
    #[error("the {field} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its claimed length.
        len: usize,
        /// Its limit.
        max: usize,
    },
    /// The app name is not UTF-8.
    #[error("the app name is not UTF-8")]
    InvalidAppName,
    /// A header name or value HTTP does not allow.
    #[error("a header name or value is not valid HTTP")]
    InvalidHeader,
    /// An unknown outcome code.
    #[error("unknown outcome code {0}")]
    UnknownOutcome(u8),
}

/// Why a frame cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field beyond its limit (the frame would not decode).
    #[error("the {field} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// Its limit.
        max: usize,
    },
}

fn check(field: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max {
        Err(EncodeError::TooLong { field, len, max })
    } else {
        Ok(())
    }
}

impl Frame {
    /// Encodes the frame, checking every limit the decoder enforces.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(self.encoded_len_hint());
        out.put_u8(PROTOCOL_VERSION);
        match self {
            Frame::Hello { app_name } => {
                check("app name", app_name.len(), MAX_APP_NAME_LEN)?;
                out.put_u8(HELLO);
                put_u16_len(&mut out, app_name.len());
                out.put_slice(app_name.as_bytes());
            }
            Frame::Welcome => out.put_u8(WELCOME),
            Frame::Deliver { id, headers, body } => {
                check("header list", headers.len(), MAX_HEADERS)?;
                check("body", body.len(), MAX_BODY_LEN)?;
                out.put_u8(DELIVER);
                out.put_u64(*id);
                put_u16_len(&mut out, headers.len());
                for (name, value) in headers {
                    let name = name.as_str().as_bytes();
                    check("header name", name.len(), usize::from(u8::MAX))?;
                    check("header value", value.len(), MAX_HEADER_VALUE_LEN)?;
                    out.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
                    out.put_slice(name);
                    put_u16_len(&mut out, value.len());
                    out.put_slice(value.as_bytes());
                }
                out.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
                out.put_slice(body);
            }
            Frame::Outcome { id, kind } => {
                out.put_u8(OUTCOME);
                out.put_u64(*id);
                out.put_u8(kind.code());
            }
            Frame::Ping { nonce } => {
                out.put_u8(PING);
                out.put_u64(*nonce);
            }
            Frame::Pong { nonce } => {
                out.put_u8(PONG);
                out.put_u64(*nonce);
            }
            Frame::Closing { reason } => {
                out.put_u8(CLOSING);
                out.put_u8(reason.code());
            }
        }
        Ok(out.freeze())
    }

    fn encoded_len_hint(&self) -> usize {
        match self {
            Frame::Deliver { headers, body, .. } => {
                16 + body.len()
                    + headers
                        .iter()
                        .map(|(name, value)| 3 + name.as_str().len() + value.len())
                        .sum::<usize>()
            }
            Frame::Hello { app_name } => 4 + app_name.len(),
            _ => 10,
        }
    }

    /// Decodes one frame. Given `Bytes`, the body of a `Deliver` shares their buffer (no copy).
    pub fn decode(bytes: impl Into<Bytes>) -> Result<Frame, DecodeError> {
        let mut reader = Reader {
            bytes: bytes.into(),
            pos: 0,
        };
        let version = reader.u8().map_err(|_| DecodeError::TooShort)?;
        let kind = reader.u8().map_err(|_| DecodeError::TooShort)?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let frame = match kind {
            HELLO => {
                let len = usize::from(reader.u16()?);
                if len > MAX_APP_NAME_LEN {
                    return Err(DecodeError::TooLong {
                        field: "app name",
                        len,
                        max: MAX_APP_NAME_LEN,
                    });
                }
                let name = reader.take(len)?;
                let app_name = std::str::from_utf8(&name)
                    .map_err(|_| DecodeError::InvalidAppName)?
                    .to_owned();
                Frame::Hello { app_name }
            }
            WELCOME => Frame::Welcome,
            DELIVER => {
                let id = reader.u64()?;
                let count = usize::from(reader.u16()?);
                if count > MAX_HEADERS {
                    return Err(DecodeError::TooLong {
                        field: "header list",
                        len: count,
                        max: MAX_HEADERS,
                    });
                }
                let mut headers = HeaderMap::with_capacity(count);
                for _ in 0..count {
                    let name_len = usize::from(reader.u8()?);
                    let name = reader.take(name_len)?;
                    let value_len = usize::from(reader.u16()?);
                    if value_len > MAX_HEADER_VALUE_LEN {
                        return Err(DecodeError::TooLong {
                            field: "header value",
                            len: value_len,
                            max: MAX_HEADER_VALUE_LEN,
                        });
                    }
                    let value = reader.take(value_len)?;
                    let name =
                        HeaderName::from_bytes(&name).map_err(|_| DecodeError::InvalidHeader)?;
                    let value = HeaderValue::from_maybe_shared(value)
                        .map_err(|_| DecodeError::InvalidHeader)?;
                    headers.append(name, value);
                }
                let body_len = usize::try_from(reader.u32()?).unwrap_or(usize::MAX);
                if body_len > MAX_BODY_LEN {
                    return Err(DecodeError::TooLong {
                        field: "body",
                        len: body_len,
                        max: MAX_BODY_LEN,
                    });
                }
                let body = reader.take(body_len)?;
                Frame::Deliver { id, headers, body }
            }
            OUTCOME => {
                let id = reader.u64()?;
                let code = reader.u8()?;
                let kind = OutcomeKind::from_code(code).ok_or(DecodeError::UnknownOutcome(code))?;
                Frame::Outcome { id, kind }
            }
            PING => Frame::Ping {
                nonce: reader.u64()?,
            },
            PONG => Frame::Pong {
                nonce: reader.u64()?,
            },
            CLOSING => Frame::Closing {
                reason: CloseReason::from_code(reader.u8()?),
            },
            other => return Err(DecodeError::UnknownType(other)),
        };
        match reader.remaining() {
            0 => Ok(frame),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }
}

fn put_u16_len(out: &mut BytesMut, len: usize) {
    out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
}

/// A cursor over a frame that checks every read against what is there.
struct Reader {
    bytes: Bytes,
    pos: usize,
}

impl Reader {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let slice = self.bytes.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let taken = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&taken);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_core::ingest::FailReason;
    use proptest::prelude::*;

    use super::*;

    fn round_trip(frame: &Frame) -> Frame {
        Frame::decode(frame.encode().unwrap()).unwrap()
    }

    fn deliver() -> Frame {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-timestamp", HeaderValue::from_static("1700000000"));
        headers.insert("webhook-signature", HeaderValue::from_static("v1:abc="));
        headers.append("x-multi", HeaderValue::from_static("one"));
        headers.append("x-multi", HeaderValue::from_static("two"));
        Frame::Deliver {
            id: 42,
            headers,
            body: Bytes::from_static(b"{\"data\":1}"),
        }
    }

    #[test]
    fn every_frame_type_round_trips() {
        let frames = [
            Frame::Hello {
                app_name: "Deskbridge 0.1.0 (FRONT-DESK)".to_owned(),
            },
            Frame::Welcome,
            deliver(),
            Frame::Outcome {
                id: u64::MAX,
                kind: OutcomeKind::Stale,
            },
            Frame::Ping { nonce: 7 },
            Frame::Pong { nonce: 7 },
            Frame::Closing {
                reason: CloseReason::Replaced,
            },
            Frame::Closing {
                reason: CloseReason::Other(200),
            },
        ];
        for frame in &frames {
            assert_eq!(&round_trip(frame), frame);
        }
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        assert_eq!(
            &Frame::Outcome {
                id: 258,
                kind: OutcomeKind::Rejected
            }
            .encode()
            .unwrap()[..],
            &[1, 0x04, 0, 0, 0, 0, 0, 0, 1, 2, 4]
        );
        assert_eq!(
            &Frame::Hello {
                app_name: "ab".to_owned()
            }
            .encode()
            .unwrap()[..],
            &[1, 0x01, 0, 2, b'a', b'b']
        );
        assert_eq!(
            &Frame::Closing {
                reason: CloseReason::ShuttingDown
            }
            .encode()
            .unwrap()[..],
            &[1, 0x07, 3]
        );
    }

    #[test]
    fn outcome_kinds_answer_like_outcomes() {
        let outcomes = [
            Outcome::Stored { id: 1 },
            Outcome::Duplicate { id: 1 },
            Outcome::Stale {
                id: 1,
                skew_seconds: 900,
            },
            Outcome::Rejected("no_matching_signature"),
            Outcome::Failed(FailReason::DiskFull),
        ];
        for outcome in &outcomes {
            let kind = OutcomeKind::from(outcome);
            assert_eq!(kind.http_status(), outcome.http_status());
            assert_eq!(kind.as_str(), outcome.kind());
            assert_eq!(OutcomeKind::from_code(kind.code()), Some(kind));
        }
    }

    #[test]
    fn malformed_frames_are_errors() {
        let cases: [(&[u8], DecodeError); 9] = [
            (&[], DecodeError::TooShort),
            (&[1], DecodeError::TooShort),
            (
                &[2, 0x05, 0, 0, 0, 0, 0, 0, 0, 0],
                DecodeError::UnsupportedVersion(2),
            ),
            (&[1, 0x99], DecodeError::UnknownType(0x99)),
            (&[1, 0x05, 0, 0], DecodeError::Truncated),
            (&[1, 0x02, 0], DecodeError::TrailingBytes(1)),
            (
                &[1, 0x04, 0, 0, 0, 0, 0, 0, 0, 1, 9],
                DecodeError::UnknownOutcome(9),
            ),
            (&[1, 0x01, 0, 2, 0xff, 0xfe], DecodeError::InvalidAppName),
            (
                &[1, 0x01, 0xff, 0xff],
                DecodeError::TooLong {
                    field: "app name",
                    len: 0xffff,
                    max: MAX_APP_NAME_LEN,
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                Frame::decode(Bytes::from_static(bytes)),
                Err(expected.clone()),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_body_length_beyond_the_limit_is_refused_before_reading_it() {
        let mut bytes = vec![1, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Frame::decode(Bytes::from(bytes)),
            Err(DecodeError::TooLong { field: "body", .. })
        ));
    }

    #[test]
    fn invalid_header_names_are_refused() {
        let mut bytes = vec![1, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1];
        bytes.extend_from_slice(&[3, b'a', b' ', b'b', 0, 1, b'x', 0, 0, 0, 0]);
        assert_eq!(
            Frame::decode(Bytes::from(bytes)),
            Err(DecodeError::InvalidHeader)
        );
    }

    #[test]
    fn over_limit_frames_are_not_encoded() {
        let frame = Frame::Deliver {
            id: 1,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![0u8; MAX_BODY_LEN + 1]),
        };
        assert!(matches!(
            frame.encode(),
            Err(EncodeError::TooLong { field: "body", .. })
        ));
        let frame = Frame::Hello {
            app_name: "x".repeat(MAX_APP_NAME_LEN + 1),
        };
        assert!(frame.encode().is_err());
    }

    #[test]
    fn a_frame_at_every_limit_fits_the_largest_frame() {
        let mut headers = HeaderMap::new();
        for i in 0..MAX_HEADERS {
            let name = format!("{i:0>255}");
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(&vec![b'v'; MAX_HEADER_VALUE_LEN]).unwrap(),
            );
        }
        let frame = Frame::Deliver {
            id: u64::MAX,
            headers,
            body: Bytes::from(vec![0u8; MAX_BODY_LEN]),
        };
        let encoded = frame.encode().unwrap();
        assert_eq!(encoded.len(), MAX_FRAME_LEN);
        assert_eq!(Frame::decode(encoded).unwrap(), frame);
    }

    #[test]
    fn debug_shows_no_header_values_or_body() {
        let shown = format!("{:?}", deliver());
        assert!(shown.contains("webhook-signature"));
        assert!(!shown.contains("v1:abc="));
        assert!(!shown.contains("data"));
    }

    fn header_name() -> impl Strategy<Value = HeaderName> {
        "[a-z][a-z0-9-]{0,40}".prop_map(|name| HeaderName::from_bytes(name.as_bytes()).unwrap())
    }

    fn header_value() -> impl Strategy<Value = HeaderValue> {
        proptest::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
            0..200,
        )
        .prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
    }

    fn frame() -> impl Strategy<Value = Frame> {
        let kind = prop_oneof![
            Just(OutcomeKind::Stored),
            Just(OutcomeKind::Duplicate),
            Just(OutcomeKind::Stale),
            Just(OutcomeKind::Rejected),
            Just(OutcomeKind::Failed),
        ];
        prop_oneof![
            "\\PC{0,60}".prop_map(|app_name| Frame::Hello { app_name }),
            Just(Frame::Welcome),
            (
                any::<u64>(),
                proptest::collection::vec((header_name(), header_value()), 0..10),
                proptest::collection::vec(any::<u8>(), 0..2048),
            )
                .prop_map(|(id, pairs, body)| {
                    let mut headers = HeaderMap::new();
                    for (name, value) in pairs {
                        headers.append(name, value);
                    }
                    Frame::Deliver {
                        id,
                        headers,
                        body: Bytes::from(body),
                    }
                }),
            (any::<u64>(), kind).prop_map(|(id, kind)| Frame::Outcome { id, kind }),
            any::<u64>().prop_map(|nonce| Frame::Ping { nonce }),
            any::<u64>().prop_map(|nonce| Frame::Pong { nonce }),
            any::<u8>().prop_map(|code| Frame::Closing {
                reason: CloseReason::from_code(code)
            }),
        ]
    }

    proptest! {
        #[test]
        fn frames_round_trip(frame in frame()) {
            let encoded = frame.encode().unwrap();
            prop_assert_eq!(Frame::decode(encoded.clone()).unwrap(), frame);
            // A frame cut anywhere, or with a byte added, is an error and not a panic.
            for cut in 0..encoded.len() {
                prop_assert!(Frame::decode(encoded.slice(..cut)).is_err());
            }
            let mut longer = encoded.to_vec();
            longer.push(0);
            prop_assert!(Frame::decode(Bytes::from(longer)).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(frame) = Frame::decode(Bytes::from(bytes)) {
                // Whatever decodes re-encodes to something that decodes to the same frame.
                let again = Frame::decode(frame.encode().unwrap()).unwrap();
                prop_assert_eq!(again, frame);
            }
        }

        #[test]
        fn valid_headers_with_arbitrary_tails_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..512),
            kind in 0u8..=0x08,
        ) {
            let mut bytes = vec![PROTOCOL_VERSION, kind];
            bytes.extend_from_slice(&tail);
            let _ = Frame::decode(Bytes::from(bytes));
        }
    }
}
