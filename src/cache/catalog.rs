//! Apps and approval requests in the cache: applying a page of
//! `/v1/changes`, and the reads the console and the commands share.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::value::RawValue;

use super::{CacheError, Result};
use crate::domain::api::{ChangeItem, ChangeKind, ChangeOp};
use crate::domain::audit::format_timestamp;
use crate::domain::{App, AppState, AppSummary, Approval, Controls, DataClass, RiskLevel, Tier};

/// An app as its cache row: the summary columns and the JSON it came as.
/// The strings are moved out of the decoded [`App`], the rest of which is
/// dropped where it was decoded.
struct AppRow {
    id: String,
    name: String,
    owner: String,
    state: &'static str,
    expires_at: Option<String>,
    rev: u64,
    team: String,
    purpose: String,
    data_class: &'static str,
    expected_users: u32,
    ttl_class: &'static str,
    risk_score: u32,
    risk_tier: &'static str,
    controls: i64,
    state_since_us: i64,
    expires_us: Option<i64>,
    monthly_budget: f64,
    monthly_spend: f64,
    complete: bool,
    json: Box<str>,
}

impl AppRow {
    fn new(app: App, json: Box<str>) -> AppRow {
        let complete = app.manifest_complete();
        AppRow {
            state: app.state.as_str(),
            expires_at: app.expires_at.map(format_timestamp),
            rev: app.rev,
            data_class: app.data_classification.as_str(),
            expected_users: app.expected_users,
            ttl_class: app.ttl_class.as_str(),
            risk_score: app.risk.score,
            risk_tier: app.risk.tier.as_str(),
            controls: controls_bits(app.controls),
            state_since_us: app.state_since.timestamp_micros(),
            expires_us: app.expires_at.map(|at| at.timestamp_micros()),
            monthly_budget: app.monthly_budget,
            monthly_spend: app.monthly_spend,
            complete,
            id: app.id,
            name: app.name,
            owner: app.owner,
            team: app.team,
            purpose: app.purpose,
            json,
        }
    }
}

/// A request as its cache row.
struct ApprovalRow {
    id: String,
    app_id: String,
    status: &'static str,
    rev: u64,
    json: Box<str>,
}

impl ApprovalRow {
    fn new(approval: Approval, json: Box<str>) -> ApprovalRow {
        ApprovalRow {
            status: approval.status.as_str(),
            rev: approval.rev,
            id: approval.id,
            app_id: approval.app_id,
            json,
        }
    }
}

/// One decoded entry of a `/v1/changes` page.
enum Op {
    // Boxed: many times the size of a delete (clippy's large_enum_variant).
    App(Box<AppRow>),
    Approval(ApprovalRow),
    Delete(ChangeKind, String),
}

/// A page of changes decoded into the rows it writes: every app and
/// request checked to decode whole first, so the writer only binds and
/// inserts. Built off the writer's thread (sync decodes the next page while
/// the writer applies this one).
#[derive(Default)]
pub struct DecodedChanges {
    ops: Vec<Op>,
}

impl DecodedChanges {
    pub fn with_capacity(entries: usize) -> DecodedChanges {
        DecodedChanges { ops: Vec::with_capacity(entries) }
    }

    /// Decodes every entry of a page; a malformed one is an error.
    pub fn decode(items: &[ChangeItem]) -> Result<DecodedChanges> {
        let mut changes = DecodedChanges::with_capacity(items.len());
        for item in items {
            changes.push(item.kind, item.op, &item.id, item.data.as_deref())?;
        }
        Ok(changes)
    }

