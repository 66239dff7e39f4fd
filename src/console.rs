//! The console's runtime: wires the local cache, the sync engine and the
//! terminal UI together. The UI sends [`Effect`]s and receives [`Event`]s;
//! this task turns effects into outbox entries, sends, syncs and
//! verifications, and answers with fresh snapshots of the cache.
//!
//! The first frame is drawn from the cache before the network is touched;
//! the sync runs here, never on the input path.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::app::{
    AppDetail, ConsoleData, Effect, Event, Prepared, QueuedAction, QueuedKind, QueuedStatus, SyncStatus, SyncSummary,
};
use crate::cache::outbox::{self, ActionKind, ActionStatus};
use crate::cache::{self, CacheError, audit, audit_search, catalog};
use crate::domain::api::Me;
use crate::domain::audit_query::AuditQuery;
use crate::domain::{DecisionKind, kpi};
use crate::sync::client::ClientError;
use crate::sync::engine::{ActionOutcome, SharedCache, SyncError, Syncer, with_cache};
use crate::widgets::app_detail::DETAIL_EVENTS;

/// How often the console syncs when nothing asks it to.
pub const SYNC_INTERVAL_SECS: u64 = 15;
/// Audit events the console keeps in memory for the timeline and details.
pub const AUDIT_WINDOW: u32 = 5000;
/// Apps and events in the first frame: more rows than the tallest terminal
/// shows, read by `LIMIT` queries in a few milliseconds at any catalog size.
pub const FIRST_PAGE: u32 = 200;

/// Reads the lists the console shows from the cache, in one snapshot: what
/// lists need of every app (no manifest is decoded), the pending requests,
/// the newest events and the outbox. The KPIs follow ([`load_kpis`]); a
/// detail view reads its app whole ([`load_detail`]).
pub fn load_data(conn: &rusqlite::Connection, server: &str) -> Result<ConsoleData, CacheError> {
    cache::with_small_page_cache(conn, || load_lists(conn, server))
}

fn load_lists(conn: &rusqlite::Connection, server: &str) -> Result<ConsoleData, CacheError> {
    let apps = catalog::summaries(conn)?;
    // What the console derives from the apps (search index, id order) on the
    // other core while the requests and events are read: the list arrives
    // ready to filter, and the UI's thread has nothing to build.
    let (prepared, approvals, audit) = std::thread::scope(|scope| {
        let prepared = scope.spawn(|| Prepared::of(&apps));
        let approvals = catalog::pending_approvals(conn);
        let audit = audit::recent(conn, AUDIT_WINDOW);
        (prepared.join(), approvals, audit)
    });
    let prepared = prepared.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok(ConsoleData {
        me: me(conn)?,
        server: server.to_string(),
        full_apps: Default::default(),
        approvals: approvals?,
        audit: audit?,
        audit_total: audit_search::count(conn)?,
        kpis: None,
        outbox: queued_actions(conn)?,
        loading: None,
        prepared,
        apps,
        holds: catalog::holds(conn)?,
    })
}

/// The KPIs over the whole cache, streamed: every request, then every app,
/// one at a time, so computing them holds none of them.
pub fn load_kpis(conn: &rusqlite::Connection, now: chrono::DateTime<Utc>) -> Result<kpi::Kpis, CacheError> {
    cache::with_small_page_cache(conn, || {
        let mut builder = kpi::KpiBuilder::new(now);
        catalog::holds(conn)?.keys().for_each(|id| builder.hold(id));
        catalog::for_each_approval(conn, |approval| builder.add_request(approval))?;
        catalog::for_each_summary(conn, |app| builder.add_app(app))?;
        Ok(builder.finish(&audit::dlp_blocks_by_month(conn)?))
    })
}

/// What the first frame needs, by `LIMIT` queries: the first page of the
/// inventory in its default order (by name), the newest events and the
/// outbox. [`load_data`] follows with the rest; until then `loading` holds
/// how many apps the cache has, and the panes that need everything (the
/// approval queue, KPIs, renewals) say they are loading.
pub fn load_first_page(conn: &rusqlite::Connection, server: &str) -> Result<ConsoleData, CacheError> {
    load_page(conn, server, FIRST_PAGE)
}

