//! The risk rubric: four factors add up to a 0–100 score, the score picks a
//! tier, and the tier picks the review the app needs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::app::{Connectivity, Controls, DataClass, ExecEnv};

/// Scores above this are high risk.
pub const HIGH_ABOVE: u32 = 50;
/// Scores at or above this (and not above [`HIGH_ABOVE`]) are medium risk.
pub const MEDIUM_FROM: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Low,
    Medium,
    High,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
        }
    }

    pub fn from_score(score: u32) -> Tier {
        if score > HIGH_ABOVE {
            Tier::High
        } else if score >= MEDIUM_FROM {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    /// Hours a reviewer has to decide a request of this review tier.
    pub fn review_sla_hours(self) -> Option<i64> {
        match self {
            Tier::High => Some(48),
            Tier::Medium => Some(72),
            Tier::Low => None,
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Tier::Low),
            "medium" => Ok(Tier::Medium),
            "high" => Ok(Tier::High),
            other => Err(format!("unknown risk tier {other:?} (expected low, medium or high)")),
        }
    }
}

/// Points per rubric factor; stored with every request so a later rubric
/// change does not rewrite history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RiskFactors {
    pub data: u32,
    pub users: u32,
    pub connectivity: u32,
    pub environment: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Risk {
    pub score: u32,
    pub tier: Tier,
    pub factors: RiskFactors,
}

/// A risk's score and tier without its breakdown, for lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLevel {
    pub score: u32,
    pub tier: Tier,
}

impl From<Risk> for RiskLevel {
    fn from(risk: Risk) -> RiskLevel {
        RiskLevel { score: risk.score, tier: risk.tier }
    }
}

pub fn data_points(class: DataClass) -> u32 {
    match class {
        DataClass::Public => 0,
        DataClass::Internal => 10,
        DataClass::Sensitive => 30,
        DataClass::Pii => 50,
    }
}

pub fn user_points(expected_users: u32) -> u32 {
    match expected_users {
        0..=9 => 0,
        10..=100 => 10,
        _ => 20,
    }
}

pub fn connectivity_points(connectivity: Connectivity) -> u32 {
    match connectivity {
        Connectivity::None => 0,
        Connectivity::SaasConnector => 10,
        Connectivity::ExternalApi => 20,
    }
}

pub fn environment_points(environment: ExecEnv) -> u32 {
    match environment {
        ExecEnv::Sandboxed => 0,
        ExecEnv::DesktopAgent => 10,
    }
}

pub fn assess(data: DataClass, expected_users: u32, connectivity: Connectivity, environment: ExecEnv) -> Risk {
    let factors = RiskFactors {
        data: data_points(data),
        users: user_points(expected_users),
        connectivity: connectivity_points(connectivity),
        environment: environment_points(environment),
    };
    let score = factors.data + factors.users + factors.connectivity + factors.environment;
    Risk { score, tier: Tier::from_score(score), factors }
}

/// What intake decides for a new app of this risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeReview {
    /// Low risk with secrets in a vault and OTel: approved by policy.
    AutoApproved,
    /// A human must approve under the rules of this review tier.
    Review(Tier),
}

pub fn intake_review(risk: &Risk, controls: &Controls) -> IntakeReview {
    match risk.tier {
        Tier::Low if controls.secrets_in_vault && controls.otel => IntakeReview::AutoApproved,
        Tier::Low | Tier::Medium => IntakeReview::Review(Tier::Medium),
        Tier::High => IntakeReview::Review(Tier::High),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(data: DataClass, users: u32, conn: Connectivity, env: ExecEnv) -> Risk {
        assess(data, users, conn, env)
    }

    #[test]
    fn tier_edges_are_29_30_50_51() {
        assert_eq!(Tier::from_score(0), Tier::Low);
        assert_eq!(Tier::from_score(29), Tier::Low);
        assert_eq!(Tier::from_score(30), Tier::Medium);
        assert_eq!(Tier::from_score(50), Tier::Medium);
        assert_eq!(Tier::from_score(51), Tier::High);
        assert_eq!(Tier::from_score(100), Tier::High);
    }

    #[test]
    fn user_count_edges() {
        assert_eq!(user_points(9), 0);
        assert_eq!(user_points(10), 10);
        assert_eq!(user_points(100), 10);
        assert_eq!(user_points(101), 20);
    }

    #[test]
    fn factors_add_up_to_the_documented_example() {
        let risk = score(DataClass::Pii, 250, Connectivity::ExternalApi, ExecEnv::Sandboxed);
        assert_eq!(risk.factors, RiskFactors { data: 50, users: 20, connectivity: 20, environment: 0 });
        assert_eq!(risk.score, 90);
        assert_eq!(risk.tier, Tier::High);
    }

    #[test]
    fn realistic_scores_land_on_each_edge() {
        // internal 10 + 10 users 10 + saas 10 = 30: the first medium score.
        let risk = score(DataClass::Internal, 10, Connectivity::SaasConnector, ExecEnv::Sandboxed);
        assert_eq!((risk.score, risk.tier), (30, Tier::Medium));
        // sensitive 30 + 10 users 10 + saas 10 = 50: the last medium score.
        let risk = score(DataClass::Sensitive, 10, Connectivity::SaasConnector, ExecEnv::Sandboxed);
        assert_eq!((risk.score, risk.tier), (50, Tier::Medium));
        // pii 50 + desktop agent 10 = 60: high.
        let risk = score(DataClass::Pii, 1, Connectivity::None, ExecEnv::DesktopAgent);
        assert_eq!((risk.score, risk.tier), (60, Tier::High));
        // internal 10 + 9 users 0 + saas 10 = 20: low.
        let risk = score(DataClass::Internal, 9, Connectivity::SaasConnector, ExecEnv::Sandboxed);
        assert_eq!((risk.score, risk.tier), (20, Tier::Low));
    }

    #[test]
    fn low_risk_is_auto_approved_only_with_vault_and_otel() {
        let low = score(DataClass::Public, 5, Connectivity::None, ExecEnv::Sandboxed);
        let mut controls = Controls { otel: true, secrets_in_vault: true, ..Controls::default() };
        assert_eq!(intake_review(&low, &controls), IntakeReview::AutoApproved);
        controls.otel = false;
        assert_eq!(intake_review(&low, &controls), IntakeReview::Review(Tier::Medium));
        controls.otel = true;
        controls.secrets_in_vault = false;
        assert_eq!(intake_review(&low, &controls), IntakeReview::Review(Tier::Medium));
    }

    #[test]
    fn medium_and_high_always_need_review() {
        let all = Controls { otel: true, backups: true, sbom: true, secrets_in_vault: true, dlp: true };
        let medium = score(DataClass::Sensitive, 1, Connectivity::None, ExecEnv::Sandboxed);
        assert_eq!(intake_review(&medium, &all), IntakeReview::Review(Tier::Medium));
        let high = score(DataClass::Pii, 500, Connectivity::None, ExecEnv::Sandboxed);
        assert_eq!(intake_review(&high, &all), IntakeReview::Review(Tier::High));
    }

    #[test]
    fn sla_hours() {
        assert_eq!(Tier::High.review_sla_hours(), Some(48));
        assert_eq!(Tier::Medium.review_sla_hours(), Some(72));
        assert_eq!(Tier::Low.review_sla_hours(), None);
    }
}
