//! Shared helpers of the server integration tests: a [`TestServer`] that runs
//! the real catalog server in-process on `127.0.0.1:0` over a temp database
//! with a [`ManualClock`], a cast of users with real bearer tokens, and small
//! HTTP helpers that return status, headers and body together.
//!
//! Each test builds its own server, so tests share nothing and run in parallel.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use govdeck::clock::{Clock, ManualClock};
use govdeck::domain::Role;
use govdeck::server::{self, ServerState};
use govdeck::store::{Store, users};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The database file inside the test's temp directory.
pub const DB_FILE: &str = "govdeck.db";

/// The users every test server starts with: name and roles.
pub const CAST: &[(&str, &[Role])] = &[
    ("riley", &[Role::Reviewer]),
    ("rosa", &[Role::Reviewer]),
    ("pat", &[Role::Lead]),
    ("olive", &[Role::Owner]),
    ("omar", &[Role::Owner]),
    ("ingo", &[Role::Ingest]),
    ("ada", &[Role::Admin]),
];

/// Where every test clock starts: a Monday morning, UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// One answer: status, headers and the raw body.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("{} answered a body that is not JSON ({err}): {:?}", self.status, self.text))
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self.json()
    }

    /// Asserts an error answer: the status and `{"error":{"code":..,"message":..}}`
    /// with a non-empty message (and a non-empty `problems` list beside it
    /// for `invalid_manifest`); returns the code.
    pub fn expect_error(&self, status: u16) -> String {
        let body = self.expect(status);
        let error = body.get("error").unwrap_or_else(|| panic!("no `error` in {body}"));
        let code = error["code"].as_str().unwrap_or_else(|| panic!("no error.code in {body}"));
        let message = error["message"].as_str().unwrap_or_else(|| panic!("no error.message in {body}"));
        assert!(!code.is_empty() && !message.is_empty(), "empty code or message in {body}");
        // Beside it only the `problems` of a refused manifest or policy.
        let extra = usize::from(
            matches!(code, "invalid_manifest" | "invalid_policy")
                && body["problems"].as_array().is_some_and(|p| !p.is_empty()),
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(1 + extra), "only `error` at the top level: {body}");
        code.to_string()
    }

    /// Asserts an error answer with this exact code.
    pub fn expect_code(&self, status: u16, code: &str) {
        assert_eq!(self.expect_error(status), code, "body: {}", self.text);
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The real server on a loopback port, with its clock, its state (for
/// `run_lifecycle`) and the tokens of its users.
pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub state: ServerState,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    dir: TempDir,
    users_db: Mutex<Store>,
    tokens: Mutex<HashMap<String, String>>,
    /// Sending (or dropping, when a test ends without [`TestServer::stop`])
    /// stops the server.
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server over a new temp database with the [`CAST`] as users.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join(DB_FILE);
        let clock = Arc::new(ManualClock::new(t0()));
        let state = ServerState::open(&db_path, clock.clone()).expect("open server state");
        let users_db = Store::open(&db_path).expect("open users connection");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        // The background job runs once at start (nothing to do) and then
        // never again within a test: tests drive the lifecycle themselves.
        let task = tokio::spawn(server::serve(listener, state.clone(), Duration::from_secs(86_400 * 365), async {
            let _ = stop_rx.await;
        }));
        govdeck::tls::install_default_provider();
        let client =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().expect("http client");
        let server = TestServer {
            addr,
            clock,
            state,
            client,
            db_path,
            dir,
            users_db: Mutex::new(users_db),
            tokens: Mutex::new(HashMap::new()),
            shutdown: Some(stop_tx),
            task: Some(task),
        };
        for (name, roles) in CAST {
            server.add_user(name, roles);
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `name` with `roles` straight in the database (as `govdeck
    /// user add` would) and returns its token.
    pub fn add_user(&self, name: &str, roles: &[Role]) -> String {
        let token = {
            let store = self.users_db.lock().unwrap();
            users::add(store.conn(), name, roles, self.clock.now()).expect("add user")
        };
        self.tokens.lock().unwrap().insert(name.to_string(), token.clone());
        token
    }

    pub fn revoke_user(&self, name: &str) {
        let store = self.users_db.lock().unwrap();
        assert!(users::revoke(store.conn(), name, self.clock.now()).expect("revoke"), "{name} was active");
    }

    pub fn token(&self, user: &str) -> String {
        self.tokens.lock().unwrap().get(user).cloned().unwrap_or_else(|| panic!("no user {user:?}"))
    }

    /// Sends a request as `user` (no Authorization header when `None`).
    pub async fn send(
        &self,
        method: Method,
        user: Option<&str>,
        path: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Resp {
        let mut request = self.client.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(self.token(user));
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        into_resp(request.send().await.expect("request reaches the server")).await
    }

    pub async fn get(&self, user: &str, path: &str) -> Resp {
        self.send(Method::GET, Some(user), path, None, None).await
    }

    pub async fn post(&self, user: &str, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, Some(user), path, Some(body.to_string().into_bytes()), None).await
    }

    pub async fn post_raw(&self, user: &str, path: &str, body: impl Into<Vec<u8>>) -> Resp {
        self.send(Method::POST, Some(user), path, Some(body.into()), None).await
    }

    pub async fn post_keyed(&self, user: &str, path: &str, body: &Value, key: &str) -> Resp {
        self.send(Method::POST, Some(user), path, Some(body.to_string().into_bytes()), Some(key)).await
    }

    /// `POST /v1/intake` as `user`; asserts a 201 and returns `(app, approval)`.
    pub async fn intake(&self, user: &str, manifest: &Value) -> (Value, Value) {
        let body = self.post(user, "/v1/intake", manifest).await.expect(201);
        (body["app"].clone(), body["approval"].clone())
    }

    pub async fn decide(&self, user: &str, approval: &Value, decision: &str, comment: &str) -> Resp {
        self.decide_at(user, approval["id"].as_str().unwrap(), decision, comment, approval["rev"].as_u64().unwrap())
            .await
    }

    pub async fn decide_at(&self, user: &str, approval_id: &str, decision: &str, comment: &str, rev: u64) -> Resp {
        let body = json!({"decision": decision, "comment": comment, "rev": rev});
        self.post(user, &format!("/v1/approvals/{approval_id}/decisions"), &body).await
    }

    pub async fn renew(&self, user: &str, app_id: &str, body: &Value) -> Resp {
        self.post(user, &format!("/v1/apps/{app_id}/renewals"), body).await
    }

    /// `GET /v1/audit/head` as a reviewer: `(seq, hash)`.
    pub async fn head(&self) -> (u64, String) {
        let head = self.get("riley", "/v1/audit/head").await.expect(200);
        (head["seq"].as_u64().unwrap(), head["hash"].as_str().unwrap().to_string())
    }

    /// Every change `user` may read, following `next` until `more` is false.
    pub async fn all_changes(&self, user: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut since = 0;
        loop {
            let page = self.get(user, &format!("/v1/changes?since={since}&limit=1000")).await.expect(200);
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            since = page["next"].as_u64().unwrap();
            if !page["more"].as_bool().unwrap() {
                return items;
            }
        }
    }

    /// Every audit event `user` may read.
    pub async fn all_audit(&self, user: &str) -> Vec<Value> {
        let mut events: Vec<Value> = Vec::new();
        let mut after = 0;
        loop {
            let page = self.get(user, &format!("/v1/audit?after={after}&limit=1000")).await.expect(200);
            events.extend(page["events"].as_array().unwrap().iter().cloned());
            after = events.last().map_or(after, |event| event["seq"].as_u64().unwrap());
            if !page["more"].as_bool().unwrap() {
                return events;
            }
        }
    }

    /// The newest version of app `id` as a reviewer reads it through `/v1/changes`.
    pub async fn app(&self, id: &str) -> Value {
        self.all_changes("riley")
            .await
            .into_iter()
            .rfind(|item| item["kind"] == "app" && item["id"] == id && item["op"] == "upsert")
            .map(|item| item["data"].clone())
            .unwrap_or_else(|| panic!("app {id} not in /v1/changes"))
    }

    /// The newest version of approval `id` as a reviewer reads it.
    pub async fn approval(&self, id: &str) -> Value {
        self.all_changes("riley")
            .await
            .into_iter()
            .rfind(|item| item["kind"] == "approval" && item["id"] == id && item["op"] == "upsert")
            .map(|item| item["data"].clone())
            .unwrap_or_else(|| panic!("approval {id} not in /v1/changes"))
    }

    /// Moves the clock and runs one lifecycle pass; returns the steps taken.
    pub async fn advance_days(&self, days: i64) -> usize {
        self.clock.advance(chrono::Duration::days(days));
        self.state.run_lifecycle().await.expect("lifecycle pass")
    }

    /// Stops the server cleanly (in-flight requests finish, the lifecycle job
    /// ends) and closes every connection to the database; returns the temp
    /// directory, which holds the database at [`DB_FILE`].
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let served = tokio::time::timeout(Duration::from_secs(10), task).await;
            served.expect("server stops within 10 s").expect("server task").expect("server ran without error");
        }
        let TestServer { dir, state, users_db, .. } = self;
        drop(state);
        drop(users_db);
        dir
    }
}

