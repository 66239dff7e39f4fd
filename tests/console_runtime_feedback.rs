//! What the console's runtime tells the UI, against the real server on
//! loopback: each sync's counts (`Event::Synced`), a refused token
//! (`Event::TokenRefused`), and a refused action dismissed from the outbox.

mod sync_support;

use std::time::Duration;

use govdeck::app::{Effect, Event, QueuedStatus, SyncSummary};
use govdeck::console::run_runtime;
use govdeck::domain::DecisionKind;
use sync_support::{Caches, Server, manifest, syncer};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(60);

/// The next event that `pick` takes, within [`LIMIT`].
async fn next<T>(events: &mut mpsc::UnboundedReceiver<Event>, pick: impl Fn(Event) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Ok(None) | Err(_) => panic!("the awaited event did not come"),
        }
    }
}

fn synced(event: Event) -> Option<SyncSummary> {
    match event {
        Event::Synced(summary) => Some(summary),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sync_reports_what_came() {
    let server = Server::start().await;
    server.intake("olive", &manifest("sales-quoting", None, "medium")).await;
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));

    let first = next(&mut events, synced).await;
    assert!(first.changes >= 2 && first.events >= 1, "the app and its request, and their events: {first:?}");
    effects_tx.send(Effect::SyncNow).unwrap();
    let second = next(&mut events, synced).await;
    assert_eq!(second, SyncSummary::default(), "nothing new: up to date");

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_reported_as_such() {
    let server = Server::start().await;
    let caches = Caches::new();
    let syncer = syncer(&server.url(), "not-a-token", &caches.path("nobody"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    next(&mut events, |event| matches!(event, Event::TokenRefused).then_some(())).await;
    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_action_dismissed_leaves_the_outbox() {
    let server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("sales-quoting", None, "medium")).await;
    let request_id = request["id"].as_str().unwrap().to_string();
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    next(&mut events, synced).await;

    // A decision on a revision that is not the request's: the server refuses it.
    let stale = request["rev"].as_u64().unwrap() + 100;
    effects_tx
        .send(Effect::Decide {
            approval_id: request_id.clone(),
            decision: DecisionKind::Approve,
            comment: String::new(),
            rev: stale,
        })
        .unwrap();
    let refused = next(&mut events, |event| match event {
        Event::Data(data) => data
            .outbox
            .iter()
            .find(|a| a.target_id == request_id && matches!(a.status, QueuedStatus::Failed(_)))
            .map(|a| a.id),
        _ => None,
    })
    .await;

    effects_tx.send(Effect::Dismiss { action_id: refused }).unwrap();
    next(&mut events, |event| match event {
        Event::Data(data) => data.outbox.iter().all(|a| a.id != refused).then_some(()),
        _ => None,
    })
    .await;

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_refused_because_it_was_made_elsewhere_brings_the_request_as_it_is() {
    let server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("sales-quoting", None, "high")).await;
    let request_id = request["id"].as_str().unwrap().to_string();
    let rev = request["rev"].as_u64().unwrap();
    let caches = Caches::new();
    let syncer = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    next(&mut events, synced).await;

    // riley approves from the CLI (straight to the server), then again from
    // the console, on the revision the console saw.
    let path = format!("/v1/approvals/{request_id}/decisions");
    let body = serde_json::json!({"decision": "approve", "comment": "", "rev": rev});
    let (status, answer) = server.post("riley", &path, &body).await;
    assert_eq!(status, 200, "{answer}");
    effects_tx
        .send(Effect::Decide {
            approval_id: request_id.clone(),
            decision: DecisionKind::Approve,
            comment: String::new(),
            rev,
        })
        .unwrap();
    // Without waiting for the next periodic sync, a snapshot holds both the
    // refusal and riley's decision, so the row can say "you approved".
    next(&mut events, |event| match event {
        Event::Data(data) => {
            let refused =
                data.outbox.iter().any(|a| a.target_id == request_id && matches!(a.status, QueuedStatus::Failed(_)));
            let decided =
                data.approvals.iter().any(|a| a.id == request_id && a.decisions.iter().any(|d| d.by == "riley"));
            (refused && decided).then_some(())
        }
        _ => None,
    })
    .await;

    effects_tx.send(Effect::Quit).unwrap();
    runtime.await.unwrap();
}
