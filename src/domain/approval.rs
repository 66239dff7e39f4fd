//! Approval requests and the decision rules: separation of duties, reasons
//! for rejections, the approver rules of the request's review tier (by
//! default: high risk is decided by reviewers only, and approved once two
//! different reviewers approve; leads decide medium risk; see
//! [`Policy::review`]), and optimistic concurrency by revision.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::policy::Policy;
use super::risk::{Risk, Tier};
use super::role::{Actor, Role};

/// Longest accepted decision comment.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The environment of a production access request that names none.
pub const DEFAULT_ACCESS_ENVIRONMENT: &str = "production";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// A new app asks to run.
    NewApp,
    /// An app asks for production access.
    ProductionAccess,
    /// A read-only app asks to come back.
    Renewal,
    /// A material amendment of a live app's manifest, held for review.
    Change,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::NewApp => "new_app",
            ApprovalKind::ProductionAccess => "production_access",
            ApprovalKind::Renewal => "renewal",
            ApprovalKind::Change => "change",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
    /// A reviewer asked the owner to change the manifest; out of the
    /// reviewers' queue until the owner amends it.
    ChangesRequested,
    /// Closed by policy because its app was decommissioned (final).
    Closed,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Withdrawn => "withdrawn",
            ApprovalStatus::ChangesRequested => "changes_requested",
            ApprovalStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    /// Send the request back to the owner to amend (a comment says what).
    RequestChanges,
}

impl DecisionKind {
    /// The audit action of a decision of this kind.
    pub fn action(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approval.approve",
            DecisionKind::Reject => "approval.reject",
            DecisionKind::RequestChanges => "approval.request_changes",
        }
    }
}

/// One person's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub by: String,
    pub role: Role,
    pub decision: DecisionKind,
    #[serde(default)]
    pub comment: String,
    pub at: DateTime<Utc>,
    /// The version of the policy it was made under (`None`: made before
    /// policies were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub id: String,
    pub app_id: String,
    /// Name of the app when the request was filed, for lists.
    pub app_name: String,
    /// Owner of the app: they may not decide it.
    pub app_owner: String,
    pub kind: ApprovalKind,
    pub requested_by: String,
    pub status: ApprovalStatus,
    /// Global revision of the last change; a decision must name it.
    pub rev: u64,
    pub risk_score_at_time: u32,
    /// The risk breakdown when the request was filed.
    pub risk: Risk,
    /// The rules the request is reviewed under: `high` or `medium`.
    pub review_tier: Tier,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decisions: Vec<Decision>,
    /// A `change` request's proposed changes of the approved manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<super::amend::FieldChange>,
    /// Approvals count from this decision on: the manifest changed under
    /// the earlier ones (an amendment while pending, or a resubmission).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub counted_from: usize,
    /// The environment a `production_access` request asks for (requests
    /// filed before it was recorded asked for `production`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Why the requester asks (production access requests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Who withdrew the request, once it is `withdrawn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_by: Option<String>,
    /// Who closed the request by policy and why (status `closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<super::hold::Closure>,
    /// The version of the policy it was filed (or last re-scored) under
    /// (`None`: filed before policies were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Approval {
    pub fn new(
        id: String,
        app: &super::App,
        kind: ApprovalKind,
        requested_by: String,
        review_tier: Tier,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> Approval {
        Approval {
            id,
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            app_owner: app.owner.clone(),
            kind,
            requested_by,
            status: ApprovalStatus::Pending,
            rev: 0,
            risk_score_at_time: app.risk.score,
            risk: app.risk,
            review_tier,
            created_at: now,
            due_at: policy.due_at(review_tier, now),
            decided_at: None,
            decisions: Vec::new(),
            changes: Vec::new(),
            counted_from: 0,
            environment: None,
            reason: String::new(),
            withdrawn_by: None,
            closed: None,
            policy_version: Some(policy.version().to_string()),
        }
    }

    /// The environment a production access request adds when approved.
    pub fn requested_environment(&self) -> &str {
        self.environment.as_deref().unwrap_or(DEFAULT_ACCESS_ENVIRONMENT)
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == ApprovalStatus::Pending && now > self.due_at
    }

    /// The approvals that count: those given on the manifest as it is now.
    pub fn approvers(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().skip(self.counted_from).filter(|d| d.decision == DecisionKind::Approve)
    }

    /// The reviewer's last request for changes, while awaiting them.
    pub fn changes_asked(&self) -> Option<&Decision> {
        if self.status != ApprovalStatus::ChangesRequested {
            return None;
        }
        self.decisions.iter().rev().find(|d| d.decision == DecisionKind::RequestChanges)
    }

    /// Whether the approvals so far satisfy the rules of the request's review
    /// tier: enough different people, each in one of the approver roles, with
    /// every required role among them.
    pub fn approvals_suffice(&self, policy: &Policy) -> bool {
        let rules = policy.review(self.review_tier);
        let counted: Vec<&Decision> = self.approvers().filter(|d| rules.approver_roles.contains(&d.role)).collect();
        let mut people: Vec<&str> = counted.iter().map(|d| d.by.as_str()).collect();
        people.sort_unstable();
        people.dedup();
        people.len() >= rules.approvals
            && rules.required_roles.iter().all(|role| counted.iter().any(|d| d.role == *role))
    }
}

