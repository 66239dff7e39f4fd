//! Pulling the catalog into the cache and pushing the outbox to the server.
//! Each page is applied in one transaction together with its cursor, so a
//! kill at any moment leaves a consistent cache that resumes where it
//! stopped; each audit page is checked against the verified head first.
//!
//! The server's audit signing key is pinned on first use (in `known_servers`
//! when the syncer has a pins file, else by the key recorded in the cache);
//! a different key stops sync before anything is sent or written. The new
//! signed checkpoints are fetched and checked then too (each page whole,
//! with the pinned key, and against the events the cache holds), and stored
//! after the audit log, once each can be compared with its event.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::Connection;

use super::client::{Client, ClientError};
use super::plan::{self, HistoryError};
use super::retry::Backoff;
use crate::cache::outbox::{self, Action, ActionKind};
use crate::cache::{self, Cache, CacheError, audit, catalog, checkpoints};
use crate::config::pins::{self, PinsError};
use crate::domain::ApprovalStatus;
use crate::domain::api::{AmendResponse, AppResponse, ApprovalResponse, IntakeResponse, Me};
use crate::domain::checkpoint::{self, Checkpoint, CheckpointError, PublicKey};
use crate::domain::custody::{self, WithdrawalResponse};

/// Entries per `/v1/changes` page: the most the server serves
/// ([`crate::domain::api::MAX_PAGE`]), so the fewest transactions.
pub const CHANGES_PAGE: u32 = 5000;
/// Events per `/v1/audit` page.
pub const AUDIT_PAGE: u32 = 5000;
/// From this many events to fetch into an empty cache, the audit indexes are
/// built after the load rather than during it.
pub const BULK_AUDIT_EVENTS: u64 = 50_000;
/// Checkpoints per `/v1/audit/checkpoints` page.
pub const CHECKPOINT_PAGE: u32 = 1000;

pub type SharedCache = Arc<Mutex<Cache>>;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}; sync stopped and the cache was left as it was — investigate the server before trusting it")]
    History(#[from] HistoryError),
    #[error("the cache task failed: {0}")]
    Task(String),
    #[error("{}", key_changed(server, pinned, offered, pinned_in))]
    KeyChanged { server: String, pinned: String, offered: String, pinned_in: PinSource },
    #[error(
        "a signed audit checkpoint from the server failed verification: {0}; sync stopped and nothing of it was \
         stored — investigate the server before trusting it"
    )]
    Checkpoint(CheckpointError),
    #[error("{0}; sync stopped — investigate the server before trusting it")]
    Proof(String),
    #[error(transparent)]
    Pins(#[from] PinsError),
}

/// Where the key a server must offer was pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// The `known_servers` file.
    KnownServers(PathBuf),
    /// The cache (a syncer without a pins file): its checkpoints were checked with that key.
    Cache(String),
}

fn key_changed(server: &str, pinned: &str, offered: &str, pinned_in: &PinSource) -> String {
    let stop = "sync stopped and the cache was left as it was; the server may be an impostor, or its key was replaced";
    match pinned_in {
        PinSource::KnownServers(path) => format!(
            "the server {server} offers audit signing key {offered}, but key {pinned} is pinned for it in {}: {stop}. \
             To accept the new key on purpose, delete the line for {server} from {} and sync again",
            path.display(),
            path.display()
        ),
        PinSource::Cache(path) => format!(
            "the server {server} offers audit signing key {offered}, but the cache {path} holds checkpoints signed \
             with key {pinned}: {stop}. To accept the new key on purpose, start with a new cache"
        ),
    }
}

impl SyncError {
    /// The server could not be reached (or was busy) after retrying.
    pub fn is_offline(&self) -> bool {
        matches!(self, SyncError::Client(err) if err.is_transient())
    }

    /// The server refused the token (401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, SyncError::Client(err) if err.status() == Some(401))
    }

    /// The TLS handshake failed (a refused certificate): nothing was sent.
    pub fn is_tls(&self) -> bool {
        matches!(self, SyncError::Client(ClientError::Tls { .. }))
    }
}

