//! Sync through a hostile network: the fault proxy of `tests/sync_support`
//! holds requests back, resets connections (before or after the server saw
//! the request) and answers 500/503, with and without `Retry-After`, at every
//! phase of [`Syncer::sync_once`] (`/v1/me`, `/v1/audit/key`,
//! `/v1/audit/head`, the anchor `/v1/audit` call, `/v1/audit/checkpoints`,
//! `/v1/changes`, the `/v1/audit` pages, the POST of a queued action).
//!
//! * A transient fault the backoff's attempts absorb: the sync succeeds and
//!   the cache equals a clean sync into a fresh cache.
//! * One that outlasts them: a clear error, and the cache byte-for-byte as
//!   it was (for the audit pages: the audit log and head as they were, the
//!   catalog pages before them applied whole) — never a half-written page.
//! * `503`/`500` with `Retry-After: 1`: never retried sooner than 1 s.
//! * A queued action whose POST was reset or failed stays queued, and is
//!   delivered exactly once later.
//!
//! The syncers here retry with a fast backoff (same attempts, shorter waits)
//! except where `Retry-After` is under test.
//!
//! [`Syncer::sync_once`]: govdeck::sync::engine::Syncer::sync_once

mod sync_support;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use govdeck::cache::outbox::{self, ActionKind};
use govdeck::sync::client::ClientError;
use govdeck::sync::engine::{SyncError, Syncer};
use govdeck::sync::retry::Backoff;
use rusqlite::Connection;
use serde_json::{Value, json};
use sync_support::proxy::{Effect, Fault, Logged, Proxy, Route};
use sync_support::{Caches, Server, Snapshot, View, manifest, runtime_event, sync, syncer};

/// The attempts of [`Backoff::COMMAND`] with waits short enough for a test.
const FAST: Backoff = Backoff { base: Duration::from_millis(20), max: Duration::from_millis(200), attempts: 4 };

/// Faults a retry may get past.
const TRANSIENT: [Effect; 3] = [
    Effect::Reset,
    Effect::Status { status: 500, retry_after_secs: None },
    Effect::Status { status: 503, retry_after_secs: None },
];

/// Each phase of a sync of a cache that already holds events, by the
/// requests it makes: `(name, route, skip)`.
const PHASES: [(&str, Route, u32); 7] = [
    ("me", Route::Exact("/v1/me"), 0),
    ("key", Route::Exact("/v1/audit/key"), 0),
    ("head", Route::Exact("/v1/audit/head"), 0),
    // The first `/v1/audit` call checks the cached head's event ...
    ("audit anchor", Route::Exact("/v1/audit"), 0),
    ("checkpoints", Route::Exact("/v1/audit/checkpoints"), 0),
    ("changes", Route::Exact("/v1/changes"), 0),
    // ... the next ones are the pages.
    ("audit pages", Route::Exact("/v1/audit"), 1),
];

/// A few apps, requests, decisions and runtime events.
async fn some_activity(server: &Server, tag: &str) {
    let (app, request) = server.intake("olive", &manifest(&format!("{tag}-quoting"), None, "high")).await;
    server.decide("riley", &request, "approve", "first").await;
    server.intake("omar", &manifest(&format!("{tag}-roster"), None, "medium")).await;
    let id = app["id"].as_str().unwrap();
    server.ingest(&[runtime_event(id, "data.export"), runtime_event(id, "dlp.block")]).await;
}

/// Enough runtime events for the server to sign a new checkpoint (it signs
/// one every 1,000 events).
async fn new_checkpoint(server: &Server, tag: &str) {
    let (app, _) = server.intake("olive", &manifest(&format!("{tag}-busy"), None, "low")).await;
    let events: Vec<Value> = (0..500).map(|_| runtime_event(app["id"].as_str().unwrap(), "data.export")).collect();
    server.ingest(&events).await;
    server.ingest(&events).await;
}

