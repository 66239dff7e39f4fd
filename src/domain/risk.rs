//! Risk as the rules see it: the tier, the score and its breakdown. The
//! rubric that computes them, and the review a tier needs, are in the
//! policy ([`super::policy::Policy::assess`], [`super::policy::Policy::intake_review`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// What intake decides for a new app of this risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeReview {
    /// Approved by policy (by default: low risk with secrets in a vault and OTel).
    AutoApproved,
    /// A human must approve under the rules of this review tier.
    Review(Tier),
}
