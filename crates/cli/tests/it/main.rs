//! Integration tests of `deskbridge-cli`: the real binary, real TCP on 127.0.0.1, a real
//! SQLCipher database and the real Secret Service of the session `cargo xtask test` provides.

mod crash;
mod relay;
mod serve;
mod support;
