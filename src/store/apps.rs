//! The `apps` table: each catalog entry as its JSON, with the columns the
//! server filters on.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, changes};
use chrono::{DateTime, Duration, Utc};

use crate::domain::api::ChangeKind;
use crate::domain::audit::format_timestamp;
use crate::domain::{App, AppState, status, ttl};

pub fn get(conn: &Connection, id: &str) -> Result<App> {
    find(conn, id)?.ok_or_else(|| StoreError::NotFound { kind: "app", id: id.to_string() })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<App>> {
    let json: Option<String> =
        conn.prepare_cached("SELECT data FROM apps WHERE id = ?1")?.query_row([id], |row| row.get(0)).optional()?;
    Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
}

/// Writes `app` at a new revision (set on `app`) and logs the change.
pub fn save(conn: &Connection, app: &mut App) -> Result<()> {
    let previous_owner: Option<String> = conn
        .prepare_cached("SELECT owner FROM apps WHERE id = ?1")?
        .query_row([&app.id], |row| row.get(0))
        .optional()?;
    app.rev = changes::record_upsert(conn, ChangeKind::App, &app.id, &app.owner, previous_owner.as_deref())?;
    let json = serde_json::to_string(app)?;
    conn.prepare_cached(
        "INSERT INTO apps(id, owner, state, expires_at, last_activity_at, rev, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, state = excluded.state,
             expires_at = excluded.expires_at, last_activity_at = excluded.last_activity_at,
             rev = excluded.rev, data = excluded.data",
    )?
    .execute(params![
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

/// Apps that may have a policy step due at `now`: quarantined and read-only
/// apps, and live apps that expire within the expiring window or have been
/// idle long enough to be flagged. The policy itself decides; this only
/// keeps the job from decoding the whole catalog.
pub fn lifecycle_candidates(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<App>> {
    let soon = format_timestamp(now + Duration::days(ttl::EXPIRING_WITHIN_DAYS));
    let idle_since = format_timestamp(now - Duration::days(ttl::INACTIVE_AFTER_DAYS));
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM apps
         WHERE state IN ('quarantined', 'read_only')
            OR (state IN ('active', 'expiring') AND (expires_at <= ?1 OR last_activity_at <= ?2))",
    )?;
    let rows = stmt.query_map([soon, idle_since], |row| row.get::<_, String>(0))?;
    let mut apps = Vec::new();
    for json in rows {
        apps.push(serde_json::from_str(&json?)?);
    }
    Ok(apps)
}

/// The `(id, state)` of every app named exactly `name`, in any state.
pub fn carriers_of_name(conn: &Connection, name: &str) -> Result<Vec<(String, AppState)>> {
    let mut stmt = conn.prepare_cached("SELECT id, state FROM apps WHERE json_extract(data, '$.name') = ?1")?;
    let rows = stmt.query_map([name], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
    let mut carriers = Vec::new();
    for row in rows {
        let (id, state) = row?;
        let state =
            state.parse().map_err(|_| StoreError::Invalid(format!("app {id} has the unknown state {state:?}")))?;
        carriers.push((id, state));
    }
    Ok(carriers)
}

pub fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM apps", [], |row| row.get::<_, i64>(0))? as u64)
}

/// Apps declaring the endpoint `asked` (already in the form of
/// [`status::normalise_endpoint`]), found through `app_endpoints` and
/// checked against the exact rule.
pub fn declaring_endpoint(conn: &Connection, asked: &str) -> Result<Vec<App>> {
    let key = asked.trim_end_matches('/').to_ascii_lowercase();
    let mut stmt = conn.prepare_cached(
        "SELECT e.endpoint, a.data FROM app_endpoints e JOIN apps a ON a.id = e.app_id WHERE e.key = ?1",
    )?;
    let rows = stmt.query_map([key], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
    let mut found: Vec<App> = Vec::new();
    for row in rows {
        let (endpoint, json) = row?;
        if status::endpoint_matches(&endpoint, asked) {
            let app: App = serde_json::from_str(&json)?;
            if !found.iter().any(|seen| seen.id == app.id) {
                found.push(app);
            }
        }
    }
    Ok(found)
}
