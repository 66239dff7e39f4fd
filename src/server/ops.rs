//! The state changes the API makes, each over one open transaction: load,
//! apply the domain rule, save at a new revision, append the audit event.
//! If any step fails the caller's transaction rolls back whole, so a change
//! never lands without its audit event (audit fails closed).

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use super::error::ApiError;
use super::request::Origin;
use crate::domain::api::{ApprovalResponse, IngestRequest, IngestResponse, MAX_INGEST_EVENTS};
use crate::domain::approval::{self, DecisionKind};
use crate::domain::audit::check_runtime_event;
use crate::domain::policy::Policy;
use crate::domain::ttl::{self, PolicyStep, Renewal};
use crate::domain::{Actor, App, AppState, Approval, ApprovalKind, ApprovalStatus, NewAuditEvent, Role};
use crate::store::{approvals, apps, audit};

pub use crate::domain::audit::POLICY_ACTOR;

/// Who did it and from where, for the audit events of one call.
pub struct Ctx<'a> {
    pub actor: &'a Actor,
    pub origin: &'a Origin,
    /// The policy the call is judged under (the active one when it began).
    pub policy: &'a Policy,
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    pub fn event(&self, action_type: &str, app: &App) -> NewAuditEvent {
        NewAuditEvent {
            actor_id: self.actor.user.clone(),
            actor_role: self.actor.primary_role().as_str().to_string(),
            ip_address: self.origin.ip_address.clone(),
            user_agent: self.origin.user_agent.clone(),
            ..app_event(action_type, app)
        }
    }
}

/// An event about `app`, with the fields every app event carries.
pub fn app_event(action_type: &str, app: &App) -> NewAuditEvent {
    NewAuditEvent {
        actor_id: POLICY_ACTOR.into(),
        actor_role: POLICY_ACTOR.into(),
        app_id: Some(app.id.clone()),
        version: Some(app.version),
        environment: app.environments.first().cloned(),
        action_type: action_type.into(),
        resource_type: "app".into(),
        resource_id: Some(app.id.clone()),
        data_classification: Some(app.data_classification.as_str().into()),
        risk_score_at_time: Some(app.risk.score),
        request_context: json!({}),
        ..NewAuditEvent::default()
    }
}

/// Appends `event` with the version of `policy` in its `request_context`
/// (`policy_version`): every intake, decision, amendment and lifecycle step
/// names the rules it was made under.
pub fn append_under(
    conn: &Connection,
    mut event: NewAuditEvent,
    policy: &Policy,
    by: &str,
    now: DateTime<Utc>,
) -> Result<crate::domain::AuditEvent, ApiError> {
    if !event.request_context.is_object() {
        event.request_context = json!({});
    }
    if let Some(context) = event.request_context.as_object_mut() {
        context.insert("policy_version".into(), json!(policy.version()));
    }
    Ok(audit::append(conn, event, by, now)?)
}

