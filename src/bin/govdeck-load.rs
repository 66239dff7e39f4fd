//! `govdeck-load`: a bounded load generator for the catalog server.
//!
//! It runs N concurrent clients against a server on this machine for a fixed
//! number of seconds. Each client is one user (tokens are read from a file,
//! one per line, and `GET /v1/me` tells the client who it is), and loops:
//!
//! * `GET /v1/changes` from its own cursor (following `more`), keeping the
//!   pending approval requests and its own apps it saw;
//! * `GET /v1/audit` from its own cursor (following `more`);
//! * reviewers and leads: every `--decide-every` loops, approve a pending
//!   request they may decide, under a fresh `Idempotency-Key`; some of those
//!   are sent twice to check that the retry replays the first answer;
//! * owners: every `--intake-every` loops, file a medium-risk intake (which
//!   feeds the reviewers' queue) and renew one of their active apps.
//!
//! With `--status-rps N` it also asks the status API, as an enforcement
//! point would, at a fixed N requests a second (open loop: a slow answer
//! does not delay the next request), with a platform token of
//! `--status-tokens`: half `GET /v1/apps/{id}/status`, half
//! `GET /v1/status?endpoint=` for apps of the catalog (read once, before
//! the run, with the first token of `--tokens`), and, as the anchor measured
//! in the same run, `GET /v1/health` paced at a tenth of that rate
//! (`health_paced`). Paced calls sent while some client is still walking
//! the whole catalog for the first time (`changes_initial`) are counted
//! apart, under `…_first_sync`: that burst is the busiest the server gets.
//!
//! By default a client starts its next loop as soon as one ends
//! (`--think-ms 0`): the worst case, far busier than consoles, which sync
//! every 15 s.
//!
//! It prints p50/p95/p99 latency per call type, the error rate and the
//! conflicts (a 409 or 412 on a decision is someone else deciding first: an
//! expected outcome, counted apart from errors). It exits 1 when any call
//! failed: a 5xx, a transport error, an unexpected 4xx or a replay that
//! differs from the first answer. It only talks to loopback addresses and
//! stops on its own when the time is up.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use govdeck::domain::api::{AuditHead, AuditPage, ChangeKind, ChangeOp, ChangesPage, Me};
use govdeck::domain::approval::may_decide;
use govdeck::domain::{Actor, App, AppState, Approval, ApprovalStatus, Role};
use rand::Rng;
use rand::seq::IndexedRandom;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde_json::{Value, json};

/// Longest run accepted, so a mistyped duration cannot run away.
const MAX_DURATION_SECS: u64 = 3600;
/// Per-request time limit; a call slower than this counts as a transport error.
const REQUEST_TIMEOUT_SECS: u64 = 30;
/// How many failing calls are described on stderr.
const MAX_ERROR_SAMPLES: usize = 10;
/// Share of decisions sent a second time under the same key, in percent.
const REPLAY_PERCENT: u32 = 10;

#[derive(Debug, Parser)]
#[command(name = "govdeck-load", about = "Bounded load against a govdeck catalog server on this machine")]
struct Args {
    /// Server URL; must be a loopback address (127.0.0.0/8, ::1 or localhost).
    #[arg(long, default_value = "http://127.0.0.1:8470")]
    server: String,
    /// File of bearer tokens, one per line (`TOKEN` or `NAME TOKEN`; `#` starts a comment).
    #[arg(long)]
    tokens: PathBuf,
    /// Concurrent clients; client i uses token i modulo the number of tokens.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Reviewers and leads decide once every this many loops (0: never).
    #[arg(long, default_value_t = 2)]
    decide_every: u32,
    /// Owners file an intake and renew an app once every this many loops (0: never).
    #[arg(long, default_value_t = 10)]
    intake_every: u32,
    /// Page size asked of /v1/changes and /v1/audit.
    #[arg(long, default_value_t = 1000)]
    page_limit: u32,
    /// Pause between loops, in milliseconds.
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
    /// Start every audit cursor at 0 instead of at the current head.
    #[arg(long)]
    audit_from_start: bool,
    /// Print the summary as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also ask the status API this many times a second (0: never); needs --status-tokens.
    #[arg(long, default_value_t = 0)]
    status_rps: u32,
    /// File of platform tokens for the status calls (same format as --tokens).
    #[arg(long, requires = "status_rps")]
    status_tokens: Option<PathBuf>,
}

