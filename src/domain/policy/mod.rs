//! The governance policy: the rubric, the tiers, who approves what, the SLAs,
//! the TTL classes, the lifecycle ladder, re-certification and the rules by
//! lifecycle tier, read from a policy folder (`policy.toml` plus optional
//! `*.rego` files) instead of compiled in. Every rule in `domain` that used
//! to read a constant takes a `&Policy`.
//!
//! The default policy is `policies/default/` in the repository, embedded in
//! the binary ([`Policy::builtin`]); it gives exactly the rules govdeck had
//! before policies existed (a test compares the two over the seeded catalog).
//!
//! A policy's version is the SHA-256 of its canonical bundle ([`Bundle`]),
//! so two servers with the same files agree on it, and a request, decision
//! or lifecycle event that records it names the rules it was made under.
//!
//! `policy.toml` is read with the `toml` crate (already the manifest file
//! format); its spans give each problem a line number.

mod bundle;
pub mod change;
mod file;

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};

pub use bundle::{Bundle, BundleFile};
pub use file::{
    AutoApprove, ControlName, DesktopAgentRule, Inactivity, Ladder, LifecycleTierRule, LifecycleTierRules, PolicyFile,
    Recertification, Review, Rubric, TierReview, Tiers, Ttl, UserBand,
};

use super::app::{Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, Manifest, TtlClass};
use super::risk::{IntakeReview, Risk, RiskFactors, Tier};
use super::role::Role;

/// The files of the default policy, embedded at build time.
const BUILTIN_FILES: &[(&str, &str)] = &[("policy.toml", include_str!("../../../policies/default/policy.toml"))];

/// One problem with a policy folder, named by file and line where known, so
/// an author can go straight to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[error("{}{}: {message}", file, line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl PolicyProblem {
    pub fn new(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> PolicyProblem {
        PolicyProblem { file: file.into(), line, message: message.into() }
    }
}

/// Every problem a policy folder has; a policy with any is refused whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy has {} problem{}: {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PolicyProblems(pub Vec<PolicyProblem>);

/// A manifest rule of the policy that a manifest breaks, said so its author
/// can fix it. `rule` names where the rule lives (`lifecycle_tier.ephemeral`,
/// a Rego file's rule).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PolicyFinding {
    pub rule: String,
    pub message: String,
}

/// What the manifest rules say of one manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// Rules it breaks: intake and amendment refuse it.
    pub deny: Vec<PolicyFinding>,
    /// Rules reviewers are told of, stored with its request.
    pub warn: Vec<PolicyFinding>,
}

/// A parsed, checked policy and the bundle it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub rules: PolicyFile,
    bundle: Bundle,
    version: String,
}

static BUILTIN: LazyLock<Policy> = LazyLock::new(|| {
    let bundle = Bundle::new(BUILTIN_FILES.iter().map(|(name, text)| BundleFile::new(*name, *text)).collect());
    match Policy::from_bundle(bundle) {
        Ok(policy) => policy,
        Err(problems) => panic!("the embedded default policy is broken: {problems}"),
    }
});

