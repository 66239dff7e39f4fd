//! The `checkpoints` table: signed `(seq, hash)` of the audit chain, one row
//! per key and signed seq (after a key rotation the new key signs seqs the
//! old one signed too), with the id of the key that signed it. The same table
//! serves the server database (written in the transaction of the events
//! that made it due) and the console's cache (checkpoints pulled by sync,
//! each checked before it is stored), so one verifier serves both.

use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, StoreError, meta_get, meta_set};
use crate::domain::audit::format_timestamp;
use crate::domain::checkpoint::{self, Checkpoint, CheckpointError, PublicKey};

/// The table, the same in the server database (step 3) and the cache (step 2).
pub const TABLE_SQL: &str = "
    CREATE TABLE checkpoints (
        seq        INTEGER NOT NULL,
        hash       TEXT NOT NULL,
        signed_at  TEXT NOT NULL,
        signature  TEXT NOT NULL,
        key_id     TEXT NOT NULL,
        PRIMARY KEY (key_id, seq)
    ) STRICT;
    CREATE INDEX checkpoints_by_seq ON checkpoints(seq);
    ";

/// The step, in the server database and the cache, that lets a checkpoint
/// be a signed tree head (`domain::note`); older rows keep NULLs there and
/// verify as `govdeck-checkpoint-v1` checkpoints.
pub const TREE_HEAD_SQL: &str = "
    ALTER TABLE checkpoints ADD COLUMN tree_size INTEGER;
    ALTER TABLE checkpoints ADD COLUMN root_hash TEXT;
    ALTER TABLE checkpoints ADD COLUMN note TEXT;
    ";

const COLUMNS: &str = "seq, hash, signed_at, signature, key_id, tree_size, root_hash, note";

/// A checkpoint as stored, with the id of the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub checkpoint: Checkpoint,
    pub key_id: String,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Stored> {
    let signed_at: String = row.get(2)?;
    let signed_at = DateTime::parse_from_rfc3339(&signed_at)
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(err)))?
        .to_utc();
    Ok(Stored {
        checkpoint: Checkpoint {
            seq: row.get::<_, i64>(0)? as u64,
            hash: row.get(1)?,
            signed_at,
            signature: row.get(3)?,
            tree_size: row.get::<_, Option<i64>>(5)?.map(|size| size as u64),
            root_hash: row.get(6)?,
            note: row.get(7)?,
        },
        key_id: row.get(4)?,
    })
}

/// Stores a checkpoint signed by `key_id`; one already stored for that key and seq is kept as it was.
pub fn insert(conn: &Connection, checkpoint: &Checkpoint, key_id: &str) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO checkpoints({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(key_id, seq) DO NOTHING"
    ))?
    .execute(params![
        checkpoint.seq as i64,
        checkpoint.hash,
        format_timestamp(checkpoint.signed_at),
        checkpoint.signature,
        key_id,
        checkpoint.tree_size.map(|size| size as i64),
        checkpoint.root_hash,
        checkpoint.note,
    ])?;
    Ok(())
}

/// The newest checkpoint signed by `key_id`.
pub fn latest(conn: &Connection, key_id: &str) -> Result<Option<Stored>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM checkpoints WHERE key_id = ?1 ORDER BY seq DESC LIMIT 1"))?
        .query_row([key_id], from_row)
        .optional()?)
}

/// The oldest signed tree head of `key_id` at or after `seq`.
pub fn first_tree_head_from(conn: &Connection, key_id: &str, seq: u64) -> Result<Option<Checkpoint>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM checkpoints WHERE key_id = ?1 AND seq >= ?2 AND root_hash IS NOT NULL \
             ORDER BY seq LIMIT 1"
        ))?
        .query_row(params![key_id, seq as i64], from_row)
        .optional()?
        .map(|stored| stored.checkpoint))
}

/// Checkpoints signed by `key_id` after `after`, oldest first, at most `limit`.
pub fn page(conn: &Connection, after: u64, limit: u32, key_id: &str) -> Result<(Vec<Checkpoint>, bool)> {
    let mut checkpoints: Vec<Checkpoint> = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM checkpoints WHERE seq > ?1 AND key_id = ?2 ORDER BY seq LIMIT ?3"
        ))?
        .query_map(params![after as i64, key_id, i64::from(limit) + 1], from_row)?
        .map(|stored| stored.map(|stored| stored.checkpoint))
        .collect::<rusqlite::Result<_>>()?;
    let more = checkpoints.len() > limit as usize;
    checkpoints.truncate(limit as usize);
    Ok((checkpoints, more))
}

