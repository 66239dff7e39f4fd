//! The seeded audit log: every governance step of the catalog's history
//! that falls in the window (registrations, requests, decisions,
//! activations, renewals, `policy` lifecycle steps), filled up with runtime
//! events to the requested count, merged in time order and sealed into one
//! hash chain. Governance events carry the same fields `server::ops`
//! writes for the same step.

use std::sync::mpsc::{self, SyncSender};
use std::thread;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rusqlite::Connection;
use serde_json::{Value, json};

use super::bulk::Chain;
use super::catalog::SeededApp;
use super::names::{self, CONSOLE_AGENT};
use super::runtime::{self, AppFacts, RuntimeSource};
use super::story::{Happening, TRANSFERRING_LEAD, What};

use crate::domain::api::AuditHead;
use crate::domain::{Approval, ApprovalKind, AuditEvent, NewAuditEvent, Role};
use crate::server::ops::POLICY_ACTOR;
use crate::store::{Result, StoreError, audit};

/// The demo's ingest user: the principal that reports every runtime event.
const INGEST_USER: &str = "ingest-bot";

/// Days of audit history before `now`.
pub const HISTORY_DAYS: i64 = 90;
/// How many different people use the apps.
const END_USERS: usize = 600;
/// Events sealed and sent to the inserting thread at a time.
const BATCH_EVENTS: usize = 4096;
/// Batches that may wait for the inserting thread.
const BATCHES_IN_FLIGHT: usize = 8;

/// One governance step, placed in time.
struct GovernanceEvent {
    at: DateTime<Utc>,
    app: u32,
    /// Where the app's approvals start in [`Timeline::approvals`].
    approvals_from: usize,
    what: What,
}

/// Collects what the log needs from each app as it is written.
pub struct Timeline {
    window_start: DateTime<Utc>,
    apps: Vec<AppFacts>,
    governance: Vec<GovernanceEvent>,
    /// Requests that governance events refer to.
    approvals: Vec<Approval>,
    sources: Vec<RuntimeSource>,
}