impl Policy {
    /// The default policy shipped in the binary.
    pub fn builtin() -> &'static Policy {
        &BUILTIN
    }

    /// Parses and checks a bundle; every problem at once.
    pub fn from_bundle(bundle: Bundle) -> Result<Policy, PolicyProblems> {
        let Some(toml) = bundle.file(file::POLICY_TOML) else {
            return Err(PolicyProblems(vec![PolicyProblem::new(
                file::POLICY_TOML,
                None,
                "a policy folder needs a policy.toml",
            )]));
        };
        let rules = PolicyFile::parse(&toml.text).map_err(PolicyProblems)?;
        let version = bundle.version();
        Ok(Policy { rules, bundle, version })
    }

    /// Reads the policy folder at `dir`: `policy.toml` and every `*.rego`.
    pub fn from_dir(dir: &std::path::Path) -> Result<Policy, PolicyProblems> {
        Policy::from_bundle(Bundle::read_dir(dir).map_err(|problem| PolicyProblems(vec![problem]))?)
    }

    /// The SHA-256 of the canonical bundle, in hex.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The first 12 hex digits of the version, for narrow columns.
    pub fn short_version(&self) -> &str {
        short_version(&self.version)
    }

    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    // ---- the rubric --------------------------------------------------------

    pub fn assess(&self, data: DataClass, users: u32, connectivity: Connectivity, environment: ExecEnv) -> Risk {
        let rubric = &self.rules.rubric;
        let factors = RiskFactors {
            data: rubric.data_classification.points(data),
            users: rubric.user_points(users),
            connectivity: rubric.external_connectivity.points(connectivity),
            environment: rubric.execution_environment.points(environment),
        };
        let score = factors.data + factors.users + factors.connectivity + factors.environment;
        Risk { score, tier: self.tier_of(score), factors }
    }

    /// The risk of a manifest under this policy.
    pub fn risk_of(&self, manifest: &Manifest) -> Risk {
        self.assess(
            manifest.data_classification,
            manifest.expected_users,
            manifest.external_connectivity,
            manifest.execution_environment,
        )
    }

    pub fn tier_of(&self, score: u32) -> Tier {
        if score >= self.rules.tiers.high_from {
            Tier::High
        } else if score >= self.rules.tiers.medium_from {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    // ---- review ------------------------------------------------------------

    /// What intake decides for an app of this risk and these controls:
    /// approved by policy, or reviewed under the rules of a review tier.
    pub fn intake_review(&self, risk: &Risk, controls: &Controls, environment: ExecEnv) -> IntakeReview {
        let auto = &self.rules.auto_approve;
        let desktop_floor =
            (environment == ExecEnv::DesktopAgent).then_some(self.rules.desktop_agent.review_at_least).flatten();
        if auto.tiers.contains(&risk.tier)
            && auto.controls.iter().all(|control| control.present(controls))
            && desktop_floor.is_none()
        {
            return IntakeReview::AutoApproved;
        }
        let tier = self.review_tier_for(risk.tier);
        IntakeReview::Review(desktop_floor.map_or(tier, |floor| tier.max(floor)))
    }

    /// Which apps intake approves by policy, in words: "low risk with the
    /// controls secrets_in_vault and otel".
    pub fn auto_approval_text(&self) -> String {
        let auto = &self.rules.auto_approve;
        let tiers = or_list(auto.tiers.iter().map(|tier| tier.as_str()));
        if auto.controls.is_empty() {
            format!("{tiers} risk")
        } else {
            format!("{tiers} risk with {}", and_list(auto.controls.iter().map(|control| control.as_str())))
        }
    }

    /// The review tier whose rules a request of risk tier `tier` is decided
    /// under: low risk is reviewed as the policy says (medium by default).
    pub fn review_tier_for(&self, tier: Tier) -> Tier {
        match tier {
            Tier::Low => self.rules.review.low_risk_reviewed_as,
            other => other,
        }
    }

    /// The rules of a review tier.
    pub fn review(&self, review_tier: Tier) -> &TierReview {
        match self.review_tier_for(review_tier) {
            Tier::High => &self.rules.review.high,
            _ => &self.rules.review.medium,
        }
    }

    /// When a request of this review tier filed at `filed_at` must be decided by.
    pub fn due_at(&self, review_tier: Tier, filed_at: DateTime<Utc>) -> DateTime<Utc> {
        filed_at + Duration::hours(self.review(review_tier).sla_hours)
    }

    // ---- time to live ------------------------------------------------------

    /// Days one approval or renewal keeps an app of this TTL class alive.
    pub fn ttl_days(&self, class: TtlClass) -> i64 {
        match class {
            TtlClass::Prototype => self.rules.ttl.prototype,
            TtlClass::Supported => self.rules.ttl.supported,
        }
    }

    pub fn expiring_within(&self) -> Duration {
        Duration::days(self.rules.ttl.expiring_within_days)
    }

    pub fn read_only_after(&self) -> Duration {
        Duration::days(self.rules.ladder.read_only_after_days)
    }

    pub fn decommissioned_after(&self) -> Duration {
        Duration::days(self.rules.ladder.decommissioned_after_days)
    }

    // ---- manifest rules ----------------------------------------------------

    /// Every manifest rule of the policy on `manifest` of `risk`: what
    /// refuses it (`deny`) and what reviewers are told (`warn`).
    pub fn evaluate(&self, manifest: &Manifest, _risk: &Risk) -> Evaluation {
        Evaluation { deny: self.manifest_findings(manifest), warn: Vec::new() }
    }

    /// The rules of `policy.toml` a manifest breaks (lifecycle tier rules);
    /// the Rego rules are evaluated beside them by the caller.
    pub fn manifest_findings(&self, manifest: &Manifest) -> Vec<PolicyFinding> {
        let mut findings = Vec::new();
        let tier = manifest.lifecycle_tier;
        let Some(rule) = self.rules.lifecycle_tier.get(tier) else {
            return findings;
        };
        let rule_name = format!("lifecycle_tier.{}", tier.as_str());
        if let Some(classes) = &rule.ttl_classes
            && !classes.contains(&manifest.ttl_class)
        {
            findings.push(PolicyFinding {
                rule: rule_name.clone(),
                message: format!(
                    "a {} app may only have the TTL class {} (this one is {})",
                    tier.as_str(),
                    or_list(classes.iter().map(|c| c.as_str())),
                    manifest.ttl_class.as_str()
                ),
            });
        }
        let missing: Vec<&str> = rule
            .controls
            .iter()
            .filter(|control| !control.present(&manifest.controls))
            .map(|control| control.as_str())
            .collect();
        if !missing.is_empty() {
            findings.push(PolicyFinding {
                rule: rule_name,
                message: format!("a {} app needs the controls: {}", tier.as_str(), missing.join(", ")),
            });
        }
        findings
    }

    /// The lifecycle tiers with a rule, for the policy view.
    pub fn lifecycle_tier_rules(&self) -> impl Iterator<Item = (LifecycleTier, &LifecycleTierRule)> {
        LifecycleTier::ALL.iter().filter_map(|tier| self.rules.lifecycle_tier.get(*tier).map(|rule| (*tier, rule)))
    }
}

/// Roles as a sentence: `reviewer`, `reviewer or lead`.
pub fn role_list(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "no role".into();
    }
    or_list(roles.iter().map(|role| role.as_str()))
}