/// Most status calls a second accepted.
const MAX_STATUS_RPS: u32 = 20_000;

/// An app the status calls ask about: its id and an endpoint it declares.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    endpoint: Option<String>,
}

/// One call type's latencies, in microseconds.
#[derive(Debug, Default)]
struct Latencies(Vec<u64>);

/// What one client (and, merged, the whole run) saw.
#[derive(Debug, Default)]
struct Tally {
    calls: BTreeMap<&'static str, Latencies>,
    server_errors: u64,
    transport_errors: u64,
    unexpected: u64,
    replay_mismatches: u64,
    conflicts: u64,
    decisions: u64,
    replays: u64,
    samples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (name, latencies) in other.calls {
            self.calls.entry(name).or_default().0.extend(latencies.0);
        }
        self.server_errors += other.server_errors;
        self.transport_errors += other.transport_errors;
        self.unexpected += other.unexpected;
        self.replay_mismatches += other.replay_mismatches;
        self.conflicts += other.conflicts;
        self.decisions += other.decisions;
        self.replays += other.replays;
        let room = MAX_ERROR_SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }

    fn errors(&self) -> u64 {
        self.server_errors + self.transport_errors + self.unexpected + self.replay_mismatches
    }

    fn requests(&self) -> u64 {
        self.calls.values().map(|latencies| latencies.0.len() as u64).sum()
    }

    fn sample(&mut self, what: String) {
        if self.samples.len() < MAX_ERROR_SAMPLES {
            self.samples.push(what);
        }
    }
}

/// An answer: status and body.
struct Answer {
    status: StatusCode,
    body: String,
}

/// One simulated user.
struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
    actor: Actor,
    tally: Tally,
    changes_since: u64,
    audit_after: u64,
    /// Pending requests this client may decide, by id.
    pending: HashMap<String, Approval>,
    /// This owner's apps that may be renewed at once, by id.
    renewable: HashMap<String, App>,
    page_limit: u32,
    index: usize,
    counter: u64,
}

