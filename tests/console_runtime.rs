//! The console's runtime against the real server on loopback: it sends the
//! whole cache once at start, then a new snapshot only when a sync changed
//! the cache, so an idle console re-reads nothing.

mod sync_support;

use std::time::Duration;

use govdeck::app::{Effect, Event};
use govdeck::console::run_runtime;
use sync_support::{Caches, Server, manifest, syncer};
use tokio::sync::mpsc;

/// Counts the syncs finished and the snapshots sent until `done` holds for
/// them or `limit` passes.
async fn watch(
    events: &mut mpsc::UnboundedReceiver<Event>,
    limit: Duration,
    done: impl Fn(usize, usize) -> bool,
) -> (usize, usize) {
    let (mut syncs, mut data) = (0, 0);
    let deadline = tokio::time::Instant::now() + limit;
    while !done(syncs, data) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Data(_))) => data += 1,
            Ok(Some(Event::Sync(status))) if !status.syncing => {
                assert_eq!(status.error, None);
                syncs += 1;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    (syncs, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_syncs_send_no_snapshot_and_a_change_sends_one() {
    let server = Server::start().await;
    server.intake("olive", &manifest("sales-quoting", None, "medium")).await;
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_millis(100)));
    let long = Duration::from_secs(60);

    // Start: the (empty) cache, then the first sync brings the catalog.
    let (syncs, data) = watch(&mut events, long, |_, data| data >= 2).await;
    assert_eq!((syncs, data), (1, 2), "one snapshot at start and one for the first sync's changes");

    // Nothing changes on the server: five more syncs, no snapshot.
    let (syncs, data) = watch(&mut events, long, |syncs, _| syncs >= 5).await;
    assert_eq!((syncs, data), (5, 0), "idle syncs re-read nothing");

    // A change on the server: one new snapshot, then quiet again.
    server.intake("omar", &manifest("shift-roster", None, "medium")).await;
    let (_, data) = watch(&mut events, long, |_, data| data >= 1).await;
    assert_eq!(data, 1, "the sync that brought the change sends a snapshot");
    let (syncs, data) = watch(&mut events, long, |syncs, _| syncs >= 3).await;
    assert_eq!((syncs, data), (3, 0));

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_is_read_whole_from_the_cache_on_request() {
    let server = Server::start().await;
    let (app, request) = server.intake("olive", &manifest("sales-quoting", None, "medium")).await;
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    let (_, data) = watch(&mut events, Duration::from_secs(60), |_, data| data >= 2).await;
    assert_eq!(data, 2);

    let app_id = app["id"].as_str().unwrap().to_string();
    effects_tx.send(Effect::LoadDetail { app_id: app_id.clone() }).unwrap();
    let detail = loop {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await.unwrap() {
            Some(Event::Detail(detail)) => break detail,
            Some(_) => continue,
            None => panic!("the runtime stopped"),
        }
    };
    assert_eq!(detail.app.id, app_id);
    assert_eq!(detail.app.sponsor, app["sponsor"].as_str().unwrap());
    let ids: Vec<&str> = detail.requests.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [request["id"].as_str().unwrap()]);
    assert!(detail.events.iter().all(|e| e.app_id.as_deref() == Some(app_id.as_str())));
    assert!(!detail.events.is_empty(), "the intake's events");

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_filter_is_answered_from_the_whole_cache() {
    use govdeck::domain::audit_query::AuditQuery;
    let server = Server::start().await;
    let (app, _) = server.intake("olive", &manifest("sales-quoting", None, "medium")).await;
    server.intake("omar", &manifest("shift-roster", None, "medium")).await;
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    // The snapshot says how many events the cache holds.
    let mut total = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while total == 0 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Data(data))) => total = data.audit_total,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no snapshot with events"),
        }
    }
    assert!(total >= 2, "{total} events");

    // Typed fast: three queries; the answer to the newest names the app by its name.
    for (id, text) in [(1, "s"), (2, "sales"), (3, "app:sales-quoting")] {
        let query = AuditQuery { id, text: text.into(), outcome: None, before_seq: None, limit: 50 };
        effects_tx.send(Effect::QueryAudit(query)).unwrap();
    }
    let page = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::AuditPage(page))) if page.query.id == 3 => break page,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no answer to the newest query"),
        }
    };
    let app_id = app["id"].as_str().unwrap();
    assert!(!page.events.is_empty() && !page.more);
    assert!(page.events.iter().all(|e| e.app_id.as_deref() == Some(app_id)), "{:?}", page.events);
    assert!(page.events.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}
