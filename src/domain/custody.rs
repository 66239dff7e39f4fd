//! Three steps of an app's life that change who holds what: asking for an
//! environment (a `production_access` request), withdrawing a pending
//! request, and moving an app to another owner; with what revoking an owner
//! does to the live apps they still own. Pure rules: the server loads,
//! applies one of these, and saves with its audit event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::app::{App, AppState, FLAG_OWNER_REVOKED, MAX_SHORT_FIELD_CHARS};
use super::approval::{Approval, ApprovalKind, ApprovalStatus, MAX_COMMENT_CHARS};
use super::policy::Policy;
use super::risk::Tier;
use super::role::{Actor, Role};

/// `POST /v1/apps/{id}/access-requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    /// The environment asked for, e.g. `production`: lower-case letters,
    /// digits, `-` and `_`, at most 120 characters.
    pub environment: String,
    /// Why the app needs it; required, at most 2000 characters.
    pub reason: String,
}

/// `POST /v1/approvals/{id}/withdrawal`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    /// Why it is withdrawn; optional, at most 2000 characters.
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/apps/{id}/owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The new owner: an active user holding the owner or lead role.
    pub to: String,
    /// Why the app moves; required, at most 2000 characters.
    pub reason: String,
}

/// What a withdrawal answers: the request, and its app when the withdrawal
/// changed it (a withdrawn `new_app` request decommissions its pending app).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalResponse {
    pub approval: Approval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
}

/// Why a reason was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("a reason is required")]
    Required,
    #[error("the reason is {0} characters long; at most {MAX_COMMENT_CHARS} are allowed")]
    TooLong(usize),
}

/// Checks a reason: at most [`MAX_COMMENT_CHARS`], and not blank when `required`.
pub fn check_reason(reason: &str, required: bool) -> Result<(), ReasonError> {
    let chars = reason.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(ReasonError::TooLong(chars));
    }
    if required && reason.trim().is_empty() {
        return Err(ReasonError::Required);
    }
    Ok(())
}

/// Why a production access request was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("only the app's owner or a lead may request access for it")]
    NotOwner,
    #[error("the app is {0}; only a live (active or expiring) app may be given an environment")]
    NotLive(AppState),
    #[error(
        "environment {0:?} is not a valid name: use 1 to {MAX_SHORT_FIELD_CHARS} lower-case letters, digits, - or _"
    )]
    BadEnvironment(String),
    #[error("{0}")]
    Reason(#[from] ReasonError),
    #[error("the app already has the {0} environment")]
    AlreadyHas(String),
    #[error("request {id} for {environment} access to this app is already pending review; withdraw it or wait")]
    AlreadyPending { id: String, environment: String },
}

/// Whether `actor` may ask for an environment for `app` at all (the owner,
/// or a lead for any app). The console uses it to show the action as disabled.
pub fn may_request_access(app: &App, actor: &Actor) -> Result<(), AccessError> {
    may_request_access_for(&app.owner, actor)
}

/// [`may_request_access`] for an app owned by `owner`.
pub fn may_request_access_for(owner: &str, actor: &Actor) -> Result<(), AccessError> {
    if actor.has(Role::Lead) || (actor.has(Role::Owner) && actor.user == owner) {
        Ok(())
    } else {
        Err(AccessError::NotOwner)
    }
}

/// Whether `name` is a valid environment name.
pub fn check_environment(name: &str) -> Result<(), AccessError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_SHORT_FIELD_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err(AccessError::BadEnvironment(name.to_string())) }
}

/// The tier an access request is reviewed at: the app's risk tier, with low
/// risk reviewed as the policy says (medium by default), as a renewal is.
pub fn access_review_tier(policy: &Policy, app: &App) -> Tier {
    policy.review_tier_for(app.risk.tier)
}

/// Who must approve a request reviewed at `tier`, in words.
pub fn who_must_approve(policy: &Policy, tier: Tier) -> String {
    format!("{} must approve", crate::domain::policy::approvers_text(policy.review(tier)))
}

