//! Administration through the real `govdeck users …` binary on the server's
//! database file, beside the running server: every change is a `user.*`
//! audit event by `local-admin` that never holds a token; tokens expire,
//! and an expired one is refused with a message that says so and when;
//! a rotated token replaces the old one at once; bad durations and role
//! sets are refused before anything is written.

mod sync_support;

use chrono::Duration;
use govdeck::domain::Role;
use serde_json::Value;
use sync_support::{Cli, Run, Server};

/// `govdeck users ARGS --db <the server's database>`.
async fn users(server: &Server, args: &[&str]) -> Run {
    let cli = Cli::new(&server.url(), "unused");
    let db = server.db_path.to_str().expect("utf-8 path");
    let mut all = vec!["users"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db]);
    cli.run(&all).await
}

async fn me_status(server: &Server, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new().get(format!("{}/v1/me", server.url())).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_is_audited_and_tokens_expire() {
    let mut server = Server::start().await;
    let head_before = server.head().await.0;

    // An auditor whose token lives an hour.
    let added = users(&server, &["add", "audrey", "--roles", "auditor", "--expires-in", "1h"]).await;
    let first = added.expect(0).trim().to_string();
    assert!(first.starts_with("gd_") && !first.contains(char::is_whitespace), "the token alone: {first:?}");
    assert!(added.stderr.contains("expires at"), "{}", added.stderr);
    let listed = users(&server, &["list"]).await;
    let line = listed.expect(0).lines().find(|line| line.starts_with("audrey ")).expect("audrey listed").to_string();
    assert!(line.contains("auditor") && line.ends_with("active") && !line.contains("never"), "{line}");
    assert!(listed.stdout.starts_with("NAME") && listed.stdout.contains("EXPIRES"), "{}", listed.stdout);

    // The auditor syncs the whole catalog and log, its own addition included.
    let audrey = Cli::new(&server.url(), &first);
    audrey.run(&["sync"]).await.expect(0);
    let cached = sync_support::Snapshot::read(&audrey.cache_path());
    assert_eq!(cached.head(), server.head().await, "the whole chain: {}", cached.summary());

    // An hour on (by the server's clock), the token is refused as expired, and the CLI says so.
    server.clock.advance(Duration::hours(2));
    let (status, body) = me_status(&server, &first).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "token_expired");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("expired at 20") && message.contains("users rotate audrey"), "{message}");
    let refused = audrey.run(&["sync"]).await;
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("expired at"), "the server's words: {}", refused.stderr);

    // A rotation issues a new token (the same one-hour lifetime); the old one is unknown at once.
    server.clock.set(chrono::Utc::now());
    let rotated = users(&server, &["rotate", "audrey"]).await;
    let second = rotated.expect(0).trim().to_string();
    assert_ne!(second, first);
    assert!(rotated.stderr.contains("the new one expires at"), "{}", rotated.stderr);
    assert_eq!(me_status(&server, &second).await.0, 200);
    let (status, body) = me_status(&server, &first).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));

    // Roles change; then the user is revoked.
    users(&server, &["roles", "audrey", "--role", "auditor", "--role", "owner"]).await.expect(0);
    assert_eq!(me_status(&server, &second).await.1["roles"], serde_json::json!(["auditor", "owner"]));
    users(&server, &["revoke", "audrey"]).await.expect(0);
    assert_eq!(me_status(&server, &second).await.0, 401);
    users(&server, &["rotate", "audrey"]).await.expect(1);
    users(&server, &["revoke", "audrey"]).await.expect(1);

    // Each change is one event by local-admin; none holds a token or its hash.
    let events: Vec<Value> =
        server.all_audit("riley").await.into_iter().filter(|e| e["seq"].as_u64() > Some(head_before)).collect();
    let actions: Vec<&str> = events.iter().map(|e| e["action_type"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.add", "user.rotate", "user.roles", "user.revoke"]);
    for event in &events {
        assert_eq!(event["actor_id"], "local-admin");
        assert_eq!(event["actor_role"], "admin");
        assert_eq!(event["resource_type"], "user");
        assert_eq!(event["resource_id"], "audrey");
        let text = event.to_string();
        for secret in [&first, &second] {
            assert!(!text.contains(secret.as_str()), "a token in {text}");
            assert!(!text.contains(&govdeck::store::users::hash_token(secret)), "a token hash in {text}");
        }
    }
    assert_eq!(events[0]["request_context"]["roles"], serde_json::json!(["auditor"]));
    assert!(events[0]["request_context"]["expires_at"].is_string());
    assert_eq!(events[2]["request_context"]["previous_roles"], serde_json::json!(["auditor"]));
    // Owners do not see administration in their log.
    let olive = server.all_audit("olive").await;
    assert!(olive.iter().all(|e| e["resource_type"] != "user"), "{olive:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_durations_and_role_sets_are_refused_and_write_nothing() {
    let mut server = Server::start().await;
    let head = server.head().await;
    for bad in ["90x", "0d", "1.5d", "d", "99999d"] {
        let run = users(&server, &["add", "x", "--role", "owner", "--expires-in", bad]).await;
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("invalid duration"), "{bad}: {}", run.stderr);
    }
    let run = users(&server, &["add", "gate", "--roles", "platform,lead"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("platform role is held alone"), "{}", run.stderr);
    let run = users(&server, &["roles", "nobody", "--role", "owner"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(server.head().await, head, "nothing was recorded");
    assert_eq!(server.add_user("gate", &[Role::Platform]).len(), 67);
    server.stop().await;
}
