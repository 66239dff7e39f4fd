//! What the benchmarks share: the sizes (from the environment), a server
//! database filled by the real seed (`govdeck seed`), and a "world" in which
//! that database is served on a loopback port in this process and synced
//! into a console cache by the real sync engine, so the cache benchmarks
//! read exactly the rows a user's cache holds.
//!
//! Sizes:
//! * `GOVDECK_BENCH_QUICK=1`: 2,000 apps and 20,000 audit events (CI runs
//!   this so the benchmarks cannot rot; no timing is asserted anywhere);
//! * else `GOVDECK_BENCH_APPS` (default 100,000) and `GOVDECK_BENCH_EVENTS`
//!   (default 1,000,000), the sizes of the performance targets.
//!
//! Everything lives in a temporary directory (`govdeck-bench-*`), which each
//! bench's `main` removes with [`remove`] after the run (statics are never
//! dropped); the server listens on `127.0.0.1:0` only.

#![allow(dead_code)] // each bench binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use govdeck::cache::Cache;
use govdeck::clock::{Clock, SystemClock};
use govdeck::config::settings::Token;
use govdeck::domain::App;
use govdeck::seed::{self, SeedOptions};
use govdeck::server::{self, ServerState};
use govdeck::store::Store;
use govdeck::sync::client::Client;
use govdeck::sync::engine::Syncer;
use tempfile::TempDir;

/// Apps and events of the quick (CI) run.
pub const QUICK_APPS: usize = 2_000;
pub const QUICK_EVENTS: usize = 20_000;
/// The sizes of the performance targets.
pub const FULL_APPS: usize = 100_000;
pub const FULL_EVENTS: usize = 1_000_000;
/// The seed of the generator, as `govdeck seed` defaults to.
pub const SEED: u64 = 42;

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub apps: usize,
    pub events: usize,
    pub quick: bool,
}

fn env_usize(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    let value = value.trim().replace('_', "");
    match value.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a number"),
    }
}

/// The sizes asked for by the environment (see the module docs).
pub fn sizes() -> Sizes {
    let quick = std::env::var("GOVDECK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (apps, events) = if quick { (QUICK_APPS, QUICK_EVENTS) } else { (FULL_APPS, FULL_EVENTS) };
    Sizes {
        apps: env_usize("GOVDECK_BENCH_APPS").unwrap_or(apps),
        events: env_usize("GOVDECK_BENCH_EVENTS").unwrap_or(events),
        quick,
    }
}

/// Prints what a bench binary is about to build, and how long it took.
pub fn note(what: &str, started: Instant) {
    eprintln!("[bench setup] {what} in {:.1} s", started.elapsed().as_secs_f64());
}

/// A server database filled by the real seed, with the demo users.
pub struct Seeded {
    pub dir: TempDir,
    pub db: PathBuf,
    /// Each demo user's name and token.
    pub tokens: Vec<(String, String)>,
}

impl Seeded {
    pub fn token(&self, user: &str) -> &str {
        self.tokens.iter().find(|(name, _)| name == user).map(|(_, token)| token.as_str()).expect("demo user")
    }
}

/// Seeds `apps` apps and `events` audit events into a fresh database.
pub fn seeded(apps: usize, events: usize) -> Seeded {
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("govdeck-bench-").tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    let mut store = Store::open(&db).expect("open server db");
    let now = SystemClock.now();
    seed::seed(&mut store, &SeedOptions { apps, events, seed: SEED, now }).expect("seed");
    let tokens = seed::add_demo_users(&mut store, now).expect("demo users");
    drop(store);
    note(&format!("seeded {apps} apps and {events} events"), started);
    Seeded { dir, db, tokens }
}

/// Every app of a server database, as the catalog stores it (by id).
pub fn apps_of(db: &Path) -> Vec<App> {
    let conn = rusqlite::Connection::open(db).expect("open server db");
    let mut stmt = conn.prepare("SELECT data FROM apps ORDER BY id").expect("query apps");
    let rows = stmt.query_map([], |row| row.get::<_, String>(0)).expect("read apps");
    rows.map(|json| serde_json::from_str(&json.expect("row")).expect("app decodes")).collect()
}

/// A seeded server on a loopback port of this process and a reviewer's
/// cache synced from it, with the syncer kept for more rounds.
pub struct World {
    pub seeded: Seeded,
    pub url: String,
    pub cache_path: PathBuf,
    pub syncer: Syncer,
    pub runtime: tokio::runtime::Runtime,
    /// How long the first (full) sync took, in process.
    pub first_sync: Duration,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl World {
    /// Seeds, serves and syncs as `riley` (a reviewer: the whole catalog and chain).
    pub fn build(apps: usize, events: usize) -> World {
        let seeded = seeded(apps, events);
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = ServerState::open(&seeded.db, clock).expect("open server state");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(server::serve(listener, state, Duration::from_secs(86_400), async {
            let _ = stopped.await;
        }));
        let cache_path = seeded.dir.path().join("cache.sqlite");
        let client = Client::new(&url, &Token::new(seeded.token("riley"))).expect("client");
        let cache = Cache::open(&cache_path).expect("open cache");
        let syncer = Syncer::new(client, Arc::new(Mutex::new(cache)));
        let started = Instant::now();
        runtime.block_on(syncer.sync_once(&|_| {})).expect("first sync");
        let first_sync = started.elapsed();
        note("full sync into the cache", started);
        World { seeded, url, cache_path, syncer, runtime, first_sync, stop: Some(stop) }
    }

    /// A read connection of its own on the synced cache.
    pub fn open_cache(&self) -> Cache {
        Cache::open(&self.cache_path).expect("open cache")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The fields the fuzzy filter sees for each app (name, owner, team,
/// purpose), as the console's search index holds them: sanitized.
pub fn search_fields(apps: &[App]) -> Vec<[String; 4]> {
    use govdeck::sanitize::sanitize;
    apps.iter()
        .map(|app| {
            [
                sanitize(&app.name).into_owned(),
                sanitize(&app.owner).into_owned(),
                sanitize(&app.team).into_owned(),
                sanitize(&app.purpose).into_owned(),
            ]
        })
        .collect()
}

/// The moment the fixtures are relative to.
pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

/// Removes a seeded directory once the benchmarks are done with it.
pub fn remove(seeded: &Seeded) {
    let _ = std::fs::remove_dir_all(seeded.dir.path());
}
