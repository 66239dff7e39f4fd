//! A short bounded load run: the real `govdeck-load` binary drives 50
//! clients (10 reviewers deciding, 40 owners filing and renewing, all of
//! them syncing changes and audit) against an in-process server for a few
//! seconds. Zero errors, decisions made, and the audit chain verifies after.
//! `scripts/load.sh` runs the long version against a seeded release server.

mod common;

use std::time::Duration;

use common::{DB_FILE, TestServer, medium_manifest};
use govdeck::domain::Role;
use govdeck::store::{Store, audit};
use serde_json::Value;

const REVIEWERS: usize = 10;
const OWNERS: usize = 40;
const RUN_SECS: u64 = 5;
/// Requests already queued for the reviewers when the run starts.
const QUEUED: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_for_five_seconds_make_no_errors_and_keep_the_chain() {
    let server = TestServer::start().await;
    let mut tokens = String::from("# name token\n");
    for n in 1..=REVIEWERS {
        let name = format!("reviewer{n:02}");
        tokens.push_str(&format!("{name} {}\n", server.add_user(&name, &[Role::Reviewer])));
    }
    for n in 1..=OWNERS {
        let name = format!("owner{n:02}");
        tokens.push_str(&format!("{name} {}\n", server.add_user(&name, &[Role::Owner])));
    }
    for n in 0..QUEUED {
        server.intake(&format!("owner{:02}", n % OWNERS + 1), &medium_manifest(&format!("queued-{n}"))).await;
    }
    let tokens_file = server.dir().join("tokens.txt");
    std::fs::write(&tokens_file, tokens).unwrap();

    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_govdeck-load"))
        .arg("--server")
        .arg(format!("http://{}", server.addr))
        .arg("--tokens")
        .arg(&tokens_file)
        .args(["--clients", &(REVIEWERS + OWNERS).to_string(), "--duration-secs", &RUN_SECS.to_string()])
        .args(["--decide-every", "2", "--intake-every", "5", "--json"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(RUN_SECS + 60), run)
        .await
        .expect("the generator stops on its own")
        .expect("run govdeck-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "govdeck-load failed: {stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    eprintln!("govdeck-load summary: {summary:#}");

    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["server_errors"], 0);
    assert_eq!(summary["transport_errors"], 0);
    assert_eq!(summary["replay_mismatches"], 0);
    assert!(summary["decisions"].as_u64().unwrap() > 0, "reviewers decided: {summary}");
    for call in ["changes", "audit", "decide", "intake"] {
        assert!(summary["calls"][call]["count"].as_u64().unwrap_or(0) > 0, "{call} was exercised: {summary}");
    }

    let (head, _) = server.head().await;
    let dir = server.stop().await;
    let store = Store::open_read_only(&dir.path().join(DB_FILE)).unwrap();
    let report = audit::verify(store.conn()).unwrap();
    assert!(report.result.is_ok(), "the chain verifies after the run: {:?}", report.result);
    assert_eq!(report.verified, head);
}
