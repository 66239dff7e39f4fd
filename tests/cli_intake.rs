//! `govdeck intake` through the real binary against the real server: the
//! template, a dry run, every problem of a bad manifest at once (nothing
//! sent), a registration, the adoption of a discovered app by its name, and
//! offline: queued (exit 5), then delivered exactly once by `govdeck sync`.

mod sync_support;

use std::path::PathBuf;

use serde_json::{Value, json};
use sync_support::{Cli, Server, manifest};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn count(events: &[Value], action: &str, app_name: Option<&str>, apps: &[Value]) -> usize {
    events
        .iter()
        .filter(|e| e["action_type"] == action)
        .filter(|e| {
            app_name.is_none_or(|name| apps.iter().any(|a| a["id"] == e["app_id"] && a["data"]["name"] == name))
        })
        .count()
}

/// A discovered app imported from Backstage, owned (as imported) by `owner`.
fn discover(server: &Server, name: &str, owner: &str) -> String {
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "etag": format!("etag-{name}")},
        "spec": {"type": "service", "lifecycle": "production", "owner": format!("user:{owner}")},
    });
    let mapped = govdeck::import::mapping::map_entity(&entity).unwrap();
    let id = format!("app_disc_{name}");
    let mut app = mapped.new_app(id.clone(), sync_support::now(server));
    server.write(|conn| govdeck::store::apps::save(conn, &mut app).unwrap());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_the_template_to_a_registered_app() {
    let server = Server::start().await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let files = tempfile::tempdir().unwrap();

    let template = olive.run(&["intake", "--template"]).await;
    let text = template.expect(0).to_string();
    assert!(text.contains("public, internal, sensitive, pii") || text.contains("public (0 risk points)"), "{text}");
    let path = write(&files, "my-app.toml", &text);
    let path = path.to_str().unwrap();

    let head = server.head().await;
    let run = olive.run(&["intake", path, "--dry-run"]).await;
    let out = run.expect(0);
    assert!(out.contains("my-app: would be accepted"), "{out}");
    assert!(out.contains("risk score 10 (low): data 10 + users 0 + connectivity 0 + environment 0"), "{out}");
    assert!(out.contains("review: reviewed at medium risk: one reviewer or lead must approve, by "), "{out}");
    assert_eq!(out.lines().last(), Some("problems: none"), "one line each: {out}");
    assert_eq!(out.lines().count(), 4, "{out}");
    assert_eq!(server.head().await, head, "a dry run writes nothing");

    let run = olive.run(&["intake", path]).await;
    let out = run.expect(0);
    assert!(out.contains("registered my-app as app_"), "{out}");
    assert!(out.contains("reviewed at medium risk (score 10): one reviewer or lead must approve, due by"), "{out}");
    let apps = olive.run(&["apps"]).await;
    assert!(apps.expect(0).contains("my-app"), "the cache holds it at once: {}", apps.stdout);

    // The same name again: the dry run says so as a problem of `name` (exit 1),
    // the intake is a conflict (exit 4).
    let run = olive.run(&["intake", path, "--dry-run"]).await;
    let out = run.expect(1);
    assert!(out.lines().any(|l| l == "1 problem:"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("  name: the name \"my-app\" is taken by app")), "{out}");
    let run = olive.run(&["intake", path]).await;
    run.expect(4);
    assert!(run.stderr.contains("name_taken"), "{}", run.stderr);

    // --json: the server's answer.
    let json_path = write(&files, "b.json", &manifest("json-app", None, "low").to_string());
    let run = olive.run(&["intake", json_path.to_str().unwrap(), "--json"]).await;
    let answer: Value = serde_json::from_str(run.expect(0)).unwrap();
    assert_eq!(answer["app"]["name"], "json-app");
    assert_eq!(answer["app"]["state"], "active", "approved by policy");
    assert!(answer["approval"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_manifest_is_reported_whole_and_nothing_is_sent() {
    let server = Server::start().await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    let files = tempfile::tempdir().unwrap();
    let bad = write(
        &files,
        "bad.toml",
        "name = \"\"\npurpose = \"p\"\nteem = \"x\"\ndata_classification = \"secret\"\nexpected_users = -3\n\
         external_connectivity = \"none\"\nexecution_environment = \"sandboxed\"\nlifecycle_tier = \"tactical\"\n\
         ttl_class = \"prototype\"\n\n[controls]\notel = \"yes\"\n",
    );
    let head = server.head().await;
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["intake", bad.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = olive.run(&args).await;
        run.expect(1);
        let err = &run.stderr;
        assert!(err.contains("has 6 problems; nothing was sent"), "{err}");
        for line in [
            "line 1: name: must not be empty",
            "team: is required",
            "line 4: data_classification: \"secret\" is not one of: public, internal, sensitive, pii",
            "line 5: expected_users: must be a whole number from 0 to 4294967295",
            "line 12: controls.otel: must be true or false, not text",
            "line 3: teem: is not a field; did you mean \"team\"?",
        ] {
            assert!(err.contains(line), "{line:?} in {err}");
        }
    }
    let run = olive.run(&["intake", bad.to_str().unwrap(), "--json"]).await;
    let answer: Value = serde_json::from_str(run.expect(1)).unwrap();
    assert_eq!(answer["problems"].as_array().unwrap().len(), 6);
    assert_eq!(answer["problems"][0], json!({"field": "name", "problem": "must not be empty", "line": 1}));

    // A TOML syntax error says its line.
    let broken = write(&files, "broken.toml", "name = \"a\"\npurpose = \n");
    let run = olive.run(&["intake", broken.to_str().unwrap()]).await;
    run.expect(1);
    assert!(run.stderr.contains("line 2: file:"), "{}", run.stderr);
    // Neither .toml nor .json: a usage error naming both; a missing file: 1.
    let yaml = write(&files, "app.yaml", "name: x\n");
    let run = olive.run(&["intake", yaml.to_str().unwrap()]).await;
    run.expect(2);
    assert!(run.stderr.contains(".toml") && run.stderr.contains(".json"), "{}", run.stderr);
    olive.run(&["intake", "/nonexistent/app.toml"]).await.expect(1);
    olive.run(&["intake"]).await.expect(2);
    assert_eq!(server.head().await, head, "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_an_intake_is_queued_and_delivered_once_and_a_dry_run_says_it_needs_the_server() {
    let mut server = Server::start().await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let files = tempfile::tempdir().unwrap();
    let path = write(&files, "rooms.json", &manifest("rooms", None, "medium").to_string());
    let path = path.to_str().unwrap();
    server.stop().await;

    let run = olive.run(&["intake", path, "--dry-run"]).await;
    run.expect(1);
    assert!(run.stderr.contains("a dry run needs the server") && run.stderr.contains("nothing was sent or queued"));
    let run = olive.run(&["intake", path]).await;
    run.expect(5);
    assert!(run.stderr.contains("queued"), "{}", run.stderr);
    // Queued once: a second try says it is already queued.
    let run = olive.run(&["intake", path]).await;
    run.expect(5);
    assert!(run.stderr.contains("already queued"), "{}", run.stderr);

    server.run().await;
    let run = olive.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains("sent 1 actions"), "{}", run.stderr);
    olive.run(&["sync"]).await.expect(0);
    let (apps, _) = server.all_changes("riley", 0).await;
    let events = server.all_audit("riley").await;
    assert_eq!(count(&events, "app.registered", Some("rooms"), &apps), 1, "delivered exactly once");
    assert_eq!(apps.iter().filter(|a| a["data"]["name"] == "rooms").count(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_app_is_adopted_by_its_name_and_only_once() {
    let mut server = Server::start().await;
    let id = discover(&server, "room-booker", "olive");
    let other = discover(&server, "kiosk", "olive");
    let olive = Cli::new(&server.url(), &server.token("olive"));
    let omar = Cli::new(&server.url(), &server.token("omar"));
    olive.run(&["sync"]).await.expect(0);
    omar.run(&["sync"]).await.expect(0);
    let files = tempfile::tempdir().unwrap();
    let path = write(&files, "room-booker.json", &manifest("room-booker", None, "medium").to_string());
    let path = path.to_str().unwrap();

    let run = olive.run(&["intake", path, "--adopt", "room-booker", "--dry-run"]).await;
    assert!(run.expect(0).contains("room-booker: would be accepted"), "{}", run.stdout);
    let run = olive.run(&["intake", path, "--adopt", "room-booker"]).await;
    let out = run.expect(0);
    assert!(out.contains(&format!("adopted room-booker ({id})")), "{out}");
    assert!(out.contains("one reviewer or lead must approve"), "{out}");
    // Adopted: no longer discovered, so a second adoption is refused before sending.
    let head = server.head().await;
    let run = olive.run(&["intake", path, "--adopt", &id]).await;
    run.expect(4);
    assert!(run.stderr.contains("only a discovered app may be adopted; this one is pending"), "{}", run.stderr);
    // Another owner does not see it at all.
    let run = omar.run(&["intake", path, "--adopt", "room-booker"]).await;
    run.expect(1);
    assert!(run.stderr.contains("no app \"room-booker\" among yours"), "{}", run.stderr);
    assert_eq!(server.head().await, head);

    // Offline: queued, then delivered once.
    let kiosk = write(&files, "kiosk.json", &manifest("kiosk", None, "medium").to_string());
    server.stop().await;
    olive.run(&["intake", kiosk.to_str().unwrap(), "--adopt", "kiosk"]).await.expect(5);
    server.run().await;
    olive.run(&["sync"]).await.expect(0);
    olive.run(&["sync"]).await.expect(0);
    let events = server.all_audit("riley").await;
    let adopted: Vec<&Value> = events.iter().filter(|e| e["action_type"] == "app.adopted").collect();
    assert_eq!(adopted.len(), 2, "room-booker and kiosk, once each");
    assert_eq!(adopted.iter().filter(|e| e["app_id"] == other.as_str()).count(), 1);
    server.stop().await;
}