impl Timeline {
    pub fn new(now: DateTime<Utc>) -> Timeline {
        Timeline {
            window_start: now - Duration::days(HISTORY_DAYS),
            apps: Vec::new(),
            governance: Vec::new(),
            approvals: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Takes in one app that has been written (so its requests carry their revisions).
    pub fn add(&mut self, rng: &mut StdRng, seeded: SeededApp) {
        let SeededApp { app, approvals, history, runtime, owner_before } = seeded;
        let index = self.apps.len() as u32;
        let approvals_from = self.approvals.len();
        let mut refers_to_approvals = false;
        for Happening { at, what } in history.into_iter().filter(|happening| happening.at >= self.window_start) {
            refers_to_approvals |= matches!(
                what,
                What::Requested { .. }
                    | What::Decided { .. }
                    | What::Activated { .. }
                    | What::Rejected { .. }
                    | What::Withdrawn { .. }
                    | What::Closed { .. }
                    | What::Retired { .. }
            );
            self.governance.push(GovernanceEvent { at, app: index, approvals_from, what });
        }
        if refers_to_approvals {
            self.approvals.extend(approvals);
        }
        if let Some((from, until)) = runtime {
            let from = from.max(self.window_start);
            if until > from {
                self.sources.push(RuntimeSource::new(rng, index, from, until, app.expected_users));
            }
        }
        let mut environments = app.environments.into_iter();
        let first_environment = environments.next();
        let runtime_environment = environments.next_back().or_else(|| first_environment.clone());
        self.apps.push(AppFacts {
            id: app.id,
            name: app.name,
            owner: app.owner,
            data_classification: app.data_classification,
            risk_score: app.risk.score,
            version: app.version,
            first_environment,
            runtime_environment,
            connectors: app.connectors,
            owner_before,
        });
    }

    /// Writes `count` events (fewer only when no app ever ran): the newest
    /// governance steps, then runtime events for the rest. Returns how many.
    /// A second thread makes and seals the events while this one inserts them.
    pub fn write(mut self, conn: &Connection, rng: &mut StdRng, count: usize) -> Result<usize> {
        let mut governance = std::mem::take(&mut self.governance);
        governance.sort_by_key(|event| event.at);
        let governance = governance.split_off(governance.len().saturating_sub(count));
        let planned = runtime::plan(rng, &self.sources, count - governance.len());
        let chain = Chain::start(conn)?;
        let (batches, received) = mpsc::sync_channel::<Vec<AuditEvent>>(BATCHES_IN_FLIGHT);
        let timeline = &self;
        let (inserted, written, head) = thread::scope(|scope| {
            let producer = scope.spawn(move || timeline.produce(rng, governance, planned, chain, batches));
            let mut written = 0;
            let inserted = received.iter().try_for_each(|batch| {
                batch.iter().try_for_each(|event| audit::insert(conn, event))?;
                written += batch.len();
                Ok::<_, StoreError>(())
            });
            // On an error the producer's next send fails and it stops.
            drop(received);
            let head = producer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (inserted, written, head)
        });
        inserted?;
        audit::set_head(conn, &head)?;
        // The rows went in without the Merkle tree: add their leaves now, in
        // the same transaction.
        crate::store::merkle::catch_up(conn)?;
        Ok(written)
    }

    /// Makes, in time order, and seals every event, sending them in
    /// batches; returns the new head of the chain.
    fn produce(
        &self,
        rng: &mut StdRng,
        governance: Vec<GovernanceEvent>,
        planned: Vec<(i64, u32)>,
        mut chain: Chain,
        batches: SyncSender<Vec<AuditEvent>>,
    ) -> AuditHead {
        let people = names::people(END_USERS);
        let mut governance = governance.into_iter().peekable();
        let mut planned = planned.into_iter().peekable();
        let mut batch = Vec::with_capacity(BATCH_EVENTS);
        loop {
            let governance_first = match (governance.peek(), planned.peek()) {
                (Some(step), Some((micros, _))) => step.at.timestamp_micros() <= *micros,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let event_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string();
            let sealed = if governance_first {
                let Some(step) = governance.next() else { break };
                let event = self.governance_event(&step);
                // The principal of the call that wrote it: the actor, but for
                // the policy's approval inside someone's intake.
                let reported_by = match step.what {
                    What::AutoApproved { by } => {
                        by.unwrap_or(owner_at(&self.apps[step.app as usize], step.at)).to_string()
                    }
                    _ => event.actor_id.clone(),
                };
                chain.seal(event, &reported_by, event_id, step.at)
            } else {
                let Some((micros, app)) = planned.next() else { break };
                let at = DateTime::from_timestamp_micros(micros).unwrap_or(self.window_start);
                chain.seal(runtime::event(rng, &self.apps[app as usize], &people, at), INGEST_USER, event_id, at)
            };
            batch.push(sealed);
            if batch.len() == BATCH_EVENTS && batches.send(std::mem::take(&mut batch)).is_err() {
                break;
            }
        }
        if !batch.is_empty() {
            // A failed send means the inserting side stopped on an error it reports itself.
            let _ = batches.send(batch);
        }
        chain.into_head()
    }

    /// The event `server::ops` writes for the same step.
    fn governance_event(&self, step: &GovernanceEvent) -> NewAuditEvent {
        let app = &self.apps[step.app as usize];
        let approval = |index: usize| &self.approvals[step.approvals_from + index];
        let effective_at = json!(step.at);
        match &step.what {
            What::Discovered => NewAuditEvent {
                actor_id: INGEST_USER.into(),
                actor_role: Role::Ingest.as_str().into(),
                ip_address: Some(names::internal_ip(names::stable_key(INGEST_USER))),
                user_agent: Some("platform-scanner/2.0".into()),
                request_context: json!({"source": "tenant-scan", "owner_hint": app.owner}),
                ..app_event("app.discovered", app)
            },
            What::Registered { by } => {
                let (name, role) = by.map_or((owner_at(app, step.at), Role::Owner), |lead| (lead, Role::Lead));
                by_person(name, role, app_event("app.registered", app))
            }
            What::AutoApproved { .. } => NewAuditEvent {
                request_context: json!({"reason": super::policy().auto_approval_text()}),
                ..app_event("approval.auto_approved", app)
            },
            What::Requested { approval: index } => {
                let request = approval(*index);
                let role = if request.requested_by == owner_at(app, step.at) { Role::Owner } else { Role::Lead };
                let base = by_person(&request.requested_by, role, app_event("", app));
                let mut event = approval_event(base, "approval.requested", request);
                if request.kind == crate::domain::ApprovalKind::Change {
                    // As `server::amend` records a held amendment.
                    event.request_context = json!({
                        "kind": "change",
                        "changes": request.changes,
                        "risk_before": {"score": app.risk_score, "tier": super::policy().tier_of(app.risk_score).as_str()},
                        "risk_after": {"score": request.risk.score, "tier": request.risk.tier.as_str()},
                        "review_tier": request.review_tier.as_str(),
                    });
                }
                match request.environment.as_deref().filter(|_| request.kind == ApprovalKind::ProductionAccess) {
                    // As `server::custody::request_access` writes it.
                    Some(environment) => NewAuditEvent {
                        environment: Some(environment.to_string()),
                        request_context: json!({
                            "kind": request.kind,
                            "environment": environment,
                            "reason": request.reason,
                            "review_tier": request.review_tier.as_str(),
                        }),
                        ..event
                    },
                    None => event,
                }
            }
            What::Withdrawn { approval: index, reason } => {
                let request = approval(*index);
                let by = request.withdrawn_by.as_deref().unwrap_or(&request.requested_by);
                let base = by_person(by, Role::Owner, app_event("", app));
                NewAuditEvent {
                    request_context: json!({"kind": request.kind, "reason": reason, "app_state": "active"}),
                    ..approval_event(base, "approval.withdrawn", request)
                }
            }
            What::Transferred { from, to, reason } => NewAuditEvent {
                request_context: json!({"from": from, "to": to, "reason": reason}),
                ..by_person(TRANSFERRING_LEAD, Role::Lead, app_event("app.transfer", app))
            },
            What::Decided { approval: index, decision } => {
                let request = approval(*index);
                let made = &request.decisions[*decision];
                let later_decisions = (request.decisions.len() - 1 - decision) as u64;
                let status = if later_decisions > 0 { "pending" } else { request.status.as_str() };
                let action = made.decision.action();
                let base = by_person(&made.by, made.role, app_event("", app));
                NewAuditEvent {
                    request_context: json!({
                        "comment": made.comment,
                        "rev": request.rev.saturating_sub(later_decisions + 1),
                        "status": status,
                    }),
                    ..approval_event(base, action, request)
                }
            }
            What::Activated { approval: index } | What::Rejected { approval: index } => {
                let request = approval(*index);
                let action = if matches!(step.what, What::Activated { .. }) { "app.activated" } else { "app.rejected" };
                let base = match request.decisions.last() {
                    Some(last) => by_person(&last.by, last.role, app_event("", app)),
                    None => app_event("", app),
                };
                NewAuditEvent {
                    resource_type: "app".into(),
                    resource_id: Some(app.id.clone()),
                    ..approval_event(base, action, request)
                }
            }
            What::Renewed { previous_state, previous_expires_at, expires_at } => NewAuditEvent {
                request_context: json!({
                    "previous_state": previous_state.as_str(),
                    "previous_expires_at": previous_expires_at,
                    "expires_at": expires_at,
                }),
                ..by_person(owner_at(app, step.at), Role::Owner, app_event("app.renewed", app))
            },
            What::Lifecycle { from, to } => NewAuditEvent {
                request_context: json!({"from": from.as_str(), "to": to.as_str(), "effective_at": effective_at}),
                ..app_event(&format!("lifecycle.{}", to.as_str()), app)
            },
            What::FlaggedInactive { idle_since } => NewAuditEvent {
                request_context: json!({"idle_since": idle_since, "effective_at": effective_at}),
                ..app_event("lifecycle.flag_inactive", app)
            },
            What::RetirementScheduled { expires_at } => NewAuditEvent {
                request_context: json!({"expires_at": expires_at, "effective_at": effective_at}),
                ..app_event("lifecycle.retirement_scheduled", app)
            },
            What::Held { hold } => NewAuditEvent {
                request_context: json!({"reason": hold.reason, "previous_state": hold.previous_state.as_str()}),
                ..by_person(&hold.by, Role::Reviewer, app_event("app.quarantine", app))
            },
            What::Released { by, reason, hold, state } => NewAuditEvent {
                request_context: json!({
                    "reason": reason,
                    "state": state.as_str(),
                    "held_by": hold.by,
                    "held_since": hold.at,
                    "ttl_steps": [],
                }),
                ..by_person(by, Role::Reviewer, app_event("app.release", app))
            },
            What::Closed { approval: index } => {
                let request = approval(*index);
                let base = by_person(&app.owner, Role::Owner, app_event("", app));
                NewAuditEvent {
                    request_context: json!({
                        "reason": crate::domain::hold::CLOSED_REASON,
                        "closed_by": app.owner,
                        "kind": request.kind,
                    }),
                    ..approval_event(base, "approval.closed", request)
                }
            }
            What::Retired { reason, checklist, previous_state, retention_days, closed } => NewAuditEvent {
                request_context: json!({
                    "reason": reason,
                    "previous_state": previous_state.as_str(),
                    "checklist": {
                        "credentials_revoked": checklist.credentials_revoked,
                        "data": checklist.data.as_str(),
                        "dependents_notified": checklist.dependents_notified,
                    },
                    "retention_days": retention_days,
                    "closed_requests": closed.iter().map(|index| approval(*index).id.clone()).collect::<Vec<_>>(),
                }),
                ..by_person(&app.owner, Role::Owner, app_event("app.retire", app))
            },
        }
    }
}

/// Who owned `app` at `at`.
fn owner_at(app: &AppFacts, at: DateTime<Utc>) -> &str {
    match &app.owner_before {
        Some((previous, until)) if at < *until => previous,
        _ => &app.owner,
    }
}

/// An event about `app` by the policy, with the fields every app event
/// carries (as `server::ops::app_event` fills them).
fn app_event(action_type: &str, app: &AppFacts) -> NewAuditEvent {
    NewAuditEvent {
        actor_id: POLICY_ACTOR.into(),
        actor_role: POLICY_ACTOR.into(),
        app_id: Some(app.id.clone()),
        version: Some(app.version),
        environment: app.first_environment.clone(),
        action_type: action_type.into(),
        resource_type: "app".into(),
        resource_id: Some(app.id.clone()),
        data_classification: Some(app.data_classification.as_str().into()),
        risk_score_at_time: Some(app.risk_score),
        request_context: Value::Object(serde_json::Map::new()),
        ..NewAuditEvent::default()
    }
}

/// `event` as done by `name` from the console.
fn by_person(name: &str, role: Role, event: NewAuditEvent) -> NewAuditEvent {
    NewAuditEvent {
        actor_id: name.to_string(),
        actor_role: role.as_str().into(),
        ip_address: Some(names::internal_ip(names::stable_key(name))),
        user_agent: Some(CONSOLE_AGENT.into()),
        ..event
    }
}

/// `base` turned into an event about `approval` (as `server::ops` does).
fn approval_event(base: NewAuditEvent, action_type: &str, approval: &Approval) -> NewAuditEvent {
    NewAuditEvent {
        action_type: action_type.into(),
        resource_type: "approval".into(),
        resource_id: Some(approval.id.clone()),
        approval_id: Some(approval.id.clone()),
        risk_score_at_time: Some(approval.risk_score_at_time),
        ..base
    }
}
