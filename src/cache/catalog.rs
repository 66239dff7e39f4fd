//! Apps and approval requests in the cache: applying a page of
//! `/v1/changes`, and the reads the console and the commands share.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use rusqlite::{Connection, OptionalExtension, params};

use super::{CacheError, Result};
use crate::domain::api::{ChangeItem, ChangeKind, ChangeOp};
use crate::domain::audit::format_timestamp;
use crate::domain::{App, AppState, AppSummary, Approval, Controls, DataClass, RiskLevel, Tier};

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
    let micros = |at: DateTime<Utc>| at.timestamp_micros();
    conn.prepare_cached(
        "INSERT INTO apps(id, name, owner, state, expires_at, rev, data, team, purpose, data_class,
             expected_users, ttl_class, risk_score, risk_tier, controls, state_since_us, expires_us,
             monthly_budget, monthly_spend, complete, summarized)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, 1)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, owner = excluded.owner, state = excluded.state,
             expires_at = excluded.expires_at, rev = excluded.rev, data = excluded.data,
             team = excluded.team, purpose = excluded.purpose, data_class = excluded.data_class,
             expected_users = excluded.expected_users, ttl_class = excluded.ttl_class,
             risk_score = excluded.risk_score, risk_tier = excluded.risk_tier, controls = excluded.controls,
             state_since_us = excluded.state_since_us, expires_us = excluded.expires_us,
             monthly_budget = excluded.monthly_budget, monthly_spend = excluded.monthly_spend,
             complete = excluded.complete, summarized = 1
         WHERE excluded.rev >= apps.rev",
    )?
    .execute(params![
        app.id,
        app.name,
        app.owner,
        app.state.as_str(),
        app.expires_at.map(format_timestamp),
        app.rev as i64,
        json,
        app.team,
        app.purpose,
        app.data_classification.as_str(),
        app.expected_users,
        app.ttl_class.as_str(),
        app.risk.score,
        app.risk.tier.as_str(),
        controls_bits(app.controls),
        micros(app.state_since),
        app.expires_at.map(micros),
        app.monthly_budget,
        app.monthly_spend,
        app.manifest_complete(),
    ])?;
    Ok(())
}

fn controls_bits(c: Controls) -> i64 {
    [c.otel, c.backups, c.sbom, c.secrets_in_vault, c.dlp].iter().enumerate().map(|(i, &on)| i64::from(on) << i).sum()
}

fn controls_from_bits(bits: i64) -> Controls {
    let on = |i: u32| bits & (1 << i) != 0;
    Controls { otel: on(0), backups: on(1), sbom: on(2), secrets_in_vault: on(3), dlp: on(4) }
}

/// Fills the summary columns of apps cached before they existed, from
/// their stored JSON: once, when a cache is first opened by this version.
pub fn backfill_summaries(conn: &Connection) -> Result<usize> {
    let stale: Vec<String> = conn
        .prepare("SELECT data FROM apps INDEXED BY apps_unsummarized WHERE summarized = 0")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for json in &stale {
        let app: App = serde_json::from_str(json)?;
        put_app_json(conn, &app, json)?;
    }
    Ok(stale.len())
}

const SUMMARY_COLUMNS: &str = "id, name, owner, team, purpose, data_class, expected_users, ttl_class, risk_score,
    risk_tier, controls, state, state_since_us, expires_us, monthly_budget, monthly_spend, complete, rev";

/// Column `index` of `row`, text parsed as a `T` (an enum's name).
fn parsed<T: std::str::FromStr<Err = String>>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text = row.get_ref(index)?.as_str()?;
    text.parse().map_err(|err: String| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, err.into())
    })
}

/// Column `index` of `row`, microseconds since the epoch, as a time.
fn time_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    Ok(row.get::<_, Option<i64>>(index)?.and_then(DateTime::from_timestamp_micros))
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AppSummary> {
    let at = |index: usize| time_at(row, index);
    let text = |index: usize| -> rusqlite::Result<CompactString> { Ok(row.get_ref(index)?.as_str()?.into()) };
    Ok(AppSummary {
        id: text(0)?,
        name: text(1)?,
        owner: text(2)?,
        team: text(3)?,
        purpose: text(4)?,
        data_classification: parsed(row, 5)?,
        expected_users: row.get(6)?,
        ttl_class: parsed(row, 7)?,
        risk: RiskLevel { score: row.get(8)?, tier: parsed(row, 9)? },
        controls: controls_from_bits(row.get(10)?),
        state: parsed(row, 11)?,
        state_since: at(12)?.unwrap_or_default(),
        expires_at: at(13)?,
        monthly_budget: row.get(14)?,
        monthly_spend: row.get(15)?,
        complete: row.get(16)?,
        rev: row.get::<_, i64>(17)? as u64,
    })
}

/// What lists need of every cached app, by name, without decoding a
/// manifest: 100k apps in well under the time of [`apps`].
pub fn summaries(conn: &Connection) -> Result<Vec<AppSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM apps INDEXED BY apps_summary ORDER BY name, id");
    let mut summaries: Vec<AppSummary> =
        conn.prepare_cached(&sql)?.query_map([], summary_from_row)?.collect::<rusqlite::Result<_>>()?;
    // Held for a whole snapshot: without the growth slack (a quarter of it at 100k apps).
    summaries.shrink_to_fit();
    Ok(summaries)
}

