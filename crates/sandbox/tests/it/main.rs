//! Integration tests of the Zocdoc emulator, all on 127.0.0.1: tokens, the list query, status
//! transitions, the sandbox's fixed ids, the directory routes, faults, webhook delivery, the
//! scenario engine, the binary, conformance of every answer to `zocdoc-openapi.yml`, the
//! deskbridge-zocdoc API client against the emulator; and of the Caspio emulator over HTTP.

mod binary;
mod caspio;
mod client;
mod common;
mod conformance;
mod directory;
mod faults;
mod fixed_ids;
mod list;
mod scenario;
mod tokens;
mod transitions;
mod webhooks;
