//! Production access requests, withdrawal and transfer of ownership over
//! real HTTP: the role matrix of the three routes, their happy paths and
//! refusals, idempotent replay, the audit events, and what an owner's sync
//! and audit read before and after a transfer.

mod common;

use common::{TestServer, low_manifest, medium_manifest};
use govdeck::clock::Clock as _;
use govdeck::domain::Role;
use govdeck::store::{Store, admin};
use reqwest::Method;
use serde_json::{Value, json};

fn access_path(app_id: &str) -> String {
    format!("/v1/apps/{app_id}/access-requests")
}

fn withdrawal_path(approval_id: &str) -> String {
    format!("/v1/approvals/{approval_id}/withdrawal")
}

fn owner_path(app_id: &str) -> String {
    format!("/v1/apps/{app_id}/owner")
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}")).to_string()
}

/// A live (auto-approved) app of `owner`'s, with a staging environment.
async fn live_app(server: &TestServer, owner: &str, name: &str) -> Value {
    let mut manifest = low_manifest(name, "supported", true);
    manifest["environments"] = json!(["staging"]);
    let (app, approval) = server.intake(owner, &manifest).await;
    assert!(approval.is_null(), "low risk with vault and OTel is approved by policy");
    assert_eq!(app["state"], "active");
    app
}

/// Events whose `action_type` is `action` that `user` reads.
async fn events_of(server: &TestServer, user: &str, action: &str) -> Vec<Value> {
    server.all_audit(user).await.into_iter().filter(|event| event["action_type"] == action).collect()
}

