//! Integration tests of `deskbridge_zocdoc::api` against a scripted Zocdoc on 127.0.0.1:0 (see
//! `support`): every operation (the directory reads too), every error class, token refresh,
//! retries, write read-back, a 429 storm and a token revocation in the middle of a resync.

mod auth;
mod directory;
mod listing;
mod reads;
mod storm;
mod support;
mod writes;
