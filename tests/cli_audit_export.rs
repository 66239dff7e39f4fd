//! `govdeck audit export`: a time window of the log from the server, one
//! event per line exactly as sent (each still verifies), with a record of
//! the signed checkpoint that covers the last one.

mod sync_support;

use chrono::{DateTime, Duration, Utc};
use govdeck::domain::AuditEvent;
use govdeck::domain::audit::format_timestamp;
use govdeck::domain::checkpoint::{Checkpoint, PublicKey, ServerKey};
use serde_json::Value;
use sync_support::{Cli, Server, manifest, now, runtime_event};

fn lines(text: &str) -> Vec<AuditEvent> {
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"))).collect()
}

fn record(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A server whose log holds events an hour apart: (server, app id, the
/// time of the first runtime event).
async fn hourly_log() -> (Server, String, DateTime<Utc>) {
    let server = Server::start().await;
    let (app, _) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let app_id = app["id"].as_str().unwrap().to_string();
    server.clock.advance(Duration::hours(1));
    let first = now(&server);
    for action in ["data.read", "data.write", "dlp.block"] {
        server.ingest(&[runtime_event(&app_id, action)]).await;
        server.clock.advance(Duration::hours(1));
    }
    (server, app_id, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_the_window_verbatim_with_the_covering_checkpoint() {
    let (mut server, _, first) = hourly_log().await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let since = format_timestamp(first + Duration::minutes(30));
    let until = format_timestamp(first + Duration::hours(2));
    let args = ["audit", "export", "--since", &since, "--until", &until, "-o", out.to_str().unwrap()];

    // Nothing signed after the last event yet: the events, and a record that says so.
    let run = riley.run(&args).await;
    run.expect(0);
    let events = lines(&std::fs::read_to_string(&out).unwrap());
    let actions: Vec<&str> = events.iter().map(|event| event.action_type.as_str()).collect();
    assert_eq!(actions, ["data.write"], "only the event inside [since, until)");
    for event in &events {
        assert_eq!(event.compute_hash(), event.hash, "seq {} still verifies as exported", event.seq);
    }
    let uncovered = record(&dir.path().join("audit.jsonl.checkpoint.json"));
    assert_eq!(uncovered["events"], 1, "{uncovered}");
    assert_eq!(uncovered["last_seq"], events[0].seq, "{uncovered}");
    assert_eq!(uncovered["covered"], false, "{uncovered}");
    assert!(run.stderr.contains("no signed checkpoint covers seq"), "{}", run.stderr);

    // A restart signs the head; the same window now comes with its checkpoint.
    server.stop().await;
    server.run().await;
    let run = riley.run(&args).await;
    run.expect(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let covered = record(&dir.path().join("audit.jsonl.checkpoint.json"));
    assert_eq!(covered["covered"], true, "{covered}");
    let checkpoint: Checkpoint = serde_json::from_value(covered["checkpoint"].clone()).unwrap();
    assert!(checkpoint.seq >= events[0].seq, "the checkpoint is at or after the last event: {covered}");
    let key: ServerKey = serde_json::from_value(covered["key"].clone()).unwrap();
    PublicKey::from_wire(&key).unwrap().verify(&checkpoint).expect("the record's checkpoint is signed by its key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_stdout_pages_the_whole_log_in_order() {
    let (server, _, _) = hourly_log().await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let run = riley.run(&["audit", "export"]).await;
    let events = lines(run.expect(0));
    let (head_seq, head_hash) = server.head().await;
    let seqs: Vec<u64> = events.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=head_seq).collect::<Vec<_>>(), "every event, oldest first");
    assert_eq!(events.last().unwrap().hash, head_hash);
    assert!(run.stderr.contains("--checkpoint-file"), "says how to keep the record: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_exports_only_their_own_apps_events() {
    let (server, olive_app, _) = hourly_log().await;
    server.intake("omar", &manifest("launch-checklist", None, "medium")).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    let events = lines(olive.run(&["audit", "export"]).await.expect(0));
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(event.app_id.as_deref(), Some(olive_app.as_str()), "seq {}: {}", event.seq, event.action_type);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_window_or_token_writes_nothing() {
    let (server, _, _) = hourly_log().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let riley = Cli::new(&server.url(), &server.token("riley"));

    let run = riley
        .run(&["audit", "export", "--since", "2026-11-02", "--until", "2026-11-01", "-o", out.to_str().unwrap()])
        .await;
    run.expect(2);
    assert!(run.stderr.contains("must be before"), "{}", run.stderr);
    let run = riley.run(&["audit", "export", "--since", "last tuesday"]).await;
    run.expect(2);
    assert!(run.stderr.contains("RFC 3339"), "{}", run.stderr);

    let stranger = Cli::new(&server.url(), "gd_not-a-token");
    let run = stranger.run(&["audit", "export", "-o", out.to_str().unwrap()]).await;
    run.expect(3);
    assert!(!out.exists(), "no half file is left behind");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nor a temp file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_an_empty_range() {
    let server = Server::start().await;
    let t = format_timestamp(Utc::now());
    let (status, body) =
        server.send(reqwest::Method::GET, "riley", &format!("/v1/audit?since={t}&until={t}"), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("must be before"), "{body}");
}
