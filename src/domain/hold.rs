//! Holds and retirement: a reviewer or a lead quarantines a live app at once
//! (incident containment) and only a reviewer releases it; the owner or a
//! lead retires an app early through the exit checklist; and a
//! decommissioned app's pending requests are closed by policy.
//!
//! A held app stands outside the TTL ladder: the lifecycle job does not move
//! it (a human holds it, so a human lifts it: [`super::ttl::next_transition`]
//! returns nothing while a hold is set) and the owner's renewal does not lift
//! it ([`super::ttl::renew`] refuses). On release the app takes the state its
//! TTL gives it at that moment, through the same ladder the job walks
//! ([`release`]). Pure: the caller passes `now`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::app::{App, AppState};
use super::approval::{Approval, ApprovalStatus};
use super::policy::Policy;
use super::role::{Actor, Role};
use super::ttl::{self, Transition};

/// The reason recorded on a request closed because its app was decommissioned.
pub const CLOSED_REASON: &str = "the app was decommissioned";

/// Longest accepted reason for a hold, a release or a retirement.
pub const MAX_REASON_CHARS: usize = 2000;

/// Who holds an app in quarantine, why, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The state the app was in when it was held (`active` or `expiring`).
    pub previous_state: AppState,
}

/// `POST /v1/apps/{id}/quarantine` and `…/release`: `{"reason": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why, in at most 2000 characters; required.
    pub reason: String,
}

/// What was done with an app's data on retirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataDisposition {
    Archived,
    Deleted,
}

impl DataDisposition {
    pub fn as_str(self) -> &'static str {
        match self {
            DataDisposition::Archived => "archived",
            DataDisposition::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for DataDisposition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "archived" => Ok(DataDisposition::Archived),
            "deleted" => Ok(DataDisposition::Deleted),
            other => Err(format!("unknown data disposition {other:?} (expected archived or deleted)")),
        }
    }
}

/// The exit checklist of docs/governance.md, answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitChecklist {
    /// Every credential and secret of the app is revoked.
    pub credentials_revoked: bool,
    /// What was done with the data, per the app's `retention_days`.
    pub data: DataDisposition,
    /// Everyone who depends on the app was told.
    pub dependents_notified: bool,
}

/// `POST /v1/apps/{id}/retirement`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireRequest {
    pub reason: String,
    pub checklist: ExitChecklist,
}

/// Why a hold, a release or a retirement was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("quarantining an app needs the reviewer or lead role")]
    QuarantineRole,
    #[error("only a reviewer releases a held app; a lead may quarantine but not release")]
    ReleaseRole,
    #[error("only the app's owner or a lead may retire it")]
    RetireRole,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the reason is {0} characters long; at most {MAX_REASON_CHARS} are allowed")]
    ReasonTooLong(usize),
    #[error("the app is {0}; only a live (active or expiring) app can be quarantined now")]
    NotLive(&'static str),
    #[error("the app is already held by {by}: {reason}")]
    AlreadyHeld { by: String, reason: String },
    #[error("the app is not held; only a held app can be released")]
    NotHeld,
    #[error("the app is decommissioned; that is final")]
    Decommissioned,
    #[error("the exit checklist is not done: {0}")]
    Checklist(&'static str),
}

fn check_reason(reason: &str) -> Result<(), HoldError> {
    if reason.trim().is_empty() {
        return Err(HoldError::ReasonRequired);
    }
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(HoldError::ReasonTooLong(chars));
    }
    Ok(())
}

/// Whether `actor` may quarantine apps at all (the console greys the key out otherwise).
pub fn may_quarantine(actor: &Actor) -> Result<(), HoldError> {
    if actor.has(Role::Reviewer) || actor.has(Role::Lead) { Ok(()) } else { Err(HoldError::QuarantineRole) }
}

/// Whether `actor` may release held apps.
pub fn may_release(actor: &Actor) -> Result<(), HoldError> {
    if actor.has(Role::Reviewer) { Ok(()) } else { Err(HoldError::ReleaseRole) }
}

/// Whether `actor` may retire an app of `owner`.
pub fn may_retire(actor: &Actor, owner: &str) -> Result<(), HoldError> {
    if actor.has(Role::Lead) || (actor.has(Role::Owner) && actor.user == owner) {
        Ok(())
    } else {
        Err(HoldError::RetireRole)
    }
}

/// Quarantines a live app at once with a hold by `actor`.
pub fn quarantine(app: &App, actor: &Actor, reason: &str, now: DateTime<Utc>) -> Result<App, HoldError> {
    may_quarantine(actor)?;
    check_reason(reason)?;
    if let Some(hold) = &app.hold {
        return Err(HoldError::AlreadyHeld { by: hold.by.clone(), reason: hold.reason.clone() });
    }
    if !app.state.is_live() {
        return Err(HoldError::NotLive(app.state.as_str()));
    }
    let mut held = app.clone();
    held.hold =
        Some(Hold { by: actor.user.clone(), reason: reason.trim().to_string(), at: now, previous_state: app.state });
    held.enter(AppState::Quarantined, now);
    held.updated_at = now;
    Ok(held)
}

