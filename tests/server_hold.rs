//! Quarantine now, release and retirement over real HTTP: who may call them
//! (their rows of the role matrix), what each does to the app and its open
//! requests, the audit events, the hold that a renewal and the lifecycle job
//! leave alone, idempotent replay and a reused key.

mod common;

use common::{TestServer, low_manifest, medium_manifest};
use govdeck::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

fn done() -> Value {
    json!({"credentials_revoked": true, "data": "archived", "dependents_notified": true})
}

/// Olive's live, policy-approved app (supported: 365 days).
async fn live_app(server: &TestServer, name: &str) -> String {
    let (app, none) = server.intake("olive", &low_manifest(name, "supported", true)).await;
    assert!(none.is_null(), "approved by policy");
    app["id"].as_str().unwrap().to_string()
}

fn events_of<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|event| event["action_type"] == action).collect()
}

/// The status each role gets from quarantine, release and retirement of an
/// app it did not file: reviewer, lead, owner (own app), other owner, admin,
/// ingest, auditor, platform.
const MATRIX: &[(&str, [u16; 3])] = &[
    ("riley", [200, 200, 403]),
    ("pat", [200, 403, 200]),
    ("olive", [403, 403, 200]),
    ("omar", [403, 403, 404]),
    ("ada", [403, 403, 404]),
    ("ingo", [403, 403, 404]),
    ("audrey", [403, 403, 403]),
    ("gate", [403, 403, 403]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_of_quarantine_release_and_retirement() {
    let server = TestServer::start().await;
    server.add_user("audrey", &[Role::Auditor]);
    server.add_user("gate", &[Role::Platform]);
    for (user, expected) in MATRIX {
        let live = live_app(&server, &format!("for-{user}")).await;
        // Release is asked of an app a lead holds, so a refusal is the role's.
        let held = live_app(&server, &format!("held-for-{user}")).await;
        server.post("pat", &format!("/v1/apps/{held}/quarantine"), &json!({"reason": "leak"})).await.expect(200);
        let retiring = live_app(&server, &format!("retiring-for-{user}")).await;
        let calls = [
            (format!("/v1/apps/{live}/quarantine"), json!({"reason": "leak"})),
            (format!("/v1/apps/{held}/release"), json!({"reason": "fixed"})),
            (format!("/v1/apps/{retiring}/retirement"), json!({"reason": "done", "checklist": done()})),
        ];
        for ((path, body), want) in calls.into_iter().zip(expected) {
            let before = server.head().await.0;
            let resp = server.send(Method::POST, Some(user), &path, Some(body.to_string().into_bytes()), None).await;
            assert_eq!(resp.status.as_u16(), *want, "{user}: {path}: {}", resp.text);
            let after = server.head().await.0;
            if *want >= 400 {
                resp.expect_error(*want);
                assert_eq!(after, before, "{user}: refused {path} recorded an event");
            } else {
                assert!(after > before, "{user}: {path} recorded no event");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_holds_at_once_and_the_owners_renewal_does_not_lift_it() {
    let server = TestServer::start().await;
    let id = live_app(&server, "menu").await;
    let app = server.post("riley", &format!("/v1/apps/{id}/quarantine"), &json!({"reason": "key in a log"})).await;
    let app = app.expect(200)["app"].clone();
    assert_eq!(app["state"], "quarantined");
    assert_eq!(app["hold"]["by"], "riley");
    assert_eq!(app["hold"]["reason"], "key in a log");
    assert_eq!(app["hold"]["previous_state"], "active");

    let events = server.all_audit("riley").await;
    let held = events_of(&events, "app.quarantine");
    assert_eq!(held.len(), 1);
    assert_eq!((held[0]["actor_id"].as_str(), held[0]["app_id"].as_str()), (Some("riley"), Some(id.as_str())));
    assert_eq!(held[0]["request_context"], json!({"reason": "key in a log", "previous_state": "active"}));

    // Renewal does not lift it, and says who holds it and why.
    let refused = server.renew("olive", &id, &json!({})).await;
    refused.expect_code(409, "held");
    let message = refused.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("riley") && message.contains("key in a log") && message.contains("reviewer"), "{message}");
    // Nor a second hold.
    server
        .post("pat", &format!("/v1/apps/{id}/quarantine"), &json!({"reason": "again"}))
        .await
        .expect_code(409, "held");
    // A reason is required.
    let other = live_app(&server, "other").await;
    let path = format!("/v1/apps/{other}/quarantine");
    server.post("riley", &path, &json!({"reason": " "})).await.expect_code(400, "reason_required");
    server.post("riley", &path, &json!({})).await.expect_error(400);
    server.post("riley", &path, &json!({"reason": "x".repeat(2001)})).await.expect_code(400, "reason_too_long");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_job_leaves_a_held_app_where_it_is() {
    let server = TestServer::start().await;
    let id = live_app(&server, "menu").await;
    server.post("pat", &format!("/v1/apps/{id}/quarantine"), &json!({"reason": "leak"})).await.expect(200);
    server.advance_days(400).await;
    let app = server.app(&id).await;
    assert_eq!(app["state"], "quarantined", "7 days of quarantine would have made it read-only: {app}");
    assert_eq!(app["hold"]["by"], "pat");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_returns_the_app_to_the_state_its_ttl_gives_it() {
    let server = TestServer::start().await;
    let id = live_app(&server, "menu").await;
    let other = live_app(&server, "lapsing").await;
    for app in [&id, &other] {
        server.post("riley", &format!("/v1/apps/{app}/quarantine"), &json!({"reason": "leak"})).await.expect(200);
    }
    server
        .post("pat", &format!("/v1/apps/{id}/release"), &json!({"reason": "fixed"}))
        .await
        .expect_code(403, "forbidden");
    let live = live_app(&server, "never-held").await;
    server
        .post("riley", &format!("/v1/apps/{live}/release"), &json!({"reason": "x"}))
        .await
        .expect_code(409, "not_held");

    server.advance_days(10).await;
    let back = server.post("rosa", &format!("/v1/apps/{id}/release"), &json!({"reason": "rotated"})).await;
    let back = back.expect(200)["app"].clone();
    assert_eq!(back["state"], "active");
    assert!(back.get("hold").is_none(), "hold cleared: {back}");
    let events = server.all_audit("riley").await;
    let release = events_of(&events, "app.release");
    assert_eq!(release.len(), 1);
    assert_eq!(release[0]["actor_id"], "rosa");
    assert_eq!(release[0]["request_context"]["reason"], "rotated");
    assert_eq!(release[0]["request_context"]["state"], "active");
    assert_eq!(release[0]["request_context"]["held_by"], "riley");

    // Its TTL (365 days) ran out during the hold: quarantined at the expiry,
    // read-only 7 days on (day 372); now is day 375.
    server.advance_days(365).await;
    let back = server.post("rosa", &format!("/v1/apps/{other}/release"), &json!({"reason": "fixed"})).await;
    assert_eq!(back.expect(200)["app"]["state"], "read_only");
    // Released and lapsed, the ladder moves it on from there.
    server.advance_days(30).await;
    assert_eq!(server.app(&other).await["state"], "decommissioned");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retirement_walks_the_checklist_and_closes_open_requests() {
    let server = TestServer::start().await;
    // A pending app with its intake request.
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let (id, approval_id) = (app["id"].as_str().unwrap().to_string(), approval["id"].as_str().unwrap().to_string());
    let path = format!("/v1/apps/{id}/retirement");
    for (item, body) in [
        ("credentials_revoked", json!({"credentials_revoked": false, "data": "deleted", "dependents_notified": true})),
        ("dependents_notified", json!({"credentials_revoked": true, "data": "deleted", "dependents_notified": false})),
    ] {
        let resp = server.post("olive", &path, &json!({"reason": "done", "checklist": body})).await;
        resp.expect_code(400, "checklist_incomplete");
        assert!(resp.text.contains(item), "{}", resp.text);
    }
    let bad = json!({"reason": "done", "checklist": {"credentials_revoked": true, "dependents_notified": true}});
    server.post("olive", &path, &bad).await.expect_error(400);

    let checklist = json!({"credentials_revoked": true, "data": "deleted", "dependents_notified": true});
    let retired = server.post("olive", &path, &json!({"reason": "project cancelled", "checklist": checklist})).await;
    assert_eq!(retired.expect(200)["app"]["state"], "decommissioned");
    let request = server.approval(&approval_id).await;
    assert_eq!(request["status"], "closed");
    assert_eq!(request["closed"]["by"], "olive");

    let events = server.all_audit("riley").await;
    let retire = events_of(&events, "app.retire");
    assert_eq!(retire.len(), 1);
    let context = &retire[0]["request_context"];
    assert_eq!(context["reason"], "project cancelled");
    assert_eq!(context["checklist"], checklist);
    assert_eq!(context["retention_days"], 0);
    assert_eq!(context["previous_state"], "pending");
    assert_eq!(context["closed_requests"], json!([approval_id]));
    let closed = events_of(&events, "approval.closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(
        (closed[0]["actor_id"].as_str(), closed[0]["approval_id"].as_str()),
        (Some("olive"), Some(approval_id.as_str()))
    );

    // Final: a second retirement, a quarantine and an approval are refused.
    let again = json!({"reason": "again", "checklist": done()});
    server.post("olive", &path, &again).await.expect_code(409, "final_state");
    server.decide_at("riley", &approval_id, "approve", "", request["rev"].as_u64().unwrap()).await.expect_error(409);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_closes_the_pending_requests_of_an_app_it_decommissions() {
    let server = TestServer::start().await;
    let (app, none) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    assert!(none.is_null());
    let id = app["id"].as_str().unwrap().to_string();
    server.advance_days(38).await; // 30 days of TTL, 7 of quarantine: read-only.
    assert_eq!(server.app(&id).await["state"], "read_only");
    let filed = server.renew("olive", &id, &json!({})).await.expect(202)["approval"].clone();
    let approval_id = filed["id"].as_str().unwrap().to_string();
    server.advance_days(31).await;
    assert_eq!(server.app(&id).await["state"], "decommissioned");
    let request = server.approval(&approval_id).await;
    assert_eq!(request["status"], "closed");
    assert_eq!(request["closed"]["by"], "policy");
    let events = server.all_audit("riley").await;
    let closed = events_of(&events, "approval.closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["actor_id"], "policy");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_the_caller_may_not_read_is_404() {
    let server = TestServer::start().await;
    let id = live_app(&server, "menu").await;
    let retire = json!({"reason": "mine now", "checklist": done()});
    server.post("omar", &format!("/v1/apps/{id}/retirement"), &retire).await.expect_code(404, "not_found");
    for verb in ["quarantine", "release"] {
        let resp = server.post("riley", &format!("/v1/apps/app_nope/{verb}"), &json!({"reason": "x"})).await;
        resp.expect_code(404, "not_found");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_call_replays_and_a_reused_key_is_422() {
    let server = TestServer::start().await;
    let id = live_app(&server, "menu").await;
    let body = json!({"reason": "leak"});
    let path = format!("/v1/apps/{id}/quarantine");
    let first = server.post_keyed("riley", &path, &body, "k-1").await;
    let again = server.post_keyed("riley", &path, &body, "k-1").await;
    assert_eq!(first.expect(200), again.expect(200));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let events = server.all_audit("riley").await;
    assert_eq!(events_of(&events, "app.quarantine").len(), 1, "one event for the replay");
    server
        .post_keyed("riley", &path, &json!({"reason": "other"}), "k-1")
        .await
        .expect_code(422, "idempotency_key_reused");

    let release = format!("/v1/apps/{id}/release");
    let first = server.post_keyed("riley", &release, &json!({"reason": "ok"}), "k-2").await;
    let again = server.post_keyed("riley", &release, &json!({"reason": "ok"}), "k-2").await;
    assert_eq!(first.expect(200), again.expect(200));

    let retire = format!("/v1/apps/{id}/retirement");
    let body = json!({"reason": "done", "checklist": done()});
    let first = server.post_keyed("olive", &retire, &body, "k-3").await;
    let again = server.post_keyed("olive", &retire, &body, "k-3").await;
    assert_eq!(first.expect(200), again.expect(200));
    let events = server.all_audit("riley").await;
    assert_eq!(events_of(&events, "app.release").len(), 1);
    assert_eq!(events_of(&events, "app.retire").len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_has_the_three_routes() {
    let server = TestServer::start().await;
    let doc = server.send(Method::GET, None, "/v1/openapi.json", None, None).await.expect(200);
    for (path, codes) in [
        ("/v1/apps/{id}/quarantine", ["200", "400", "403", "404", "409", "422"]),
        ("/v1/apps/{id}/release", ["200", "400", "403", "404", "409", "422"]),
        ("/v1/apps/{id}/retirement", ["200", "400", "403", "404", "409", "422"]),
    ] {
        let responses = &doc["paths"][path]["post"]["responses"];
        for code in codes {
            assert!(responses[code].is_object(), "{path} {code}: {responses}");
        }
    }
    assert!(doc["components"]["schemas"]["ExitChecklist"].is_object());
    server.stop().await;
}
