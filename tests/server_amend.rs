//! Amending a manifest (`PATCH /v1/apps/{id}`) and requesting changes
//! (`request_changes` on `POST /v1/approvals/{id}/decisions`) over real
//! HTTP: what applies at once and what is held, who may, in which state,
//! the audit events, idempotent replays and reused keys.

mod common;

use chrono::Duration;
use common::{Resp, TestServer, medium_manifest, ts};
use govdeck::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn patch(server: &TestServer, user: &str, app_id: &str, body: &Value, key: Option<&str>) -> Resp {
    server
        .send(Method::PATCH, Some(user), &format!("/v1/apps/{app_id}"), Some(body.to_string().into_bytes()), key)
        .await
}

/// Olive's live medium app (internal, 40 users, SaaS: 30), approved by riley.
async fn live_app(server: &TestServer, name: &str) -> Value {
    let (_, request) = server.intake("olive", &medium_manifest(name)).await;
    server.decide("riley", &request, "approve", "").await.expect(200);
    let app = server.app(request["app_id"].as_str().unwrap()).await;
    assert_eq!(app["state"], "active");
    app
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

fn rev(value: &Value) -> u64 {
    value["rev"].as_u64().unwrap()
}

async fn events_of(server: &TestServer, action: &str) -> Vec<Value> {
    server.all_audit("riley").await.into_iter().filter(|event| event["action_type"] == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_change_applies_at_once_and_is_recorded_field_by_field() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    let body = json!({"rev": rev(&app), "set": {"controls.sbom": true, "expected_users": 60, "purpose": "Holidays"}});
    let answer = patch(&server, "olive", &id(&app), &body, None).await.expect(200);
    assert_eq!(answer["outcome"], "applied");
    assert!(answer["approval"].is_null());
    assert_eq!(answer["app"]["version"], 2);
    assert_eq!(answer["app"]["controls"]["sbom"], true);
    assert_eq!(answer["app"]["risk"]["score"], 30, "re-scored: 60 users score as 40 did");
    assert_eq!(
        answer["changes"],
        json!([
            {"field": "purpose", "old": "Tracks team holidays", "new": "Holidays"},
            {"field": "expected_users", "old": 40, "new": 60},
            {"field": "controls.sbom", "old": false, "new": true},
        ])
    );
    let stored = server.app(&id(&app)).await;
    assert_eq!(stored["expected_users"], 60);
    assert_eq!(stored["rev"], answer["app"]["rev"]);

    let events = events_of(&server, "app.amend").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["actor_id"], "olive");
    assert_eq!(event["actor_role"], "owner");
    assert_eq!(event["app_id"], app["id"]);
    assert_eq!(event["version"], 2);
    assert_eq!(event["request_context"]["changes"], answer["changes"]);
    assert_eq!(event["request_context"]["applied"], "at_once");
    assert_eq!(event["request_context"]["rev"], app["rev"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_material_change_is_held_and_applied_on_approval() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    let body = json!({"rev": rev(&app), "set": {"data_classification": "pii", "controls": {"dlp": true}}});
    let answer = patch(&server, "olive", &id(&app), &body, None).await.expect(202);
    assert_eq!(answer["outcome"], "held");
    let request = answer["approval"].clone();
    assert_eq!(request["kind"], "change");
    assert_eq!(request["status"], "pending");
    assert_eq!(request["review_tier"], "high");
    assert_eq!(request["risk_score_at_time"], 70);
    assert_eq!(ts(&request["due_at"]), ts(&request["created_at"]) + Duration::hours(48));
    assert_eq!(request["changes"], answer["changes"]);
    // The app runs on its approved manifest meanwhile.
    let running = server.app(&id(&app)).await;
    assert_eq!(running["data_classification"], "internal");
    assert_eq!(running["version"], 1);
    assert_eq!(running["rev"], app["rev"]);
    let requested = events_of(&server, "approval.requested").await;
    let held = requested.iter().find(|e| e["approval_id"] == request["id"]).expect("approval.requested");
    assert_eq!(held["request_context"]["changes"], answer["changes"]);
    assert_eq!(held["request_context"]["kind"], "change");

    // A second material amendment is refused, naming the pending one; a small one applies.
    let again = json!({"rev": rev(&app), "set": {"external_connectivity": "external_api"}});
    let refused = patch(&server, "olive", &id(&app), &again, None).await;
    refused.expect_code(409, "change_pending");
    assert!(refused.text.contains(request["id"].as_str().unwrap()), "{}", refused.text);
    let small = json!({"rev": rev(&app), "set": {"controls.backups": true}});
    let applied = patch(&server, "olive", &id(&app), &small, None).await.expect(200);
    assert_eq!(applied["app"]["version"], 2);

    // High: two reviewers. The held change goes on the app as it is now.
    server.decide("riley", &request, "approve", "").await.expect(200);
    let once = server.approval(&id(&request)).await;
    let decided = server.decide("rosa", &once, "approve", "ok").await.expect(200);
    assert_eq!(decided["approval"]["status"], "approved");
    let after = server.app(&id(&app)).await;
    assert_eq!(after["data_classification"], "pii");
    assert_eq!(after["controls"]["dlp"], true);
    assert_eq!(after["controls"]["backups"], true, "the small change made meanwhile is kept");
    assert_eq!(after["version"], 3);
    assert_eq!(after["risk"]["tier"], "high");
    let amends = events_of(&server, "app.amend").await;
    let on_approval = amends.iter().find(|e| e["request_context"]["applied_from"] == request["id"]).expect("applied");
    assert_eq!(on_approval["actor_id"], "rosa");
    assert_eq!(on_approval["request_context"]["changes"], answer["changes"]);
    assert_eq!(on_approval["version"], 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_change_is_dropped() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    let body = json!({"rev": rev(&app), "set": {"execution_environment": "desktop_agent"}});
    let request = patch(&server, "olive", &id(&app), &body, None).await.expect(202)["approval"].clone();
    assert_eq!(request["review_tier"], "medium");
    server.decide("pat", &request, "reject", "no desktop agents here").await.expect(200);
    let after = server.app(&id(&app)).await;
    assert_eq!(after["execution_environment"], "sandboxed");
    assert_eq!(after["state"], "active");
    assert!(events_of(&server, "app.amend").await.is_empty());
    // Nothing pending any more: a new material amendment may be filed.
    patch(&server, "olive", &id(&app), &body, None).await.expect(202);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_revision_bad_fields_final_states() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    let stale = json!({"rev": rev(&app) - 1, "set": {"controls.sbom": true}});
    patch(&server, "olive", &id(&app), &stale, None).await.expect_code(412, "stale_revision");

    let bad = json!({"rev": rev(&app), "set": {"colour": "red", "expected_users": "many", "owner": "omar"}});
    let resp = patch(&server, "olive", &id(&app), &bad, None).await;
    resp.expect_code(400, "invalid_manifest");
    for named in ["colour", "expected_users", "owner"] {
        assert!(resp.text.contains(named), "{named} not named: {}", resp.text);
    }
    let same = json!({"rev": rev(&app), "set": {"controls.otel": true}});
    patch(&server, "olive", &id(&app), &same, None).await.expect_code(400, "no_change");
    let unknown_top = json!({"rev": rev(&app), "set": {}, "extra": 1});
    patch(&server, "olive", &id(&app), &unknown_top, None).await.expect_code(400, "bad_request");
    patch(&server, "olive", "app_nope", &same, None).await.expect_code(404, "not_found");

    let (_, request) = server.intake("olive", &medium_manifest("refused")).await;
    server.decide("riley", &request, "reject", "no").await.expect(200);
    let rejected = server.app(request["app_id"].as_str().unwrap()).await;
    let body = json!({"rev": rev(&rejected), "set": {"controls.sbom": true}});
    patch(&server, "olive", &id(&rejected), &body, None).await.expect_code(409, "final_state");

    // A new name must be free.
    let other = live_app(&server, "other").await;
    let rename = json!({"rev": rev(&other), "set": {"name": "holidays"}});
    patch(&server, "olive", &id(&other), &rename, None).await.expect_code(409, "name_taken");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_amend_and_request_changes() {
    let server = TestServer::start().await;
    server.add_user("audrey", &[Role::Auditor]);
    server.add_user("gate", &[Role::Platform]);
    // (user, PATCH on olive's live app, request_changes on olive's medium request)
    let matrix: &[(&str, u16, u16)] = &[
        ("riley", 403, 200),
        ("pat", 200, 200),
        ("olive", 200, 403),
        ("omar", 404, 404),
        ("ada", 404, 404),
        ("ingo", 404, 404),
        ("audrey", 403, 403),
        ("gate", 403, 403),
    ];
    for (user, amend_want, changes_want) in matrix {
        let app = live_app(&server, &format!("app-{user}")).await;
        let (_, request) = server.intake("olive", &medium_manifest(&format!("req-{user}"))).await;
        let head = server.head().await.0;
        let body = json!({"rev": rev(&app), "set": {"controls.sbom": true}});
        let resp = patch(&server, user, &id(&app), &body, None).await;
        assert_eq!(resp.status.as_u16(), *amend_want, "{user} PATCH: {}", resp.text);
        if *amend_want >= 400 {
            resp.expect_error(*amend_want);
            assert_eq!(server.head().await.0, head, "{user}: a refused amendment records nothing");
        }
        let head = server.head().await.0;
        let resp = server.decide(user, &request, "request_changes", "add an SBOM").await;
        assert_eq!(resp.status.as_u16(), *changes_want, "{user} request_changes: {}", resp.text);
        if *changes_want >= 400 {
            resp.expect_error(*changes_want);
            assert_eq!(server.head().await.0, head, "{user}: a refused request records nothing");
        } else {
            assert_eq!(server.head().await.0, head + 1);
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_amendment_is_applied_once_and_a_reused_key_is_refused() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    let body = json!({"rev": rev(&app), "set": {"controls.sbom": true}});
    let first = patch(&server, "olive", &id(&app), &body, Some("k-1")).await;
    let replay = patch(&server, "olive", &id(&app), &body, Some("k-1")).await;
    assert_eq!(first.expect(200), replay.expect(200));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(events_of(&server, "app.amend").await.len(), 1);
    let other = json!({"rev": rev(&app), "set": {"controls.dlp": true}});
    patch(&server, "olive", &id(&app), &other, Some("k-1")).await.expect_code(422, "idempotency_key_reused");

    // The same for a request for changes.
    let (_, request) = server.intake("olive", &medium_manifest("second")).await;
    let path = format!("/v1/approvals/{}/decisions", id(&request));
    let ask = json!({"decision": "request_changes", "comment": "add an SBOM", "rev": rev(&request)});
    let first = server.post_keyed("riley", &path, &ask, "k-2").await.expect(200);
    let replay = server.post_keyed("riley", &path, &ask, "k-2").await.expect(200);
    assert_eq!(first, replay);
    assert_eq!(events_of(&server, "approval.request_changes").await.len(), 1);
    let reject = json!({"decision": "reject", "comment": "no", "rev": rev(&request)});
    server.post_keyed("riley", &path, &reject, "k-2").await.expect_code(422, "idempotency_key_reused");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_requested_then_amended_returns_to_the_queue_with_a_new_sla() {
    let server = TestServer::start().await;
    let (app, request) = server.intake("olive", &medium_manifest("holidays")).await;
    server.decide("riley", &request, "request_changes", " ").await.expect_code(400, "reason_required");
    let asked =
        server.decide("riley", &request, "request_changes", "add an SBOM").await.expect(200)["approval"].clone();
    assert_eq!(asked["status"], "changes_requested");
    assert!(asked["decided_at"].is_null());
    let event = events_of(&server, "approval.request_changes").await.pop().expect("event");
    assert_eq!(event["actor_id"], "riley");
    assert_eq!(event["approval_id"], request["id"]);
    assert_eq!(event["request_context"]["comment"], "add an SBOM");
    assert_eq!(event["request_context"]["status"], "changes_requested");

    // Out of the reviewers' hands until the owner amends.
    server.decide("rosa", &asked, "approve", "").await.expect_code(409, "awaiting_changes");
    server.decide("rosa", &asked, "reject", "no").await.expect_code(409, "awaiting_changes");
    server.decide("rosa", &asked, "request_changes", "more").await.expect_code(409, "awaiting_changes");

    server.clock.advance(Duration::hours(100));
    let app = server.app(&id(&app)).await;
    let body = json!({"rev": rev(&app), "set": {"controls.sbom": true}});
    let answer = patch(&server, "olive", &id(&app), &body, None).await.expect(200);
    assert_eq!(answer["outcome"], "in_place");
    let back = answer["approval"].clone();
    assert_eq!(back["status"], "pending");
    assert!(rev(&back) > rev(&asked), "a new rev");
    assert_eq!(ts(&back["due_at"]), common::t0() + Duration::hours(100 + 72), "the SLA restarts");
    assert_eq!(answer["app"]["controls"]["sbom"], true);
    assert_eq!(answer["app"]["state"], "pending");
    let resubmitted = events_of(&server, "approval.resubmitted").await;
    assert_eq!(resubmitted.len(), 1);
    assert_eq!(resubmitted[0]["actor_id"], "olive");
    assert_eq!(resubmitted[0]["request_context"]["changes"], answer["changes"]);
    let amended = events_of(&server, "app.amend").await;
    assert_eq!(amended[0]["request_context"]["applied"], "under_review");

    server.decide("rosa", &back, "approve", "").await.expect(200);
    let live = server.app(&id(&app)).await;
    assert_eq!(live["state"], "active");
    assert_eq!(live["controls"]["sbom"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_app_amended_while_under_review_has_its_request_rescored() {
    let server = TestServer::start().await;
    let (app, request) = server.intake("olive", &medium_manifest("holidays")).await;
    let body = json!({"rev": rev(&app), "set": {"data_classification": "pii"}});
    let answer = patch(&server, "olive", &id(&app), &body, None).await.expect(200);
    assert_eq!(answer["outcome"], "in_place");
    let rescored = &answer["approval"];
    assert_eq!(rescored["id"], request["id"]);
    assert_eq!(rescored["status"], "pending");
    assert_eq!(rescored["risk_score_at_time"], 70);
    assert_eq!(rescored["review_tier"], "high");
    assert_eq!(rescored["due_at"], request["due_at"], "the SLA runs on while pending");
    // High now: a lead may no longer decide it.
    server.decide("pat", rescored, "approve", "").await.expect_code(403, "not_an_approver");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_request_stays_final() {
    let server = TestServer::start().await;
    let (_, request) = server.intake("olive", &medium_manifest("holidays")).await;
    let rejected = server.decide("riley", &request, "reject", "no").await.expect(200)["approval"].clone();
    server.decide("rosa", &rejected, "request_changes", "try again").await.expect_code(409, "already_decided");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_the_amend_route() {
    let server = TestServer::start().await;
    let doc = server.get("riley", "/v1/openapi.json").await.expect(200);
    let patch = &doc["paths"]["/v1/apps/{id}"]["patch"];
    for status in ["200", "202", "400", "401", "403", "404", "409", "412", "422"] {
        assert!(patch["responses"][status].is_object(), "{status} missing");
    }
    let decision = &doc["components"]["schemas"]["DecisionKind"];
    assert!(decision.to_string().contains("request_changes"), "{decision}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_sent_back_for_changes_returns_when_the_owner_amends() {
    let server = TestServer::start().await;
    let app = live_app(&server, "holidays").await;
    server.advance_days(366).await;
    server.advance_days(8).await;
    assert_eq!(server.app(&id(&app)).await["state"], "read_only");
    let request = server.renew("olive", &id(&app), &json!({})).await.expect(202)["approval"].clone();
    server.decide("riley", &request, "request_changes", "turn on backups first").await.expect(200);
    let app = server.app(&id(&app)).await;
    let body = json!({"rev": rev(&app), "set": {"controls.backups": true}});
    assert_eq!(patch(&server, "olive", &id(&app), &body, None).await.expect(200)["outcome"], "applied");
    let back = server.approval(&id(&request)).await;
    assert_eq!(back["status"], "pending");
    let resubmitted = events_of(&server, "approval.resubmitted").await;
    assert_eq!(resubmitted.len(), 1);
    assert_eq!(resubmitted[0]["approval_id"], request["id"]);
    assert_eq!(resubmitted[0]["request_context"]["kind"], "renewal");
    server.stop().await;
}
