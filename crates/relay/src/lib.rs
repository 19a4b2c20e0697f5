//! Webhook transports: how a Zocdoc webhook reaches the ingest function. The direct listener
//! receives it over HTTP on the desk's network; the relay server receives it on a public URL and
//! forwards it over an outbound tunnel to the desk app. Both answer only after the event is
//! committed, and close the connection without an answer when it could not be.
//!
//! - [`direct`]: the direct listener (`POST /webhooks/zocdoc`).
//! - [`server`]: the relay server ([`server::run`]; binary `deskbridge-relay`).
//! - [`client`]: the tunnel client the desk app runs ([`client::TunnelClient`]).
//! - [`frame`]: the tunnel protocol's frames.
//! - [`config`], [`registry`], [`token`], [`tls`]: the relay's configuration, endpoint registry,
//!   ids and tokens, and TLS set-up.
//! - [`http_server`]: the HTTP/1.1 server under both, in which "no answer" is an answer.
//!
//! The app can run the relay client, the direct listener, or both: both hand requests to the same
//! [`deskbridge_core::ingest::Ingest`], which deduplicates.
//!
//! # TLS: terminate it in the relay, or only behind a terminator that hangs up with it
//!
//! Zocdoc retries a webhook only when the connection fails, times out or is cut before an answer;
//! a status code — any status code — ends delivery for good. The relay turns "the desk app is not
//! there, or could not store it" into a connection closed without a single byte of response.
//! Whatever stands between Zocdoc and the relay must pass that silence through. So:
//!
//! **Safe**
//! - The relay terminates TLS itself (`[tls] cert` and `key`, e.g. Let's Encrypt files renewed
//!   by certbot; restart the relay after a renewal). Recommended.
//! - A layer-4 (TCP) pass-through in front: a cloud network load balancer in TCP mode, HAProxy
//!   `mode tcp`, nginx `stream` with `ssl_preread`, a plain port forward or DNAT. TLS still ends
//!   in the relay; a closed connection stays a closed connection.
//! - A layer-7 TLS terminator only if it is proven to close the client's connection without a
//!   response whenever the relay does, and never to answer on the relay's behalf (no error page,
//!   no retry, an upstream timeout longer than the relay's deadline). The common reverse proxies
//!   do not do this out of the box (see below); one that has been configured to (for example
//!   nginx mapping its 502/504 to its connection-dropping code 444 with `error_page`) must pass
//!   the check at the end of this section before it is trusted.
//!
//! **Unsafe (they lose webhooks)**
//! - Any reverse proxy that answers 502/503/504 when the upstream drops the connection, times
//!   out, or is down: nginx `proxy_pass` (502 "Bad Gateway", 504 on `proxy_read_timeout`),
//!   Caddy `reverse_proxy` (502), Traefik (502), HAProxy `mode http` (502), AWS ALB (502/504),
//!   Cloudflare's proxy (520–524), most PaaS routers. Zocdoc takes the 502 as final and never
//!   sends the event again.
//! - A proxy whose upstream timeout is shorter than the relay's deadline: it answers 504 first.
//! - Any hosted tunnel (ngrok, cloudflared, frp, localtunnel, smee): they answer 404/530/200 when
//!   the desk is off.
//!
//! To check a set-up: stop the desk app, send a signed webhook to the public URL
//! (`curl -v --data @body.json -H 'webhook-timestamp: …' -H 'webhook-signature: …' URL`), and
//! expect curl to report an empty reply or a reset connection — never a status line. With
//! `plain_http = true` the relay trusts that such a terminator is in front; the configuration
//! refuses to start with neither TLS nor that explicit choice.

pub mod backoff;
mod body;
pub mod client;
pub mod config;
pub mod direct;
pub mod frame;
pub mod http_server;
pub mod registry;
pub mod server;
pub mod tls;
pub mod token;
