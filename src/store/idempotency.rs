//! The `idempotency` table: the first answer to each (user, Idempotency-Key),
//! with a hash of the request it answered, so a retry replays it and a
//! different request under the same key is refused.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::Result;
use crate::domain::audit::format_timestamp;

/// Longest accepted key.
pub const MAX_KEY_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// Hash of what a request asked: its method and path and its body.
pub fn request_hash(route: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

pub fn find(conn: &Connection, user: &str, key: &str) -> Result<Option<Recorded>> {
    Ok(conn
        .prepare_cached("SELECT request_hash, status, body FROM idempotency WHERE user = ?1 AND key = ?2")?
        .query_row(params![user, key], |row| {
            Ok(Recorded { request_hash: row.get(0)?, status: row.get(1)?, body: row.get(2)? })
        })
        .optional()?)
}

pub fn record(conn: &Connection, user: &str, key: &str, recorded: &Recorded, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency(user, key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![user, key, recorded.request_hash, recorded.status, recorded.body, format_timestamp(now)])?;
    Ok(())
}
