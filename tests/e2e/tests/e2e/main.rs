//! End-to-end tests of the real Deskbridge window (one test binary; a module per screen).

mod board;
mod database;
mod demo;
mod patterns;
mod shell;