fn load_page(conn: &rusqlite::Connection, server: &str, page: u32) -> Result<ConsoleData, CacheError> {
    let (total_apps, _) = catalog::counts(conn)?;
    if total_apps <= u64::from(page) {
        return load_data(conn, server);
    }
    Ok(ConsoleData {
        me: me(conn)?,
        server: server.to_string(),
        apps: catalog::first_summaries(conn, page)?,
        full_apps: Default::default(),
        approvals: Vec::new(),
        audit: audit::recent(conn, page)?,
        audit_total: audit_search::count(conn)?,
        kpis: None,
        outbox: queued_actions(conn)?,
        loading: Some(total_apps as usize),
        prepared: Prepared::default(),
        holds: catalog::holds(conn)?,
    })
}

/// One app whole, for a detail view: its record, every request about it
/// and its newest events.
pub fn load_detail(conn: &rusqlite::Connection, app_id: &str) -> Result<AppDetail, CacheError> {
    cache::with_small_page_cache(conn, || {
        Ok(AppDetail {
            app: catalog::app(conn, app_id)?,
            requests: catalog::approvals_for_app(conn, app_id)?,
            events: audit::for_app(conn, app_id, DETAIL_EVENTS as u32)?,
        })
    })
}

fn me(conn: &rusqlite::Connection) -> Result<Me, CacheError> {
    Ok(cache::meta_get(conn, cache::ME)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or(Me { user: "(not synced yet)".into(), roles: Vec::new() }))
}

fn queued_actions(conn: &rusqlite::Connection) -> Result<Vec<QueuedAction>, CacheError> {
    Ok(outbox::pending_and_refused(conn)?
        .into_iter()
        .map(|action| QueuedAction {
            id: action.id,
            kind: match action.kind {
                ActionKind::Approve => QueuedKind::Approve,
                ActionKind::Reject => QueuedKind::Reject,
                ActionKind::Renew => QueuedKind::Renew,
                ActionKind::Intake => QueuedKind::Intake,
                ActionKind::Adopt => QueuedKind::Adopt,
                ActionKind::RequestChanges => QueuedKind::RequestChanges,
                ActionKind::Amend => QueuedKind::Amend,
                ActionKind::RequestAccess => QueuedKind::RequestAccess,
                ActionKind::Withdraw => QueuedKind::Withdraw,
                ActionKind::Transfer => QueuedKind::Transfer,
                ActionKind::Quarantine => QueuedKind::Quarantine,
                ActionKind::Release => QueuedKind::Release,
                ActionKind::Retire => QueuedKind::Retire,
            },
            target_id: action.target_id,
            status: match action.status {
                ActionStatus::Refused => QueuedStatus::Failed(action.message.unwrap_or_default()),
                _ => QueuedStatus::Queued,
            },
            queued_at: chrono::DateTime::parse_from_rfc3339(&action.created_at)
                .map(|at| at.to_utc())
                .unwrap_or_else(|_| Utc::now()),
        })
        .collect())
}

/// The last sync time recorded in the cache.
pub fn last_sync(conn: &rusqlite::Connection) -> Option<chrono::DateTime<Utc>> {
    cache::meta_get(conn, cache::LAST_SYNC_AT)
        .ok()
        .flatten()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| at.to_utc())
}

struct Runtime {
    syncer: Syncer,
    events: mpsc::UnboundedSender<Event>,
    status: SyncStatus,
}

impl Runtime {
    fn cache(&self) -> &SharedCache {
        &self.syncer.cache
    }

