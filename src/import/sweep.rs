//! One sweep of a Backstage catalog: where to start (fresh, or the
//! unfinished sweep of the same scope), each page planned and written in one
//! transaction, and after the last page the orphan step. The rules are in
//! the module doc of [`crate::import`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::{Value, json};

use super::backstage::{Backstage, FetchError, Page, PageRequest};
use super::mapping::{self, Filters, Mapped};
use super::{
    Change, ChangeKind, IMPORT_ACTOR, IMPORT_ROLE, ImportError, MAX_PAGE_LIMIT, Options, Report, SOURCE_BACKSTAGE,
    Summary,
};
use crate::clock::Clock;
use crate::domain::app::FLAG_ORPHANED;
use crate::domain::{App, NewAuditEvent};
use crate::store::upstream::{self, UpstreamRow};
use crate::store::{Store, StoreError, apps, audit};

/// The state of one run, shared by the page and orphan steps.
struct Run<'a> {
    instance: String,
    filters: Filters,
    dry_run: bool,
    /// Whether the database has the upstream tables (an old file opened
    /// read-only for a dry run may not).
    has_tables: bool,
    sweep: Option<i64>,
    /// Keys seen by this run, lowercased: duplicates are skipped, and a dry
    /// run orphans what it did not see.
    seen: HashSet<String>,
    /// The keys this page added to `seen`, taken out again if it rolls back.
    page_seen: Vec<String>,
    summary: Summary,
    report: &'a mut dyn FnMut(Report<'_>),
}

/// What to do with one entity.
enum Plan {
    Skip(String),
    Unchanged {
        key: String,
    },
    Create {
        mapped: Box<Mapped>,
        entity: String,
        previous: Option<UpstreamRow>,
    },
    Update {
        mapped: Box<Mapped>,
        entity: String,
        row: UpstreamRow,
        app: Box<App>,
        current: Box<App>,
        fields: Vec<&'static str>,
    },
}

