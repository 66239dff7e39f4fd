//! The scriptable commands through the real binary, with the environment a
//! script would set (GOVDECK_SERVER, GOVDECK_TOKEN, GOVDECK_CACHE_DIR,
//! GOVDECK_CONFIG_DIR): sync, the tables and their JSON, decisions,
//! renewals, the audit log, and the errors a script must be able to tell
//! apart by exit code.

mod sync_support;

use govdeck::sanitize::display_width;
use serde_json::Value;
use sync_support::{Cli, Server, manifest};

fn json_array(stdout: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("not a JSON array ({other:?}): {stdout}"),
    }
}

/// Asserts a table as a pipe gets it: a header naming `first`, no value
/// cut, and every value of the `column`-th column starting at the same
/// place as its header.
fn assert_table(stdout: &str, first: &str, column: &str) -> Vec<String> {
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert!(lines.len() >= 2, "a header and rows: {stdout}");
    assert!(lines[0].starts_with(first), "header: {:?}", lines[0]);
    for line in &lines {
        assert!(!line.contains('…'), "nothing is cut into a pipe: {line:?}");
        assert!(!line.contains('\u{1b}'), "no escape sequences in plain output: {line:?}");
    }
    let at = lines[0].find(column).unwrap_or_else(|| panic!("no {column} in {:?}", lines[0]));
    for line in &lines[1..] {
        // Walk the row in display columns up to where the header's column starts.
        let mut width = 0;
        let mut cell = None;
        for (index, ch) in line.char_indices() {
            if width >= at {
                cell = Some((index, ch));
                break;
            }
            width += display_width(ch.encode_utf8(&mut [0; 4]));
        }
        assert_eq!(width, at, "{column} is aligned in {line:?}");
        let (index, ch) = cell.unwrap_or_else(|| panic!("no {column} value in {line:?}"));
        assert!(ch != ' ' && line[..index].ends_with("  "), "{column} starts after two spaces: {line:?}");
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scriptable_commands_work_end_to_end() {
    let server = Server::start().await;
    let (_, high) = server.intake("olive", &manifest("sales-quoting", None, "high")).await;
    let (_, to_approve) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let (_, to_reject) = server.intake("omar", &manifest("launch-checklist", None, "medium")).await;
    server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    server.intake("omar", &manifest("a-rather-long-application-name-for-the-table", None, "low")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));

    // sync prints a one-line summary.
    let run = riley.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains("synced") && run.stderr.contains("audit events"), "{}", run.stderr);

    // apps: an aligned table within 80 columns, and its JSON.
    let run = riley.run(&["apps"]).await;
    let lines = assert_table(run.expect(0), "NAME", "OWNER");
    assert_eq!(lines.len(), 1 + 5, "{}", run.stdout);
    assert_table(&run.stdout, "NAME", "STATE");
    let apps = json_array(riley.run(&["apps", "--json"]).await.expect(0));
    assert_eq!(apps.len(), 5);
    assert!(apps.iter().all(|app| app["id"].is_string() && app["name"].is_string()));

    // --filter ranks the best match first and drops what does not match.
    let run = riley.run(&["apps", "--filter", "lunch"]).await;
    let lines = assert_table(run.expect(0), "NAME", "OWNER");
    assert!(lines[1].starts_with("lunch-menu "), "best match first: {}", run.stdout);
    assert!(!run.stdout.contains("sales-quoting"), "{}", run.stdout);
    let filtered = json_array(riley.run(&["apps", "--filter", "lunch", "--json"]).await.expect(0));
    assert_eq!(filtered[0]["name"], "lunch-menu");

    // approvals: riskiest first.
    let requests = json_array(riley.run(&["approvals", "--json"]).await.expect(0));
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["id"], high["id"], "the high-risk request first");
    assert!(requests.iter().all(|r| r["status"] == "pending"));
    let run = riley.run(&["approvals"]).await;
    assert_table(run.expect(0), "ID", "APP");

    // Decisions.
    let id = to_approve["id"].as_str().unwrap();
    let run = riley.run(&["approve", id, "--comment", "fine"]).await;
    run.expect(0);
    assert!(run.stdout.contains("approved"), "{}", run.stdout);
    assert_eq!(
        server.get("riley", "/v1/changes?since=0&limit=5000").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|item| item["id"] == id)
            .unwrap()["data"]["status"],
        "approved"
    );
    let id = to_reject["id"].as_str().unwrap();
    let run = riley.run(&["reject", id]).await;
    run.expect(2);
    assert!(run.stderr.contains("--comment"), "clap names the missing flag: {}", run.stderr);
    let run = riley.run(&["reject", id, "--comment", ""]).await;
    run.expect(2);
    assert!(run.stderr.contains("reason"), "{}", run.stderr);
    let run = riley.run(&["reject", id, "--comment", "  "]).await;
    run.expect(2);
    riley.run(&["reject", id, "--comment", "no data owner named"]).await.expect(0);

    // Renewal, by the owner, by name.
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["renew", "lunch-menu"]).await;
    run.expect(0);
    assert!(run.stdout.contains("renewed until"), "{}", run.stdout);
    let run = olive.run(&["renew", "no-such-app"]).await;
    run.expect(1);

    // The audit log from the cache, and verifying it.
    riley.run(&["sync"]).await.expect(0);
    let events = json_array(riley.run(&["audit", "--json"]).await.expect(0));
    assert!(!events.is_empty());
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert_eq!(seqs[0], server.head().await.0);
    let run = riley.run(&["audit"]).await;
    assert_table(run.expect(0), "SEQ", "ACTION");
    let run = riley.run(&["audit", "verify"]).await;
    run.expect(0);
    assert!(run.stdout.contains("ok"), "{}", run.stdout);
    olive.run(&["audit", "verify"]).await.expect(0);

    // A bad token: exit 3, and the token is not echoed.
    let bad = Cli::new(&server.url(), "gd_not-a-real-token");
    let run = bad.run(&["sync"]).await;
    run.expect(3);
    assert!(!run.stderr.contains("gd_not-a-real-token"), "{}", run.stderr);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_others_may_read_is_refused_without_showing_the_token() {
    use std::os::unix::fs::PermissionsExt;

    let server = Server::start().await;
    let token = server.token("riley");
    let mut cli = Cli::new(&server.url(), &token);
    cli.token = None;

    for explicit in [false, true] {
        let path = if explicit { cli.config_dir.join("elsewhere-token") } else { cli.config_dir.join("token") };
        std::fs::write(&path, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path_text = path.to_str().unwrap().to_string();
        let args: Vec<&str> = if explicit { vec!["--token-file", &path_text, "sync"] } else { vec!["sync"] };
        let run = cli.run(&args).await;
        // A token that cannot be used is an authentication error, as a missing one is.
        run.expect(3);
        assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
        assert!(!run.stderr.contains(&token) && !run.stdout.contains(&token), "the token leaked: {}", run.stderr);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let run = cli.run(&args).await;
        run.expect(0);
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_is_not_an_error() {
    use tokio::io::AsyncBufReadExt;

    // Enough apps and events that each listing is larger than a pipe buffer.
    let mut server = Server::create();
    let mut store = govdeck::store::Store::open(&server.db_path).unwrap();
    let now = govdeck::clock::Clock::now(server.clock.as_ref());
    let options = govdeck::seed::SeedOptions { apps: 1500, events: 3000, seed: 7, now };
    govdeck::seed::seed(&mut store, &options).expect("seed");
    drop(store);
    server.run().await;
    let cli = Cli::new(&server.url(), &server.token("riley"));
    cli.run(&["sync"]).await.expect(0);

    // As `govdeck apps | head -1` does: read one line, close the pipe.
    for args in
        [&["apps"][..], &["apps", "--json"], &["audit", "--limit", "3000"], &["audit", "--json", "--limit", "3000"]]
    {
        let mut child = cli.command(args).spawn().expect("spawn");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next_line().await.unwrap().unwrap_or_default();
        assert!(!first.is_empty(), "{args:?} printed nothing");
        drop(lines);
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "govdeck {args:?} | head -1: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    server.stop().await;
}
