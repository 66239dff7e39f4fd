//! The catalog server over real HTTP: who may call what (the role matrix and
//! authentication), intake and the risk rubric, bad input, and the OpenAPI
//! document.

mod common;

use chrono::Duration;
use common::{Resp, TestServer, design_example, low_manifest, medium_manifest, t0, ts};
use govdeck::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_needs_no_token() {
    let server = TestServer::start().await;
    let resp = server.send(Method::GET, None, "/v1/health", None, None).await;
    assert_eq!(resp.expect(200)["status"], "ok");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_names_the_caller_and_roles() {
    let server = TestServer::start().await;
    server.add_user("lena", &[Role::Lead, Role::Reviewer]);
    assert_eq!(server.get("olive", "/v1/me").await.expect(200), json!({"user": "olive", "roles": ["owner"]}));
    let lena = server.get("lena", "/v1/me").await.expect(200);
    assert_eq!(lena["user"], "lena");
    let mut roles: Vec<&str> = lena["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["lead", "reviewer"]);
    server.stop().await;
}

/// Every authenticated call, as `(method, path, body)`.
fn authenticated_calls(approval_id: &str, app_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/v1/me".into(), None),
        (Method::GET, "/v1/changes".into(), None),
        (Method::GET, "/v1/audit".into(), None),
        (Method::GET, "/v1/audit/head".into(), None),
        (Method::POST, "/v1/intake".into(), Some(medium_manifest("x"))),
        (
            Method::POST,
            format!("/v1/approvals/{approval_id}/decisions"),
            Some(json!({"decision": "approve", "rev": 1})),
        ),
        (Method::POST, format!("/v1/apps/{app_id}/renewals"), Some(json!({}))),
        (Method::POST, "/v1/audit/events".into(), Some(json!({"events": [{"action_type": "export"}]}))),
        (Method::GET, format!("/v1/apps/{app_id}/status"), None),
        (Method::GET, "/v1/status?endpoint=https://quotes.internal".into(), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bad_or_revoked_token_is_401_with_the_error_body() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let (app_id, approval_id) = (app["id"].as_str().unwrap(), approval["id"].as_str().unwrap());
    let head = server.head().await;
    server.add_user("gone", &[Role::Reviewer, Role::Lead, Role::Owner, Role::Ingest, Role::Admin]);
    let revoked = server.token("gone");
    server.revoke_user("gone");

    for (method, path, body) in authenticated_calls(approval_id, app_id) {
        let body = body.map(|b| b.to_string().into_bytes());
        let anonymous = server.send(method.clone(), None, &path, body.clone(), None).await;
        assert_eq!(anonymous.expect_error(401), "unauthorized", "{method} {path} without a token");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        for authorization in [
            format!("Bearer {revoked}"),
            "Bearer gd_0000000000000000000000000000000000000000000000000000000000000000".into(),
            "Bearer ".into(),
            format!("Basic {revoked}"),
            revoked.clone(),
        ] {
            let mut request =
                server.client.request(method.clone(), server.url(&path)).header("authorization", &authorization);
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.clone());
            }
            let resp = request.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{method} {path} with {authorization:?}");
            let error: Value = resp.json().await.unwrap();
            assert_eq!(error["error"]["code"], "unauthorized");
        }
    }
    assert_eq!(server.head().await, head, "refused calls record nothing");

    // A re-issued user's old token stays dead; the new one works.
    let fresh = server.add_user("gone", &[Role::Owner]);
    assert_ne!(fresh, revoked);
    let old = server.client.get(server.url("/v1/me")).bearer_auth(&revoked).send().await.unwrap();
    assert_eq!(old.status().as_u16(), 401);
    assert_eq!(server.get("gone", "/v1/me").await.expect(200)["roles"], json!(["owner"]));
    server.stop().await;
}

/// One row of the matrix: the user and the status expected from each of
/// me, changes, audit, audit/head, audit/checkpoints, intake, decision,
/// renewal, ingest, an app's status, an endpoint's status, an app's
/// evidence, reading the policy and applying one (the active one again,
/// which changes nothing).
const MATRIX: &[(&str, [u16; 14])] = &[
    ("riley", [200, 200, 200, 200, 200, 403, 200, 403, 403, 200, 200, 200, 200, 403]),
    ("pat", [200, 200, 200, 200, 200, 201, 200, 200, 403, 200, 200, 200, 200, 403]),
    ("olive", [200, 200, 200, 200, 200, 201, 403, 200, 403, 200, 200, 200, 200, 403]),
    ("ingo", [200, 403, 403, 200, 200, 403, 404, 404, 201, 403, 403, 403, 403, 403]),
    ("ada", [200, 200, 200, 200, 200, 201, 404, 404, 403, 404, 404, 404, 200, 200]),
    ("omar", [200, 200, 200, 200, 200, 201, 404, 404, 403, 404, 404, 404, 200, 403]),
    // Reads everything, changes nothing.
    ("audrey", [200, 200, 200, 200, 200, 403, 403, 403, 403, 200, 200, 200, 200, 403]),
    // Asks the status API and nothing else.
    ("gate", [403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 403, 403, 403]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix() {
    let server = TestServer::start().await;
    server.add_user("audrey", &[Role::Auditor]);
    server.add_user("gate", &[Role::Platform]);
    // Olive's live app, renewed by whoever may.
    let mut menu = low_manifest("menu", "supported", true);
    menu["endpoints"] = json!(["https://menu.apps.internal"]);
    let (live, none) = server.intake("olive", &menu).await;
    assert!(none.is_null());
    let live_id = live["id"].as_str().unwrap().to_string();

    for (user, expected) in MATRIX {
        // A fresh pending medium request of olive's per row, so one row's
        // approval does not decide the next row's cell.
        let (_, approval) = server.intake("olive", &medium_manifest(&format!("for-{user}"))).await;
        let approval_id = approval["id"].as_str().unwrap().to_string();
        let rev = approval["rev"].as_u64().unwrap();
        let calls: [(Method, String, Option<Value>); 14] = [
            (Method::GET, "/v1/me".into(), None),
            (Method::GET, "/v1/changes".into(), None),
            (Method::GET, "/v1/audit".into(), None),
            (Method::GET, "/v1/audit/head".into(), None),
            (Method::GET, "/v1/audit/checkpoints".into(), None),
            (Method::POST, "/v1/intake".into(), Some(medium_manifest(&format!("by-{user}")))),
            (
                Method::POST,
                format!("/v1/approvals/{approval_id}/decisions"),
                Some(json!({"decision": "approve", "comment": "ok", "rev": rev})),
            ),
            (Method::POST, format!("/v1/apps/{live_id}/renewals"), Some(json!({"days": 100}))),
            (
                Method::POST,
                "/v1/audit/events".into(),
                Some(json!({"events": [{"action_type": "export", "app_id": live_id}]})),
            ),
            (Method::GET, format!("/v1/apps/{live_id}/status"), None),
            (Method::GET, "/v1/status?endpoint=https://menu.apps.internal".into(), None),
            (Method::GET, format!("/v1/apps/{live_id}/evidence"), None),
            (Method::GET, "/v1/policy".into(), None),
            (Method::PUT, "/v1/policy".into(), Some(json!(govdeck::domain::policy::Policy::builtin().bundle()))),
        ];
        for ((method, path, body), want) in calls.into_iter().zip(expected) {
            let head_before = server.head().await.0;
            let resp =
                server.send(method.clone(), Some(user), &path, body.map(|b| b.to_string().into_bytes()), None).await;
            assert_eq!(resp.status.as_u16(), *want, "{user}: {method} {path}: {}", resp.text);
            let head_after = server.head().await.0;
            if path.contains("status") {
                // The status API answers `allowed: false` in its 404s too.
                if *want == 403 {
                    resp.expect_error(403);
                } else {
                    assert_eq!(resp.json()["allowed"], *want == 200, "{user}: {path}: {}", resp.text);
                }
                assert_eq!(head_after, head_before, "{user}: {path} is a read and records nothing");
            } else if *want >= 400 {
                resp.expect_error(*want);
                assert_eq!(head_after, head_before, "{user}: refused {method} {path} recorded an event");
            } else if method == Method::POST || path.ends_with("/evidence") {
                // Taking evidence away is on the record too (`evidence.export`).
                assert!(head_after > head_before, "{user}: {method} {path} recorded no event");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_may_not_decide_even_their_own_apps_request() {
    let server = TestServer::start().await;
    let (_, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    server.decide("olive", &approval, "approve", "").await.expect_code(403, "wrong_role");
    server.decide("ada", &approval, "approve", "").await.expect_code(404, "not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_of_the_design_example_files_a_high_review() {
    let server = TestServer::start().await;
    let resp = server.post("olive", "/v1/intake", &design_example()).await;
    let body = resp.expect(201);
    let (app, approval) = (&body["app"], &body["approval"]);
    assert!(app["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(app["name"], "sales-quoting");
    assert_eq!(app["owner"], "olive");
    assert_eq!(app["state"], "pending");
    assert!(app["expires_at"].is_null(), "no expiry before approval");
    // docs/api.md's intake example: its factors add up to 90 (an older design note said 80).
    assert_eq!(
        app["risk"],
        json!({"score": 90, "tier": "high", "factors": {"data": 50, "users": 20, "connectivity": 20, "environment": 0}})
    );
    assert_eq!(approval["app_id"], app["id"]);
    assert_eq!(approval["requested_by"], "olive");
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["kind"], "new_app");
    assert_eq!(approval["review_tier"], "high");
    assert_eq!(approval["risk_score_at_time"], 90);
    assert_eq!(approval["risk"]["factors"], app["risk"]["factors"]);
    assert_eq!(ts(&approval["due_at"]), t0() + Duration::hours(48));
    assert_eq!(approval["decisions"], json!([]));
    assert!(approval["rev"].as_u64().unwrap() > 0);

    let actions: Vec<Value> = server.all_audit("riley").await.iter().map(|e| e["action_type"].clone()).collect();
    assert_eq!(actions, [json!("app.registered"), json!("approval.requested")]);
    let changes = server.all_changes("olive").await;
    assert_eq!(changes.len(), 2, "the app and its request: {changes:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_risk_with_vault_and_otel_is_approved_by_policy() {
    let server = TestServer::start().await;
    let body = server.post("olive", "/v1/intake", &low_manifest("menu", "prototype", true)).await.expect(201);
    assert!(body["approval"].is_null(), "`approval: null` when auto-approved: {body}");
    let app = &body["app"];
    assert_eq!(app["state"], "active");
    assert_eq!(app["risk"]["tier"], "low");
    assert_eq!(app["risk"]["score"], 0);
    assert_eq!(ts(&app["expires_at"]), t0() + Duration::days(30), "prototype TTL is 30 days");

    let events = server.all_audit("olive").await;
    let auto = events.iter().find(|e| e["action_type"] == "approval.auto_approved").expect("auto-approval event");
    assert_eq!(auto["actor_id"], "policy");
    assert_eq!(auto["app_id"], app["id"]);
    assert!(server.all_changes("riley").await.iter().all(|item| item["kind"] == "app"), "no request filed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_risk_without_vault_or_otel_needs_medium_review() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &low_manifest("menu", "supported", false)).await;
    assert_eq!(app["state"], "pending");
    assert!(app["expires_at"].is_null());
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["review_tier"], "medium");
    assert_eq!(approval["risk_score_at_time"], 0);
    assert_eq!(ts(&approval["due_at"]), t0() + Duration::hours(72));

    // Only one of the two controls is not enough either.
    let mut half = low_manifest("menu-2", "supported", true);
    half["controls"]["otel"] = json!(false);
    let (_, approval) = server.intake("olive", &half).await;
    assert_eq!(approval["review_tier"], "medium");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_leads_and_admins_file_for_someone_else() {
    let server = TestServer::start().await;
    let head = server.head().await;
    let mut for_omar = medium_manifest("omar-app");
    for_omar["owner"] = json!("omar");
    server.post("olive", "/v1/intake", &for_omar).await.expect_code(403, "forbidden");
    assert_eq!(server.head().await, head);
    assert!(server.all_changes("riley").await.is_empty(), "nothing registered");

    let (app, approval) = server.intake("pat", &for_omar).await;
    assert_eq!(app["owner"], "omar");
    assert_eq!(approval["requested_by"], "pat");
    assert_eq!(approval["app_owner"], "omar");
    // Omar sees it, olive does not.
    assert_eq!(server.all_changes("omar").await.len(), 2);
    assert!(server.all_changes("olive").await.is_empty());

    // Another app for omar: another name, as two live apps never share one.
    let mut another_for_omar = medium_manifest("omar-app-2");
    another_for_omar["owner"] = json!("omar");
    let (app, _) = server.intake("ada", &another_for_omar).await;
    assert_eq!(app["owner"], "omar");

    // The owner must be a valid, active user: a problem of the manifest's
    // `owner`, listed in `problems` like every other.
    let head = server.head().await;
    for owner in ["not a user name!", "ghost", "gone"] {
        server.add_user("gone", &[Role::Owner]);
        server.revoke_user("gone");
        let mut bad_owner = for_omar.clone();
        bad_owner["owner"] = json!(owner);
        let resp = server.post("pat", "/v1/intake", &bad_owner).await;
        resp.expect_code(400, "invalid_manifest");
        assert_eq!(resp.json()["problems"][0]["field"], "owner", "{owner}: {}", resp.text);
    }
    assert_eq!(server.head().await, head);
    server.stop().await;
}

/// Intake bodies that must each be refused with a 400.
fn bad_intake_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let example = design_example();
    let mut wrong_type = example.clone();
    wrong_type["expected_users"] = json!("many");
    let mut negative = example.clone();
    negative["expected_users"] = json!(-5);
    let mut unknown_enum = example.clone();
    unknown_enum["data_classification"] = json!("secret");
    let mut unknown_field = example.clone();
    unknown_field["porpose"] = json!("typo");
    let mut unknown_control = example.clone();
    unknown_control["controls"]["firewall"] = json!(true);
    let mut missing = example.clone();
    missing.as_object_mut().unwrap().remove("data_classification");
    let mut huge_name = example.clone();
    huge_name["name"] = json!("n".repeat(10_000));
    let mut blank_name = example.clone();
    blank_name["name"] = json!("   ");
    let mut too_many = example.clone();
    too_many["connectors"] = json!(vec!["c"; 65]);
    let mut negative_budget = example.clone();
    negative_budget["monthly_budget"] = json!(-1);
    vec![
        ("invalid JSON", b"{\"name\": \"x\",".to_vec()),
        ("not an object", b"[1,2,3]".to_vec()),
        ("empty body", Vec::new()),
        ("not UTF-8", vec![0xff, 0xfe, 0x00]),
        ("wrong type", wrong_type.to_string().into_bytes()),
        ("negative count", negative.to_string().into_bytes()),
        ("unknown enum value", unknown_enum.to_string().into_bytes()),
        ("unknown field", unknown_field.to_string().into_bytes()),
        ("unknown control", unknown_control.to_string().into_bytes()),
        ("missing field", missing.to_string().into_bytes()),
        ("10k-char name", huge_name.to_string().into_bytes()),
        ("blank name", blank_name.to_string().into_bytes()),
        ("65 connectors", too_many.to_string().into_bytes()),
        ("negative budget", negative_budget.to_string().into_bytes()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_intake_is_a_400_and_writes_nothing() {
    let server = TestServer::start().await;
    let head = server.head().await;
    for (what, body) in bad_intake_bodies() {
        let resp = server.post_raw("olive", "/v1/intake", body).await;
        assert_eq!(resp.status.as_u16(), 400, "{what}: {}", resp.text);
        resp.expect_error(400);
        if what == "unknown enum value" {
            assert!(resp.text.contains("secret"), "the message names the bad value: {}", resp.text);
        }
        if what == "10k-char name" {
            assert!(resp.text.contains("name"), "the message names the field: {}", resp.text);
        }
    }
    assert_eq!(server.head().await, head);
    assert!(server.all_changes("riley").await.is_empty(), "no app registered");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_on_every_post() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let head = server.head().await;
    // Valid JSON just over 2 MiB: a manifest with a giant purpose.
    let mut big = medium_manifest("big");
    big["purpose"] = json!("p".repeat(2 * 1024 * 1024 + 10));
    let big = big.to_string().into_bytes();
    let paths = [
        ("olive", "/v1/intake".to_string()),
        ("riley", format!("/v1/approvals/{}/decisions", approval["id"].as_str().unwrap())),
        ("olive", format!("/v1/apps/{}/renewals", app["id"].as_str().unwrap())),
        ("ingo", "/v1/audit/events".to_string()),
    ];
    for (user, path) in paths {
        let resp = server.post_raw(user, &path, big.clone()).await;
        assert_eq!(resp.expect_error(413), "payload_too_large", "{path}");
    }
    assert_eq!(server.head().await, head);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_400_never_500() {
    let server = TestServer::start().await;
    server.intake("olive", &medium_manifest("holidays")).await;
    let head = server.head().await;
    for path in [
        "/v1/changes?limit=0",
        "/v1/audit?limit=0",
        "/v1/changes?limit=abc",
        "/v1/changes?since=-1",
        "/v1/changes?since=1e3",
        "/v1/changes?since=99999999999999999999999",
        "/v1/audit?after=x",
        "/v1/audit?limit=-3",
        "/v1/changes?bogus=1",
        "/v1/audit?since=1",
        "/v1/changes?limit=1&limit=2",
        "/v1/changes?%ff=%00",
    ] {
        let resp = server.get("riley", path).await;
        assert_eq!(resp.expect_error(400), "bad_request", "{path}");
    }
    // Huge limits are cut, not refused.
    let page = server.get("riley", "/v1/changes?limit=4000000000").await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(server.head().await, head);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_decision_and_renewal_bodies_are_4xx_and_write_nothing() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let (live, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let (approval_id, live_id) = (approval["id"].as_str().unwrap(), live["id"].as_str().unwrap());
    let rev = approval["rev"].as_u64().unwrap();
    let head = server.head().await;
    let decisions = format!("/v1/approvals/{approval_id}/decisions");
    for body in [
        "not json".to_string(),
        "{}".into(),
        json!({"decision": "maybe", "rev": rev}).to_string(),
        json!({"decision": "approve"}).to_string(),
        json!({"decision": "approve", "rev": "seven"}).to_string(),
        json!({"decision": "approve", "rev": -1}).to_string(),
        json!({"decision": "approve", "rev": rev, "extra": 1}).to_string(),
        json!({"decision": "approve", "rev": rev, "comment": "c".repeat(2001)}).to_string(),
        json!({"decision": "reject", "rev": rev}).to_string(),
    ] {
        let resp = server.post_raw("riley", &decisions, body.clone()).await;
        assert_eq!(resp.status.as_u16(), 400, "{body}: {}", resp.text);
        resp.expect_error(400);
    }
    let renewals = format!("/v1/apps/{live_id}/renewals");
    for body in
        ["[", r#"{"days":"ten"}"#, r#"{"days":10,"why":1}"#, r#"{"days":0}"#, r#"{"days":31}"#, r#"{"days":-1}"#]
    {
        let resp = server.post_raw("olive", &renewals, body).await;
        assert_eq!(resp.status.as_u16(), 400, "{body}: {}", resp.text);
        resp.expect_error(400);
    }
    // Unknown ids are 404s with the error body.
    server.decide_at("riley", "apr_nope", "approve", "", 1).await.expect_code(404, "not_found");
    server.renew("olive", "app_nope", &json!({})).await.expect_code(404, "not_found");
    // An unknown route and a wrong method answer in the same shape.
    server.get("riley", "/v1/nope").await.expect_code(404, "not_found");
    server.send(Method::DELETE, Some("riley"), "/v1/intake", None, None).await.expect_error(405);
    // A bad Idempotency-Key is refused before anything runs.
    let long_key = "k".repeat(201);
    server.post_keyed("olive", "/v1/intake", &medium_manifest("k"), &long_key).await.expect_error(400);

    assert_eq!(server.head().await, head);
    assert_eq!(server.approval(approval_id).await["status"], "pending");
    assert_eq!(server.app(app["id"].as_str().unwrap()).await["state"], "pending");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_call() {
    let server = TestServer::start().await;
    let resp: Resp = server.send(Method::GET, None, "/v1/openapi.json", None, None).await;
    let doc = resp.expect(200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "an OpenAPI 3 document");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/v1/health", "get"),
        ("/v1/me", "get"),
        ("/v1/changes", "get"),
        ("/v1/audit", "get"),
        ("/v1/audit/head", "get"),
        ("/v1/intake", "post"),
        ("/v1/approvals/{id}/decisions", "post"),
        ("/v1/apps/{id}/renewals", "post"),
        ("/v1/audit/events", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from {:?}",
            paths.keys()
        );
    }
    server.stop().await;
}