pub fn approval_event(base: NewAuditEvent, action_type: &str, approval: &Approval) -> NewAuditEvent {
    NewAuditEvent {
        action_type: action_type.into(),
        resource_type: "approval".into(),
        resource_id: Some(approval.id.clone()),
        approval_id: Some(approval.id.clone()),
        risk_score_at_time: Some(approval.risk_score_at_time),
        ..base
    }
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// `POST /v1/approvals/{id}/decisions`.
pub fn decide(
    conn: &Connection,
    ctx: &Ctx<'_>,
    approval_id: &str,
    decision: DecisionKind,
    comment: &str,
    rev: u64,
) -> Result<(StatusCode, ApprovalResponse), ApiError> {
    let current = approvals::get(conn, approval_id)?;
    if !ctx.actor.may_read_app_of(&current.app_owner) {
        return Err(ApiError::not_found(format!("approval {approval_id:?} not found")));
    }
    let mut decided = approval::decide(&current, ctx.actor, decision, comment, rev, ctx.policy, ctx.now)?;
    let mut app = apps::get(conn, &decided.app_id)?;
    // An approval would bring the app back to life, and changes asked for
    // could never be made; decommissioned is final.
    if decision != DecisionKind::Reject && app.state == AppState::Decommissioned {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "final_state",
            "the app is decommissioned; that is final, so this request can only be rejected",
        ));
    }
    approvals::save(conn, &mut decided)?;

    let action = decision.action();
    let mut event = approval_event(ctx.event("", &app), action, &decided);
    event.request_context = json!({"comment": comment, "rev": rev, "status": decided.status.as_str()});
    append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;

    if decided.status != ApprovalStatus::Pending {
        let next_state = match (decided.status, decided.kind) {
            (ApprovalStatus::Approved, ApprovalKind::NewApp | ApprovalKind::Renewal) => {
                ttl::activate(&mut app, ctx.policy, ctx.now);
                Some("app.activated")
            }
            (ApprovalStatus::Approved, ApprovalKind::ProductionAccess) => {
                // The environment the request asked for (`production` for
                // requests filed before it was recorded).
                let environment = decided.requested_environment().to_string();
                if !app.environments.contains(&environment) {
                    app.environments.push(environment);
                }
                app.updated_at = ctx.now;
                Some(super::custody::ACCESS_GRANTED)
            }
            (ApprovalStatus::Approved, ApprovalKind::Change) => {
                super::amend::apply_approved(conn, ctx, &decided, &mut app)?;
                None
            }
            (ApprovalStatus::Rejected, ApprovalKind::NewApp) => {
                app.enter(AppState::Rejected, ctx.now);
                app.updated_at = ctx.now;
                Some("app.rejected")
            }
            _ => None,
        };
        if let Some(action) = next_state {
            apps::save(conn, &mut app)?;
            let mut event = approval_event(ctx.event("", &app), action, &decided);
            event.resource_type = "app".into();
            event.resource_id = Some(app.id.clone());
            if decided.kind == ApprovalKind::ProductionAccess {
                event.environment = Some(decided.requested_environment().to_string());
                event.request_context = json!({"environment": decided.requested_environment()});
            }
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
        }
    }
    Ok((StatusCode::OK, ApprovalResponse { approval: decided }))
}

/// What a renewal answers: the app, or the request filed for a read-only app.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum RenewalAnswer {
    App { app: Box<App> },
    Approval { approval: Box<Approval> },
}

/// `POST /v1/apps/{id}/renewals`.
pub fn renew(
    conn: &Connection,
    ctx: &Ctx<'_>,
    app_id: &str,
    days: Option<i64>,
) -> Result<(StatusCode, RenewalAnswer), ApiError> {
    let app = apps::get(conn, app_id)?;
    if !ctx.actor.may_read_app_of(&app.owner) {
        return Err(ApiError::not_found(format!("app {app_id:?} not found")));
    }
    match ttl::renew(&app, ctx.actor, days, ctx.policy, ctx.now)? {
        Renewal::Extended { app: mut renewed, previous_expiry } => {
            apps::save(conn, &mut renewed)?;
            let mut event = ctx.event("app.renewed", &renewed);
            event.request_context = json!({
                "previous_state": app.state.as_str(),
                "previous_expires_at": previous_expiry,
                "expires_at": renewed.expires_at,
            });
            append_under(conn, event, ctx.policy, &ctx.actor.user, ctx.now)?;
            Ok((StatusCode::OK, RenewalAnswer::App { app: renewed }))
        }
        Renewal::NeedsApproval => {
            // A pending request for an environment does not block re-approval.
            if let Some(pending) = approvals::for_app(conn, app_id)?.into_iter().find(|request| {
                request.status == ApprovalStatus::Pending && request.kind != ApprovalKind::ProductionAccess
            }) {
                return Err(ApiError::conflict(format!(
                    "request {} for this app is already pending review",
                    pending.id
                )));
            }
            let tier = ctx.policy.review_tier_for(app.risk.tier);
            let mut approval = Approval::new(
                new_id("apr"),
                &app,
                ApprovalKind::Renewal,
                ctx.actor.user.clone(),
                tier,
                ctx.policy,
                ctx.now,
            );
            approvals::save(conn, &mut approval)?;
            append_under(
                conn,
                approval_event(ctx.event("", &app), "approval.requested", &approval),
                ctx.policy,
                &ctx.actor.user,
                ctx.now,
            )?;
            Ok((StatusCode::ACCEPTED, RenewalAnswer::Approval { approval: Box::new(approval) }))
        }
    }
}

