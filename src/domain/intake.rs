//! What intake will do with a manifest, before anything is written (the
//! dry run of `POST /v1/intake?dry_run=true`, `govdeck intake --dry-run`,
//! the console's `:intake` preview: one computation for all three), and the
//! rule for adopting a discovered app.
//!
//! * **Review.** The policy decides ([`Policy::intake_review`]): by default
//!   low risk with secrets in a vault and OTel is approved by policy;
//!   anything else is reviewed at its tier: high risk by two different
//!   reviewers, medium (and low without those controls) by one reviewer or
//!   lead ([`Approval::approvals_suffice`]), due by the tier's SLA from the
//!   moment it is filed ([`Policy::due_at`]).
//! * **Adoption.** A `discovered` app (found by an import) is taken through
//!   review under its own id and upstream record: the manifest replaces the
//!   imported guesses and the app is pending (or approved by policy) as a
//!   new intake would be. Only a discovered app may be adopted (else a
//!   conflict), and only by the owner the import named or by a lead.
//!
//! [`Approval::approvals_suffice`]: super::Approval::approvals_suffice

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::app::FLAG_MANIFEST_INCOMPLETE;
use super::manifest_file::Problem;
use super::policy::{self, Policy};
use super::risk::{IntakeReview, Risk, Tier};
use super::{Actor, App, AppState, Manifest, Role};

/// The fields whose problems leave no risk to compute.
const RISK_FIELDS: &[&str] =
    &["data_classification", "expected_users", "external_connectivity", "execution_environment", "controls"];

/// The review a manifest will get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewPlan {
    /// Approved by policy at intake: no request is filed.
    pub auto_approved: bool,
    /// Why, in words: "approved by policy: …" or who must approve.
    pub summary: String,
    /// The rules the request is reviewed under (absent when approved by policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Who must approve, e.g. "two different reviewers".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<String>,
    /// When a reviewer must decide by, counted from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

/// `POST /v1/intake?dry_run=true`: what intake would do, and every problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntakePreview {
    /// True when the manifest has no problem: submitted now, it would be taken.
    pub valid: bool,
    /// The score and its breakdown; absent when a risk input has a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// The risk tier of the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewPlan>,
    /// Every problem, each with its field; empty when valid.
    pub problems: Vec<Problem>,
}

/// Who must approve a request reviewed at `tier` under `policy`, in words.
pub fn approvers(policy: &Policy, tier: Tier) -> String {
    policy::approvers_text(policy.review(tier))
}

/// The review of a manifest of this risk filed at `now` under `policy`.
pub fn review_plan(policy: &Policy, risk: &Risk, manifest: &Manifest, now: DateTime<Utc>) -> ReviewPlan {
    match policy.intake_review(risk, &manifest.controls, manifest.execution_environment) {
        IntakeReview::AutoApproved => ReviewPlan {
            auto_approved: true,
            summary: format!("approved by policy: {}", policy.auto_approval_text()),
            tier: None,
            approvers: None,
            due_at: None,
        },
        IntakeReview::Review(tier) => {
            let due_at = policy.due_at(tier, now);
            ReviewPlan {
                auto_approved: false,
                summary: format!(
                    "reviewed at {} risk: {} must approve, by {}",
                    tier.as_str(),
                    approvers(policy, tier),
                    due_at.format("%Y-%m-%d %H:%M UTC")
                ),
                tier: Some(tier),
                approvers: Some(approvers(policy, tier)),
                due_at: Some(due_at),
            }
        }
    }
}

/// The preview of a manifest read with `problems` (from
/// [`super::manifest_file`], plus any the server found, e.g. a taken name);
/// `manifest` is what was read, placeholders in the broken fields.
pub fn preview(
    policy: &Policy,
    manifest: Option<&Manifest>,
    problems: Vec<Problem>,
    now: DateTime<Utc>,
) -> IntakePreview {
    let risk_readable =
        !problems.iter().any(|problem| RISK_FIELDS.contains(&problem.field.split('.').next().unwrap_or_default()));
    let manifest = manifest.filter(|_| risk_readable);
    let risk = manifest.map(|manifest| manifest.risk(policy));
    IntakePreview {
        valid: problems.is_empty(),
        tier: risk.map(|risk| risk.tier),
        review: manifest.zip(risk).map(|(manifest, risk)| review_plan(policy, &risk, manifest, now)),
        risk,
        problems,
    }
}