/// Runs `f` on the cache on the blocking pool.
pub async fn with_cache<T, F>(cache: &SharedCache, f: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&mut Cache) -> Result<T, CacheError> + Send + 'static,
{
    let cache = Arc::clone(cache);
    tokio::task::spawn_blocking(move || {
        let mut guard = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|err| SyncError::Task(err.to_string()))?
    .map_err(SyncError::from)
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    /// Known for the audit log (from the server's head), not for the catalog.
    pub total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Outbox,
    Catalog,
    Audit,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Outbox => "sending",
            Phase::Catalog => "catalog",
            Phase::Audit => "audit",
        }
    }
}

/// Where a sync's time went: the time spent inside each stage, summed over
/// its pages. Fetching overlaps applying, so the stages add up to more than
/// the wall time; `govdeck sync` prints them when `GOVDECK_SYNC_TIMINGS` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// `/v1/changes` pages: request and transfer.
    pub catalog_fetch: Duration,
    /// Decoding each page and its every entry into rows.
    pub catalog_decode: Duration,
    /// Writing the catalog pages into the cache.
    pub catalog_apply: Duration,
    /// Building the catalog's secondary indexes after a first bulk load.
    pub catalog_index: Duration,
    /// The catalog phase from its first request to its indexes built.
    pub catalog_wall: Duration,
    /// `/v1/audit` pages: request, transfer and decode.
    pub audit_fetch: Duration,
    /// Checking each audit page against the verified head.
    pub audit_check: Duration,
    /// Writing the audit pages into the cache.
    pub audit_write: Duration,
    /// Building the secondary audit indexes after a first bulk load.
    pub audit_index: Duration,
    /// The audit phase from its first request to its indexes built.
    pub audit_wall: Duration,
}

impl std::fmt::Display for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "catalog {:.0} ms (fetch {:.0}, decode {:.0}, apply {:.0}, index {:.0}); audit {:.0} ms (fetch {:.0}, \
             check {:.0}, write {:.0}, index {:.0})",
            ms(self.catalog_wall),
            ms(self.catalog_fetch),
            ms(self.catalog_decode),
            ms(self.catalog_apply),
            ms(self.catalog_index),
            ms(self.audit_wall),
            ms(self.audit_fetch),
            ms(self.audit_check),
            ms(self.audit_write),
            ms(self.audit_index)
        )
    }
}

/// Runs `future` and says how long it took.
pub(super) async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let value = future.await;
    (value, started.elapsed())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub changes: u64,
    pub events: u64,
    /// Signed checkpoints checked and stored.
    pub checkpoints: u64,
    /// An owner's events whose inclusion proofs were checked and stored.
    pub proved: u64,
    /// The key id pinned for the server by this sync (its first).
    pub pinned: Option<String>,
    pub sent: u64,
    pub refused: u64,
    /// Each refused action's target id and the server's answer.
    pub refusals: Vec<(String, String)>,
    pub still_queued: u64,
    pub elapsed: Duration,
    pub stages: Stages,
}

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// The server applied it; a line for the user.
    Done(String),
    /// Not sent yet (offline, server busy); it stays in the outbox.
    Queued(String),
    /// The server refused it; shown to the user, never retried.
    Refused { status: u16, code: String, message: String },
}

pub struct Syncer {
    pub client: Client,
    pub cache: SharedCache,
    pub backoff: Backoff,
    /// The `known_servers` file the server's key is pinned in; without one
    /// the key recorded in the cache is the pin.
    pub pins: Option<PathBuf>,
}

/// The key this sync trusts, and what to record about it.
struct Trust {
    key: Option<PublicKey>,
    /// Pin it in `known_servers` once the sync succeeded.
    pin: bool,
    /// The cache's checkpoints were checked with another key (a new one was
    /// accepted on purpose): forget them and pull them again.
    forget_cached: bool,
}

/// Whether the user reads the whole log (reviewers, leads, auditors): then
/// the cache holds the whole chain and verifies it link by link.
fn full_chain(me: &Me) -> bool {
    crate::domain::Actor::new(me.user.clone(), me.roles.iter().copied()).reads_all()
}

/// Forgets the catalog and the audit events (not the outbox): used when what
/// the user may read changed, so the next pull starts clean.
fn reset_catalog(conn: &Connection) -> Result<(), CacheError> {
    conn.execute_batch("DELETE FROM apps; DELETE FROM approvals; DELETE FROM audit; DELETE FROM audit_values;")?;
    conn.execute("DELETE FROM meta WHERE key IN (?1, 'audit_head_seq', 'audit_head_hash')", [cache::CHANGES_CURSOR])?;
    checkpoints::forget(conn)
}

