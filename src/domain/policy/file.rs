//! `policy.toml`: its serde model, and the checks serde cannot make (bands in
//! order, thresholds that leave every tier reachable, approver rules that can
//! be met), each reported with the line it is on.

use serde::{Deserialize, Serialize};

use super::PolicyProblem;
use crate::domain::app::{Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, TtlClass};
use crate::domain::risk::Tier;
use crate::domain::role::Role;

pub const POLICY_TOML: &str = "policy.toml";

/// The whole of `policy.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub rubric: Rubric,
    pub tiers: Tiers,
    pub review: Review,
    pub auto_approve: AutoApprove,
    pub ttl: Ttl,
    pub ladder: Ladder,
    pub inactivity: Inactivity,
    #[serde(default)]
    pub recertification: Recertification,
    #[serde(default)]
    pub lifecycle_tier: LifecycleTierRules,
    #[serde(default)]
    pub desktop_agent: DesktopAgentRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub data_classification: DataPoints,
    pub expected_users: Vec<UserBand>,
    pub external_connectivity: ConnectivityPoints,
    pub execution_environment: EnvironmentPoints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPoints {
    pub public: u32,
    pub internal: u32,
    pub sensitive: u32,
    pub pii: u32,
}

impl DataPoints {
    pub fn points(&self, class: DataClass) -> u32 {
        match class {
            DataClass::Public => self.public,
            DataClass::Internal => self.internal,
            DataClass::Sensitive => self.sensitive,
            DataClass::Pii => self.pii,
        }
    }
}

/// Users from `from` up to the next band's `from` score `points`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBand {
    pub from: u32,
    pub points: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectivityPoints {
    pub none: u32,
    pub saas_connector: u32,
    pub external_api: u32,
}

