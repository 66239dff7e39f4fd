//! The OpenAPI document of sync API v1, generated from the handlers'
//! annotations and the shared wire types so it cannot drift from them.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{amend, custody, evidence, hold, intake, policy, routes};
use crate::domain::amend::FieldChange;
use crate::domain::api::{AmendOutcome, AmendRequest, AmendResponse};
use crate::domain::api::{
    AppResponse, AppStatus, ApprovalResponse, AuditHead, AuditPage, ChangeItem, ChangeKind, ChangeOp, ChangesPage,
    ConsistencyProof, DecisionRequest, ErrorBody, ErrorDetail, Health, InclusionProof, InclusionProofs, IngestRequest,
    IngestResponse, IntakeResponse, Me, RenewalRequest,
};
use crate::domain::checkpoint::{Checkpoint, CheckpointPage, ServerKey};
use crate::domain::custody::{AccessRequest, TransferRequest, WithdrawalRequest, WithdrawalResponse};
use crate::domain::evidence::{Bundle, EventProof, SignedBundle};
use crate::domain::hold::{Closure, DataDisposition, ExitChecklist, Hold, ReasonRequest, RetireRequest};
use crate::domain::status::{Access, StatusReason};
use crate::domain::{
    App, AppState, Approval, ApprovalKind, ApprovalStatus, AuditEvent, Connectivity, Controls, DataClass, Decision,
    DecisionKind, ExecEnv, LifecycleTier, Manifest, NewAuditEvent, Outcome, Risk, RiskFactors, Role, Tier, TtlClass,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "govdeck sync API", version = "1", description = "The catalog server of govdeck: apps, approval requests, the hash-chained audit log and incremental sync."),
    paths(
        routes::health, routes::me, routes::changes, routes::audit_page, routes::audit_head,
        intake::intake, intake::adopt, routes::decide, routes::renew, routes::ingest, routes::audit_key, routes::audit_checkpoints,
        evidence::evidence, amend::amend,
        custody::access_requests, custody::withdrawal, custody::owner,
        hold::quarantine_route, hold::release_route, hold::retire_route,
        routes::app_status, routes::endpoint_status,
        routes::audit_inclusion, routes::audit_inclusions, routes::audit_consistency,
        policy::get_policy, policy::put_policy,
    ),
    components(schemas(
        App, AppState, Approval, ApprovalKind, ApprovalStatus, AuditEvent, Connectivity, Controls, DataClass, Decision,
        DecisionKind, ExecEnv, LifecycleTier, Manifest, NewAuditEvent, Outcome, Risk, RiskFactors, Role, Tier, TtlClass,
        AppResponse, AppStatus, ApprovalResponse, AuditHead, AuditPage, ChangeItem, ChangeKind, ChangeOp, ChangesPage,
        ConsistencyProof, DecisionRequest, ErrorBody, ErrorDetail, Health, InclusionProof, InclusionProofs, IngestRequest,
        IngestResponse, IntakeResponse, Me, RenewalRequest,
        crate::domain::intake::IntakePreview, crate::domain::intake::ReviewPlan, crate::domain::manifest_file::Problem,
        AmendRequest, AmendResponse, AmendOutcome, FieldChange,
        AccessRequest, TransferRequest, WithdrawalRequest, WithdrawalResponse,
        Hold, Closure, ReasonRequest, RetireRequest, ExitChecklist, DataDisposition,
        Checkpoint, CheckpointPage, ServerKey, Bundle, EventProof, SignedBundle, AppStatus, Access, StatusReason,
        crate::domain::policy::Bundle, crate::domain::policy::BundleFile, crate::domain::policy::PolicyProblem,
        crate::domain::policy::change::PolicyResponse, crate::domain::policy::change::PolicyApplied,
        super::error::PolicyErrorBody,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "sync", description = "Reading the catalog"),
        (name = "actions", description = "Changing it"),
        (name = "audit", description = "Evidence for auditors"),
        (name = "status", description = "Whether an enforcement point lets traffic reach an app"),
    ),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_call_is_in_the_document() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for expected in [
            "/v1/health",
            "/v1/me",
            "/v1/changes",
            "/v1/audit",
            "/v1/audit/head",
            "/v1/intake",
            "/v1/apps/{id}/adoption",
            "/v1/approvals/{id}/decisions",
            "/v1/apps/{id}/renewals",
            "/v1/apps/{id}",
            "/v1/apps/{id}/quarantine",
            "/v1/apps/{id}/release",
            "/v1/apps/{id}/retirement",
            "/v1/audit/events",
            "/v1/audit/key",
            "/v1/audit/checkpoints",
            "/v1/apps/{id}/evidence",
            "/v1/apps/{id}/status",
            "/v1/status",
            "/v1/audit/proof/inclusion",
            "/v1/audit/proof/inclusions",
            "/v1/audit/proof/consistency",
            "/v1/policy",
        ] {
            assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
        }
    }

    #[test]
    fn the_event_schema_has_its_provenance_and_ingest_its_refusal() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let event = &doc["components"]["schemas"]["AuditEvent"];
        for field in ["reported_by", "recorded_at"] {
            assert!(event["properties"][field].is_object(), "{field} in {event}");
            let required = event["required"].as_array().unwrap();
            assert!(!required.iter().any(|name| name == field), "{field} may be absent (older servers)");
        }
        let ingest = &doc["paths"]["/v1/audit/events"]["post"]["responses"]["422"]["description"];
        assert!(ingest.as_str().unwrap().contains("governance_event"), "{ingest}");
        let new_event = &doc["components"]["schemas"]["NewAuditEvent"]["properties"];
        assert!(new_event["reported_by"].is_null(), "a caller cannot set who reported it: {new_event}");
    }
}
