//! The routes that change who holds what: a production access request
//! (`POST /v1/apps/{id}/access-requests`), withdrawing a pending request
//! (`POST /v1/approvals/{id}/withdrawal`) and moving an app to another owner
//! (`POST /v1/apps/{id}/owner`). Each runs its rule from
//! [`crate::domain::custody`] in one write transaction with its audit event,
//! under an idempotency key.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::json;

use super::ServerState;
use super::error::ApiError;
use super::ops::{self, Ctx};
use super::request::{Caller, Origin, body_bytes, idempotent_write, parse_json};
use crate::domain::api::{AppResponse, ApprovalResponse, ErrorBody};
use crate::domain::custody::{
    self, AccessError, AccessRequest, ReasonError, TransferError, TransferRequest, WithdrawError, WithdrawalRequest,
    WithdrawalResponse,
};
use crate::domain::{Approval, ApprovalKind};
use crate::store::{approvals, apps, audit, users};

/// Action types of the events these routes write. An approved access
/// request keeps the name consumers already read (docs/governance.md) for
/// every environment: the event's `environment` says which was granted.
pub const ACCESS_GRANTED: &str = "app.production_access_granted";
pub const WITHDRAWN: &str = "approval.withdrawn";
pub const APP_WITHDRAWN: &str = "app.withdrawn";
pub const TRANSFER: &str = "app.transfer";

fn reason_error(err: ReasonError) -> ApiError {
    let code = match err {
        ReasonError::Required => "reason_required",
        ReasonError::TooLong(_) => "reason_too_long",
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, err.to_string())
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> ApiError {
        let message = err.to_string();
        match err {
            AccessError::NotOwner => ApiError::forbidden(message),
            AccessError::NotLive(_) => ApiError::new(StatusCode::CONFLICT, "not_live", message),
            AccessError::BadEnvironment(_) => ApiError::bad_request(message),
            AccessError::Reason(reason) => reason_error(reason),
            AccessError::AlreadyHas(_) => ApiError::new(StatusCode::CONFLICT, "already_granted", message),
            AccessError::AlreadyPending { .. } => ApiError::new(StatusCode::CONFLICT, "already_pending", message),
        }
    }
}

impl From<WithdrawError> for ApiError {
    fn from(err: WithdrawError) -> ApiError {
        let message = err.to_string();
        match err {
            WithdrawError::NotYours => ApiError::forbidden(message),
            WithdrawError::AlreadyWithdrawn => ApiError::new(StatusCode::CONFLICT, "already_withdrawn", message),
            WithdrawError::Decided(_) => ApiError::new(StatusCode::CONFLICT, "final_state", message),
            WithdrawError::Reason(reason) => reason_error(reason),
        }
    }
}

impl From<TransferError> for ApiError {
    fn from(err: TransferError) -> ApiError {
        let message = err.to_string();
        match err {
            TransferError::WrongRole => ApiError::forbidden(message),
            TransferError::Reason(reason) => reason_error(reason),
            TransferError::UnknownUser(_) => ApiError::new(StatusCode::BAD_REQUEST, "unknown_user", message),
            TransferError::MayNotOwn(_) => ApiError::new(StatusCode::BAD_REQUEST, "may_not_own", message),
            TransferError::SameOwner(_) => ApiError::new(StatusCode::CONFLICT, "same_owner", message),
            TransferError::Final(_) => ApiError::new(StatusCode::CONFLICT, "final_state", message),
        }
    }
}

/// Files a production access request for `app_id`.
pub fn request_access(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    request: &AccessRequest,
) -> Result<(StatusCode, ApprovalResponse), ApiError> {
    let app = apps::get(conn, app_id)?;
    if !ctx.actor.may_read_app_of(&app.owner) {
        return Err(ApiError::not_found(format!("app {app_id:?} not found")));
    }
    let requests = approvals::for_app(conn, app_id)?;
    let tier = custody::request_access(&app, ctx.actor, &request.environment, &request.reason, &requests, ctx.policy)?;
    let mut approval = Approval::new(
        ops::new_id("apr"),
        &app,
        ApprovalKind::ProductionAccess,
        ctx.actor.user.clone(),
        tier,
        ctx.policy,
        ctx.now,
    );
    approval.environment = Some(request.environment.clone());
    approval.reason = request.reason.clone();
    approvals::save(conn, &mut approval)?;
    let mut event = ops::approval_event(ctx.event("", &app), "approval.requested", &approval);
    event.environment = Some(request.environment.clone());
    event.request_context = json!({
        "kind": ApprovalKind::ProductionAccess,
        "environment": request.environment,
        "reason": request.reason,
        "review_tier": tier.as_str(),
    });
    audit::append(conn, event, &ctx.actor.user, ctx.now)?;
    Ok((StatusCode::CREATED, ApprovalResponse { approval }))
}

