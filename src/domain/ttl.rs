//! The TTL lifecycle: active → quarantined (TTL reached 0) → read_only
//! (+7 days by default) → decommissioned (+30 days), renewals per state, and
//! the inactivity flags; the days are the policy's ([`Policy`]). Pure: the
//! background job passes `now`.

use chrono::{DateTime, Duration, Utc};

use super::app::{App, AppState, FLAG_INACTIVE, FLAG_RETIREMENT_SCHEDULED};
use super::policy::Policy;
use super::role::Actor;

/// Whole days from `now` until `at`, the one rounding rule for every
/// days-left label and urgency bucket in the console and the CLI: a started
/// day counts as a whole one, both ways. So an app renewed for 365 days says
/// `365` a second later, an hour before expiry `1`, an hour after `-1`, and
/// 36 hours after `-2`; `0` only at the instant itself. "Within N days"
/// (`days_left <= N`) then means exactly "at most N×24 hours left".
pub fn days_left(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    const DAY_SECS: i64 = 86_400;
    let secs = (at - now).num_seconds();
    let whole = (secs.abs() + DAY_SECS - 1) / DAY_SECS;
    if secs < 0 { -whole } else { whole }
}

/// [`days_left`] as the tables print it: `365d`, `1d`, `0d`, `-2d`.
pub fn days_left_label(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{}d", days_left(at, now))
}

/// Whether a renewal to `new_expiry` would leave less time than `current`
/// (an app's expiry now): the console asks first, the CLI wants `--shorten`.
pub fn shortens(current: Option<DateTime<Utc>>, new_expiry: DateTime<Utc>) -> bool {
    current.is_some_and(|current| new_expiry < current)
}

/// One lifecycle step the policy took, with the moment it took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: AppState,
    pub to: AppState,
    pub at: DateTime<Utc>,
}

/// A flag the inactivity policy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyStep {
    Transition(Transition),
    FlaggedInactive { at: DateTime<Utc> },
    RetirementScheduled { at: DateTime<Utc>, expires_at: DateTime<Utc> },
}

impl PolicyStep {
    /// The audit `action_type` of this step.
    pub fn action_type(&self) -> String {
        match self {
            PolicyStep::Transition(t) => format!("lifecycle.{}", t.to.as_str()),
            PolicyStep::FlaggedInactive { .. } => "lifecycle.flag_inactive".into(),
            PolicyStep::RetirementScheduled { .. } => "lifecycle.retirement_scheduled".into(),
        }
    }
}

/// The next state change due for `app` at `now`, if any. The moment it takes
/// effect is when it was due, not `now`, so a job that runs late (or a clock
/// that jumps) cascades through the same dates as one that ran on time.
///
/// A held app ([`super::hold`]) has none: a human holds it, a human lifts it.
pub fn next_transition(app: &App, policy: &Policy, now: DateTime<Utc>) -> Option<Transition> {
    if app.hold.is_some() {
        return None;
    }
    let step = |to, at| Some(Transition { from: app.state, to, at });
    match app.state {
        AppState::Active | AppState::Expiring => {
            let expires_at = app.expires_at?;
            if now >= expires_at {
                step(AppState::Quarantined, expires_at)
            } else if app.state == AppState::Active && expires_at - now < policy.expiring_within() {
                step(AppState::Expiring, (expires_at - policy.expiring_within()).max(app.state_since))
            } else {
                None
            }
        }
        AppState::Quarantined => {
            let at = app.state_since + policy.read_only_after();
            if now >= at { step(AppState::ReadOnly, at) } else { None }
        }
        AppState::ReadOnly => {
            let at = app.state_since + policy.decommissioned_after();
            if now >= at { step(AppState::Decommissioned, at) } else { None }
        }
        AppState::Discovered | AppState::Pending | AppState::Rejected | AppState::Decommissioned => None,
    }
}

