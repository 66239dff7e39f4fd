//! The `audit_tree` table: the hash of every complete (perfect) subtree of
//! the RFC 9162 Merkle tree over the audit log, `(level, idx) → hash`, where
//! level 0 holds the leaf hashes (leaf `idx` is the event at seq `idx + 1`).
//! Written in the same transaction as each appended event, so roots and
//! proofs come from O(log n) stored hashes (`domain::merkle`), never from
//! rebuilding the tree. The tree's size is kept in `meta` beside the chain
//! head; it equals the head's seq unless a backfill stopped at a row it
//! could not read (see [`catch_up`]).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, meta_get, meta_set};
use crate::domain::Visibility;
use crate::domain::api::{ConsistencyProof, InclusionProof, InclusionProofs, MAX_PROOFS};
use crate::domain::audit::HashScratch;
use crate::domain::merkle::{self, Hash, ProofError};

pub const TABLE_SQL: &str = "
    CREATE TABLE audit_tree (
        level  INTEGER NOT NULL,
        idx    INTEGER NOT NULL,
        hash   BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID, STRICT;
";

const SIZE_KEY: &str = "audit_tree_size";

/// How many leaves the stored tree holds.
pub fn size(conn: &Connection) -> Result<u64> {
    meta_get(conn, SIZE_KEY)?
        .map(|s| s.parse::<u64>())
        .transpose()
        .map_err(|err| StoreError::Invalid(format!("audit tree size: {err}")))
        .map(Option::unwrap_or_default)
}

/// The stored hash of the perfect subtree `(level, idx)`.
pub fn node(conn: &Connection, level: u32, idx: u64) -> Result<Hash> {
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM audit_tree WHERE level = ?1 AND idx = ?2")?
        .query_row(params![level, idx as i64], |row| row.get(0))
        .optional()?;
    let blob = blob.ok_or_else(|| StoreError::NotFound { kind: "audit tree node", id: format!("{level}/{idx}") })?;
    blob.try_into().map_err(|_| StoreError::Invalid(format!("audit tree node {level}/{idx} is not 32 bytes")))
}

fn proof_error(err: ProofError<StoreError>) -> StoreError {
    match err {
        ProofError::Lookup(err) => err,
        other => StoreError::Invalid(other.to_string()),
    }
}

/// The root of the tree of the first `size` leaves (`size` ≤ [`size`]).
pub fn root(conn: &Connection, size: u64) -> Result<Hash> {
    merkle::root(size, |level, idx| node(conn, level, idx)).map_err(proof_error)
}

/// The audit path of leaf `leaf` in the tree of `size` leaves.
pub fn inclusion(conn: &Connection, leaf: u64, size: u64) -> Result<Vec<Hash>> {
    merkle::inclusion_proof(leaf, size, |level, idx| node(conn, level, idx)).map_err(proof_error)
}

/// The consistency proof from the tree of `from` leaves to that of `to`.
pub fn consistency(conn: &Connection, from: u64, to: u64) -> Result<Vec<Hash>> {
    merkle::consistency_proof(from, to, |level, idx| node(conn, level, idx)).map_err(proof_error)
}

/// Why a proof was refused: a range the tree cannot answer, or a store fault.
#[derive(Debug, thiserror::Error)]
pub enum ProofRefusal {
    #[error("{0}")]
    BadRange(String),
    #[error("no event the caller may read at seq {0}")]
    NotReadable(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// The tree size a request names, or the stored tree's whole size; refused
/// past the stored tree.
pub fn size_asked(conn: &Connection, asked: Option<u64>) -> Result<u64, ProofRefusal> {
    let stored = size(conn)?;
    match asked {
        None => Ok(stored),
        Some(asked) if asked > stored => {
            Err(ProofRefusal::BadRange(format!("size {asked} is past the tree's {stored} leaves")))
        }
        Some(asked) => Ok(asked),
    }
}

fn leaf_proof(conn: &Connection, seq: u64, tree_size: u64, root_hex: &str) -> Result<InclusionProof> {
    Ok(InclusionProof {
        seq,
        tree_size,
        leaf_hash: hex::encode(node(conn, 0, seq - 1)?),
        root_hash: root_hex.to_string(),
        proof: hex_all(&inclusion(conn, seq - 1, tree_size)?),
    })
}

/// The inclusion proof of the event at `seq` in the tree of `tree_size`
/// (the whole tree when `None`), for a caller who may read `visibility`.
pub fn inclusion_for(
    conn: &Connection,
    seq: u64,
    tree_size: Option<u64>,
    visibility: &Visibility,
) -> Result<InclusionProof, ProofRefusal> {
    let tree_size = size_asked(conn, tree_size)?;
    if seq == 0 || seq > tree_size {
        return Err(ProofRefusal::BadRange(format!("seq {seq} is not in the tree of {tree_size} leaves")));
    }
    if !super::audit::readable_seqs(conn, seq - 1, seq, 1, visibility)?.contains(&seq) {
        return Err(ProofRefusal::NotReadable(seq));
    }
    let root_hex = hex::encode(root(conn, tree_size)?);
    Ok(leaf_proof(conn, seq, tree_size, &root_hex)?)
}

/// The proofs of the events `after < seq <= through` the caller may read,
/// against the tree of `tree_size` (the whole tree when `None`); at most
/// [`MAX_PROOFS`].
pub fn inclusions_for(
    conn: &Connection,
    after: u64,
    through: Option<u64>,
    tree_size: Option<u64>,
    visibility: &Visibility,
) -> Result<InclusionProofs, ProofRefusal> {
    let tree_size = size_asked(conn, tree_size)?;
    let through = through.unwrap_or(tree_size);
    if through > tree_size || after > through {
        return Err(ProofRefusal::BadRange(format!(
            "seqs {after} < seq <= {through} are not in the tree of {tree_size} leaves"
        )));
    }
    let mut seqs = super::audit::readable_seqs(conn, after, through, MAX_PROOFS + 1, visibility)?;
    let more = seqs.len() > MAX_PROOFS as usize;
    seqs.truncate(MAX_PROOFS as usize);
    let root_hex = hex::encode(root(conn, tree_size)?);
    let proofs = seqs.into_iter().map(|seq| leaf_proof(conn, seq, tree_size, &root_hex)).collect::<Result<_>>()?;
    Ok(InclusionProofs { tree_size, root_hash: root_hex, proofs, more })
}

/// The consistency proof from the tree of `from` leaves to that of `to`
/// (the whole tree when `None`).
pub fn consistency_for(conn: &Connection, from: u64, to: Option<u64>) -> Result<ConsistencyProof, ProofRefusal> {
    let to = size_asked(conn, to)?;
    if from > to {
        return Err(ProofRefusal::BadRange(format!("a tree of {from} leaves cannot grow into one of {to}")));
    }
    Ok(ConsistencyProof {
        from,
        to,
        from_root: hex::encode(root(conn, from)?),
        to_root: hex::encode(root(conn, to)?),
        proof: hex_all(&consistency(conn, from, to)?),
    })
}

/// Appends leaves after the stored tree; the caller's transaction covers
/// the nodes and the size written by [`TreeWriter::finish`].
pub struct TreeWriter {
    size: u64,
    /// The newest node written at each level: a left sibling is always the
    /// one written just before, so a batch reads nothing back.
    newest: Vec<Option<(u64, Hash)>>,
}

impl TreeWriter {
    pub fn start(conn: &Connection) -> Result<TreeWriter> {
        Ok(TreeWriter { size: size(conn)?, newest: Vec::new() })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    fn put(&mut self, conn: &Connection, level: u32, idx: u64, hash: Hash) -> Result<()> {
        conn.prepare_cached("INSERT INTO audit_tree(level, idx, hash) VALUES (?1, ?2, ?3)")?.execute(params![
            level,
            idx as i64,
            &hash[..]
        ])?;
        let level = level as usize;
        if self.newest.len() <= level {
            self.newest.resize(level + 1, None);
        }
        self.newest[level] = Some((idx, hash));
        Ok(())
    }

    fn get(&self, conn: &Connection, level: u32, idx: u64) -> Result<Hash> {
        match self.newest.get(level as usize) {
            Some(Some((newest, hash))) if *newest == idx => Ok(*hash),
            _ => node(conn, level, idx),
        }
    }

    /// Stores leaf `self.size()` and the subtrees it completes.
    pub fn push(&mut self, conn: &Connection, leaf: Hash) -> Result<()> {
        let index = self.size;
        self.put(conn, 0, index, leaf)?;
        let mut hash = leaf;
        for (level, idx) in merkle::completed_by(index) {
            let left = self.get(conn, level - 1, 2 * idx)?;
            hash = merkle::node_hash(&left, &hash);
            self.put(conn, level, idx, hash)?;
        }
        self.size += 1;
        Ok(())
    }

    pub fn finish(self, conn: &Connection) -> Result<u64> {
        meta_set(conn, SIZE_KEY, &self.size.to_string())?;
        Ok(self.size)
    }
}

/// Adds to the tree every event after its end, in seq order, and returns
/// how many leaves it added. Run by the migration that made the table (for
/// a database from before it) and after bulk loads that insert rows
/// directly. Stops at the first row it cannot read or a gap in the seqs: a
/// leaf must be the event at its place, and `audit verify` names such a row.
pub fn catch_up(conn: &Connection) -> Result<u64> {
    let mut writer = TreeWriter::start(conn)?;
    let start = writer.size();
    let mut stmt = conn.prepare(&format!("SELECT {} FROM audit WHERE seq > ?1 ORDER BY seq", super::audit::COLUMNS))?;
    let mut rows = stmt.query([start as i64])?;
    let mut scratch = HashScratch::default();
    while let Some(row) = rows.next()? {
        let Ok(view) = super::audit::view_from_row(row) else { break };
        if view.seq != writer.size() + 1 || view.content_hash(&mut scratch).is_none() {
            break;
        }
        writer.push(conn, merkle::leaf_hash(scratch.canonical()))?;
    }
    let added = writer.size() - start;
    if added > 0 {
        writer.finish(conn)?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::NewAuditEvent;
    use crate::store::{Store, audit};

    fn event(n: u64) -> NewAuditEvent {
        NewAuditEvent {
            actor_id: format!("actor-{}", n % 5),
            action_type: "app.login".into(),
            request_context: serde_json::json!({"n": n}),
            ..NewAuditEvent::default()
        }
    }

    fn leaves(conn: &Connection) -> Vec<Hash> {
        let mut stmt = conn.prepare(&format!("SELECT {} FROM audit ORDER BY seq", audit::COLUMNS)).unwrap();
        stmt.query_map([], audit::from_row).unwrap().map(|e| merkle::event_leaf(&e.unwrap())).collect()
    }

    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => merkle::EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                merkle::node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn appended_events_grow_the_tree_in_their_transaction() {
        let mut store = Store::open_in_memory().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        for n in 0..37 {
            store.write(|conn| audit::append(conn, event(n), "riley", at).map(|_| ())).unwrap();
            let conn = store.conn();
            assert_eq!(size(conn).unwrap(), n + 1);
            let all = leaves(conn);
            assert_eq!(root(conn, n + 1).unwrap(), reference_root(&all), "size {}", n + 1);
        }
        let conn = store.conn();
        let all = leaves(conn);
        for size in [1u64, 2, 3, 8, 17, 37] {
            let root_at = reference_root(&all[..size as usize]);
            for leaf in 0..size {
                let path = inclusion(conn, leaf, size).unwrap();
                merkle::verify_inclusion(leaf, size, &all[leaf as usize], &path, &root_at).unwrap();
            }
            let proof = consistency(conn, size, 37).unwrap();
            merkle::verify_consistency(size, 37, &root_at, &reference_root(&all), &proof).unwrap();
        }
    }

    #[test]
    fn a_database_from_before_the_tree_is_filled_by_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        {
            let mut store = Store::open(&path).unwrap();
            store
                .write(|conn| {
                    let mut appender = audit::Appender::start(conn)?;
                    for n in 0..300 {
                        appender.push(conn, event(n), "riley", at)?;
                    }
                    appender.finish(conn).map(|_| ())
                })
                .unwrap();
            // As a database written before the tree existed: no nodes, no size,
            // the schema as it was before step 8 (so no policies table either).
            let conn = store.conn();
            conn.execute_batch(&format!(
                "DROP TABLE audit_tree; DELETE FROM meta WHERE key = '{SIZE_KEY}';
                 ALTER TABLE checkpoints DROP COLUMN tree_size; ALTER TABLE checkpoints DROP COLUMN root_hash;
                 ALTER TABLE checkpoints DROP COLUMN note; DROP TABLE policies; PRAGMA user_version = {};",
                crate::store::schema::TREE_STEP - 1
            ))
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn();
        assert_eq!(size(conn).unwrap(), 300);
        assert_eq!(root(conn, 300).unwrap(), reference_root(&leaves(conn)));
    }

    #[test]
    fn the_backfill_stops_at_an_unreadable_row() {
        let mut store = Store::open_in_memory().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        store
            .write(|conn| {
                for n in 0..10 {
                    audit::insert(
                        conn,
                        &crate::domain::AuditEvent::seal(event(n), "riley", format!("e{n}"), n + 1, at, "x"),
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let conn = store.conn();
        conn.execute("UPDATE audit SET request_context = '{' WHERE seq = 7", []).unwrap();
        assert_eq!(catch_up(conn).unwrap(), 6);
        assert_eq!(size(conn).unwrap(), 6);
        assert_eq!(catch_up(conn).unwrap(), 0, "nothing more until the row reads");
    }
}
