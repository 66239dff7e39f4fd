//! `govdeck serve`: the catalog server. axum routes over the store and the
//! domain rules, a background job that runs the TTL lifecycle on an injected
//! clock, and `serve(listener, …, shutdown)` so tests run the real server on
//! `127.0.0.1:0`; `serve_tls` is the same over HTTPS ([`tls`]). Never imports
//! the terminal layers.

pub mod amend;
pub mod custody;
pub mod db;
pub mod error;
pub mod evidence;
pub mod hold;
pub mod intake;
pub mod openapi;
pub mod ops;
pub mod policy;
pub mod request;
pub mod routes;
pub mod signing;
pub mod timings;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::clock::Clock;
use crate::domain::checkpoint::Checkpoint;
use crate::domain::policy::Policy;
use crate::store::{Store, StoreError};
use db::Db;
use signing::{AuditSigner, KeyFileError};

/// Largest request body accepted, in bytes (1,000 ingest events fit).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How often the lifecycle job runs in production.
pub const LIFECYCLE_INTERVAL_SECS: u64 = 60;

/// What every handler shares.
#[derive(Clone)]
pub struct ServerState {
    pub db: Arc<Db>,
    pub clock: Arc<dyn Clock>,
    /// The audit signing key; see [`signing`].
    pub signer: Arc<AuditSigner>,
    /// The policy decisions are made under.
    pub policy: Arc<ActivePolicy>,
}

/// The policy the server decides under, swapped whole when a new one is
/// applied; each call takes the one active when it began.
#[derive(Debug)]
pub struct ActivePolicy(std::sync::RwLock<Arc<Policy>>);

impl ActivePolicy {
    pub fn new(policy: Policy) -> ActivePolicy {
        ActivePolicy(std::sync::RwLock::new(Arc::new(policy)))
    }

    pub fn current(&self) -> Arc<Policy> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn set(&self, policy: Arc<Policy>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = policy;
    }
}

/// How the server signs its audit checkpoints.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The signing key file; `<db>.key` beside the database when `None`.
    pub key_file: Option<PathBuf>,
    /// Sign the head whenever it passes a multiple of this many events.
    pub checkpoint_every: u64,
    /// The log's origin in its signed-note checkpoints; `<host>/govdeck` when `None`.
    pub origin: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { key_file: None, checkpoint_every: signing::CHECKPOINT_EVERY_EVENTS, origin: None }
    }
}

/// Why the server could not open its database or its key.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
}

impl ServerState {
    /// Opens the database and its signing key (`<db>.key`, created on first start).
    pub fn open(db_path: &Path, clock: Arc<dyn Clock>) -> Result<ServerState, OpenError> {
        ServerState::open_with(db_path, clock, &ServerOptions::default())
    }

    pub fn open_with(db_path: &Path, clock: Arc<dyn Clock>, options: &ServerOptions) -> Result<ServerState, OpenError> {
        let key_path = options.key_file.clone().unwrap_or_else(|| signing::default_key_path(db_path));
        let (key, created) = signing::load_or_create(&key_path)?;
        let signer = Arc::new(AuditSigner::new(
            key,
            options.checkpoint_every,
            clock.clone(),
            options.origin.clone().unwrap_or_else(signing::default_origin),
        ));
        let key_id = signer.public().id().to_string();
        if created {
            tracing::info!(key_id, "created the audit signing key {}", key_path.display());
        }
        let db = Db::open_signed(db_path, signer.clone())?;
        let mut store = Store::open(db_path)?;
        store.write(|conn| crate::store::checkpoints::set_every(conn, signer.every()))?;
        tracing::info!(key_id, every = signer.every(), "audit checkpoints signed with {}", key_path.display());
        let now = clock.now();
        let (active, stored) =
            store.write(|conn| crate::store::policies::load_or_init(conn, Policy::builtin(), now))?;
        tracing::info!(version = stored.version, applied_by = stored.applied_by, "deciding under policy");
        let policy = Arc::new(ActivePolicy::new(active));
        Ok(ServerState { db: Arc::new(db), clock, signer, policy })
    }

    /// The checkpoint job: signs the audit head when nothing is signed yet,
    /// or when it moved and the newest checkpoint is an hour old (at the
    /// clock's `now`); see [`AuditSigner::checkpoint_hourly`].
    pub async fn run_checkpoint_job(&self) -> Result<Option<Checkpoint>, error::ApiError> {
        let signer = self.signer.clone();
        self.db.write("checkpoint_job", move |conn| Ok(signer.checkpoint_hourly(conn)?)).await
    }

    /// Runs one pass of the TTL lifecycle at the clock's `now`; returns the
    /// number of policy steps taken. The apps with a step due are found on a
    /// reader, then changed in write transactions of at most
    /// [`ops::LIFECYCLE_BATCH`] apps, each with its audit events.
    pub async fn run_lifecycle(&self) -> Result<usize, error::ApiError> {
        let now = self.clock.now();
        let policy = self.policy.current();
        let scan_policy = policy.clone();
        let due = self.db.read("lifecycle_scan", move |conn| ops::lifecycle_due(conn, &scan_policy, now)).await?;
        let mut steps = 0;
        for batch in due.chunks(ops::LIFECYCLE_BATCH) {
            let batch = batch.to_vec();
            let policy = policy.clone();
            steps += self.db.write("lifecycle", move |conn| ops::run_lifecycle_for(conn, &batch, &policy, now)).await?;
        }
        Ok(steps)
    }
}