/// The order a reviewer works a queue in: overdue first (the most overdue
/// first), then by due time (the soonest first), then by risk (the highest
/// tier and score first), then the oldest. Sort pending requests by this key.
pub fn queue_key(approval: &Approval, now: DateTime<Utc>) -> impl Ord + use<> {
    (
        !approval.is_overdue(now),
        approval.due_at,
        std::cmp::Reverse(approval.risk.tier),
        std::cmp::Reverse(approval.risk_score_at_time),
        approval.created_at,
    )
}

/// Why a decision was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("you requested this change yourself; someone else must decide it")]
    OwnRequest,
    #[error("you own this app; someone else must decide its requests")]
    OwnApp,
    #[error("deciding approvals needs the reviewer or lead role")]
    WrongRole,
    #[error("{tier}-risk requests are decided by {approvers} under the policy; you hold {yours}")]
    NotAnApprover { tier: &'static str, approvers: String, yours: String },
    #[error("a rejection needs a reason in the comment")]
    ReasonRequired,
    #[error("a request for changes needs a comment saying what to change")]
    ChangesNeedComment,
    #[error("this request is awaiting changes from the owner; it returns to the queue when they amend the manifest")]
    AwaitingChanges,
    #[error("the comment is {0} characters long; at most {MAX_COMMENT_CHARS} are allowed")]
    CommentTooLong(usize),
    #[error("this request is already {0}")]
    AlreadyDecided(&'static str),
    #[error("you already approved this request; a second approver must be someone else")]
    AlreadyApprovedByYou,
    #[error("the request changed since revision {given} (now {current}); reload it and decide again")]
    StaleRevision { given: u64, current: u64 },
}

/// Why `actor` may not decide `approval` at all, before any comment or
/// revision is looked at. The console uses it to show actions as disabled.
pub fn may_decide(approval: &Approval, actor: &Actor, policy: &Policy) -> Result<(), DecisionError> {
    if !actor.has(Role::Reviewer) && !actor.has(Role::Lead) {
        return Err(DecisionError::WrongRole);
    }
    if approval.requested_by == actor.user {
        return Err(DecisionError::OwnRequest);
    }
    if approval.app_owner == actor.user {
        return Err(DecisionError::OwnApp);
    }
    let rules = policy.review(approval.review_tier);
    if deciding_role(actor, &rules.approver_roles).is_none() {
        return Err(DecisionError::NotAnApprover {
            tier: policy.review_tier_for(approval.review_tier).as_str(),
            approvers: super::policy::roles_plural(&rules.approver_roles),
            yours: super::policy::role_list(&actor.roles),
        });
    }
    Ok(())
}

/// The role a decision is recorded under: the first of the tier's approver
/// roles the actor holds (reviewer before lead in the default policy).
fn deciding_role(actor: &Actor, approver_roles: &[Role]) -> Option<Role> {
    approver_roles.iter().copied().find(|role| actor.has(*role))
}

/// Applies a decision to a pending request. The caller stores the result
/// (with a new revision) and its audit event in one transaction.
pub fn decide(
    approval: &Approval,
    actor: &Actor,
    decision: DecisionKind,
    comment: &str,
    rev: u64,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Approval, DecisionError> {
    may_decide(approval, actor, policy)?;
    if approval.status == ApprovalStatus::ChangesRequested {
        return Err(DecisionError::AwaitingChanges);
    }
    if approval.status != ApprovalStatus::Pending {
        return Err(DecisionError::AlreadyDecided(approval.status.as_str()));
    }
    if rev != approval.rev {
        return Err(DecisionError::StaleRevision { given: rev, current: approval.rev });
    }
    let comment_chars = comment.chars().count();
    if comment_chars > MAX_COMMENT_CHARS {
        return Err(DecisionError::CommentTooLong(comment_chars));
    }
    if decision == DecisionKind::Reject && comment.trim().is_empty() {
        return Err(DecisionError::ReasonRequired);
    }
    if decision == DecisionKind::RequestChanges && comment.trim().is_empty() {
        return Err(DecisionError::ChangesNeedComment);
    }
    if decision == DecisionKind::Approve && approval.approvers().any(|d| d.by == actor.user) {
        return Err(DecisionError::AlreadyApprovedByYou);
    }

    let mut next = approval.clone();
    next.decisions.push(Decision {
        by: actor.user.clone(),
        role: deciding_role(actor, &policy.review(approval.review_tier).approver_roles).unwrap_or(Role::Reviewer),
        decision,
        comment: comment.to_string(),
        at: now,
        policy_version: Some(policy.version().to_string()),
    });
    match decision {
        DecisionKind::Reject => {
            next.status = ApprovalStatus::Rejected;
            next.decided_at = Some(now);
        }
        DecisionKind::Approve if next.approvals_suffice(policy) => {
            next.status = ApprovalStatus::Approved;
            next.decided_at = Some(now);
        }
        DecisionKind::Approve => {}
        DecisionKind::RequestChanges => next.status = ApprovalStatus::ChangesRequested,
    }
    Ok(next)
}

/// The owner amended the manifest of a request awaiting changes: it returns
/// to the queue with its SLA restarted, and approvals count afresh.
pub fn resubmit(approval: &mut Approval, policy: &Policy, now: DateTime<Utc>) {
    approval.status = ApprovalStatus::Pending;
    approval.due_at = policy.due_at(approval.review_tier, now);
    approval.decided_at = None;
    restart_count(approval);
}

/// The manifest under review changed: the approvals given so far no longer count.
pub fn restart_count(approval: &mut Approval) {
    approval.counted_from = approval.decisions.len();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::App;
    use crate::domain::app::tests::manifest;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn request(tier: Tier) -> Approval {
        let app = App::from_manifest("app-1".into(), "olive".into(), manifest(), Policy::builtin(), now());
        let mut approval =
            Approval::new("apr-1".into(), &app, ApprovalKind::NewApp, "olive".into(), tier, Policy::builtin(), now());
        approval.rev = 7;
        approval
    }

    fn riley() -> Actor {
        Actor::new("riley", [Role::Reviewer])
    }

    #[test]
    fn a_request_and_its_decisions_name_the_policy_they_were_made_under() {
        let approval = request(Tier::Medium);
        assert_eq!(approval.policy_version.as_deref(), Some(Policy::builtin().version()));
        let decided = decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(decided.decisions[0].policy_version.as_deref(), Some(Policy::builtin().version()));
        let json = serde_json::to_value(&decided).unwrap();
        assert_eq!(json["policy_version"], Policy::builtin().version());
        assert_eq!(json["decisions"][0]["policy_version"], Policy::builtin().version());
    }

    #[test]
    fn rows_stored_before_policies_decode_without_a_version() {
        let mut json = serde_json::to_value(request(Tier::Medium)).unwrap();
        json.as_object_mut().unwrap().remove("policy_version");
        json["decisions"] = serde_json::json!([
            {"by": "riley", "role": "reviewer", "decision": "approve", "comment": "", "at": "2026-03-02T09:00:00Z"}
        ]);
        let old: Approval = serde_json::from_value(json).unwrap();
        assert_eq!(old.policy_version, None);
        assert_eq!(old.decisions[0].policy_version, None);
        let back = serde_json::to_value(&old).unwrap();
        assert!(back.get("policy_version").is_none(), "written back as it was: {back}");
        assert!(back["decisions"][0].get("policy_version").is_none());
    }
    fn rosa() -> Actor {
        Actor::new("rosa", [Role::Reviewer])
    }
    fn pat() -> Actor {
        Actor::new("pat", [Role::Lead])
    }

    #[test]
    fn sla_due_times() {
        assert_eq!(request(Tier::High).due_at, now() + Duration::hours(48));
        assert_eq!(request(Tier::Medium).due_at, now() + Duration::hours(72));
        let approval = request(Tier::High);
        assert!(!approval.is_overdue(now() + Duration::hours(48)));
        assert!(approval.is_overdue(now() + Duration::hours(48) + Duration::seconds(1)));
    }

    #[test]
    fn the_queue_puts_overdue_first_then_the_soonest_due_then_the_riskiest() {
        let with = |id: &str, tier: Tier, score: u32, due_in_hours: i64| {
            let mut approval = request(tier);
            approval.id = id.into();
            approval.risk.tier = tier;
            approval.risk_score_at_time = score;
            approval.due_at = now() + Duration::hours(due_in_hours);
            approval
        };
        let mut queue = [
            with("due-45h-high-80", Tier::High, 80, 45),
            with("overdue-1h", Tier::Medium, 30, -1),
            with("due-1h-high-60", Tier::High, 60, 1),
            with("due-1h-high-90", Tier::High, 90, 1),
            with("due-1h-medium-40", Tier::Medium, 40, 1),
            with("overdue-5h", Tier::Low, 10, -5),
        ];
        queue.sort_by_key(|a| queue_key(a, now()));
        let order: Vec<&str> = queue.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            order,
            ["overdue-5h", "overdue-1h", "due-1h-high-90", "due-1h-high-60", "due-1h-medium-40", "due-45h-high-80"]
        );
    }

    #[test]
    fn nobody_decides_their_own_request() {
        let mut approval = request(Tier::Medium);
        approval.requested_by = "pat".into();
        approval.app_owner = "omar".into();
        let err = decide(&approval, &pat(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap_err();
        assert_eq!(err, DecisionError::OwnRequest);
    }

    #[test]
    fn nobody_decides_for_an_app_they_own() {
        let mut approval = request(Tier::Medium);
        approval.requested_by = "someone".into();
        approval.app_owner = "riley".into();
        let err = decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap_err();
        assert_eq!(err, DecisionError::OwnApp);
    }

    #[test]
    fn owners_and_ingest_may_not_decide() {
        let approval = request(Tier::Medium);
        for actor in
            [Actor::new("omar", [Role::Owner]), Actor::new("bot", [Role::Ingest]), Actor::new("ada", [Role::Admin])]
        {
            assert_eq!(
                decide(&approval, &actor, DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap_err(),
                DecisionError::WrongRole
            );
        }
    }

    #[test]
    fn rejection_needs_a_reason() {
        let approval = request(Tier::Medium);
        let err = decide(&approval, &riley(), DecisionKind::Reject, "   ", 7, Policy::builtin(), now()).unwrap_err();
        assert_eq!(err, DecisionError::ReasonRequired);
        let rejected =
            decide(&approval, &riley(), DecisionKind::Reject, "no DLP on PII", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(rejected.status, ApprovalStatus::Rejected);
        assert_eq!(rejected.decided_at, Some(now()));
    }

    #[test]
    fn approval_comment_is_optional_but_bounded() {
        let approval = request(Tier::Medium);
        assert!(decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).is_ok());
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            decide(&approval, &riley(), DecisionKind::Approve, &long, 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::CommentTooLong(MAX_COMMENT_CHARS + 1)
        );
    }

    #[test]
    fn medium_needs_one_reviewer_or_lead() {
        let approval = request(Tier::Medium);
        let by_lead = decide(&approval, &pat(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(by_lead.status, ApprovalStatus::Approved);
        assert_eq!(by_lead.decisions[0].role, Role::Lead);
        let by_reviewer = decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(by_reviewer.status, ApprovalStatus::Approved);
    }

    #[test]
    fn high_needs_two_distinct_approvers_one_a_reviewer() {
        let approval = request(Tier::High);
        let once = decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(once.status, ApprovalStatus::Pending);
        let mut again = once.clone();
        again.rev = 8;
        assert_eq!(
            decide(&again, &riley(), DecisionKind::Approve, "", 8, Policy::builtin(), now()).unwrap_err(),
            DecisionError::AlreadyApprovedByYou
        );
        let twice = decide(&again, &rosa(), DecisionKind::Approve, "", 8, Policy::builtin(), now()).unwrap();
        assert_eq!(twice.status, ApprovalStatus::Approved);
    }

    #[test]
    fn a_lead_may_not_decide_high_risk() {
        let approval = request(Tier::High);
        assert_eq!(
            decide(&approval, &pat(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::NotAnApprover { tier: "high", approvers: "reviewers".into(), yours: "lead".into() }
        );
        assert_eq!(
            decide(&approval, &pat(), DecisionKind::Reject, "no", 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::NotAnApprover { tier: "high", approvers: "reviewers".into(), yours: "lead".into() }
        );
        // A lead who is also a reviewer decides as a reviewer.
        let both = Actor::new("pat", [Role::Lead, Role::Reviewer]);
        let once = decide(&approval, &both, DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(once.decisions[0].role, Role::Reviewer);
    }

    #[test]
    fn two_approvals_without_a_reviewer_do_not_suffice_for_high() {
        let mut approval = request(Tier::High);
        for by in ["pat", "lee"] {
            approval.decisions.push(Decision {
                by: by.into(),
                role: Role::Lead,
                decision: DecisionKind::Approve,
                comment: String::new(),
                at: now(),
                policy_version: None,
            });
        }
        assert!(!approval.approvals_suffice(Policy::builtin()));
    }

    #[test]
    fn high_is_approved_by_two_reviewers_not_a_reviewer_and_a_lead() {
        let mut approval = request(Tier::High);
        let approve = |by: &str, role| Decision {
            by: by.into(),
            role,
            decision: DecisionKind::Approve,
            comment: String::new(),
            at: now(),
            policy_version: None,
        };
        approval.decisions.push(approve("riley", Role::Reviewer));
        approval.decisions.push(approve("pat", Role::Lead));
        assert!(!approval.approvals_suffice(Policy::builtin()), "a lead's approval never counts for high risk");
        approval.decisions.push(approve("rosa", Role::Reviewer));
        assert!(approval.approvals_suffice(Policy::builtin()));
        // After a reviewer's approval, a lead's second one is refused outright.
        let mut once =
            decide(&request(Tier::High), &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        once.rev = 8;
        assert_eq!(
            decide(&once, &pat(), DecisionKind::Approve, "", 8, Policy::builtin(), now()).unwrap_err(),
            DecisionError::NotAnApprover { tier: "high", approvers: "reviewers".into(), yours: "lead".into() }
        );
    }

    #[test]
    fn stale_revision_is_refused() {
        let approval = request(Tier::Medium);
        assert_eq!(
            decide(&approval, &riley(), DecisionKind::Approve, "", 6, Policy::builtin(), now()).unwrap_err(),
            DecisionError::StaleRevision { given: 6, current: 7 }
        );
    }

    #[test]
    fn decided_requests_are_final() {
        let approval = request(Tier::Medium);
        let approved = decide(&approval, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(
            decide(&approved, &rosa(), DecisionKind::Reject, "late", 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::AlreadyDecided("approved")
        );
    }

    #[test]
    fn request_changes_needs_a_comment_and_leaves_the_queue() {
        let approval = request(Tier::Medium);
        assert_eq!(
            decide(&approval, &riley(), DecisionKind::RequestChanges, " ", 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::ChangesNeedComment
        );
        let asked =
            decide(&approval, &riley(), DecisionKind::RequestChanges, "add an SBOM", 7, Policy::builtin(), now())
                .unwrap();
        assert_eq!(asked.status, ApprovalStatus::ChangesRequested);
        assert_eq!(asked.decided_at, None, "not decided: it comes back");
        assert!(!asked.is_overdue(now() + Duration::days(30)), "awaiting the owner is never overdue");
        assert_eq!(asked.changes_asked().map(|d| d.by.as_str()), Some("riley"));
    }

    #[test]
    fn a_request_awaiting_changes_is_not_decided_until_resubmitted() {
        let approval = request(Tier::Medium);
        let mut asked =
            decide(&approval, &riley(), DecisionKind::RequestChanges, "add an SBOM", 7, Policy::builtin(), now())
                .unwrap();
        for decision in [DecisionKind::Approve, DecisionKind::Reject, DecisionKind::RequestChanges] {
            assert_eq!(
                decide(&asked, &rosa(), decision, "x", 7, Policy::builtin(), now()).unwrap_err(),
                DecisionError::AwaitingChanges,
                "{decision:?}"
            );
        }
        resubmit(&mut asked, Policy::builtin(), now() + Duration::hours(5));
        assert_eq!(asked.status, ApprovalStatus::Pending);
        assert_eq!(asked.due_at, now() + Duration::hours(5 + 72));
        assert!(decide(&asked, &rosa(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).is_ok());
    }

    #[test]
    fn request_changes_follows_who_may_decide() {
        let high = request(Tier::High);
        assert_eq!(
            decide(&high, &pat(), DecisionKind::RequestChanges, "x", 7, Policy::builtin(), now()).unwrap_err(),
            DecisionError::NotAnApprover { tier: "high", approvers: "reviewers".into(), yours: "lead".into() }
        );
        let medium = request(Tier::Medium);
        assert!(decide(&medium, &pat(), DecisionKind::RequestChanges, "x", 7, Policy::builtin(), now()).is_ok());
        assert_eq!(
            decide(
                &medium,
                &Actor::new("olive", [Role::Owner]),
                DecisionKind::RequestChanges,
                "x",
                7,
                Policy::builtin(),
                now()
            )
            .unwrap_err(),
            DecisionError::WrongRole
        );
    }

    #[test]
    fn a_rejected_request_stays_final() {
        let rejected =
            decide(&request(Tier::Medium), &riley(), DecisionKind::Reject, "no", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(
            decide(&rejected, &rosa(), DecisionKind::RequestChanges, "try again", 7, Policy::builtin(), now())
                .unwrap_err(),
            DecisionError::AlreadyDecided("rejected")
        );
    }

    #[test]
    fn approvals_given_before_a_resubmission_do_not_count() {
        let high = request(Tier::High);
        let once = decide(&high, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        let mut asked =
            decide(&once, &rosa(), DecisionKind::RequestChanges, "fix it", 7, Policy::builtin(), now()).unwrap();
        resubmit(&mut asked, Policy::builtin(), now());
        let again = decide(&asked, &rosa(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(again.status, ApprovalStatus::Pending, "riley's approval was of the old manifest");
        let twice = decide(&again, &riley(), DecisionKind::Approve, "", 7, Policy::builtin(), now()).unwrap();
        assert_eq!(twice.status, ApprovalStatus::Approved);
    }
}
