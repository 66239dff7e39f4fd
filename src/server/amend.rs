//! `PATCH /v1/apps/{id}`: amending a manifest ([`crate::domain::amend`]),
//! and applying a held change once its request is approved.

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::json;

use super::ServerState;
use super::error::ApiError;
use super::ops::{Ctx, append_under, approval_event, new_id};
use super::request::{Caller, Origin, body_bytes, idempotent_write, parse_json};
use crate::domain::amend::{self, AmendError, AmendInput, Amendment, FieldChange};
use crate::domain::api::{AmendOutcome, AmendRequest, AmendResponse, ErrorBody};
use crate::domain::{App, Approval, Risk, naming};
use crate::store::{approvals, apps};

impl From<AmendError> for ApiError {
    fn from(err: AmendError) -> ApiError {
        let message = err.to_string();
        match err {
            AmendError::NotAllowed => ApiError::forbidden(message),
            AmendError::FinalState(_) => ApiError::new(StatusCode::CONFLICT, "final_state", message),
            AmendError::Discovered => ApiError::new(StatusCode::CONFLICT, "discovered", message),
            AmendError::StaleRevision { .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "stale_revision", message)
            }
            AmendError::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_manifest", message),
            AmendError::NoChange => ApiError::new(StatusCode::BAD_REQUEST, "no_change", message),
            AmendError::ChangePending(_) => ApiError::new(StatusCode::CONFLICT, "change_pending", message),
        }
    }
}