    /// Sends the lists, then the KPIs over them: the lists are what the
    /// user waits for.
    async fn publish_data(&self) {
        let server = self.syncer.client.server().to_string();
        match with_cache(self.cache(), move |cache| cache.read(|conn| load_data(conn, &server))).await {
            Ok(data) => {
                let _ = self.events.send(Event::Data(Box::new(data)));
                match with_cache(self.cache(), |cache| cache.read(|conn| load_kpis(conn, Utc::now()))).await {
                    Ok(kpis) => {
                        let _ = self.events.send(Event::Kpis(Box::new(kpis)));
                    }
                    Err(err) => {
                        let _ = self.events.send(Event::ActionResult {
                            target_id: String::new(),
                            outcome: Err(format!("cannot compute the KPIs: {err}")),
                        });
                    }
                }
            }
            Err(err) => {
                let _ = self.events.send(Event::ActionResult {
                    target_id: String::new(),
                    outcome: Err(format!("cannot read the cache: {err}")),
                });
            }
        }
    }

    /// Rows written through the cache's connection since it was opened.
    async fn cache_writes(&self) -> Option<u64> {
        with_cache(self.cache(), |cache| Ok(cache.conn().total_changes())).await.ok()
    }

    fn publish_status(&self) {
        let _ = self.events.send(Event::Sync(self.status.clone()));
    }

    /// Syncs once; true when the cache changed and a snapshot was sent.
    async fn sync(&mut self) -> bool {
        self.status.syncing = true;
        self.publish_status();
        let writes_before = self.cache_writes().await;
        let result = self.syncer.sync_once(&|_| {}).await;
        self.status.syncing = false;
        // Only a sync that changed the cache is worth a new snapshot: an idle
        // (or offline) console re-reads nothing every interval. A failed sync
        // may still have applied some pages before it stopped.
        let changed = match &result {
            Ok(report) => report.changes + report.events + report.sent + report.refused > 0,
            Err(_) => self.cache_writes().await != writes_before,
        };
        let mut summary = None;
        match result {
            Ok(report) => {
                self.status.online = true;
                self.status.tls_refused = false;
                self.status.error = None;
                self.status.last_sync = Some(Utc::now());
                summary = Some(SyncSummary {
                    changes: report.changes,
                    events: report.events,
                    sent: report.sent,
                    refused: report.refusals,
                    still_queued: report.still_queued,
                });
            }
            Err(err) => {
                if err.is_unauthorized() {
                    let event = match &err {
                        SyncError::Client(ClientError::Status { code, message, .. }) if code == "token_expired" => {
                            Event::TokenExpired(message.clone())
                        }
                        _ => Event::TokenRefused,
                    };
                    let _ = self.events.send(event);
                }
                // A refused certificate is not retried here (it is not
                // transient); the next sync tries again, once.
                self.status.online = !err.is_offline() && !err.is_tls();
                self.status.tls_refused = err.is_tls();
                self.status.error = Some(match &err {
                    SyncError::History(_) => format!("STOPPED: {err}"),
                    _ => err.to_string(),
                });
            }
        }
        self.publish_status();
        if let Some(summary) = summary {
            let _ = self.events.send(Event::Synced(summary));
        }
        if changed {
            self.publish_data().await;
            // The sync's pages and the KPIs' pass over the cache are freed.
            crate::memory::release_freed();
        }
        changed
    }

    /// Removes a refused action the user dismissed, and shows the outbox again.
    async fn dismiss(&self, action_id: i64) {
        let dismissed =
            with_cache(self.cache(), move |cache| cache.write(|conn| outbox::dismiss(conn, action_id))).await;
        if let Err(err) = dismissed {
            let _ = self.events.send(Event::ActionResult {
                target_id: String::new(),
                outcome: Err(format!("cannot dismiss the action in the cache: {err}")),
            });
        }
        self.publish_data().await;
    }

