//! Integration tests of `deskbridge-relay`, over real TCP on 127.0.0.1, with a real `Ingest`
//! over a real SQLCipher store in a temporary folder (`MemorySecrets` holds its key).
//!
//! - `direct`: the direct listener.
//! - `relay`: the relay's public side, end to end through a tunnel client.
//! - `tunnel`: the tunnel: authentication, one app per endpoint, take-over, revocation,
//!   reconnects, dead peers, protocol errors.
//! - `tls`: the same over TLS with certificates made in the test.
//! - `abuse`: slow clients, oversized bodies and garbage frames against the relay binary.
//! - `process`: the `deskbridge-relay` binary: endpoint commands, restarts, SIGTERM, its logs.

mod abuse;
mod direct;
mod process;
mod relay;
mod support;
mod tls;
mod tunnel;
