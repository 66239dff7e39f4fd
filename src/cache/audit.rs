//! Audit events in the cache: appending a verified page, the reads of the
//! timeline and KPIs, and verifying what the cache holds.

use rusqlite::{Connection, params};

use super::{Result, VISIBILITY, meta_get};
use crate::domain::AuditEvent;
use crate::domain::api::AuditHead;
use crate::domain::audit::{ChainBreak, ChainVerifier};
use crate::store;

/// The audit indexes beside the primary key, as created by the schema.
pub const SECONDARY_INDEXES: &str = "
    CREATE INDEX IF NOT EXISTS audit_by_app ON audit(app_id, seq);
    CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action_type, timestamp);";

/// Drops the secondary indexes before a bulk load (much faster to build once after).
pub fn drop_secondary_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch("DROP INDEX IF EXISTS audit_by_app; DROP INDEX IF EXISTS audit_by_action;")?;
    Ok(())
}

/// Builds the secondary indexes again; also run at every open, so a load
/// that was killed halfway leaves no cache without them for long.
pub fn create_secondary_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch(SECONDARY_INDEXES)?;
    Ok(())
}

/// The head the cache last verified (seq 0 before the first sync).
pub fn verified_head(conn: &Connection) -> Result<AuditHead> {
    Ok(store::audit::head(conn)?)
}

/// Appends events already checked against the verified head, and moves the head.
pub fn append_verified(conn: &Connection, events: &[AuditEvent]) -> Result<()> {
    for event in events {
        store::audit::insert(conn, event)?;
    }
    if let Some(last) = events.last() {
        store::audit::set_head(conn, &AuditHead { seq: last.seq, hash: last.hash.clone() })?;
    }
    Ok(())
}

/// The newest `limit` events, newest first.
pub fn recent(conn: &Connection, limit: u32) -> Result<Vec<AuditEvent>> {
    let sql = format!("SELECT {} FROM audit ORDER BY seq DESC LIMIT ?1", store::audit::COLUMNS);
    Ok(conn.prepare_cached(&sql)?.query_map([limit], store::audit::from_row)?.collect::<rusqlite::Result<_>>()?)
}

/// The newest `limit` events of one app, newest first.
pub fn for_app(conn: &Connection, app_id: &str, limit: u32) -> Result<Vec<AuditEvent>> {
    let sql = format!("SELECT {} FROM audit WHERE app_id = ?1 ORDER BY seq DESC LIMIT ?2", store::audit::COLUMNS);
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![app_id, limit], store::audit::from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// DLP blocks per month (`YYYY-MM`), oldest first.
pub fn dlp_blocks_by_month(conn: &Connection) -> Result<Vec<(String, u64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT substr(timestamp, 1, 7) AS month, COUNT(*) FROM audit
             WHERE action_type = 'dlp.block' GROUP BY month ORDER BY month",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// What verifying the cache found.
#[derive(Debug, Clone)]
pub struct CacheVerify {
    pub verified: u64,
    pub head: AuditHead,
    /// The whole chain was checked link by link; false for an owner's cache,
    /// which holds only its own events, so only each event's own hash is checked
    /// and links where neighbours are present.
    pub full_chain: bool,
    pub result: std::result::Result<(), ChainBreak>,
}

/// Walks the cached events in order: the whole chain for a cache that holds
/// everything; each event's hash and the links between neighbours for an
/// owner's partial cache. The end is compared with the stored head.
pub fn verify(conn: &Connection) -> Result<CacheVerify> {
    let full_chain = meta_get(conn, VISIBILITY)?.as_deref() != Some("owner");
    let head = verified_head(conn)?;
    if full_chain {
        let report = store::audit::verify(conn)?;
        return Ok(CacheVerify { verified: report.verified, head, full_chain, result: report.result });
    }
    let sql = format!("SELECT {} FROM audit ORDER BY seq", store::audit::COLUMNS);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut verified = 0;
    let mut previous: Option<AuditEvent> = None;
    let mut result = Ok(());
    while let Some(row) = rows.next()? {
        let event = store::audit::from_row(row)?;
        let linked = previous.as_ref().filter(|p| p.seq.checked_add(1) == Some(event.seq));
        let mut verifier = match (linked, event.seq.checked_sub(1)) {
            (Some(p), _) => ChainVerifier::resume(p.seq, p.hash.clone()),
            (None, Some(before)) => ChainVerifier::resume(before, event.prev_hash.clone()),
            (None, None) => {
                result = Err(ChainBreak::Gap { seq: 0, expected: 1 });
                break;
            }
        };
        if let Err(broken) = verifier.push(&event) {
            result = Err(broken);
            break;
        }
        verified += 1;
        previous = Some(event);
    }
    if result.is_ok()
        && let Some(last) = &previous
        && (last.seq != head.seq || last.hash != head.hash)
    {
        result = Err(ChainBreak::HeadMismatch { seq: last.seq });
    }
    Ok(CacheVerify { verified, head, full_chain, result })
}