impl Client {
    /// Sends one call and records its latency under `name`; `None` (and an
    /// error counted) on a transport failure or a 5xx.
    async fn call(
        &mut self,
        name: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Option<Answer> {
        let url = match self.base.join(path) {
            Ok(url) => url,
            Err(err) => {
                self.tally.unexpected += 1;
                self.tally.sample(format!("{name}: bad path {path:?}: {err}"));
                return None;
            }
        };
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|body| Answer { status, body })
            }
            Err(err) => Err(err),
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.tally.calls.entry(name).or_default().0.push(micros);
        match answer {
            Err(err) => {
                self.tally.transport_errors += 1;
                self.tally.sample(format!("{name} {path}: transport error: {err}"));
                None
            }
            Ok(answer) if answer.status.is_server_error() => {
                self.tally.server_errors += 1;
                self.tally.sample(format!("{name} {path}: {} {}", answer.status, answer.body));
                None
            }
            Ok(answer) => Some(answer),
        }
    }

    /// A 2xx body decoded, or an unexpected answer counted.
    fn decode<T: serde::de::DeserializeOwned>(&mut self, name: &str, answer: &Answer) -> Option<T> {
        if !answer.status.is_success() {
            self.tally.unexpected += 1;
            self.tally.sample(format!("{name}: unexpected {} {}", answer.status, answer.body));
            return None;
        }
        match serde_json::from_str(&answer.body) {
            Ok(value) => Some(value),
            Err(err) => {
                self.tally.unexpected += 1;
                self.tally.sample(format!("{name}: body does not decode ({err}): {:.200}", answer.body));
                None
            }
        }
    }

    fn is_decider(&self) -> bool {
        self.actor.has(Role::Reviewer) || self.actor.has(Role::Lead)
    }

    fn note_approval(&mut self, approval: Approval) {
        let decidable = approval.status == ApprovalStatus::Pending
            && may_decide(&approval, &self.actor, govdeck::domain::policy::Policy::builtin()).is_ok()
            && !approval.decisions.iter().any(|decision| decision.by == self.actor.user);
        if decidable && self.is_decider() {
            self.pending.insert(approval.id.clone(), approval);
        } else {
            self.pending.remove(&approval.id);
        }
    }

    fn note_app(&mut self, app: App) {
        let renewable = matches!(app.state, AppState::Active | AppState::Expiring) && app.owner == self.actor.user;
        if renewable {
            self.renewable.insert(app.id.clone(), app);
        } else {
            self.renewable.remove(&app.id);
        }
    }

    /// Follows `/v1/changes` from the cursor until `more` is false.
    async fn pull_changes(&mut self, name: &'static str) {
        loop {
            let path = format!("/v1/changes?since={}&limit={}", self.changes_since, self.page_limit);
            let Some(answer) = self.call(name, Method::GET, &path, None, None).await else { return };
            let Some(page) = self.decode::<ChangesPage>(name, &answer) else { return };
            for item in &page.items {
                match (item.kind, item.op) {
                    (ChangeKind::Approval, ChangeOp::Upsert) => {
                        if let Some(Ok(approval)) = item.approval() {
                            self.note_approval(approval);
                        }
                    }
                    (ChangeKind::App, ChangeOp::Upsert) => {
                        if let Some(Ok(app)) = item.app() {
                            self.note_app(app);
                        }
                    }
                    (ChangeKind::Approval, ChangeOp::Delete) => {
                        self.pending.remove(&item.id);
                    }
                    (ChangeKind::App, ChangeOp::Delete) => {
                        self.renewable.remove(&item.id);
                    }
                }
            }
            self.changes_since = page.next;
            if !page.more {
                return;
            }
        }
    }

    /// Follows `/v1/audit` from the cursor until `more` is false.
    async fn pull_audit(&mut self) {
        loop {
            let path = format!("/v1/audit?after={}&limit={}", self.audit_after, self.page_limit);
            let Some(answer) = self.call("audit", Method::GET, &path, None, None).await else { return };
            let Some(page) = self.decode::<AuditPage>("audit", &answer) else { return };
            if let Some(last) = page.events.last() {
                self.audit_after = last.seq;
            }
            if !page.more {
                return;
            }
        }
    }

    fn new_key(&mut self) -> String {
        self.counter += 1;
        format!("load-{}-{}-{}", self.index, self.counter, uuid::Uuid::new_v4().simple())
    }

    /// Approves one pending request this client may decide.
    async fn decide_one(&mut self) {
        let chosen = {
            let ids: Vec<&String> = self.pending.keys().collect();
            ids.choose(&mut rand::rng()).map(|id| (*id).clone())
        };
        let Some(id) = chosen else { return };
        let Some(approval) = self.pending.remove(&id) else { return };
        let path = format!("/v1/approvals/{id}/decisions");
        let body = json!({"decision": "approve", "comment": "load test", "rev": approval.rev});
        let key = self.new_key();
        let Some(first) = self.call("decide", Method::POST, &path, Some(&body), Some(&key)).await else { return };
        match first.status {
            StatusCode::OK => {
                self.tally.decisions += 1;
                if rand::rng().random_ratio(REPLAY_PERCENT, 100) {
                    self.tally.replays += 1;
                    if let Some(replay) = self.call("decide_replay", Method::POST, &path, Some(&body), Some(&key)).await
                        && (replay.status != first.status || replay.body != first.body)
                    {
                        self.tally.replay_mismatches += 1;
                        self.tally.sample(format!("replay of {key} answered {} {}", replay.status, replay.body));
                    }
                }
                if let Some(decided) = self.decode::<Value>("decide", &first)
                    && let Ok(approval) = serde_json::from_value::<Approval>(decided["approval"].clone())
                {
                    self.note_approval(approval);
                }
            }
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => self.tally.conflicts += 1,
            other => {
                self.tally.unexpected += 1;
                self.tally.sample(format!("decide {id}: unexpected {other} {}", first.body));
            }
        }
    }

    /// Files a medium-risk intake, then renews one of this owner's active apps.
    async fn intake_and_renew(&mut self) {
        self.counter += 1;
        let manifest = json!({
            "name": format!("load-{}-{}", self.index, self.counter), "purpose": "Load test app",
            "team": "load", "sponsor": "vp-load", "cost_center": "CC-LOAD",
            "data_classification": "internal", "expected_users": 40,
            "external_connectivity": "saas_connector", "execution_environment": "sandboxed",
            "lifecycle_tier": "tactical", "ttl_class": "supported",
            "controls": {"otel": true, "secrets_in_vault": true},
        });
        let key = self.new_key();
        if let Some(answer) = self.call("intake", Method::POST, "/v1/intake", Some(&manifest), Some(&key)).await
            && answer.status != StatusCode::CREATED
        {
            self.tally.unexpected += 1;
            self.tally.sample(format!("intake: unexpected {} {}", answer.status, answer.body));
        }

        let chosen = {
            let ids: Vec<&String> = self.renewable.keys().collect();
            ids.choose(&mut rand::rng()).map(|id| (*id).clone())
        };
        let Some(id) = chosen else { return };
        let key = self.new_key();
        let path = format!("/v1/apps/{id}/renewals");
        let Some(answer) = self.call("renew", Method::POST, &path, Some(&json!({})), Some(&key)).await else { return };
        match answer.status {
            StatusCode::OK => {}
            // The lifecycle job moved the app on first: an outcome, not an error.
            StatusCode::CONFLICT => self.tally.conflicts += 1,
            other => {
                self.tally.unexpected += 1;
                self.tally.sample(format!("renew {id}: unexpected {other} {}", answer.body));
            }
        }
    }
}