/// Longest accepted text field of an ingested event.
const MAX_INGEST_FIELD_CHARS: usize = 500;
/// Largest accepted `request_context` of an ingested event, as JSON.
const MAX_INGEST_CONTEXT_BYTES: usize = 8 * 1024;
/// An app's `last_activity_at` moves at most this often, to keep sync quiet.
const ACTIVITY_RESOLUTION_HOURS: i64 = 24;

fn check_ingest_field(index: usize, field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(value) if value.chars().count() > MAX_INGEST_FIELD_CHARS => Err(ApiError::bad_request(format!(
            "events[{index}].{field} is longer than {MAX_INGEST_FIELD_CHARS} characters"
        ))),
        _ => Ok(()),
    }
}

/// `POST /v1/audit/events`: runtime events from the platforms, each recorded
/// as reported by the token's user at the server's clock; the actor and
/// timestamp a platform gives are kept as its claim. A governance action or
/// one of the server's own actors anywhere in the batch refuses it whole
/// (422 `governance_event`, [`check_runtime_event`]).
pub fn ingest(
    conn: &Connection,
    ctx: &Ctx<'_>,
    request: IngestRequest,
) -> Result<(StatusCode, IngestResponse), ApiError> {
    if !ctx.actor.has(Role::Ingest) {
        return Err(ApiError::forbidden("posting runtime events needs the ingest role"));
    }
    if request.events.is_empty() || request.events.len() > MAX_INGEST_EVENTS {
        return Err(ApiError::bad_request(format!("send 1 to {MAX_INGEST_EVENTS} events per call")));
    }
    for (index, event) in request.events.iter().enumerate() {
        if event.action_type.trim().is_empty() {
            return Err(ApiError::bad_request(format!("events[{index}].action_type must not be empty")));
        }
        for (field, value) in [
            ("actor_id", Some(event.actor_id.as_str())),
            ("actor_role", Some(event.actor_role.as_str())),
            ("app_id", event.app_id.as_deref()),
            ("environment", event.environment.as_deref()),
            ("action_type", Some(event.action_type.as_str())),
            ("resource_type", Some(event.resource_type.as_str())),
            ("resource_id", event.resource_id.as_deref()),
            ("data_classification", event.data_classification.as_deref()),
            ("error_code", event.error_code.as_deref()),
            ("ip_address", event.ip_address.as_deref()),
            ("user_agent", event.user_agent.as_deref()),
            ("approval_id", event.approval_id.as_deref()),
        ] {
            check_ingest_field(index, field, value)?;
        }
        // Reliability suite fix (found by schemathesis): the document says an
        // event's `request_context` is an object, but any JSON value was
        // stored, and a missing one was stored as `null`. Absent or `null`
        // now means `{}` (below); anything else that is not an object is refused.
        if !(event.request_context.is_object() || event.request_context.is_null()) {
            return Err(ApiError::bad_request(format!("events[{index}].request_context must be a JSON object")));
        }
        if event.request_context.to_string().len() > MAX_INGEST_CONTEXT_BYTES {
            return Err(ApiError::bad_request(format!(
                "events[{index}].request_context is larger than {MAX_INGEST_CONTEXT_BYTES} bytes"
            )));
        }
        if event.timestamp.is_some_and(|at| at > ctx.now) {
            return Err(ApiError::bad_request(format!("events[{index}].timestamp is in the future")));
        }
    }
    // After the checks of form, so a batch that is both malformed and
    // governance answers 400 as before; the actor checked is the one
    // recorded (the token's user when none is given).
    for (index, event) in request.events.iter().enumerate() {
        let actor_id = if event.actor_id.is_empty() { ctx.actor.user.as_str() } else { event.actor_id.as_str() };
        check_runtime_event(&event.action_type, actor_id, &event.actor_role).map_err(|refused| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "governance_event", format!("events[{index}]: {refused}"))
        })?;
    }

    let accepted = request.events.len();
    let mut appender = audit::Appender::start(conn)?;
    let mut touched: Vec<(String, DateTime<Utc>)> = Vec::new();
    for mut event in request.events {
        if event.actor_id.is_empty() {
            event.actor_id = ctx.actor.user.clone();
        }
        if event.actor_role.is_empty() {
            event.actor_role = Role::Ingest.as_str().into();
        }
        if event.resource_type.is_empty() {
            event.resource_type = "app".into();
        }
        if event.request_context.is_null() {
            event.request_context = json!({});
        }
        let at = event.timestamp.unwrap_or(ctx.now);
        if let Some(app_id) = &event.app_id {
            match touched.iter_mut().find(|(id, _)| id == app_id) {
                Some((_, latest)) => *latest = (*latest).max(at),
                None => touched.push((app_id.clone(), at)),
            }
        }
        appender.push(conn, event, &ctx.actor.user, ctx.now)?;
    }
    let head = appender.finish(conn)?;

    for (app_id, at) in touched {
        if let Some(mut app) = apps::find(conn, &app_id)?
            && app.last_activity_at.is_none_or(|last| at - last >= chrono::Duration::hours(ACTIVITY_RESOLUTION_HOURS))
        {
            app.last_activity_at = Some(at);
            apps::save(conn, &mut app)?;
        }
    }
    Ok((StatusCode::CREATED, IngestResponse { accepted, head }))
}

