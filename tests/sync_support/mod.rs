//! Shared helpers of the sync tests (`tests/sync_*.rs`): a catalog server
//! that can be stopped and started again on the same port over the same
//! database (the offline-queue and history tests need that, which
//! `tests/common` does not offer), manifests of each risk tier, a
//! [`Syncer`] over a temp cache, a [`Snapshot`] of everything a cache holds
//! (to prove a failed sync changed nothing), the server's own view of what a
//! user may read (to compare a cache with), and the real binary run with the
//! environment the scriptable commands read. The server can also serve
//! HTTPS ([`Server::start_tls`]).
//!
//! Everything listens on `127.0.0.1`; each test builds its own server.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod proxy;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use govdeck::cache::Cache;
use govdeck::clock::{Clock, ManualClock};
use govdeck::config::settings::Token;
use govdeck::domain::Role;
use govdeck::server::{self, ServerState};
use govdeck::store::{Store, users};
use govdeck::sync::client::Client;
use govdeck::sync::engine::{SyncError, SyncReport, Syncer};
use rusqlite::Connection;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The users every sync test server starts with.
pub const CAST: &[(&str, &[Role])] = &[
    ("riley", &[Role::Reviewer]),
    ("rosa", &[Role::Reviewer]),
    ("pat", &[Role::Lead]),
    ("olive", &[Role::Owner]),
    ("omar", &[Role::Owner]),
    ("ingo", &[Role::Ingest]),
];

/// The lifecycle job runs once when the server starts and then not again
/// within a test.
const LIFECYCLE_EVERY: Duration = Duration::from_secs(86_400 * 365);

struct Running {
    state: ServerState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// The real catalog server over a temp database, stoppable and restartable
/// on the same port.
pub struct Server {
    dir: TempDir,
    pub db_path: PathBuf,
    /// Port 0 until the first start; the same port after every restart.
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    tokens: Mutex<HashMap<String, String>>,
    http: reqwest::Client,
    /// Serve HTTPS with this config when set.
    tls: Option<Arc<rustls::ServerConfig>>,
    running: Option<Running>,
}

impl Server {
    /// A new database with the [`CAST`] as users; not serving yet.
    pub fn create() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("server.db");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        govdeck::tls::install_default_provider();
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("client");
        let server = Server {
            dir,
            db_path,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock,
            tokens: Mutex::new(HashMap::new()),
            http,
            tls: None,
            running: None,
        };
        for (name, roles) in CAST {
            server.add_user(name, roles);
        }
        server
    }

    /// A new server, serving on a fresh loopback port.
    pub async fn start() -> Server {
        let mut server = Server::create();
        server.run().await;
        server
    }

    /// A new server serving HTTPS with `tls` on a fresh loopback port; the
    /// helpers' own requests trust `trust`.
    pub async fn start_tls(tls: Arc<rustls::ServerConfig>, trust: &govdeck::tls::ClientTrust) -> Server {
        let mut server = Server::create();
        server.tls = Some(tls);
        server.http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .tls_backend_preconfigured(trust.client_config(true).expect("client TLS config"))
            .build()
            .expect("client");
        server.run().await;
        server
    }

    /// Serves on the port it had (a fresh one the first time).
    pub async fn run(&mut self) {
        assert!(self.running.is_none(), "already serving");
        let state = ServerState::open(&self.db_path, self.clock.clone()).expect("open server state");
        let listener = bind(self.addr).await;
        self.addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let task = match &self.tls {
            Some(tls) => {
                tokio::spawn(server::serve_tls(listener, tls.clone(), state.clone(), LIFECYCLE_EVERY, shutdown))
            }
            None => tokio::spawn(server::serve(listener, state.clone(), LIFECYCLE_EVERY, shutdown)),
        };
        self.running = Some(Running { state, stop, task });
    }

