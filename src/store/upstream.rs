//! The `upstream` and `import_sweeps` tables: where each imported app came
//! from (its key in the upstream catalog, the fingerprint of the record last
//! imported, the record itself), and the importers' sweeps, whose progress is
//! written in the same transaction as each page so an interrupted sweep resumes.
//!
//! An upstream row is identified by the catalog instance (its base URL) and
//! the entity's key there; keys compare case-insensitively, as Backstage's do.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::audit::format_timestamp;

/// One imported entity as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRow {
    pub instance: String,
    pub key: String,
    pub source: String,
    pub app_id: String,
    /// The upstream etag, or a digest of the record when it has none.
    pub fingerprint: String,
    /// The filter of the sweep that last saw it: only a sweep of the same
    /// scope may orphan it.
    pub scope: String,
    /// The sweep that last saw it.
    pub seen_in: i64,
    pub orphaned_at: Option<DateTime<Utc>>,
    /// The upstream record as received, JSON.
    pub entity: String,
}

/// Whether the database has the upstream tables (it may be an older file
/// opened read-only, which migrations have not touched).
pub fn tables_exist(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'upstream'")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}

fn parse_time(column: usize, text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(&text).map(|at| at.to_utc()).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(err))
        })
    })
    .transpose()
}

pub fn find(conn: &Connection, instance: &str, key: &str) -> Result<Option<UpstreamRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT instance, key, source, app_id, fingerprint, scope, seen_in, orphaned_at, entity
             FROM upstream WHERE instance = ?1 AND key = ?2",
        )?
        .query_row(params![instance, key], |row| {
            Ok(UpstreamRow {
                instance: row.get(0)?,
                key: row.get(1)?,
                source: row.get(2)?,
                app_id: row.get(3)?,
                fingerprint: row.get(4)?,
                scope: row.get(5)?,
                seen_in: row.get(6)?,
                orphaned_at: parse_time(7, row.get(7)?)?,
                entity: row.get(8)?,
            })
        })
        .optional()?)
}

/// Writes the row whole (insert or replace).
pub fn save(conn: &Connection, row: &UpstreamRow, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO upstream(instance, key, source, app_id, fingerprint, scope, seen_in, orphaned_at, entity, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(instance, key) DO UPDATE SET key = excluded.key, source = excluded.source,
             app_id = excluded.app_id, fingerprint = excluded.fingerprint, scope = excluded.scope,
             seen_in = excluded.seen_in, orphaned_at = excluded.orphaned_at, entity = excluded.entity,
             updated_at = excluded.updated_at",
    )?
    .execute(params![
        row.instance,
        row.key,
        row.source,
        row.app_id,
        row.fingerprint,
        row.scope,
        row.seen_in,
        row.orphaned_at.map(format_timestamp),
        row.entity,
        format_timestamp(now),
    ])?;
    Ok(())
}

/// Records that sweep `sweep` of `scope` saw the entity, unchanged.
pub fn mark_seen(conn: &Connection, instance: &str, key: &str, scope: &str, sweep: i64) -> Result<()> {
    conn.prepare_cached("UPDATE upstream SET scope = ?3, seen_in = ?4 WHERE instance = ?1 AND key = ?2")?
        .execute(params![instance, key, scope, sweep])?;
    Ok(())
}

/// Records that the entity vanished upstream.
pub fn mark_orphaned(conn: &Connection, instance: &str, key: &str, at: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE upstream SET orphaned_at = ?3, updated_at = ?3 WHERE instance = ?1 AND key = ?2")?
        .execute(params![instance, key, format_timestamp(at)])?;
    Ok(())
}

/// Entities of `scope` not yet orphaned that no sweep since `before` has
/// seen: `(key, app_id)`, by key.
pub fn unseen(conn: &Connection, instance: &str, scope: &str, before: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, app_id FROM upstream
         WHERE instance = ?1 AND scope = ?2 AND seen_in < ?3 AND orphaned_at IS NULL
         ORDER BY key",
    )?;
    let rows = stmt.query_map(params![instance, scope, before], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The upstream record of an app, if it was imported.
pub fn for_app(conn: &Connection, app_id: &str) -> Result<Option<UpstreamRow>> {
    let key: Option<(String, String)> = conn
        .prepare_cached("SELECT instance, key FROM upstream WHERE app_id = ?1")?
        .query_row([app_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match key {
        Some((instance, key)) => find(conn, &instance, &key),
        None => Ok(None),
    }
}

/// An importer's sweep over one upstream catalog and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub id: i64,
    pub source: String,
    pub instance: String,
    pub scope: String,
    pub started_at: DateTime<Utc>,
    /// Pages committed so far.
    pub pages: u32,
    /// Where to continue; `None` once the last page is in (or before the first).
    pub next_cursor: Option<String>,
}

/// The newest sweep of `instance` and `scope` that did not finish.
pub fn open_sweep(conn: &Connection, instance: &str, scope: &str) -> Result<Option<Sweep>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, source, instance, scope, started_at, pages, next_cursor FROM import_sweeps
             WHERE instance = ?1 AND scope = ?2 AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![instance, scope], |row| {
            Ok(Sweep {
                id: row.get(0)?,
                source: row.get(1)?,
                instance: row.get(2)?,
                scope: row.get(3)?,
                started_at: parse_time(4, Some(row.get(4)?))?.unwrap_or_default(),
                pages: row.get(5)?,
                next_cursor: row.get(6)?,
            })
        })
        .optional()?)
}

/// Starts a sweep; returns its id, which is greater than every earlier one.
pub fn start_sweep(conn: &Connection, source: &str, instance: &str, scope: &str, now: DateTime<Utc>) -> Result<i64> {
    let now = format_timestamp(now);
    conn.prepare_cached(
        "INSERT INTO import_sweeps(source, instance, scope, started_at, updated_at, pages)
         VALUES (?1, ?2, ?3, ?4, ?4, 0)",
    )?
    .execute(params![source, instance, scope, now])?;
    Ok(conn.last_insert_rowid())
}

/// The id the next sweep will get, for a sweep that writes nothing (a dry run).
pub fn next_sweep_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM import_sweeps", [], |row| row.get(0))?)
}

/// Records a committed page and where to continue.
pub fn record_page(
    conn: &Connection,
    sweep: i64,
    pages: u32,
    next_cursor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached("UPDATE import_sweeps SET pages = ?2, next_cursor = ?3, updated_at = ?4 WHERE id = ?1")?
        .execute(params![sweep, pages, next_cursor, format_timestamp(now)])?;
    Ok(())
}

/// Closes a sweep: `complete`, or `abandoned` when it cannot be resumed.
pub fn finish_sweep(conn: &Connection, sweep: i64, outcome: &str, now: DateTime<Utc>) -> Result<()> {
    let now = format_timestamp(now);
    conn.prepare_cached(
        "UPDATE import_sweeps SET finished_at = ?2, updated_at = ?2, outcome = ?3, next_cursor = NULL WHERE id = ?1",
    )?
    .execute(params![sweep, now, outcome])?;
    Ok(())
}
