//! The server's signed audit checkpoints in the cache. Sync checks each page
//! whole (signatures with the pinned key, order, and each `(seq, hash)`
//! against the events the cache holds) before storing any of it, with its
//! cursor, in one transaction; `audit verify` checks them again.

use rusqlite::Connection;

use super::{CHECKPOINTS_CURSOR, Result, SERVER_KEY, VISIBILITY, meta_get, meta_set};
use crate::domain::checkpoint::{self, Checkpoint, CheckpointError, PublicKey};
use crate::store::checkpoints::{self as stored, CheckpointReport};

/// The last checkpoint seq pulled (0 before the first).
pub fn cursor(conn: &Connection) -> Result<u64> {
    Ok(meta_get(conn, CHECKPOINTS_CURSOR)?.and_then(|value| value.parse().ok()).unwrap_or(0))
}

/// The key the cached checkpoints were checked with, if any were.
pub fn recorded_key(conn: &Connection) -> Result<Option<PublicKey>> {
    Ok(meta_get(conn, SERVER_KEY)?.and_then(|hex| PublicKey::from_hex(&hex).ok()))
}

/// Forgets every cached checkpoint and the key they were checked with (a
/// new key was accepted, or what the user may read changed).
pub fn forget(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM checkpoints", [])?;
    conn.execute("DELETE FROM meta WHERE key IN (?1, ?2)", [CHECKPOINTS_CURSOR, SERVER_KEY])?;
    Ok(())
}

/// Whether the cache holds only the user's own events.
fn partial(conn: &Connection) -> Result<bool> {
    Ok(meta_get(conn, VISIBILITY)?.as_deref() == Some("owner"))
}

/// What storing a page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub stored: u64,
    /// The page held a checkpoint past `up_to`: stop pulling, the rest comes next time.
    pub reached_end: bool,
}

/// Checks a page of checkpoints that came after `after` and stores those up
/// to seq `up_to` (what the cache can compare them with), moving the
/// cursor. The whole page is checked before anything is written: an
/// `Err(CheckpointError)` inside means nothing was stored.
pub fn check_and_store(
    conn: &Connection,
    key: &PublicKey,
    after: u64,
    page: &[Checkpoint],
    up_to: u64,
) -> Result<std::result::Result<Stored, CheckpointError>> {
    if let Err(err) = checkpoint::check_page(key, after, page) {
        return Ok(Err(err));
    }
    let partial = partial(conn)?;
    let chain_end = stored::chain_end(conn)?;
    let accepted: Vec<&Checkpoint> = page.iter().take_while(|checkpoint| checkpoint.seq <= up_to).collect();
    for checkpoint in &accepted {
        let chain_hash = stored::chain_hash_at(conn, checkpoint.seq)?;
        if let Err(err) = checkpoint::check_against_chain(checkpoint, chain_hash.as_deref(), chain_end, partial) {
            return Ok(Err(err));
        }
    }
    for checkpoint in &accepted {
        stored::insert(conn, checkpoint, key.id())?;
    }
    if let Some(last) = accepted.last() {
        meta_set(conn, CHECKPOINTS_CURSOR, &last.seq.to_string())?;
    }
    meta_set(conn, SERVER_KEY, &key.to_hex())?;
    Ok(Ok(Stored { stored: accepted.len() as u64, reached_end: accepted.len() < page.len() }))
}

/// Compares checkpoints with the events the cache already holds at their
/// seqs (the others are compared when they are stored).
pub fn check_against_cache(conn: &Connection, page: &[Checkpoint]) -> Result<std::result::Result<(), CheckpointError>> {
    let chain_end = stored::chain_end(conn)?;
    for checkpoint in page {
        let chain_hash = stored::chain_hash_at(conn, checkpoint.seq)?;
        if let Err(err) = checkpoint::check_against_chain(checkpoint, chain_hash.as_deref(), chain_end, true) {
            return Ok(Err(err));
        }
    }
    Ok(Ok(()))
}

/// Checks every cached checkpoint with `key` (only `(seq, hash)` against the
/// events when there is no key) and the events they sign.
pub fn verify(conn: &Connection, key: Option<&PublicKey>) -> Result<CheckpointReport> {
    let keys: Vec<PublicKey> = key.into_iter().cloned().collect();
    Ok(stored::verify(conn, &keys, partial(conn)?)?)
}
