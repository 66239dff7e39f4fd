//! What the scriptable commands print, through the real binary against the
//! real server on a loopback port: tables that never cut a value into a
//! pipe and fit a terminal's real width, `--no-headers`, audit rows that name
//! apps, reads of a cache that never synced, and lookups that fail saying
//! what is true.

mod e2e_support;
mod sync_support;

use std::collections::BTreeSet;
use std::time::Duration;

use govdeck::sanitize::display_width;
use serde_json::Value;
use sync_support::{Cli, Server, manifest};

fn json_array(stdout: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("not a JSON array ({other:?}): {stdout}"),
    }
}

/// A server holding the demo catalog (400 apps, long names, 20,000 events),
/// and riley's synced cache of it.
async fn demo_server() -> (Server, Cli) {
    let mut server = Server::create();
    let mut store = govdeck::store::Store::open(&server.db_path).unwrap();
    let now = govdeck::clock::Clock::now(server.clock.as_ref());
    let options = govdeck::seed::SeedOptions {
        apps: govdeck::seed::DEMO_APPS,
        events: govdeck::seed::DEMO_EVENTS,
        seed: govdeck::seed::DEMO_SEED,
        now,
    };
    govdeck::seed::seed(&mut store, &options).expect("seed");
    drop(store);
    server.run().await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    (server, riley)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_tables_cut_no_value_and_scripts_can_drop_the_headers() {
    let (mut server, riley) = demo_server().await;
    let names: BTreeSet<String> = json_array(riley.run(&["apps", "--json"]).await.expect(0))
        .iter()
        .map(|app| app["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.iter().any(|name| name.len() > 18), "the demo has names an 80-column table used to cut");

    // `govdeck apps | awk '{print $1}'` gives every whole name.
    let run = riley.run(&["apps"]).await;
    let stdout = run.expect(0);
    assert!(!stdout.contains('…'), "nothing is cut into a pipe:\n{stdout}");
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with("NAME "), "{stdout}");
    let first_fields: BTreeSet<String> =
        lines.map(|line| line.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(first_fields, names);
    // The columns still line up: OWNER starts at the same place on every line.
    let at = stdout.lines().next().unwrap().find("OWNER").unwrap();
    for line in stdout.lines().skip(1) {
        assert!(line[..at].ends_with("  ") && !line[at..].starts_with(' '), "OWNER aligned: {line:?}");
    }

    // --no-headers: only the rows, on every table command.
    let bare = riley.run(&["apps", "--no-headers"]).await;
    assert_eq!(bare.expect(0).lines().count(), names.len());
    assert_eq!(bare.stdout, stdout.split_once('\n').unwrap().1, "the same rows, without the header");
    let pending = json_array(riley.run(&["approvals", "--json"]).await.expect(0));
    let run = riley.run(&["approvals", "--no-headers"]).await;
    let rows: Vec<&str> = run.expect(0).lines().collect();
    assert_eq!(rows.len(), pending.len(), "{}", run.stdout);
    for (row, request) in rows.iter().zip(&pending) {
        let (id, app) = (request["id"].as_str().unwrap(), request["app_name"].as_str().unwrap());
        assert!(row.starts_with(id) && row.contains(&format!("  {app}  ")), "whole id and app name: {row:?}");
    }
    let run = riley.run(&["audit", "--no-headers", "--limit", "5"]).await;
    assert_eq!(run.expect(0).lines().count(), 5, "{}", run.stdout);
    assert!(!run.stdout.contains("SEQ"), "{}", run.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_name_the_app_and_show_the_whole_action() {
    let (mut server, riley) = demo_server().await;
    let events = json_array(riley.run(&["audit", "--json", "--limit", "2000"]).await.expect(0));
    let apps: std::collections::HashMap<String, String> = json_array(riley.run(&["apps", "--json"]).await.expect(0))
        .iter()
        .map(|app| (app["id"].as_str().unwrap().to_string(), app["name"].as_str().unwrap().to_string()))
        .collect();
    let run = riley.run(&["audit", "--limit", "2000"]).await;
    let stdout = run.expect(0);
    assert!(!stdout.contains('…'), "{stdout}");
    assert!(!stdout.contains(" app_"), "names, not ids, where the cache knows the app:\n{stdout}");
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), events.len());
    let mut long_action = false;
    for (row, event) in rows.iter().zip(&events) {
        let action = event["action_type"].as_str().unwrap();
        long_action |= action.len() > 18;
        assert!(row.contains(&format!("  {action}  ")), "the whole action {action:?}: {row:?}");
        if let Some(id) = event["app_id"].as_str() {
            assert!(row.ends_with(&format!("  {}", apps[id])), "the app's name: {row:?}");
        }
    }
    assert!(long_action, "the demo has actions an 80-column table used to cut");

    // --app takes a name as well as an id, and gives the same events (of an
    // app the log names: not every demo app has events in its window).
    let id = events.iter().find_map(|event| event["app_id"].as_str().filter(|id| apps.contains_key(*id))).unwrap();
    let name = &apps[id];
    let by_id = riley.run(&["audit", "--app", id]).await;
    let by_name = riley.run(&["audit", "--app", name]).await;
    assert_eq!(by_name.expect(0), by_id.expect(0));
    assert!(by_id.stdout.lines().count() > 1, "the app has events: {}", by_id.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_tables_fit_its_real_width() {
    let (mut server, riley) = demo_server().await;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_govdeck"));
    let token = server.token("riley");
    let (cache, config) = (riley.cache_dir.to_str().unwrap(), riley.config_dir.to_str().unwrap());
    let env = [
        ("GOVDECK_SERVER", riley.server.as_str()),
        ("GOVDECK_TOKEN", token.as_str()),
        ("GOVDECK_CACHE_DIR", cache),
        ("GOVDECK_CONFIG_DIR", config),
        ("NO_COLOR", "1"),
    ];
    let table_at = |cols: u16| {
        let mut tui = e2e_support::Tui::spawn(
            bin,
            &["apps"],
            24,
            cols,
            &env,
            &["COLUMNS", "GOVDECK_CA_FILE", "GOVDECK_LOG"],
            None,
        );
        assert_eq!(tui.wait_exit(Duration::from_secs(60)), 0, "{}", tui.tail_text());
        let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
        let lines: Vec<String> = raw.split("\r\n").filter(|line| !line.is_empty()).map(str::to_string).collect();
        assert!(lines.len() > 400, "the whole table: {} lines", lines.len());
        lines
    };
    let wide = table_at(120);
    let widest = wide.iter().map(|line| display_width(line)).max().unwrap();
    assert!(widest > 80 && widest <= 120, "a 120-column terminal is used, not a fixed 80: {widest}");
    assert!(!wide.iter().any(|line| line.contains('…')), "everything fits at 120:\n{}", wide.join("\n"));
    let narrow = table_at(72);
    for line in &narrow {
        assert!(display_width(line) <= 72, "{} columns at 72: {line:?}", display_width(line));
    }
    assert!(narrow.iter().any(|line| line.contains('…')), "long names are cut to fit 72 columns");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_a_cache_that_never_synced_say_so_and_fail() {
    let mut server = Server::start().await;
    server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    for args in [&["apps"][..], &["approvals"], &["audit"], &["kpi"], &["apps", "--json"], &["audit", "verify"]] {
        let run = riley.run(args).await;
        run.expect(1);
        assert!(run.stdout.is_empty(), "{args:?} printed: {}", run.stdout);
        assert!(run.stderr.contains("never completed a sync") && run.stderr.contains("govdeck sync"), "{}", run.stderr);
    }

    // The last try was refused for the token: exit 3, and the reason.
    let bad = Cli::new(&server.url(), "gd_not-a-real-token");
    bad.run(&["sync"]).await.expect(3);
    for args in [&["apps"][..], &["approvals", "--json"], &["kpi"]] {
        let run = bad.run(args).await;
        run.expect(3);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(run.stderr.contains("refused this token"), "{}", run.stderr);
    }

    // A cache that synced once reads as it was, with a warning once the token is refused.
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["apps"]).await;
    assert!(run.expect(0).contains("lunch-menu") && run.stderr.is_empty(), "{}", run.stderr);
    server.write(|conn| govdeck::store::users::revoke(conn, "riley", chrono::Utc::now()).unwrap());
    riley.run(&["sync"]).await.expect(3);
    let run = riley.run(&["apps"]).await;
    assert!(run.expect(0).contains("lunch-menu"), "{}", run.stdout);
    assert!(run.stderr.contains("refused this token"), "{}", run.stderr);
    server.stop().await;
}

/// Two apps called `twin`: the first decommissioned by the TTL policy,
/// the second live (names are unique only among apps not decommissioned).
async fn twins(server: &Server) -> (String, String) {
    let (old, _) = server.intake("olive", &manifest("twin", None, "low")).await;
    server.clock.advance(chrono::Duration::days(90));
    let now = govdeck::clock::Clock::now(server.clock.as_ref());
    let steps = server.write(|conn| {
        let due = govdeck::server::ops::lifecycle_due(conn, govdeck::domain::policy::Policy::builtin(), now).unwrap();
        govdeck::server::ops::run_lifecycle_for(conn, &due, govdeck::domain::policy::Policy::builtin(), now).unwrap()
    });
    assert!(steps > 0, "the prototype app went through its lifecycle");
    let (new, _) = server.intake("omar", &manifest("twin", None, "low")).await;
    (old["id"].as_str().unwrap().to_string(), new["id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_finds_nothing_says_what_is_true() {
    let mut server = Server::start().await;
    let (_, request) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let request_id = request["id"].as_str().unwrap();
    server.intake("omar", &manifest("launch-checklist", None, "low")).await;
    let (old_twin, new_twin) = twins(&server).await;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let olive = Cli::new(&server.url(), &server.token("olive"));

    // Before any sync, syncing is what helps.
    let run = riley.run(&["approve", request_id]).await;
    run.expect(1);
    assert!(run.stderr.contains("govdeck sync"), "{}", run.stderr);

    riley.run(&["sync"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);
    let said = |run: &sync_support::Run| {
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(!run.stderr.contains("run `govdeck sync`"), "syncing would not help: {}", run.stderr);
        run.stderr.clone()
    };
    // An unknown request id, right after a sync.
    let stderr = said(&riley.run(&["approve", "apr_0000000000000000"]).await);
    assert!(stderr.contains("no such request \"apr_0000000000000000\""), "{stderr}");
    // An app's name given to approve: it is an app, with its pending request.
    let stderr = said(&riley.run(&["approve", "holiday-tracker"]).await);
    assert!(stderr.contains("is an app") && stderr.contains(request_id), "{stderr}");
    let stderr = said(&riley.run(&["reject", "launch-checklist", "--comment", "no"]).await);
    assert!(stderr.contains("is an app") && stderr.contains("no pending request"), "{stderr}");
    // Another owner's app is not visible to an owner.
    let stderr = said(&olive.run(&["renew", "launch-checklist"]).await);
    assert!(stderr.contains("not visible to you") && stderr.contains("only their own apps"), "{stderr}");
    // Two apps share a name: both ids.
    for cli_args in [&["renew", "twin"][..], &["audit", "--app", "twin"]] {
        let stderr = said(&riley.run(cli_args).await);
        assert!(stderr.contains("2 apps share the name \"twin\""), "{stderr}");
        assert!(stderr.contains(&old_twin) && stderr.contains(&new_twin), "{stderr}");
    }
    // An unknown app for the audit log is an error, not an empty table.
    let run = riley.run(&["audit", "--app", "no-such-app"]).await;
    let stderr = said(&run);
    assert!(run.stdout.is_empty() && stderr.contains("no app has the id or name \"no-such-app\""), "{stderr}");
    // Each twin by its id works.
    riley.run(&["audit", "--app", &old_twin]).await.expect(0);
    server.stop().await;
}

#[test]
fn users_list_drops_its_header_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let bin = env!("CARGO_BIN_EXE_govdeck");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).arg("--db").arg(&db).output().unwrap();
    assert!(run(&["users", "add", "riley", "--role", "reviewer"]).status.success());
    let listed = run(&["users", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("NAME "), "{listed:?}");
    let bare = run(&["users", "list", "--no-headers"]);
    assert!(bare.status.success(), "{bare:?}");
    let stdout = String::from_utf8_lossy(&bare.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("riley "), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_remembered_until_the_server_accepts_one() {
    let mut server = Server::start().await;
    let caches = sync_support::Caches::new();
    let path = caches.path("shared");
    let refused_at = |path: &std::path::Path| {
        let cache = govdeck::cache::Cache::open(path).unwrap();
        govdeck::cache::meta_get(cache.conn(), govdeck::cache::TOKEN_REFUSED_AT).unwrap()
    };
    let bad = sync_support::syncer(&server.url(), "gd_not-a-real-token", &path);
    let err = sync_support::sync(&bad).await.expect_err("a bad token is refused");
    assert!(matches!(&err, govdeck::sync::engine::SyncError::Client(client) if client.status() == Some(401)), "{err}");
    drop(bad);
    assert!(refused_at(&path).is_some(), "the refusal is recorded in the cache");
    let good = sync_support::syncer(&server.url(), &server.token("riley"), &path);
    sync_support::sync(&good).await.expect("a good token syncs");
    drop(good);
    assert_eq!(refused_at(&path), None, "and forgotten once a token is accepted");
    server.stop().await;
}