    async fn act(&mut self, kind: ActionKind, target: String, body: serde_json::Value, rev: Option<u64>) {
        let queue_target = target.clone();
        let queued = with_cache(self.cache(), move |cache| {
            if let Some(existing) = outbox::queued_for(cache.conn(), &queue_target)? {
                return Ok(Err(format!("action #{} on this item is already queued", existing.id)));
            }
            cache.write(|conn| outbox::enqueue(conn, kind, &queue_target, &body, rev, Utc::now())).map(Ok)
        })
        .await;
        let action = match queued {
            Ok(Ok(action)) => action,
            Ok(Err(message)) => {
                let _ = self.events.send(Event::ActionResult { target_id: target, outcome: Err(message) });
                return;
            }
            Err(err) => {
                let _ = self.events.send(Event::ActionResult { target_id: target, outcome: Err(err.to_string()) });
                return;
            }
        };
        // Show it as queued at once, then send.
        self.publish_data().await;
        let mut resync = false;
        let outcome = match self.syncer.send(&action).await {
            Ok(ActionOutcome::Done(message)) => Ok(message),
            Ok(ActionOutcome::Queued(reason)) => {
                self.status.online = false;
                self.publish_status();
                let _ = self.events.send(Event::ActionQueued { target_id: target, reason });
                self.publish_data().await;
                return;
            }
            Ok(ActionOutcome::Refused { message, .. }) => {
                // The server knows better than the cache (the request was
                // decided elsewhere, say): sync, so the row shows what is true.
                resync = true;
                Err(message)
            }
            Err(err) if err.is_tls() => {
                // The server never saw it; withdrawn, as the CLI does, so it
                // is not sent later behind the user's back.
                let id = action.id;
                let withdrawn =
                    with_cache(self.cache(), move |cache| cache.write(|conn| outbox::withdraw(conn, id))).await;
                self.status.online = false;
                self.status.tls_refused = true;
                self.publish_status();
                match withdrawn {
                    Ok(_) => Err(format!("{err}; not sent")),
                    Err(cache_err) => Err(format!("{err}; not sent, and it stays queued: {cache_err}")),
                }
            }
            Err(err) => Err(err.to_string()),
        };
        let done = outcome.is_ok();
        let _ = self.events.send(Event::ActionResult { target_id: target, outcome });
        // A refusal changed the outbox: shown even when the sync brings nothing.
        let published = (done || resync) && self.sync().await;
        if !done && !published {
            self.publish_data().await;
        }
    }

    async fn load_detail(&self, app_id: String) {
        let id = app_id.clone();
        match with_cache(self.cache(), move |cache| load_detail(cache.conn(), &id)).await {
            Ok(detail) => {
                let _ = self.events.send(Event::Detail(Box::new(detail)));
            }
            Err(err) => {
                let _ = self.events.send(Event::ActionResult {
                    target_id: app_id,
                    outcome: Err(format!("cannot read the app from the cache: {err}")),
                });
            }
        }
    }

    async fn verify(&self) {
        let result = with_cache(self.cache(), |cache| {
            let report = audit::verify(cache.conn())?;
            // An owner's events, which the chain walk cannot vouch for: their stored proofs.
            let proofs = if report.full_chain { None } else { Some(crate::cache::proofs::verify(cache.conn())?) };
            Ok((report, proofs))
        })
        .await;
        let message = match result {
            Ok((report, proofs)) => verify_message(&report, proofs.as_ref()),
            Err(err) => Err(format!("cannot verify: {err}")),
        };
        let _ = self.events.send(Event::Verified(message));
    }
}

/// What the console says of `v`: the chain, then the signed roots (a whole
/// chain) or the stored inclusion proofs (an owner's events).
fn verify_message(
    report: &audit::CacheVerify,
    proofs: Option<&crate::cache::proofs::ProofReport>,
) -> Result<String, String> {
    if let Err(broken) = &report.result {
        return Err(format!("audit chain BROKEN at seq {}: {broken}", broken.seq()));
    }
    if let Some(bad) = report.roots.as_ref().and_then(|roots| roots.mismatch.as_ref()) {
        return Err(format!(
            "audit tree BROKEN at size {}: a signed root is not the root of the cached events",
            bad.size
        ));
    }
    let vouched = match (proofs, &report.roots) {
        (Some(proofs), _) if proofs.first_bad.is_some() => {
            return Err(format!(
                "proofs BROKEN at seq {}: its inclusion proof does not lead to its signed root",
                proofs.first_bad.unwrap_or_default()
            ));
        }
        (Some(proofs), _) if proofs.unproved > 0 => {
            return Err(format!("proofs MISSING for {} of your events", proofs.unproved));
        }
        (Some(proofs), _) => {
            return Ok(format!(
                "audit ok: {} of your events verified, {} proved in signed trees",
                report.verified, proofs.proved
            ));
        }
        (None, Some(roots)) if roots.checked > 0 => {
            if roots.checked == 1 {
                " · 1 signed root ok".to_string()
            } else {
                format!(" · {} signed roots ok", roots.checked)
            }
        }
        (None, _) => String::new(),
    };
    Ok(format!(
        "audit chain ok: {} events verified{}, head seq {}{vouched}",
        report.verified,
        if report.full_chain { "" } else { " (your events only)" },
        report.head.seq
    ))
}

