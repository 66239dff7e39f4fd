//! The history that explains a seeded app's state: when it was registered,
//! reviewed and activated, renewed, and moved along the TTL lifecycle, told
//! backwards from `now` so the state it ends in is exactly the one the
//! lifecycle rules would give it (the server's lifecycle job finds nothing
//! due). The domain's own rules make each step (`ttl::activate`,
//! `ttl::renew`, `approval::decide`), so the approvals and dates agree with
//! what the server itself would have written.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::catalog::{SeededApp, Target};
use super::names::{self, pick, pick_weighted};
use super::policy;
use crate::domain::amend;
use crate::domain::app::{FLAG_INACTIVE, FLAG_RETIREMENT_SCHEDULED};
use crate::domain::approval::{self, DecisionKind};
use crate::domain::custody;
use crate::domain::hold::{self, CLOSED_REASON, DataDisposition, ExitChecklist, Hold};
use crate::domain::risk::IntakeReview;
use crate::domain::ttl::{self, Renewal};
use crate::domain::{Actor, App, AppState, Approval, ApprovalKind, DataClass, Role, Tier};

/// People who decided requests, with the role they decided under.
const DECIDERS: &[(&str, Role)] = &[("riley", Role::Reviewer), ("rosa", Role::Reviewer), ("pat", Role::Lead)];
/// Why the demo's held app is held, and why the released one was let go.
const HOLD_REASON: &str = "webhook secret found in a public channel; contained until it is rotated";
const RELEASE_REASON: &str = "secret rotated and the channel history purged";
const RETIRE_REASON: &str = "replaced by the finance platform's own receipt routing";
/// The lead who sometimes files intake for someone else.
const FILING_LEAD: &str = "pat";

/// One thing that happened to an app, for its audit event.
#[derive(Debug, Clone)]
pub struct Happening {
    pub at: DateTime<Utc>,
    pub what: What,
}

/// What happened; approvals are indexes into the app's [`SeededApp::approvals`].
#[derive(Debug, Clone)]
pub enum What {
    Discovered,
    /// Intake, filed by the owner or (when set) someone for them.
    Registered {
        by: Option<&'static str>,
    },
    /// Approved by policy at intake, filed as for [`What::Registered`].
    AutoApproved {
        by: Option<&'static str>,
    },
    Requested {
        approval: usize,
    },
    Decided {
        approval: usize,
        decision: usize,
    },
    Activated {
        approval: usize,
    },
    Rejected {
        approval: usize,
    },
    Renewed {
        previous_state: AppState,
        previous_expires_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
    },
    Lifecycle {
        from: AppState,
        to: AppState,
    },
    FlaggedInactive {
        idle_since: DateTime<Utc>,
    },
    RetirementScheduled {
        expires_at: DateTime<Utc>,
    },
    /// The requester withdrew a pending request.
    Withdrawn {
        approval: usize,
        reason: &'static str,
    },
    /// A lead moved the app to another owner.
    Transferred {
        from: String,
        to: String,
        reason: &'static str,
    },
    /// Quarantined now by a reviewer: the app's hold says who and why.
    Held {
        hold: Hold,
    },
    Released {
        by: &'static str,
        reason: &'static str,
        hold: Hold,
        /// The state its TTL gave it.
        state: AppState,
    },
    /// Retired by its owner through the exit checklist.
    Retired {
        reason: &'static str,
        checklist: ExitChecklist,
        previous_state: AppState,
        retention_days: u32,
        closed: Vec<usize>,
    },
    /// Closed by the retirement of its app.
    Closed {
        approval: usize,
    },
}

/// The lead who transfers apps in the demo.
pub(super) const TRANSFERRING_LEAD: &str = "pat";

struct Teller<'r> {
    rng: &'r mut StdRng,
    now: DateTime<Utc>,
    app: App,
    approvals: Vec<Approval>,
    history: Vec<Happening>,
    filed_by: Option<&'static str>,
    live_from: Option<DateTime<Utc>>,
}