/// Withdraws the pending request `approval_id`; a withdrawn `new_app`
/// request decommissions its pending app ([`custody::state_after_withdrawal`]).
pub fn withdraw(
    conn: &Connection,
    ctx: &Ctx<'_>,
    approval_id: &str,
    reason: &str,
) -> Result<(StatusCode, WithdrawalResponse), ApiError> {
    let current = approvals::get(conn, approval_id)?;
    if !ctx.actor.may_read_app_of(&current.app_owner) && current.requested_by != ctx.actor.user {
        return Err(ApiError::not_found(format!("approval {approval_id:?} not found")));
    }
    let mut withdrawn = custody::withdraw(&current, ctx.actor, reason, ctx.now)?;
    approvals::save(conn, &mut withdrawn)?;
    let mut app = apps::get(conn, &withdrawn.app_id)?;
    let next_state = custody::state_after_withdrawal(&withdrawn, &app);
    let mut event = ops::approval_event(ctx.event("", &app), WITHDRAWN, &withdrawn);
    event.request_context = json!({
        "kind": withdrawn.kind,
        "reason": reason,
        "app_state": next_state.unwrap_or(app.state).as_str(),
    });
    audit::append(conn, event, &ctx.actor.user, ctx.now)?;

    let changed = match next_state {
        Some(state) => {
            let previous = app.state;
            app.enter(state, ctx.now);
            app.updated_at = ctx.now;
            apps::save(conn, &mut app)?;
            let mut event = ops::approval_event(ctx.event("", &app), APP_WITHDRAWN, &withdrawn);
            event.resource_type = "app".into();
            event.resource_id = Some(app.id.clone());
            event.request_context = json!({"previous_state": previous.as_str(), "reason": reason});
            audit::append(conn, event, &ctx.actor.user, ctx.now)?;
            Some(app)
        }
        None => None,
    };
    Ok((StatusCode::OK, WithdrawalResponse { approval: withdrawn, app: changed }))
}

/// Moves `app_id` and its requests to another owner. The change log leaves
/// a delete for the old owner of each, so their caches drop them.
pub fn transfer(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    request: &TransferRequest,
) -> Result<(StatusCode, AppResponse), ApiError> {
    custody::may_transfer(ctx.actor)?;
    let app = apps::get(conn, app_id)?;
    let to_roles = match users::check_name(&request.to) {
        Ok(()) => users::active(conn, &request.to)?.map(|user| user.roles),
        Err(_) => None,
    };
    let mut moved = custody::transfer(&app, ctx.actor, &request.to, to_roles.as_deref(), &request.reason, ctx.now)?;
    apps::save(conn, &mut moved)?;
    for mut approval in approvals::for_app(conn, app_id)? {
        approval.app_owner = moved.owner.clone();
        approvals::save(conn, &mut approval)?;
    }
    let mut event = ctx.event(TRANSFER, &moved);
    event.request_context = json!({"from": app.owner, "to": moved.owner, "reason": request.reason});
    audit::append(conn, event, &ctx.actor.user, ctx.now)?;
    Ok((StatusCode::OK, AppResponse { app: moved }))
}

#[utoipa::path(post, path = "/v1/apps/{id}/access-requests", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = AccessRequest,
    responses(
        (status = 201, description = "The request, pending review at the app's tier (low risk as medium)", body = ApprovalResponse),
        (status = 400, description = "Bad body, environment name or reason", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the app's owner or a lead may request access", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "`not_live`: the app is not active or expiring; `already_granted`: it has the \
            environment; `already_pending`: a request for it is pending (the message names it)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn access_requests(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = id.map(|Path(id)| id).map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let request: AccessRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/access-requests");
    idempotent_write(&state, &actor, &headers, "request_access", route, body_bytes(&body), move |conn, policy, now| {
        request_access(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request)
    })
    .await
}

#[utoipa::path(post, path = "/v1/approvals/{id}/withdrawal", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Approval request id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body(content = Option<WithdrawalRequest>, description = "`{\"reason\":\"…\"}`, optional"),
    responses(
        (status = 200, description = "The withdrawn request, and its app when the withdrawal changed it \
            (a `new_app` request's pending app becomes `decommissioned`)", body = WithdrawalResponse),
        (status = 400, description = "Bad body or reason", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the requester or the app's owner may withdraw", body = ErrorBody),
        (status = 404, description = "No such request the caller may read", body = ErrorBody),
        (status = 409, description = "`final_state`: already approved or rejected; `already_withdrawn`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn withdrawal(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = id.map(|Path(id)| id).map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let request: WithdrawalRequest = match body_bytes(&body) {
        [] if body.is_ok() => WithdrawalRequest::default(),
        _ => parse_json::<Option<WithdrawalRequest>>(&body)?.unwrap_or_default(),
    };
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/approvals/{id}/withdrawal");
    idempotent_write(&state, &actor, &headers, "withdraw", route, body_bytes(&body), move |conn, policy, now| {
        withdraw(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request.reason)
    })
    .await
}

#[utoipa::path(post, path = "/v1/apps/{id}/owner", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The app under its new owner; its requests moved with it", body = AppResponse),
        (status = 400, description = "Bad body or reason; `unknown_user`: `to` is no active user; `may_not_own`: \
            `to` holds neither the owner nor the lead role", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Needs the lead or admin role", body = ErrorBody),
        (status = 404, description = "No such app", body = ErrorBody),
        (status = 409, description = "`same_owner`: `to` already owns it; `final_state`: the app is decommissioned \
            or rejected", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn owner(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = id.map(|Path(id)| id).map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let request: TransferRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/owner");
    idempotent_write(&state, &actor, &headers, "transfer", route, body_bytes(&body), move |conn, policy, now| {
        transfer(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, &request)
    })
    .await
}
