//! `govdeck policy apply` through the real binary against the real server:
//! checked here first (exit 2, nothing sent), a dry run, the apply and what
//! it prints, the same folder again, and a caller who is not an admin.

mod sync_support;

use govdeck::domain::Role;
use govdeck::domain::policy::Policy;
use sync_support::{Cli, Server, manifest};

fn folder(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.toml"), toml).unwrap();
    dir
}

fn default_toml() -> String {
    Policy::builtin().bundle().file("policy.toml").unwrap().text.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_applies_a_policy_folder_and_the_next_intake_is_scored_by_it() {
    let server = Server::start().await;
    let ada = Cli::new(&server.url(), &server.add_user("ada-admin", &[Role::Admin]));
    let pat = Cli::new(&server.url(), &server.token("pat"));
    let short = |version: &str| version[..12].to_string();
    let builtin = short(Policy::builtin().version());

    // A broken folder is refused here, every problem named; nothing is sent.
    let broken = folder(&default_toml().replace("high_from = 51", "high_from = 10"));
    let run = ada.run(&["policy", "apply", broken.path().to_str().unwrap()]).await;
    run.expect(2);
    assert!(run.stderr.contains("policy.toml:") && run.stderr.contains("nothing was sent"), "{}", run.stderr);
    let missing = tempfile::tempdir().unwrap();
    ada.run(&["policy", "apply", missing.path().to_str().unwrap()]).await.expect(2);
    let head = server.head().await;

    let stricter = folder(
        &default_toml().replace("medium_from = 30", "medium_from = 20").replace("high_from = 51", "high_from = 30"),
    );
    let dir = stricter.path().to_str().unwrap();
    let new = short(Policy::from_dir(stricter.path()).unwrap().version());

    let out = ada.run(&["policy", "apply", dir, "--dry-run"]).await.expect(0).to_string();
    assert!(out.contains(&format!("policy would change: {builtin} → {new}")), "{out}");
    assert!(out.contains("tiers.high_from: 51 → 30") && out.contains("dry run: nothing was sent"), "{out}");
    assert_eq!(server.head().await, head, "a dry run records nothing");

    // Not an admin: refused by the server, exit 3.
    let run = pat.run(&["policy", "apply", dir]).await;
    run.expect(3);
    assert!(run.stderr.contains("only an admin"), "{}", run.stderr);

    let out = ada.run(&["policy", "apply", dir]).await.expect(0).to_string();
    assert!(out.contains(&format!("policy applied: {builtin} → {new}")), "{out}");
    assert!(out.contains("tiers.high_from: 51 → 30") && out.contains("tiers.medium_from: 30 → 20"), "{out}");
    let out = ada.run(&["policy", "apply", dir]).await.expect(0).to_string();
    assert!(out.contains(&format!("policy {new} is already active; nothing changed")), "{out}");

    let (app, approval) = server.intake("olive", &manifest("holidays", None, "medium")).await;
    assert_eq!(app["risk"]["tier"], "high");
    assert_eq!(approval["policy_version"].as_str().map(short), Some(new.clone()));
    let events = server.all_audit("riley").await;
    assert_eq!(events.iter().filter(|e| e["action_type"] == "policy.update").count(), 1);
}