/// Gives `app` the history of `target` and returns it with its requests.
pub fn tell(
    rng: &mut StdRng,
    now: DateTime<Utc>,
    app: App,
    target: Target,
    requested_by: Option<&'static str>,
    expires_in_hours: Option<i64>,
    previous_owner: Option<&'static str>,
) -> SeededApp {
    let filed_by = requested_by.or_else(|| rng.random_bool(0.04).then_some(FILING_LEAD));
    let mut app = app;
    // A transferred app lives its history under its first owner.
    let final_owner = app.owner.clone();
    if let Some(previous) = previous_owner {
        app.owner = previous.to_string();
    }
    let mut teller = Teller { rng, now, app, approvals: Vec::new(), history: Vec::new(), filed_by, live_from: None };
    teller.play(target, expires_in_hours.map(Duration::hours));
    let owner_before = match previous_owner {
        Some(previous) => teller.transfer_to(&final_owner).map(|at| (previous.to_string(), at)),
        None => None,
    };
    let runtime = match target {
        Target::Pending
        | Target::PendingOverdue
        | Target::PendingHalfApproved
        | Target::ChangesRequested
        | Target::Rejected => None,
        Target::Discovered => Some(teller.app.created_at),
        _ => teller.live_from,
    }
    .zip(teller.app.last_activity_at);
    SeededApp { app: teller.app, approvals: teller.approvals, history: teller.history, runtime, owner_before }
}

