//! Other processes must still work while a first sync loads the cache: a
//! reader gets the rows loaded so far, and an approval given meanwhile is
//! written to the outbox and sent, never lost or refused for a busy cache.

mod sync_support;

use std::path::Path;
use std::time::{Duration, Instant};

use govdeck::cache::{self, Cache};
use govdeck::clock::Clock;
use govdeck::seed::SeedOptions;
use govdeck::store::Store;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use sync_support::{Cli, Server, manifest};

const APPS: usize = 2_000;
/// Enough for the audit phase of a debug build to last a few seconds.
const EVENTS: usize = 120_000;

/// Whether the cache at `path` holds the request `id` yet (read as another process would).
fn cached_request(path: &Path, id: &str) -> bool {
    if !path.exists() {
        return false;
    }
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let table: Option<String> = conn
        .query_row("SELECT name FROM sqlite_master WHERE name = 'approvals'", [], |row| row.get(0))
        .optional()
        .unwrap();
    table.is_some()
        && conn.query_row("SELECT 1 FROM approvals WHERE id = ?1", [id], |_| Ok(())).optional().unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_processes_read_and_approve_during_a_first_sync() {
    let mut server = Server::create();
    {
        let mut store = Store::open(&server.db_path).unwrap();
        let options = SeedOptions { apps: APPS, events: EVENTS, seed: 7, now: server.clock.now() };
        govdeck::seed::seed(&mut store, &options).expect("seed");
    }
    server.run().await;
    let (_, request) = server.intake("olive", &manifest("first-load-tracker", None, "medium")).await;
    let id = request["id"].as_str().expect("a request").to_string();

    let cli = Cli::new(&server.url(), &server.token("riley"));
    let path = cli.cache_path();
    let mut sync = cli.command(&["sync"]).spawn().expect("spawn govdeck sync");

    // The catalog is in (the request came last) and the audit log is being loaded.
    let started = Instant::now();
    while !cached_request(&path, &id) {
        assert!(sync.try_wait().unwrap().is_none(), "the first sync ended before the test could act during it");
        assert!(started.elapsed() < Duration::from_secs(60), "no first load under way after 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let approve_args = ["approve", id.as_str(), "--comment", "during the first load"];
    let (apps, approve) = tokio::join!(cli.run(&["apps"]), cli.run(&approve_args));
    assert!(sync.try_wait().unwrap().is_none(), "the first sync ran through both commands; raise EVENTS");
    // The first sync has not completed: the rows loaded so far, said to be
    // only that, and a failing exit so a script does not take them for the catalog.
    let listed = apps.expect(1);
    assert!(listed.contains("first-load-tracker"), "the reader got the loaded rows: {listed}");
    assert!(apps.stderr.contains("only what the first sync loaded so far"), "{}", apps.stderr);
    assert!(approve.expect(0).contains("approved"), "{approve:?}");

    let status = sync.wait().await.unwrap();
    assert!(status.success(), "the first sync: {status}");

    let events: Vec<Value> = server.all_audit("riley").await;
    let approvals =
        events.iter().filter(|e| e["action_type"] == "approval.approve" && e["approval_id"] == id.as_str()).count();
    assert_eq!(approvals, 1, "the approval given during the first load reached the server once");

    // The next sync brings the decision in.
    cli.run(&["sync"]).await.expect(0);
    let cache = Cache::open(&path).unwrap();
    assert_eq!(cache::outbox::count_queued(cache.conn()).unwrap(), 0, "nothing left queued");
    let status: String =
        cache.conn().query_row("SELECT status FROM approvals WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(status, "approved");
    assert_eq!(cache::audit::verify(cache.conn()).unwrap().result, Ok(()));
    server.stop().await;
}