impl Syncer {
    pub fn new(client: Client, cache: SharedCache) -> Syncer {
        Syncer { client, cache, backoff: Backoff::COMMAND, pins: None }
    }

    /// Pins the server's audit signing key in `known_servers` at `path`.
    pub fn with_pins(mut self, path: PathBuf) -> Syncer {
        self.pins = Some(path);
        self
    }

    /// Fetches the server's key and decides whether to trust it: the pinned
    /// key, or any key on first use. A different key is [`SyncError::KeyChanged`].
    async fn trust_server_key(&self) -> Result<Trust, SyncError> {
        let offered = match self.backoff.run(|| self.client.server_key()).await? {
            Some(wire) => Some(
                PublicKey::from_wire(&wire)
                    .map_err(|err| ClientError::Malformed { what: "/v1/audit/key".into(), reason: err.to_string() })?,
            ),
            None => None,
        };
        let server = self.client.server().to_string();
        let (recorded, cache_path) = with_cache(&self.cache, |cache| {
            let path = cache.conn().path().unwrap_or("(in memory)").to_string();
            Ok((checkpoints::recorded_key(cache.conn())?, path))
        })
        .await?;
        let offered_id =
            offered.as_ref().map_or("(none: it signs no checkpoints)".to_string(), |key| key.id().to_string());
        let changed = |pinned: &PublicKey, pinned_in: PinSource| SyncError::KeyChanged {
            server: server.clone(),
            pinned: pinned.id().to_string(),
            offered: offered_id.clone(),
            pinned_in,
        };
        let (pinned, pinned_in) = match &self.pins {
            Some(path) => (pins::load(path)?.get(&server).cloned(), PinSource::KnownServers(path.clone())),
            None => (recorded.clone(), PinSource::Cache(cache_path)),
        };
        match (pinned, offered) {
            (Some(pinned), Some(offered)) if pinned == offered => {
                let forget_cached = recorded.is_some_and(|recorded| recorded != offered);
                Ok(Trust { key: Some(offered), pin: false, forget_cached })
            }
            (Some(pinned), _) => Err(changed(&pinned, pinned_in)),
            (None, offered) => {
                let forget_cached = recorded.is_some_and(|recorded| Some(&recorded) != offered.as_ref());
                Ok(Trust { pin: self.pins.is_some() && offered.is_some(), key: offered, forget_cached })
            }
        }
    }

    /// Fetches the checkpoints after the cache's cursor, checking every page
    /// whole (order, and each signature with `key`) as it comes, and those at
    /// seqs the cache already holds against its events: all before anything
    /// is sent or written, so a forged or contradicting checkpoint stops the
    /// sync with the cache as it was. Returns the cursor and the checkpoints.
    async fn fetch_checkpoints(&self, key: &PublicKey) -> Result<(u64, Vec<Checkpoint>), SyncError> {
        let start = with_cache(&self.cache, |cache| checkpoints::cursor(cache.conn())).await?;
        let mut after = start;
        let mut fetched: Vec<Checkpoint> = Vec::new();
        loop {
            let page = self.backoff.run(|| self.client.checkpoints(after, CHECKPOINT_PAGE)).await?;
            checkpoint::check_page(key, after, &page.checkpoints).map_err(SyncError::Checkpoint)?;
            let Some(last) = page.checkpoints.last().map(|checkpoint| checkpoint.seq) else { break };
            fetched.extend(page.checkpoints);
            if !page.more {
                break;
            }
            after = last;
        }
        let held = fetched.clone();
        with_cache(&self.cache, move |cache| checkpoints::check_against_cache(cache.conn(), &held))
            .await?
            .map_err(SyncError::Checkpoint)?;
        Ok((start, fetched))
    }