#[utoipa::path(patch, path = "/v1/apps/{id}", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = AmendRequest,
    responses(
        (status = 200, description = "Applied at once (`applied`), or a pending app amended in place (`in_place`)", body = AmendResponse),
        (status = 202, description = "Held as a `change` request for review (`held`), or a request awaiting changes revised and resubmitted (`revised`)", body = AmendResponse),
        (status = 400, description = "Bad body, an unknown field or a bad value (every one named), or nothing changes", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the app's owner, or a lead, may amend it", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "Rejected or decommissioned (`final_state`), discovered (`discovered`), a change already pending (`change_pending`), or the name is taken (`name_taken`)", body = ErrorBody),
        (status = 412, description = "`rev` is stale", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn amend(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let request: AmendRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("PATCH /v1/apps/{id}");
    idempotent_write(&state, &actor, &headers, "amend", route, body_bytes(&body), move |conn, policy, now| {
        amend_app(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, request)
    })
    .await
}

fn risk_json(risk: &Risk) -> serde_json::Value {
    json!({"score": risk.score, "tier": risk.tier.as_str()})
}

fn changes_json(changes: &[FieldChange]) -> serde_json::Value {
    serde_json::to_value(changes).unwrap_or_default()
}

/// A new name must be free among the other apps.
fn check_name(conn: &Connection, app: &App, changes: &[FieldChange]) -> Result<(), ApiError> {
    let Some(name) = changes.iter().find(|change| change.field == "name").and_then(|change| change.new.as_str()) else {
        return Ok(());
    };
    let carriers = apps::carriers_of_name(conn, name)?;
    naming::check_name_free(
        name,
        carriers.iter().filter(|(id, _)| *id != app.id).map(|(id, state)| (id.as_str(), *state)),
    )
    .map_err(|taken| ApiError::new(StatusCode::CONFLICT, "name_taken", taken.to_string()))
}

/// Requests sent back for changes that the amendment answered: saved at a
/// new revision, each with its `approval.resubmitted` event.
fn resubmit_all(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app: &App,
    requests: Vec<Approval>,
    changes: &[FieldChange],
) -> Result<(), ApiError> {
    for mut request in requests {
        approvals::save(conn, &mut request)?;
        let mut event = approval_event(ctx.event("", app), "approval.resubmitted", &request);
        event.request_context = json!({
            "kind": request.kind.as_str(), "changes": changes_json(changes),
            "review_tier": request.review_tier.as_str(), "due_at": request.due_at,
        });
        append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
    }
    Ok(())
}

/// The amendment over one transaction: the rule, the writes, their events.
pub fn amend_app(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    request: AmendRequest,
) -> Result<(StatusCode, AmendResponse), ApiError> {
    let app = apps::get(conn, app_id)?;
    if !ctx.actor.may_read_app_of(&app.owner) {
        return Err(ApiError::not_found(format!("app {app_id:?} not found")));
    }
    let open: Vec<Approval> = approvals::for_app(conn, app_id)?.into_iter().filter(amend::is_open).collect();
    let amendment = amend::amend(AmendInput {
        app: &app,
        open: &open,
        actor: ctx.actor,
        rev: request.rev,
        set: &request.set,
        new_request_id: new_id("apr"),
        policy: ctx.policy,
        now: ctx.now,
    })?;
    check_name(conn, &app, amendment.changes())?;
    let before = app.risk;
    match amendment {
        Amendment::Applied { app: mut amended, changes, resubmitted } => {
            apps::save(conn, &mut amended)?;
            resubmit_all(conn, ctx, &amended, resubmitted, &changes)?;
            let mut event = ctx.event("app.amend", &amended);
            event.request_context = json!({
                "changes": changes_json(&changes), "rev": request.rev, "applied": "at_once",
                "risk_before": risk_json(&before), "risk_after": risk_json(&amended.risk),
            });
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            Ok((
                StatusCode::OK,
                AmendResponse { outcome: AmendOutcome::Applied, changes, app: *amended, approval: None },
            ))
        }
        Amendment::Held { request: mut held, changes, resubmitted } => {
            approvals::save(conn, &mut held)?;
            resubmit_all(conn, ctx, &app, resubmitted, &changes)?;
            let mut event = approval_event(ctx.event("", &app), "approval.requested", &held);
            event.request_context = json!({
                "kind": "change", "changes": changes_json(&changes), "rev": request.rev,
                "risk_before": risk_json(&before), "risk_after": risk_json(&held.risk),
                "review_tier": held.review_tier.as_str(),
            });
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            let answer = AmendResponse { outcome: AmendOutcome::Held, changes, app, approval: Some(*held) };
            Ok((StatusCode::ACCEPTED, answer))
        }
        Amendment::Revised { request: mut revised, changes } => {
            approvals::save(conn, &mut revised)?;
            let mut event = approval_event(ctx.event("", &app), "approval.resubmitted", &revised);
            event.request_context = json!({
                "kind": "change", "changes": changes_json(&changes), "rev": request.rev,
                "risk_after": risk_json(&revised.risk), "review_tier": revised.review_tier.as_str(),
                "due_at": revised.due_at,
            });
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            let answer = AmendResponse { outcome: AmendOutcome::Revised, changes, app, approval: Some(*revised) };
            Ok((StatusCode::ACCEPTED, answer))
        }
        Amendment::InPlace { app: mut amended, request: rescored, changes, resubmitted } => {
            apps::save(conn, &mut amended)?;
            let mut rescored = rescored.map(|request| *request);
            if let Some(request) = rescored.as_mut() {
                approvals::save(conn, request)?;
            }
            let mut event = ctx.event("app.amend", &amended);
            event.request_context = json!({
                "changes": changes_json(&changes), "rev": request.rev, "applied": "under_review",
                "risk_before": risk_json(&before), "risk_after": risk_json(&amended.risk),
                "request": rescored.as_ref().map(|request| request.id.clone()),
            });
            if let Some(request) = &rescored {
                event.approval_id = Some(request.id.clone());
            }
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            if let Some(request) = rescored.as_ref().filter(|_| resubmitted) {
                let mut event = approval_event(ctx.event("", &amended), "approval.resubmitted", request);
                event.request_context = json!({
                    "kind": "new_app", "changes": changes_json(&changes), "rev": request.rev,
                    "risk_after": risk_json(&request.risk), "review_tier": request.review_tier.as_str(),
                    "due_at": request.due_at,
                });
                append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            }
            let answer = AmendResponse { outcome: AmendOutcome::InPlace, changes, app: *amended, approval: rescored };
            Ok((StatusCode::OK, answer))
        }
    }
}

/// An approved `change` request: its changes go on the app (version + 1,
/// re-scored), recorded as `app.amend` with `applied_from` the request.
pub fn apply_approved(conn: &Connection, ctx: &Ctx<'_>, request: &Approval, app: &mut App) -> Result<(), ApiError> {
    let before = app.risk;
    let changes = amend::apply_held(app, request, ctx.policy, ctx.now)?;
    apps::save(conn, app)?;
    let mut event = approval_event(ctx.event("", app), "app.amend", request);
    event.resource_type = "app".into();
    event.resource_id = Some(app.id.clone());
    event.risk_score_at_time = Some(app.risk.score);
    event.request_context = json!({
        "changes": changes_json(&changes), "applied": "on_approval", "applied_from": request.id,
        "risk_before": risk_json(&before), "risk_after": risk_json(&app.risk),
    });
    append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
    Ok(())
}
