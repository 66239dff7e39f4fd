//! Quarantine now, release and retirement: the handlers of
//! `POST /v1/apps/{id}/quarantine`, `…/release` and `…/retirement`, and the
//! ops behind them (rules in [`crate::domain::hold`]). Each runs in one write
//! transaction with its audit events, under the request's Idempotency-Key.
//! Also [`close_pending`], which closes the open requests of an app that was
//! just decommissioned (by retirement here, by the TTL ladder in
//! [`super::ops::run_lifecycle_for`]).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use super::ServerState;
use super::error::ApiError;
use super::ops::{self, Ctx, POLICY_ACTOR};
use super::request::{Caller, Origin, body_bytes, idempotent_write, parse_json};
use crate::domain::api::{AppResponse, ErrorBody};
use crate::domain::hold::{self, CLOSED_REASON, ReasonRequest, RetireRequest};
use crate::domain::{App, AppState, NewAuditEvent};
use crate::store::{approvals, apps, audit};

/// Closes every pending request of `app` (just decommissioned), each with an
/// `approval.closed` event built on `base` (who did it, from where), in the
/// caller's transaction. Returns the ids closed.
pub fn close_pending(
    conn: &Connection,
    app: &App,
    base: &NewAuditEvent,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let mut closed_ids = Vec::new();
    for approval in approvals::for_app(conn, &app.id)? {
        let Some(mut closed) = hold::close_request(&approval, by, CLOSED_REASON, now) else { continue };
        approvals::save(conn, &mut closed)?;
        let mut event = ops::approval_event(base.clone(), "approval.closed", &closed);
        event.request_context = json!({"reason": CLOSED_REASON, "closed_by": by, "kind": closed.kind});
        audit::append(conn, event, &base.actor_id, now)?;
        closed_ids.push(closed.id);
    }
    closed_ids.sort();
    Ok(closed_ids)
}

fn readable(conn: &Connection, ctx: &Ctx<'_>, app_id: &str) -> Result<App, ApiError> {
    let app = apps::find(conn, app_id)?.filter(|app| ctx.actor.may_read_app_of(&app.owner));
    app.ok_or_else(|| ApiError::not_found(format!("app {app_id:?} not found")))
}

/// `POST /v1/apps/{id}/quarantine`.
pub fn quarantine(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    reason: &str,
) -> Result<(StatusCode, AppResponse), ApiError> {
    hold::may_quarantine(ctx.actor)?;
    let app = readable(conn, ctx, app_id)?;
    let mut held = hold::quarantine(&app, ctx.actor, reason, ctx.now)?;
    apps::save(conn, &mut held)?;
    let mut event = ctx.event("app.quarantine", &held);
    event.request_context = json!({"reason": reason.trim(), "previous_state": app.state.as_str()});
    audit::append(conn, event, &ctx.actor.user, ctx.now)?;
    Ok((StatusCode::OK, AppResponse { app: held }))
}

/// `POST /v1/apps/{id}/release`.
pub fn release(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    reason: &str,
) -> Result<(StatusCode, AppResponse), ApiError> {
    hold::may_release(ctx.actor)?;
    let app = readable(conn, ctx, app_id)?;
    let released = hold::release(&app, ctx.actor, reason, ctx.policy, ctx.now)?;
    let mut app = released.app;
    apps::save(conn, &mut app)?;
    let mut event = ctx.event("app.release", &app);
    let steps: Vec<_> = released
        .steps
        .iter()
        .map(|step| json!({"from": step.from.as_str(), "to": step.to.as_str(), "effective_at": step.at}))
        .collect();
    event.request_context = json!({
        "reason": reason.trim(),
        "state": app.state.as_str(),
        "held_by": released.hold.by,
        "held_since": released.hold.at,
        "ttl_steps": steps,
    });
    audit::append(conn, event.clone(), &ctx.actor.user, ctx.now)?;
    if app.state == AppState::Decommissioned {
        close_pending(conn, &app, &event, &ctx.actor.user, ctx.now)?;
    }
    Ok((StatusCode::OK, AppResponse { app }))
}

/// `POST /v1/apps/{id}/retirement`.
pub fn retire(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    request: &RetireRequest,
) -> Result<(StatusCode, AppResponse), ApiError> {
    let app = readable(conn, ctx, app_id)?;
    let mut retired = hold::retire(&app, ctx.actor, &request.reason, &request.checklist, ctx.now)?;
    apps::save(conn, &mut retired)?;
    let base = ctx.event("", &retired);
    let closed = close_pending(conn, &retired, &base, &ctx.actor.user, ctx.now)?;
    let mut event = NewAuditEvent { action_type: "app.retire".into(), ..base };
    event.request_context = json!({
        "reason": request.reason.trim(),
        "previous_state": app.state.as_str(),
        "checklist": {
            "credentials_revoked": request.checklist.credentials_revoked,
            "data": request.checklist.data.as_str(),
            "dependents_notified": request.checklist.dependents_notified,
        },
        "retention_days": retired.retention_days,
        "closed_requests": closed,
    });
    audit::append(conn, event, &ctx.actor.user, ctx.now)?;
    Ok((StatusCode::OK, AppResponse { app: retired }))
}

/// The policy's counterpart of [`close_pending`] for the lifecycle job.
pub fn close_pending_by_policy(conn: &Connection, app: &App, now: DateTime<Utc>) -> Result<Vec<String>, ApiError> {
    close_pending(conn, app, &ops::app_event("", app), POLICY_ACTOR, now)
}

fn path(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

#[utoipa::path(post, path = "/v1/apps/{id}/quarantine", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Quarantined at once, with the hold recorded on the app", body = AppResponse),
        (status = 400, description = "Bad body, or a missing or too long reason", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only a reviewer or a lead may quarantine", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "`not_live`: the app is not active or expiring; `held`: it is already held", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn quarantine_route(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let request: ReasonRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/quarantine");
    idempotent_write(&state, &actor, &headers, "quarantine", route, body_bytes(&body), move |conn, policy, now| {
        quarantine(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request.reason)
    })
    .await
}

#[utoipa::path(post, path = "/v1/apps/{id}/release", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Released: the app in the state its TTL gives it now", body = AppResponse),
        (status = 400, description = "Bad body, or a missing or too long reason", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only a reviewer may release (a lead may not)", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "`not_held`: the app is not held", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn release_route(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let request: ReasonRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/release");
    idempotent_write(&state, &actor, &headers, "release", route, body_bytes(&body), move |conn, policy, now| {
        release(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request.reason)
    })
    .await
}

#[utoipa::path(post, path = "/v1/apps/{id}/retirement", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = RetireRequest,
    responses(
        (status = 200, description = "Decommissioned; its pending requests are closed", body = AppResponse),
        (status = 400, description = "Bad body, a missing reason, or `checklist_incomplete` naming the unticked item", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the app's owner or a lead may retire it", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "`final_state`: already decommissioned", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn retire_route(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let request: RetireRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/retirement");
    idempotent_write(&state, &actor, &headers, "retire", route, body_bytes(&body), move |conn, policy, now| {
        retire(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request)
    })
    .await
}
