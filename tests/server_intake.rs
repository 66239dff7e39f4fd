//! Intake's dry run, intake's refusal with every problem, and the adoption
//! of a discovered app, over real HTTP against the real server: who may,
//! what is written (and, for a dry run, that nothing is), the audit events,
//! idempotent replay and the coverage KPI.

mod common;

use common::{TestServer, design_example, low_manifest, medium_manifest, t0, ts};
use govdeck::domain::app::AppSummary;
use govdeck::domain::{App, Approval, Role};
use govdeck::import::mapping;
use govdeck::store::{Store, apps};
use reqwest::Method;
use serde_json::{Value, json};

/// A discovered app imported from Backstage, owned (as imported) by `owner`.
fn discover(server: &TestServer, name: &str, owner: &str) -> String {
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "etag": format!("etag-{name}"),
            "description": "Found by the import"},
        "spec": {"type": "service", "lifecycle": "production", "owner": format!("user:{owner}")},
    });
    let mapped = mapping::map_entity(&entity).expect("maps");
    let id = format!("app_disc_{name}");
    let mut app = mapped.new_app(id.clone(), t0());
    let mut store = Store::open(&server.db_path).expect("open the store");
    store.write(|conn| apps::save(conn, &mut app)).expect("save the discovered app");
    id
}

/// A reviewed manifest for the discovered app `name`: medium risk, no owner named.
fn reviewed(name: &str) -> Value {
    let mut manifest = medium_manifest(name);
    manifest["purpose"] = json!("Reviewed: books meeting rooms");
    manifest
}

fn events_of(events: &[Value], action: &str) -> Vec<Value> {
    events.iter().filter(|e| e["action_type"] == action).cloned().collect()
}