/// The first `limit` summaries by name: what the console's first frame
/// shows while the rest loads (one index walk, about a millisecond).
pub fn first_summaries(conn: &Connection, limit: u32) -> Result<Vec<AppSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM apps INDEXED BY apps_summary ORDER BY name, id LIMIT ?1");
    Ok(conn.prepare_cached(&sql)?.query_map([limit], summary_from_row)?.collect::<rusqlite::Result<_>>()?)
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

/// The requests waiting for a decision, oldest first (by the status index).
pub fn pending_approvals(conn: &Connection) -> Result<Vec<Approval>> {
    decode_all(conn, "SELECT data FROM approvals WHERE status = 'pending' ORDER BY rowid", [])
}

/// Calls `f` with every cached request, decoded one at a time, so a pass
/// over 100k of them holds one.
pub fn for_each_approval(conn: &Connection, mut f: impl FnMut(&Approval)) -> Result<()> {
    let mut stmt = conn.prepare_cached("SELECT data FROM approvals")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let json = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        f(&serde_json::from_str(json)?);
    }
    Ok(())
}

/// Calls `f` with the summary of every cached app, one at a time.
pub fn for_each_summary(conn: &Connection, mut f: impl FnMut(&AppSummary)) -> Result<()> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM apps INDEXED BY apps_summary");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(&summary_from_row(row)?);
    }
    Ok(())
}

/// What `govdeck apps` prints of an app, borrowed from its row.
#[derive(Debug)]
pub struct ListedApp<'r> {
    pub id: &'r str,
    pub name: &'r str,
    pub owner: &'r str,
    pub team: &'r str,
    pub purpose: &'r str,
    pub tier: Tier,
    pub data_classification: DataClass,
    pub state: AppState,
    pub expires_at: Option<DateTime<Utc>>,
    pub expected_users: u32,
}

/// Calls `f` with every cached app by name, as `govdeck apps` lists it: only
/// the columns it prints or searches, each borrowed from its row, so a
/// listing of 100k apps allocates nothing per app here.
pub fn for_each_listed(conn: &Connection, mut f: impl FnMut(&ListedApp<'_>)) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, owner, team, purpose, risk_tier, data_class, state, expires_us, expected_users
         FROM apps INDEXED BY apps_summary ORDER BY name, id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let text = |index: usize| row.get_ref(index).and_then(|value| Ok(value.as_str()?));
        f(&ListedApp {
            id: text(0)?,
            name: text(1)?,
            owner: text(2)?,
            team: text(3)?,
            purpose: text(4)?,
            tier: parsed(row, 5)?,
            data_classification: parsed(row, 6)?,
            state: parsed(row, 7)?,
            expires_at: time_at(row, 8)?,
            expected_users: row.get(9)?,
        });
    }
    Ok(())
}

/// Every cached request about one app, oldest first.
pub fn approvals_for_app(conn: &Connection, app_id: &str) -> Result<Vec<Approval>> {
    decode_all(conn, "SELECT data FROM approvals WHERE app_id = ?1 ORDER BY rowid", [app_id])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{fixture_data, fixture_now};
    use crate::cache::Cache;

    fn fixture_apps() -> Vec<App> {
        fixture_data(fixture_now()).full_apps_in_order()
    }

    #[test]
    fn summaries_read_from_columns_equal_the_records_they_summarize() {
        let mut cache = Cache::open_in_memory().unwrap();
        let mut apps = fixture_apps();
        apps[0].controls = Controls { otel: true, backups: false, sbom: true, secrets_in_vault: false, dlp: true };
        apps[0].monthly_spend = 12.5;
        cache.write(|conn| apps.iter().try_for_each(|app| put_app(conn, app))).unwrap();
        let mut expected: Vec<AppSummary> = apps.iter().map(AppSummary::from).collect();
        expected.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        assert_eq!(summaries(cache.conn()).unwrap(), expected);
        assert_eq!(first_summaries(cache.conn(), 3).unwrap(), expected[..3]);
    }

    #[test]
    fn rows_cached_before_the_summary_columns_are_backfilled_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        let apps = fixture_apps();
        {
            let mut cache = Cache::open(&path).unwrap();
            cache.write(|conn| apps.iter().try_for_each(|app| put_app(conn, app))).unwrap();
            // As a cache written before the columns existed would look.
            cache
                .conn()
                .execute("UPDATE apps SET summarized = 0, team = '', risk_tier = '', complete = 0", [])
                .unwrap();
        }
        let cache = Cache::open(&path).unwrap();
        let stale: i64 =
            cache.conn().query_row("SELECT COUNT(*) FROM apps WHERE summarized = 0", [], |row| row.get(0)).unwrap();
        assert_eq!(stale, 0);
        let by_id: std::collections::HashMap<_, _> =
            summaries(cache.conn()).unwrap().into_iter().map(|s| (s.id.clone(), s)).collect();
        for app in &apps {
            assert_eq!(by_id[app.id.as_str()], AppSummary::from(app));
        }
        assert_eq!(backfill_summaries(cache.conn()).unwrap(), 0, "nothing left to backfill");
    }
}
