//! `govdeck serve`: the catalog server. axum routes over the store and the
//! domain rules, a background job that runs the TTL lifecycle on an injected
//! clock, and `serve(listener, …, shutdown)` so tests run the real server on
//! `127.0.0.1:0`. Never imports the terminal layers.

pub mod db;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod request;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::clock::Clock;
use crate::store::StoreError;
use db::Db;

/// Largest request body accepted, in bytes (1,000 ingest events fit).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How often the lifecycle job runs in production.
pub const LIFECYCLE_INTERVAL_SECS: u64 = 60;

/// What every handler shares.
#[derive(Clone)]
pub struct ServerState {
    pub db: Arc<Db>,
    pub clock: Arc<dyn Clock>,
}

impl ServerState {
    pub fn open(db_path: &Path, clock: Arc<dyn Clock>) -> Result<ServerState, StoreError> {
        Ok(ServerState { db: Arc::new(Db::open(db_path)?), clock })
    }

    /// Runs one pass of the TTL lifecycle at the clock's `now`; returns the
    /// number of policy steps taken.
    pub async fn run_lifecycle(&self) -> Result<usize, error::ApiError> {
        let now = self.clock.now();
        self.db.write(move |conn| ops::run_lifecycle(conn, now)).await
    }
}

pub fn router(state: ServerState) -> Router {
    let openapi = openapi::ApiDoc::openapi();
    Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/me", get(routes::me))
        .route("/v1/changes", get(routes::changes))
        .route("/v1/audit", get(routes::audit_page))
        .route("/v1/audit/head", get(routes::audit_head))
        .route("/v1/audit/events", post(routes::ingest))
        .route("/v1/intake", post(routes::intake))
        .route("/v1/approvals/{id}/decisions", post(routes::decide))
        .route("/v1/apps/{id}/renewals", post(routes::renew))
        .route("/v1/openapi.json", get(move || std::future::ready(axum::Json(openapi.clone()))))
        .fallback(routes::fallback)
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, running the
/// lifecycle job every `lifecycle_every`. In-flight requests finish first;
/// every committed write is in the database when this returns.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    lifecycle_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let job_state = state.clone();
    let job = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(lifecycle_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => match job_state.run_lifecycle().await {
                    Ok(0) => {}
                    Ok(steps) => tracing::info!(steps, "lifecycle policy applied"),
                    Err(err) => tracing::error!("lifecycle job failed: {}", err.message),
                },
                _ = stop_rx.changed() => break,
            }
        }
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    let _ = stop_tx.send(true);
    let _ = job.await;
    result
}