async fn dry(server: &TestServer, user: &str, path: &str, body: &Value) -> common::Resp {
    let sep = if path.contains('?') { '&' } else { '?' };
    server.post(user, &format!("{path}{sep}dry_run=true"), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_answers_the_score_tier_and_review_and_writes_nothing() {
    let server = TestServer::start().await;
    let head = server.head().await;
    let body = dry(&server, "olive", "/v1/intake", &design_example()).await.expect(200);
    assert_eq!(body["valid"], true);
    assert_eq!(body["problems"], json!([]));
    assert_eq!(body["risk"]["score"], 90);
    assert_eq!(body["risk"]["factors"], json!({"data": 50, "users": 20, "connectivity": 20, "environment": 0}));
    assert_eq!(body["tier"], "high");
    let review = &body["review"];
    assert_eq!((review["auto_approved"].clone(), review["tier"].clone()), (json!(false), json!("high")));
    assert_eq!(review["approvers"], "two different reviewers");
    assert_eq!(ts(&review["due_at"]), t0() + chrono::Duration::hours(48));
    assert_eq!(server.head().await, head, "a dry run records no event");
    assert!(server.all_changes("riley").await.is_empty(), "and writes no app or request");

    // Approved by policy: said so, with no tier to review at.
    let low = dry(&server, "olive", "/v1/intake", &low_manifest("menu", "prototype", true)).await.expect(200);
    assert_eq!((low["review"]["auto_approved"].clone(), low["tier"].clone()), (json!(true), json!("low")));
    assert!(low["review"]["due_at"].is_null());
    // Medium risk: one reviewer or lead, in 72 hours.
    let medium = dry(&server, "pat", "/v1/intake", &medium_manifest("rooms")).await.expect(200);
    assert_eq!(medium["review"]["approvers"], "one reviewer or lead");
    assert_eq!(ts(&medium["review"]["due_at"]), t0() + chrono::Duration::hours(72));
    assert_eq!(server.head().await, head);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_lists_every_problem_with_its_field_including_a_taken_name() {
    let server = TestServer::start().await;
    server.intake("olive", &medium_manifest("holidays")).await;
    let mut bad = medium_manifest("holidays");
    bad.as_object_mut().unwrap().remove("team");
    bad["expected_users"] = json!("forty");
    bad["porpose"] = json!("typo");
    bad["controls"]["sbon"] = json!(true);
    let head = server.head().await;
    let body = dry(&server, "olive", "/v1/intake", &bad).await.expect(200);
    assert_eq!(body["valid"], false);
    let fields: Vec<&str> = body["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "team", "expected_users", "controls.sbon", "porpose"]);
    assert!(body["problems"][0]["problem"].as_str().unwrap().contains("is taken by app"), "{body}");
    assert!(body["risk"].is_null(), "a broken risk input leaves no score: {body}");
    assert_eq!(server.head().await, head);

    // Only the name is wrong: a problem of `name` that names the holder, beside the score.
    let body = dry(&server, "olive", "/v1/intake", &medium_manifest("holidays")).await.expect(200);
    let problems = body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{body}");
    assert_eq!(problems[0]["field"], "name");
    assert!(problems[0]["problem"].as_str().unwrap().contains("is taken by app"), "{body}");
    assert_eq!(body["risk"]["score"], 30);
    // An owner naming someone else: a problem of `owner`.
    let mut other = medium_manifest("rooms");
    other["owner"] = json!("omar");
    let body = dry(&server, "olive", "/v1/intake", &other).await.expect(200);
    assert_eq!(body["problems"][0]["field"], "owner");
    // A lead may, but not for nobody.
    other["owner"] = json!("nobody");
    let body = dry(&server, "pat", "/v1/intake", &other).await.expect(200);
    assert_eq!(body["problems"][0]["field"], "owner");
    assert!(body["problems"][0]["problem"].as_str().unwrap().contains("not an active user"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intake_with_problems_is_a_400_with_all_of_them_and_writes_nothing() {
    let server = TestServer::start().await;
    let mut bad = medium_manifest("x");
    bad["name"] = json!("  ");
    bad["data_classification"] = json!("secret");
    bad["teem"] = json!("sales");
    let head = server.head().await;
    let resp = server.post("olive", "/v1/intake", &bad).await;
    resp.expect_code(400, "invalid_manifest");
    let body = resp.json();
    let problems: Vec<(String, String)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap().to_string(), p["problem"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(problems.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["name", "data_classification", "teem"]);
    assert!(problems[1].1.contains("public, internal, sensitive, pii"), "{problems:?}");
    assert!(problems[2].1.contains("did you mean \"team\""), "{problems:?}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("3 problems") && message.contains("teem"), "{message}");
    assert_eq!(server.head().await, head);
    assert!(server.all_changes("riley").await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_and_adoption_role_matrix() {
    let server = TestServer::start().await;
    server.add_user("audrey", &[Role::Auditor]);
    server.add_user("gate", &[Role::Platform]);
    // One dry-run and one adoption cell per user; each adoption on a fresh
    // discovered app of olive's, so one row does not decide the next.
    let rows: &[(&str, u16, u16)] = &[
        ("riley", 403, 403),
        ("pat", 200, 201),
        ("olive", 200, 201),
        ("omar", 200, 404),
        ("ada", 200, 404),
        ("ingo", 403, 404),
        ("audrey", 403, 403),
        ("gate", 403, 403),
    ];
    for (user, dry_want, adopt_want) in rows {
        let id = discover(&server, &format!("tool-{user}"), "olive");
        let head = server.head().await;
        let resp = dry(&server, user, "/v1/intake", &medium_manifest(&format!("dry-{user}"))).await;
        assert_eq!(resp.status.as_u16(), *dry_want, "{user}: dry run: {}", resp.text);
        assert_eq!(server.head().await, head, "{user}: a dry run records nothing");
        let resp = server.post(user, &format!("/v1/apps/{id}/adoption"), &reviewed(&format!("tool-{user}"))).await;
        assert_eq!(resp.status.as_u16(), *adopt_want, "{user}: adoption: {}", resp.text);
        if *adopt_want >= 400 {
            resp.expect_error(*adopt_want);
            assert_eq!(server.head().await, head, "{user}: a refused adoption records nothing");
        } else {
            assert!(server.head().await.0 > head.0);
        }
    }
    // No token: 401 for both.
    let resp = server.send(Method::POST, None, "/v1/intake?dry_run=true", Some(b"{}".to_vec()), None).await;
    resp.expect_error(401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_adopts_a_discovered_app_under_its_id_and_upstream_record() {
    let server = TestServer::start().await;
    let id = discover(&server, "room-booker", "olive");
    let before = server.app(&id).await;
    assert_eq!(before["state"], "discovered");

    // The dry run first: what would happen, nothing written.
    let head = server.head().await;
    let preview = dry(&server, "olive", &format!("/v1/apps/{id}/adoption"), &reviewed("room-booker")).await.expect(200);
    assert_eq!((preview["valid"].clone(), preview["tier"].clone()), (json!(true), json!("medium")));
    assert_eq!(server.head().await, head);

    let path = format!("/v1/apps/{id}/adoption");
    let resp = server.post_keyed("olive", &path, &reviewed("room-booker"), "adopt-1").await;
    let body = resp.expect(201);
    let (app, approval) = (&body["app"], &body["approval"]);
    assert_eq!(app["id"], id.as_str());
    assert_eq!(app["state"], "pending");
    assert_eq!(app["purpose"], "Reviewed: books meeting rooms");
    assert_eq!(app["upstream"], before["upstream"], "the upstream record is kept");
    assert_eq!(app["created_at"], before["created_at"]);
    assert_eq!(app["version"], before["version"].as_u64().unwrap() + 1);
    assert_eq!(app["risk"]["score"], 30);
    assert!(!app["flags"].as_array().unwrap().iter().any(|f| f == "manifest_incomplete"));
    assert_eq!((approval["kind"].clone(), approval["status"].clone()), (json!("new_app"), json!("pending")));
    assert_eq!(approval["app_id"], id.as_str());
    assert_eq!(approval["review_tier"], "medium");

    // The same key replays the answer and records nothing more.
    let replay = server.post_keyed("olive", &path, &reviewed("room-booker"), "adopt-1").await;
    assert_eq!(replay.expect(201), body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let mut other = reviewed("room-booker");
    other["purpose"] = json!("another body");
    server.post_keyed("olive", &path, &other, "adopt-1").await.expect_code(422, "idempotency_key_reused");

    let events = server.all_audit("riley").await;
    let adopted = events_of(&events, "app.adopted");
    assert_eq!(adopted.len(), 1, "one event, replay or not");
    let event = &adopted[0];
    assert_eq!((event["actor_id"].clone(), event["actor_role"].clone()), (json!("olive"), json!("owner")));
    assert_eq!(event["app_id"], id.as_str());
    assert_eq!(event["request_context"]["previous_state"], "discovered");
    assert_eq!(event["request_context"]["upstream"]["key"], "component:default/room-booker");
    let changed = event["request_context"]["changed"].as_array().unwrap();
    for field in ["purpose", "team", "data_classification", "expected_users"] {
        assert!(changed.iter().any(|c| c == field), "{field} in {changed:?}");
    }
    assert!(!changed.iter().any(|c| c == "name"), "the name did not change: {changed:?}");
    let requested = events_of(&events, "approval.requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["approval_id"], approval["id"]);

    // Adopted once: the second time is a conflict, and so is a registered app.
    server.post("olive", &path, &reviewed("room-booker")).await.expect_code(409, "not_discovered");
    let (registered, _) = server.intake("olive", &medium_manifest("registered")).await;
    let resp = server
        .post("olive", &format!("/v1/apps/{}/adoption", registered["id"].as_str().unwrap()), &reviewed("x"))
        .await;
    resp.expect_code(409, "not_discovered");
    // An unknown app is a 404; a bad manifest a 400 with its problems.
    server.post("olive", "/v1/apps/app_nope/adoption", &reviewed("x")).await.expect_code(404, "not_found");
    let other_id = discover(&server, "kiosk", "olive");
    let mut bad = reviewed("kiosk");
    bad["ttl_class"] = json!("forever");
    let resp = server.post("olive", &format!("/v1/apps/{other_id}/adoption"), &bad).await;
    resp.expect_code(400, "invalid_manifest");
    assert_eq!(resp.json()["problems"][0]["field"], "ttl_class");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_adopts_for_the_imported_owner_who_must_be_a_user_and_low_risk_is_approved_by_policy() {
    let server = TestServer::start().await;
    let for_olive = discover(&server, "menu", "olive");
    let resp =
        server.post("pat", &format!("/v1/apps/{for_olive}/adoption"), &low_manifest("menu", "prototype", true)).await;
    let body = resp.expect(201);
    assert_eq!(body["app"]["owner"], "olive", "the imported owner keeps it");
    assert_eq!(body["app"]["state"], "active", "approved by policy");
    assert!(body["approval"].is_null());
    let events = server.all_audit("riley").await;
    assert_eq!(events_of(&events, "app.adopted")[0]["actor_id"], "pat");
    assert_eq!(events_of(&events, "approval.auto_approved").len(), 1);

    // Imported from a group that is no user: the owner must be named.
    let for_group = discover(&server, "ledger", "sales-ops");
    let path = format!("/v1/apps/{for_group}/adoption");
    let resp = server.post("pat", &path, &reviewed("ledger")).await;
    resp.expect_code(400, "invalid_manifest");
    assert_eq!(resp.json()["problems"][0]["field"], "owner");
    let mut named = reviewed("ledger");
    named["owner"] = json!("omar");
    assert_eq!(server.post("pat", &path, &named).await.expect(201)["app"]["owner"], "omar");
    // A name another live app holds is refused; the app's own name is not.
    let taken = discover(&server, "taken", "olive");
    server.intake("olive", &medium_manifest("holder")).await;
    let resp = server.post("olive", &format!("/v1/apps/{taken}/adoption"), &reviewed("holder")).await;
    resp.expect_code(409, "name_taken");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_moves_the_coverage_kpi() {
    let server = TestServer::start().await;
    server.intake("olive", &medium_manifest("registered")).await;
    let id = discover(&server, "room-booker", "olive");
    let coverage = |changes: &[Value]| {
        // The newest record of each entry.
        let mut latest: std::collections::BTreeMap<String, Value> = Default::default();
        for item in changes {
            latest.insert(format!("{}:{}", item["kind"], item["id"]), item.clone());
        }
        let changes: Vec<&Value> = latest.values().collect();
        let apps: Vec<AppSummary> = changes
            .iter()
            .filter(|item| item["kind"] == "app")
            .map(|item| serde_json::from_value::<App>(item["data"].clone()).unwrap())
            .map(|app| AppSummary::from(&app))
            .collect();
        let approvals: Vec<Approval> = changes
            .iter()
            .filter(|item| item["kind"] == "approval")
            .map(|item| serde_json::from_value(item["data"].clone()).unwrap())
            .collect();
        let kpis = govdeck::domain::kpi::compute(&apps, &approvals, &[], t0());
        (kpis.registered_apps, kpis.discovered_apps, kpis.coverage_pct)
    };
    assert_eq!(coverage(&server.all_changes("riley").await), (1, 1, Some(50.0)));
    server.post("olive", &format!("/v1/apps/{id}/adoption"), &reviewed("room-booker")).await.expect(201);
    assert_eq!(coverage(&server.all_changes("riley").await), (2, 0, Some(100.0)));
    server.stop().await;
}