    /// Decodes one entry (its `data` whole, as an [`App`] or [`Approval`])
    /// and adds its row.
    pub fn push(&mut self, kind: ChangeKind, op: ChangeOp, id: &str, data: Option<&RawValue>) -> Result<()> {
        self.ops.push(match op {
            ChangeOp::Delete => Op::Delete(kind, id.to_string()),
            ChangeOp::Upsert => {
                let raw = data
                    .ok_or_else(|| CacheError::Json(serde::de::Error::custom(format!("upsert of {id} has no data"))))?;
                let json: Box<str> = raw.get().into();
                match kind {
                    ChangeKind::App => Op::App(Box::new(AppRow::new(serde_json::from_str(&json)?, json))),
                    ChangeKind::Approval => Op::Approval(ApprovalRow::new(serde_json::from_str(&json)?, json)),
                }
            }
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Applies one page of changes; the caller's transaction also moves the cursor.
/// Every item is decoded before anything is written, so a malformed entry
/// changes nothing.
pub fn apply_changes(conn: &Connection, items: &[ChangeItem]) -> Result<()> {
    apply_decoded(conn, &DecodedChanges::decode(items)?)
}

/// Writes a decoded page; the caller's transaction also moves the cursor.
pub fn apply_decoded(conn: &Connection, changes: &DecodedChanges) -> Result<()> {
    for op in &changes.ops {
        match op {
            Op::App(row) => put_app_row(conn, row)?,
            Op::Approval(row) => put_approval_row(conn, row)?,
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

/// The catalog's secondary indexes, as the schema defines them (steps 1 and
/// 4). A first sync into an empty catalog drops them and builds each once
/// after its last page: inserting 100k apps in the server's order touches
/// nearly every page of each index in every page's transaction, and each
/// touched page is written to the log again (1.5 GB of log for 290 MB of
/// catalog). Also run at every open, so a first sync killed halfway leaves
/// no cache without them. A later schema step that changes one of these
/// must change it here too.
pub const SECONDARY_INDEXES: &str = "
    CREATE INDEX IF NOT EXISTS apps_by_name ON apps(name);
    CREATE INDEX IF NOT EXISTS apps_by_owner ON apps(owner);
    CREATE INDEX IF NOT EXISTS apps_summary ON apps(name, id, owner, team, purpose, data_class, expected_users,
        ttl_class, risk_score, risk_tier, controls, state, state_since_us, expires_us, monthly_budget,
        monthly_spend, complete, rev);
    CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals(status);
    CREATE INDEX IF NOT EXISTS approvals_by_app ON approvals(app_id);
";

/// Drops [`SECONDARY_INDEXES`] before a first bulk load.
pub fn drop_secondary_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DROP INDEX IF EXISTS apps_by_name; DROP INDEX IF EXISTS apps_by_owner; DROP INDEX IF EXISTS apps_summary;
         DROP INDEX IF EXISTS approvals_by_status; DROP INDEX IF EXISTS approvals_by_app;",
    )?;
    Ok(())
}

/// Builds [`SECONDARY_INDEXES`] that are missing.
pub fn create_secondary_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch(SECONDARY_INDEXES)?;
    Ok(())
}

/// Whether the cache holds no app and no request.
pub fn is_empty(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM apps) AND NOT EXISTS (SELECT 1 FROM approvals)",
        [],
        |row| row.get(0),
    )?)
}

fn put_app_row(conn: &Connection, row: &AppRow) -> Result<()> {
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
        row.id,
        row.name,
        row.owner,
        row.state,
        row.expires_at,
        row.rev as i64,
        &*row.json,
        row.team,
        row.purpose,
        row.data_class,
        row.expected_users,
        row.ttl_class,
        row.risk_score,
        row.risk_tier,
        row.controls,
        row.state_since_us,
        row.expires_us,
        row.monthly_budget,
        row.monthly_spend,
        row.complete,
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
        put_app_row(conn, &AppRow::new(serde_json::from_str(json)?, json.as_str().into()))?;
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
        // Set from the flagged apps' index by the callers that list them.
        owner_revoked: false,
    })
}

/// The ids of the apps flagged `owner_revoked`, through the partial index
/// `apps_owner_revoked` (a handful of rows, whatever the catalog's size).
pub fn owner_revoked_ids(conn: &Connection) -> Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM apps INDEXED BY apps_owner_revoked WHERE instr(data, '\"owner_revoked\"') > 0
           AND EXISTS (SELECT 1 FROM json_each(data, '$.flags') WHERE value = 'owner_revoked')",
    )?;
    Ok(stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?)
}