    /// Stops serving (the port is free and every database connection of the
    /// server closed when this returns); the database file stays.
    pub async fn stop(&mut self) {
        let Running { state, stop, task } = self.running.take().expect("serving");
        let _ = stop.send(());
        let served = tokio::time::timeout(Duration::from_secs(20), task).await;
        served.expect("server stops within 20 s").expect("server task").expect("server ran without error");
        drop(state);
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `name` straight in the database (as `govdeck users add` does).
    pub fn add_user(&self, name: &str, roles: &[Role]) -> String {
        let token = self.write(|conn| users::add(conn, name, roles, Utc::now()).expect("add user"));
        self.tokens.lock().unwrap().insert(name.to_string(), token.clone());
        token
    }

    /// Revokes `name` and issues a new token with `roles` (a role change).
    pub fn change_roles(&self, name: &str, roles: &[Role]) -> String {
        self.write(|conn| assert!(users::revoke(conn, name, Utc::now()).expect("revoke"), "{name} was active"));
        self.add_user(name, roles)
    }

    pub fn token(&self, user: &str) -> String {
        self.tokens.lock().unwrap().get(user).cloned().unwrap_or_else(|| panic!("no user {user:?}"))
    }

    /// Runs `f` in one write transaction on a connection of its own (the
    /// server may be running: SQLite serialises the writers).
    pub fn write<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let mut store = Store::open(&self.db_path).expect("open server db");
        store.write(|conn| Ok::<_, govdeck::store::StoreError>(f(conn))).expect("write server db")
    }

    pub async fn send(&self, method: reqwest::Method, user: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url())).bearer_auth(self.token(user));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap_or_else(|err| panic!("{path}: {err}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path} answered {status} {text:?}: {err}"));
        (status, value)
    }

    pub async fn get(&self, user: &str, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, user, path, None).await;
        assert_eq!(status, 200, "GET {path} as {user}: {body}");
        body
    }

    pub async fn post(&self, user: &str, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, user, path, Some(body)).await
    }

    /// `POST /v1/intake`; returns the app and the request (`null` when
    /// approved by policy).
    pub async fn intake(&self, user: &str, manifest: &Value) -> (Value, Value) {
        let (status, body) = self.post(user, "/v1/intake", manifest).await;
        assert_eq!(status, 201, "intake as {user}: {body}");
        (body["app"].clone(), body["approval"].clone())
    }

    /// A decision on `approval` at its `rev`; asserts a 200 and returns the request after it.
    pub async fn decide(&self, user: &str, approval: &Value, decision: &str, comment: &str) -> Value {
        let id = approval["id"].as_str().expect("approval id");
        let body = json!({"decision": decision, "comment": comment, "rev": approval["rev"]});
        let (status, answer) = self.post(user, &format!("/v1/approvals/{id}/decisions"), &body).await;
        assert_eq!(status, 200, "{decision} {id} as {user}: {answer}");
        answer["approval"].clone()
    }

    /// Posts runtime events as the ingest user.
    pub async fn ingest(&self, events: &[Value]) {
        let (status, body) = self.post("ingo", "/v1/audit/events", &json!({ "events": events })).await;
        assert_eq!(status, 201, "ingest: {body}");
    }

    /// `(seq, hash)` of the server's newest event.
    pub async fn head(&self) -> (u64, String) {
        let head = self.get("riley", "/v1/audit/head").await;
        (head["seq"].as_u64().unwrap(), head["hash"].as_str().unwrap().to_string())
    }

    /// Every change `user` may read, following `next` until `more` is false.
    pub async fn all_changes(&self, user: &str, since: u64) -> (Vec<Value>, u64) {
        let mut items = Vec::new();
        let mut since = since;
        loop {
            let page = self.get(user, &format!("/v1/changes?since={since}&limit=5000")).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            since = page["next"].as_u64().unwrap();
            if !page["more"].as_bool().unwrap() {
                return (items, since);
            }
        }
    }

    /// What `user` may read of the catalog now, folded from `/v1/changes`.
    pub async fn view(&self, user: &str) -> View {
        let (items, _) = self.all_changes(user, 0).await;
        View::fold(&items)
    }

    /// Every audit event `user` may read.
    pub async fn all_audit(&self, user: &str) -> Vec<Value> {
        let mut events: Vec<Value> = Vec::new();
        let mut after = 0;
        loop {
            let page = self.get(user, &format!("/v1/audit?after={after}&limit=5000")).await;
            events.extend(page["events"].as_array().unwrap().iter().cloned());
            after = events.last().map_or(after, |event| event["seq"].as_u64().unwrap());
            if !page["more"].as_bool().unwrap() {
                return events;
            }
        }
    }
}

/// Binds `addr`, retrying for a while when the port is not free yet.
async fn bind(addr: SocketAddr) -> TcpListener {
    let mut tries = 0;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(err) if tries < 50 => {
                tries += 1;
                eprintln!("bind {addr}: {err}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("bind {addr}: {err}"),
        }
    }
}

