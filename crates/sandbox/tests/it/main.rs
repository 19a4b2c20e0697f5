//! Integration tests of the Zocdoc emulator, all on 127.0.0.1: tokens, the list query, status
//! transitions, the sandbox's fixed ids, faults, webhook delivery, the scenario engine, the
//! binary, and conformance of every answer to `zocdoc-openapi.yml`; and of the Caspio emulator
//! over HTTP.

mod binary;
mod caspio;
mod common;
mod conformance;
mod faults;
mod fixed_ids;
mod list;
mod scenario;
mod tokens;
mod transitions;
mod webhooks;
