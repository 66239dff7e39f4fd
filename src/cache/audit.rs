//! Audit events in the cache: appending a verified page, the reads of the
//! timeline and KPIs, and verifying what the cache holds.

use rusqlite::{Connection, params};

use super::{Result, VISIBILITY, meta_get};
use crate::domain::api::AuditHead;
use crate::domain::audit::{ChainBreak, ChainVerifier, EventView, HashScratch};
use crate::domain::{AuditEvent, Outcome};
use crate::store;

/// The audit index a first bulk load drops and builds after it (random
/// inserts into it would cost more than one sort at the end). The partial
/// `audit_dlp_by_time` (schema step 3) stays: few rows, appended in order.
/// `audit_by_actor`, `audit_by_action_type` and `audit_by_error` serve the timeline's filter
/// ([`super::audit_search`]); `audit_by_error` holds only the events with an
/// error code (a few in a hundred), so a first load builds it in a fraction
/// of the time, and the filter's `IN` lookups still use it.
pub const SECONDARY_INDEXES: &str = "CREATE INDEX IF NOT EXISTS audit_by_app ON audit(app_id, seq);
    CREATE INDEX IF NOT EXISTS audit_by_actor ON audit(actor_id);
    CREATE INDEX IF NOT EXISTS audit_by_action_type ON audit(action_type);
    CREATE INDEX IF NOT EXISTS audit_by_error ON audit(error_code) WHERE error_code IS NOT NULL;";

/// Drops the secondary indexes before a bulk load (much faster to build once after).
pub fn drop_secondary_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DROP INDEX IF EXISTS audit_by_app; DROP INDEX IF EXISTS audit_by_actor;
         DROP INDEX IF EXISTS audit_by_action_type; DROP INDEX IF EXISTS audit_by_error;",
    )?;
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
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        super::audit_search::count_values(conn, first.seq, last.seq)?;
        store::audit::set_head(conn, &AuditHead { seq: last.seq, hash: last.hash.clone() })?;
    }
    Ok(())
}

/// Where a text field of a [`AuditBatch`] row lies in its buffer; `None` is SQL NULL.
#[derive(Debug, Clone, Copy)]
struct Span(Option<(u32, u32)>);

/// The text columns of a row, in [`store::audit::COLUMNS`] order (seq,
/// version, outcome and risk score are kept apart).
const TEXT_COLUMNS: usize = 19;
/// Where the event's own hash is among them.
const HASH_COLUMN: usize = 16;

#[derive(Debug, Clone)]
struct BatchRow {
    seq: u64,
    version: Option<u32>,
    outcome: Outcome,
    risk_score_at_time: Option<u32>,
    text: [Span; TEXT_COLUMNS],
}

/// Checked events ready to be appended, as their rows: every text value in
/// one buffer, so a page of thousands of events is a few allocations and
/// crosses to the writer thread without the page it was read from.
#[derive(Debug, Clone, Default)]
pub struct AuditBatch {
    text: String,
    rows: Vec<BatchRow>,
    last_hash: Option<Span>,
}

impl AuditBatch {
    pub fn with_capacity(events: usize) -> AuditBatch {
        AuditBatch { text: String::with_capacity(events * 400), rows: Vec::with_capacity(events), last_hash: None }
    }

    fn span(&mut self, value: Option<&str>) -> Span {
        Span(value.map(|value| {
            let start = self.text.len();
            self.text.push_str(value);
            (start as u32, value.len() as u32)
        }))
    }

    fn get(&self, span: Span) -> Option<&str> {
        span.0.map(|(start, len)| &self.text[start as usize..(start + len) as usize])
    }

