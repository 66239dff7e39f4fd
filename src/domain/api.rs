//! Wire types of sync API v1, shared by the server and the sync client so the
//! two cannot drift. Field names and shapes are those of docs/api.md; more
//! fields may be added, none removed.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::manifest_file::Problem;
use super::status::StatusReason;
use super::{App, AppState, Approval, AuditEvent, DecisionKind, NewAuditEvent, Role};

/// Largest page `/v1/changes` and `/v1/audit` serve; larger `limit`s are cut to it.
pub const MAX_PAGE: u32 = 5000;
/// Page size when the caller names none.
pub const DEFAULT_PAGE: u32 = 500;
/// Most events one ingest call may carry.
pub const MAX_INGEST_EVENTS: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub roles: Vec<Role>,
}

/// `GET /v1/apps/{id}/status` and `GET /v1/status?endpoint=`: what an
/// enforcement point needs to let traffic through or not. For an unknown
/// app (a 404) `app_id` is the id asked for (null for an endpoint) and
/// `name`, `state` and `expires_at` are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppStatus {
    pub app_id: Option<String>,
    pub name: Option<String>,
    pub state: Option<AppState>,
    /// Let the request through only when this is true (and the answer a 200).
    pub allowed: bool,
    pub reason: StatusReason,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    App,
    Approval,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::App => "app",
            ChangeKind::Approval => "approval",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Upsert,
    Delete,
}

/// One changed entry. `data` is the app or approval object for an upsert
/// and absent for a delete; it is passed through as raw JSON so neither
/// side pays to rebuild it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeItem {
    pub rev: u64,
    pub kind: ChangeKind,
    pub op: ChangeOp,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<RawValue>>,
}

impl ChangeItem {
    pub fn app(&self) -> Option<serde_json::Result<App>> {
        (self.kind == ChangeKind::App).then(|| self.decode())?
    }

    pub fn approval(&self) -> Option<serde_json::Result<Approval>> {
        (self.kind == ChangeKind::Approval).then(|| self.decode())?
    }

    fn decode<T: serde::de::DeserializeOwned>(&self) -> Option<serde_json::Result<T>> {
        self.data.as_ref().map(|raw| serde_json::from_str(raw.get()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub items: Vec<ChangeItem>,
    /// Pass as `since` on the next call.
    pub next: u64,
    pub more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntakeResponse {
    pub app: App,
    /// `null` when policy approved the app at intake.
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: DecisionKind,
    #[serde(default)]
    pub comment: String,
    /// The approval's `rev` the decision was made on.
    pub rev: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApprovalResponse {
    pub approval: Approval,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequest {
    /// Days from now; the TTL class's length when absent.
    #[serde(default)]
    pub days: Option<i64>,
}

/// `PATCH /v1/apps/{id}`: the changed fields of the manifest, at the app's `rev`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendRequest {
    /// The app's `rev` the amendment was made on; a stale one is a 412.
    pub rev: u64,
    /// Field → new value. Fields are those of the manifest but `owner`;
    /// controls as `controls.NAME` or a nested `controls` object.
    #[schema(value_type = Object)]
    pub set: serde_json::Map<String, serde_json::Value>,
}

/// How an amendment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AmendOutcome {
    /// Applied to the app at once (version + 1, re-scored).
    Applied,
    /// Held as a `change` request; the app runs on its approved manifest.
    Held,
    /// A pending app's manifest changed and its request was re-scored.
    InPlace,
    /// A change request awaiting changes was revised and is back in the queue.
    Revised,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendResponse {
    pub outcome: AmendOutcome,
    /// Each changed field, old → new (against the approved manifest).
    pub changes: Vec<super::amend::FieldChange>,
    /// The app after the amendment (unchanged when held).
    pub app: App,
    /// The request filed, revised or re-scored, if any.
    pub approval: Option<Approval>,
}

impl AmendResponse {
    /// One line for the user: what changed, and whether it applied.
    pub fn summary(&self) -> String {
        let fields = self.changes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let review = |approval: &Approval| {
            format!(
                "request {} at {} review, due {}",
                approval.id,
                approval.review_tier.as_str(),
                approval.due_at.format("%Y-%m-%d %H:%M UTC")
            )
        };
        match (self.outcome, &self.approval) {
            (AmendOutcome::Applied, _) => {
                format!("amended {} (applied at once, version {}): {fields}", self.app.name, self.app.version)
            }
            (AmendOutcome::Held, Some(approval)) => {
                format!(
                    "held for review: {}; the app runs on its approved manifest until then: {fields}",
                    review(approval)
                )
            }
            (AmendOutcome::Revised, Some(approval)) => {
                format!("revised and resubmitted: {}: {fields}", review(approval))
            }
            (AmendOutcome::InPlace, Some(approval)) => {
                format!("amended {} while under review; {}: {fields}", self.app.name, review(approval))
            }
            (_, None) => format!("amended {}: {fields}", self.app.name),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppResponse {
    pub app: App,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    pub events: Vec<NewAuditEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    pub accepted: usize,
    pub head: AuditHead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// Every error answer: `{"error":{"code":"..","message":".."}}`; a manifest
/// refused for its content (`invalid_manifest`) lists every problem beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// Every problem of a refused manifest, each with the field it concerns
    /// (absent for other errors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_has_no_data_on_the_wire() {
        let item = ChangeItem { rev: 3, kind: ChangeKind::App, op: ChangeOp::Delete, id: "a1".into(), data: None };
        assert_eq!(serde_json::to_string(&item).unwrap(), r#"{"rev":3,"kind":"app","op":"delete","id":"a1"}"#);
    }

    #[test]
    fn error_body_shape() {
        let body =
            ErrorBody { error: ErrorDetail { code: "conflict".into(), message: "m".into() }, problems: Vec::new() };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":{"code":"conflict","message":"m"}}"#);
        let body = ErrorBody { problems: vec![Problem::new("name", "must not be empty")], ..body };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"conflict","message":"m"},"problems":[{"field":"name","problem":"must not be empty"}]}"#
        );
    }
}

/// Largest number of proofs one `GET /v1/audit/proof/inclusions` answer holds.
pub const MAX_PROOFS: u32 = 1000;

/// `GET /v1/audit/proof/inclusion`: the audit path (RFC 9162 §2.1.3) of the
/// event at `seq`, leaf `seq - 1`, in the tree of `tree_size` leaves. Every
/// hash is 32 bytes as lower-case hex, like the chain's hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    /// `SHA-256(0x00 ‖ canonical event)`.
    pub leaf_hash: String,
    /// The root of the tree of `tree_size` leaves.
    pub root_hash: String,
    /// Nearest the leaf first.
    pub proof: Vec<String>,
}

/// `GET /v1/audit/proof/inclusions`: the proofs, against one tree size, of
/// every event with `after < seq <= through` the caller may read, oldest
/// first; `more` when the answer stopped at [`MAX_PROOFS`] (ask again after
/// the last seq it holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InclusionProofs {
    pub tree_size: u64,
    pub root_hash: String,
    pub proofs: Vec<InclusionProof>,
    pub more: bool,
}

/// `GET /v1/audit/proof/consistency`: the proof (RFC 9162 §2.1.4) that the
/// tree of `to` leaves extends the tree of `from` leaves; hex hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    pub proof: Vec<String>,
}
