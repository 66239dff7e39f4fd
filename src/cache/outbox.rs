//! The outbox: every action the user takes is written here first, with its
//! idempotency key and the revision it was decided on, then sent. Offline
//! it waits; replayed later under the same key, the server applies it once.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Result;
use crate::domain::audit::format_timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Approve,
    Reject,
    Renew,
    /// A new app's manifest (`POST /v1/intake`); its target is `intake:NAME`.
    Intake,
    /// A discovered app's manifest (`POST /v1/apps/{id}/adoption`); its target is the app id.
    Adopt,
    /// `POST /v1/approvals/{id}/decisions` with `request_changes`.
    RequestChanges,
    /// `PATCH /v1/apps/{id}`.
    Amend,
    /// A production access request (target: the app).
    RequestAccess,
    /// A withdrawal (target: the request).
    Withdraw,
    /// A transfer of ownership (target: the app).
    Transfer,
    Quarantine,
    Release,
    Retire,
}

/// The outbox target of an intake of the app named `name`: a second intake
/// of the same name is not queued beside the first.
pub fn intake_target(name: &str) -> String {
    format!("intake:{name}")
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Approve => "approve",
            ActionKind::Reject => "reject",
            ActionKind::Renew => "renew",
            ActionKind::Intake => "intake",
            ActionKind::Adopt => "adopt",
            ActionKind::RequestChanges => "request_changes",
            ActionKind::Amend => "amend",
            ActionKind::RequestAccess => "request_access",
            ActionKind::Withdraw => "withdraw",
            ActionKind::Transfer => "transfer",
            ActionKind::Quarantine => "quarantine",
            ActionKind::Release => "release",
            ActionKind::Retire => "retire",
        }
    }

    fn parse(text: &str) -> ActionKind {
        match text {
            "approve" => ActionKind::Approve,
            "reject" => ActionKind::Reject,
            "intake" => ActionKind::Intake,
            "adopt" => ActionKind::Adopt,
            "request_changes" => ActionKind::RequestChanges,
            "amend" => ActionKind::Amend,
            "request_access" => ActionKind::RequestAccess,
            "withdraw" => ActionKind::Withdraw,
            "transfer" => ActionKind::Transfer,
            "quarantine" => ActionKind::Quarantine,
            "release" => ActionKind::Release,
            "retire" => ActionKind::Retire,
            _ => ActionKind::Renew,
        }
    }
}

/// Where an action is: `queued` until the server answers; then `done`, or
/// `refused` (409/412/403/4xx: shown to the user, never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Queued,
    Done,
    Refused,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Queued => "queued",
            ActionStatus::Done => "done",
            ActionStatus::Refused => "refused",
        }
    }

    fn parse(text: &str) -> ActionStatus {
        match text {
            "done" => ActionStatus::Done,
            "refused" => ActionStatus::Refused,
            _ => ActionStatus::Queued,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: i64,
    pub kind: ActionKind,
    /// The approval id (decisions, withdrawals), app id (renewals, adoptions,
    /// access requests, transfers) or `intake:NAME` ([`intake_target`]).
    pub target_id: String,
    /// The JSON body sent to the server.
    pub body: String,
    pub idempotency_key: String,
    pub rev: Option<u64>,
    pub status: ActionStatus,
    pub attempts: u32,
    /// The server's message for a refused action, or the last connection error.
    pub message: Option<String>,
    /// The server's answer once done.
    pub response: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, kind, target_id, body, idempotency_key, rev, status, attempts, message, response, created_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Action> {
    Ok(Action {
        id: row.get(0)?,
        kind: ActionKind::parse(row.get_ref(1)?.as_str()?),
        target_id: row.get(2)?,
        body: row.get(3)?,
        idempotency_key: row.get(4)?,
        rev: row.get::<_, Option<i64>>(5)?.map(|rev| rev as u64),
        status: ActionStatus::parse(row.get_ref(6)?.as_str()?),
        attempts: row.get(7)?,
        message: row.get(8)?,
        response: row.get(9)?,
        created_at: row.get(10)?,
    })
}

/// Writes an action, before anything is sent.
pub fn enqueue(
    conn: &Connection,
    kind: ActionKind,
    target_id: &str,
    body: &serde_json::Value,
    rev: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Action> {
    let key = uuid::Uuid::new_v4().to_string();
    let at = format_timestamp(now);
    conn.prepare_cached(
        "INSERT INTO outbox(kind, target_id, body, idempotency_key, rev, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6)",
    )?
    .execute(params![kind.as_str(), target_id, body.to_string(), key, rev.map(|r| r as i64), at])?;
    get(conn, conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Action> {
    Ok(conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?.query_row([id], from_row)?)
}

/// Actions still to send, oldest first.
pub fn queued(conn: &Connection) -> Result<Vec<Action>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE status = 'queued' ORDER BY id"))?
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Actions the user should still see: queued ones and refusals not yet dismissed.
pub fn pending_and_refused(conn: &Connection) -> Result<Vec<Action>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE status IN ('queued', 'refused') ORDER BY id"))?
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn count_queued(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM outbox WHERE status = 'queued'", [], |row| row.get::<_, i64>(0))? as u64)
}

pub fn mark_done(conn: &Connection, id: i64, response: &str, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET status = 'done', response = ?2, message = NULL, attempts = attempts + 1, updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, response, format_timestamp(now)])?;
    Ok(())
}

pub fn mark_refused(conn: &Connection, id: i64, message: &str, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET status = 'refused', message = ?2, attempts = attempts + 1, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, message, format_timestamp(now)])?;
    Ok(())
}

/// Records a failed attempt (connection lost, server busy); the action stays queued.
pub fn mark_attempt(conn: &Connection, id: i64, message: &str, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET message = ?2, attempts = attempts + 1, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, message, format_timestamp(now)])?;
    Ok(())
}

/// Removes an action that is still queued, for one that provably never
/// reached the server (its TLS handshake failed) and that the user was told
/// was not sent. True when it was removed.
pub fn withdraw(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM outbox WHERE id = ?1 AND status = 'queued'", [id])? == 1)
}

/// Hides one refused action the user has read (the console's queue view).
/// True when it was a refusal and is now dismissed; a queued action stays.
pub fn dismiss(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("UPDATE outbox SET status = 'dismissed' WHERE id = ?1 AND status = 'refused'", [id])? == 1)
}

/// Hides refusals the user has seen.
pub fn dismiss_refused(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("UPDATE outbox SET status = 'dismissed' WHERE status = 'refused'", [])?)
}

/// The queued action on `target_id`, if any: a second one is not queued.
pub fn queued_for(conn: &Connection, target_id: &str) -> Result<Option<Action>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE status = 'queued' AND target_id = ?1 LIMIT 1"))?
        .query_row([target_id], from_row)
        .optional()?)
}
