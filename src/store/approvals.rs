//! The `approvals` table: each request as its JSON, with its app and status.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, changes};
use crate::domain::api::ChangeKind;
use crate::domain::{Approval, ApprovalStatus};

pub fn get(conn: &Connection, id: &str) -> Result<Approval> {
    let json: Option<String> = conn
        .prepare_cached("SELECT data FROM approvals WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    let json = json.ok_or_else(|| StoreError::NotFound { kind: "approval", id: id.to_string() })?;
    Ok(serde_json::from_str(&json)?)
}

/// Writes `approval` at a new revision (set on it) and logs the change; its
/// audience is the owner of its app.
pub fn save(conn: &Connection, approval: &mut Approval) -> Result<()> {
    let previous_owner: Option<String> = conn
        .prepare_cached("SELECT audience FROM changes WHERE kind = 'approval' AND id = ?1 AND op = 'upsert'")?
        .query_row([&approval.id], |row| row.get(0))
        .optional()?;
    approval.rev = changes::record_upsert(
        conn,
        ChangeKind::Approval,
        &approval.id,
        &approval.app_owner,
        previous_owner.as_deref(),
    )?;
    let json = serde_json::to_string(approval)?;
    conn.prepare_cached(
        "INSERT INTO approvals(id, app_id, status, rev, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, rev = excluded.rev, data = excluded.data",
    )?
    .execute(params![approval.id, approval.app_id, approval.status.as_str(), approval.rev as i64, json])?;
    Ok(())
}

/// The pending request of `app_id`, if one is open.
pub fn pending_for_app(conn: &Connection, app_id: &str) -> Result<Option<Approval>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT data FROM approvals WHERE app_id = ?1 AND status = ?2 LIMIT 1")?
        .query_row(params![app_id, ApprovalStatus::Pending.as_str()], |row| row.get(0))
        .optional()?;
    Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
}

/// Every request of `app_id`, in no particular order.
pub fn for_app(conn: &Connection, app_id: &str) -> Result<Vec<Approval>> {
    let mut stmt = conn.prepare_cached("SELECT data FROM approvals WHERE app_id = ?1")?;
    let rows = stmt.query_map([app_id], |row| row.get::<_, String>(0))?;
    let mut requests = Vec::new();
    for json in rows {
        requests.push(serde_json::from_str(&json?)?);
    }
    Ok(requests)
}