/// What the CLI and the console say of an intake's (or an adoption's)
/// answer: the app's id and its review.
pub fn registered_message(policy: &Policy, answer: &super::api::IntakeResponse, adopted: bool) -> String {
    let app = &answer.app;
    let done = if adopted {
        format!("adopted {} ({})", app.name, app.id)
    } else {
        format!("registered {} as {}", app.name, app.id)
    };
    match &answer.approval {
        None => format!(
            "{done}: approved by policy, active until {}",
            app.expires_at.map_or_else(|| "—".to_string(), |at| at.format("%Y-%m-%d").to_string())
        ),
        Some(request) => format!(
            "{done}: request {} reviewed at {} risk (score {}): {} must approve, due by {}",
            request.id,
            request.review_tier.as_str(),
            request.risk_score_at_time,
            approvers(policy, request.review_tier),
            request.due_at.format("%Y-%m-%d %H:%M UTC")
        ),
    }
}

/// Why an app may not be adopted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdoptError {
    #[error("adopting an app needs the owner, lead or admin role")]
    WrongRole,
    #[error("only the owner the import named ({owner}) or a lead may adopt this app")]
    NotTheOwner { owner: String },
    #[error("only a discovered app may be adopted; this one is {0}")]
    NotDiscovered(AppState),
}

/// Whether `actor` may adopt `app`: the owner the import named (holding
/// the owner, lead or admin role) or a lead, and only while it is discovered.
pub fn may_adopt(app: &App, actor: &Actor) -> Result<(), AdoptError> {
    may_adopt_app_of(&app.owner, app.state, actor)
}

/// [`may_adopt`] for an app known by its owner and state alone (the
/// console's summaries carry no full record).
pub fn may_adopt_app_of(owner: &str, state: AppState, actor: &Actor) -> Result<(), AdoptError> {
    if !actor.may_submit_intake() {
        return Err(AdoptError::WrongRole);
    }
    if owner != actor.user && !actor.has(Role::Lead) {
        return Err(AdoptError::NotTheOwner { owner: owner.to_string() });
    }
    if state != AppState::Discovered {
        return Err(AdoptError::NotDiscovered(state));
    }
    Ok(())
}

/// The owner an adoption's manifest gives the app: the one it names, else
/// the owner the import named.
pub fn adopted_owner(app: &App, manifest: &Manifest) -> String {
    manifest.owner.clone().unwrap_or_else(|| app.owner.clone())
}

