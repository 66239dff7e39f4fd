//! Shared helpers of the signed-checkpoint tests (`tests/checkpoints_*.rs`):
//! a catalog server that signs a checkpoint every `every` events (a small
//! number, so a test sees several), with its key file where the test says
//! and the background job at the interval the test says, on a
//! [`ManualClock`]; ways to tamper with a copy of its database; and the
//! checks a client would make of what it serves.
//!
//! Everything listens on `127.0.0.1`; each test builds its own server.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use govdeck::clock::ManualClock;
use govdeck::domain::AuditEvent;
use govdeck::domain::api::AuditHead;
use govdeck::domain::audit::GENESIS_HASH;
use govdeck::domain::checkpoint::{Checkpoint, PublicKey, ServerKey};
use govdeck::domain::{Role, Visibility};
use govdeck::server::{self, ServerOptions, ServerState};
use govdeck::store::{self, Store, users};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DB_FILE: &str = "catalog.db";

/// Where every test clock starts.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// How a [`SignedServer`] runs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Sign every this many events.
    pub every: u64,
    /// The key file; `<db>.key` when `None`.
    pub key_file: Option<PathBuf>,
    /// How often the background job (lifecycle and hourly checkpoint) runs.
    pub job_every: Duration,
}

impl Setup {
    pub fn every(every: u64) -> Setup {
        // The job runs once at start and then not again within a test.
        Setup { every, key_file: None, job_every: Duration::from_secs(86_400 * 365) }
    }
}

/// The real server over a database in a temp directory.
pub struct SignedServer {
    pub dir: TempDir,
    pub db_path: PathBuf,
    pub clock: Arc<ManualClock>,
    pub state: ServerState,
    pub addr: SocketAddr,
    http: reqwest::Client,
    tokens: HashMap<String, String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SignedServer {
    /// A new database with a reviewer (`riley`) and an ingest user (`ingo`).
    pub async fn start(setup: Setup) -> SignedServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join(DB_FILE);
        let mut tokens = HashMap::new();
        {
            let store = Store::open(&db_path).expect("open db");
            for (name, role) in [("riley", Role::Reviewer), ("ingo", Role::Ingest)] {
                tokens.insert(name.to_string(), users::add(store.conn(), name, &[role], t0()).expect("add user"));
            }
        }
        SignedServer::serve(dir, tokens, Arc::new(ManualClock::new(t0())), setup).await
    }

    /// Serves the database in `dir` (again).
    pub async fn serve(
        dir: TempDir,
        tokens: HashMap<String, String>,
        clock: Arc<ManualClock>,
        setup: Setup,
    ) -> SignedServer {
        let db_path = dir.path().join(DB_FILE);
        let options = ServerOptions { key_file: setup.key_file.clone(), checkpoint_every: setup.every, origin: None };
        let state = ServerState::open_with(&db_path, clock.clone(), &options).expect("open server state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state.clone(), setup.job_every, async {
            let _ = stopped.await;
        }));
        govdeck::tls::install_default_provider();
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().expect("client");
        SignedServer { dir, db_path, clock, state, addr, http, tokens, stop: Some(stop), task: Some(task) }
    }

    /// Stops serving and closes the database; returns what a restart needs.
    pub async fn stop(mut self) -> (TempDir, HashMap<String, String>, Arc<ManualClock>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("stops within 20 s")
                .expect("server task")
                .expect("server ran without error");
        }
        let SignedServer { dir, tokens, clock, state, .. } = self;
        drop(state);
        (dir, tokens, clock)
    }

    /// Stops and serves the same database again with `setup`.
    pub async fn restart(self, setup: Setup) -> SignedServer {
        let (dir, tokens, clock) = self.stop().await;
        SignedServer::serve(dir, tokens, clock, setup).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join(format!("{DB_FILE}.key"))
    }

    /// GET `path` as `user` (no token when `None`): status and JSON body.
    pub async fn get(&self, user: Option<&str>, path: &str) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(&self.tokens[user]);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Posts `count` runtime events in one call; returns the new head seq.
    pub async fn ingest(&self, count: usize) -> u64 {
        let events: Vec<Value> =
            (0..count).map(|n| json!({"action_type": "data.export", "resource_id": format!("r{n}")})).collect();
        let response = self
            .http
            .post(self.url("/v1/audit/events"))
            .bearer_auth(&self.tokens["ingo"])
            .json(&json!({ "events": events }))
            .send()
            .await
            .expect("ingest");
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.expect("JSON");
        body["head"]["seq"].as_u64().expect("head seq")
    }

    /// The key `GET /v1/audit/key` serves.
    pub async fn key(&self) -> (ServerKey, PublicKey) {
        let (status, body) = self.get(None, "/v1/audit/key").await;
        assert_eq!(status, 200, "{body}");
        let wire: ServerKey = serde_json::from_value(body).expect("a ServerKey");
        let key = PublicKey::from_wire(&wire).expect("a valid key");
        (wire, key)
    }

    /// Every checkpoint the server serves, oldest first.
    pub async fn checkpoints(&self) -> Vec<Checkpoint> {
        let (status, body) = self.get(Some("riley"), "/v1/audit/checkpoints?limit=5000").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["more"], false);
        serde_json::from_value(body["checkpoints"].clone()).expect("checkpoints")
    }

    /// Every event, by a reviewer.
    pub fn events(&self) -> Vec<AuditEvent> {
        events_of(&self.db_path)
    }
}

