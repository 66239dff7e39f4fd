//! The fast write path of the seed: the same rows `store::apps::save` and
//! `store::approvals::save` write, without their per-row look-ups (the
//! database is empty, so there is no previous owner to leave a delete for,
//! and revisions are counted here instead of read back for every row), and
//! the audit chain sealed apart from `store::audit::insert`, so events can be
//! made on one thread and inserted on another, with event ids the caller
//! draws (the store's appender draws random ones) so a seed is repeatable.

use chrono::{DateTime, Utc};
use rusqlite::{CachedStatement, Connection, params};

use crate::domain::api::{AuditHead, ChangeKind};
use crate::domain::audit::format_timestamp;
use crate::domain::{App, Approval, AuditEvent, NewAuditEvent};
use crate::store::{self, Result, changes};

const INSERT_APP: &str = "INSERT INTO apps(id, owner, state, expires_at, last_activity_at, rev, data)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const INSERT_APPROVAL: &str = "INSERT INTO approvals(id, app_id, status, rev, data) VALUES (?1, ?2, ?3, ?4, ?5)";
const INSERT_CHANGE: &str = "INSERT INTO changes(rev, kind, id, audience, op) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Writes apps and approval requests at consecutive new revisions.
pub struct CatalogWriter<'c> {
    next_rev: u64,
    insert_app: CachedStatement<'c>,
    insert_approval: CachedStatement<'c>,
    insert_change: CachedStatement<'c>,
}

impl<'c> CatalogWriter<'c> {
    pub fn start(conn: &'c Connection) -> Result<CatalogWriter<'c>> {
        Ok(CatalogWriter {
            next_rev: changes::next_rev(conn)?,
            insert_app: conn.prepare_cached(INSERT_APP)?,
            insert_approval: conn.prepare_cached(INSERT_APPROVAL)?,
            insert_change: conn.prepare_cached(INSERT_CHANGE)?,
        })
    }

    fn record_change(&mut self, kind: ChangeKind, id: &str, audience: &str) -> Result<u64> {
        let rev = self.next_rev;
        self.next_rev += 1;
        self.insert_change.execute(params![rev as i64, kind.as_str(), id, audience, "upsert"])?;
        Ok(rev)
    }

    /// Records that `id` left `audience` (a previous owner) as the store
    /// leaves it: the entry was saved for that owner first (at a revision
    /// the delete replaced, so it is skipped here), then the change of owner
    /// put a delete for them before the new owner's upsert.
    pub fn left(&mut self, kind: ChangeKind, id: &str, audience: &str) -> Result<()> {
        let rev = self.next_rev + 1;
        self.next_rev += 2;
        self.insert_change.execute(params![rev as i64, kind.as_str(), id, audience, "delete"])?;
        Ok(())
    }

    /// Writes a new `app` at the next revision (set on it).
    pub fn app(&mut self, app: &mut App) -> Result<()> {
        app.rev = self.record_change(ChangeKind::App, &app.id, &app.owner)?;
        let json = serde_json::to_string(app)?;
        self.insert_app.execute(params![
            app.id,
            app.owner,
            app.state.as_str(),
            app.expires_at.map(format_timestamp),
            app.last_activity_at.map(format_timestamp),
            app.rev as i64,
            json
        ])?;
        Ok(())
    }

    /// Writes a new `approval` at the next revision (set on it); its audience is its app's owner.
    pub fn approval(&mut self, approval: &mut Approval) -> Result<()> {
        approval.rev = self.record_change(ChangeKind::Approval, &approval.id, &approval.app_owner)?;
        let json = serde_json::to_string(approval)?;
        self.insert_approval.execute(params![
            approval.id,
            approval.app_id,
            approval.status.as_str(),
            approval.rev as i64,
            json
        ])?;
        Ok(())
    }
}

/// The end of the audit chain: seals events one after another.
pub struct Chain {
    head: AuditHead,
}

impl Chain {
    /// Continues after the log's current head.
    pub fn start(conn: &Connection) -> Result<Chain> {
        Ok(Chain { head: store::audit::head(conn)? })
    }

    /// Seals `event` at the next seq, written by `reported_by` at `at`.
    pub fn seal(&mut self, event: NewAuditEvent, reported_by: &str, event_id: String, at: DateTime<Utc>) -> AuditEvent {
        let sealed = AuditEvent::seal(event, reported_by, event_id, self.head.seq + 1, at, &self.head.hash);
        self.head = AuditHead { seq: sealed.seq, hash: sealed.hash.clone() };
        sealed
    }

    pub fn into_head(self) -> AuditHead {
        self.head
    }
}