pub fn router(state: ServerState) -> Router {
    let openapi = openapi::ApiDoc::openapi();
    let timed = state.db.timings().enabled();
    let routes = Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/me", get(routes::me))
        .route("/v1/changes", get(routes::changes))
        .route("/v1/audit", get(routes::audit_page))
        .route("/v1/audit/head", get(routes::audit_head))
        .route("/v1/audit/key", get(routes::audit_key))
        .route("/v1/audit/checkpoints", get(routes::audit_checkpoints))
        .route("/v1/audit/proof/inclusion", get(routes::audit_inclusion))
        .route("/v1/audit/proof/inclusions", get(routes::audit_inclusions))
        .route("/v1/audit/proof/consistency", get(routes::audit_consistency))
        .route("/v1/audit/events", post(routes::ingest))
        .route("/v1/intake", post(intake::intake))
        .route("/v1/apps/{id}/adoption", post(intake::adopt))
        .route("/v1/approvals/{id}/decisions", post(routes::decide))
        .route("/v1/apps/{id}/renewals", post(routes::renew))
        .route("/v1/apps/{id}", patch(amend::amend))
        .route("/v1/apps/{id}/access-requests", post(custody::access_requests))
        .route("/v1/approvals/{id}/withdrawal", post(custody::withdrawal))
        .route("/v1/apps/{id}/owner", post(custody::owner))
        .route("/v1/apps/{id}/quarantine", post(hold::quarantine_route))
        .route("/v1/apps/{id}/release", post(hold::release_route))
        .route("/v1/apps/{id}/retirement", post(hold::retire_route))
        .route("/v1/apps/{id}/evidence", get(evidence::evidence))
        .route("/v1/apps/{id}/status", get(routes::app_status))
        .route("/v1/status", get(routes::endpoint_status))
        .route("/v1/policy", get(policy::get_policy).put(policy::put_policy))
        .route("/v1/openapi.json", get(move || std::future::ready(axum::Json(openapi.clone()))))
        .fallback(routes::fallback)
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let routes =
        if timed { routes.layer(axum::middleware::from_fn_with_state(state.clone(), time_request)) } else { routes };
    routes.with_state(state)
}

/// Records each request's time inside the server under `http <route>`
/// (only when timings are on; see [`timings`]).
async fn time_request(
    axum::extract::State(state): axum::extract::State<ServerState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("?", |path| path.as_str());
    let name = format!("http {} {route}", request.method());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let sample = timings::Sample { waited: Duration::ZERO, ran: started.elapsed(), sched: None };
    state.db.timings().record(&name, sample);
    response
}

/// Serves the API on `listener` until `shutdown` completes, running the
/// lifecycle job and the audit checkpoint job every `lifecycle_every`. The
/// checkpoint job also runs once before the first request is served, so
/// events written while the server was down are signed first.
/// In-flight requests finish first; every committed write is in the
/// database when this returns.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    lifecycle_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, None, state, lifecycle_every, shutdown).await
}

/// [`serve`] over HTTPS with `tls` (see [`tls::load`]). A client whose TLS
/// handshake fails is logged at debug level and dropped; the others are
/// served as over plain HTTP.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: ServerState,
    lifecycle_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, Some(tls), state, lifecycle_every, shutdown).await
}

async fn serve_with(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: ServerState,
    lifecycle_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    run_checkpoint_job(&state).await;
    let job_state = state.clone();
    let job = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(lifecycle_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is now; the checkpoint job just ran.
        let mut first = true;
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    match job_state.run_lifecycle().await {
                        Ok(0) => {}
                        Ok(steps) => tracing::info!(steps, "lifecycle policy applied"),
                        Err(err) => tracing::error!("lifecycle job failed: {}", err.message),
                    }
                    if !std::mem::take(&mut first) {
                        run_checkpoint_job(&job_state).await;
                    }
                }
                _ = stop_rx.changed() => break,
            }
        }
    });
    let wal_db = state.db.clone();
    let mut wal_stop = stop_tx.subscribe();
    let wal_job = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(db::WAL_CHECKPOINT_INTERVAL_MS));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(err) = wal_db.checkpoint_wal().await {
                        tracing::warn!("WAL checkpoint failed: {}", err.message);
                    }
                }
                _ = wal_stop.changed() => break,
            }
        }
    });
    let db = state.db.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = match tls {
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await,
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            let signal = tokio::spawn(async move {
                shutdown.await;
                // No deadline: in-flight requests finish, as with plain HTTP.
                stopper.graceful_shutdown(None);
            });
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
                axum_server::tls_rustls::RustlsConfig::from_config(config),
            );
            let served = axum_server::Server::from_listener(listener)
                .acceptor(acceptor)
                .handle(handle)
                .accept_error_handler(|peer: Option<&SocketAddr>, err: &std::io::Error| {
                    let peer = peer.map_or_else(|| "?".to_string(), ToString::to_string);
                    tracing::debug!("TLS handshake with {peer} failed: {err}");
                })
                .serve(app)
                .await;
            signal.abort();
            served
        }
    };
    let _ = stop_tx.send(true);
    let _ = job.await;
    let _ = wal_job.await;
    if let Some(report) = db.timings().report() {
        tracing::info!("server timings ({}):\n{report}", timings::ENV);
    }
    result
}

async fn run_checkpoint_job(state: &ServerState) {
    match state.run_checkpoint_job().await {
        Ok(Some(signed)) => tracing::info!(seq = signed.seq, "audit checkpoint signed"),
        Ok(None) => {}
        Err(err) => tracing::error!("checkpoint job failed: {}", err.message),
    }
}
