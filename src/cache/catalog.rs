//! Apps and approval requests in the cache: applying a page of
//! `/v1/changes`, and the reads the console and the commands share.

use rusqlite::{Connection, OptionalExtension, params};

use super::{CacheError, Result};
use crate::domain::api::{ChangeItem, ChangeKind, ChangeOp};
use crate::domain::audit::format_timestamp;
use crate::domain::{App, Approval};

/// Applies one page of changes; the caller's transaction also moves the cursor.
/// Every item is decoded before anything is written, so a malformed entry
/// changes nothing.
pub fn apply_changes(conn: &Connection, items: &[ChangeItem]) -> Result<()> {
    enum Op {
        // Boxed: both are many times the size of a delete (clippy's large_enum_variant).
        App(Box<App>, String),
        Approval(Box<Approval>, String),
        Delete(ChangeKind, String),
    }
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        ops.push(match (item.op, item.kind) {
            (ChangeOp::Delete, kind) => Op::Delete(kind, item.id.clone()),
            (ChangeOp::Upsert, kind) => {
                let raw = item.data.as_ref().ok_or_else(|| {
                    CacheError::Json(serde::de::Error::custom(format!("upsert of {} has no data", item.id)))
                })?;
                match kind {
                    ChangeKind::App => Op::App(Box::new(serde_json::from_str(raw.get())?), raw.get().to_string()),
                    ChangeKind::Approval => {
                        Op::Approval(Box::new(serde_json::from_str(raw.get())?), raw.get().to_string())
                    }
                }
            }
        });
    }
    for op in ops {
        match op {
            Op::App(app, json) => put_app_json(conn, &app, &json)?,
            Op::Approval(approval, json) => put_approval_json(conn, &approval, &json)?,
            Op::Delete(ChangeKind::App, id) => {
                conn.prepare_cached("DELETE FROM apps WHERE id = ?1")?.execute([id])?;
            }
            Op::Delete(ChangeKind::Approval, id) => {
                conn.prepare_cached("DELETE FROM approvals WHERE id = ?1")?.execute([id])?;
            }
        }
    }
    Ok(())
}

fn put_app_json(conn: &Connection, app: &App, json: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO apps(id, name, owner, state, expires_at, rev, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, owner = excluded.owner, state = excluded.state,
             expires_at = excluded.expires_at, rev = excluded.rev, data = excluded.data
         WHERE excluded.rev >= apps.rev",
    )?
    .execute(params![
        app.id,
        app.name,
        app.owner,
        app.state.as_str(),
        app.expires_at.map(format_timestamp),
        app.rev as i64,
        json
    ])?;
    Ok(())
}

fn put_approval_json(conn: &Connection, approval: &Approval, json: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO approvals(id, app_id, status, rev, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET app_id = excluded.app_id, status = excluded.status,
             rev = excluded.rev, data = excluded.data
         WHERE excluded.rev >= approvals.rev",
    )?
    .execute(params![approval.id, approval.app_id, approval.status.as_str(), approval.rev as i64, json])?;
    Ok(())
}

/// Stores an app the server just answered with (after a renewal), unless the cache holds a newer one.
pub fn put_app(conn: &Connection, app: &App) -> Result<()> {
    put_app_json(conn, app, &serde_json::to_string(app)?)
}

/// Stores a request the server just answered with (after a decision), unless the cache holds a newer one.
pub fn put_approval(conn: &Connection, approval: &Approval) -> Result<()> {
    put_approval_json(conn, approval, &serde_json::to_string(approval)?)
}

fn decode_all<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut values = Vec::new();
    while let Some(row) = rows.next()? {
        let json = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        values.push(serde_json::from_str(json)?);
    }
    Ok(values)
}

/// Every cached app, by name. Read in table order and sorted here: walking
/// the name index would look each row up at random (twice as slow at 100k).
pub fn apps(conn: &Connection) -> Result<Vec<App>> {
    let mut apps: Vec<App> = decode_all(conn, "SELECT data FROM apps", [])?;
    apps.sort_unstable_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(apps)
}

/// The first `limit` apps by name: what the console's first frame shows
/// while the rest loads (one index walk, about a millisecond at 100k apps).
pub fn first_apps(conn: &Connection, limit: u32) -> Result<Vec<App>> {
    decode_all(conn, "SELECT data FROM apps ORDER BY name, id LIMIT ?1", [limit])
}

/// Every cached request, oldest first.
pub fn approvals(conn: &Connection) -> Result<Vec<Approval>> {
    decode_all(conn, "SELECT data FROM approvals ORDER BY rowid", [])
}

pub fn app(conn: &Connection, id: &str) -> Result<App> {
    let json: Option<String> =
        conn.prepare_cached("SELECT data FROM apps WHERE id = ?1")?.query_row([id], |row| row.get(0)).optional()?;
    let json = json.ok_or_else(|| CacheError::NotFound { kind: "app", id: id.to_string() })?;
    Ok(serde_json::from_str(&json)?)
}

/// An app by id, or else by its exact name when that is unique.
pub fn app_by_id_or_name(conn: &Connection, key: &str) -> Result<App> {
    match app(conn, key) {
        Err(CacheError::NotFound { .. }) => {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT id FROM apps WHERE name = ?1 LIMIT 2")?
                .query_map([key], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            match ids.as_slice() {
                [id] => app(conn, id),
                _ => Err(CacheError::NotFound { kind: "app", id: key.to_string() }),
            }
        }
        other => other,
    }
}

pub fn approval(conn: &Connection, id: &str) -> Result<Approval> {
    let json: Option<String> = conn
        .prepare_cached("SELECT data FROM approvals WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    let json = json.ok_or_else(|| CacheError::NotFound { kind: "approval", id: id.to_string() })?;
    Ok(serde_json::from_str(&json)?)
}

/// Counts for the sync summary and the cursor check.
pub fn counts(conn: &Connection) -> Result<(u64, u64)> {
    let apps: i64 = conn.query_row("SELECT COUNT(*) FROM apps", [], |row| row.get(0))?;
    let approvals: i64 = conn.query_row("SELECT COUNT(*) FROM approvals", [], |row| row.get(0))?;
    Ok((apps as u64, approvals as u64))
}
