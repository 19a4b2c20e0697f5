//! Caspio REST v3 client: tokens, tables, fields and record upserts for the practice's Caspio account.
