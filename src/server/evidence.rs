//! `GET /v1/apps/{id}/evidence`: the signed evidence bundle of one app
//! ([`crate::domain::evidence`]). Built in one write transaction: the
//! reads see one snapshot, a signed tree head covering the newest event is
//! signed then if none is stored yet, each event's inclusion proof is read
//! from the stored subtree hashes, and an `evidence.export` event
//! (who took which window away) is written after the bundle, so it is not
//! in the bundle it records.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::ServerState;
use super::error::ApiError;
use super::ops::app_event;
use super::request::{Caller, Origin};
use super::signing::AuditSigner;
use crate::domain::Actor;
use crate::domain::api::ErrorBody;
use crate::domain::audit::format_timestamp;
use crate::domain::audit_query::TimeRange;
use crate::domain::evidence::{self, Gathered, MAX_EVENTS, SignedBundle};
use crate::store::{approvals, apps, audit, merkle};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// Only events at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/v1/apps/{id}/evidence", tag = "audit", security(("bearer" = [])),
    params(("id" = String, Path, description = "The app's id"), EvidenceQuery),
    responses(
        (status = 200, description = "The app's evidence bundle, signed by the checkpoint key; check it offline \
            with `govdeck evidence verify`", body = SignedBundle),
        (status = 400, description = "Bad query, an empty window, or more events than one bundle holds", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
        (status = 404, description = "No such app, or one the caller may not read", body = ErrorBody),
    ))]
pub async fn evidence(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<EvidenceQuery>, QueryRejection>,
) -> Result<Json<SignedBundle>, ApiError> {
    let Path(app_id) = id.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let Query(params) = params.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let actor = caller.0;
    if actor.visibility().is_none() {
        return Err(ApiError::forbidden("this token may not read the catalog"));
    }
    let range = TimeRange::new(params.since, params.until).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let signer = state.signer.clone();
    let clock = state.clock.clone();
    let bundle = state
        .db
        .write("evidence", move |conn| build(conn, &actor, &origin, &signer, &app_id, range, clock.now()))
        .await?;
    Ok(Json(bundle))
}

fn build(
    conn: &Connection,
    actor: &Actor,
    origin: &Origin,
    signer: &Arc<AuditSigner>,
    app_id: &str,
    range: TimeRange,
    now: DateTime<Utc>,
) -> Result<SignedBundle, ApiError> {
    let not_found = || ApiError::not_found(format!("app {app_id:?} not found"));
    let app = apps::find(conn, app_id)?.ok_or_else(not_found)?;
    if !actor.may_read_app_of(&app.owner) {
        return Err(not_found());
    }
    let requests = approvals::for_app(conn, app_id)?;
    // One more than a bundle holds, to tell a full window from a long one.
    let events = audit::for_app_in(conn, app_id, &range, MAX_EVENTS + 1)?;
    let newest = events.last().map_or(1, |event| event.seq);
    let checkpoint = signer.tree_head_covering(conn, newest)?.ok_or_else(|| {
        ApiError::internal(
            "no signed tree head can cover the app's events: the audit chain no longer holds what the newest \
             checkpoint signed, or the Merkle tree is incomplete; see the server log",
        )
    })?;
    let tree_size = checkpoint.tree_size.unwrap_or(checkpoint.seq);
    let proofs =
        events.iter().map(|event| merkle::inclusion(conn, event.seq - 1, tree_size)).collect::<Result<_, _>>()?;
    let gathered = Gathered {
        app: app.clone(),
        requests,
        events,
        proofs,
        checkpoint,
        key: signer.public().to_wire(),
        log_starts_at: audit::first_timestamp(conn)?,
    };
    let bundle =
        evidence::build(gathered, range, &actor.user, now).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let body = serde_json::to_value(&bundle).map_err(ApiError::internal)?;
    let signature = signer.sign_evidence(&evidence::message(&body));

    let mut event = app_event("evidence.export", &app);
    event.actor_id = actor.user.clone();
    event.actor_role = actor.primary_role().as_str().into();
    event.ip_address = origin.ip_address.clone();
    event.user_agent = origin.user_agent.clone();
    event.request_context = json!({
        "since": range.since.map(format_timestamp),
        "until": range.until.map(format_timestamp),
        "events": bundle.events.len(),
        "checkpoint_seq": bundle.checkpoint.seq,
    });
    audit::append(conn, event, &actor.user, now)?;
    Ok(SignedBundle { bundle, signature })
}