/// The user and the status expected from request-access, withdrawal and
/// transfer on olive's live app (and a pending request olive filed for it).
const MATRIX: &[(&str, [u16; 3])] = &[
    ("riley", [403, 403, 403]),
    ("pat", [201, 403, 200]),
    ("olive", [201, 200, 403]),
    ("omar", [404, 404, 403]),
    ("ada", [404, 404, 200]),
    ("ingo", [404, 404, 403]),
    ("audrey", [403, 403, 403]),
    ("gate", [403, 403, 403]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_of_access_withdrawal_and_transfer() {
    let server = TestServer::start().await;
    server.add_user("audrey", &[Role::Auditor]);
    server.add_user("gate", &[Role::Platform]);
    let shared = live_app(&server, "olive", "shared").await;
    for (user, expected) in MATRIX {
        // Fresh targets per row, so one row's success does not decide the next.
        let pending = server
            .post("olive", &access_path(&id(&shared)), &json!({"environment": format!("for-{user}"), "reason": "r"}))
            .await
            .expect(201)["approval"]
            .clone();
        let movable = live_app(&server, "olive", &format!("movable-{user}")).await;
        let calls = [
            (access_path(&id(&shared)), json!({"environment": format!("by-{user}"), "reason": "launch"})),
            (withdrawal_path(&id(&pending)), json!({"reason": "not needed"})),
            (owner_path(&id(&movable)), json!({"to": "omar", "reason": "team change"})),
        ];
        for ((path, body), want) in calls.into_iter().zip(expected) {
            let before = server.head().await.0;
            let resp = server.send(Method::POST, Some(user), &path, Some(body.to_string().into_bytes()), None).await;
            assert_eq!(resp.status.as_u16(), *want, "{user}: POST {path}: {}", resp.text);
            let after = server.head().await.0;
            if *want >= 400 {
                resp.expect_error(*want);
                assert_eq!(after, before, "{user}: refused POST {path} recorded an event");
            } else {
                assert!(after > before, "{user}: POST {path} recorded no event");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_request_is_reviewed_at_the_apps_tier_and_approval_adds_the_environment() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    assert_eq!(app["risk"]["tier"], "low");
    let body = json!({"environment": "production", "reason": "launch for the whole site"});
    let request = server.post("olive", &access_path(&id(&app)), &body).await.expect(201)["approval"].clone();
    assert_eq!(request["kind"], "production_access");
    assert_eq!(request["status"], "pending");
    assert_eq!(request["environment"], "production");
    assert_eq!(request["reason"], "launch for the whole site");
    assert_eq!(request["requested_by"], "olive");
    assert_eq!(request["review_tier"], "medium", "low risk is reviewed as medium, as a renewal is");

    let requested = events_of(&server, "riley", "approval.requested").await;
    let event = requested.iter().find(|e| e["approval_id"] == request["id"]).expect("approval.requested");
    assert_eq!(event["actor_id"], "olive");
    assert_eq!(event["app_id"], app["id"]);
    assert_eq!(event["environment"], "production");
    assert_eq!(event["request_context"]["environment"], "production");
    assert_eq!(event["request_context"]["reason"], "launch for the whole site");
    assert_eq!(event["request_context"]["kind"], "production_access");

    let decided = server.decide("riley", &request, "approve", "ok").await.expect(200);
    assert_eq!(decided["approval"]["status"], "approved");
    let app_now = server.app(&id(&app)).await;
    assert_eq!(app_now["environments"], json!(["staging", "production"]));
    let granted = events_of(&server, "olive", "app.production_access_granted").await;
    assert_eq!(granted.len(), 1, "{granted:#?}");
    assert_eq!(granted[0]["environment"], "production");
    assert_eq!(granted[0]["request_context"]["environment"], "production");
    assert_eq!(granted[0]["approval_id"], request["id"]);

    // Now it has production: asking again is a conflict.
    server.post("olive", &access_path(&id(&app)), &body).await.expect_code(409, "already_granted");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_requests_are_refused_for_a_held_environment_a_second_request_or_an_app_not_live() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    let path = access_path(&id(&app));
    server
        .post("olive", &path, &json!({"environment": "staging", "reason": "x"}))
        .await
        .expect_code(409, "already_granted");
    let first = server.post("olive", &path, &json!({"environment": "production", "reason": "x"})).await.expect(201);
    let first_id = id(&first["approval"]);
    let resp = server.post("pat", &path, &json!({"environment": "production", "reason": "again"})).await;
    resp.expect_code(409, "already_pending");
    assert!(resp.text.contains(&first_id), "the refusal names the pending request: {}", resp.text);
    // Another environment is its own request.
    server.post("olive", &path, &json!({"environment": "eu-prod", "reason": "x"})).await.expect(201);

    server
        .post("olive", &path, &json!({"environment": "Prod Env", "reason": "x"}))
        .await
        .expect_code(400, "bad_request");
    server
        .post("olive", &path, &json!({"environment": "dr", "reason": "  "}))
        .await
        .expect_code(400, "reason_required");
    server
        .post("olive", &path, &json!({"environment": "dr", "reason": "x".repeat(2001)}))
        .await
        .expect_code(400, "reason_too_long");
    server.post("olive", &path, &json!({"environment": "dr"})).await.expect_error(400);

    let (pending, _) = server.intake("olive", &medium_manifest("holidays")).await;
    server
        .post("olive", &access_path(&id(&pending)), &json!({"environment": "production", "reason": "x"}))
        .await
        .expect_code(409, "not_live");
    server
        .post("olive", &access_path("app_nope"), &json!({"environment": "production", "reason": "x"}))
        .await
        .expect_code(404, "not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_writes_answer_the_same_once_and_a_reused_key_is_422() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    let body = json!({"environment": "production", "reason": "launch"});
    let first = server.post_keyed("olive", &access_path(&id(&app)), &body, "k-access").await;
    let again = server.post_keyed("olive", &access_path(&id(&app)), &body, "k-access").await;
    assert_eq!(first.expect(201), again.expect(201), "the replay is the first answer");
    assert_eq!(events_of(&server, "riley", "approval.requested").await.len(), 1);
    let other = json!({"environment": "eu-prod", "reason": "launch"});
    server.post_keyed("olive", &access_path(&id(&app)), &other, "k-access").await.expect_error(422);

    let request = id(&first.json()["approval"]);
    let withdrawal = json!({"reason": "too early"});
    let first = server.post_keyed("olive", &withdrawal_path(&request), &withdrawal, "k-withdraw").await;
    let again = server.post_keyed("olive", &withdrawal_path(&request), &withdrawal, "k-withdraw").await;
    assert_eq!(first.expect(200), again.expect(200));
    assert_eq!(events_of(&server, "riley", "approval.withdrawn").await.len(), 1);
    server.post_keyed("olive", &withdrawal_path(&request), &json!({}), "k-withdraw").await.expect_error(422);

    let transfer = json!({"to": "omar", "reason": "team change"});
    let first = server.post_keyed("pat", &owner_path(&id(&app)), &transfer, "k-transfer").await;
    let again = server.post_keyed("pat", &owner_path(&id(&app)), &transfer, "k-transfer").await;
    assert_eq!(first.expect(200), again.expect(200));
    assert_eq!(events_of(&server, "riley", "app.transfer").await.len(), 1);
    let elsewhere = json!({"to": "olive", "reason": "team change"});
    server.post_keyed("pat", &owner_path(&id(&app)), &elsewhere, "k-transfer").await.expect_error(422);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_request_is_final_and_a_decided_one_cannot_be_withdrawn() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    let filed = server
        .post("pat", &access_path(&id(&app)), &json!({"environment": "production", "reason": "x"}))
        .await
        .expect(201)["approval"]
        .clone();
    // The requester (pat, a lead) withdraws; the owner could too.
    let answer = server.post("pat", &withdrawal_path(&id(&filed)), &json!({"reason": "wrong app"})).await.expect(200);
    assert_eq!(answer["approval"]["status"], "withdrawn");
    assert_eq!(answer["approval"]["withdrawn_by"], "pat");
    assert!(answer.get("app").is_none(), "an access request leaves the app as it is: {answer}");
    let events = events_of(&server, "olive", "approval.withdrawn").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], "pat");
    assert_eq!(events[0]["approval_id"], filed["id"]);
    assert_eq!(events[0]["request_context"]["reason"], "wrong app");
    assert_eq!(events[0]["request_context"]["kind"], "production_access");
    server.post("olive", &withdrawal_path(&id(&filed)), &json!({})).await.expect_code(409, "already_withdrawn");
    server.decide("riley", &answer["approval"], "approve", "").await.expect_code(409, "already_decided");

    // A decided request stays final; an empty body is a withdrawal without a reason.
    let (_, intake) = server.intake("olive", &medium_manifest("holidays")).await;
    server.decide("riley", &intake, "approve", "").await.expect(200);
    let resp = server.send(Method::POST, Some("olive"), &withdrawal_path(&id(&intake)), None, None).await;
    resp.expect_code(409, "final_state");
    server.post("olive", &withdrawal_path("apr_nope"), &json!({})).await.expect_code(404, "not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_intake_decommissions_the_pending_app_and_frees_its_name() {
    let server = TestServer::start().await;
    let (app, intake) = server.intake("olive", &medium_manifest("holidays")).await;
    server.post("olive", "/v1/intake", &medium_manifest("holidays")).await.expect_code(409, "name_taken");
    let answer = server.post("olive", &withdrawal_path(&id(&intake)), &json!({"reason": "filed twice"})).await;
    let answer = answer.expect(200);
    assert_eq!(answer["approval"]["status"], "withdrawn");
    assert_eq!(answer["app"]["state"], "decommissioned");
    assert_eq!(server.app(&id(&app)).await["state"], "decommissioned");
    let events = events_of(&server, "olive", "app.withdrawn").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["app_id"], app["id"]);
    assert_eq!(events[0]["request_context"]["previous_state"], "pending");
    let withdrawn = events_of(&server, "olive", "approval.withdrawn").await;
    assert_eq!(withdrawn[0]["request_context"]["app_state"], "decommissioned");
    // The name is free again.
    server.post("olive", "/v1/intake", &medium_manifest("holidays")).await.expect(201);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_moves_the_app_and_its_requests_between_the_owners_syncs() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    let request = server
        .post("olive", &access_path(&id(&app)), &json!({"environment": "production", "reason": "x"}))
        .await
        .expect(201)["approval"]
        .clone();
    let olive_before = server.get("olive", "/v1/changes").await.expect(200)["next"].as_u64().unwrap();
    let omar_before = server.get("omar", "/v1/changes").await.expect(200)["next"].as_u64().unwrap();

    let moved = server
        .post("pat", &owner_path(&id(&app)), &json!({"to": "omar", "reason": "olive moved teams"}))
        .await
        .expect(200)["app"]
        .clone();
    assert_eq!(moved["owner"], "omar");

    // Olive's sync: a delete of the app and of its request.
    let olive = server.get("olive", &format!("/v1/changes?since={olive_before}")).await.expect(200);
    let mut ops: Vec<(String, String, String)> = olive["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["kind"].to_string(), item["id"].to_string(), item["op"].to_string()))
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            ("\"app\"".into(), app["id"].to_string(), "\"delete\"".into()),
            ("\"approval\"".into(), request["id"].to_string(), "\"delete\"".into()),
        ]
    );
    // Omar's: both, upserted, under his name.
    let omar = server.get("omar", &format!("/v1/changes?since={omar_before}")).await.expect(200);
    let items = omar["items"].as_array().unwrap();
    assert!(items.iter().all(|item| item["op"] == "upsert"), "{items:#?}");
    let app_item = items.iter().find(|item| item["kind"] == "app").expect("the app reaches omar");
    assert_eq!(app_item["data"]["owner"], "omar");
    let request_item = items.iter().find(|item| item["kind"] == "approval").expect("its request reaches omar");
    assert_eq!(request_item["data"]["app_owner"], "omar");

    // Both see the transfer; only the new owner sees what follows.
    for user in ["olive", "omar", "riley"] {
        let transfers = events_of(&server, user, "app.transfer").await;
        assert_eq!(transfers.len(), 1, "{user}: {transfers:#?}");
        let context = &transfers[0]["request_context"];
        assert_eq!(context, &json!({"from": "olive", "to": "omar", "reason": "olive moved teams"}), "{user}");
        assert_eq!(transfers[0]["actor_id"], "pat");
    }
    server.renew("omar", &id(&app), &json!({})).await.expect(200);
    assert_eq!(events_of(&server, "omar", "app.renewed").await.len(), 1);
    assert!(events_of(&server, "olive", "app.renewed").await.is_empty(), "olive sees nothing after the transfer");
    assert!(
        server.all_audit("olive").await.iter().all(|e| e["app_id"] != app["id"] || e["action_type"] == "app.transfer"),
        "olive reads no other event of the app she no longer owns"
    );
    // The inclusion proofs follow the same rule as the events.
    let proofs = server.get("olive", "/v1/audit/proof/inclusions").await.expect(200);
    let seqs: Vec<u64> = proofs["proofs"].as_array().unwrap().iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    let olive_seqs: Vec<u64> = server.all_audit("olive").await.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, olive_seqs);

    // Olive filed the request, so she may still withdraw it, though she no longer reads it.
    server.post("olive", &withdrawal_path(&id(&request)), &json!({})).await.expect(200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_needs_an_active_user_who_may_own_a_reason_and_a_new_owner() {
    let server = TestServer::start().await;
    let app = live_app(&server, "olive", "menu").await;
    let path = owner_path(&id(&app));
    server.add_user("gone", &[Role::Owner]);
    server.revoke_user("gone");
    for (to, code) in
        [("gone", "unknown_user"), ("nobody", "unknown_user"), ("ingo", "may_not_own"), ("", "unknown_user")]
    {
        server.post("pat", &path, &json!({"to": to, "reason": "x"})).await.expect_code(400, code);
    }
    server.post("pat", &path, &json!({"to": "olive", "reason": "x"})).await.expect_code(409, "same_owner");
    server.post("pat", &path, &json!({"to": "omar", "reason": " "})).await.expect_code(400, "reason_required");
    server.post("pat", &path, &json!({"to": "omar"})).await.expect_error(400);
    server
        .post("pat", &owner_path("app_nope"), &json!({"to": "omar", "reason": "x"}))
        .await
        .expect_code(404, "not_found");
    // A lead may own apps too.
    server.post("ada", &path, &json!({"to": "pat", "reason": "interim"})).await.expect(200);

    let (pending, intake) = server.intake("olive", &medium_manifest("holidays")).await;
    server.post("olive", &withdrawal_path(&id(&intake)), &json!({})).await.expect(200);
    server
        .post("pat", &owner_path(&id(&pending)), &json!({"to": "omar", "reason": "x"}))
        .await
        .expect_code(409, "final_state");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_owner_flags_their_live_apps_until_a_transfer() {
    let server = TestServer::start().await;
    let live = live_app(&server, "omar", "menu").await;
    let (pending, _) = server.intake("omar", &medium_manifest("holidays")).await;
    let ownerless = {
        let mut store = Store::open(&server.db_path).unwrap();
        store
            .write(|conn| admin::revoke_user(conn, &admin::Admin::local(), "omar", server.clock.now()))
            .unwrap()
            .expect("omar was active")
    };
    assert_eq!(ownerless.iter().map(|app| app.id.clone()).collect::<Vec<_>>(), [id(&live)]);
    assert_eq!(server.app(&id(&live)).await["flags"], json!(["owner_revoked"]));
    assert_eq!(server.app(&id(&pending)).await["flags"], json!([]), "a pending app is left to its review");
    let revoked = events_of(&server, "riley", "user.revoke").await;
    assert_eq!(revoked[0]["request_context"]["ownerless_apps"], json!([{"id": live["id"], "name": "menu"}]));
    assert_eq!(events_of(&server, "riley", "app.owner_revoked").await.len(), 1);

    let moved = server.post("pat", &owner_path(&id(&live)), &json!({"to": "olive", "reason": "omar left"})).await;
    assert_eq!(moved.expect(200)["app"]["flags"], json!([]), "the transfer clears the flag");
    server.stop().await;
}
