//! `govdeck renew` through the real binary against the real server: a
//! renewal that would shorten the time left is refused without `--shorten`
//! (with the current and the new expiry, nothing sent or queued), and the
//! EXPIRES column counts days by the console's rule (365-day renewal: 365d).

mod sync_support;

use sync_support::{Cli, Server, manifest};

/// The EXPIRES value of `name` in `govdeck apps`.
fn expires_of(stdout: &str, name: &str) -> String {
    let header = stdout.lines().next().expect("header");
    let at = header.find("EXPIRES").expect("EXPIRES column");
    let row = stdout.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{stdout}"));
    row[at..].split_whitespace().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_would_shorten_the_time_left_needs_shorten() {
    let server = Server::start().await;
    // A low-risk prototype: approved by policy, 30 days left.
    let (app, _) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let before = app["expires_at"].as_str().expect("expiry").to_string();
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["apps"]).await;
    assert_eq!(expires_of(run.expect(0), "lunch-menu"), "30d", "a fresh 30-day TTL says 30d, not 29d");

    let run = olive.run(&["renew", "lunch-menu", "--days", "10"]).await;
    run.expect(2);
    assert!(run.stderr.contains("--shorten"), "{}", run.stderr);
    assert!(run.stderr.contains(&before[..10]), "the current expiry: {}", run.stderr);
    assert!(run.stderr.contains("30d left") && run.stderr.contains("10d left"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was sent or queued"), "{}", run.stderr);
    // Nothing was queued, and the server's record is unchanged.
    let run = olive.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains("sent 0 actions"), "{}", run.stderr);
    let changes = server.get("olive", "/v1/changes?since=0&limit=5000").await;
    let latest = changes["items"].as_array().unwrap().iter().rfind(|i| i["id"] == app["id"]).unwrap().clone();
    assert_eq!(latest["data"]["expires_at"].as_str(), Some(before.as_str()));

    // With --shorten it goes through; a renewal that extends needs nothing.
    let run = olive.run(&["renew", "lunch-menu", "--days", "10", "--shorten"]).await;
    run.expect(0);
    assert!(run.stdout.contains("renewed until"), "{}", run.stdout);
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["renew", "lunch-menu"]).await;
    run.expect(0);
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["apps"]).await;
    assert_eq!(expires_of(run.expect(0), "lunch-menu"), "30d");
}