/// Most apps one write transaction of the lifecycle job changes, so a
/// write that comes in meanwhile waits for one batch at most.
pub const LIFECYCLE_BATCH: usize = 100;

/// The apps with a policy step due at `now`. It only reads, so the job runs
/// it on a reader: it decodes every candidate (~150 ms at 100k apps), which
/// inside the write transaction held every decision back that long each
/// minute.
pub fn lifecycle_due(conn: &Connection, policy: &Policy, now: DateTime<Utc>) -> Result<Vec<String>, ApiError> {
    let mut due = Vec::new();
    for mut app in apps::lifecycle_candidates(conn, policy, now)? {
        if !ttl::run_policy(&mut app, policy, now).is_empty() {
            due.push(app.id);
        }
    }
    Ok(due)
}

/// Runs the TTL policy over the apps `ids` (from [`lifecycle_due`]), each
/// read again here so that one changed since (renewed, say) is judged as it
/// is now; writes each changed app with one audit event per step (actor
/// `policy`). Returns the number of steps taken.
pub fn run_lifecycle_for(
    conn: &Connection,
    ids: &[String],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut steps_taken = 0;
    for id in ids {
        let Some(mut app) = apps::find(conn, id)? else { continue };
        let steps = ttl::run_policy(&mut app, policy, now);
        if steps.is_empty() {
            continue;
        }
        apps::save(conn, &mut app)?;
        for step in &steps {
            let mut event = app_event(&step.action_type(), &app);
            let effective_at = match step {
                PolicyStep::Transition(t) => t.at,
                PolicyStep::FlaggedInactive { at } | PolicyStep::RetirementScheduled { at, .. } => *at,
            };
            event.request_context = match step {
                PolicyStep::Transition(t) => {
                    json!({"from": t.from.as_str(), "to": t.to.as_str(), "effective_at": effective_at})
                }
                PolicyStep::FlaggedInactive { .. } => {
                    json!({"idle_since": app.last_activity_at, "effective_at": effective_at})
                }
                PolicyStep::RetirementScheduled { expires_at, .. } => {
                    json!({"expires_at": expires_at, "effective_at": effective_at})
                }
            };
            append_under(conn, event, policy, POLICY_ACTOR, now)?;
        }
        // Decommissioned by the ladder: its open requests close by policy.
        if steps.iter().any(|step| matches!(step, PolicyStep::Transition(t) if t.to == AppState::Decommissioned)) {
            super::hold::close_pending_by_policy(conn, &app, now)?;
        }
        steps_taken += steps.len();
    }
    Ok(steps_taken)
}
