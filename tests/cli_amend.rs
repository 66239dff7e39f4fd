//! `govdeck amend` and `govdeck request-changes` through the real binary
//! against the real server: the preview, what applies at once and what is
//! held, bad values (every one named, nothing sent), refusals and their
//! exit codes, and the offline queue (exit 5, delivered once on sync).

mod sync_support;

use sync_support::{Cli, Server, manifest};

async fn events(server: &Server, action: &str) -> Vec<serde_json::Value> {
    server.all_audit("riley").await.into_iter().filter(|e| e["action_type"] == action).collect()
}

/// Olive's live medium app, approved by riley; olive's CLI synced.
async fn live(server: &Server, name: &str) -> (serde_json::Value, Cli) {
    let (app, request) = server.intake("olive", &manifest(name, None, "medium")).await;
    server.decide("riley", &request, "approve", "").await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    (app, olive)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_applies_a_small_change_at_once_and_holds_a_material_one() {
    let mut server = Server::start().await;
    let (app, olive) = live(&server, "holidays").await;

    let run = olive.run(&["amend", "holidays", "--set", "controls.sbom=true", "--set", "expected_users=60"]).await;
    let out = run.expect(0);
    assert!(out.contains("expected_users: 40 → 60"), "{out}");
    assert!(out.contains("controls.sbom: false → true"), "{out}");
    assert!(out.contains("risk: 30 medium → 30 medium"), "{out}");
    assert!(out.contains("applies at once"), "{out}");
    assert!(out.contains("applied at once, version 2"), "the server's answer: {out}");
    let amended = events(&server, "app.amend").await;
    assert_eq!(amended.len(), 1);
    assert_eq!(amended[0]["app_id"], app["id"]);

    // Held: data class. The preview says so, and the answer names the request.
    let run = olive.run(&["amend", "holidays", "--set", "data_classification=pii", "--dry-run"]).await;
    let out = run.expect(0);
    assert!(out.contains("held for review at high"), "{out}");
    assert!(out.contains("dry run: nothing was sent"), "{out}");
    assert!(events(&server, "approval.requested").await.len() == 1, "only the intake's request so far");
    let run = olive.run(&["amend", "holidays", "--set", "data_classification=pii"]).await;
    let out = run.expect(0);
    assert!(out.contains("held for review: request apr_"), "{out}");
    assert!(out.contains("at high review, due "), "{out}");
    assert_eq!(events(&server, "approval.requested").await.len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_file_is_diffed_against_the_app() {
    let mut server = Server::start().await;
    let (_, olive) = live(&server, "holidays").await;
    let dir = tempfile::tempdir().unwrap();
    let mut file = manifest("holidays", None, "medium");
    file["controls"]["backups"] = serde_json::json!(true);
    file["connectors"] = serde_json::json!(["workday"]);
    let path = dir.path().join("holidays.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let run = olive.run(&["amend", "holidays", path.to_str().unwrap()]).await;
    let out = run.expect(0);
    assert!(out.contains("connectors: (none) → workday"), "{out}");
    assert!(out.contains("controls.backups: false → true"), "{out}");
    assert!(!out.contains("purpose"), "unchanged fields are not sent: {out}");
    let sent = events(&server, "app.amend").await;
    assert_eq!(sent[0]["request_context"]["changes"].as_array().unwrap().len(), 2);

    // A bad TOML file: every problem named, nothing sent.
    let toml = dir.path().join("bad.toml");
    std::fs::write(&toml, "name = \"holidays\"\nexpected_users = \"many\"\n").unwrap();
    let run = olive.run(&["amend", "holidays", toml.to_str().unwrap()]).await;
    run.expect(2);
    assert!(run.stderr.contains("nothing was sent or queued"), "{}", run.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_usage_errors_naming_each_field() {
    let mut server = Server::start().await;
    let (_, olive) = live(&server, "holidays").await;
    let head = server.head().await;
    let run = olive
        .run(&[
            "amend",
            "holidays",
            "--set",
            "data_classification=secret",
            "--set",
            "expected_users=lots",
            "--set",
            "colour=red",
        ])
        .await;
    run.expect(2);
    assert!(
        run.stderr.contains("data_classification: \"secret\" is not one of public, internal, sensitive, pii"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("expected_users"), "{}", run.stderr);
    assert!(run.stderr.contains("colour: is not a manifest field"), "{}", run.stderr);
    let run = olive.run(&["amend", "holidays"]).await;
    run.expect(2);
    let run = olive.run(&["amend", "holidays", "--set", "controls.otel=true"]).await;
    assert!(run.expect(0).contains("nothing changes"), "{}", run.stdout);
    assert_eq!(server.head().await, head, "nothing reached the server");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_have_their_exit_codes() {
    let mut server = Server::start().await;
    let (_, olive) = live(&server, "holidays").await;
    // A reviewer may not amend (exit 3, nothing sent).
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["amend", "holidays", "--set", "controls.sbom=true"]).await;
    run.expect(3);
    // A second material change while one is pending: the server's 409 (exit 4).
    olive.run(&["amend", "holidays", "--set", "data_classification=pii"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["amend", "holidays", "--set", "external_connectivity=external_api"]).await;
    run.expect(4);
    assert!(run.stderr.contains("already pending review"), "{}", run.stderr);
    // An unknown app.
    olive.run(&["amend", "nope", "--set", "controls.sbom=true"]).await.expect(1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_changes_sends_a_request_back_and_the_owner_sees_why() {
    let mut server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("holidays", None, "medium")).await;
    let id = request["id"].as_str().unwrap();
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    riley.run(&["request-changes", id, "--comment", " "]).await.expect(2);
    let run = riley.run(&["request-changes", id, "--comment", "add an SBOM"]).await;
    assert!(run.expect(0).contains("awaiting changes from olive"), "{}", run.stdout);
    assert_eq!(events(&server, "approval.request_changes").await.len(), 1);
    // Out of the reviewers' queue.
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["approvals", "--no-headers"]).await;
    assert!(!run.expect(0).contains(id), "{}", run.stdout);
    // The owner sees it apart, with the reason; an owner may not ask for changes.
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["approvals"]).await;
    let out = run.expect(0);
    assert!(out.contains("awaiting changes from the owner"), "{out}");
    assert!(out.contains("riley asked: add an SBOM"), "{out}");
    olive.run(&["request-changes", id, "--comment", "me"]).await.expect(3);
    // The owner amends: back in the queue.
    let run = olive.run(&["amend", "holidays", "--set", "controls.sbom=true"]).await;
    assert!(run.expect(0).contains("under review"), "{}", run.stdout);
    assert_eq!(events(&server, "approval.resubmitted").await.len(), 1);
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["approvals", "--no-headers"]).await;
    assert!(run.expect(0).contains(id), "{}", run.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_both_are_queued_and_delivered_once_on_sync() {
    let mut server = Server::start().await;
    let (app, olive) = live(&server, "holidays").await;
    let (_, request) = server.intake("omar", &manifest("rota", None, "medium")).await;
    let request_id = request["id"].as_str().unwrap().to_string();
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);

    server.stop().await;
    let run = olive.run(&["amend", "holidays", "--set", "controls.sbom=true"]).await;
    run.expect(5);
    assert!(run.stderr.contains("queued"), "{}", run.stderr);
    let run = riley.run(&["request-changes", &request_id, "--comment", "name the rota's owner"]).await;
    run.expect(5);

    server.run().await;
    let run = olive.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains("sent 1 actions"), "{}", run.stderr);
    riley.run(&["sync"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);
    riley.run(&["sync"]).await.expect(0);
    let amended = events(&server, "app.amend").await;
    assert_eq!(amended.len(), 1, "delivered exactly once");
    assert_eq!(amended[0]["app_id"], app["id"]);
    let asked = events(&server, "approval.request_changes").await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["request_context"]["comment"], "name the rota's owner");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_a_held_change_sent_back_previews_the_revision_not_an_amendment_at_once() {
    let mut server = Server::start().await;
    let (_, olive) = live(&server, "holidays").await;
    olive.run(&["amend", "holidays", "--set", "data_classification=pii"]).await.expect(0);
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let requested = events(&server, "approval.requested").await;
    let held = requested.iter().find(|e| e["request_context"]["kind"] == "change").expect("the held change");
    let id = held["approval_id"].as_str().unwrap();
    riley.run(&["request-changes", id, "--comment", "PII needs DLP"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);

    let run = olive.run(&["amend", "holidays", "--set", "controls.dlp=true", "--dry-run"]).await;
    let out = run.expect(0);
    assert!(out.contains(&format!("revises request {id} (sent back for changes)")), "{out}");
    assert!(out.contains("returns to review at high"), "{out}");
    assert!(!out.contains("applies at once"), "the app itself is not amended: {out}");
    let run = olive.run(&["amend", "holidays", "--set", "controls.dlp=true"]).await;
    let out = run.expect(0);
    assert!(out.contains("revised and resubmitted"), "the server agrees: {out}");
    assert!(events(&server, "app.amend").await.is_empty(), "nothing applied to the app");
    server.stop().await;
}