impl Teller<'_> {
    fn play(&mut self, target: Target, expires_in: Option<Duration>) {
        let now = self.now;
        let ttl = Duration::days(policy().ttl_days(self.app.ttl_class));
        let expiring_window = policy().expiring_within();
        match target {
            Target::ChangeHeld => {
                let started = now - self.span(10 * 24, ttl.num_hours() - 15 * 24);
                self.start_life(started);
                self.touch_recently();
                let filed = self.between(now - Duration::hours(30), now);
                self.hold_change(filed);
            }
            Target::ChangesRequested => {
                let tier = self.intake_tier();
                let filed = now - self.span(24, policy().review(tier).sla_hours - 1);
                self.register(filed);
                let index = self.file(ApprovalKind::NewApp, tier, filed);
                let asked_at = self.between(filed + Duration::hours(2), now);
                let riley = Actor::new("riley", [Role::Reviewer]);
                let comment = *pick(self.rng, names::CHANGE_REQUESTS);
                self.apply(index, &riley, DecisionKind::RequestChanges, comment, asked_at);
            }
            Target::Active | Target::ProductionRequested | Target::AccessWithdrawn | Target::Transferred => {
                // Active needs at least 14 days left: started within ttl - 15 days.
                let started = now - self.span(2, ttl.num_hours() - 15 * 24);
                self.start_life(started);
                self.touch_recently();
                if matches!(target, Target::ProductionRequested | Target::AccessWithdrawn) {
                    if target == Target::AccessWithdrawn {
                        // The owner's own request, which the owner withdraws.
                        self.filed_by = None;
                    }
                    let filed = self.between((started + Duration::hours(1)).max(now - Duration::days(5)), now);
                    let tier = self.request_tier();
                    let index = self.file(ApprovalKind::ProductionAccess, tier, filed);
                    if target == Target::AccessWithdrawn {
                        let at = self.between(filed + Duration::minutes(20), now);
                        self.withdraw(index, "the vendor's contract is not signed yet", at);
                    }
                }
            }
            Target::Held | Target::Released | Target::Retired => {
                let started = now - self.span(10 * 24, ttl.num_hours() - 15 * 24);
                self.start_life(started);
                self.touch_recently();
                let after = self.app.state_since.max(now - Duration::days(6)) + Duration::minutes(1);
                match target {
                    Target::Retired => {
                        let filed = self.between(after, now - Duration::days(2));
                        let tier = self.request_tier();
                        let index = self.file(ApprovalKind::ProductionAccess, tier, filed);
                        let retired_at = self.between(filed + Duration::hours(2), now);
                        self.retire(retired_at, index);
                    }
                    _ => {
                        let held_at = self.between(after, now - Duration::days(2));
                        self.hold(held_at);
                        if target == Target::Released {
                            let released_at = self.between(held_at + Duration::hours(3), now);
                            self.release(released_at);
                        }
                    }
                }
            }
            Target::ActiveIdle => {
                let last_used = now - self.span(91 * 24, 179 * 24);
                let oldest_start = now - Duration::days(350);
                let started = self.between(oldest_start.max(last_used - Duration::days(60)), last_used);
                self.activate(started);
                self.app.last_activity_at = Some(last_used);
                self.flag_inactive(last_used);
            }
            Target::Expiring => {
                let expires_at =
                    now + expires_in.unwrap_or_else(|| self.span(2, policy().rules.ttl.expiring_within_days * 24 - 2));
                self.start_life(expires_at - ttl);
                self.transition(AppState::Expiring, expires_at - expiring_window);
                self.touch_recently();
            }
            Target::RetiringUnused => {
                let last_used =
                    now - Duration::days(policy().rules.inactivity.retire_after_days) - self.span(1, 13 * 24);
                let started = last_used - self.span(0, 30 * 24);
                self.activate(started);
                self.app.last_activity_at = Some(last_used);
                self.flag_inactive(last_used);
                let scheduled_at = last_used + Duration::days(policy().rules.inactivity.retire_after_days);
                let expires_at = scheduled_at + Duration::days(policy().rules.inactivity.retirement_notice_days);
                self.app.expires_at = Some(expires_at);
                self.app.set_flag(FLAG_RETIREMENT_SCHEDULED, true);
                self.record(scheduled_at, What::RetirementScheduled { expires_at });
                self.transition(AppState::Expiring, scheduled_at);
            }
            Target::Quarantined => {
                let expires_at = now
                    + expires_in.unwrap_or_else(|| -self.span(1, policy().rules.ladder.read_only_after_days * 24 - 1));
                self.expire(expires_at);
            }
            Target::ReadOnly | Target::ReadOnlyRenewalRequested => {
                let read_only_at = now - self.span(1, policy().rules.ladder.decommissioned_after_days * 24 - 1);
                self.expire(read_only_at - policy().read_only_after());
                self.transition(AppState::ReadOnly, read_only_at);
                if target == Target::ReadOnlyRenewalRequested {
                    let filed = self.between(read_only_at + Duration::minutes(10), now);
                    self.filed_by = None;
                    let tier = self.request_tier();
                    let index = self.file(ApprovalKind::Renewal, tier, filed);
                    if tier == Tier::High && self.rng.random_bool(0.3) {
                        self.half_approve(index);
                    }
                }
            }
            Target::Decommissioned => {
                let decommissioned_at = now - self.span(1, 400 * 24);
                let read_only_at = decommissioned_at - policy().decommissioned_after();
                self.expire(read_only_at - policy().read_only_after());
                self.transition(AppState::ReadOnly, read_only_at);
                self.transition(AppState::Decommissioned, decommissioned_at);
            }
            Target::Discovered => {
                let found_at = now - self.span(1, 60 * 24);
                self.app.enter(AppState::Discovered, found_at);
                self.app.created_at = found_at;
                self.app.updated_at = found_at;
                self.app.last_activity_at = Some(self.between(found_at, now));
                self.record(found_at, What::Discovered);
            }
            Target::Pending | Target::PendingOverdue | Target::PendingHalfApproved => {
                let tier = self.intake_tier();
                let sla_hours = policy().review(tier).sla_hours;
                let filed = if target == Target::PendingOverdue {
                    now - Duration::hours(sla_hours) - self.span(1, 5 * 24)
                } else {
                    now - self.span(0, sla_hours - 1) - Duration::minutes(5)
                };
                self.register(filed);
                let index = self.file(ApprovalKind::NewApp, tier, filed);
                if target == Target::PendingHalfApproved {
                    self.half_approve(index);
                }
            }
            Target::Rejected => {
                let filed = now - self.span(24, 120 * 24);
                self.register(filed);
                let tier = self.intake_tier();
                let index = self.file(ApprovalKind::NewApp, tier, filed);
                let decided_at = (filed + self.span(1, 96)).min(now - Duration::minutes(1));
                let reason = *pick(self.rng, names::REJECT_REASONS);
                self.decide_by_anyone(index, DecisionKind::Reject, reason, decided_at);
                self.app.enter(AppState::Rejected, decided_at);
                self.app.updated_at = decided_at;
                self.record(decided_at, What::Rejected { approval: index });
            }
        }
    }

    /// Quarantined now by riley, by the rule the server applies.
    fn hold(&mut self, at: DateTime<Utc>) {
        let riley = Actor::new("riley", [Role::Reviewer]);
        if let Ok(held) = hold::quarantine(&self.app, &riley, HOLD_REASON, at) {
            self.app = held;
            if let Some(hold) = self.app.hold.clone() {
                self.record(at, What::Held { hold });
            }
        }
    }

    /// Released by rosa: back to the state its TTL gives it.
    fn release(&mut self, at: DateTime<Utc>) {
        let rosa = Actor::new("rosa", [Role::Reviewer]);
        if let Ok(released) = hold::release(&self.app, &rosa, RELEASE_REASON, policy(), at) {
            self.app = released.app;
            let state = self.app.state;
            self.record(at, What::Released { by: "rosa", reason: RELEASE_REASON, hold: released.hold, state });
        }
    }

    /// Retired by its owner, the request `open` closed with it.
    fn retire(&mut self, at: DateTime<Utc>, open: usize) {
        let owner = Actor::new(self.app.owner.clone(), [Role::Owner]);
        let checklist =
            ExitChecklist { credentials_revoked: true, data: DataDisposition::Archived, dependents_notified: true };
        let Ok(retired) = hold::retire(&self.app, &owner, RETIRE_REASON, &checklist, at) else { return };
        let previous_state = self.app.state;
        self.app = retired;
        let mut closed = Vec::new();
        if let Some(request) = hold::close_request(&self.approvals[open], &owner.user, CLOSED_REASON, at) {
            self.approvals[open] = request;
            closed.push(open);
            self.record(at, What::Closed { approval: open });
        }
        let retention_days = self.app.retention_days;
        self.record(at, What::Retired { reason: RETIRE_REASON, checklist, previous_state, retention_days, closed });
    }

    /// A whole number of hours from `low_hours` to `high_hours`, to the second.
    fn span(&mut self, low_hours: i64, high_hours: i64) -> Duration {
        let low = low_hours * 3600;
        Duration::seconds(self.rng.random_range(low..=(high_hours * 3600).max(low)))
    }

    /// A moment from `low` to `high` (a minute short of `now` at the latest);
    /// `low` when there is no room, but never after `now`.
    fn between(&mut self, low: DateTime<Utc>, high: DateTime<Utc>) -> DateTime<Utc> {
        let high = high.min(self.now - Duration::minutes(1));
        let seconds = (high - low).num_seconds();
        if seconds <= 0 { low.min(self.now) } else { low + Duration::seconds(self.rng.random_range(0..=seconds)) }
    }

    fn record(&mut self, at: DateTime<Utc>, what: What) {
        self.history.push(Happening { at, what });
    }

    fn transition(&mut self, to: AppState, at: DateTime<Utc>) {
        self.record(at, What::Lifecycle { from: self.app.state, to });
        self.app.enter(to, at);
        self.app.updated_at = self.app.updated_at.max(at);
    }

    /// The app was used until a few days ago (never before it started).
    fn touch_recently(&mut self) {
        let started = self.app.state_since.min(self.app.last_activity_at.unwrap_or(self.app.state_since));
        let used = self.between(started.max(self.now - Duration::days(10)), self.now);
        self.app.last_activity_at = Some(used.max(self.app.last_activity_at.unwrap_or(used)));
    }

    fn flag_inactive(&mut self, last_used: DateTime<Utc>) {
        self.app.set_flag(FLAG_INACTIVE, true);
        let at = last_used + Duration::days(policy().rules.inactivity.flag_after_days);
        self.record(at, What::FlaggedInactive { idle_since: last_used });
    }

    /// Live from `started`, reached either by activation or (sometimes) by a
    /// renewal of an app that was expiring.
    fn start_life(&mut self, started: DateTime<Utc>) {
        if !self.rng.random_bool(0.35) {
            self.activate(started);
            return;
        }
        let ttl = Duration::days(policy().ttl_days(self.app.ttl_class));
        let previous_expiry = started + self.span(1, policy().rules.ttl.expiring_within_days * 24 - 1);
        self.activate(previous_expiry - ttl);
        self.transition(AppState::Expiring, previous_expiry - policy().expiring_within());
        let owner = Actor::new(self.app.owner.clone(), [Role::Owner]);
        if let Ok(Renewal::Extended { app, previous_expiry }) = ttl::renew(&self.app, &owner, None, policy(), started) {
            let expires_at = app.expires_at.unwrap_or(started);
            let previous_state = self.app.state;
            self.app = *app;
            self.record(started, What::Renewed { previous_state, previous_expires_at: previous_expiry, expires_at });
        }
    }

    /// Quarantined at `expires_at`, having been expiring for 14 days before.
    fn expire(&mut self, expires_at: DateTime<Utc>) {
        let ttl = Duration::days(policy().ttl_days(self.app.ttl_class));
        self.start_life(expires_at - ttl);
        self.transition(AppState::Expiring, expires_at - policy().expiring_within());
        self.transition(AppState::Quarantined, expires_at);
        let started = self.app.last_activity_at.unwrap_or(expires_at);
        let used = self.between(started.max(expires_at - policy().expiring_within()), expires_at);
        self.app.last_activity_at = Some(used.max(started));
    }

    fn register(&mut self, at: DateTime<Utc>) {
        self.app.created_at = at;
        self.app.updated_at = at;
        self.app.enter(AppState::Pending, at);
        self.app.last_activity_at = Some(at);
        self.record(at, What::Registered { by: self.filed_by });
    }

    /// The review tier intake gave the app (medium for low risk without the controls).
    fn intake_tier(&self) -> Tier {
        match policy().intake_review(&self.app.risk, &self.app.controls, self.app.execution_environment) {
            IntakeReview::Review(tier) => tier,
            IntakeReview::AutoApproved => Tier::Medium,
        }
    }

    /// The review tier of a later request: high for high risk, else medium.
    fn request_tier(&self) -> Tier {
        if self.app.risk.tier == Tier::High { Tier::High } else { Tier::Medium }
    }

    fn file(&mut self, kind: ApprovalKind, tier: Tier, at: DateTime<Utc>) -> usize {
        let id = format!("apr_{:016x}", self.rng.random::<u64>());
        let requested_by = self.filed_by.map_or_else(|| self.app.owner.clone(), str::to_string);
        let mut request = Approval::new(id, &self.app, kind, requested_by, tier, policy(), at);
        if kind == ApprovalKind::ProductionAccess {
            request.environment = Some(approval::DEFAULT_ACCESS_ENVIRONMENT.into());
            request.reason = pick(self.rng, names::ACCESS_REASONS).to_string();
        }
        self.approvals.push(request);
        let index = self.approvals.len() - 1;
        self.record(at, What::Requested { approval: index });
        index
    }

    /// The requester withdraws request `index` at `at`, by the domain's rule.
    fn withdraw(&mut self, index: usize, reason: &'static str, at: DateTime<Utc>) {
        let request = &self.approvals[index];
        let requester = Actor::new(request.requested_by.clone(), [Role::Owner]);
        if let Ok(withdrawn) = custody::withdraw(request, &requester, reason, at) {
            self.approvals[index] = withdrawn;
            self.record(at, What::Withdrawn { approval: index, reason });
        }
    }

    /// A lead moves the app (and its requests) to `to`, by the domain's rule,
    /// some time in the last weeks; returns when.
    fn transfer_to(&mut self, to: &str) -> Option<DateTime<Utc>> {
        let lead = Actor::new(TRANSFERRING_LEAD, [Role::Lead]);
        let since = self.app.state_since.max(self.now - Duration::days(20)) + Duration::hours(1);
        let at = self.between(since, self.now);
        let reason = "the team moved to finance";
        let moved = custody::transfer(&self.app, &lead, to, Some(&[Role::Owner]), reason, at).ok()?;
        let from = std::mem::replace(&mut self.app, moved).owner;
        for request in &mut self.approvals {
            request.app_owner = to.to_string();
        }
        self.record(at, What::Transferred { from, to: to.to_string(), reason });
        Some(at)
    }

    /// Registers, reviews (or auto-approves) and activates the app at `at`.
    fn activate(&mut self, at: DateTime<Utc>) {
        match policy().intake_review(&self.app.risk, &self.app.controls, self.app.execution_environment) {
            IntakeReview::AutoApproved => {
                self.register(at);
                self.record(at, What::AutoApproved { by: self.filed_by });
            }
            IntakeReview::Review(tier) => {
                let review_hours = pick_weighted(self.rng, &[((0, 24), 70), ((24, 72), 20), ((72, 140), 10)]);
                let filed = at - self.span(review_hours.0, review_hours.1) - Duration::minutes(30);
                self.register(filed);
                let index = self.file(ApprovalKind::NewApp, tier, filed);
                if tier == Tier::High {
                    let first_at = self.between(filed, at);
                    self.half_approve_at(index, first_at);
                }
                let comment = *pick(self.rng, names::APPROVE_COMMENTS);
                self.decide_by_anyone(index, DecisionKind::Approve, comment, at);
                self.record(at, What::Activated { approval: index });
            }
        }
        ttl::activate(&mut self.app, policy(), at);
        self.live_from.get_or_insert(at);
    }

    /// The owner's material amendment at `at` (a more sensitive data
    /// class, DLP turned on), held for review by the amendment rule.
    fn hold_change(&mut self, at: DateTime<Utc>) {
        let class = match self.app.data_classification {
            DataClass::Public => DataClass::Internal,
            DataClass::Internal => DataClass::Sensitive,
            DataClass::Sensitive | DataClass::Pii => DataClass::Pii,
        };
        let mut set = serde_json::Map::new();
        if class != self.app.data_classification {
            set.insert("data_classification".into(), serde_json::json!(class.as_str()));
        } else {
            set.insert("execution_environment".into(), serde_json::json!("desktop_agent"));
        }
        set.insert("controls.dlp".into(), serde_json::json!(true));
        let owner = Actor::new(self.app.owner.clone(), [Role::Owner]);
        let id = format!("apr_{:016x}", self.rng.random::<u64>());
        let amended = amend::amend(amend::AmendInput {
            app: &self.app,
            open: &self.approvals,
            actor: &owner,
            rev: self.app.rev,
            set: &set,
            new_request_id: id,
            policy: policy(),
            now: at,
        });
        if let Ok(amend::Amendment::Held { request, .. }) = amended {
            self.approvals.push(*request);
            let index = self.approvals.len() - 1;
            self.record(at, What::Requested { approval: index });
        }
    }

    /// A first approval by a reviewer other than riley, so the demo reviewer
    /// can give the second.
    fn half_approve(&mut self, index: usize) {
        let filed = self.approvals[index].created_at;
        let at = self.between(filed + Duration::minutes(1), self.now);
        self.half_approve_at(index, at);
    }

    fn half_approve_at(&mut self, index: usize, at: DateTime<Utc>) {
        let rosa = Actor::new("rosa", [Role::Reviewer]);
        let comment = *pick(self.rng, names::APPROVE_COMMENTS);
        self.apply(index, &rosa, DecisionKind::Approve, comment, at);
    }

    /// A decision by one of [`DECIDERS`] who may decide this request.
    fn decide_by_anyone(&mut self, index: usize, decision: DecisionKind, comment: &str, at: DateTime<Utc>) {
        let request = &self.approvals[index];
        let candidates: Vec<Actor> = DECIDERS
            .iter()
            .map(|(name, role)| Actor::new(*name, [*role]))
            .filter(|actor| approval::may_decide(request, actor, policy()).is_ok())
            .filter(|actor| !request.decisions.iter().any(|decision| decision.by == actor.user))
            .collect();
        if candidates.is_empty() {
            return;
        }
        let actor = candidates[self.rng.random_range(0..candidates.len())].clone();
        self.apply(index, &actor, decision, comment, at);
    }

    fn apply(&mut self, index: usize, actor: &Actor, decision: DecisionKind, comment: &str, at: DateTime<Utc>) {
        let request = &self.approvals[index];
        if let Ok(decided) = approval::decide(request, actor, decision, comment, request.rev, policy(), at) {
            self.approvals[index] = decided;
            let decision = self.approvals[index].decisions.len() - 1;
            self.record(at, What::Decided { approval: index, decision });
        }
    }
}