/// The apps the status calls ask about, from one walk of `/v1/changes`
/// with `token` (before the run, not timed).
async fn status_targets(http: &reqwest::Client, base: &Url, token: &str, limit: u32) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    let mut since = 0;
    loop {
        let url = base.join(&format!("/v1/changes?since={since}&limit={limit}")).map_err(|err| err.to_string())?;
        let response = http.get(url).bearer_auth(token).send().await.map_err(|err| format!("/v1/changes: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("/v1/changes answered {} to the first token", response.status()));
        }
        let page: ChangesPage = response.json().await.map_err(|err| format!("/v1/changes: {err}"))?;
        for item in &page.items {
            if let (ChangeKind::App, ChangeOp::Upsert, Some(Ok(app))) = (item.kind, item.op, item.app()) {
                targets.push(Target { id: app.id, endpoint: app.endpoints.into_iter().next() });
            }
        }
        since = page.next;
        if !page.more {
            return Ok(targets);
        }
    }
}

/// Percent-encodes a query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// One paced call: its name, latency and, when it failed, why.
type Paced = (&'static str, u64, Option<String>);

/// Asks the status API `rps` times a second (and `/v1/health` at a tenth
/// of that) until `deadline`, each call on its own task so a slow answer
/// never delays the next one.
async fn run_status(
    http: reqwest::Client,
    base: Url,
    tokens: Vec<String>,
    targets: Arc<Vec<Target>>,
    rps: u32,
    deadline: Instant,
    first_syncs: Arc<AtomicUsize>,
) -> Tally {
    let mut tally = Tally::default();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = tokio::task::JoinSet::new();
    let mut tick: u64 = 0;
    while Instant::now() < deadline {
        ticks.tick().await;
        tick += 1;
        let target = &targets[rand::rng().random_range(0..targets.len())];
        let busy = first_syncs.load(Ordering::Relaxed) > 0;
        let (name, path) = match (&target.endpoint, tick.is_multiple_of(2)) {
            (Some(endpoint), true) => (
                if busy { "status_endpoint_first_sync" } else { "status_endpoint" },
                format!("/v1/status?endpoint={}", query_value(endpoint)),
            ),
            _ => (if busy { "status_app_first_sync" } else { "status_app" }, format!("/v1/apps/{}/status", target.id)),
        };
        let token = tokens[(tick as usize) % tokens.len()].clone();
        calls.spawn(paced(http.clone(), base.clone(), name, path, Some(token)));
        if tick.is_multiple_of(10) {
            let name = if busy { "health_paced_first_sync" } else { "health_paced" };
            calls.spawn(paced(http.clone(), base.clone(), name, "/v1/health".into(), None));
        }
        while let Some(done) = calls.try_join_next() {
            record_paced(&mut tally, done);
        }
    }
    while let Some(done) = calls.join_next().await {
        record_paced(&mut tally, done);
    }
    tally
}

async fn paced(http: reqwest::Client, base: Url, name: &'static str, path: String, token: Option<String>) -> Paced {
    let url = match base.join(&path) {
        Ok(url) => url,
        Err(err) => return (name, 0, Some(format!("bad path {path:?}: {err}"))),
    };
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let started = Instant::now();
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.map(|_| status)
        }
        Err(err) => Err(err),
    };
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let failure = match answer {
        Ok(StatusCode::OK) => None,
        Ok(other) => Some(format!("{path}: unexpected {other}")),
        Err(err) => Some(format!("{path}: transport error: {err}")),
    };
    (name, micros, failure)
}

