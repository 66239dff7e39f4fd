//! The offline action queue over real HTTP: an approval made while the
//! server is down waits in the outbox and is delivered exactly once when the
//! server is back (through the library and through the binary), and a
//! decision someone else made first comes back as a conflict that is shown,
//! never retried.

mod sync_support;

use chrono::Utc;
use govdeck::cache::outbox::{self, Action, ActionKind, ActionStatus};
use govdeck::sync::engine::{ActionOutcome, Syncer};
use serde_json::{Value, json};
use sync_support::{Caches, Cli, Server, View, manifest, sync, syncer};

/// Writes an approve (or reject) of `request_id` at `rev` to the outbox, as the console does.
fn enqueue_decision(syncer: &Syncer, kind: ActionKind, request_id: &str, rev: u64, comment: &str) -> Action {
    let decision = if kind == ActionKind::Approve { "approve" } else { "reject" };
    let body = json!({"decision": decision, "comment": comment, "rev": rev});
    let mut cache = syncer.cache.lock().unwrap();
    cache.write(|conn| outbox::enqueue(conn, kind, request_id, &body, Some(rev), Utc::now())).expect("enqueue")
}

fn outbox_row(syncer: &Syncer, id: i64) -> Action {
    outbox::get(syncer.cache.lock().unwrap().conn(), id).expect("outbox row")
}

/// The cached revision of a request.
fn cached_rev(syncer: &Syncer, request_id: &str) -> u64 {
    govdeck::cache::catalog::approval(syncer.cache.lock().unwrap().conn(), request_id).expect("cached request").rev
}