/// A manifest of the given risk, owned by `owner` (`None`: the caller).
///
/// * `high`: pii 50 + 250 users 20 + external API 20 = 90 (docs/api.md's intake example)
/// * `medium`: internal 10 + 40 users 10 + SaaS 10 = 30
/// * `low`: public, 5 users, no connectivity, OTel and vault: approved by policy
pub fn manifest(name: &str, owner: Option<&str>, risk: &str) -> Value {
    let mut manifest = match risk {
        "high" => json!({"name": name, "purpose": "Quotes from the CRM", "team": "sales-ops",
            "sponsor": "vp-sales", "cost_center": "CC-1042",
            "data_classification": "pii", "expected_users": 250,
            "external_connectivity": "external_api", "execution_environment": "sandboxed",
            "connectors": ["salesforce"], "endpoints": ["https://quotes.internal"],
            "secrets": ["crm-api-key"], "environments": ["production"],
            "lifecycle_tier": "standard", "ttl_class": "supported", "retention_days": 365,
            "monthly_budget": 200,
            "controls": {"otel": true, "backups": true, "sbom": false, "secrets_in_vault": true, "dlp": false}}),
        "medium" => json!({"name": name, "purpose": "Tracks team holidays", "team": "people-ops",
            "sponsor": "vp-people", "cost_center": "CC-7",
            "data_classification": "internal", "expected_users": 40,
            "external_connectivity": "saas_connector", "execution_environment": "sandboxed",
            "lifecycle_tier": "tactical", "ttl_class": "supported",
            "controls": {"otel": true, "secrets_in_vault": true}}),
        "low" => json!({"name": name, "purpose": "Lunch menu", "team": "facilities",
            "data_classification": "public", "expected_users": 5,
            "external_connectivity": "none", "execution_environment": "sandboxed",
            "lifecycle_tier": "ephemeral", "ttl_class": "prototype",
            "controls": {"otel": true, "secrets_in_vault": true}}),
        other => panic!("no manifest of risk {other:?}"),
    };
    if let Some(owner) = owner {
        manifest["owner"] = json!(owner);
    }
    manifest
}

/// A runtime event about `app_id` as a platform would post it.
pub fn runtime_event(app_id: &str, action_type: &str) -> Value {
    json!({"actor_id": "etl-bot", "actor_role": "service", "app_id": app_id, "action_type": action_type,
        "resource_type": "dataset", "resource_id": "crm.accounts", "environment": "production",
        "outcome": if action_type == "dlp.block" { "blocked" } else { "success" },
        "request_context": {"rows": 1200}})
}

/// Apps and requests by id, as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub apps: BTreeMap<String, Value>,
    pub approvals: BTreeMap<String, Value>,
}

impl View {
    /// Folds change items in order: an upsert stores, a delete removes.
    pub fn fold(items: &[Value]) -> View {
        let mut view = View::default();
        for item in items {
            let id = item["id"].as_str().unwrap().to_string();
            let map = if item["kind"] == "app" { &mut view.apps } else { &mut view.approvals };
            if item["op"] == "upsert" {
                map.insert(id, item["data"].clone());
            } else {
                map.remove(&id);
            }
        }
        view
    }

    /// What a cache database holds.
    pub fn of_cache(path: &Path) -> View {
        let conn = Connection::open(path).expect("open cache");
        let read = |table: &str| -> BTreeMap<String, Value> {
            let mut stmt = conn.prepare(&format!("SELECT id, data FROM {table}")).unwrap();
            stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .unwrap()
                .map(|row| {
                    let (id, data) = row.unwrap();
                    (id, serde_json::from_str(&data).unwrap())
                })
                .collect()
        };
        View { apps: read("apps"), approvals: read("approvals") }
    }
}

/// Everything a cache database holds, row by row, for byte-for-byte comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `id, rev, data` of every app.
    pub apps: Vec<(String, i64, String)>,
    pub approvals: Vec<(String, i64, String)>,
    /// `seq, event_id, hash` of every audit event.
    pub audit: Vec<(i64, String, String)>,
    pub meta: BTreeMap<String, String>,
    /// `id, status, attempts, idempotency_key` of every outbox row.
    pub outbox: Vec<(i64, String, i64, String)>,
}

impl Snapshot {
    pub fn read(path: &Path) -> Snapshot {
        let conn = Connection::open(path).expect("open cache");
        Snapshot::of(&conn)
    }