fn record_paced(tally: &mut Tally, done: Result<Paced, tokio::task::JoinError>) {
    match done {
        Ok((name, micros, failure)) => {
            tally.calls.entry(name).or_default().0.push(micros);
            if let Some(failure) = failure {
                if failure.contains("transport error") {
                    tally.transport_errors += 1;
                } else {
                    tally.unexpected += 1;
                }
                tally.sample(format!("{name} {failure}"));
            }
        }
        Err(err) => {
            tally.unexpected += 1;
            tally.sample(format!("a status call task failed: {err}"));
        }
    }
}

/// Runs one client until `deadline`.
async fn run_client(mut client: Client, settings: Arc<Settings>, deadline: Instant) -> Tally {
    // Counted down once this client's first walk of the catalog ends, however it ends.
    let first_sync = FirstSync(Arc::clone(&settings.first_syncs));
    // Who am I: the token decides the role, and so the behaviour.
    let Some(answer) = client.call("me", Method::GET, "/v1/me", None, None).await else { return client.tally };
    let Some(me) = client.decode::<Me>("me", &answer) else { return client.tally };
    client.actor = Actor::new(me.user, me.roles);

    if !settings.audit_from_start {
        let Some(answer) = client.call("audit_head", Method::GET, "/v1/audit/head", None, None).await else {
            return client.tally;
        };
        let Some(head) = client.decode::<AuditHead>("audit_head", &answer) else { return client.tally };
        client.audit_after = head.seq;
    }
    // The first full walk of the catalog is its own call type, so it does
    // not swamp the incremental polls' percentiles.
    client.pull_changes("changes_initial").await;
    drop(first_sync);

    let mut round: u64 = 0;
    while Instant::now() < deadline {
        round += 1;
        client.pull_changes("changes").await;
        client.pull_audit().await;
        if Instant::now() >= deadline {
            break;
        }
        let every = |n: u32| n > 0 && round.is_multiple_of(u64::from(n));
        if client.is_decider() && every(settings.decide_every) {
            client.decide_one().await;
        }
        if client.actor.has(Role::Owner) && every(settings.intake_every) {
            client.intake_and_renew().await;
        }
        if settings.think_ms > 0 {
            tokio::time::sleep(Duration::from_millis(settings.think_ms)).await;
        }
    }
    client.tally
}

/// Counts a client out of its first full sync when dropped.
struct FirstSync(Arc<AtomicUsize>);

impl Drop for FirstSync {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Settings {
    /// Clients that have not finished their first walk of the catalog.
    first_syncs: Arc<AtomicUsize>,
    decide_every: u32,
    intake_every: u32,
    think_ms: u64,
    audit_from_start: bool,
}

/// The tokens of a tokens file: the last word of each line that is not blank or a comment.
fn read_tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter_map(|line| line.split_whitespace().last())
        .map(str::to_string)
        .collect()
}

