//! `govdeck request-access`, `govdeck withdraw`, `govdeck transfer` and the
//! ownerless apps of `govdeck users revoke`, through the real binary against
//! the real server: each happy path and what it prints, the refusals and
//! their exit codes, and offline: queued (exit 5), then sent exactly once by
//! the next `govdeck sync`.

mod sync_support;

use serde_json::{Value, json};
use sync_support::{Cli, Server, manifest};

/// Events of `action` about anything, as a reviewer reads them.
async fn events(server: &Server, action: &str) -> Vec<Value> {
    server.all_audit("riley").await.into_iter().filter(|event| event["action_type"] == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_access_prints_the_request_and_its_review_and_refuses_what_it_can_tell() {
    let server = Server::start().await;
    let (app, _) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);

    let run = olive.run(&["request-access", "lunch-menu", "--env", "production", "--reason", "launch"]).await;
    let out = run.expect(0);
    let requested = events(&server, "approval.requested").await;
    assert_eq!(requested.len(), 1);
    let request_id = requested[0]["approval_id"].as_str().unwrap();
    assert!(out.contains(request_id), "the request id: {out}");
    assert!(out.contains("production access to lunch-menu"), "{out}");
    assert!(out.contains("medium tier") && out.contains("one reviewer or lead must approve"), "{out}");
    assert!(out.contains("due by "), "{out}");
    assert_eq!(requested[0]["request_context"]["reason"], "launch");
    assert_eq!(requested[0]["app_id"], app["id"]);

    // A second request for the same environment: the server names the first (exit 4).
    let run = olive.run(&["request-access", "lunch-menu", "--reason", "again"]).await;
    run.expect(4);
    assert!(run.stderr.contains(request_id), "{}", run.stderr);
    // Refused before anything is sent: no reason, a bad environment (exit 2).
    let run = olive.run(&["request-access", "lunch-menu", "--env", "staging", "--reason", " "]).await;
    run.expect(2);
    assert!(run.stderr.contains("reason") && run.stderr.contains("nothing was sent or queued"), "{}", run.stderr);
    olive.run(&["request-access", "lunch-menu", "--env", "Prod!", "--reason", "x"]).await.expect(2);
    // An app that is not there (exit 1); a reviewer may not ask (exit 3).
    olive.run(&["request-access", "no-such-app", "--reason", "x"]).await.expect(1);
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["request-access", "lunch-menu", "--env", "eu", "--reason", "x"]).await;
    run.expect(3);
    assert!(run.stderr.contains("owner or a lead"), "{}", run.stderr);
    assert_eq!(events(&server, "approval.requested").await.len(), 1, "no refused call reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdraw_closes_a_pending_request_and_says_what_became_of_the_app() {
    let server = Server::start().await;
    let (_, intake) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let intake_id = intake["id"].as_str().unwrap();
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);

    let run = olive.run(&["withdraw", intake_id, "--reason", "filed twice"]).await;
    let out = run.expect(0);
    assert!(out.contains(&format!("request {intake_id} withdrawn")), "{out}");
    assert!(out.contains("holiday-tracker is now decommissioned"), "{out}");
    let withdrawn = events(&server, "approval.withdrawn").await;
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["request_context"]["reason"], "filed twice");
    assert_eq!(events(&server, "app.withdrawn").await.len(), 1);
    // The cache took the answer: the request is no longer in the queue.
    let listed = olive.run(&["approvals"]).await;
    assert!(!listed.expect(0).contains(intake_id), "{}", listed.stdout);

    // Again: the server says it is withdrawn already (exit 4).
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["withdraw", intake_id]).await;
    run.expect(4);
    assert!(run.stderr.contains("already withdrawn"), "{}", run.stderr);
    // Someone else's request: refused from the cache (exit 3); unknown (exit 1).
    let (_, omars) = server.intake("omar", &manifest("shift-roster", None, "medium")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["withdraw", omars["id"].as_str().unwrap()]).await;
    run.expect(3);
    assert!(run.stderr.contains("requester or the app's owner"), "{}", run.stderr);
    olive.run(&["withdraw", "apr_nope"]).await.expect(1);
    assert_eq!(events(&server, "approval.withdrawn").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_moves_an_app_by_name_and_an_admin_names_it_by_id() {
    let server = Server::start().await;
    let (app, _) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let app_id = app["id"].as_str().unwrap();
    let pat = Cli::new(&server.url(), &server.token("pat"));
    pat.run(&["sync"]).await.expect(0);

    let run = pat.run(&["transfer", "lunch-menu", "--to", "omar", "--reason", "olive moved teams"]).await;
    let out = run.expect(0);
    assert!(out.contains(&format!("lunch-menu ({app_id}) now belongs to omar")), "{out}");
    let transfers = events(&server, "app.transfer").await;
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["request_context"], json!({"from": "olive", "to": "omar", "reason": "olive moved teams"}));
    // The lead's cache holds the new owner at once.
    let listed = pat.run(&["apps", "--json"]).await;
    let apps: Value = serde_json::from_str(listed.expect(0)).unwrap();
    let row = apps.as_array().unwrap().iter().find(|a| a["id"] == app_id).cloned().unwrap();
    assert_eq!(row["owner"], "omar", "{row}");

    // Already his (exit 2, from the cache); an unknown user (exit 1, the server's 400).
    let run = pat.run(&["transfer", "lunch-menu", "--to", "omar", "--reason", "x"]).await;
    run.expect(2);
    assert!(run.stderr.contains("already owns"), "{}", run.stderr);
    let run = pat.run(&["transfer", "lunch-menu", "--to", "nobody", "--reason", "x"]).await;
    run.expect(1);
    assert!(run.stderr.contains("not an active user"), "{}", run.stderr);
    pat.run(&["transfer", "lunch-menu", "--to", "olive"]).await.expect(2);
    // An owner may not (exit 3).
    let omar = Cli::new(&server.url(), &server.token("omar"));
    omar.run(&["sync"]).await.expect(0);
    omar.run(&["transfer", "lunch-menu", "--to", "olive", "--reason", "x"]).await.expect(3);

    // An admin has no catalog view: the id goes through as given.
    let token = server.add_user("ada", &[govdeck::domain::Role::Admin]);
    let ada = Cli::new(&server.url(), &token);
    ada.run(&["sync"]).await.expect(0);
    let run = ada.run(&["transfer", app_id, "--to", "olive", "--reason", "back again"]).await;
    assert!(run.expect(0).contains("now belongs to olive"), "{}", run.stdout);
    let run = ada.run(&["transfer", "app_nope", "--to", "olive", "--reason", "x"]).await;
    run.expect(1);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    assert_eq!(events(&server, "app.transfer").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_each_command_is_queued_and_sent_once_by_the_next_sync() {
    let mut server = Server::start().await;
    let (app, _) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let (_, intake) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let (_, _) = server.intake("olive", &manifest("canteen-feedback", None, "low")).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    let pat = Cli::new(&server.url(), &server.token("pat"));
    olive.run(&["sync"]).await.expect(0);
    pat.run(&["sync"]).await.expect(0);

    server.stop().await;
    for (cli, args) in [
        (&olive, vec!["request-access", "lunch-menu", "--reason", "launch"]),
        (&olive, vec!["withdraw", intake["id"].as_str().unwrap()]),
        (&pat, vec!["transfer", "canteen-feedback", "--to", "omar", "--reason", "team change"]),
    ] {
        let run = cli.run(&args).await;
        run.expect(5);
        assert!(run.stderr.contains("queued"), "{args:?}: {}", run.stderr);
    }
    server.run().await;
    for cli in [&olive, &pat] {
        let run = cli.run(&["sync"]).await;
        run.expect(0);
        cli.run(&["sync"]).await.expect(0);
    }
    let requested: Vec<Value> = events(&server, "approval.requested")
        .await
        .into_iter()
        .filter(|e| e["request_context"]["kind"] == "production_access")
        .collect();
    assert_eq!(requested.len(), 1, "the access request was sent once");
    assert_eq!(requested[0]["app_id"], app["id"]);
    assert_eq!(events(&server, "approval.withdrawn").await.len(), 1, "the withdrawal was sent once");
    assert_eq!(events(&server, "app.transfer").await.len(), 1, "the transfer was sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_owner_lists_the_live_apps_left_without_one() {
    let mut server = Server::start().await;
    let (app, _) = server.intake("omar", &manifest("canteen-feedback", None, "low")).await;
    server.intake("omar", &manifest("shift-roster", None, "medium")).await;
    server.stop().await;
    let admin = Cli::new(&server.url(), "");
    let db = server.db_path.to_str().unwrap().to_string();
    let run = admin.run(&["users", "revoke", "omar", "--db", &db]).await;
    let out = run.expect(0);
    assert!(run.stderr.contains("revoked omar"), "{}", run.stderr);
    assert!(
        out.contains(&format!("1 live app now has no owner: canteen-feedback ({})", app["id"].as_str().unwrap())),
        "{out}"
    );
    assert!(out.contains("govdeck transfer"), "{out}");
    server.run().await;
    let revoked = events(&server, "user.revoke").await;
    assert_eq!(revoked[0]["request_context"]["ownerless_apps"][0]["name"], "canteen-feedback");
    // A revoke that leaves nobody ownerless says nothing more.
    server.stop().await;
    let run = admin.run(&["users", "revoke", "olive", "--db", &db]).await;
    assert_eq!(run.expect(0), "", "nothing to list");
}