/// Runs the policy over one app until nothing more is due, changing it in
/// place and returning every step for the audit log.
pub fn run_policy(app: &mut App, policy: &Policy, now: DateTime<Utc>) -> Vec<PolicyStep> {
    let inactivity = policy.rules.inactivity;
    let mut steps = Vec::new();
    if app.state.is_live()
        && let Some(last) = app.last_activity_at
    {
        let idle = now - last;
        if idle >= Duration::days(inactivity.flag_after_days) && !app.has_flag(FLAG_INACTIVE) {
            app.set_flag(FLAG_INACTIVE, true);
            steps.push(PolicyStep::FlaggedInactive { at: now });
        }
        if idle >= Duration::days(inactivity.retire_after_days) && !app.has_flag(FLAG_RETIREMENT_SCHEDULED) {
            let notice_ends = now + Duration::days(inactivity.retirement_notice_days);
            let expires_at = app.expires_at.map_or(notice_ends, |e| e.min(notice_ends));
            app.expires_at = Some(expires_at);
            app.set_flag(FLAG_RETIREMENT_SCHEDULED, true);
            steps.push(PolicyStep::RetirementScheduled { at: now, expires_at });
        }
    }
    while let Some(transition) = next_transition(app, policy, now) {
        app.enter(transition.to, transition.at);
        app.updated_at = transition.at.max(app.updated_at);
        steps.push(PolicyStep::Transition(transition));
    }
    steps
}