async fn into_resp(response: reqwest::Response) -> Resp {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("read the body");
    Resp { status, headers, text }
}

/// The intake example of docs/api.md (owner `olive`): pii, 250 users, external
/// API, sandboxed: score 90, high.
pub fn design_example() -> Value {
    json!({"name":"sales-quoting","purpose":"Quotes from the CRM","owner":"olive",
        "team":"sales-ops","sponsor":"vp-sales","cost_center":"CC-1042",
        "data_classification":"pii","expected_users":250,
        "external_connectivity":"external_api","execution_environment":"sandboxed",
        "connectors":["salesforce"],"endpoints":["https://quotes.internal"],
        "secrets":["crm-api-key"],"environments":["production"],
        "lifecycle_tier":"standard","ttl_class":"supported","retention_days":365,
        "monthly_budget":200,
        "controls":{"otel":true,"backups":true,"sbom":false,"secrets_in_vault":true,"dlp":false}})
}

/// A manifest without an owner (so it defaults to the caller) scoring
/// `internal 10 + users 10 + saas 10 = 30`: medium.
pub fn medium_manifest(name: &str) -> Value {
    json!({"name": name, "purpose": "Tracks team holidays", "team": "people-ops",
        "sponsor": "vp-people", "cost_center": "CC-7",
        "data_classification": "internal", "expected_users": 40,
        "external_connectivity": "saas_connector", "execution_environment": "sandboxed",
        "lifecycle_tier": "tactical", "ttl_class": "supported",
        "controls": {"otel": true, "secrets_in_vault": true}})
}

/// A low-risk manifest (public, 5 users, no connectivity: score 0) with the
/// given TTL class and controls; no owner, so it defaults to the caller.
pub fn low_manifest(name: &str, ttl_class: &str, vault_and_otel: bool) -> Value {
    json!({"name": name, "purpose": "Lunch menu", "team": "facilities",
        "data_classification": "public", "expected_users": 5,
        "external_connectivity": "none", "execution_environment": "sandboxed",
        "lifecycle_tier": "ephemeral", "ttl_class": ttl_class,
        "controls": {"otel": vault_and_otel, "secrets_in_vault": vault_and_otel}})
}

/// Parses an RFC 3339 timestamp from a JSON value.
pub fn ts(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|err| panic!("{text:?}: {err}")).to_utc()
}