    pub fn of(conn: &Connection) -> Snapshot {
        let entries = |table: &str| -> Vec<(String, i64, String)> {
            let mut stmt = conn.prepare(&format!("SELECT id, rev, data FROM {table} ORDER BY id")).unwrap();
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let audit = conn
            .prepare("SELECT seq, event_id, hash FROM audit ORDER BY seq")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let meta = conn
            .prepare("SELECT key, value FROM meta")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let outbox = conn
            .prepare("SELECT id, status, attempts, idempotency_key FROM outbox ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        Snapshot { apps: entries("apps"), approvals: entries("approvals"), audit, meta, outbox }
    }

    /// The changes cursor (0 before the first sync).
    pub fn cursor(&self) -> u64 {
        self.meta.get("changes_next").map_or(0, |v| v.parse().unwrap())
    }

    /// The verified audit head: `(seq, hash)`.
    pub fn head(&self) -> (u64, String) {
        (
            self.meta.get("audit_head_seq").map_or(0, |v| v.parse().unwrap()),
            self.meta.get("audit_head_hash").cloned().unwrap_or_default(),
        )
    }

    /// Row counts and a SHA-256 over every data column, for messages.
    pub fn summary(&self) -> String {
        let mut hasher = Sha256::new();
        for (id, rev, data) in self.apps.iter().chain(&self.approvals) {
            hasher.update(format!("{id}\0{rev}\0{data}\0"));
        }
        for (seq, id, hash) in &self.audit {
            hasher.update(format!("{seq}\0{id}\0{hash}\0"));
        }
        format!(
            "{} apps, {} approvals, {} events, cursor {}, head {:?}, sha256 {}",
            self.apps.len(),
            self.approvals.len(),
            self.audit.len(),
            self.cursor(),
            self.head().0,
            &hex::encode(hasher.finalize())[..16]
        )
    }
}

/// A syncer for `user` of `server_url` (the server, or a proxy in front of
/// it) over the cache at `cache_path`.
pub fn syncer(server_url: &str, token: &str, cache_path: &Path) -> Syncer {
    let client = Client::new(server_url, &Token::new(token)).expect("client");
    let cache = Cache::open(cache_path).expect("open cache");
    Syncer::new(client, Arc::new(Mutex::new(cache)))
}

/// One sync round without progress output.
pub async fn sync(syncer: &Syncer) -> Result<SyncReport, SyncError> {
    syncer.sync_once(&|_| {}).await
}

/// A temp directory for caches; `path(name)` names a cache file in it.
pub struct Caches {
    pub dir: TempDir,
}

impl Caches {
    pub fn new() -> Caches {
        Caches { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.sqlite"))
    }
}

/// The real `govdeck` binary with the environment of one user.
pub struct Cli {
    pub server: String,
    pub token: Option<String>,
    pub cache_dir: PathBuf,
    pub config_dir: PathBuf,
    _dir: TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code; returns stdout.
    pub fn expect(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "unexpected exit code\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }
}

impl Cli {
    pub fn new(server: &str, token: &str) -> Cli {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache_dir = dir.path().join("cache");
        let config_dir = dir.path().join("config");
        std::fs::create_dir_all(&config_dir).unwrap();
        Cli { server: server.to_string(), token: Some(token.to_string()), cache_dir, config_dir, _dir: dir }
    }

    /// The cache database the binary uses for this server and token.
    pub fn cache_path(&self) -> PathBuf {
        govdeck::config::paths::cache_file(&self.cache_dir, &self.server, self.token.as_deref().unwrap_or(""))
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_govdeck"));
        command
            .args(args)
            .env("GOVDECK_SERVER", &self.server)
            .env("GOVDECK_CACHE_DIR", &self.cache_dir)
            .env("GOVDECK_CONFIG_DIR", &self.config_dir)
            .env("NO_COLOR", "1")
            .env_remove("GOVDECK_LOG")
            .env_remove("GOVDECK_CA_FILE")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        match &self.token {
            Some(token) => command.env("GOVDECK_TOKEN", token),
            None => command.env_remove("GOVDECK_TOKEN"),
        };
        command
    }

    /// Runs `govdeck ARGS` to completion (at most 60 s).
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[]).await
    }

    /// Runs `govdeck ARGS` with these environment variables set too.
    pub async fn run_with_env(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("spawn govdeck");
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("govdeck {args:?} did not finish within 60 s"))
            .expect("govdeck output");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The server's clock, for events the tests write themselves.
pub fn now(server: &Server) -> chrono::DateTime<Utc> {
    server.clock.now()
}