impl Runtime {
    /// Does what `effect` asks; false for quit.
    async fn handle(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::SyncNow => {
                self.sync().await;
            }
            Effect::VerifyAudit => self.verify().await,
            Effect::LoadDetail { app_id } => self.load_detail(app_id).await,
            Effect::Dismiss { action_id } => self.dismiss(action_id).await,
            Effect::QueryAudit(query) => self.query_audit(query).await,
            // The loop that owns the terminal runs the editor (crate::tui); none reaches here.
            Effect::Edit(_) => {}
            Effect::Decide { approval_id, decision, comment, rev } => {
                let kind = match decision {
                    DecisionKind::Approve => ActionKind::Approve,
                    DecisionKind::Reject => ActionKind::Reject,
                    DecisionKind::RequestChanges => ActionKind::RequestChanges,
                };
                let body = serde_json::json!({"decision": decision, "comment": comment, "rev": rev});
                self.act(kind, approval_id, body, Some(rev)).await;
            }
            Effect::Intake { name, manifest } => match serde_json::from_str(&manifest) {
                Ok(body) => self.act(ActionKind::Intake, outbox::intake_target(&name), body, None).await,
                Err(err) => {
                    let _ = self.events.send(Event::ActionResult {
                        target_id: outbox::intake_target(&name),
                        outcome: Err(format!("the manifest cannot be sent: {err}")),
                    });
                }
            },
            Effect::Adopt { app_id, rev, manifest } => {
                self.act(ActionKind::Adopt, app_id, manifest, Some(rev)).await;
            }
            Effect::Amend { app_id, rev, set } => {
                let body = serde_json::json!({"rev": rev, "set": set});
                self.act(ActionKind::Amend, app_id, body, Some(rev)).await;
            }
            Effect::Renew { app_id, days } => {
                let body = match days {
                    Some(days) => serde_json::json!({"days": days}),
                    None => serde_json::json!({}),
                };
                self.act(ActionKind::Renew, app_id, body, None).await;
            }
            Effect::RequestAccess { app_id, environment, reason } => {
                let body = serde_json::json!({"environment": environment, "reason": reason});
                self.act(ActionKind::RequestAccess, app_id, body, None).await;
            }
            Effect::Withdraw { approval_id, reason } => {
                let body = serde_json::json!({"reason": reason});
                self.act(ActionKind::Withdraw, approval_id, body, None).await;
            }
            Effect::Transfer { app_id, to, reason } => {
                let body = serde_json::json!({"to": to, "reason": reason});
                self.act(ActionKind::Transfer, app_id, body, None).await;
            }
            Effect::Quarantine { app_id, reason } => {
                self.act(ActionKind::Quarantine, app_id, serde_json::json!({"reason": reason}), None).await;
            }
            Effect::Release { app_id, reason } => {
                self.act(ActionKind::Release, app_id, serde_json::json!({"reason": reason}), None).await;
            }
            Effect::Retire { app_id, reason, checklist } => {
                let body = serde_json::json!({"reason": reason, "checklist": checklist});
                self.act(ActionKind::Retire, app_id, body, None).await;
            }
        }
        true
    }

    /// A page of the events a filter selects, from the whole cache.
    async fn query_audit(&self, query: AuditQuery) {
        let asked = query.clone();
        match with_cache(self.cache(), move |cache| audit_search::search(cache.conn(), &asked)).await {
            Ok(page) => {
                let _ = self.events.send(Event::AuditPage(Box::new(page)));
            }
            Err(err) => {
                let _ = self.events.send(Event::ActionResult {
                    target_id: String::new(),
                    outcome: Err(format!("cannot search the audit events: {err}")),
                });
            }
        }
    }
}

