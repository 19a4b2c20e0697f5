//! Integration tests of `deskbridge-caspio` against the Caspio emulator on 127.0.0.1: the table,
//! field and record calls, the token's refresh on 401, bounded retries of 429 and 5xx, Caspio's
//! error body kept in the error, and where-clauses the builder makes read back exactly by the
//! emulator's parser.

mod calls;
mod where_clauses;