    /// Adds `event`, whose hash was just checked with `scratch` (which holds
    /// its timestamp and request context as they are stored).
    pub fn push(&mut self, event: &EventView<'_>, scratch: &HashScratch) {
        let text = [
            self.span(Some(&event.event_id)),
            self.span(Some(scratch.timestamp())),
            self.span(Some(&event.actor_id)),
            self.span(Some(&event.actor_role)),
            self.span(event.app_id.as_deref()),
            self.span(event.environment.as_deref()),
            self.span(Some(&event.action_type)),
            self.span(Some(&event.resource_type)),
            self.span(event.resource_id.as_deref()),
            self.span(event.data_classification.as_deref()),
            self.span(event.error_code.as_deref()),
            self.span(event.ip_address.as_deref()),
            self.span(event.user_agent.as_deref()),
            self.span(Some(scratch.context())),
            self.span(event.approval_id.as_deref()),
            self.span(Some(&event.prev_hash)),
            self.span(Some(&event.hash)),
            self.span(event.reported_by.as_deref()),
            self.span(scratch.recorded_at()),
        ];
        self.last_hash = Some(text[HASH_COLUMN]);
        self.rows.push(BatchRow {
            seq: event.seq,
            version: event.version,
            outcome: event.outcome,
            risk_score_at_time: event.risk_score_at_time,
            text,
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The head the batch moves the cache to.
    pub fn last(&self) -> Option<AuditHead> {
        let row = self.rows.last()?;
        Some(AuditHead { seq: row.seq, hash: self.get(self.last_hash?)?.to_string() })
    }
}

/// How a write keeps the audit filter's value counts (`audit_values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueCounts {
    /// Each batch adds its own counts: every sync after the first.
    PerBatch,
    /// A first bulk load leaves them to [`super::audit_search::count_all`]
    /// at its end, which reads the new indexes in order instead of updating
    /// a hundred thousand counts a thousand times.
    AtEnd,
}

/// Appends a batch of events already checked against the verified head,
/// with one prepared statement, and moves the head to its last event.
pub fn append_batch(conn: &Connection, batch: &AuditBatch, counts: ValueCounts) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit(seq, event_id, timestamp, actor_id, actor_role, app_id, version, environment,
            action_type, resource_type, resource_id, data_classification, outcome, error_code, ip_address,
            user_agent, request_context, risk_score_at_time, approval_id, prev_hash, hash, reported_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
            ?22, ?23)",
    )?;
    for row in &batch.rows {
        let text = |index: usize| batch.get(row.text[index]);
        insert.raw_bind_parameter(1, row.seq as i64)?;
        // Parameters 2-23 in column order: text, but version (7), outcome (13) and risk score (18).
        let mut next_text = 0;
        for parameter in 2..=23 {
            match parameter {
                7 => insert.raw_bind_parameter(parameter, row.version)?,
                13 => insert.raw_bind_parameter(parameter, row.outcome.as_str())?,
                18 => insert.raw_bind_parameter(parameter, row.risk_score_at_time)?,
                _ => {
                    insert.raw_bind_parameter(parameter, text(next_text))?;
                    next_text += 1;
                }
            }
        }
        insert.raw_execute()?;
    }
    if let (Some(first), Some(last)) = (batch.rows.first(), batch.last()) {
        if counts == ValueCounts::PerBatch {
            super::audit_search::count_values(conn, first.seq, last.seq)?;
        }
        store::audit::set_head(conn, &last)?;
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
            // The partial index holds the blocks alone, in time order; the
            // filter's index on every action would need a sort.
            "SELECT substr(timestamp, 1, 7) AS month, COUNT(*) FROM audit INDEXED BY audit_dlp_by_time
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
    /// For a whole chain: its signed tree heads held against the Merkle
    /// roots of the cached rows.
    pub roots: Option<store::checkpoints::RootsReport>,
}

/// Walks the cached events in order: the whole chain for a cache that holds
/// everything; each event's hash and the links between neighbours for an
/// owner's partial cache. The end is compared with the stored head.
pub fn verify(conn: &Connection) -> Result<CacheVerify> {
    let full_chain = meta_get(conn, VISIBILITY)?.as_deref() != Some("owner");
    let head = verified_head(conn)?;
    if full_chain {
        let report = store::audit::verify_roots(conn, &store::checkpoints::tree_sizes(conn)?)?;
        let roots = match report.result {
            Ok(()) => Some(store::checkpoints::check_roots(conn, &report.roots)?),
            Err(_) => None,
        };
        return Ok(CacheVerify { verified: report.verified, head, full_chain, result: report.result, roots });
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
    Ok(CacheVerify { verified, head, full_chain, result, roots: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::domain::NewAuditEvent;
    use crate::domain::audit::sealed_chain;
    use chrono::TimeZone;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        sealed_chain(n, at, |seq| NewAuditEvent {
            actor_id: "riley".into(),
            app_id: (seq % 2 == 0).then(|| format!("app-{seq}")),
            version: Some(seq as u32),
            action_type: if seq % 3 == 0 { "dlp.block".into() } else { "app.login".into() },
            user_agent: Some("quote \" and é".into()),
            outcome: Some(Outcome::Blocked),
            request_context: serde_json::json!({"z": seq, "a": [1, "x"]}),
            risk_score_at_time: (seq % 2 == 1).then_some(40),
            timestamp: Some(at + chrono::Duration::microseconds(seq as i64 * 1_000_001)),
            ..NewAuditEvent::default()
        })
    }

    #[test]
    fn a_batch_stores_what_the_event_by_event_insert_stores() {
        let events = chain(7);
        let mut by_batch = Cache::open_in_memory().unwrap();
        let mut batch = AuditBatch::with_capacity(events.len());
        let mut scratch = HashScratch::default();
        for event in &events {
            let view = EventView::of(event);
            assert_eq!(view.content_hash(&mut scratch).unwrap().as_str(), event.hash);
            batch.push(&view, &scratch);
        }
        assert_eq!(batch.last(), Some(AuditHead { seq: 7, hash: events[6].hash.clone() }));
        by_batch.write(|conn| append_batch(conn, &batch, ValueCounts::PerBatch)).unwrap();
        let mut one_by_one = Cache::open_in_memory().unwrap();
        one_by_one.write(|conn| append_verified(conn, &events)).unwrap();

        let rows = |cache: &Cache| -> Vec<Vec<rusqlite::types::Value>> {
            let mut stmt = cache.conn().prepare("SELECT * FROM audit ORDER BY seq").unwrap();
            let columns = stmt.column_count();
            stmt.query_map([], |row| (0..columns).map(|index| row.get(index)).collect())
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(rows(&by_batch), rows(&one_by_one));
        assert_eq!(verified_head(by_batch.conn()).unwrap(), verified_head(one_by_one.conn()).unwrap());
        assert_eq!(recent(by_batch.conn(), 10).unwrap(), recent(one_by_one.conn(), 10).unwrap());
        assert_eq!(verify(by_batch.conn()).unwrap().result, Ok(()));
    }

    #[test]
    fn dlp_blocks_by_month_read_the_partial_index() {
        let cache = Cache::open_in_memory().unwrap();
        let plan: Vec<String> = cache
            .conn()
            .prepare(
                "EXPLAIN QUERY PLAN SELECT substr(timestamp, 1, 7) AS month, COUNT(*) FROM audit INDEXED BY audit_dlp_by_time
                 WHERE action_type = 'dlp.block' GROUP BY month ORDER BY month",
            )
            .unwrap()
            .query_map([], |row| row.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|step| step.contains("audit_dlp_by_time")), "{plan:?}");
        let mut cache = cache;
        let events = chain(9);
        cache.write(|conn| append_verified(conn, &events)).unwrap();
        assert_eq!(dlp_blocks_by_month(cache.conn()).unwrap(), vec![("2026-11".to_string(), 3)]);
    }
}