/// A server with some history, a proxy in front of it, and riley's cache
/// synced once through the proxy.
struct Rig {
    server: Server,
    proxy: Proxy,
    caches: Caches,
    riley: Syncer,
}

impl Rig {
    async fn new(backoff: Backoff) -> Rig {
        let server = Server::start().await;
        some_activity(&server, "a").await;
        // The checkpoints phase has something to fetch and store.
        new_checkpoint(&server, "a").await;
        let proxy = Proxy::start(&server.url()).await;
        let caches = Caches::new();
        let mut riley = syncer(&proxy.url, &server.token("riley"), &caches.path("riley"));
        riley.backoff = backoff;
        sync(&riley).await.expect("first sync through the proxy");
        let paths: Vec<String> = proxy.log().into_iter().map(|l| l.path).collect();
        for (name, route, _) in PHASES {
            let Route::Exact(path) = route else { unreachable!() };
            if name != "audit anchor" {
                assert!(paths.iter().any(|p| p == path), "a sync requests {path}: {paths:?}");
            }
        }
        assert!(!checkpoint_rows(&caches.path("riley")).is_empty(), "the server signed a checkpoint");
        Rig { server, proxy, caches, riley }
    }

    fn path(&self) -> std::path::PathBuf {
        self.caches.path("riley")
    }

    /// Queues riley's approval of `request` in the cache.
    fn enqueue_approval(&self, request: &Value) -> i64 {
        let id = request["id"].as_str().unwrap();
        let body = json!({"decision": "approve", "comment": "", "rev": request["rev"]});
        let action = self
            .riley
            .cache
            .lock()
            .unwrap()
            .write(|conn| outbox::enqueue(conn, ActionKind::Approve, id, &body, request["rev"].as_u64(), Utc::now()))
            .unwrap();
        action.id
    }

    /// riley's approvals of `approval_id` in the server's audit log.
    async fn approvals_of(&self, approval_id: &str) -> usize {
        let events = self.server.all_audit("riley").await;
        events.iter().filter(|e| e["action_type"] == "approval.approve" && e["approval_id"] == approval_id).count()
    }

    async fn stop(self) {
        self.proxy.stop().await;
    }
}

/// Every row of the cache's checkpoints table.
fn checkpoint_rows(path: &Path) -> Vec<Vec<String>> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM checkpoints ORDER BY 1, 2").unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| (0..columns).map(|i| row.get_ref(i).map(|v| format!("{v:?}"))).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The cache at `path` holds what a clean sync straight from the server
/// into a fresh cache holds: catalog, audit log, head, cursor, checkpoints.
async fn assert_like_clean(server: &Server, path: &Path, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("clean.sqlite");
    sync(&syncer(&server.url(), &server.token("riley"), &fresh)).await.expect("clean sync");
    let (got, clean) = (Snapshot::read(path), Snapshot::read(&fresh));
    assert_eq!(got.apps, clean.apps, "{what}: apps");
    assert_eq!(got.approvals, clean.approvals, "{what}: requests");
    assert_eq!(got.audit, clean.audit, "{what}: audit log");
    assert_eq!(got.head(), clean.head(), "{what}: head");
    assert_eq!(got.cursor(), clean.cursor(), "{what}: cursor");
    assert_eq!(checkpoint_rows(path), checkpoint_rows(&fresh), "{what}: checkpoints");
}

/// The requests `route` matched (skipping none), in order.
fn on_route(log: &[Logged], route: Route) -> Vec<Logged> {
    let Route::Exact(path) = route else { return log.iter().filter(|l| l.method == "POST").cloned().collect() };
    log.iter().filter(|l| l.path == path).cloned().collect()
}