/// The server's `approval.approve` events for `request_id`.
async fn approve_events(server: &Server, request_id: &str) -> Vec<Value> {
    server
        .all_audit("riley")
        .await
        .into_iter()
        .filter(|e| e["action_type"] == "approval.approve" && e["approval_id"] == request_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_made_offline_is_delivered_once_when_the_server_is_back() {
    let mut server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let request_id = request["id"].as_str().unwrap().to_string();
    let caches = Caches::new();
    let riley = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    sync(&riley).await.expect("sync while online");
    let port = server.addr.port();

    server.stop().await;
    let rev = cached_rev(&riley, &request_id);
    let action = enqueue_decision(&riley, ActionKind::Approve, &request_id, rev, "approved on the train");
    let outcome = riley.send(&action).await.expect("send offline");
    assert!(matches!(&outcome, ActionOutcome::Queued(reason) if reason.contains("cannot reach")), "{outcome:?}");
    let queued = outbox_row(&riley, action.id);
    assert_eq!(queued.status, ActionStatus::Queued);
    assert_eq!(queued.attempts, 1);
    let err = sync(&riley).await.expect_err("a sync needs the server");
    assert!(err.is_offline(), "{err}");
    assert_eq!(outbox_row(&riley, action.id).status, ActionStatus::Queued, "still waiting");

    server.run().await;
    assert_eq!(server.addr.port(), port, "back on the same port");
    let report = sync(&riley).await.expect("sync when back");
    assert_eq!((report.sent, report.refused, report.still_queued), (1, 0, 0), "{report:?}");
    let done = outbox_row(&riley, action.id);
    assert_eq!(done.status, ActionStatus::Done);
    assert!(done.response.as_deref().is_some_and(|body| body.contains(&request_id)));
    let events = approve_events(&server, &request_id).await;
    assert_eq!(events.len(), 1, "delivered exactly once: {events:#?}");
    assert_eq!(events[0]["actor_id"], "riley");
    assert_eq!(events[0]["request_context"]["comment"], "approved on the train");
    let cached = View::of_cache(&caches.path("riley"));
    assert_eq!(cached.approvals[&request_id]["status"], "approved", "the cache shows the outcome");

    // The same action again, under the same key: the server replays its
    // first answer and records nothing twice.
    let again = riley.send(&action).await.expect("send again");
    assert!(matches!(again, ActionOutcome::Done(_)), "{again:?}");
    assert_eq!(approve_events(&server, &request_id).await.len(), 1, "no second event for a replay");
    let report = sync(&riley).await.expect("a later sync");
    assert_eq!(report.sent, 0, "nothing left to send");
    assert_eq!(approve_events(&server, &request_id).await.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_queues_offline_with_exit_5_and_sync_delivers_once() {
    let mut server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("desk-booking", None, "medium")).await;
    let request_id = request["id"].as_str().unwrap().to_string();
    let cli = Cli::new(&server.url(), &server.token("riley"));
    cli.run(&["sync"]).await.expect(0);

    server.stop().await;
    let run = cli.run(&["approve", &request_id, "--comment", "from the airport"]).await;
    run.expect(5);
    assert!(run.stderr.contains("queued"), "{}", run.stderr);
    let run = cli.run(&["approve", &request_id]).await;
    run.expect(5);
    assert!(run.stderr.contains("already queued"), "a second action on it is not queued: {}", run.stderr);

    server.run().await;
    let run = cli.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains("sent 1 actions"), "{}", run.stderr);
    let events = approve_events(&server, &request_id).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["request_context"]["comment"], "from the airport");
    cli.run(&["sync"]).await.expect(0);
    assert_eq!(approve_events(&server, &request_id).await.len(), 1);

    let conn = rusqlite::Connection::open(cli.cache_path()).unwrap();
    let rows: Vec<(String, i64)> = conn
        .prepare("SELECT status, attempts FROM outbox")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1, "one action in the outbox: {rows:?}");
    assert_eq!(rows[0].0, "done");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_someone_else_made_first_is_refused_and_never_retried() {
    let server = Server::start().await;
    let (_, medium) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let (_, high) = server.intake("olive", &manifest("sales-quoting", None, "high")).await;
    let medium_id = medium["id"].as_str().unwrap().to_string();
    let high_id = high["id"].as_str().unwrap().to_string();
    let caches = Caches::new();
    let riley = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let rosa = syncer(&server.url(), &server.token("rosa"), &caches.path("rosa"));
    sync(&riley).await.expect("riley syncs");
    sync(&rosa).await.expect("rosa syncs");

    // Rosa decides both first, from her console.
    for id in [&medium_id, &high_id] {
        let action = enqueue_decision(&rosa, ActionKind::Approve, id, cached_rev(&rosa, id), "");
        let outcome = rosa.send(&action).await.expect("rosa sends");
        assert!(matches!(outcome, ActionOutcome::Done(_)), "{outcome:?}");
    }

    // Riley, on the revisions he synced: the medium one is already
    // approved (409), the high one moved on to a new revision (412).
    let mut refused = Vec::new();
    for (id, status) in [(&medium_id, 409), (&high_id, 412)] {
        let action = enqueue_decision(&riley, ActionKind::Approve, id, cached_rev(&riley, id), "");
        match riley.send(&action).await.expect("riley sends") {
            ActionOutcome::Refused { status: got, code, message } => {
                assert_eq!(got, status, "{id}: {code} {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{id}: expected a refusal, got {other:?}"),
        }
        let row = outbox_row(&riley, action.id);
        assert_eq!(row.status, ActionStatus::Refused);
        assert_eq!(row.attempts, 1);
        assert!(row.message.is_some(), "the reason is kept to show");
        refused.push(row);
    }

    // Later flushes and syncs leave the refusals alone.
    assert!(riley.flush_outbox().await.expect("flush").is_empty(), "refused actions are not retried");
    let report = sync(&riley).await.expect("sync");
    assert_eq!((report.sent, report.refused, report.still_queued), (0, 0, 0));
    for row in &refused {
        assert_eq!(outbox_row(&riley, row.id), *row, "untouched by later flushes");
    }
    let shown = outbox::pending_and_refused(riley.cache.lock().unwrap().conn()).unwrap();
    assert_eq!(shown.len(), 2, "both refusals are there to be shown");
    for id in [&medium_id, &high_id] {
        let events = approve_events(&server, id).await;
        assert_eq!(events.len(), 1, "only rosa's approval: {events:#?}");
        assert_eq!(events[0]["actor_id"], "rosa");
    }
    let cached = View::of_cache(&caches.path("riley"));
    assert_eq!(cached.approvals[&medium_id]["status"], "approved");
    assert_eq!(cached.approvals[&high_id]["decisions"].as_array().unwrap().len(), 1);
}