/// The tree sizes of the stored signed tree heads, ascending, each once.
pub fn tree_sizes(conn: &Connection) -> Result<Vec<u64>> {
    Ok(conn
        .prepare("SELECT DISTINCT tree_size FROM checkpoints WHERE tree_size IS NOT NULL ORDER BY tree_size")?
        .query_map([], |row| row.get::<_, i64>(0).map(|size| size as u64))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A signed root that is not the root of the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootMismatch {
    pub size: u64,
    /// Lower-case hex.
    pub signed: String,
    pub rows: String,
}

/// What holding the signed tree heads' roots against the rows found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootsReport {
    /// Stored tree heads whose root was held against the rows' root.
    pub checked: u64,
    /// Tree heads past where the chain could be walked (none on a whole chain).
    pub unchecked: u64,
    /// The largest tree size checked.
    pub newest: Option<u64>,
    /// The smallest tree head whose root is not the rows'.
    pub mismatch: Option<RootMismatch>,
}

/// Holds the root of every stored signed tree head against `roots`, the
/// rows' Merkle roots at those sizes (`store::audit::verify_roots`). The
/// heads' signatures are checked apart, by [`verify`].
pub fn check_roots(conn: &Connection, roots: &[(u64, crate::domain::merkle::Hash)]) -> Result<RootsReport> {
    let of_rows: std::collections::HashMap<u64, &crate::domain::merkle::Hash> =
        roots.iter().map(|(size, root)| (*size, root)).collect();
    let mut report = RootsReport { checked: 0, unchecked: 0, newest: None, mismatch: None };
    for stored in all(conn)? {
        let (Some(size), Some(signed)) = (stored.checkpoint.tree_size, stored.checkpoint.root()) else { continue };
        let Some(rows) = of_rows.get(&size) else {
            report.unchecked += 1;
            continue;
        };
        report.checked += 1;
        report.newest = report.newest.max(Some(size));
        if **rows != signed && report.mismatch.as_ref().is_none_or(|first| size < first.size) {
            report.mismatch = Some(RootMismatch { size, signed: hex::encode(signed), rows: hex::encode(rows) });
        }
    }
    Ok(report)
}

/// Every stored checkpoint, oldest first.
pub fn all(conn: &Connection) -> Result<Vec<Stored>> {
    Ok(conn
        .prepare(&format!("SELECT {COLUMNS} FROM checkpoints ORDER BY seq, key_id"))?
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The hash of the audit event at `seq`, if the log holds one.
pub fn chain_hash_at(conn: &Connection, seq: u64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?
        .query_row([seq as i64], |row| row.get(0))
        .optional()?)
}

/// The last seq the audit table holds (0 when empty), whatever the head in `meta` says.
pub fn chain_end(conn: &Connection) -> Result<u64> {
    let end: Option<i64> = conn.query_row("SELECT MAX(seq) FROM audit", [], |row| row.get(0))?;
    Ok(end.unwrap_or(0) as u64)
}

/// What checking the stored checkpoints found.
#[derive(Debug, Clone)]
pub struct CheckpointReport {
    /// Checkpoints stored.
    pub checkpoints: u64,
    /// Signatures were checked (a key was given); otherwise only `(seq, hash)`.
    pub signatures_checked: bool,
    pub newest: Option<Checkpoint>,
    /// The last seq of the audit table.
    pub chain_end: u64,
    pub result: std::result::Result<(), CheckpointError>,
}

impl CheckpointReport {
    /// Events after the newest checkpoint: not (yet) covered by a signature.
    pub fn unsigned_tail(&self) -> u64 {
        self.chain_end.saturating_sub(self.newest.as_ref().map_or(0, |newest| newest.seq))
    }
}

/// Checks every stored checkpoint, oldest first, and reports the first
/// problem: its signature with the key of its `key_id` among `keys` (skipped
/// when `keys` is empty), and its `(seq, hash)` against the audit table. A
/// checkpoint past the table's end means the tail was cut, whatever the
/// head in `meta` says; a hash that differs means the chain was rewritten.
/// `partial` is for an owner's cache (see [`checkpoint::check_against_chain`]).
pub fn verify(conn: &Connection, keys: &[PublicKey], partial: bool) -> Result<CheckpointReport> {
    let stored = all(conn)?;
    let chain_end = chain_end(conn)?;
    let mut result = Ok(());
    for Stored { checkpoint, key_id } in &stored {
        let signed = match keys.iter().find(|key| key.id() == key_id) {
            Some(key) => key.verify(checkpoint),
            None if keys.is_empty() => Ok(()),
            None => Err(CheckpointError::UnknownKey { seq: checkpoint.seq, key_id: key_id.clone() }),
        };
        let chain_hash = chain_hash_at(conn, checkpoint.seq)?;
        let checked = signed
            .and_then(|()| checkpoint::check_against_chain(checkpoint, chain_hash.as_deref(), chain_end, partial));
        if let Err(err) = checked {
            result = Err(err);
            break;
        }
    }
    Ok(CheckpointReport {
        checkpoints: stored.len() as u64,
        signatures_checked: !keys.is_empty(),
        newest: stored.last().map(|stored| stored.checkpoint.clone()),
        chain_end,
        result,
    })
}

/// The `meta` key holding how many events the server lets pass between two
/// checkpoints, so `audit verify` can tell a normal unsigned tail from a long one.
const EVERY_KEY: &str = "checkpoint_every";

pub fn set_every(conn: &Connection, every: u64) -> Result<()> {
    meta_set(conn, EVERY_KEY, &every.to_string())
}

/// The interval the server last ran with, if it ever signed.
pub fn every(conn: &Connection) -> Result<Option<u64>> {
    meta_get(conn, EVERY_KEY)?
        .map(|text| text.parse::<u64>().map_err(|err| StoreError::Invalid(format!("{EVERY_KEY}: {err}"))))
        .transpose()
}