/// The tokens of the file at `path`; an error when it cannot be read or holds none.
fn tokens_of(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read the tokens file {}: {err}", path.display()))?;
    let tokens = read_tokens(&text);
    if tokens.is_empty() {
        return Err(format!("{} holds no tokens", path.display()));
    }
    Ok(tokens)
}

/// Refuses any server that is not on this machine's loopback.
fn loopback_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|err| format!("--server {text:?} is not a URL: {err}"))?;
    if url.scheme() != "http" {
        return Err(format!("--server must be an http:// URL, not {:?}", url.scheme()));
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("--server {text:?} is not a loopback address; govdeck-load only loads this machine"));
    }
    Ok(url)
}

#[derive(Serialize)]
struct CallSummary {
    count: usize,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct Summary {
    server: String,
    clients: usize,
    duration_secs: f64,
    requests: u64,
    requests_per_sec: f64,
    calls: BTreeMap<&'static str, CallSummary>,
    errors: u64,
    error_rate: f64,
    server_errors: u64,
    transport_errors: u64,
    unexpected_4xx: u64,
    replay_mismatches: u64,
    conflicts: u64,
    decisions: u64,
    replays_checked: u64,
}

/// The `p`-th percentile (nearest rank) of sorted `values`, in milliseconds.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn summarize(server: &str, clients: usize, elapsed: Duration, mut tally: Tally) -> Summary {
    let calls = std::mem::take(&mut tally.calls)
        .into_iter()
        .map(|(name, mut latencies)| {
            latencies.0.sort_unstable();
            let sorted = &latencies.0;
            let summary = CallSummary {
                count: sorted.len(),
                p50_ms: percentile_ms(sorted, 50.0),
                p95_ms: percentile_ms(sorted, 95.0),
                p99_ms: percentile_ms(sorted, 99.0),
                max_ms: sorted.last().map_or(0.0, |max| *max as f64 / 1000.0),
            };
            (name, summary)
        })
        .collect::<BTreeMap<_, _>>();
    let requests = calls.values().map(|call| call.count as u64).sum::<u64>().max(tally.requests());
    let secs = elapsed.as_secs_f64();
    Summary {
        server: server.to_string(),
        clients,
        duration_secs: secs,
        requests,
        requests_per_sec: if secs > 0.0 { requests as f64 / secs } else { 0.0 },
        calls,
        errors: tally.errors(),
        error_rate: if requests > 0 { tally.errors() as f64 / requests as f64 } else { 0.0 },
        server_errors: tally.server_errors,
        transport_errors: tally.transport_errors,
        unexpected_4xx: tally.unexpected,
        replay_mismatches: tally.replay_mismatches,
        conflicts: tally.conflicts,
        decisions: tally.decisions,
        replays_checked: tally.replays,
    }
}

fn print_table(summary: &Summary) {
    println!("govdeck-load: {} clients for {:.1} s against {}", summary.clients, summary.duration_secs, summary.server);
    println!("{:<26} {:>8} {:>9} {:>9} {:>9} {:>9}", "call", "count", "p50 ms", "p95 ms", "p99 ms", "max ms");
    for (name, call) in &summary.calls {
        println!(
            "{name:<26} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            call.count, call.p50_ms, call.p95_ms, call.p99_ms, call.max_ms
        );
    }
    println!(
        "requests {} ({:.0}/s); errors {} (rate {:.4}%: 5xx {}, transport {}, unexpected 4xx {}, replay mismatches {})",
        summary.requests,
        summary.requests_per_sec,
        summary.errors,
        summary.error_rate * 100.0,
        summary.server_errors,
        summary.transport_errors,
        summary.unexpected_4xx,
        summary.replay_mismatches
    );
    println!(
        "decisions {} ok, {} conflicts (409/412: someone decided first, not errors), {} replays checked",
        summary.decisions, summary.conflicts, summary.replays_checked
    );
}