/// What a release did: the app after it, and the ladder steps its TTL gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Released {
    pub app: App,
    pub hold: Hold,
    /// The TTL steps taken from `active` at the hold's start up to `now`
    /// (none when the app's TTL still has more than 14 days to run).
    pub steps: Vec<Transition>,
}

/// Lifts the hold: the app takes the state its TTL gives it now, by walking
/// the ladder of [`ttl::next_transition`] from `active` at the hold's start
/// (so an app whose TTL ran out during the hold goes to quarantine at its
/// expiry, read-only the policy's days later, and so on, as if it had never been held).
pub fn release(
    app: &App,
    actor: &Actor,
    reason: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Released, HoldError> {
    may_release(actor)?;
    check_reason(reason)?;
    let Some(hold) = app.hold.clone() else { return Err(HoldError::NotHeld) };
    let mut released = app.clone();
    released.hold = None;
    released.enter(AppState::Active, hold.at);
    let mut steps = Vec::new();
    while let Some(step) = ttl::next_transition(&released, policy, now) {
        released.enter(step.to, step.at);
        steps.push(step);
    }
    if released.state == AppState::Active {
        // Back where it was before the hold, from now on.
        released.state_since = now;
    }
    released.updated_at = now;
    Ok(Released { app: released, hold, steps })
}

/// Retires an app early: decommissioned at `now`, hold (if any) cleared.
/// The exit checklist must be done: credentials revoked and dependents told
/// (an unticked item is refused, naming it, because the checklist exists so
/// that nothing is left behind); `data` records what was done with the data.
pub fn retire(
    app: &App,
    actor: &Actor,
    reason: &str,
    checklist: &ExitChecklist,
    now: DateTime<Utc>,
) -> Result<App, HoldError> {
    may_retire(actor, &app.owner)?;
    check_reason(reason)?;
    if app.state == AppState::Decommissioned {
        return Err(HoldError::Decommissioned);
    }
    if !checklist.credentials_revoked {
        return Err(HoldError::Checklist("credentials_revoked: revoke the app's credentials and secrets first"));
    }
    if !checklist.dependents_notified {
        return Err(HoldError::Checklist("dependents_notified: tell the app's dependents first"));
    }
    let mut retired = app.clone();
    retired.hold = None;
    retired.enter(AppState::Decommissioned, now);
    retired.updated_at = now;
    Ok(retired)
}

/// Why a request was closed by policy, as recorded on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Closure {
    /// `policy` (the TTL ladder) or the user who retired the app.
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Closes a pending request of a decommissioned app: `closed` is final and
/// not pending, so it leaves the reviewers' queue and stops counting as
/// overdue. `None` for a request that is not pending (nothing to close).
pub fn close_request(approval: &Approval, by: &str, reason: &str, now: DateTime<Utc>) -> Option<Approval> {
    if approval.status != ApprovalStatus::Pending {
        return None;
    }
    let mut closed = approval.clone();
    closed.status = ApprovalStatus::Closed;
    closed.decided_at = Some(now);
    closed.closed = Some(Closure { by: by.to_string(), reason: reason.to_string(), at: now });
    Some(closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use crate::domain::approval::ApprovalKind;
    use crate::domain::risk::Tier;
    use crate::domain::ttl::{Renewal, RenewalError, activate, renew, run_policy};
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn live(ttl_days: i64) -> App {
        let mut app = App::from_manifest("a1".into(), "olive".into(), manifest(), Policy::builtin(), t0());
        activate(&mut app, Policy::builtin(), t0());
        app.expires_at = Some(t0() + Duration::days(ttl_days));
        app
    }

    fn riley() -> Actor {
        Actor::new("riley", [Role::Reviewer])
    }
    fn pat() -> Actor {
        Actor::new("pat", [Role::Lead])
    }
    fn olive() -> Actor {
        Actor::new("olive", [Role::Owner])
    }

    fn done() -> ExitChecklist {
        ExitChecklist { credentials_revoked: true, data: DataDisposition::Archived, dependents_notified: true }
    }

    #[test]
    fn a_reviewer_or_a_lead_quarantines_a_live_app_at_once() {
        for actor in [riley(), pat()] {
            let held = quarantine(&live(100), &actor, " leak ", t0() + Duration::days(3)).unwrap();
            assert_eq!((held.state, held.state_since), (AppState::Quarantined, t0() + Duration::days(3)));
            let hold = held.hold.unwrap();
            assert_eq!((hold.by.as_str(), hold.reason.as_str()), (actor.user.as_str(), "leak"));
            assert_eq!(hold.previous_state, AppState::Active);
        }
    }

    #[test]
    fn owners_auditors_and_admins_may_not_quarantine() {
        for actor in [olive(), Actor::new("audrey", [Role::Auditor]), Actor::new("adam", [Role::Admin])] {
            assert_eq!(quarantine(&live(100), &actor, "x", t0()), Err(HoldError::QuarantineRole));
        }
    }

    #[test]
    fn quarantine_needs_a_bounded_reason() {
        assert_eq!(quarantine(&live(100), &riley(), "  ", t0()), Err(HoldError::ReasonRequired));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(quarantine(&live(100), &riley(), &long, t0()), Err(HoldError::ReasonTooLong(MAX_REASON_CHARS + 1)));
        assert!(quarantine(&live(100), &riley(), &"x".repeat(MAX_REASON_CHARS), t0()).is_ok());
    }

    #[test]
    fn only_live_apps_are_quarantined_and_a_held_one_not_twice() {
        for state in [AppState::Pending, AppState::Quarantined, AppState::ReadOnly, AppState::Decommissioned] {
            let mut app = live(100);
            app.enter(state, t0());
            assert_eq!(quarantine(&app, &riley(), "x", t0()), Err(HoldError::NotLive(state.as_str())));
        }
        let mut expiring = live(10);
        expiring.enter(AppState::Expiring, t0());
        assert_eq!(quarantine(&expiring, &pat(), "x", t0()).unwrap().hold.unwrap().previous_state, AppState::Expiring);
        let held = quarantine(&live(100), &riley(), "leak", t0()).unwrap();
        assert_eq!(
            quarantine(&held, &pat(), "again", t0()),
            Err(HoldError::AlreadyHeld { by: "riley".into(), reason: "leak".into() })
        );
    }

    #[test]
    fn the_owners_renewal_does_not_lift_a_hold() {
        let held = quarantine(&live(100), &riley(), "leak", t0()).unwrap();
        let refused = renew(&held, &olive(), None, Policy::builtin(), t0() + Duration::days(1)).unwrap_err();
        assert_eq!(refused, RenewalError::Held { by: "riley".into(), reason: "leak".into() });
        assert!(refused.to_string().contains("a reviewer must release it"), "{refused}");
        // A lead neither.
        assert!(matches!(renew(&held, &pat(), None, Policy::builtin(), t0()), Err(RenewalError::Held { .. })));
        // Without a hold, a TTL quarantine renews at once, as before.
        let mut lapsed = live(1);
        lapsed.enter(AppState::Quarantined, t0() + Duration::days(1));
        assert!(matches!(
            renew(&lapsed, &olive(), None, Policy::builtin(), t0() + Duration::days(2)),
            Ok(Renewal::Extended { .. })
        ));
    }

    #[test]
    fn the_lifecycle_job_does_not_move_a_held_app() {
        let mut held = quarantine(&live(10), &riley(), "leak", t0()).unwrap();
        assert!(
            run_policy(&mut held, Policy::builtin(), t0() + Duration::days(400))
                .iter()
                .all(|step| !matches!(step, ttl::PolicyStep::Transition(_)))
        );
        assert_eq!(held.state, AppState::Quarantined);
        // Unheld, the same app would have gone to read-only after 7 days.
        let mut lapsed = held.clone();
        lapsed.hold = None;
        run_policy(&mut lapsed, Policy::builtin(), t0() + Duration::days(8));
        assert_eq!(lapsed.state, AppState::ReadOnly);
    }

    #[test]
    fn only_a_reviewer_releases_and_only_a_held_app() {
        let held = quarantine(&live(100), &pat(), "leak", t0()).unwrap();
        assert_eq!(release(&held, &pat(), "fixed", Policy::builtin(), t0()), Err(HoldError::ReleaseRole));
        assert_eq!(release(&held, &olive(), "fixed", Policy::builtin(), t0()), Err(HoldError::ReleaseRole));
        assert_eq!(release(&held, &riley(), " ", Policy::builtin(), t0()), Err(HoldError::ReasonRequired));
        assert_eq!(release(&live(100), &riley(), "fixed", Policy::builtin(), t0()), Err(HoldError::NotHeld));
        let mut lapsed = live(1);
        lapsed.enter(AppState::Quarantined, t0());
        assert_eq!(
            release(&lapsed, &riley(), "fixed", Policy::builtin(), t0()),
            Err(HoldError::NotHeld),
            "a TTL quarantine has no hold"
        );
    }

    #[test]
    fn release_returns_to_the_state_the_ttl_gives_now() {
        let held = quarantine(&live(100), &riley(), "leak", t0() + Duration::days(2)).unwrap();
        // Plenty of TTL left: active again.
        let back = release(&held, &riley(), "fixed", Policy::builtin(), t0() + Duration::days(5)).unwrap();
        assert_eq!((back.app.state, back.app.hold.as_ref()), (AppState::Active, None));
        assert_eq!(back.app.state_since, t0() + Duration::days(5));
        assert!(back.steps.is_empty());
        // Under 14 days left: expiring.
        let back = release(&held, &riley(), "fixed", Policy::builtin(), t0() + Duration::days(90)).unwrap();
        assert_eq!(back.app.state, AppState::Expiring);
        // TTL ran out during the hold: down the ladder from the expiry.
        let back = release(&held, &riley(), "fixed", Policy::builtin(), t0() + Duration::days(110)).unwrap();
        assert_eq!((back.app.state, back.app.state_since), (AppState::ReadOnly, t0() + Duration::days(107)));
        let back = release(&held, &riley(), "fixed", Policy::builtin(), t0() + Duration::days(200)).unwrap();
        assert_eq!(back.app.state, AppState::Decommissioned);
        assert_eq!(back.steps.last().unwrap().at, t0() + Duration::days(137));
    }

    #[test]
    fn the_owner_or_a_lead_retires_through_the_checklist() {
        let retired = retire(&live(100), &olive(), "done with it", &done(), t0()).unwrap();
        assert_eq!((retired.state, retired.state_since), (AppState::Decommissioned, t0()));
        let held = quarantine(&live(100), &riley(), "leak", t0()).unwrap();
        let retired = retire(&held, &pat(), "contained for good", &done(), t0()).unwrap();
        assert_eq!((retired.state, retired.hold), (AppState::Decommissioned, None));
        for actor in [Actor::new("omar", [Role::Owner]), riley(), Actor::new("audrey", [Role::Auditor])] {
            assert_eq!(retire(&live(100), &actor, "x", &done(), t0()), Err(HoldError::RetireRole));
        }
    }

    #[test]
    fn retirement_refuses_an_unticked_item_naming_it_and_a_decommissioned_app() {
        let no_creds = ExitChecklist { credentials_revoked: false, ..done() };
        let err = retire(&live(100), &olive(), "x", &no_creds, t0()).unwrap_err();
        assert!(err.to_string().contains("credentials_revoked"), "{err}");
        let no_notice = ExitChecklist { dependents_notified: false, ..done() };
        let err = retire(&live(100), &olive(), "x", &no_notice, t0()).unwrap_err();
        assert!(err.to_string().contains("dependents_notified"), "{err}");
        assert_eq!(retire(&live(100), &olive(), "", &done(), t0()), Err(HoldError::ReasonRequired));
        let mut gone = live(100);
        gone.enter(AppState::Decommissioned, t0());
        assert_eq!(retire(&gone, &olive(), "x", &done(), t0()), Err(HoldError::Decommissioned));
        // Any other state retires: pending, read-only, discovered.
        for state in [AppState::Pending, AppState::ReadOnly, AppState::Discovered, AppState::Rejected] {
            let mut app = live(100);
            app.enter(state, t0());
            assert_eq!(retire(&app, &olive(), "x", &done(), t0()).unwrap().state, AppState::Decommissioned);
        }
    }

    #[test]
    fn closing_a_pending_request_makes_it_final_and_never_overdue() {
        let app = live(100);
        let approval = Approval::new(
            "r1".into(),
            &app,
            ApprovalKind::Renewal,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            t0(),
        );
        let late = t0() + Duration::days(30);
        assert!(approval.is_overdue(late));
        let closed = close_request(&approval, "policy", "the app was decommissioned", late).unwrap();
        assert_eq!(closed.status, ApprovalStatus::Closed);
        assert!(!closed.is_overdue(late));
        assert_eq!(closed.closed.as_ref().unwrap().by, "policy");
        assert_eq!(close_request(&closed, "policy", "again", late), None, "closed is final");
        let mut decided = approval.clone();
        decided.status = ApprovalStatus::Approved;
        assert_eq!(close_request(&decided, "olive", "x", late), None);
    }

    #[test]
    fn retire_requests_parse_as_documented() {
        let request: RetireRequest = serde_json::from_str(
            r#"{"reason":"done","checklist":{"credentials_revoked":true,"data":"deleted","dependents_notified":true}}"#,
        )
        .unwrap();
        assert_eq!(request.checklist.data, DataDisposition::Deleted);
        assert!(serde_json::from_str::<RetireRequest>(r#"{"reason":"done"}"#).is_err(), "the checklist is required");
        assert!("shredded".parse::<DataDisposition>().is_err());
    }
}
