//! Merkle proofs in the cache. For an owner's cache (whose events have gaps
//! between them, so the chain walk cannot vouch for them) sync stores the
//! inclusion proof of each event it stored, in the tree of a signed tree
//! head it also stores; `audit verify` checks each again: the event's leaf,
//! its path and the checkpoint's signed root.

use rusqlite::{Connection, params};

use super::{Result, meta_get, meta_set};
use crate::domain::audit::HashScratch;
use crate::domain::checkpoint::Checkpoint;
use crate::domain::merkle::{self, Hash};
use crate::store::checkpoints as stored;

/// The last seq whose proof sync has checked (0 before the first).
const PROVED_THROUGH: &str = "proofs_through";

pub fn proved_through(conn: &Connection) -> Result<u64> {
    Ok(meta_get(conn, PROVED_THROUGH)?.and_then(|value| value.parse().ok()).unwrap_or(0))
}

/// The newest cached checkpoint that is a signed tree head.
pub fn latest_tree_head(conn: &Connection) -> Result<Option<Checkpoint>> {
    Ok(stored::all(conn)?.into_iter().map(|s| s.checkpoint).rfind(|c| c.root().is_some()))
}

/// The seqs and leaf hashes of the cached events `after < seq <= through`.
pub fn leaves(conn: &Connection, after: u64, through: u64) -> Result<Vec<(u64, Hash)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM audit WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        crate::store::audit::COLUMNS
    ))?;
    let mut rows = stmt.query(params![after as i64, through as i64])?;
    let mut scratch = HashScratch::default();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let view = crate::store::audit::view_from_row(row)?;
        // Every cached event was hash-checked as it was stored.
        if view.content_hash(&mut scratch).is_some() {
            out.push((view.seq, merkle::leaf_hash(scratch.canonical())));
        }
    }
    Ok(out)
}

/// Stores checked proofs (in the tree of `tree_size`) and moves the cursor to `through`.
pub fn store(conn: &Connection, tree_size: u64, proofs: &[(u64, Vec<Hash>)], through: u64) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_proofs(seq, tree_size, proof) VALUES (?1, ?2, ?3)
         ON CONFLICT(seq) DO UPDATE SET tree_size = excluded.tree_size, proof = excluded.proof",
    )?;
    for (seq, path) in proofs {
        insert.execute(params![*seq as i64, tree_size as i64, path.concat()])?;
    }
    meta_set(conn, PROVED_THROUGH, &through.to_string())?;
    Ok(())
}

/// What checking the stored proofs found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofReport {
    /// Events whose stored proof was checked against a signed root.
    pub proved: u64,
    /// Cached events up to the proved seq that have no proof (should be none).
    pub unproved: u64,
    /// The seq up to which sync proved the cache's events.
    pub through: u64,
    /// The first event whose proof does not lead to its checkpoint's root.
    pub first_bad: Option<u64>,
}

/// Checks every stored proof against the cached event and the cached signed
/// root of its tree size (the checkpoints' signatures are checked apart, by
/// `cache::checkpoints::verify`).
pub fn verify(conn: &Connection) -> Result<ProofReport> {
    let roots: std::collections::HashMap<u64, Hash> =
        stored::all(conn)?.into_iter().filter_map(|s| Some((s.checkpoint.tree_size?, s.checkpoint.root()?))).collect();
    let through = proved_through(conn)?;
    let leaves = leaves(conn, 0, through)?;
    let mut stmt = conn.prepare_cached("SELECT tree_size, proof FROM audit_proofs WHERE seq = ?1")?;
    let mut report = ProofReport { proved: 0, unproved: 0, through, first_bad: None };
    for (seq, leaf) in leaves {
        let row: Option<(i64, Vec<u8>)> =
            rusqlite::OptionalExtension::optional(stmt.query_row([seq as i64], |row| Ok((row.get(0)?, row.get(1)?))))?;
        let Some((tree_size, blob)) = row else {
            report.unproved += 1;
            continue;
        };
        let tree_size = tree_size as u64;
        let path: Vec<Hash> = blob.chunks_exact(32).filter_map(|chunk| chunk.try_into().ok()).collect();
        let ok = blob.len() % 32 == 0
            && roots
                .get(&tree_size)
                .is_some_and(|root| merkle::verify_inclusion(seq - 1, tree_size, &leaf, &path, root).is_ok());
        if ok {
            report.proved += 1;
        } else if report.first_bad.is_none() {
            report.first_bad = Some(seq);
        }
    }
    Ok(report)
}
