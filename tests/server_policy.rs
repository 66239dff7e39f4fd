//! The server's policy over real HTTP: reading the active one, an admin
//! applying a new one (checked whole, stored, on the record, decided under
//! from the next call), and what is refused.

mod common;

use common::{TestServer, medium_manifest};
use govdeck::domain::policy::Policy;
use govdeck::store::policies::BUILTIN_APPLIER;
use reqwest::Method;
use serde_json::{Value, json};

fn default_toml() -> String {
    Policy::builtin().bundle().file("policy.toml").unwrap().text.clone()
}

/// The default with tiers `medium_from = 20`, `high_from = 30`: the
/// medium manifest (score 30) is high under it.
fn stricter() -> Value {
    let text =
        default_toml().replace("medium_from = 30", "medium_from = 20").replace("high_from = 51", "high_from = 30");
    json!({"files": [{"name": "policy.toml", "text": text}]})
}

async fn put(server: &TestServer, user: &str, body: &Value, key: Option<&str>) -> common::Resp {
    server.send(Method::PUT, Some(user), "/v1/policy", Some(body.to_string().into_bytes()), key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_server_decides_under_the_default_and_says_so() {
    let server = TestServer::start().await;
    let policy = server.get("olive", "/v1/policy").await.expect(200);
    assert_eq!(policy["version"], Policy::builtin().version());
    assert_eq!(policy["applied_by"], BUILTIN_APPLIER);
    assert_eq!(common::ts(&policy["active_since"]), common::t0());
    assert_eq!(policy["files"], json!(Policy::builtin().bundle().files));
    // Recording the default is not an audit event: a new server's log is empty.
    assert_eq!(server.head().await.0, 0);
    server.get("ingo", "/v1/policy").await.expect_code(403, "forbidden");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_policy_scores_the_next_intake_and_is_on_the_record() {
    let server = TestServer::start().await;
    let (before, _) = server.intake("olive", &medium_manifest("before")).await;
    assert_eq!(before["risk"]["tier"], "medium");

    let applied = put(&server, "ada", &stricter(), Some("apply-1")).await.expect(200);
    let new_version = applied["version"].as_str().unwrap().to_string();
    assert_eq!(applied["previous_version"], Policy::builtin().version());
    assert_ne!(new_version, Policy::builtin().version());
    assert_eq!(applied["changed"], true);
    assert_eq!(applied["changes"], json!(["tiers.high_from: 51 → 30", "tiers.medium_from: 30 → 20"]));

    let active = server.get("riley", "/v1/policy").await.expect(200);
    assert_eq!((active["version"].as_str(), active["applied_by"].as_str()), (Some(new_version.as_str()), Some("ada")));

    let events = server.all_audit("riley").await;
    let event = events.last().unwrap();
    assert_eq!((event["action_type"].as_str(), event["actor_id"].as_str()), (Some("policy.update"), Some("ada")));
    assert_eq!(event["resource_type"], "policy");
    assert_eq!(event["resource_id"], new_version.as_str());
    assert_eq!(event["request_context"]["previous_version"], Policy::builtin().version());
    assert_eq!(event["request_context"]["version"], new_version.as_str());
    assert_eq!(event["request_context"]["changes"], applied["changes"]);

    // Decided under from the next call; what was stored before is not re-scored.
    let (after, _) = server.intake("olive", &medium_manifest("after")).await;
    assert_eq!(after["risk"]["tier"], "high");
    assert_eq!(server.app(before["id"].as_str().unwrap()).await["risk"]["tier"], "medium");

    // The request names the version it was filed under, and so does each
    // decision and each event.
    let (_, filed) = server.intake("olive", &medium_manifest("filed")).await;
    assert_eq!(filed["policy_version"], new_version.as_str());
    let decided = server.decide("riley", &filed, "approve", "ok").await.expect(200);
    assert_eq!(decided["approval"]["decisions"][0]["policy_version"], new_version.as_str());
    let events = server.all_audit("riley").await;
    let of_filed: Vec<&Value> = events.iter().filter(|e| e["approval_id"] == filed["id"]).collect();
    assert!(of_filed.iter().any(|e| e["action_type"] == "approval.requested"));
    assert!(of_filed.iter().any(|e| e["action_type"] == "approval.approve"));
    for event in &of_filed {
        assert_eq!(event["request_context"]["policy_version"], new_version.as_str(), "{event}");
    }
    let registered = events.iter().rev().find(|e| e["action_type"] == "app.registered").unwrap();
    assert_eq!(registered["request_context"]["policy_version"], new_version.as_str());
    let first = events.iter().find(|e| e["action_type"] == "app.registered").unwrap();
    assert_eq!(first["request_context"]["policy_version"], Policy::builtin().version(), "filed before the change");

    // A retry replays the answer; the same policy again is a no-op answer.
    let head = server.head().await;
    let replay = put(&server, "ada", &stricter(), Some("apply-1")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.expect(200), applied);
    let again = put(&server, "ada", &stricter(), Some("apply-2")).await.expect(200);
    assert_eq!(again["changed"], false);
    assert_eq!(again["changes"], json!([]));
    assert_eq!(
        (again["previous_version"].as_str(), again["version"].as_str()),
        (Some(&*new_version), Some(&*new_version))
    );
    assert_eq!(server.head().await, head, "nothing recorded");

    // Started again over the same database, the server decides under it.
    let db_path = server.db_path.clone();
    let dir = server.stop().await;
    let clock = std::sync::Arc::new(govdeck::clock::ManualClock::new(common::t0()));
    let reopened = govdeck::server::ServerState::open(&db_path, clock).unwrap();
    assert_eq!(reopened.policy.current().version(), new_version);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_policy_is_refused_whole_and_the_old_one_stays() {
    let server = TestServer::start().await;
    let head = server.head().await;
    let broken = default_toml().replace("high_from = 51", "high_from = 20").replace("public = 0", "public = \"none\"");
    let body = json!({"files": [{"name": "policy.toml", "text": broken}, {"name": "../evil.rego", "text": "x"}]});
    let refused = put(&server, "ada", &body, Some("bad")).await;
    assert_eq!(refused.expect_error(422), "invalid_policy");
    let problems = refused.json()["problems"].as_array().unwrap().clone();
    assert!(problems.iter().any(|p| p["file"] == "../evil.rego"), "{problems:?}");
    // The names are checked first; a good name with bad rules shows its line.
    let body = json!({"files": [{"name": "policy.toml", "text": broken}]});
    let refused = put(&server, "ada", &body, None).await;
    assert_eq!(refused.expect_error(422), "invalid_policy");
    let problem = &refused.json()["problems"][0];
    assert_eq!(problem["file"], "policy.toml");
    assert!(problem["line"].as_u64().is_some(), "{problem}");
    assert!(!problem["message"].as_str().unwrap().is_empty());
    for body in [json!({}), json!({"files": []}), json!({"files": "policy.toml"}), json!({"files": [{"name": 1}]})] {
        let resp = put(&server, "ada", &body, None).await;
        assert!((400..500).contains(&resp.status.as_u16()), "{body}: {}", resp.text);
    }
    let raw = server.send(Method::PUT, Some("ada"), "/v1/policy", Some(b"[1]".to_vec()), None).await;
    raw.expect_code(400, "bad_request");

    assert_eq!(server.get("ada", "/v1/policy").await.expect(200)["version"], Policy::builtin().version());
    assert_eq!(server.head().await, head, "nothing recorded");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_applies_a_policy() {
    let server = TestServer::start().await;
    for user in ["riley", "pat", "olive", "ingo"] {
        put(&server, user, &stricter(), None).await.expect_code(403, "forbidden");
    }
    let anonymous = server.send(Method::PUT, None, "/v1/policy", Some(stricter().to_string().into_bytes()), None).await;
    anonymous.expect_code(401, "unauthorized");
    assert_eq!(server.get("ada", "/v1/policy").await.expect(200)["version"], Policy::builtin().version());
    assert_eq!(server.head().await.0, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_over_the_same_database_decides_under_the_applied_policy() {
    let server = TestServer::start().await;
    // Another instance, started before the change, over the same database.
    let clock = std::sync::Arc::new(govdeck::clock::ManualClock::new(common::t0()));
    let other = govdeck::server::ServerState::open(&server.db_path, clock).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let year = std::time::Duration::from_secs(86_400 * 365);
    let task = tokio::spawn(govdeck::server::serve(listener, other.clone(), year, async {
        let _ = stopped.await;
    }));

    put(&server, "ada", &stricter(), None).await.expect(200);
    assert_eq!(other.policy.current().version(), Policy::builtin().version(), "its cache is still the old one");
    let resp = server
        .client
        .post(format!("http://{addr}/v1/intake"))
        .bearer_auth(server.token("olive"))
        .json(&medium_manifest("elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["app"]["risk"]["tier"], "high", "its write read the active version first");
    assert_ne!(other.policy.current().version(), Policy::builtin().version(), "and cached it");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    server.stop().await;
}
