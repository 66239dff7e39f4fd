//! `govdeck quarantine`, `release` and `retire` through the real binary
//! against the real server: the happy paths, the refusals and their exit
//! codes (said from the cache, nothing sent or queued), a renewal of a held
//! app, the exit checklist from a pipe, and offline: queued (exit 5), then
//! delivered exactly once by the next `govdeck sync`.

mod sync_support;

use serde_json::Value;
use sync_support::{Cli, Server, manifest};

fn events_of(events: &[Value], action: &str) -> usize {
    events.iter().filter(|event| event["action_type"] == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_release_and_a_held_renewal_through_the_binary() {
    let server = Server::start().await;
    server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let pat = Cli::new(&server.url(), &server.token("pat"));
    let olive = Cli::new(&server.url(), &server.token("olive"));
    for cli in [&riley, &pat, &olive] {
        cli.run(&["sync"]).await.expect(0);
    }

    // Owners may not quarantine: said at once, exit 3, nothing queued.
    let run = olive.run(&["quarantine", "lunch-menu", "--reason", "mine"]).await;
    run.expect(3);
    assert!(run.stderr.contains("reviewer or lead") && run.stderr.contains("nothing was sent"), "{}", run.stderr);
    // A reason is required (exit 2).
    riley.run(&["quarantine", "lunch-menu", "--reason", " "]).await.expect(2);

    let run = riley.run(&["quarantine", "lunch-menu", "--reason", "token in a public log"]).await;
    let out = run.expect(0);
    assert!(out.contains("quarantined now") && out.contains("only a reviewer can release it"), "{out}");

    // The owner's renewal is refused from the cache, naming who holds it and why.
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["renew", "lunch-menu"]).await;
    run.expect(4);
    for part in ["riley", "token in a public log", "a reviewer", "release"] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    // A lead may not release (exit 3); a second hold is a conflict (exit 4).
    pat.run(&["sync"]).await.expect(0);
    let run = pat.run(&["release", "lunch-menu", "--reason", "fixed"]).await;
    run.expect(3);
    assert!(run.stderr.contains("only a reviewer releases"), "{}", run.stderr);
    pat.run(&["quarantine", "lunch-menu", "--reason", "again"]).await.expect(4);

    let run = riley.run(&["release", "lunch-menu", "--reason", "token rotated"]).await;
    assert!(run.expect(0).contains("lunch-menu released: active"), "{}", run.stdout);
    riley.run(&["release", "lunch-menu", "--reason", "again"]).await.expect(4);

    let events = server.all_audit("riley").await;
    assert_eq!((events_of(&events, "app.quarantine"), events_of(&events, "app.release")), (1, 1));
    assert_eq!(events_of(&events, "app.renewed"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_needs_the_checklist_and_closes_the_apps_requests() {
    let server = Server::start().await;
    let (app, approval) = server.intake("olive", &manifest("holidays", None, "medium")).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    let omar = Cli::new(&server.url(), &server.token("omar"));
    olive.run(&["sync"]).await.expect(0);
    omar.run(&["sync"]).await.expect(0);

    // From a pipe, missing answers are a usage error naming the flags.
    let run = olive.run(&["retire", "holidays", "--reason", "cancelled"]).await;
    run.expect(2);
    assert!(
        run.stderr.contains("--credentials-revoked") && run.stderr.contains("--dependents-notified"),
        "{}",
        run.stderr
    );
    let run = olive.run(&["retire", "holidays", "--reason", "x", "--data", "shredded"]).await;
    run.expect(2);
    // Another owner cannot see it.
    omar.run(&["retire", app["id"].as_str().unwrap(), "--reason", "x"]).await.expect(1);

    let run = olive
        .run(&[
            "retire",
            "holidays",
            "--reason",
            "cancelled",
            "--credentials-revoked",
            "--data",
            "deleted",
            "--dependents-notified",
        ])
        .await;
    assert!(run.expect(0).contains("holidays retired: now decommissioned"), "{}", run.stdout);
    olive.run(&["sync"]).await.expect(0);
    let run = olive
        .run(&[
            "retire",
            "holidays",
            "--reason",
            "again",
            "--credentials-revoked",
            "--data",
            "deleted",
            "--dependents-notified",
        ])
        .await;
    run.expect(4);
    assert!(run.stderr.contains("final"), "{}", run.stderr);

    let events = server.all_audit("riley").await;
    let retire: Vec<&Value> = events.iter().filter(|e| e["action_type"] == "app.retire").collect();
    assert_eq!(retire.len(), 1);
    assert_eq!(retire[0]["request_context"]["checklist"]["data"], "deleted");
    assert_eq!(retire[0]["request_context"]["closed_requests"][0], approval["id"]);
    // The synced cache no longer lists the closed request as pending.
    let run = olive.run(&["approvals", "--json"]).await;
    assert!(!run.expect(0).contains(approval["id"].as_str().unwrap()), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_each_is_queued_and_sent_exactly_once_on_the_next_sync() {
    let mut server = Server::start().await;
    server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    server.intake("olive", &manifest("menu-two", None, "low")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let olive = Cli::new(&server.url(), &server.token("olive"));
    riley.run(&["sync"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);

    server.stop().await;
    let run = riley.run(&["quarantine", "lunch-menu", "--reason", "leak"]).await;
    run.expect(5);
    assert!(run.stderr.contains("queued"), "{}", run.stderr);
    let checklist = ["--credentials-revoked", "--data", "archived", "--dependents-notified"];
    let mut retire = vec!["retire", "menu-two", "--reason", "done"];
    retire.extend(checklist);
    olive.run(&retire).await.expect(5);
    // The same again is not queued twice.
    riley.run(&["quarantine", "lunch-menu", "--reason", "leak"]).await.expect(5);

    server.run().await;
    riley.run(&["sync"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);
    riley.run(&["sync"]).await.expect(0);
    let events = server.all_audit("riley").await;
    assert_eq!(events_of(&events, "app.quarantine"), 1);
    assert_eq!(events_of(&events, "app.retire"), 1);

    // Release, offline too.
    server.stop().await;
    riley.run(&["release", "lunch-menu", "--reason", "fixed"]).await.expect(5);
    server.run().await;
    riley.run(&["sync"]).await.expect(0);
    riley.run(&["sync"]).await.expect(0);
    let events = server.all_audit("riley").await;
    assert_eq!(events_of(&events, "app.release"), 1);
    let run = riley.run(&["apps", "--json"]).await;
    let apps: Value = serde_json::from_str(run.expect(0)).unwrap();
    let lunch = apps.as_array().unwrap().iter().find(|a| a["name"] == "lunch-menu").unwrap().clone();
    assert_eq!(lunch["state"], "active", "{lunch}");
}
