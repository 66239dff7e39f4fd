//! One `Idempotency-Key` sent 100 times, ten waves of ten concurrent copies,
//! on each state-changing call: exactly one side effect, the same status and
//! body byte for byte for all 100, 99 of them marked as replays, and a
//! different body under the same key refused with a 422 that changes nothing.

mod common;

use std::sync::Arc;

use common::{TestServer, low_manifest, medium_manifest};
use futures_util::future::join_all;
use serde_json::{Value, json};

const WAVES: usize = 10;
const PER_WAVE: usize = 10;

/// Sends `body` to `path` as `user` under `key`, `WAVES` waves of
/// `PER_WAVE` concurrent copies; returns every (status, replayed, body).
async fn hammer(server: &Arc<TestServer>, user: &str, path: &str, body: &Value, key: &str) -> Vec<(u16, bool, String)> {
    let mut answers = Vec::with_capacity(WAVES * PER_WAVE);
    for _ in 0..WAVES {
        let wave = (0..PER_WAVE).map(|_| {
            let (server, user, path, body, key) =
                (Arc::clone(server), user.to_string(), path.to_string(), body.clone(), key.to_string());
            tokio::spawn(async move {
                let resp = server.post_keyed(&user, &path, &body, &key).await;
                (resp.status.as_u16(), resp.header("idempotent-replayed") == Some("true"), resp.text)
            })
        });
        for answer in join_all(wave).await {
            answers.push(answer.expect("request task"));
        }
    }
    answers
}

/// Asserts one first answer with `status` and 99 identical replays of it; returns its body.
fn one_answer_replayed(answers: &[(u16, bool, String)], status: u16) -> Value {
    assert_eq!(answers.len(), WAVES * PER_WAVE);
    let (first_status, _, first_body) = &answers[0];
    for (n, (status, _, body)) in answers.iter().enumerate() {
        assert_eq!((status, body), (first_status, first_body), "answer {n} differs from the first");
    }
    assert_eq!(*first_status, status, "{first_body}");
    let fresh = answers.iter().filter(|(_, replayed, _)| !replayed).count();
    assert_eq!(fresh, 1, "exactly one request ran; the other 99 were replays");
    serde_json::from_str(first_body).unwrap()
}

/// Events appended after `after`, as a reviewer reads them.
async fn events_after(server: &TestServer, after: u64) -> Vec<Value> {
    server.all_audit("riley").await.into_iter().filter(|event| event["seq"].as_u64().unwrap() > after).collect()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events.iter().map(|event| event["action_type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_sent_a_hundred_times_has_one_effect() {
    let server = Arc::new(TestServer::start().await);

    // Intake: one app and one request, two events.
    let (before, _) = server.head().await;
    let manifest = medium_manifest("holidays");
    let answers = hammer(&server, "olive", "/v1/intake", &manifest, "intake-key").await;
    let filed = one_answer_replayed(&answers, 201);
    let events = events_after(&server, before).await;
    assert_eq!(actions(&events), ["app.registered", "approval.requested"]);
    let olives = server.all_changes("olive").await;
    assert_eq!(olives.len(), 2, "one app and one request: {olives:?}");
    let approval = filed["approval"].clone();
    let approval_id = approval["id"].as_str().unwrap().to_string();

    // Decision: one decision on the request, one approve and one activation event.
    let (before, _) = server.head().await;
    let path = format!("/v1/approvals/{approval_id}/decisions");
    let decision = json!({"decision": "approve", "comment": "fine", "rev": approval["rev"]});
    let answers = hammer(&server, "riley", &path, &decision, "decision-key").await;
    let decided = one_answer_replayed(&answers, 200);
    assert_eq!(decided["approval"]["decisions"].as_array().unwrap().len(), 1);
    let events = events_after(&server, before).await;
    assert_eq!(actions(&events), ["approval.approve", "app.activated"]);
    let stored = server.approval(&approval_id).await;
    assert_eq!(stored["decisions"].as_array().unwrap().len(), 1, "one decision: {stored}");
    assert_eq!(stored["rev"], decided["approval"]["rev"]);

    // Renewal: one extension, one event.
    let (live, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let live_id = live["id"].as_str().unwrap();
    server.clock.advance(chrono::Duration::days(3));
    let (before, _) = server.head().await;
    let path = format!("/v1/apps/{live_id}/renewals");
    let answers = hammer(&server, "olive", &path, &json!({"days": 20}), "renewal-key").await;
    let renewed = one_answer_replayed(&answers, 200);
    let events = events_after(&server, before).await;
    assert_eq!(actions(&events), ["app.renewed"]);
    assert_eq!(server.app(live_id).await["expires_at"], renewed["app"]["expires_at"]);
    assert_eq!(server.app(live_id).await["version"], renewed["app"]["version"], "saved once");

    // Ingest: the events land once.
    let (before, _) = server.head().await;
    let batch = json!({"events": [{"action_type": "export", "app_id": live_id}, {"action_type": "dlp.block"}]});
    let answers = hammer(&server, "ingo", "/v1/audit/events", &batch, "ingest-key").await;
    let ingested = one_answer_replayed(&answers, 201);
    assert_eq!(actions(&events_after(&server, before).await), ["export", "dlp.block"]);

    // The same key with a different body, on each route: 422 and nothing
    // recorded; the key still replays its first answer to the first body.
    let head = server.head().await;
    let changes = server.all_changes("riley").await.len();
    let decisions = format!("/v1/approvals/{approval_id}/decisions");
    let renewals = format!("/v1/apps/{live_id}/renewals");
    let other_decision = json!({"decision": "approve", "comment": "other", "rev": approval["rev"]});
    let other_batch = json!({"events": [{"action_type": "export"}]});
    for (user, path, key, original, other, first) in [
        ("olive", "/v1/intake", "intake-key", &manifest, &medium_manifest("other"), &filed),
        ("riley", decisions.as_str(), "decision-key", &decision, &other_decision, &decided),
        ("olive", renewals.as_str(), "renewal-key", &json!({"days": 20}), &json!({"days": 21}), &renewed),
        ("ingo", "/v1/audit/events", "ingest-key", &batch, &other_batch, &ingested),
    ] {
        server.post_keyed(user, path, other, key).await.expect_code(422, "idempotency_key_reused");
        assert_eq!(server.head().await, head, "{path}: a refused reuse records nothing");
        let replay = server.post_keyed(user, path, original, key).await;
        assert_eq!(replay.header("idempotent-replayed"), Some("true"), "{path}");
        assert_eq!(&replay.json(), first, "{path}: the first answer, still");
    }
    assert_eq!(server.head().await, head);
    assert_eq!(server.all_changes("riley").await.len(), changes, "nothing new to sync");

    let server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("no task still holds the server"));
    server.stop().await;
}
