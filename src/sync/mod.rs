//! The sync engine: the HTTP client of API v1, the pure checks that decide
//! whether a remote page may be applied, backoff, and the operations that
//! pull the catalog into the cache and push the outbox to the server.

pub mod client;
pub mod engine;
pub mod plan;
mod proofs;
mod pull;
pub mod retry;
pub mod wal;
