//! What `govdeck sync` tells a script: a summary object with `--json`, and,
//! with the server down, how many actions are still queued (exit 5 when
//! some are, 1 when none are).

mod sync_support;

use serde_json::Value;
use sync_support::{Cli, Server, manifest};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_json_prints_a_summary_object() {
    let server = Server::start().await;
    server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let summary = json(riley.run(&["sync", "--json"]).await.expect(0));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["changes"], 2, "the app and its request: {summary}");
    let (head_seq, head_hash) = server.head().await;
    assert_eq!(summary["events"], head_seq, "{summary}");
    assert_eq!(summary["head"]["seq"], head_seq, "{summary}");
    assert_eq!(summary["head"]["hash"], head_hash.as_str(), "{summary}");
    for field in ["sent", "refused", "queued"] {
        assert_eq!(summary[field], 0, "{field}: {summary}");
    }
    // Nothing new: the same object, with nothing in it.
    let again = json(riley.run(&["sync", "--json"]).await.expect(0));
    assert_eq!((again["changes"].clone(), again["events"].clone()), (0.into(), 0.into()), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_the_server_down_says_how_many_actions_are_queued_and_exits_5() {
    let mut server = Server::start().await;
    let (_, first) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let (_, second) = server.intake("omar", &manifest("launch-checklist", None, "medium")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    server.stop().await;

    // Down, nothing queued: the usual failure.
    let run = riley.run(&["sync"]).await;
    run.expect(1);
    assert!(!run.stderr.contains("queued"), "{}", run.stderr);

    // Two approvals queued while it is down.
    for request in [&first, &second] {
        riley.run(&["approve", request["id"].as_str().unwrap()]).await.expect(5);
    }
    let run = riley.run(&["sync"]).await;
    run.expect(5);
    assert!(run.stderr.contains("2 queued actions still waiting"), "{}", run.stderr);
    let run = riley.run(&["sync", "--json"]).await;
    let summary = json(run.expect(5));
    assert_eq!(summary["ok"], false, "{summary}");
    assert_eq!(summary["queued"], 2, "{summary}");
    assert_eq!(summary["exit_code"], 5, "{summary}");
    assert!(summary["error"].as_str().unwrap_or_default().contains("cannot reach"), "{summary}");

    // Back up: they are sent, and the summary says so.
    server.run().await;
    let summary = json(riley.run(&["sync", "--json"]).await.expect(0));
    assert_eq!((summary["sent"].clone(), summary["queued"].clone()), (2.into(), 0.into()), "{summary}");
}