fn describe(effect: Effect) -> String {
    match effect {
        Effect::Delay(ms) => format!("delay {ms} ms"),
        Effect::Reset => "reset".into(),
        Effect::ResetAfterForward => "reset after forwarding".into(),
        Effect::Status { status, retry_after_secs: None } => format!("{status}"),
        Effect::Status { status, retry_after_secs: Some(after) } => format!("{status} + Retry-After: {after}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_within_the_attempts_end_in_a_clean_cache() {
    let rig = Rig::new(FAST).await;
    let retries = FAST.attempts - 1;
    for (round, effect) in TRANSIENT.into_iter().enumerate() {
        for (name, route, skip) in PHASES {
            let what = format!("{} x{retries} at {name}", describe(effect));
            rig.server.intake("olive", &manifest(&format!("t{round}-{name}").replace(' ', "-"), None, "medium")).await;
            rig.proxy.clear_log();
            rig.proxy.set(Fault::Inject { route, skip, count: Some(retries), effect });
            let report = sync(&rig.riley).await.unwrap_or_else(|err| panic!("{what}: {err}"));
            assert!(report.changes > 0 && report.events > 0, "{what}: {report:?}");
            let log = on_route(&rig.proxy.log(), route);
            assert_eq!(log.iter().filter(|l| l.faulted).count(), retries as usize, "{what}: {log:#?}");
            // One call a sync, two to `/v1/audit` (the anchor, then a page).
            let calls = if route == Route::Exact("/v1/audit") { 2 } else { 1 };
            assert_eq!(log.len(), calls + retries as usize, "{what}: each fault retried once: {log:#?}");
            rig.proxy.set(Fault::Pass);
            assert_like_clean(&rig.server, &rig.path(), &what).await;
        }
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_that_outlast_the_attempts_fail_clearly_and_leave_the_cache_alone() {
    let rig = Rig::new(FAST).await;
    let path = rig.path();
    for (round, effect) in TRANSIENT.into_iter().enumerate() {
        for (name, route, skip) in PHASES {
            let what = format!("{} on every try at {name}", describe(effect));
            let tag = format!("x{round}-{name}").replace(' ', "-");
            some_activity(&rig.server, &tag).await;
            if matches!(name, "checkpoints" | "audit pages") {
                new_checkpoint(&rig.server, &tag).await;
            }
            let before = Snapshot::read(&path);
            let checkpoints_before = checkpoint_rows(&path);
            rig.proxy.clear_log();
            rig.proxy.set(Fault::Inject { route, skip, count: None, effect });
            let err = sync(&rig.riley).await.expect_err(&what);
            rig.proxy.set(Fault::Pass);

            // A clear error, and one the caller treats as "offline".
            assert!(err.is_offline(), "{what}: {err:?}");
            let message = err.to_string();
            match (effect, &err) {
                (Effect::Reset, SyncError::Client(ClientError::Offline { .. })) => {
                    assert!(message.contains("cannot reach the server"), "{what}: {message}")
                }
                (Effect::Status { status, .. }, SyncError::Client(ClientError::Status { status: got, .. })) => {
                    assert_eq!(*got, status, "{what}");
                    assert!(message.contains(&format!("HTTP {status}")), "{what}: {message}");
                }
                _ => panic!("{what}: unexpected error {err:?}"),
            }
            let log = on_route(&rig.proxy.log(), route);
            assert_eq!(log.iter().filter(|l| l.faulted).count(), FAST.attempts as usize, "{what}: {log:#?}");

            let after = Snapshot::read(&path);
            assert_eq!(checkpoint_rows(&path), checkpoints_before, "{what}: checkpoints");
            if name == "audit pages" {
                // The catalog pages came before and were applied whole; not
                // one event of the failed audit page was.
                assert_eq!(after.audit, before.audit, "{what}: audit log");
                assert_eq!(after.head(), before.head(), "{what}: head");
                assert_eq!(View::of_cache(&path), rig.server.view("riley").await, "{what}: catalog");
                assert_eq!(after.outbox, before.outbox, "{what}: outbox");
            } else {
                assert_eq!(after, before, "{what}: the cache changed: {} vs {}", after.summary(), before.summary());
            }
            eprintln!("{what}: {message}");
        }
    }
    // The network heals: the next sync catches up completely.
    sync(&rig.riley).await.expect("sync once the network behaves");
    assert_like_clean(&rig.server, &path, "after the failures").await;
    rig.stop().await;
}

/// Asserts that no request on `route` came sooner than `secs` after the
/// proxy answered a faulted one.
fn assert_paced(log: &[Logged], route: Route, secs: u64, what: &str) {
    let on = on_route(log, route);
    let faulted = on.iter().filter(|l| l.faulted).count();
    assert!(faulted > 0, "{what}: no fault seen: {on:#?}");
    for pair in on.windows(2) {
        if pair[0].faulted {
            let gap = pair[1].at - pair[0].answered;
            assert!(gap >= Duration::from_secs(secs), "{what}: retried {gap:?} after Retry-After: {secs}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_on_500_and_503() {
    // The real backoff: its jitter must not undercut Retry-After.
    let rig = Rig::new(Backoff::COMMAND).await;
    let cases = [
        ("me", Route::Exact("/v1/me"), 0, 503, 2),
        ("checkpoints", Route::Exact("/v1/audit/checkpoints"), 0, 503, 1),
        ("changes", Route::Exact("/v1/changes"), 0, 500, 1),
        ("audit pages", Route::Exact("/v1/audit"), 1, 503, 1),
    ];
    for (name, route, skip, status, count) in cases {
        let what = format!("{status} + Retry-After: 1 x{count} at {name}");
        some_activity(&rig.server, &name.replace(' ', "-")).await;
        rig.proxy.clear_log();
        let effect = Effect::Status { status, retry_after_secs: Some(1) };
        rig.proxy.set(Fault::Inject { route, skip, count: Some(count), effect });
        let started = Instant::now();
        sync(&rig.riley).await.unwrap_or_else(|err| panic!("{what}: {err}"));
        let elapsed = started.elapsed();
        rig.proxy.set(Fault::Pass);
        assert!(elapsed >= Duration::from_secs(count.into()), "{what}: took {elapsed:?}");
        assert_paced(&rig.proxy.log(), route, 1, &what);
        assert_like_clean(&rig.server, &rig.path(), &what).await;
        eprintln!("{what}: sync took {elapsed:?}");
    }

    // A queued action's POST too.
    let (_, request) = rig.server.intake("olive", &manifest("paced-post", None, "medium")).await;
    sync(&rig.riley).await.expect("sync");
    rig.enqueue_approval(&request);
    rig.proxy.clear_log();
    let effect = Effect::Status { status: 503, retry_after_secs: Some(1) };
    rig.proxy.set(Fault::inject(Route::Method("POST"), Some(1), effect));
    let report = sync(&rig.riley).await.expect("sync with a paced POST");
    rig.proxy.set(Fault::Pass);
    assert_eq!((report.sent, report.still_queued), (1, 0), "{report:?}");
    assert_paced(&rig.proxy.log(), Route::Method("POST"), 1, "POST");
    assert_eq!(rig.approvals_of(request["id"].as_str().unwrap()).await, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_network_only_slows_the_sync() {
    let rig = Rig::new(FAST).await;
    // What a sync asks for when nothing goes wrong.
    some_activity(&rig.server, "pass").await;
    rig.proxy.clear_log();
    sync(&rig.riley).await.expect("sync");
    let normal: Vec<String> = rig.proxy.log().into_iter().map(|l| l.path).collect();

    some_activity(&rig.server, "slow").await;
    rig.proxy.clear_log();
    rig.proxy.set(Fault::inject(Route::Any, None, Effect::Delay(300)));
    let started = Instant::now();
    let report = sync(&rig.riley).await.expect("a slow sync still succeeds");
    let elapsed = started.elapsed();
    rig.proxy.set(Fault::Pass);
    let log = rig.proxy.log();
    let slow: Vec<String> = log.iter().map(|l| l.path.clone()).collect();
    assert_eq!(slow, normal, "the same requests, none retried");
    assert!(log.iter().all(|l| l.faulted && l.status == 200 && l.answered - l.at >= Duration::from_millis(300)));
    assert!(elapsed >= Duration::from_millis(300) * log.len() as u32, "took {elapsed:?}");
    assert!(report.changes > 0 && report.events > 0, "{report:?}");
    assert_like_clean(&rig.server, &rig.path(), "delayed").await;
    eprintln!("{} requests delayed 300 ms each: sync took {elapsed:?}", log.len());
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_action_survives_a_failed_post_and_lands_exactly_once() {
    let rig = Rig::new(FAST).await;
    let post = Route::Method("POST");
    let effects = [
        Effect::Reset,
        // The server applied it; only its answer was lost.
        Effect::ResetAfterForward,
        Effect::Status { status: 500, retry_after_secs: None },
        Effect::Status { status: 503, retry_after_secs: None },
    ];
    for (round, effect) in effects.into_iter().enumerate() {
        // Within the attempts: sent in this very sync, once.
        let what = format!("{} x{} on the POST", describe(effect), FAST.attempts - 1);
        let (_, request) = rig.server.intake("olive", &manifest(&format!("post-{round}-a"), None, "medium")).await;
        let approval = request["id"].as_str().unwrap();
        sync(&rig.riley).await.expect("sync");
        rig.enqueue_approval(&request);
        rig.proxy.clear_log();
        rig.proxy.set(Fault::inject(post, Some(FAST.attempts - 1), effect));
        let report = sync(&rig.riley).await.unwrap_or_else(|err| panic!("{what}: {err}"));
        rig.proxy.set(Fault::Pass);
        assert_eq!((report.sent, report.still_queued), (1, 0), "{what}: {report:?}");
        assert_eq!(on_route(&rig.proxy.log(), post).len(), FAST.attempts as usize, "{what}");
        assert_eq!(rig.approvals_of(approval).await, 1, "{what}: applied once");
        assert_like_clean(&rig.server, &rig.path(), &what).await;

        // On every try: the sync goes on without it; it stays queued ...
        let what = format!("{} on every POST", describe(effect));
        let (_, request) = rig.server.intake("olive", &manifest(&format!("post-{round}-b"), None, "medium")).await;
        let approval = request["id"].as_str().unwrap();
        sync(&rig.riley).await.expect("sync");
        let action = rig.enqueue_approval(&request);
        rig.proxy.clear_log();
        rig.proxy.set(Fault::inject(post, None, effect));
        let report = sync(&rig.riley).await.unwrap_or_else(|err| panic!("{what}: {err}"));
        rig.proxy.set(Fault::Pass);
        assert_eq!((report.sent, report.still_queued), (0, 1), "{what}: {report:?}");
        assert_eq!(on_route(&rig.proxy.log(), post).len(), FAST.attempts as usize, "{what}");
        let row = Snapshot::read(&rig.path()).outbox.into_iter().find(|row| row.0 == action).unwrap();
        assert_eq!((row.1.as_str(), row.2), ("queued", 1), "{what}: one failed send recorded");
        let applied = usize::from(effect == Effect::ResetAfterForward);
        assert_eq!(rig.approvals_of(approval).await, applied, "{what}: applied before the answer was lost?");

        // ... and the next sync delivers it, once, whatever the server saw.
        rig.proxy.clear_log();
        let report = sync(&rig.riley).await.expect("sync once the network behaves");
        assert_eq!((report.sent, report.still_queued), (1, 0), "{what}: {report:?}");
        let row = Snapshot::read(&rig.path()).outbox.into_iter().find(|row| row.0 == action).unwrap();
        assert_eq!(row.1, "done", "{what}");
        assert_eq!(rig.approvals_of(approval).await, 1, "{what}: applied exactly once");
        assert_like_clean(&rig.server, &rig.path(), &what).await;
        rig.proxy.clear_log();
        let report = sync(&rig.riley).await.expect("sync");
        assert_eq!(report.sent, 0, "{what}: not sent again");
        assert!(on_route(&rig.proxy.log(), post).is_empty(), "{what}: no POST after delivery");
    }
    rig.stop().await;
}