/// Serves the UI's effects until it quits, syncing every `interval`.
pub async fn run_runtime(
    syncer: Syncer,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    events: mpsc::UnboundedSender<Event>,
    interval: Duration,
) {
    let last_sync = {
        let cache = Arc::clone(&syncer.cache);
        with_cache(&cache, |cache| Ok(last_sync(cache.conn()))).await.ok().flatten()
    };
    let mut runtime = Runtime {
        syncer,
        events,
        status: SyncStatus { online: false, syncing: false, last_sync, error: None, tls_refused: false },
    };
    // The first frame showed a first page; the whole cache comes before the
    // network, so an offline start still gets its full list.
    runtime.publish_data().await;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            effect = effects.recv() => {
                let Some(first) = effect else { break };
                let mut batch = vec![first];
                if matches!(batch[0], Effect::QueryAudit(_)) {
                    // Typing sends a query a key: only the newest is worth answering.
                    while let Ok(next) = effects.try_recv() {
                        batch.push(next);
                    }
                    let newest = batch.iter().rposition(|e| matches!(e, Effect::QueryAudit(_)));
                    let mut at = 0;
                    batch.retain(|e| {
                        let keep = !matches!(e, Effect::QueryAudit(_)) || Some(at) == newest;
                        at += 1;
                        keep
                    });
                }
                let mut quit = false;
                for effect in batch {
                    if !runtime.handle(effect).await {
                        quit = true;
                        break;
                    }
                }
                if quit {
                    break;
                }
            }
            _ = ticks.tick() => {
                runtime.sync().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{fixture_data, fixture_now};
    use crate::cache::Cache;

    fn cache_with_fixture() -> Cache {
        let mut cache = Cache::open_in_memory().unwrap();
        let data = fixture_data(fixture_now());
        cache
            .write(|conn| {
                for app in data.full_apps.values() {
                    catalog::put_app(conn, app)?;
                }
                for approval in &data.approvals {
                    catalog::put_approval(conn, approval)?;
                }
                Ok::<_, CacheError>(())
            })
            .unwrap();
        cache
    }

    #[test]
    fn the_first_page_is_the_head_of_the_full_list_and_says_the_rest_is_loading() {
        let mut cache = cache_with_fixture();
        let full = cache.read(|conn| load_data(conn, "http://127.0.0.1:1")).unwrap();
        let page = cache.read(|conn| load_page(conn, "http://127.0.0.1:1", 5)).unwrap();
        assert_eq!(page.loading, Some(full.apps.len()));
        assert_eq!(page.apps, full.apps[..5]);
        assert!(page.approvals.is_empty() && !full.approvals.is_empty());
        assert_eq!(full.loading, None);
    }

    /// The full list comes with its search index and id order built, so the
    /// console's thread builds neither; both as the console would build them.
    #[test]
    fn the_full_list_arrives_with_its_search_index_and_id_order() {
        let mut cache = cache_with_fixture();
        let full = cache.read(|conn| load_data(conn, "http://127.0.0.1:1")).unwrap();
        let search = full.prepared.search.as_ref().expect("search index prepared");
        let built = crate::search::Index::of_apps(&full.apps);
        assert_eq!(search.len(), full.apps.len());
        for record in 0..full.apps.len() {
            assert!(search.fields(record).eq(built.fields(record)), "record {record}");
        }
        let by_id = full.prepared.by_id.as_deref().expect("id order prepared");
        assert_eq!(by_id, crate::app::order_by_id(&full.apps));
        assert!(by_id.windows(2).all(|w| full.apps[w[0] as usize].id < full.apps[w[1] as usize].id));
        let page = cache.read(|conn| load_page(conn, "http://127.0.0.1:1", 5)).unwrap();
        assert!(page.prepared.search.is_none(), "a first page is searched as it is");
    }

    #[test]
    fn kpis_streamed_from_the_cache_equal_those_computed_in_memory() {
        let mut cache = cache_with_fixture();
        let data = fixture_data(fixture_now());
        let dlp = cache.read(audit::dlp_blocks_by_month).unwrap();
        let expected = kpi::compute(&data.apps, &data.approvals, &dlp, fixture_now());
        assert_eq!(cache.read(|conn| load_kpis(conn, fixture_now())).unwrap(), expected);
        assert!(expected.pending_approvals > 0 && expected.total_apps == data.apps.len());
    }

    #[test]
    fn a_cache_that_fits_in_the_first_page_is_complete_at_once() {
        let mut cache = cache_with_fixture();
        let page = cache.read(|conn| load_page(conn, "http://127.0.0.1:1", FIRST_PAGE)).unwrap();
        let full = cache.read(|conn| load_data(conn, "http://127.0.0.1:1")).unwrap();
        assert_eq!(page.loading, None);
        assert_eq!(page.apps, full.apps);
        assert_eq!(page.approvals, full.approvals);
    }

    fn cache_report(full_chain: bool, roots: Option<crate::store::checkpoints::RootsReport>) -> audit::CacheVerify {
        audit::CacheVerify {
            verified: 62,
            head: crate::domain::api::AuditHead { seq: 62, hash: "ab".repeat(32) },
            full_chain,
            result: Ok(()),
            roots,
        }
    }

    #[test]
    fn verify_says_what_vouches_for_the_events_and_names_a_bad_root_or_proof() {
        use crate::cache::proofs::ProofReport;
        use crate::store::checkpoints::{RootMismatch, RootsReport};
        let roots = |checked, mismatch| RootsReport { checked, unchecked: 0, newest: Some(62), mismatch };
        assert_eq!(
            verify_message(&cache_report(true, Some(roots(1, None))), None),
            Ok("audit chain ok: 62 events verified, head seq 62 · 1 signed root ok".into())
        );
        assert_eq!(
            verify_message(&cache_report(true, Some(roots(3, None))), None).unwrap(),
            "audit chain ok: 62 events verified, head seq 62 · 3 signed roots ok"
        );
        assert_eq!(
            verify_message(&cache_report(true, Some(roots(0, None))), None).unwrap(),
            "audit chain ok: 62 events verified, head seq 62",
            "no signed tree head yet: nothing is claimed"
        );
        let bad = RootMismatch { size: 40, signed: "00".repeat(32), rows: "11".repeat(32) };
        let said = verify_message(&cache_report(true, Some(roots(3, Some(bad)))), None).unwrap_err();
        assert!(said.starts_with("audit tree BROKEN at size 40"), "{said}");

        let proofs = |proved, unproved, first_bad| ProofReport { proved, unproved, through: 62, first_bad };
        assert_eq!(
            verify_message(&cache_report(false, None), Some(&proofs(5, 0, None))).unwrap(),
            "audit ok: 62 of your events verified, 5 proved in signed trees"
        );
        let said = verify_message(&cache_report(false, None), Some(&proofs(4, 0, Some(17)))).unwrap_err();
        assert!(said.starts_with("proofs BROKEN at seq 17"), "{said}");
        let said = verify_message(&cache_report(false, None), Some(&proofs(4, 1, None))).unwrap_err();
        assert_eq!(said, "proofs MISSING for 1 of your events");
    }

    #[test]
    fn a_verify_message_of_a_million_events_fits_an_80_column_status_line() {
        let mut report = cache_report(false, None);
        report.verified = 1_000_000;
        report.head.seq = 1_000_000;
        let proofs = crate::cache::proofs::ProofReport { proved: 1_000_000, unproved: 0, through: 1, first_bad: None };
        let owner = verify_message(&report, Some(&proofs)).unwrap();
        report.full_chain = true;
        let roots = crate::store::checkpoints::RootsReport { checked: 99, unchecked: 0, newest: None, mismatch: None };
        report.roots = Some(roots);
        let whole = verify_message(&report, None).unwrap();
        for said in [owner, whole] {
            // The status line prefixes "✓ ".
            assert!(said.chars().count() + 2 <= 80, "{said}");
        }
    }
}
