//! Intake and adoption: `POST /v1/intake` (a new app) and
//! `POST /v1/apps/{id}/adoption` (a discovered app taken through review
//! under its own id), each with `?dry_run=true` to evaluate a manifest
//! without writing anything. The rules are in [`crate::domain::intake`]
//! and [`crate::domain::manifest_file`]; a manifest with problems is
//! refused with all of them (400 `invalid_manifest`, `problems`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::ServerState;
use super::error::ApiError;
use super::ops::{Ctx, app_event, append_under, approval_event, new_id};
use super::request::{Caller, Origin, body_bytes, idempotent_write, parse_json};
use crate::domain::api::{ErrorBody, IntakeResponse};
use crate::domain::intake::{self, IntakePreview};
use crate::domain::manifest_file::{self, Problem};
use crate::domain::naming;
use crate::domain::policy::Policy;
use crate::domain::risk::IntakeReview;
use crate::domain::ttl;
use crate::domain::{Actor, App, Approval, ApprovalKind, Manifest};
use crate::store::{approvals, apps, users};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// Evaluate the manifest and answer what would happen (200), writing
    /// nothing: no app, no request, no audit event.
    #[serde(default)]
    pub dry_run: bool,
}

fn query(params: Result<Query<DryRunQuery>, QueryRejection>) -> Result<DryRunQuery, ApiError> {
    params.map(|Query(value)| value).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// The body as a manifest, or every problem it has (with the name it
/// gives, when that is text, for the name rule).
struct Read {
    manifest: Result<Manifest, Vec<Problem>>,
    name: Option<String>,
}

fn read_manifest(body: &Result<Bytes, BytesRejection>) -> Result<Read, ApiError> {
    let value: Value = parse_json(body)?;
    let name = value.get("name").and_then(Value::as_str).map(str::to_string);
    Ok(Read { manifest: manifest_file::from_value(value), name })
}

/// What the manifest's owner is and whether the caller may name them.
enum OwnerCheck {
    Fine(String),
    Refused(ApiError),
    Problem(Problem),
}

fn check_owner(conn: &Connection, actor: &Actor, owner: String) -> Result<OwnerCheck, ApiError> {
    if owner != actor.user && !actor.may_file_for_others() {
        return Ok(OwnerCheck::Refused(ApiError::forbidden(
            "only a lead or an admin may file intake for another owner",
        )));
    }
    if let Err(bad) = users::check_name(&owner) {
        return Ok(OwnerCheck::Problem(Problem::new("owner", bad)));
    }
    if owner != actor.user && !users::exists(conn, &owner)? {
        return Ok(OwnerCheck::Problem(Problem::new(
            "owner",
            format!("{owner:?} is not an active user; name the owner in the manifest"),
        )));
    }
    Ok(OwnerCheck::Fine(owner))
}

/// The name rule, as a problem of `name`; `adopting` is the app that may
/// keep it (an adopted app does not block its own name).
fn name_problem(conn: &Connection, name: &str, adopting: Option<&str>) -> Result<Option<Problem>, ApiError> {
    let carriers = apps::carriers_of_name(conn, name)?;
    let others = carriers.iter().filter(|(id, _)| Some(id.as_str()) != adopting);
    Ok(naming::check_name_free(name, others.map(|(id, state)| (id.as_str(), *state)))
        .err()
        .map(|taken| Problem::new("name", taken.to_string())))
}

/// The dry run of intake or adoption: every problem, the server's own
/// (owner, name) beside the manifest's, and what would happen.
fn evaluate(
    conn: &Connection,
    actor: &Actor,
    read: Read,
    adopting: Option<&App>,
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<IntakePreview, ApiError> {
    let (manifest, mut problems) = match read.manifest {
        Ok(manifest) => (Some(manifest), Vec::new()),
        Err(problems) => (None, problems),
    };
    // A manifest with other problems still hears whether its name is free.
    if manifest.is_none()
        && let Some(name) = read.name.filter(|name| !name.trim().is_empty())
        && !problems.iter().any(|problem| problem.field == "name")
    {
        problems.extend(name_problem(conn, &name, adopting.map(|app| app.id.as_str()))?);
    }
    if let Some(manifest) = &manifest {
        let owner = match adopting {
            Some(app) => intake::adopted_owner(app, manifest),
            None => manifest.owner.clone().unwrap_or_else(|| actor.user.clone()),
        };
        match check_owner(conn, actor, owner)? {
            OwnerCheck::Fine(_) => {}
            OwnerCheck::Refused(refused) => problems.push(Problem::new("owner", refused.message)),
            OwnerCheck::Problem(problem) => problems.push(problem),
        }
        problems.extend(name_problem(conn, &manifest.name, adopting.map(|app| app.id.as_str()))?);
    }
    manifest_file::order(&mut problems);
    Ok(intake::preview(policy, manifest.as_ref(), problems, now))
}

fn dry_run_answer(preview: IntakePreview) -> Response {
    (StatusCode::OK, axum::Json(preview)).into_response()
}

#[utoipa::path(post, path = "/v1/intake", tag = "actions", security(("bearer" = [])),
    params(
        DryRunQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = Manifest,
    responses(
        (status = 200, description = "`dry_run=true`: what intake would do (risk, tier, review) and every problem; nothing is written", body = IntakePreview),
        (status = 201, description = "The app and, unless approved by policy, its request", body = IntakeResponse),
        (status = 400, description = "Bad body, or `invalid_manifest` with every problem in `problems`", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Role does not allow it", body = ErrorBody),
        (status = 409, description = "`name_taken`: another app that is not decommissioned or rejected holds this name; the message names its id", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn intake(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    params: Result<Query<DryRunQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let read = read_manifest(&body)?;
    let actor = caller.0;
    if params.dry_run {
        may_submit(&actor)?;
        let now = state.clock.now();
        let policy = state.policy.current();
        let preview =
            state.db.read("intake_dry_run", move |conn| evaluate(conn, &actor, read, None, &policy, now)).await?;
        return Ok(dry_run_answer(preview));
    }
    let manifest = read.manifest.map_err(ApiError::invalid_manifest)?;
    let op_actor = actor.clone();
    idempotent_write(
        &state,
        &actor,
        &headers,
        "intake",
        "POST /v1/intake".into(),
        body_bytes(&body),
        move |conn, policy, now| register(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, manifest),
    )
    .await
}

fn may_submit(actor: &Actor) -> Result<(), ApiError> {
    if actor.may_submit_intake() {
        Ok(())
    } else {
        Err(ApiError::forbidden("submitting intake needs the owner, lead or admin role"))
    }
}

/// The owner of a real intake or adoption, or its refusal.
fn owner_or_refusal(conn: &Connection, actor: &Actor, owner: String) -> Result<String, ApiError> {
    match check_owner(conn, actor, owner)? {
        OwnerCheck::Fine(owner) => Ok(owner),
        OwnerCheck::Refused(refused) => Err(refused),
        OwnerCheck::Problem(problem) => Err(ApiError::invalid_manifest(vec![problem])),
    }
}

/// Files the review of `app` (just saved), or records its approval by policy.
fn file_review(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app: &App,
    review: IntakeReview,
) -> Result<Option<Approval>, ApiError> {
    match review {
        IntakeReview::AutoApproved => {
            let mut event = app_event("approval.auto_approved", app);
            event.request_context = json!({"reason": ctx.policy.auto_approval_text()});
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            Ok(None)
        }
        IntakeReview::Review(tier) => {
            let mut approval = Approval::new(
                new_id("apr"),
                app,
                ApprovalKind::NewApp,
                ctx.actor.user.clone(),
                tier,
                ctx.policy,
                ctx.now,
            );
            approvals::save(conn, &mut approval)?;
            append_under(
                conn,
                approval_event(ctx.event("", app), "approval.requested", &approval),
                ctx.policy,
                &ctx.actor.user,
                ctx.now,
            )?;
            Ok(Some(approval))
        }
    }
}

/// `POST /v1/intake`: registers the app and files its review, or approves it by policy.
pub fn register(
    conn: &Connection,
    ctx: &Ctx<'_>,
    manifest: Manifest,
) -> Result<(StatusCode, IntakeResponse), ApiError> {
    may_submit(ctx.actor)?;
    let problems: Vec<Problem> = manifest.problems().into_iter().map(Problem::from).collect();
    if !problems.is_empty() {
        return Err(ApiError::invalid_manifest(problems));
    }
    let owner = manifest.owner.clone().unwrap_or_else(|| ctx.actor.user.clone());
    let owner = owner_or_refusal(conn, ctx.actor, owner)?;

    // Checked inside the write transaction, so two intakes cannot both pass.
    let carriers = apps::carriers_of_name(conn, &manifest.name)?;
    naming::check_name_free(&manifest.name, carriers.iter().map(|(id, state)| (id.as_str(), *state)))
        .map_err(|taken| ApiError::new(StatusCode::CONFLICT, "name_taken", taken.to_string()))?;

    let mut app = App::from_manifest(new_id("app"), owner, manifest, ctx.policy, ctx.now);
    let review = ctx.policy.intake_review(&app.risk, &app.controls, app.execution_environment);
    if review == IntakeReview::AutoApproved {
        ttl::activate(&mut app, ctx.policy, ctx.now);
    }
    apps::save(conn, &mut app)?;
    append_under(conn, ctx.event("app.registered", &app), ctx.policy, &ctx.actor.user, ctx.now)?;
    let approval = file_review(conn, ctx, &app, review)?;
    Ok((StatusCode::CREATED, IntakeResponse { app, approval }))
}

fn path(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// The app `id` as `actor` may see it: a 404 for one they may not read.
fn readable_app(conn: &Connection, actor: &Actor, id: &str) -> Result<App, ApiError> {
    match apps::find(conn, id)? {
        Some(app) if actor.may_read_app_of(&app.owner) => Ok(app),
        _ => Err(ApiError::not_found(format!("app {id:?} not found"))),
    }
}

#[utoipa::path(post, path = "/v1/apps/{id}/adoption", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The discovered app's id"),
        DryRunQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = Manifest,
    responses(
        (status = 200, description = "`dry_run=true`: what adoption would do (risk, tier, review) and every problem; nothing is written", body = IntakePreview),
        (status = 201, description = "The adopted app and, unless approved by policy, its request", body = IntakeResponse),
        (status = 400, description = "Bad body, or `invalid_manifest` with every problem in `problems`", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the owner the import named or a lead may adopt it", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "`not_discovered`: the app is not discovered (already registered or adopted); `name_taken`: another app holds the name", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn adopt(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<DryRunQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let params = query(params)?;
    let read = read_manifest(&body)?;
    let actor = caller.0;
    if params.dry_run {
        let now = state.clock.now();
        let policy = state.policy.current();
        let preview = state
            .db
            .read("adopt_dry_run", move |conn| {
                let app = readable_app(conn, &actor, &id)?;
                intake::may_adopt(&app, &actor)?;
                evaluate(conn, &actor, read, Some(&app), &policy, now)
            })
            .await?;
        return Ok(dry_run_answer(preview));
    }
    let manifest = read.manifest.map_err(ApiError::invalid_manifest)?;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/adoption");
    idempotent_write(&state, &actor, &headers, "adopt", route, body_bytes(&body), move |conn, policy, now| {
        adopt_app(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, manifest)
    })
    .await
}

/// The manifest fields of an app, for the list of what adoption changed.
const MANIFEST_FIELDS: &[&str] = &[
    "name",
    "purpose",
    "owner",
    "team",
    "sponsor",
    "cost_center",
    "data_classification",
    "expected_users",
    "external_connectivity",
    "execution_environment",
    "connectors",
    "endpoints",
    "secrets",
    "environments",
    "lifecycle_tier",
    "ttl_class",
    "retention_days",
    "monthly_budget",
    "controls",
];

/// `POST /v1/apps/{id}/adoption`: the discovered app `id` under `manifest`,
/// pending its review (or approved by policy), with an `app.adopted` event.
pub fn adopt_app(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    manifest: Manifest,
) -> Result<(StatusCode, IntakeResponse), ApiError> {
    let current = readable_app(conn, ctx.actor, app_id)?;
    intake::may_adopt(&current, ctx.actor)?;
    let problems: Vec<Problem> = manifest.problems().into_iter().map(Problem::from).collect();
    if !problems.is_empty() {
        return Err(ApiError::invalid_manifest(problems));
    }
    let owner = owner_or_refusal(conn, ctx.actor, intake::adopted_owner(&current, &manifest))?;
    if let Some(taken) = name_problem(conn, &manifest.name, Some(&current.id))? {
        return Err(ApiError::new(StatusCode::CONFLICT, "name_taken", taken.problem));
    }

    let mut app = intake::adopt(&current, manifest, owner, ctx.policy, ctx.now);
    let review = ctx.policy.intake_review(&app.risk, &app.controls, app.execution_environment);
    if review == IntakeReview::AutoApproved {
        ttl::activate(&mut app, ctx.policy, ctx.now);
    }
    apps::save(conn, &mut app)?;
    let (before, after) =
        (serde_json::to_value(&current).unwrap_or_default(), serde_json::to_value(&app).unwrap_or_default());
    let changed: Vec<&str> = MANIFEST_FIELDS.iter().copied().filter(|field| before[field] != after[field]).collect();
    let mut event = ctx.event("app.adopted", &app);
    event.request_context = json!({
        "previous_state": current.state.as_str(),
        "previous_version": current.version,
        "changed": changed,
        "upstream": current.upstream.as_deref().map(|upstream| json!({"source": upstream.source, "key": upstream.key})),
    });
    append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
    let approval = file_review(conn, ctx, &app, review)?;
    Ok((StatusCode::CREATED, IntakeResponse { app, approval }))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_document_declares_the_dry_run_and_the_adoption() {
        let doc = serde_json::to_value(super::super::openapi::ApiDoc::openapi()).unwrap();
        for path in ["/v1/intake", "/v1/apps/{id}/adoption"] {
            let post = &doc["paths"][path]["post"];
            let params = post["parameters"].as_array().unwrap_or_else(|| panic!("{path}: {post}"));
            let dry_run = params.iter().find(|p| p["name"] == "dry_run").unwrap_or_else(|| panic!("{path}"));
            assert_eq!(dry_run["in"], "query", "{path}");
            assert_eq!(dry_run["required"], false, "{path}");
            for status in ["200", "201", "400", "401", "403", "409", "413", "422"] {
                assert!(post["responses"][status].is_object(), "{path} answers {status}");
            }
            let ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].as_str();
            assert_eq!(ok, Some("#/components/schemas/IntakePreview"), "{path}");
        }
        assert!(doc["paths"]["/v1/apps/{id}/adoption"]["post"]["responses"]["404"].is_object());
        let problems = &doc["components"]["schemas"]["ErrorBody"]["properties"]["problems"];
        assert!(problems.is_object(), "ErrorBody lists the problems: {problems}");
        assert!(doc["components"]["schemas"]["Problem"]["properties"]["field"].is_object());
    }
}