/// What a renewal did.
#[derive(Debug, Clone, PartialEq)]
pub enum Renewal {
    /// Active, expiring or quarantined: extended at once.
    Extended { app: Box<App>, previous_expiry: Option<DateTime<Utc>> },
    /// Read-only: a re-approval request must be filed.
    NeedsApproval,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenewalError {
    #[error("only the app's owner or a lead may renew it")]
    NotAllowed,
    #[error("the app is decommissioned; that is final")]
    Decommissioned,
    #[error(
        "the app is held in quarantine by {by}: {reason}; a renewal does not lift a hold, a reviewer must release it"
    )]
    Held { by: String, reason: String },
    #[error("the app is {0}; only active, expiring, quarantined or read-only apps can be renewed")]
    NotRenewable(&'static str),
    #[error("renewals run from 1 to {max} days for a {class} app, not {given}")]
    BadDays { given: i64, max: i64, class: &'static str },
}

/// Renews `app` for `days` (default: its TTL class) from `now`.
pub fn renew(
    app: &App,
    actor: &Actor,
    days: Option<i64>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Renewal, RenewalError> {
    if !actor.may_renew_app_of(&app.owner) {
        return Err(RenewalError::NotAllowed);
    }
    if let Some(hold) = &app.hold {
        return Err(RenewalError::Held { by: hold.by.clone(), reason: hold.reason.clone() });
    }
    let max = policy.ttl_days(app.ttl_class);
    let days = days.unwrap_or(max);
    if !(1..=max).contains(&days) {
        return Err(RenewalError::BadDays { given: days, max, class: app.ttl_class.as_str() });
    }
    match app.state {
        AppState::Active | AppState::Expiring | AppState::Quarantined => {
            let mut renewed = app.clone();
            let expires_at = now + Duration::days(days);
            renewed.expires_at = Some(expires_at);
            let state =
                if Duration::days(days) < policy.expiring_within() { AppState::Expiring } else { AppState::Active };
            if renewed.state != state {
                renewed.enter(state, now);
            }
            renewed.last_activity_at = Some(now);
            renewed.set_flag(FLAG_INACTIVE, false);
            renewed.set_flag(FLAG_RETIREMENT_SCHEDULED, false);
            renewed.updated_at = now;
            Ok(Renewal::Extended { app: Box::new(renewed), previous_expiry: app.expires_at })
        }
        AppState::ReadOnly => Ok(Renewal::NeedsApproval),
        AppState::Decommissioned => Err(RenewalError::Decommissioned),
        other @ (AppState::Discovered | AppState::Pending | AppState::Rejected) => {
            Err(RenewalError::NotRenewable(other.as_str()))
        }
    }
}

/// Brings an app back to life after an approved request (intake or renewal
/// from read-only): active for its TTL class from `now`.
pub fn activate(app: &mut App, policy: &Policy, now: DateTime<Utc>) {
    app.expires_at = Some(now + Duration::days(policy.ttl_days(app.ttl_class)));
    app.enter(AppState::Active, now);
    app.last_activity_at = Some(now);
    app.set_flag(FLAG_INACTIVE, false);
    app.set_flag(FLAG_RETIREMENT_SCHEDULED, false);
    app.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use crate::domain::{Role, TtlClass};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn active_app(ttl_days: i64) -> App {
        let mut app = App::from_manifest("a1".into(), "olive".into(), manifest(), Policy::builtin(), t0());
        activate(&mut app, Policy::builtin(), t0());
        app.expires_at = Some(t0() + Duration::days(ttl_days));
        app
    }

    fn olive() -> Actor {
        Actor::new("olive", [Role::Owner])
    }

    #[test]
    fn days_left_counts_a_started_day_as_a_whole_one_both_ways() {
        let now = t0();
        let d = |at| days_left(at, now);
        assert_eq!(d(now), 0);
        assert_eq!(d(now + Duration::seconds(1)), 1);
        assert_eq!(d(now + Duration::hours(24)), 1);
        assert_eq!(d(now + Duration::hours(24) + Duration::seconds(1)), 2);
        assert_eq!(d(now - Duration::seconds(1)), -1);
        assert_eq!(d(now - Duration::hours(24)), -1);
        assert_eq!(d(now - Duration::hours(36)), -2);
        // Right after a 365-day renewal, and a minute later.
        assert_eq!(d(now + Duration::days(365)), 365);
        assert_eq!(days_left(now + Duration::days(365), now + Duration::minutes(1)), 365);
        assert_eq!(days_left_label(now - Duration::hours(36), now), "-2d");
        assert_eq!(days_left_label(now + Duration::days(7) - Duration::hours(4), now), "7d");
    }

    #[test]
    fn within_n_days_by_days_left_is_at_most_n_times_24_hours() {
        let now = t0();
        for n in [7, 30] {
            assert!(days_left(now + Duration::days(n), now) <= n);
            assert!(days_left(now + Duration::days(n) + Duration::seconds(1), now) > n);
        }
    }

    #[test]
    fn a_renewal_shortens_only_when_it_ends_before_the_current_expiry() {
        let now = t0();
        assert!(shortens(Some(now + Duration::days(190)), now + Duration::days(30)));
        assert!(!shortens(Some(now + Duration::days(30)), now + Duration::days(30)));
        assert!(!shortens(Some(now - Duration::days(2)), now + Duration::days(30)));
        assert!(!shortens(None, now + Duration::days(30)));
    }

    #[test]
    fn active_becomes_expiring_with_under_14_days_left() {
        let app = active_app(100);
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(86)), None);
        let t = next_transition(&app, Policy::builtin(), t0() + Duration::days(87)).unwrap();
        assert_eq!((t.from, t.to, t.at), (AppState::Active, AppState::Expiring, t0() + Duration::days(86)));
    }

    #[test]
    fn ttl_zero_quarantines_at_the_expiry() {
        let mut app = active_app(30);
        app.enter(AppState::Expiring, t0() + Duration::days(16));
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(30) - Duration::seconds(1)), None);
        let t = next_transition(&app, Policy::builtin(), t0() + Duration::days(30)).unwrap();
        assert_eq!((t.to, t.at), (AppState::Quarantined, t0() + Duration::days(30)));
    }

    #[test]
    fn quarantine_lasts_7_days_then_read_only_30_then_decommissioned() {
        let mut app = active_app(30);
        app.enter(AppState::Quarantined, t0());
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(7) - Duration::seconds(1)), None);
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(7)).unwrap().to, AppState::ReadOnly);
        app.enter(AppState::ReadOnly, t0() + Duration::days(7));
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(37) - Duration::seconds(1)), None);
        assert_eq!(
            next_transition(&app, Policy::builtin(), t0() + Duration::days(37)).unwrap().to,
            AppState::Decommissioned
        );
        app.enter(AppState::Decommissioned, t0() + Duration::days(37));
        assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(3650)), None);
    }

    #[test]
    fn a_late_run_cascades_through_the_scheduled_dates() {
        let mut app = active_app(30);
        let steps = run_policy(&mut app, Policy::builtin(), t0() + Duration::days(80));
        let states: Vec<_> = steps
            .iter()
            .filter_map(|s| match s {
                PolicyStep::Transition(t) => Some((t.to, t.at)),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            // Already past the expiry: straight to quarantine, no expiring step.
            vec![
                (AppState::Quarantined, t0() + Duration::days(30)),
                (AppState::ReadOnly, t0() + Duration::days(37)),
                (AppState::Decommissioned, t0() + Duration::days(67)),
            ]
        );
        assert_eq!(app.state, AppState::Decommissioned);
    }

    #[test]
    fn pending_rejected_and_discovered_apps_have_no_lifecycle() {
        for state in [AppState::Pending, AppState::Rejected, AppState::Discovered] {
            let mut app = active_app(1);
            app.enter(state, t0());
            assert_eq!(next_transition(&app, Policy::builtin(), t0() + Duration::days(400)), None);
        }
    }

    #[test]
    fn inactivity_flags_at_90_and_schedules_retirement_at_180_days() {
        let mut app = active_app(365);
        assert!(run_policy(&mut app, Policy::builtin(), t0() + Duration::days(89)).is_empty());
        let steps = run_policy(&mut app, Policy::builtin(), t0() + Duration::days(90));
        assert_eq!(steps, vec![PolicyStep::FlaggedInactive { at: t0() + Duration::days(90) }]);
        assert!(run_policy(&mut app, Policy::builtin(), t0() + Duration::days(91)).is_empty(), "flags are set once");
        let at = t0() + Duration::days(180);
        let steps = run_policy(&mut app, Policy::builtin(), at);
        assert_eq!(
            steps[0],
            PolicyStep::RetirementScheduled {
                at,
                expires_at: at + Duration::days(Policy::builtin().rules.inactivity.retirement_notice_days)
            }
        );
        assert_eq!(
            app.expires_at,
            Some(at + Duration::days(Policy::builtin().rules.inactivity.retirement_notice_days))
        );
        // Exactly 14 days left is not yet "under 14": expiring a moment later.
        assert_eq!(app.state, AppState::Active);
        let t = next_transition(&app, Policy::builtin(), at + Duration::seconds(1)).unwrap();
        assert_eq!(t.to, AppState::Expiring);
    }

    #[test]
    fn renewal_from_active_expiring_and_quarantined_is_immediate() {
        let now = t0() + Duration::days(40);
        for state in [AppState::Active, AppState::Expiring, AppState::Quarantined] {
            let mut app = active_app(30);
            app.enter(state, t0() + Duration::days(30));
            let Renewal::Extended { app: renewed, previous_expiry } =
                renew(&app, &olive(), None, Policy::builtin(), now).unwrap()
            else {
                panic!("{state:?} renews at once");
            };
            assert_eq!(previous_expiry, Some(t0() + Duration::days(30)));
            assert_eq!(renewed.expires_at, Some(now + Duration::days(365)));
            assert_eq!(renewed.state, AppState::Active);
        }
    }

    #[test]
    fn renewal_extends_by_the_ttl_class() {
        let mut app = active_app(10);
        app.ttl_class = TtlClass::Prototype;
        let Renewal::Extended { app: renewed, .. } = renew(&app, &olive(), None, Policy::builtin(), t0()).unwrap()
        else {
            panic!()
        };
        assert_eq!(renewed.expires_at, Some(t0() + Duration::days(30)));
        assert_eq!(
            renew(&app, &olive(), Some(31), Policy::builtin(), t0()).unwrap_err(),
            RenewalError::BadDays { given: 31, max: 30, class: "prototype" }
        );
        assert!(matches!(renew(&app, &olive(), Some(0), Policy::builtin(), t0()), Err(RenewalError::BadDays { .. })));
        let Renewal::Extended { app: short, .. } = renew(&app, &olive(), Some(7), Policy::builtin(), t0()).unwrap()
        else {
            panic!()
        };
        assert_eq!(short.state, AppState::Expiring);
    }

    #[test]
    fn renewal_from_read_only_needs_approval_and_decommissioned_is_final() {
        let mut app = active_app(30);
        app.enter(AppState::ReadOnly, t0());
        assert_eq!(renew(&app, &olive(), None, Policy::builtin(), t0()).unwrap(), Renewal::NeedsApproval);
        app.enter(AppState::Decommissioned, t0());
        assert_eq!(renew(&app, &olive(), None, Policy::builtin(), t0()).unwrap_err(), RenewalError::Decommissioned);
        app.enter(AppState::Pending, t0());
        assert_eq!(
            renew(&app, &olive(), None, Policy::builtin(), t0()).unwrap_err(),
            RenewalError::NotRenewable("pending")
        );
    }

    #[test]
    fn only_owner_or_lead_renews() {
        let app = active_app(30);
        assert_eq!(
            renew(&app, &Actor::new("omar", [Role::Owner]), None, Policy::builtin(), t0()).unwrap_err(),
            RenewalError::NotAllowed
        );
        assert_eq!(
            renew(&app, &Actor::new("riley", [Role::Reviewer]), None, Policy::builtin(), t0()).unwrap_err(),
            RenewalError::NotAllowed
        );
        assert!(renew(&app, &Actor::new("pat", [Role::Lead]), None, Policy::builtin(), t0()).is_ok());
    }
}
