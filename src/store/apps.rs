//! The `apps` table: each catalog entry as its JSON, with the columns the
//! server filters on.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, changes};
use chrono::{DateTime, Duration, Utc};

use crate::domain::api::ChangeKind;
use crate::domain::audit::format_timestamp;
use crate::domain::policy::Policy;
use crate::domain::status::StatusEntry;
use crate::domain::{App, AppState, status};

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
pub fn lifecycle_candidates(conn: &Connection, policy: &Policy, now: DateTime<Utc>) -> Result<Vec<App>> {
    let soon = format_timestamp(now + policy.expiring_within());
    let idle_since = format_timestamp(now - Duration::days(policy.rules.inactivity.flag_after_days));
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

/// The columns of a status entry, in the order [`status_entry_of_row`] reads.
/// The name, expiry and registration time come out of the stored JSON (as
/// SQLite reads it, without decoding the rest of the entry): they are the
/// values the whole entry holds, to the nanosecond.
const STATUS_COLUMNS: &str = "a.id, a.owner, a.state, json_extract(a.data, '$.name'), \
     json_extract(a.data, '$.expires_at'), json_extract(a.data, '$.created_at')";

fn status_entry_of_row(row: &rusqlite::Row<'_>, offset: usize) -> Result<StatusEntry> {
    let id: String = row.get(offset)?;
    let state: String = row.get(offset + 2)?;
    let state = state.parse().map_err(|_| StoreError::Invalid(format!("app {id} has the unknown state {state:?}")))?;
    let time = |at: &str| {
        DateTime::parse_from_rfc3339(at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| StoreError::Invalid(format!("app {id} has the unreadable time {at:?}")))
    };
    let expires_at = row.get::<_, Option<String>>(offset + 4)?.as_deref().map(time).transpose()?;
    let created_at = time(&row.get::<_, String>(offset + 5)?)?;
    Ok(StatusEntry { owner: row.get(offset + 1)?, state, name: row.get(offset + 3)?, expires_at, created_at, id })
}

/// What the status API needs of app `id`, if there is one.
pub fn status_entry(conn: &Connection, id: &str) -> Result<Option<StatusEntry>> {
    let sql = format!("SELECT {STATUS_COLUMNS} FROM apps a WHERE a.id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(|row| status_entry_of_row(row, 0)).transpose()
}

/// Apps declaring the endpoint `asked` (already in the form of
/// [`status::normalise_endpoint`]), found through `app_endpoints` and
/// checked against the exact rule: what the status API needs of each.
pub fn declaring_endpoint(conn: &Connection, asked: &str) -> Result<Vec<StatusEntry>> {
    let key = asked.trim_end_matches('/').to_ascii_lowercase();
    let sql = format!(
        "SELECT e.endpoint, {STATUS_COLUMNS} FROM app_endpoints e JOIN apps a ON a.id = e.app_id WHERE e.key = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([key])?;
    let mut found: Vec<StatusEntry> = Vec::new();
    while let Some(row) = rows.next()? {
        let endpoint: String = row.get(0)?;
        if status::endpoint_matches(&endpoint, asked) {
            let entry = status_entry_of_row(row, 1)?;
            if !found.iter().any(|seen| seen.id == entry.id) {
                found.push(entry);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use chrono::TimeZone;

    fn saved(conn: &Connection, id: &str, endpoint: &str) -> App {
        let manifest = crate::domain::app::tests::manifest();
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::nanoseconds(123_456_789);
        let mut app = App::from_manifest(id.into(), "olive".into(), manifest, Policy::builtin(), at);
        app.endpoints = vec![endpoint.into()];
        app.expires_at = Some(at + Duration::days(30) + Duration::nanoseconds(1));
        // The schema's triggers fill `app_endpoints`.
        save(conn, &mut app).unwrap();
        app
    }

    /// The few columns read for the status API are the whole entry's
    /// values, times to the nanosecond included, for an app without an
    /// expiry too.
    #[test]
    fn a_status_entry_is_what_the_whole_entry_says() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let app = saved(conn, "app_1", "https://quotes.internal/api");
        assert_eq!(status_entry(conn, "app_1").unwrap(), Some(StatusEntry::of(&get(conn, "app_1").unwrap())));
        assert_eq!(status_entry(conn, "app_1").unwrap(), Some(StatusEntry::of(&app)));
        let mut open_ended = app.clone();
        open_ended.expires_at = None;
        save(conn, &mut open_ended).unwrap();
        assert_eq!(status_entry(conn, "app_1").unwrap().and_then(|entry| entry.expires_at), None);
        assert_eq!(status_entry(conn, "app_none").unwrap(), None);
        let asked = status::normalise_endpoint("https://Quotes.internal/api/").unwrap();
        assert_eq!(declaring_endpoint(conn, &asked).unwrap(), vec![StatusEntry::of(&open_ended)]);
        assert!(declaring_endpoint(conn, "https://quotes.internal/API").unwrap().is_empty());
    }
}
