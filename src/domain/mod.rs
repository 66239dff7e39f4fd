//! The governance rules, pure: no IO, no clock reads (every rule takes `now`),
//! no database, no HTTP. The server and the sync client both build on it, and
//! `api` holds the wire types they share so the two cannot drift.

pub mod amend;
pub mod api;
pub mod app;
pub mod approval;
pub mod audit;
pub mod audit_query;
pub mod checkpoint;
pub mod custody;
pub mod evidence;
pub mod hold;
pub mod intake;
pub mod kpi;
pub mod manifest_file;
pub mod merkle;
pub mod naming;
pub mod note;
pub mod policy;
pub mod risk;
pub mod role;
pub mod status;
pub mod token;
pub mod ttl;

pub use app::{
    App, AppState, AppSummary, Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, Manifest, TtlClass,
};
pub use approval::{Approval, ApprovalKind, ApprovalStatus, Decision, DecisionKind};
pub use audit::{AuditEvent, NewAuditEvent, Outcome};
pub use risk::{Risk, RiskFactors, RiskLevel, Tier};
pub use role::{Actor, Role, Visibility};