/// `current` (a discovered app) with `manifest` in place of the imported
/// guesses, pending its review: the same id, creation time and upstream
/// record, the next manifest version; `manifest_incomplete` is cleared (the
/// manifest now comes from a person), other flags are kept.
pub fn adopt(current: &App, manifest: Manifest, owner: String, policy: &Policy, now: DateTime<Utc>) -> App {
    let mut app = App::from_manifest(current.id.clone(), owner, manifest, policy, now);
    app.created_at = current.created_at;
    app.upstream = current.upstream.clone();
    app.version = current.version + 1;
    app.rev = current.rev;
    app.monthly_spend = current.monthly_spend;
    app.flags = current.flags.iter().filter(|flag| *flag != FLAG_MANIFEST_INCOMPLETE).cloned().collect();
    app
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use crate::domain::app::{FLAG_ORPHANED, Upstream};
    use crate::domain::{Connectivity, Controls, DataClass};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    fn discovered() -> App {
        let mut app = App::from_manifest(
            "app_1".into(),
            "olive".into(),
            manifest(),
            Policy::builtin(),
            now() - Duration::days(9),
        );
        app.state = AppState::Discovered;
        app.upstream = Some(Box::new(Upstream {
            source: "backstage".into(),
            key: "component:default/q".into(),
            ..Upstream::default()
        }));
        app.flags = vec![FLAG_MANIFEST_INCOMPLETE.into(), FLAG_ORPHANED.into()];
        app.version = 3;
        app.rev = 41;
        app
    }

    #[test]
    fn high_risk_is_reviewed_by_two_reviewers_within_48_hours() {
        let plan = review_plan(Policy::builtin(), &manifest().risk(Policy::builtin()), &manifest(), now());
        assert!(!plan.auto_approved);
        assert_eq!(plan.tier, Some(Tier::High));
        assert_eq!(plan.approvers.as_deref(), Some("two different reviewers"));
        assert_eq!(plan.due_at, Some(now() + Duration::hours(48)));
        assert!(plan.summary.contains("two different reviewers"), "{}", plan.summary);
    }

    #[test]
    fn low_risk_without_the_controls_is_reviewed_at_medium_by_one_reviewer_or_lead() {
        let mut m = manifest();
        m.data_classification = DataClass::Public;
        m.expected_users = 3;
        m.external_connectivity = Connectivity::None;
        m.controls = Controls::default();
        let plan = review_plan(Policy::builtin(), &m.risk(Policy::builtin()), &m, now());
        assert_eq!(plan.tier, Some(Tier::Medium));
        assert_eq!(plan.approvers.as_deref(), Some("one reviewer or lead"));
        assert_eq!(plan.due_at, Some(now() + Duration::hours(72)));
        m.controls = Controls { otel: true, secrets_in_vault: true, ..Controls::default() };
        let plan = review_plan(Policy::builtin(), &m.risk(Policy::builtin()), &m, now());
        assert!(plan.auto_approved);
        assert_eq!((plan.tier, plan.approvers, plan.due_at), (None, None, None));
    }

    #[test]
    fn a_preview_has_no_risk_when_a_risk_input_is_broken() {
        let m = manifest();
        let valid = preview(Policy::builtin(), Some(&m), Vec::new(), now());
        assert!(valid.valid);
        assert_eq!(valid.risk.map(|r| r.score), Some(90));
        assert_eq!(valid.tier, Some(Tier::High));
        let named = preview(Policy::builtin(), Some(&m), vec![Problem::new("name", "taken")], now());
        assert!(!named.valid);
        assert!(named.risk.is_some(), "a name problem leaves the risk readable");
        let broken =
            preview(Policy::builtin(), Some(&m), vec![Problem::new("controls.otel", "must be true or false")], now());
        assert_eq!((broken.risk, broken.tier, broken.review), (None, None, None));
        assert_eq!(preview(Policy::builtin(), None, vec![Problem::new("file", "x")], now()).risk, None);
    }

    #[test]
    fn only_the_imported_owner_or_a_lead_adopts_and_only_a_discovered_app() {
        let app = discovered();
        assert_eq!(may_adopt(&app, &Actor::new("olive", [Role::Owner])), Ok(()));
        assert_eq!(may_adopt(&app, &Actor::new("pat", [Role::Lead])), Ok(()));
        assert_eq!(
            may_adopt(&app, &Actor::new("omar", [Role::Owner])),
            Err(AdoptError::NotTheOwner { owner: "olive".into() })
        );
        assert_eq!(
            may_adopt(&app, &Actor::new("ada", [Role::Admin])),
            Err(AdoptError::NotTheOwner { owner: "olive".into() })
        );
        for actor in [Actor::new("olive", [Role::Reviewer]), Actor::new("olive", [Role::Auditor])] {
            assert_eq!(may_adopt(&app, &actor), Err(AdoptError::WrongRole));
        }
        // The same rule on an owner and a state alone, as the console checks a summary.
        assert_eq!(may_adopt_app_of("olive", AppState::Discovered, &Actor::new("olive", [Role::Owner])), Ok(()));
        assert_eq!(
            may_adopt_app_of("sam", AppState::Discovered, &Actor::new("olive", [Role::Owner])),
            Err(AdoptError::NotTheOwner { owner: "sam".into() })
        );
        assert_eq!(
            may_adopt_app_of("sam", AppState::Active, &Actor::new("pat", [Role::Lead])),
            Err(AdoptError::NotDiscovered(AppState::Active))
        );
        for state in AppState::ALL.iter().copied().filter(|s| *s != AppState::Discovered) {
            let mut taken = app.clone();
            taken.state = state;
            assert_eq!(may_adopt(&taken, &Actor::new("olive", [Role::Owner])), Err(AdoptError::NotDiscovered(state)));
        }
    }

    #[test]
    fn adoption_keeps_the_id_and_upstream_and_replaces_the_guesses() {
        let current = discovered();
        let mut m = manifest();
        m.purpose = "Reviewed purpose".into();
        m.data_classification = DataClass::Internal;
        let owner = adopted_owner(&current, &m);
        assert_eq!(owner, "olive", "the manifest names olive");
        m.owner = None;
        assert_eq!(adopted_owner(&current, &m), "olive", "else the imported owner");
        let adopted = adopt(&current, m, owner, Policy::builtin(), now());
        assert_eq!(adopted.id, current.id);
        assert_eq!(adopted.upstream, current.upstream);
        assert_eq!(adopted.created_at, current.created_at);
        assert_eq!((adopted.version, adopted.rev), (4, 41));
        assert_eq!(adopted.state, AppState::Pending);
        assert_eq!(adopted.state_since, now());
        assert_eq!(adopted.purpose, "Reviewed purpose");
        assert_eq!(adopted.risk.factors.data, 10);
        assert_eq!(adopted.flags, vec![FLAG_ORPHANED.to_string()]);
    }
}