impl ConnectivityPoints {
    pub fn points(&self, connectivity: Connectivity) -> u32 {
        match connectivity {
            Connectivity::None => self.none,
            Connectivity::SaasConnector => self.saas_connector,
            Connectivity::ExternalApi => self.external_api,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPoints {
    pub sandboxed: u32,
    pub desktop_agent: u32,
}

impl EnvironmentPoints {
    pub fn points(&self, environment: ExecEnv) -> u32 {
        match environment {
            ExecEnv::Sandboxed => self.sandboxed,
            ExecEnv::DesktopAgent => self.desktop_agent,
        }
    }
}

impl Rubric {
    /// The points of the last band that starts at or below `users`.
    pub fn user_points(&self, users: u32) -> u32 {
        self.expected_users.iter().take_while(|band| band.from <= users).last().map_or(0, |band| band.points)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    pub medium_from: u32,
    pub high_from: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub low_risk_reviewed_as: Tier,
    pub medium: TierReview,
    pub high: TierReview,
}

/// Who must approve a request of one review tier, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierReview {
    /// Approvals needed, each from a different person.
    pub approvals: usize,
    /// Roles that may approve.
    pub approver_roles: Vec<Role>,
    /// Roles that must be among the approvers.
    #[serde(default)]
    pub required_roles: Vec<Role>,
    /// Hours before the request is overdue.
    pub sla_hours: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoApprove {
    pub tiers: Vec<Tier>,
    pub controls: Vec<ControlName>,
}

/// One of the manifest's controls, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlName {
    Otel,
    Backups,
    Sbom,
    SecretsInVault,
    Dlp,
}

impl ControlName {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlName::Otel => "otel",
            ControlName::Backups => "backups",
            ControlName::Sbom => "sbom",
            ControlName::SecretsInVault => "secrets_in_vault",
            ControlName::Dlp => "dlp",
        }
    }

    pub fn present(self, controls: &Controls) -> bool {
        match self {
            ControlName::Otel => controls.otel,
            ControlName::Backups => controls.backups,
            ControlName::Sbom => controls.sbom,
            ControlName::SecretsInVault => controls.secrets_in_vault,
            ControlName::Dlp => controls.dlp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ttl {
    pub prototype: i64,
    pub supported: i64,
    pub expiring_within_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    pub read_only_after_days: i64,
    pub decommissioned_after_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inactivity {
    pub flag_after_days: i64,
    pub retire_after_days: i64,
    pub retirement_notice_days: i64,
}

/// Days between re-certifications by risk tier; a tier left out has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recertification {
    pub low: Option<i64>,
    pub medium: Option<i64>,
    pub high: Option<i64>,
    /// Days past due after which an app not re-certified is quarantined.
    #[serde(default)]
    pub quarantine_after_overdue_days: Option<i64>,
}

impl Recertification {
    pub fn period_days(&self, tier: Tier) -> Option<i64> {
        match tier {
            Tier::Low => self.low,
            Tier::Medium => self.medium,
            Tier::High => self.high,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleTierRule {
    /// The TTL classes allowed; any when absent.
    #[serde(default)]
    pub ttl_classes: Option<Vec<TtlClass>>,
    /// Controls the manifest must have.
    #[serde(default)]
    pub controls: Vec<ControlName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleTierRules {
    #[serde(default)]
    pub ephemeral: Option<LifecycleTierRule>,
    #[serde(default)]
    pub tactical: Option<LifecycleTierRule>,
    #[serde(default)]
    pub standard: Option<LifecycleTierRule>,
    #[serde(default)]
    pub business_critical: Option<LifecycleTierRule>,
}

impl LifecycleTierRules {
    pub fn get(&self, tier: LifecycleTier) -> Option<&LifecycleTierRule> {
        match tier {
            LifecycleTier::Ephemeral => self.ephemeral.as_ref(),
            LifecycleTier::Tactical => self.tactical.as_ref(),
            LifecycleTier::Standard => self.standard.as_ref(),
            LifecycleTier::BusinessCritical => self.business_critical.as_ref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopAgentRule {
    /// The least review tier of a desktop agent; it is never approved by policy alone.
    #[serde(default)]
    pub review_at_least: Option<Tier>,
}

/// Roles that may approve a request at all.
const APPROVER_ROLES: [Role; 2] = [Role::Reviewer, Role::Lead];

impl PolicyFile {
    /// Parses `policy.toml` and checks it; every problem, with its line.
    pub fn parse(text: &str) -> Result<PolicyFile, Vec<PolicyProblem>> {
        let file: PolicyFile = toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| line_at(text, span.start));
            vec![PolicyProblem::new(POLICY_TOML, line, err.message().trim().to_string())]
        })?;
        let problems = file.problems(text);
        if problems.is_empty() { Ok(file) } else { Err(problems) }
    }

    fn problems(&self, text: &str) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        let mut problem = |section: &str, key: &str, message: String| {
            problems.push(PolicyProblem::new(POLICY_TOML, line_of(text, section, key), message));
        };

        let bands = &self.rubric.expected_users;
        if bands.first().map(|band| band.from) != Some(0) {
            problem("rubric.expected_users", "from", "the first expected_users band must start at 0 users".into());
        }
        if bands.windows(2).any(|pair| pair[0].from >= pair[1].from) {
            problem("rubric.expected_users", "from", "expected_users bands must start at growing user counts".into());
        }

        let tiers = self.tiers;
        if tiers.medium_from == 0 || tiers.medium_from >= tiers.high_from {
            problem(
                "tiers",
                "medium_from",
                format!(
                    "tiers: medium_from ({}) must be above 0 and below high_from ({}), so every tier has scores",
                    tiers.medium_from, tiers.high_from
                ),
            );
        }

        if self.review.low_risk_reviewed_as == Tier::Low {
            problem(
                "review",
                "low_risk_reviewed_as",
                "review.low_risk_reviewed_as must be medium or high (low has no review rules of its own)".into(),
            );
        }
        for (name, rules) in [("medium", &self.review.medium), ("high", &self.review.high)] {
            let section = format!("review.{name}");
            if rules.approvals == 0 {
                problem(&section, "approvals", format!("{section}.approvals must be at least 1"));
            }
            if rules.approver_roles.is_empty() {
                problem(&section, "approver_roles", format!("{section}.approver_roles must name a role"));
            }
            for role in &rules.approver_roles {
                if !APPROVER_ROLES.contains(role) {
                    problem(
                        &section,
                        "approver_roles",
                        format!("{section}.approver_roles: {role} may not approve (reviewer or lead)"),
                    );
                }
            }
            for role in &rules.required_roles {
                if !rules.approver_roles.contains(role) {
                    problem(
                        &section,
                        "required_roles",
                        format!("{section}.required_roles: {role} is required but not among the approver_roles"),
                    );
                }
            }
            let mut required = rules.required_roles.clone();
            required.sort_unstable();
            required.dedup();
            if required.len() > rules.approvals {
                problem(
                    &section,
                    "required_roles",
                    format!(
                        "{section}: {} required roles cannot be met by {} approval{}",
                        required.len(),
                        rules.approvals,
                        if rules.approvals == 1 { "" } else { "s" }
                    ),
                );
            }
            if rules.sla_hours <= 0 {
                problem(&section, "sla_hours", format!("{section}.sla_hours must be at least 1"));
            }
        }

        let positive = [
            ("ttl", "prototype", self.ttl.prototype),
            ("ttl", "supported", self.ttl.supported),
            ("ttl", "expiring_within_days", self.ttl.expiring_within_days),
            ("ladder", "read_only_after_days", self.ladder.read_only_after_days),
            ("ladder", "decommissioned_after_days", self.ladder.decommissioned_after_days),
            ("inactivity", "flag_after_days", self.inactivity.flag_after_days),
            ("inactivity", "retire_after_days", self.inactivity.retire_after_days),
            ("inactivity", "retirement_notice_days", self.inactivity.retirement_notice_days),
        ];
        for (section, key, days) in positive {
            if days <= 0 {
                problem(section, key, format!("{section}.{key} must be at least 1 day"));
            }
        }
        let recert = self.recertification;
        for (key, days) in [
            ("low", recert.low),
            ("medium", recert.medium),
            ("high", recert.high),
            ("quarantine_after_overdue_days", recert.quarantine_after_overdue_days),
        ] {
            if days.is_some_and(|days| days <= 0) {
                problem("recertification", key, format!("recertification.{key} must be at least 1 day"));
            }
        }
        if self.desktop_agent.review_at_least == Some(Tier::Low) {
            problem(
                "desktop_agent",
                "review_at_least",
                "desktop_agent.review_at_least must be medium or high (leave it out for no floor)".into(),
            );
        }
        problems
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The line of `key = …` inside the table `[section]` (or `[[section]]`), or
/// of the table header when the key is not written; `None` when neither is.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut header = None;
    let mut inside = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            let name = trimmed.trim_matches(|c| c == '[' || c == ']').trim();
            inside = name == section;
            if inside && header.is_none() {
                header = Some(index + 1);
            }
            continue;
        }
        if inside
            && let Some((name, _)) = trimmed.split_once('=')
            && name.trim() == key
        {
            return Some(index + 1);
        }
    }
    header
}