/// Sets [`AppSummary::owner_revoked`] on the summaries of flagged apps.
fn mark_owner_revoked(conn: &Connection, summaries: &mut [AppSummary]) -> Result<()> {
    let flagged = owner_revoked_ids(conn)?;
    if !flagged.is_empty() {
        for summary in summaries.iter_mut().filter(|s| flagged.contains(s.id.as_str())) {
            summary.owner_revoked = true;
        }
    }
    Ok(())
}

/// What lists need of every cached app, by name, without decoding a
/// manifest: 100k apps in well under the time of [`apps`].
pub fn summaries(conn: &Connection) -> Result<Vec<AppSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM apps INDEXED BY apps_summary ORDER BY name, id");
    let mut summaries: Vec<AppSummary> =
        conn.prepare_cached(&sql)?.query_map([], summary_from_row)?.collect::<rusqlite::Result<_>>()?;
    mark_owner_revoked(conn, &mut summaries)?;
    // Held for a whole snapshot: without the growth slack (a quarter of it at 100k apps).
    summaries.shrink_to_fit();
    Ok(summaries)
}

/// The first `limit` summaries by name: what the console's first frame
/// shows while the rest loads (one index walk, about a millisecond).
pub fn first_summaries(conn: &Connection, limit: u32) -> Result<Vec<AppSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM apps INDEXED BY apps_summary ORDER BY name, id LIMIT ?1");
    let mut summaries: Vec<AppSummary> =
        conn.prepare_cached(&sql)?.query_map([limit], summary_from_row)?.collect::<rusqlite::Result<_>>()?;
    mark_owner_revoked(conn, &mut summaries)?;
    Ok(summaries)
}

fn put_approval_row(conn: &Connection, row: &ApprovalRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO approvals(id, app_id, status, rev, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET app_id = excluded.app_id, status = excluded.status,
             rev = excluded.rev, data = excluded.data
         WHERE excluded.rev >= approvals.rev",
    )?
    .execute(params![row.id, row.app_id, row.status, row.rev as i64, &*row.json])?;
    Ok(())
}

/// Stores an app the server just answered with (after a renewal), unless the cache holds a newer one.
pub fn put_app(conn: &Connection, app: &App) -> Result<()> {
    put_app_row(conn, &AppRow::new(app.clone(), serde_json::to_string(app)?.into()))
}

/// Stores a request the server just answered with (after a decision), unless the cache holds a newer one.
pub fn put_approval(conn: &Connection, approval: &Approval) -> Result<()> {
    put_approval_row(conn, &ApprovalRow::new(approval.clone(), serde_json::to_string(approval)?.into()))
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

/// The hold of every cached app held in quarantine, by app id: only
/// quarantined apps can be held, so only their records are decoded.
pub fn holds(conn: &Connection) -> Result<std::collections::HashMap<String, crate::domain::hold::Hold>> {
    let apps: Vec<App> = decode_all(conn, "SELECT data FROM apps WHERE state = 'quarantined'", [])?;
    Ok(apps.into_iter().filter_map(|app| Some((app.id, app.hold?))).collect())
}

/// The open requests, oldest first (by the status index): those waiting for
/// a decision and those awaiting their owner's changes (the console shows
/// the latter on the app, out of the queue).
pub fn pending_approvals(conn: &Connection) -> Result<Vec<Approval>> {
    decode_all(conn, "SELECT data FROM approvals WHERE status IN ('pending', 'changes_requested') ORDER BY rowid", [])
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

/// An app as a lookup by name lists it: enough to tell two apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedApp {
    pub id: String,
    pub owner: String,
    pub state: String,
}

/// Every cached app called exactly `name`, by id.
pub fn apps_named(conn: &Connection, name: &str) -> Result<Vec<NamedApp>> {
    Ok(conn
        .prepare_cached("SELECT id, owner, state FROM apps WHERE name = ?1 ORDER BY id")?
        .query_map([name], |row| Ok(NamedApp { id: row.get(0)?, owner: row.get(1)?, state: row.get(2)? }))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The name of the cached app `id`, if the cache holds it.
pub fn app_name(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT name FROM apps WHERE id = ?1")?.query_row([id], |row| row.get(0)).optional()?)
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