/// Checks a request for `environment` on `app`, given the app's requests;
/// returns the tier it is reviewed at.
pub fn request_access(
    app: &App,
    actor: &Actor,
    environment: &str,
    reason: &str,
    requests: &[Approval],
    policy: &Policy,
) -> Result<Tier, AccessError> {
    may_request_access(app, actor)?;
    if !app.state.is_live() {
        return Err(AccessError::NotLive(app.state));
    }
    check_environment(environment)?;
    check_reason(reason, true)?;
    if app.environments.iter().any(|env| env == environment) {
        return Err(AccessError::AlreadyHas(environment.to_string()));
    }
    if let Some(pending) = requests.iter().find(|r| {
        r.status == ApprovalStatus::Pending
            && r.kind == ApprovalKind::ProductionAccess
            && r.requested_environment() == environment
    }) {
        return Err(AccessError::AlreadyPending { id: pending.id.clone(), environment: environment.to_string() });
    }
    Ok(access_review_tier(policy, app))
}

/// Why a withdrawal was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawError {
    #[error("only the requester or the app's owner may withdraw a request")]
    NotYours,
    #[error("this request is already withdrawn")]
    AlreadyWithdrawn,
    #[error("this request is already {0}; a decided request is final")]
    Decided(&'static str),
    #[error("{0}")]
    Reason(#[from] ReasonError),
}

/// Whether `actor` may withdraw `approval` at all: its requester, or the
/// owner of its app.
pub fn may_withdraw(approval: &Approval, actor: &Actor) -> Result<(), WithdrawError> {
    if approval.requested_by == actor.user || approval.app_owner == actor.user {
        Ok(())
    } else {
        Err(WithdrawError::NotYours)
    }
}

/// Withdraws a pending request. The caller stores it (with a new revision)
/// and its audit event in one transaction.
pub fn withdraw(
    approval: &Approval,
    actor: &Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Approval, WithdrawError> {
    may_withdraw(approval, actor)?;
    match approval.status {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Withdrawn => return Err(WithdrawError::AlreadyWithdrawn),
        decided => return Err(WithdrawError::Decided(decided.as_str())),
    }
    check_reason(reason, false)?;
    let mut next = approval.clone();
    next.status = ApprovalStatus::Withdrawn;
    next.decided_at = Some(now);
    next.withdrawn_by = Some(actor.user.clone());
    Ok(next)
}

/// What a withdrawal does to the app: a withdrawn `new_app` request leaves
/// nothing to decide its still-pending app, so the app is decommissioned
/// (which frees its name, see [`super::naming`]). Other requests leave the
/// app as it is.
pub fn state_after_withdrawal(approval: &Approval, app: &App) -> Option<AppState> {
    (approval.kind == ApprovalKind::NewApp && app.state == AppState::Pending).then_some(AppState::Decommissioned)
}

/// Why a transfer was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("transferring an app needs the lead or admin role")]
    WrongRole,
    #[error("{0}")]
    Reason(#[from] ReasonError),
    #[error("{0:?} is not an active user")]
    UnknownUser(String),
    #[error("{0:?} holds neither the owner nor the lead role, so may not own apps")]
    MayNotOwn(String),
    #[error("{0:?} already owns this app")]
    SameOwner(String),
    #[error("the app is {0}; that is final, so it keeps its owner")]
    Final(AppState),
}

/// Whether `actor` may transfer apps at all.
pub fn may_transfer(actor: &Actor) -> Result<(), TransferError> {
    if actor.has(Role::Lead) || actor.has(Role::Admin) { Ok(()) } else { Err(TransferError::WrongRole) }
}

/// Moves `app` to `to`, whose roles are `to_roles` (`None` when `to` is no
/// active user). Clears the `owner_revoked` flag.
pub fn transfer(
    app: &App,
    actor: &Actor,
    to: &str,
    to_roles: Option<&[Role]>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<App, TransferError> {
    may_transfer(actor)?;
    check_reason(reason, true)?;
    if matches!(app.state, AppState::Decommissioned | AppState::Rejected) {
        return Err(TransferError::Final(app.state));
    }
    let roles = to_roles.ok_or_else(|| TransferError::UnknownUser(to.to_string()))?;
    if !roles.iter().any(|role| matches!(role, Role::Owner | Role::Lead)) {
        return Err(TransferError::MayNotOwn(to.to_string()));
    }
    if app.owner == to {
        return Err(TransferError::SameOwner(to.to_string()));
    }
    let mut next = app.clone();
    next.owner = to.to_string();
    next.set_flag(FLAG_OWNER_REVOKED, false);
    next.updated_at = now;
    Ok(next)
}

/// Whether revoking the owner of `app` leaves a live app (active or
/// expiring: running, and touching data) with nobody to answer for it; it is
/// then flagged [`FLAG_OWNER_REVOKED`]. Other apps are left to the lifecycle
/// (a quarantined or read-only app is decommissioned by policy) and reviewers.
pub fn needs_owner(app: &App) -> bool {
    app.state.is_live()
}

/// Flags `app`, whose owner was just revoked, as [`FLAG_OWNER_REVOKED`];
/// false (nothing changed) for an app that needs no owner or is flagged.
pub fn flag_owner_revoked(app: &mut App, now: DateTime<Utc>) -> bool {
    if !needs_owner(app) || app.has_flag(FLAG_OWNER_REVOKED) {
        return false;
    }
    app.set_flag(FLAG_OWNER_REVOKED, true);
    app.updated_at = now;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn app(state: AppState) -> App {
        let mut app = App::from_manifest("app-1".into(), "olive".into(), manifest(), Policy::builtin(), now());
        app.state = state;
        app.environments = vec!["staging".into()];
        app
    }

    fn olive() -> Actor {
        Actor::new("olive", [Role::Owner])
    }
    fn omar() -> Actor {
        Actor::new("omar", [Role::Owner])
    }
    fn pat() -> Actor {
        Actor::new("pat", [Role::Lead])
    }

    fn access_request(app: &App, env: &str) -> Approval {
        let mut request = Approval::new(
            "apr-9".into(),
            app,
            ApprovalKind::ProductionAccess,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            now(),
        );
        request.environment = Some(env.into());
        request
    }

    #[test]
    fn the_owner_or_a_lead_requests_access_for_a_live_app() {
        for state in [AppState::Active, AppState::Expiring] {
            assert!(request_access(&app(state), &olive(), "production", "go live", &[], Policy::builtin()).is_ok());
            assert!(request_access(&app(state), &pat(), "production", "go live", &[], Policy::builtin()).is_ok());
        }
        for actor in [omar(), Actor::new("riley", [Role::Reviewer]), Actor::new("ada", [Role::Admin])] {
            assert_eq!(
                request_access(&app(AppState::Active), &actor, "production", "x", &[], Policy::builtin()),
                Err(AccessError::NotOwner)
            );
        }
    }

    #[test]
    fn an_app_that_is_not_live_gets_no_environment() {
        for state in [AppState::Pending, AppState::Quarantined, AppState::ReadOnly, AppState::Decommissioned] {
            assert_eq!(
                request_access(&app(state), &olive(), "production", "x", &[], Policy::builtin()),
                Err(AccessError::NotLive(state))
            );
        }
    }

    #[test]
    fn the_reason_is_required_and_bounded() {
        let live = app(AppState::Active);
        assert_eq!(
            request_access(&live, &olive(), "production", "  ", &[], Policy::builtin()),
            Err(AccessError::Reason(ReasonError::Required))
        );
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            request_access(&live, &olive(), "production", &long, &[], Policy::builtin()),
            Err(AccessError::Reason(ReasonError::TooLong(MAX_COMMENT_CHARS + 1)))
        );
        assert!(
            request_access(&live, &olive(), "production", &"x".repeat(MAX_COMMENT_CHARS), &[], Policy::builtin())
                .is_ok()
        );
    }

    #[test]
    fn environment_names_are_checked() {
        let live = app(AppState::Active);
        for bad in ["", "Production", "prod env", "prod/1"] {
            assert_eq!(
                request_access(&live, &olive(), bad, "x", &[], Policy::builtin()),
                Err(AccessError::BadEnvironment(bad.into())),
                "{bad:?}"
            );
        }
        assert!(check_environment(&"a".repeat(MAX_SHORT_FIELD_CHARS)).is_ok());
        assert!(check_environment(&"a".repeat(MAX_SHORT_FIELD_CHARS + 1)).is_err());
        assert!(check_environment("eu-prod_2").is_ok());
    }

    #[test]
    fn an_environment_the_app_has_or_a_second_pending_request_is_a_conflict() {
        let live = app(AppState::Active);
        assert_eq!(
            request_access(&live, &olive(), "staging", "x", &[], Policy::builtin()),
            Err(AccessError::AlreadyHas("staging".into()))
        );
        let pending = access_request(&live, "production");
        assert_eq!(
            request_access(&live, &olive(), "production", "x", std::slice::from_ref(&pending), Policy::builtin()),
            Err(AccessError::AlreadyPending { id: "apr-9".into(), environment: "production".into() })
        );
        // Another environment, or a request no longer pending, does not block.
        assert!(
            request_access(&live, &olive(), "eu-prod", "x", std::slice::from_ref(&pending), Policy::builtin()).is_ok()
        );
        let mut rejected = pending.clone();
        rejected.status = ApprovalStatus::Rejected;
        assert!(request_access(&live, &olive(), "production", "x", &[rejected], Policy::builtin()).is_ok());
        // A request filed before the environment was recorded asked for production.
        let mut old = pending;
        old.environment = None;
        assert!(matches!(
            request_access(&live, &olive(), "production", "x", &[old], Policy::builtin()),
            Err(AccessError::AlreadyPending { .. })
        ));
    }

    #[test]
    fn access_is_reviewed_at_the_apps_tier_low_as_medium() {
        let mut live = app(AppState::Active);
        for (tier, review) in [(Tier::High, Tier::High), (Tier::Medium, Tier::Medium), (Tier::Low, Tier::Medium)] {
            live.risk.tier = tier;
            assert_eq!(request_access(&live, &olive(), "production", "x", &[], Policy::builtin()), Ok(review));
        }
    }

    #[test]
    fn the_requester_or_the_owner_withdraws_a_pending_request() {
        let live = app(AppState::Active);
        let mut request = access_request(&live, "production");
        request.requested_by = "pat".into();
        for actor in [olive(), pat()] {
            let withdrawn = withdraw(&request, &actor, "", now()).unwrap();
            assert_eq!(withdrawn.status, ApprovalStatus::Withdrawn);
            assert_eq!(withdrawn.withdrawn_by.as_deref(), Some(actor.user.as_str()));
            assert_eq!(withdrawn.decided_at, Some(now()));
        }
        for actor in [omar(), Actor::new("riley", [Role::Reviewer]), Actor::new("lee", [Role::Lead])] {
            assert_eq!(withdraw(&request, &actor, "", now()), Err(WithdrawError::NotYours));
        }
    }

    #[test]
    fn a_decided_or_withdrawn_request_is_final() {
        let request = access_request(&app(AppState::Active), "production");
        let withdrawn = withdraw(&request, &olive(), "not needed", now()).unwrap();
        assert_eq!(withdraw(&withdrawn, &olive(), "", now()), Err(WithdrawError::AlreadyWithdrawn));
        for status in [ApprovalStatus::Approved, ApprovalStatus::Rejected] {
            let mut decided = request.clone();
            decided.status = status;
            assert_eq!(withdraw(&decided, &olive(), "", now()), Err(WithdrawError::Decided(status.as_str())));
        }
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            withdraw(&request, &olive(), &long, now()),
            Err(WithdrawError::Reason(ReasonError::TooLong(MAX_COMMENT_CHARS + 1)))
        );
    }

    #[test]
    fn withdrawing_intake_decommissions_the_pending_app_and_nothing_else_changes_an_app() {
        let pending = app(AppState::Pending);
        let intake = Approval::new(
            "apr-1".into(),
            &pending,
            ApprovalKind::NewApp,
            "olive".into(),
            Tier::High,
            Policy::builtin(),
            now(),
        );
        assert_eq!(state_after_withdrawal(&intake, &pending), Some(AppState::Decommissioned));
        let live = app(AppState::Active);
        assert_eq!(state_after_withdrawal(&intake, &live), None);
        assert_eq!(state_after_withdrawal(&access_request(&live, "production"), &live), None);
        let read_only = app(AppState::ReadOnly);
        let renewal = Approval::new(
            "apr-2".into(),
            &read_only,
            ApprovalKind::Renewal,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            now(),
        );
        assert_eq!(state_after_withdrawal(&renewal, &read_only), None);
    }

    #[test]
    fn a_lead_or_an_admin_transfers_to_an_active_owner() {
        let owner_roles = [Role::Owner];
        let mut flagged = app(AppState::Active);
        flagged.set_flag(FLAG_OWNER_REVOKED, true);
        for actor in [pat(), Actor::new("ada", [Role::Admin])] {
            let moved = transfer(&flagged, &actor, "omar", Some(&owner_roles), "team change", now()).unwrap();
            assert_eq!(moved.owner, "omar");
            assert!(!moved.has_flag(FLAG_OWNER_REVOKED), "a transfer clears the flag");
            assert_eq!(moved.updated_at, now());
        }
        for actor in [olive(), Actor::new("riley", [Role::Reviewer]), Actor::new("aud", [Role::Auditor])] {
            assert_eq!(
                transfer(&flagged, &actor, "omar", Some(&owner_roles), "x", now()),
                Err(TransferError::WrongRole)
            );
        }
    }

    #[test]
    fn a_transfer_needs_a_reason_a_new_owner_who_may_own_and_a_living_app() {
        let live = app(AppState::Active);
        let owner_roles = [Role::Owner];
        assert_eq!(
            transfer(&live, &pat(), "omar", Some(&owner_roles), " ", now()),
            Err(TransferError::Reason(ReasonError::Required))
        );
        assert_eq!(transfer(&live, &pat(), "gone", None, "x", now()), Err(TransferError::UnknownUser("gone".into())));
        assert_eq!(
            transfer(&live, &pat(), "bot", Some(&[Role::Ingest]), "x", now()),
            Err(TransferError::MayNotOwn("bot".into()))
        );
        assert!(transfer(&live, &pat(), "lee", Some(&[Role::Lead]), "x", now()).is_ok());
        assert_eq!(
            transfer(&live, &pat(), "olive", Some(&owner_roles), "x", now()),
            Err(TransferError::SameOwner("olive".into()))
        );
        for state in [AppState::Decommissioned, AppState::Rejected] {
            assert_eq!(
                transfer(&app(state), &pat(), "omar", Some(&owner_roles), "x", now()),
                Err(TransferError::Final(state))
            );
        }
        for state in [AppState::Pending, AppState::Quarantined, AppState::ReadOnly, AppState::Discovered] {
            assert!(transfer(&app(state), &pat(), "omar", Some(&owner_roles), "x", now()).is_ok(), "{state}");
        }
    }

    #[test]
    fn revoking_an_owner_flags_their_live_apps_once() {
        for &state in AppState::ALL {
            let mut app = app(state);
            let live = matches!(state, AppState::Active | AppState::Expiring);
            assert_eq!(flag_owner_revoked(&mut app, now()), live, "{state}");
            assert_eq!(app.has_flag(FLAG_OWNER_REVOKED), live, "{state}");
            assert!(!flag_owner_revoked(&mut app, now()), "flagged once: {state}");
        }
    }
}
