//! Crash safety of the cache: the real `govdeck sync` is killed (SIGKILL)
//! at random moments while it pulls a seeded catalog of 3,000 apps and
//! 30,000 audit events, again and again, with new work arriving on the server in
//! between. After every kill the cache must be a valid database whose
//! cursor is never ahead of its data and whose audit head is its last
//! event; at the end, one more sync must leave it equal to a clean full
//! sync into a fresh cache.
//!
//! 200 kills by default (about a minute in a debug build), each 0-300 ms
//! after the start; `GOVDECK_CRASH_RUNS=500` for a longer run,
//! `GOVDECK_CRASH_MAX_DELAY_MS=3000` to reach later phases
//! of a sync too (a debug build rarely gets past the second audit page in
//! 300 ms), `GOVDECK_CRASH_SEED` for another catalog and sequence of delays.

mod sync_support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use govdeck::cache::{self, Cache};
use govdeck::clock::Clock;
use govdeck::seed::SeedOptions;
use govdeck::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use sync_support::{Cli, Server, Snapshot, manifest, runtime_event};

const DEFAULT_RUNS: usize = 200;
const DEFAULT_SEED: u64 = 20_261_123;
const APPS: usize = 3_000;
const EVENTS: usize = 30_000;
const MAX_KILL_DELAY_MS: u64 = 300;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fills the server database with the deterministic scale catalog of
/// `govdeck seed`: apps in every lifecycle state, their requests, and an
/// audit log of `events` events.
fn seed(server: &Server, apps: usize, events: usize, seed: u64) {
    let mut store = Store::open(&server.db_path).unwrap();
    let options = SeedOptions { apps, events, seed, now: server.clock.now() };
    let report = govdeck::seed::seed(&mut store, &options).expect("seed");
    assert_eq!((report.apps, report.events), (apps, events));
}

/// Checks a cache the binary was killed over; returns `(cursor, head seq)`.
fn check_consistent(cache_path: &Path, server_db: &Path, run: usize) -> (u64, u64) {
    if !cache_path.exists() {
        return (0, 0);
    }
    let conn = Connection::open(cache_path).expect("open the cache after a kill");
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "run {run}: integrity_check");
    let migrated: i64 =
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'", [], |r| r.get(0)).unwrap();
    if migrated == 0 {
        return (0, 0);
    }
    let snapshot = Snapshot::of(&conn);
    let cursor = snapshot.cursor();

    // Never ahead of the data: everything the server has at a revision the
    // cursor has passed is in the cache at that revision ...
    let server = Connection::open(server_db).unwrap();
    for (table, cached) in [("apps", &snapshot.apps), ("approvals", &snapshot.approvals)] {
        let cached: HashMap<&str, i64> = cached.iter().map(|(id, rev, _)| (id.as_str(), *rev)).collect();
        let mut stmt = server.prepare(&format!("SELECT id, rev FROM {table} WHERE rev <= ?1")).unwrap();
        let passed: Vec<(String, i64)> =
            stmt.query_map([cursor as i64], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        for (id, rev) in &passed {
            assert_eq!(cached.get(id.as_str()), Some(rev), "run {run}: {table} {id} at rev {rev} <= cursor {cursor}");
        }
        // ... and nothing in the cache is newer than the cursor.
        assert!(cached.values().all(|rev| *rev as u64 <= cursor), "run {run}: {table} newer than cursor {cursor}");
    }

    // The audit head is the last cached event, and the events before it are all there.
    let (head_seq, head_hash) = snapshot.head();
    match snapshot.audit.last() {
        Some((seq, _, hash)) => assert_eq!((*seq as u64, hash.as_str()), (head_seq, head_hash.as_str()), "run {run}"),
        None => assert_eq!(head_seq, 0, "run {run}: a head without events"),
    }
    assert_eq!(snapshot.audit.len() as u64, head_seq, "run {run}: events 1..=head, no gaps");
    (cursor, head_seq)
}

/// The names of the cache's indexes.
fn indexes(cache_path: &Path) -> Vec<String> {
    let conn = Connection::open(cache_path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").unwrap();
    stmt.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_sync_at_random_moments_never_corrupts_the_cache() {
    let runs = env_or("GOVDECK_CRASH_RUNS", DEFAULT_RUNS);
    let seed_value = env_or("GOVDECK_CRASH_SEED", DEFAULT_SEED);
    let max_delay_ms = env_or("GOVDECK_CRASH_MAX_DELAY_MS", MAX_KILL_DELAY_MS);
    let mut rng = StdRng::seed_from_u64(seed_value);

    let started = Instant::now();
    let mut server = Server::create();
    seed(&server, APPS, EVENTS, seed_value);
    server.run().await;
    let seeded = started.elapsed();
    let cli = Cli::new(&server.url(), &server.token("riley"));

    let mut killed = 0;
    let mut finished = 0;
    let mut progress = Vec::new();
    for run in 0..runs {
        // New work now and then, so later runs have something to pull too.
        if run > 0 && rng.random_bool(0.5) {
            let (app, _) = server.intake("olive", &manifest(&format!("late-{run}"), None, "medium")).await;
            let id = app["id"].as_str().unwrap();
            let events: Vec<_> = (0..rng.random_range(1..400)).map(|_| runtime_event(id, "data.export")).collect();
            server.ingest(&events).await;
        }
        let delay = Duration::from_millis(rng.random_range(0..=max_delay_ms));
        let mut child = cli.command(&["sync"]).spawn().expect("spawn govdeck sync");
        tokio::select! {
            status = child.wait() => {
                let status = status.unwrap();
                assert!(status.success(), "run {run}: sync failed on its own: {status}");
                finished += 1;
            }
            _ = tokio::time::sleep(delay) => {
                child.kill().await.expect("SIGKILL");
                killed += 1;
            }
        }
        progress.push((delay.as_millis(), check_consistent(&cli.cache_path(), &server.db_path, run)));
    }
    eprintln!(
        "{runs} runs (seed {seed_value}): {killed} killed, {finished} finished; (delay ms, (cursor, head)): {progress:?}"
    );

    // One sync to the end, then compare with a clean full sync.
    cli.run(&["sync"]).await.expect(0);
    check_consistent(&cli.cache_path(), &server.db_path, runs);
    let fresh = Cli::new(&server.url(), &server.token("riley"));
    fresh.run(&["sync"]).await.expect(0);
    let crashed = Snapshot::read(&cli.cache_path());
    let clean = Snapshot::read(&fresh.cache_path());
    assert_eq!(crashed.apps, clean.apps, "same apps, byte for byte");
    assert_eq!(crashed.approvals, clean.approvals, "same requests, byte for byte");
    assert_eq!(crashed.audit, clean.audit, "same audit seq/event/hash list");
    assert_eq!(crashed.head(), clean.head());
    assert_eq!(crashed.cursor(), clean.cursor());
    assert!(clean.apps.len() >= APPS && clean.audit.len() >= EVENTS, "{}", clean.summary());
    // A first sync drops the secondary indexes while it loads; a kill then
    // must not leave a cache without them.
    assert_eq!(indexes(&cli.cache_path()), indexes(&fresh.cache_path()), "the same indexes as a clean sync");
    let cache = Cache::open(&cli.cache_path()).unwrap();
    assert_eq!(cache::audit::verify(cache.conn()).unwrap().result, Ok(()));
    eprintln!("seeded in {seeded:?}; whole test {:?}; final cache {}", started.elapsed(), crashed.summary());
    server.stop().await;
}