/// Roles as a plural sentence: `reviewers`, `reviewers or leads`.
pub fn roles_plural(roles: &[Role]) -> String {
    let plural: Vec<String> = roles.iter().map(|role| format!("{role}s")).collect();
    or_list(plural.iter().map(String::as_str))
}

/// Who must approve under these rules, in words: "two different
/// reviewers", "one reviewer or lead".
pub fn approvers_text(rules: &TierReview) -> String {
    let roles =
        if rules.approvals == 1 { role_list(&rules.approver_roles) } else { roles_plural(&rules.approver_roles) };
    let mut text = match rules.approvals {
        1 => format!("one {roles}"),
        n => format!("{} different {roles}", number_word(n)),
    };
    let required = required_beyond_approvers(rules);
    if !required.is_empty() {
        text.push_str(&format!(", among them a {}", and_list(required.into_iter())));
    }
    text
}

/// The required roles a sentence must name: all of them, unless the only
/// approver role is the one required (then "reviewers" already says it).
fn required_beyond_approvers(rules: &TierReview) -> Vec<&'static str> {
    rules
        .required_roles
        .iter()
        .filter(|role| rules.approver_roles.len() > 1 || rules.approver_roles.first() != Some(role))
        .map(|role| role.as_str())
        .collect()
}

/// What a request of this review tier needs, as the server enforces it, for
/// the console and the CLI: "two approvals from two different reviewers;
/// one rejection rejects it".
pub fn needs_text(rules: &TierReview) -> String {
    let approvals = match rules.approvals {
        1 => "one approval".to_string(),
        n => format!("{} approvals", number_word(n)),
    };
    let who = if rules.approvals == 1 {
        or_list(
            rules.approver_roles.iter().map(|role| format!("a {role}")).collect::<Vec<_>>().iter().map(String::as_str),
        )
    } else {
        format!("{} different {}", number_word(rules.approvals), roles_plural(&rules.approver_roles))
    };
    let required = required_beyond_approvers(rules);
    let among =
        if required.is_empty() { String::new() } else { format!(", among them a {}", and_list(required.into_iter())) };
    format!("{approvals} from {who}{among}; one rejection rejects it")
}

fn number_word(n: usize) -> String {
    match n {
        1 => "one".into(),
        2 => "two".into(),
        3 => "three".into(),
        4 => "four".into(),
        n => n.to_string(),
    }
}

fn and_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => (*one).into(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The expected-users bands in words: "under 10 is 0 risk points, 10 to
/// 100 is 10, from 101 is 20".
pub fn user_bands_text(rubric: &Rubric) -> String {
    let bands = &rubric.expected_users;
    bands
        .iter()
        .enumerate()
        .map(|(index, band)| match (index, bands.get(index + 1)) {
            (0, Some(next)) => format!("under {} is {} risk points", next.from, band.points),
            (_, Some(next)) => format!("{} to {} is {}", band.from, next.from - 1, band.points),
            (0, None) => format!("any number is {} risk points", band.points),
            (_, None) => format!("from {} is {}", band.from, band.points),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first 12 hex digits of a policy version.
pub fn short_version(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

fn or_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.as_slice() {
        [] => "none".into(),
        [one] => (*one).into(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