    /// One full round: who am I, push the outbox, pull changes and audit events.
    pub async fn sync_once(&self, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let mut report = SyncReport::default();

        let me = match self.backoff.run(|| self.client.me()).await {
            Ok(me) => me,
            Err(err) => {
                if matches!(err.status(), Some(401 | 403)) {
                    // Recorded, so a read of a cache that never synced can say why.
                    let now = Utc::now().to_rfc3339();
                    with_cache(&self.cache, move |cache| {
                        cache.write(|conn| cache::meta_set(conn, cache::TOKEN_REFUSED_AT, &now))
                    })
                    .await?;
                }
                return Err(err.into());
            }
        };
        let full = full_chain(&me);
        // The server's key, checked before anything is sent or written.
        let trust = self.trust_server_key().await?;
        let forget_cached = trust.forget_cached;
        let me_json = serde_json::to_string(&me).map_err(CacheError::from)?;
        let server = self.client.server().to_string();
        with_cache(&self.cache, move |cache| {
            cache.write(|conn| {
                let visibility = if full { "all" } else { "owner" };
                let before = cache::meta_get(conn, cache::VISIBILITY)?;
                if before.as_deref().is_some_and(|before| before != visibility) {
                    reset_catalog(conn)?;
                }
                if forget_cached {
                    checkpoints::forget(conn)?;
                }
                cache::meta_set(conn, cache::VISIBILITY, visibility)?;
                cache::meta_set(conn, cache::ME, &me_json)?;
                cache::meta_delete(conn, cache::TOKEN_REFUSED_AT)?;
                cache::meta_set(conn, cache::SERVER, &server)
            })
        })
        .await?;

        // Is the history this cache verified still the server's? Checked
        // before anything is sent or written: a rewrite stops the sync with
        // the cache as it was (the first new audit page would only be
        // checked after the catalog had been applied).
        let server_head = self.backoff.run(|| self.client.audit_head()).await?;
        let local_head = with_cache(&self.cache, |cache| audit::verified_head(cache.conn())).await?;
        plan::check_server_head(&local_head, &server_head, full)?;
        if local_head.seq > 0 {
            let after = local_head.seq - 1;
            let page = self.backoff.run(|| self.client.audit(after, 1)).await?;
            plan::check_anchor(&local_head, page.events.first(), full)?;
        }
        // The new signed checkpoints, checked now; stored after the audit log.
        let signed = match &trust.key {
            Some(key) => Some(self.fetch_checkpoints(key).await?),
            None => None,
        };
        // Does the server's tree still extend the signed tree head pinned last?
        if let Some((_, fetched)) = &signed {
            let pinned = with_cache(&self.cache, |cache| crate::cache::proofs::latest_tree_head(cache.conn())).await?;
            self.check_consistency(pinned.as_ref(), fetched, server_head.seq).await?;
        }

        progress(Progress { phase: Phase::Outbox, done: 0, total: None });
        let flushed = self.flush_outbox_of_targets().await?;
        report.sent = flushed.iter().filter(|(_, o)| matches!(o, ActionOutcome::Done(_))).count() as u64;
        report.refusals = flushed
            .into_iter()
            .filter_map(|(target, outcome)| match outcome {
                ActionOutcome::Refused { message, .. } => Some((target, message)),
                _ => None,
            })
            .collect();
        report.refused = report.refusals.len() as u64;

        // A first sync (or a long way behind) writes hundreds of megabytes:
        // its log is copied into the database beside the writer, not by it.
        let since: u64 = with_cache(&self.cache, |cache| {
            Ok(cache::meta_get(cache.conn(), cache::CHANGES_CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0))
        })
        .await?;
        let behind = full && server_head.seq.saturating_sub(local_head.seq) >= BULK_AUDIT_EVENTS;
        let bulk = if since == 0 || behind { Some(self.start_bulk_write().await?) } else { None };
        let pulled = self.pull(since, local_head, &server_head, full, &mut report, progress).await;
        if let Some(bulk) = bulk {
            self.end_bulk_write(bulk).await?;
        }
        let head = pulled?;

        // The signed checkpoints, each compared with the events now cached:
        // up to the verified head for a full chain; for an owner's partial
        // chain, up to the server's head it was pulled against.
        if let (Some(key), Some((after, fetched))) = (&trust.key, signed) {
            let up_to = if full { head.seq } else { server_head.seq };
            let key = key.clone();
            let outcome = with_cache(&self.cache, move |cache| {
                cache.write(|conn| checkpoints::check_and_store(conn, &key, after, &fetched, up_to))
            })
            .await?
            .map_err(SyncError::Checkpoint)?;
            report.checkpoints = outcome.stored;
            if !full {
                report.proved = self.prove_cached_events().await?;
            }
        }
        if trust.pin
            && let (Some(path), Some(key)) = (&self.pins, &trust.key)
        {
            pins::add(path, self.client.server(), key)?;
            report.pinned = Some(key.id().to_string());
        }

        let now = Utc::now().to_rfc3339();
        report.still_queued = with_cache(&self.cache, move |cache| {
            cache.write(|conn| cache::meta_set(conn, cache::LAST_SYNC_AT, &now))?;
            outbox::count_queued(cache.conn())
        })
        .await?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Sends every queued action, oldest first. Stops at the first one that
    /// cannot be sent for lack of a connection: the rest would fail the same way.
    pub async fn flush_outbox(&self) -> Result<Vec<ActionOutcome>, SyncError> {
        Ok(self.flush_outbox_of_targets().await?.into_iter().map(|(_, outcome)| outcome).collect())
    }

    /// [`Syncer::flush_outbox`], each outcome with its action's target id.
    async fn flush_outbox_of_targets(&self) -> Result<Vec<(String, ActionOutcome)>, SyncError> {
        let queued = with_cache(&self.cache, |cache| outbox::queued(cache.conn())).await?;
        let mut outcomes = Vec::with_capacity(queued.len());
        for action in queued {
            let outcome = self.send(&action).await?;
            let offline = matches!(outcome, ActionOutcome::Queued(_));
            outcomes.push((action.target_id, outcome));
            if offline {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Sends one queued action under its idempotency key and records the answer.
    pub async fn send(&self, action: &Action) -> Result<ActionOutcome, SyncError> {
        let path = match action.kind {
            ActionKind::Approve | ActionKind::Reject | ActionKind::RequestChanges => {
                format!("/v1/approvals/{}/decisions", action.target_id)
            }
            ActionKind::Renew => format!("/v1/apps/{}/renewals", action.target_id),
            ActionKind::Intake => "/v1/intake".to_string(),
            ActionKind::Adopt => format!("/v1/apps/{}/adoption", action.target_id),
            ActionKind::Amend => format!("/v1/apps/{}", action.target_id),
            ActionKind::RequestAccess => format!("/v1/apps/{}/access-requests", action.target_id),
            ActionKind::Withdraw => format!("/v1/approvals/{}/withdrawal", action.target_id),
            ActionKind::Transfer => format!("/v1/apps/{}/owner", action.target_id),
            ActionKind::Quarantine => format!("/v1/apps/{}/quarantine", action.target_id),
            ActionKind::Release => format!("/v1/apps/{}/release", action.target_id),
            ActionKind::Retire => format!("/v1/apps/{}/retirement", action.target_id),
        };
        let result = if action.kind == ActionKind::Amend {
            self.backoff.run(|| self.client.patch(&path, &action.body, &action.idempotency_key)).await
        } else {
            self.backoff.run(|| self.client.post(&path, &action.body, &action.idempotency_key)).await
        };
        let id = action.id;
        let kind = action.kind;
        match result {
            Ok(posted) => {
                let body = posted.body;
                let message = with_cache(&self.cache, move |cache| {
                    cache.write(|conn| {
                        let message = apply_answer(conn, kind, &body)?;
                        outbox::mark_done(conn, id, &body, Utc::now())?;
                        Ok(message)
                    })
                })
                .await?;
                Ok(ActionOutcome::Done(message))
            }
            Err(err @ ClientError::Malformed { .. }) | Err(err @ ClientError::Offline { .. }) => {
                self.keep_queued(id, &err).await
            }
            Err(err) if err.is_transient() || err.status() == Some(401) => self.keep_queued(id, &err).await,
            Err(ClientError::Status { status, code, message, .. }) => {
                let note = message.clone();
                with_cache(&self.cache, move |cache| {
                    cache.write(|conn| outbox::mark_refused(conn, id, &note, Utc::now()))
                })
                .await?;
                Ok(ActionOutcome::Refused { status, code, message })
            }
            // Nothing reached the server, and retrying cannot help: the
            // action stays queued as it was, and the caller says why.
            Err(err @ ClientError::BadUrl { .. }) | Err(err @ ClientError::Tls { .. }) => Err(err.into()),
        }
    }

    async fn keep_queued(&self, id: i64, err: &ClientError) -> Result<ActionOutcome, SyncError> {
        let message = err.to_string();
        let note = message.clone();
        with_cache(&self.cache, move |cache| cache.write(|conn| outbox::mark_attempt(conn, id, &note, Utc::now())))
            .await?;
        Ok(ActionOutcome::Queued(message))
    }
}

/// Stores what the server answered to an action and says what happened.
fn apply_answer(conn: &Connection, kind: ActionKind, body: &str) -> Result<String, CacheError> {
    match kind {
        ActionKind::Approve | ActionKind::Reject | ActionKind::RequestChanges => {
            let answer: ApprovalResponse = serde_json::from_str(body)?;
            catalog::put_approval(conn, &answer.approval)?;
            let approval = answer.approval;
            Ok(match approval.status {
                ApprovalStatus::Pending => format!(
                    "approval of request {} recorded: {} of 2, waiting for a second approver",
                    approval.id,
                    approval.approvers().count()
                ),
                ApprovalStatus::ChangesRequested => {
                    format!("request {} is now awaiting changes from {}", approval.id, approval.app_owner)
                }
                status => format!("request {} is now {}", approval.id, status.as_str()),
            })
        }
        ActionKind::Amend => {
            let answer: AmendResponse = serde_json::from_str(body)?;
            catalog::put_app(conn, &answer.app)?;
            if let Some(approval) = &answer.approval {
                catalog::put_approval(conn, approval)?;
            }
            Ok(answer.summary())
        }
        ActionKind::Renew => {
            if let Ok(answer) = serde_json::from_str::<AppResponse>(body) {
                catalog::put_app(conn, &answer.app)?;
                let until = answer.app.expires_at.map_or("—".to_string(), |at| at.format("%Y-%m-%d").to_string());
                Ok(format!("renewed until {until}"))
            } else {
                let answer: ApprovalResponse = serde_json::from_str(body)?;
                catalog::put_approval(conn, &answer.approval)?;
                Ok(format!("read-only: re-approval request {} filed", answer.approval.id))
            }
        }
        ActionKind::Intake | ActionKind::Adopt => {
            let answer: IntakeResponse = serde_json::from_str(body)?;
            catalog::put_app(conn, &answer.app)?;
            if let Some(approval) = &answer.approval {
                catalog::put_approval(conn, approval)?;
            }
            Ok(crate::domain::intake::registered_message(
                crate::domain::policy::Policy::builtin(),
                &answer,
                kind == ActionKind::Adopt,
            ))
        }
        ActionKind::RequestAccess => {
            let answer: ApprovalResponse = serde_json::from_str(body)?;
            catalog::put_approval(conn, &answer.approval)?;
            let approval = answer.approval;
            Ok(format!(
                "request {} for {} access to {} filed: reviewed at the {} tier, {}; due by {}",
                approval.id,
                approval.requested_environment(),
                approval.app_name,
                approval.review_tier.as_str(),
                custody::who_must_approve(crate::domain::policy::Policy::builtin(), approval.review_tier),
                approval.due_at.format("%Y-%m-%d %H:%M UTC"),
            ))
        }
        ActionKind::Withdraw => {
            let answer: WithdrawalResponse = serde_json::from_str(body)?;
            catalog::put_approval(conn, &answer.approval)?;
            let mut message = format!("request {} withdrawn", answer.approval.id);
            if let Some(app) = &answer.app {
                catalog::put_app(conn, app)?;
                message.push_str(&format!("; app {} is now {} (its name is free again)", app.name, app.state));
            }
            Ok(message)
        }
        ActionKind::Transfer => {
            let answer: AppResponse = serde_json::from_str(body)?;
            // Only a cache that reads everything keeps the moved app; an
            // admin's cache holds only the admin's own apps.
            if cache::meta_get(conn, cache::VISIBILITY)?.as_deref() == Some("all") {
                catalog::put_app(conn, &answer.app)?;
            }
            Ok(format!("{} ({}) now belongs to {}", answer.app.name, answer.app.id, answer.app.owner))
        }
        ActionKind::Quarantine | ActionKind::Release | ActionKind::Retire => {
            let answer: AppResponse = serde_json::from_str(body)?;
            catalog::put_app(conn, &answer.app)?;
            let app = answer.app;
            Ok(match (kind, &app.hold) {
                (ActionKind::Quarantine, Some(hold)) => {
                    format!("{} quarantined now, held by {}; only a reviewer can release it", app.name, hold.by)
                }
                (ActionKind::Release, _) => format!("{} released: {}", app.name, app.state.as_str()),
                (ActionKind::Retire, _) => {
                    format!("{} retired: now {}; its open requests are closed", app.name, app.state.as_str())
                }
                _ => format!("{} is now {}", app.name, app.state.as_str()),
            })
        }
    }
}
