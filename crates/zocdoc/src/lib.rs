//! Zocdoc: webhook signature verification and payload types, and the developer API client.

pub mod api;
pub mod webhook;
