//! Sync against a misbehaving network or server: 429 with `Retry-After`
//! (honoured, never retried sooner), a body cut short (the cache is left
//! exactly as it was), and a server whose audit history was rewritten under
//! the cache (detected, the cache untouched, `govdeck sync` exits 7).

mod sync_support;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use govdeck::cache::outbox::{self, ActionKind};
use govdeck::domain::AuditEvent;
use govdeck::domain::api::AuditHead;
use govdeck::domain::audit::GENESIS_HASH;
use govdeck::store::{self, Store};
use govdeck::sync::client::ClientError;
use govdeck::sync::engine::{ActionOutcome, SyncError};
use govdeck::sync::plan::HistoryError;
use serde_json::json;
use sync_support::proxy::{Fault, Proxy};
use sync_support::{Caches, Cli, Server, Snapshot, View, manifest, runtime_event, sync, syncer};

/// A few apps, requests, decisions and runtime events.
async fn some_activity(server: &Server, tag: &str) {
    let (app, request) = server.intake("olive", &manifest(&format!("{tag}-quoting"), None, "high")).await;
    server.decide("riley", &request, "approve", "first").await;
    let (_, request) = server.intake("omar", &manifest(&format!("{tag}-roster"), None, "medium")).await;
    server.decide("pat", &request, "approve", "").await;
    server.intake("olive", &manifest(&format!("{tag}-menu"), None, "low")).await;
    let id = app["id"].as_str().unwrap();
    server.ingest(&[runtime_event(id, "data.export"), runtime_event(id, "dlp.block")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_no_sooner_than_retry_after() {
    let server = Server::start().await;
    some_activity(&server, "a").await;
    let proxy = Proxy::start(&server.url()).await;
    let caches = Caches::new();
    let riley = syncer(&proxy.url, &server.token("riley"), &caches.path("riley"));

    proxy.set(Fault::Busy { count: 2, retry_after_secs: 1 });
    let started = Instant::now();
    let report = sync(&riley).await.expect("sync succeeds after the 429s");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "two Retry-After: 1 waits, took {elapsed:?}");
    assert!(report.changes > 0 && report.events > 0);
    assert_eq!(View::of_cache(&caches.path("riley")), server.view("riley").await);

    let log = proxy.log();
    assert_eq!(log.iter().filter(|l| l.status == 429).count(), 2, "{log:#?}");
    for pair in log.windows(2) {
        if pair[0].status == 429 {
            let gap = pair[1].at - pair[0].at;
            assert!(gap >= Duration::from_secs(1), "a retry came {gap:?} after a 429 with Retry-After: 1");
        }
    }
    eprintln!("sync through two 429s took {elapsed:?}");

    // A queued action goes through a 429 too, and lands once.
    let (_, request) = server.intake("olive", &manifest("after-the-429", None, "medium")).await;
    sync(&riley).await.expect("sync");
    let id = request["id"].as_str().unwrap();
    let body = json!({"decision": "approve", "comment": "", "rev": request["rev"]});
    let action = riley
        .cache
        .lock()
        .unwrap()
        .write(|conn| outbox::enqueue(conn, ActionKind::Approve, id, &body, request["rev"].as_u64(), Utc::now()))
        .unwrap();
    proxy.clear_log();
    proxy.set(Fault::Busy { count: 1, retry_after_secs: 1 });
    let started = Instant::now();
    let outcome = riley.send(&action).await.expect("send");
    assert!(matches!(outcome, ActionOutcome::Done(_)), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let log = proxy.log();
    assert_eq!(log.len(), 2, "the 429 and one retry: {log:#?}");
    assert!(log[1].at - log[0].at >= Duration::from_secs(1));
    let approvals = server
        .all_audit("riley")
        .await
        .into_iter()
        .filter(|e| e["action_type"] == "approval.approve" && e["approval_id"] == id)
        .count();
    assert_eq!(approvals, 1);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_leaves_the_cache_as_it_was() {
    let server = Server::start().await;
    some_activity(&server, "a").await;
    let proxy = Proxy::start(&server.url()).await;
    let caches = Caches::new();
    let path = caches.path("riley");
    let riley = syncer(&proxy.url, &server.token("riley"), &path);
    sync(&riley).await.expect("first sync through the proxy");
    some_activity(&server, "b").await;

    let before = Snapshot::read(&path);
    for fault in [Fault::HalfJson { path: "/v1/changes", skip: 0 }, Fault::ShortBody { path: "/v1/changes", skip: 0 }] {
        proxy.clear_log();
        proxy.set(fault.clone());
        let err = sync(&riley).await.expect_err("a cut body fails the sync");
        assert!(matches!(&err, SyncError::Client(ClientError::Malformed { .. })), "{fault:?}: {err:?}");
        assert!(!err.is_offline());
        let after = Snapshot::read(&path);
        assert_eq!(after, before, "{fault:?}: the cache changed: {} vs {}", after.summary(), before.summary());
        let cut = proxy.log().iter().filter(|l| l.faulted).count();
        assert_eq!(cut, 1, "{fault:?}: one cut answer, not retried");
        eprintln!("{fault:?}: {err}; cache still {}", after.summary());
    }

    // A cut audit page (the first `/v1/audit` call, the check of the
    // verified head, goes through): the catalog pages before it were applied
    // whole, the audit log and its head are as they were.
    for fault in [Fault::HalfJson { path: "/v1/audit", skip: 1 }, Fault::ShortBody { path: "/v1/audit", skip: 1 }] {
        proxy.clear_log();
        proxy.set(fault.clone());
        let err = sync(&riley).await.expect_err("a cut audit page fails the sync");
        assert!(matches!(&err, SyncError::Client(ClientError::Malformed { .. })), "{fault:?}: {err:?}");
        let cut: Vec<_> = proxy.log().into_iter().filter(|l| l.faulted).collect();
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!(cut[0].path, "/v1/audit");
        let after = Snapshot::read(&path);
        assert_eq!(after.audit, before.audit, "{fault:?}");
        assert_eq!(after.head(), before.head(), "{fault:?}");
        assert_eq!(View::of_cache(&path), server.view("riley").await, "the catalog pages were applied whole");
    }

    proxy.set(Fault::Pass);
    sync(&riley).await.expect("sync once the network behaves");
    assert_eq!(View::of_cache(&path), server.view("riley").await);
    let after = Snapshot::read(&path);
    assert_eq!(after.head(), server.head().await);
    assert_eq!(after.audit.len() as u64, server.head().await.0);
    proxy.stop().await;
}

/// Rewrites the server's audit log from `from_seq` on, consistently: the
/// event at `from_seq` is edited and every hash after it recomputed, the
/// head moved, so the server's own `audit verify` still passes.
fn rewrite_history(db: &Path, from_seq: u64) {
    let mut store = Store::open(db).unwrap();
    store
        .write(|conn| {
            let sql = format!("SELECT {} FROM audit WHERE seq >= ?1 ORDER BY seq", store::audit::COLUMNS);
            let events: Vec<AuditEvent> =
                conn.prepare(&sql)?.query_map([from_seq as i64], store::audit::from_row)?.collect::<Result<_, _>>()?;
            let mut prev: String = if from_seq == 1 {
                GENESIS_HASH.to_string()
            } else {
                conn.query_row("SELECT hash FROM audit WHERE seq = ?1", [from_seq as i64 - 1], |r| r.get(0))?
            };
            conn.execute("DELETE FROM audit WHERE seq >= ?1", [from_seq as i64])?;
            let mut last = from_seq - 1;
            for (index, mut event) in events.into_iter().enumerate() {
                if index == 0 {
                    event.actor_id = "mallory".into();
                    event.request_context = json!({"comment": "nothing to see here"});
                }
                event.prev_hash = prev;
                event.hash = event.compute_hash();
                prev = event.hash.clone();
                last = event.seq;
                store::audit::insert(conn, &event)?;
            }
            store::audit::set_head(conn, &AuditHead { seq: last, hash: prev })?;
            Ok::<_, store::StoreError>(())
        })
        .unwrap();
    let report = store::audit::verify(store.conn()).unwrap();
    assert_eq!(report.result, Ok(()), "the rewrite is consistent: the server cannot tell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_server_history_is_detected_and_the_cache_left_alone() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    let caches = Caches::new();
    let riley = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let olive = syncer(&server.url(), &server.token("olive"), &caches.path("olive"));
    sync(&riley).await.expect("riley syncs");
    sync(&olive).await.expect("olive syncs");
    let cli = Cli::new(&server.url(), &server.token("riley"));
    cli.run(&["sync"]).await.expect(0);
    let before = [&caches.path("riley"), &caches.path("olive"), &cli.cache_path()].map(|p| Snapshot::read(p));

    server.stop().await;
    rewrite_history(&server.db_path, 3);
    server.run().await;

    // The head itself differs: caught before anything is pulled.
    let err = sync(&riley).await.expect_err("a rewritten history is refused");
    assert!(matches!(err, SyncError::History(HistoryError::HeadChanged { .. })), "{err:?}");
    assert!(err.to_string().contains("rewritten"), "{err}");
    assert_eq!(Snapshot::read(&caches.path("riley")), before[0]);
    let run = cli.run(&["sync"]).await;
    run.expect(7);
    assert!(run.stderr.contains("rewritten"), "{}", run.stderr);
    assert_eq!(Snapshot::read(&cli.cache_path()), before[2]);

    // New activity after the rewrite: the new events chain onto the forged
    // ones, so the heads no longer line up by seq. Still refused, and the
    // new catalog entries must not reach the cache either.
    some_activity(&server, "b").await;
    let err = sync(&riley).await.expect_err("still refused after new activity");
    assert!(matches!(err, SyncError::History(_)), "{err:?}");
    let after = Snapshot::read(&caches.path("riley"));
    assert_eq!(after, before[0], "the cache changed: {} vs {}", after.summary(), before[0].summary());
    let run = cli.run(&["sync"]).await;
    run.expect(7);
    assert!(run.stderr.contains("rewritten"), "{}", run.stderr);
    assert_eq!(Snapshot::read(&cli.cache_path()), before[2]);

    // An owner's cache holds only some events but still knows the hash of
    // its newest one, which the rewrite changed.
    let err = sync(&olive).await.expect_err("an owner's cache notices too");
    assert!(matches!(err, SyncError::History(_)), "{err:?}");
    assert_eq!(Snapshot::read(&caches.path("olive")), before[1]);
    server.stop().await;
}