pub fn events_of(db: &Path) -> Vec<AuditEvent> {
    let store = Store::open_read_only(db).expect("open db");
    store::audit::page(store.conn(), 0, 1_000_000, &Visibility::All).expect("events").0
}

/// Polls `check` every 20 ms for up to 10 s.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within 10 s");
}

/// Copies the database (and its WAL, if any) to `name` in `dir`; no key file.
pub fn copy_db(db: &Path, dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    // A checkpointed copy, so the copy needs no WAL.
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint the WAL");
    drop(conn);
    std::fs::copy(db, &target).expect("copy db");
    target
}

pub fn tamper(db: &Path, f: impl FnOnce(&rusqlite::Connection)) {
    let conn = rusqlite::Connection::open(db).expect("open copy");
    f(&conn);
}

/// Cuts the log after `keep` and moves the head in `meta` to match, so the
/// chain on its own looks whole.
pub fn truncate_with_head(db: &Path, keep: u64) {
    tamper(db, |conn| {
        conn.execute("DELETE FROM audit WHERE seq > ?1", [keep as i64]).unwrap();
        let hash: String =
            conn.query_row("SELECT hash FROM audit WHERE seq = ?1", [keep as i64], |r| r.get(0)).unwrap();
        store::audit::set_head(conn, &AuditHead { seq: keep, hash }).unwrap();
    });
}

/// Edits event `seq` and recomputes every hash from the start, moving the
/// head: a wholesale, consistent rewrite the chain alone cannot tell.
pub fn rewrite_all(db: &Path, seq: u64) {
    let mut events = events_of(db);
    tamper(db, |conn| {
        let mut prev = GENESIS_HASH.to_string();
        for event in &mut events {
            if event.seq == seq {
                event.actor_id = "mallory".into();
            }
            event.prev_hash = prev;
            event.hash = event.compute_hash();
            prev = event.hash.clone();
            conn.execute(
                "UPDATE audit SET actor_id = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
                rusqlite::params![event.actor_id, event.prev_hash, event.hash, event.seq as i64],
            )
            .unwrap();
        }
        let last = events.last().unwrap();
        store::audit::set_head(conn, &AuditHead { seq: last.seq, hash: last.hash.clone() }).unwrap();
    });
}

/// What `store::audit::verify` says of the chain alone.
pub fn chain_alone_ok(db: &Path) -> bool {
    let store = Store::open_read_only(db).expect("open");
    store::audit::verify(store.conn()).expect("verify").result.is_ok()
}

/// Runs `govdeck audit verify --db DB [--key-file F]…`: exit code and stdout.
pub fn verify_cli(db: &Path, key_files: &[&Path]) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_govdeck"));
    command.args(["audit", "verify", "--db"]).arg(db).env("NO_COLOR", "1");
    for key in key_files {
        command.arg("--key-file").arg(key);
    }
    let output = command.output().expect("run govdeck audit verify");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.code(), format!("{stdout}{stderr}"))
}
