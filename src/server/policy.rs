//! The server's policy: `GET /v1/policy` (the active one) and `PUT
//! /v1/policy` (an admin applies a new one). A policy is checked whole
//! before anything is written; a good one is stored and made active in the
//! transaction of its `policy.update` audit event, and the server decides
//! under it from the next call on. Nothing already stored is re-scored.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::ServerState;
use super::error::{ApiError, PolicyErrorBody};
use super::request::{Caller, Origin, body_bytes, idempotent_write, parse_json};
use crate::domain::NewAuditEvent;
use crate::domain::api::ErrorBody;
use crate::domain::policy::change::{self, PolicyApplied, PolicyResponse};
use crate::domain::policy::{Bundle, Policy};
use crate::store::{audit, policies};

#[utoipa::path(get, path = "/v1/policy", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "The active policy: its version, files, since when and who applied it", body = PolicyResponse),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
    ))]
pub async fn get_policy(State(state): State<ServerState>, caller: Caller) -> Result<Json<PolicyResponse>, ApiError> {
    if caller.0.visibility().is_none() {
        return Err(ApiError::forbidden("this token may not read the catalog or its policy"));
    }
    let stored = state.db.read("policy", |conn| Ok(policies::active(conn)?)).await?;
    let stored = stored.ok_or_else(|| ApiError::internal("no active policy is recorded"))?;
    Ok(Json(PolicyResponse {
        version: stored.version,
        files: stored.bundle.files,
        active_since: stored.active_since,
        applied_by: stored.applied_by,
    }))
}

#[utoipa::path(put, path = "/v1/policy", tag = "actions", security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = Bundle,
    responses(
        (status = 200, description = "Applied (or already active: `changed` false, nothing recorded)", body = PolicyApplied),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only an admin may apply a policy", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "`invalid_policy`: every problem, with its file and line; the active policy stays. Or an Idempotency-Key reused for a different request", body = PolicyErrorBody),
    ))]
pub async fn put_policy(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.0;
    change::may_apply(&actor)?;
    let sent: Bundle = parse_json(&body)?;
    let bundle = Bundle::new(sent.files);
    let problems = bundle.problems();
    if !problems.is_empty() {
        return Err(ApiError::invalid_policy(problems));
    }
    let new = Policy::from_bundle(bundle).map_err(|problems| ApiError::invalid_policy(problems.0))?;
    let applied: Arc<Mutex<Option<Arc<Policy>>>> = Arc::default();
    let slot = applied.clone();
    let op_actor = actor.clone();
    let route = "PUT /v1/policy".to_string();
    let response = idempotent_write(&state, &actor, &headers, "policy_apply", route, body_bytes(&body), {
        move |conn, active, now| {
            let changes = change::changes(active, &new);
            let version = new.version().to_string();
            let answer = |changed, changes| PolicyApplied {
                previous_version: active.version().to_string(),
                version: version.clone(),
                changed,
                changes,
            };
            if new.version() == active.version() {
                return Ok((StatusCode::OK, answer(false, Vec::new())));
            }
            policies::activate(conn, &new, &op_actor.user, now)?;
            let event = NewAuditEvent {
                actor_id: op_actor.user.clone(),
                actor_role: op_actor.primary_role().as_str().to_string(),
                ip_address: origin.ip_address.clone(),
                user_agent: origin.user_agent.clone(),
                action_type: "policy.update".into(),
                resource_type: "policy".into(),
                resource_id: Some(new.version().to_string()),
                request_context: json!({
                    "previous_version": active.version(),
                    "version": new.version(),
                    "changes": changes,
                }),
                ..NewAuditEvent::default()
            };
            audit::append(conn, event, &op_actor.user, now)?;
            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(new));
            Ok((StatusCode::OK, answer(true, changes)))
        }
    })
    .await?;
    // Committed: decide under it from now on.
    if let Some(policy) = applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
        state.policy.set(policy);
    }
    Ok(response)
}