async fn run(args: Args) -> Result<ExitCode, String> {
    let base = loopback_url(&args.server)?;
    if args.duration_secs == 0 || args.duration_secs > MAX_DURATION_SECS {
        return Err(format!("--duration-secs must be 1 to {MAX_DURATION_SECS}"));
    }
    if args.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    if args.page_limit == 0 {
        return Err("--page-limit must be at least 1".into());
    }
    let tokens = tokens_of(&args.tokens)?;
    if args.status_rps > MAX_STATUS_RPS {
        return Err(format!("--status-rps must be at most {MAX_STATUS_RPS}"));
    }
    let status_tokens = match (&args.status_tokens, args.status_rps) {
        (_, 0) => Vec::new(),
        (Some(path), _) => tokens_of(path)?,
        (None, _) => return Err("--status-rps needs --status-tokens (platform tokens)".into()),
    };
    // reqwest is built without a rustls provider of its own.
    govdeck::tls::install_default_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
        .build()
        .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
    let first_syncs = Arc::new(AtomicUsize::new(args.clients));
    let settings = Arc::new(Settings {
        first_syncs: Arc::clone(&first_syncs),
        decide_every: args.decide_every,
        intake_every: args.intake_every,
        think_ms: args.think_ms,
        audit_from_start: args.audit_from_start,
    });
    let targets = if args.status_rps > 0 {
        let targets = status_targets(&http, &base, &tokens[0], args.page_limit).await?;
        if targets.is_empty() {
            return Err("the first token of --tokens reads no apps for the status calls to ask about".into());
        }
        Arc::new(targets)
    } else {
        Arc::new(Vec::new())
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let status_task = (args.status_rps > 0).then(|| {
        let status_http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"));
        status_http.map(|status_http| {
            let run =
                run_status(status_http, base.clone(), status_tokens, targets, args.status_rps, deadline, first_syncs);
            tokio::spawn(run)
        })
    });
    let status_task = status_task.transpose()?;
    let mut tasks = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        let client = Client {
            http: http.clone(),
            base: base.clone(),
            token: tokens[index % tokens.len()].clone(),
            actor: Actor::new("", []),
            tally: Tally::default(),
            changes_since: 0,
            audit_after: 0,
            pending: HashMap::new(),
            renewable: HashMap::new(),
            page_limit: args.page_limit,
            index,
            counter: 0,
        };
        let settings = Arc::clone(&settings);
        tasks.push(tokio::spawn(run_client(client, settings, deadline)));
    }
    let mut total = Tally::default();
    for task in tasks.into_iter().chain(status_task) {
        match task.await {
            Ok(tally) => total.merge(tally),
            Err(err) => return Err(format!("a client task failed: {err}")),
        }
    }
    for sample in &total.samples {
        eprintln!("govdeck-load: {sample}");
    }
    let failed = total.errors() > 0;
    let summary = summarize(base.as_str(), args.clients, started.elapsed(), total);
    if args.json {
        println!("{}", serde_json::to_string(&summary).map_err(|err| err.to_string())?);
    } else {
        print_table(&summary);
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("govdeck-load: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("govdeck-load: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_accepted() {
        for ok in ["http://127.0.0.1:8470", "http://127.3.2.1:1/", "http://[::1]:80", "http://localhost:9"] {
            assert!(loopback_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1:80", "http://example.com", "https://127.0.0.1", "not a url", "http://0.0.0.0:1"] {
            assert!(loopback_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_file_lines() {
        let text = "# users\nriley abc\n\n  def  \nrosa ghi # reviewer\n";
        assert_eq!(read_tokens(text), ["abc", "def", "ghi"]);
    }

    #[test]
    fn endpoints_are_percent_encoded_in_the_query() {
        assert_eq!(query_value("https://a.internal/x?y=1"), "https%3A%2F%2Fa.internal%2Fx%3Fy%3D1");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 50.0), 50.0);
        assert_eq!(percentile_ms(&sorted, 99.0), 99.0);
        assert_eq!(percentile_ms(&[], 99.0), 0.0);
    }
}