/// Runs the sweep; the summary comes back whether it finished or not.
pub(super) async fn sweep(
    store: &mut Store,
    clock: &dyn Clock,
    options: &Options,
    report: &mut dyn FnMut(Report<'_>),
) -> (Summary, Result<(), ImportError>) {
    let mut run = Run {
        instance: String::new(),
        filters: Filters { given: Vec::new(), kinds: Vec::new(), scope: String::new() },
        dry_run: options.dry_run,
        has_tables: true,
        sweep: None,
        seen: HashSet::new(),
        page_seen: Vec::new(),
        summary: Summary { dry_run: options.dry_run, ..Summary::default() },
        report,
    };
    let result = walk(&mut run, store, clock, options).await;
    (run.summary, result)
}

async fn walk(run: &mut Run<'_>, store: &mut Store, clock: &dyn Clock, options: &Options) -> Result<(), ImportError> {
    if options.page_limit == 0 || options.page_limit > MAX_PAGE_LIMIT {
        return Err(ImportError::Options(format!("the page size must be 1 to {MAX_PAGE_LIMIT}")));
    }
    run.filters = mapping::parse_filters(&options.filters).map_err(ImportError::Options)?;
    let client = Backstage::with_trust(&options.url, options.token.as_ref(), &options.trust)?;
    run.instance = client.instance().to_string();
    run.summary.instance = run.instance.clone();
    run.summary.scope = run.filters.scope.clone();

    // Where to start: a fresh sweep, or the unfinished one of the same scope.
    let mut cursor: Option<String> = None;
    let mut page_number = 0;
    let mut resuming = false;
    if run.dry_run {
        run.has_tables = store.read(upstream::tables_exist)?;
        run.summary.sweep = if run.has_tables { store.read(upstream::next_sweep_id)? } else { 1 };
    } else {
        let (instance, scope, restart, now) = (&run.instance, &run.filters.scope, options.restart, clock.now());
        let open = store.write(|conn| -> Result<_, StoreError> {
            let open = upstream::open_sweep(conn, instance, scope)?;
            match open {
                Some(sweep) if restart => {
                    upstream::finish_sweep(conn, sweep.id, "abandoned", now)?;
                    Ok(None)
                }
                other => Ok(other),
            }
        })?;
        if let Some(open) = open {
            (run.report)(Report::Resumed { sweep: open.id, pages: open.pages });
            run.sweep = Some(open.id);
            run.summary.sweep = open.id;
            run.summary.resumed_at_page = Some(open.pages + 1);
            page_number = open.pages;
            resuming = open.next_cursor.is_some();
            cursor = open.next_cursor;
            if cursor.is_none() && open.pages > 0 {
                // Every page is in; only the orphan step was left to do.
                return finish(run, store, clock);
            }
        }
    }

    loop {
        page_number += 1;
        let request = match &cursor {
            None => PageRequest::First { filters: &run.filters.given },
            Some(cursor) => PageRequest::Next { cursor },
        };
        let page = match client.page(page_number, request, options.page_limit).await {
            Ok(page) => page,
            Err(err) if resuming && matches!(err.status(), Some(400 | 404 | 410)) => {
                // Cursors do not live for ever: start this sweep over.
                (run.report)(Report::Restarted { reason: err.to_string() });
                if let Some(stale) = run.sweep.take() {
                    let now = clock.now();
                    store.write(|conn| upstream::finish_sweep(conn, stale, "abandoned", now))?;
                }
                run.summary.resumed_at_page = None;
                resuming = false;
                cursor = None;
                page_number = 0;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        resuming = false;
        if page.next_cursor.is_some() && page.next_cursor == cursor {
            return Err(FetchError::NotCatalog {
                page: page_number,
                url: run.instance.clone(),
                reason: "its nextCursor is the cursor that asked for it, so the sweep would never end".into(),
            }
            .into());
        }
        let entities = page.items.len();
        let total_items = page.total_items;
        write_page(run, store, clock.now(), page_number, &page)?;
        run.summary.pages += 1;
        run.summary.entities += entities as u64;
        (run.report)(Report::Page { page: page_number, entities, total_items, summary: &run.summary });
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    finish(run, store, clock)
}

/// Plans (and, unless dry, applies) one page in one transaction.
fn write_page(
    run: &mut Run<'_>,
    store: &mut Store,
    now: DateTime<Utc>,
    page_number: u32,
    page: &Page,
) -> Result<(), StoreError> {
    let mut changes = Vec::new();
    if run.dry_run {
        store.read(|conn| -> Result<(), StoreError> {
            for entity in &page.items {
                let plan = plan(run, conn, entity, now)?;
                count(run, &plan, &mut changes);
            }
            Ok(())
        })?;
    } else {
        let snapshot = (run.summary.clone(), run.sweep);
        run.page_seen.clear();
        let written = store.write(|conn| -> Result<(), StoreError> {
            let sweep = match run.sweep {
                Some(sweep) => sweep,
                None => {
                    let sweep = upstream::start_sweep(conn, SOURCE_BACKSTAGE, &run.instance, &run.filters.scope, now)?;
                    run.sweep = Some(sweep);
                    run.summary.sweep = sweep;
                    sweep
                }
            };
            let mut appender = audit::Appender::start(conn)?;
            let mut events = 0;
            for entity in &page.items {
                let plan = plan(run, conn, entity, now)?;
                events += apply(run, conn, &mut appender, sweep, now, &plan, &mut changes)?;
                count(run, &plan, &mut changes);
            }
            if events > 0 {
                appender.finish(conn)?;
            }
            upstream::record_page(conn, sweep, page_number, page.next_cursor.as_deref(), now)
        });
        if let Err(err) = written {
            // The transaction rolled back: so do the counts.
            (run.summary, run.sweep) = snapshot;
            for key in run.page_seen.drain(..) {
                run.seen.remove(&key);
            }
            return Err(err);
        }
    }
    for change in &changes {
        (run.report)(Report::Change(change));
    }
    Ok(())
}

fn plan(run: &mut Run<'_>, conn: &Connection, entity: &Value, now: DateTime<Utc>) -> Result<Plan, StoreError> {
    let kind = mapping::kind_of(entity).unwrap_or_else(|| "invalid".into());
    if !run.filters.kinds.contains(&kind) {
        return Ok(Plan::Skip(kind));
    }
    let mapped = match mapping::map_entity(entity) {
        Ok(mapped) => mapped,
        Err(unusable) => {
            let name = entity.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
            (run.report)(Report::Warning(format!("skipped a {kind} entity ({name:?}): {unusable}")));
            return Ok(Plan::Skip("invalid".into()));
        }
    };
    for warning in &mapped.warnings {
        (run.report)(Report::Warning(format!("{}: {warning}", mapped.key)));
    }
    let seen_key = mapped.key.to_lowercase();
    if run.seen.contains(&seen_key) {
        return Ok(Plan::Unchanged { key: mapped.key });
    }
    run.seen.insert(seen_key.clone());
    run.page_seen.push(seen_key);
    let row = if run.has_tables { upstream::find(conn, &run.instance, &mapped.key)? } else { None };
    let Some(row) = row else {
        return Ok(Plan::Create { entity: entity.to_string(), mapped: Box::new(mapped), previous: None });
    };
    if row.fingerprint == mapped.fingerprint && row.orphaned_at.is_none() {
        return Ok(Plan::Unchanged { key: mapped.key });
    }
    let Some(current) = apps::find(conn, &row.app_id)? else {
        // The row outlived its app (a restored backup?): import it again.
        return Ok(Plan::Create { entity: entity.to_string(), mapped: Box::new(mapped), previous: Some(row) });
    };
    let (app, fields) = mapped.update_app(&current, now);
    Ok(Plan::Update {
        entity: entity.to_string(),
        mapped: Box::new(mapped),
        row,
        app: Box::new(app),
        current: Box::new(current),
        fields,
    })
}

fn count(run: &mut Run<'_>, plan: &Plan, changes: &mut Vec<Change>) {
    let summary = &mut run.summary;
    match plan {
        Plan::Skip(kind) => {
            summary.skipped += 1;
            *summary.skipped_by_kind.entry(kind.clone()).or_default() += 1;
        }
        Plan::Unchanged { .. } => summary.unchanged += 1,
        Plan::Create { mapped, .. } => {
            summary.created += 1;
            if run.dry_run {
                changes.push(Change {
                    kind: ChangeKind::Create,
                    key: mapped.key.clone(),
                    app_id: None,
                    fields: Vec::new(),
                });
            }
        }
        Plan::Update { mapped, current, fields, .. } => {
            summary.updated += 1;
            if run.dry_run {
                changes.push(Change {
                    kind: ChangeKind::Update,
                    key: mapped.key.clone(),
                    app_id: Some(current.id.clone()),
                    fields: fields.clone(),
                });
            }
        }
    }
}

/// A new app id, in the form intake gives them.
fn new_app_id() -> String {
    format!("app_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// The audit event of an import step on `app`.
fn import_event(action_type: &str, app: &App, context: Value) -> NewAuditEvent {
    NewAuditEvent {
        actor_id: IMPORT_ACTOR.into(),
        actor_role: IMPORT_ROLE.into(),
        app_id: Some(app.id.clone()),
        version: Some(app.version),
        environment: app.environments.first().cloned(),
        action_type: action_type.into(),
        resource_type: "app".into(),
        resource_id: Some(app.id.clone()),
        data_classification: Some(app.data_classification.as_str().into()),
        risk_score_at_time: Some(app.risk.score),
        user_agent: Some(concat!("govdeck/", env!("CARGO_PKG_VERSION"), " import").into()),
        request_context: context,
        ..NewAuditEvent::default()
    }
}

fn apply(
    run: &Run<'_>,
    conn: &Connection,
    appender: &mut audit::Appender,
    sweep: i64,
    now: DateTime<Utc>,
    plan: &Plan,
    changes: &mut Vec<Change>,
) -> Result<usize, StoreError> {
    let row = |mapped: &Mapped, app_id: &str, entity: &str| UpstreamRow {
        instance: run.instance.clone(),
        key: mapped.key.clone(),
        source: SOURCE_BACKSTAGE.into(),
        app_id: app_id.to_string(),
        fingerprint: mapped.fingerprint.clone(),
        scope: run.filters.scope.clone(),
        seen_in: sweep,
        orphaned_at: None,
        entity: entity.to_string(),
    };
    match plan {
        Plan::Skip(_) => Ok(0),
        Plan::Unchanged { key } => {
            upstream::mark_seen(conn, &run.instance, key, &run.filters.scope, sweep)?;
            Ok(0)
        }
        Plan::Create { mapped, entity, previous } => {
            let mut app = mapped.new_app(new_app_id(), now);
            apps::save(conn, &mut app)?;
            let context = json!({
                "source": SOURCE_BACKSTAGE,
                "instance": run.instance,
                "key": mapped.key,
                "fingerprint": mapped.fingerprint,
                "sweep": sweep,
                "owner_ref": mapped.upstream.owner_ref,
                "managed_by": mapped.upstream.managed_by,
                "assumed": mapped.upstream.assumed,
                "replaces_missing_app": previous.as_ref().map(|row| &row.app_id),
            });
            appender.push(conn, import_event("import.create", &app, context), IMPORT_ACTOR, now)?;
            upstream::save(conn, &row(mapped, &app.id, entity), now)?;
            changes.push(Change {
                kind: ChangeKind::Create,
                key: mapped.key.clone(),
                app_id: Some(app.id),
                fields: Vec::new(),
            });
            Ok(1)
        }
        Plan::Update { mapped, entity, row: previous, app, current, fields } => {
            let mut app = (**app).clone();
            if !fields.is_empty() {
                app.updated_at = now;
                apps::save(conn, &mut app)?;
            }
            let context = json!({
                "source": SOURCE_BACKSTAGE,
                "instance": run.instance,
                "key": mapped.key,
                "fingerprint": mapped.fingerprint,
                "previous_fingerprint": previous.fingerprint,
                "sweep": sweep,
                "changed": fields,
                "reappeared": previous.orphaned_at.is_some(),
                "previous_version": current.version,
            });
            appender.push(conn, import_event("import.update", &app, context), IMPORT_ACTOR, now)?;
            upstream::save(conn, &row(mapped, &app.id, entity), now)?;
            changes.push(Change {
                kind: ChangeKind::Update,
                key: mapped.key.clone(),
                app_id: Some(app.id.clone()),
                fields: fields.clone(),
            });
            Ok(1)
        }
    }
}

/// After the last page: orphans what the sweep did not see, and closes it.
fn finish(run: &mut Run<'_>, store: &mut Store, clock: &dyn Clock) -> Result<(), ImportError> {
    let now = clock.now();
    let mut changes = Vec::new();
    if run.dry_run {
        if run.has_tables {
            let unseen = store.read(|conn| upstream::unseen(conn, &run.instance, &run.filters.scope, i64::MAX))?;
            let unseen: Vec<_> =
                unseen.into_iter().filter(|(key, _)| !run.seen.contains(&key.to_lowercase())).collect();
            if orphan_guard(run, unseen.len(), run.seen.len() as u64) {
                for (key, app_id) in unseen {
                    run.summary.orphaned += 1;
                    changes.push(Change { kind: ChangeKind::Orphan, key, app_id: Some(app_id), fields: Vec::new() });
                }
            }
        }
    } else if let Some(sweep) = run.sweep {
        let (instance, scope) = (run.instance.clone(), run.filters.scope.clone());
        let (unseen, seen_by_sweep) = store.read(|conn| -> Result<_, StoreError> {
            let unseen = upstream::unseen(conn, &instance, &scope, sweep)?;
            let seen: u64 = conn.query_row(
                "SELECT COUNT(*) FROM upstream WHERE instance = ?1 AND scope = ?2 AND seen_in = ?3",
                rusqlite::params![instance, scope, sweep],
                |row| row.get::<_, i64>(0),
            )? as u64;
            Ok((unseen, seen))
        })?;
        let orphan = orphan_guard(run, unseen.len(), seen_by_sweep);
        store.write(|conn| -> Result<(), StoreError> {
            let mut appender = audit::Appender::start(conn)?;
            for (key, app_id) in unseen.iter().filter(|_| orphan) {
                // Checked again inside the write: another sweep may have seen it since.
                let Some(row) = upstream::find(conn, &instance, key)? else { continue };
                if row.seen_in >= sweep || row.orphaned_at.is_some() {
                    continue;
                }
                if let Some(mut app) = apps::find(conn, app_id)? {
                    app.set_flag(FLAG_ORPHANED, true);
                    app.updated_at = now;
                    apps::save(conn, &mut app)?;
                    let context = json!({
                        "source": SOURCE_BACKSTAGE,
                        "instance": instance,
                        "key": key,
                        "sweep": sweep,
                        "last_seen_in_sweep": row.seen_in,
                    });
                    appender.push(conn, import_event("import.orphan", &app, context), IMPORT_ACTOR, now)?;
                }
                upstream::mark_orphaned(conn, &instance, key, now)?;
                changes.push(Change {
                    kind: ChangeKind::Orphan,
                    key: key.clone(),
                    app_id: Some(app_id.clone()),
                    fields: Vec::new(),
                });
            }
            if !changes.is_empty() {
                appender.finish(conn)?;
            }
            upstream::finish_sweep(conn, sweep, "complete", now)
        })?;
        run.summary.orphaned += changes.len() as u64;
    }
    run.summary.complete = true;
    for change in &changes {
        (run.report)(Report::Change(change));
    }
    Ok(())
}

/// Whether to orphan `unseen` entries after a sweep that saw `seen`: not
/// when it saw nothing at all.
fn orphan_guard(run: &mut Run<'_>, unseen: usize, seen: u64) -> bool {
    if unseen > 0 && seen == 0 {
        (run.report)(Report::Warning(format!(
            "the sweep saw no entity of scope {:?}, so the {unseen} imported before were not orphaned \
             (is the filter right, or is the catalog being re-ingested?)",
            run.filters.scope
        )));
        return false;
    }
    true
}
