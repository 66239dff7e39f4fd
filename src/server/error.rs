//! API errors: each becomes a status and the documented body
//! `{"error":{"code":"..","message":".."}}`. Causes of 500s are logged, not
//! sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::api::{ErrorBody, ErrorDetail};
use crate::domain::approval::DecisionError;
use crate::domain::hold::HoldError;
use crate::domain::intake::AdoptError;
use crate::domain::manifest_file::Problem;
use crate::domain::policy::change::ApplyError;
use crate::domain::policy::{PolicyProblem, PolicyProblems};
use crate::domain::ttl::RenewalError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Every problem of a refused manifest (see [`ErrorBody::problems`]).
    pub problems: Vec<Problem>,
    /// Every problem of a refused policy (see [`PolicyErrorBody`]).
    pub policy_problems: Vec<PolicyProblem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), problems: Vec::new(), policy_problems: Vec::new() }
    }

    /// A 400 `invalid_manifest` listing every problem of the manifest.
    pub fn invalid_manifest(problems: Vec<Problem>) -> ApiError {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let message = match problems.len() {
            1 => format!("the manifest has a problem: {}", listed.join("; ")),
            n => format!("the manifest has {n} problems: {}", listed.join("; ")),
        };
        ApiError { problems, ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_manifest", message) }
    }

    /// A 422 `invalid_policy` listing every problem of the policy.
    pub fn invalid_policy(problems: Vec<PolicyProblem>) -> ApiError {
        let message = PolicyProblems(problems.clone()).to_string();
        ApiError {
            policy_problems: problems,
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy", message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// Logs `cause` and answers a 500 that tells the caller nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause:#}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error; see the server log")
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound { kind, id } => ApiError::not_found(format!("{kind} {id:?} not found")),
            other => {
                let chain = crate::errors::chain(&other);
                ApiError::internal(chain)
            }
        }
    }
}

impl From<DecisionError> for ApiError {
    fn from(err: DecisionError) -> ApiError {
        let message = err.to_string();
        match err {
            DecisionError::OwnRequest => ApiError::new(StatusCode::FORBIDDEN, "own_request", message),
            DecisionError::OwnApp => ApiError::new(StatusCode::FORBIDDEN, "own_app", message),
            DecisionError::WrongRole => ApiError::new(StatusCode::FORBIDDEN, "wrong_role", message),
            DecisionError::NotAnApprover { .. } => ApiError::new(StatusCode::FORBIDDEN, "not_an_approver", message),
            DecisionError::ReasonRequired | DecisionError::ChangesNeedComment => {
                ApiError::new(StatusCode::BAD_REQUEST, "reason_required", message)
            }
            DecisionError::AwaitingChanges => ApiError::new(StatusCode::CONFLICT, "awaiting_changes", message),
            DecisionError::CommentTooLong(_) => ApiError::new(StatusCode::BAD_REQUEST, "comment_too_long", message),
            DecisionError::AlreadyDecided(_) => ApiError::new(StatusCode::CONFLICT, "already_decided", message),
            DecisionError::AlreadyApprovedByYou => ApiError::new(StatusCode::CONFLICT, "already_approved", message),
            DecisionError::StaleRevision { .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "stale_revision", message)
            }
        }
    }
}

impl From<RenewalError> for ApiError {
    fn from(err: RenewalError) -> ApiError {
        let message = err.to_string();
        match err {
            RenewalError::NotAllowed => ApiError::forbidden(message),
            RenewalError::Decommissioned => ApiError::new(StatusCode::CONFLICT, "final_state", message),
            RenewalError::Held { .. } => ApiError::new(StatusCode::CONFLICT, "held", message),
            RenewalError::NotRenewable(_) => ApiError::new(StatusCode::CONFLICT, "not_renewable", message),
            RenewalError::BadDays { .. } => ApiError::bad_request(message),
        }
    }
}

impl From<AdoptError> for ApiError {
    fn from(err: AdoptError) -> ApiError {
        let message = err.to_string();
        match err {
            AdoptError::WrongRole | AdoptError::NotTheOwner { .. } => ApiError::forbidden(message),
            AdoptError::NotDiscovered(_) => ApiError::new(StatusCode::CONFLICT, "not_discovered", message),
        }
    }
}

impl From<HoldError> for ApiError {
    fn from(err: HoldError) -> ApiError {
        let message = err.to_string();
        match err {
            HoldError::QuarantineRole | HoldError::ReleaseRole | HoldError::RetireRole => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            HoldError::ReasonRequired => ApiError::new(StatusCode::BAD_REQUEST, "reason_required", message),
            HoldError::ReasonTooLong(_) => ApiError::new(StatusCode::BAD_REQUEST, "reason_too_long", message),
            HoldError::Checklist(_) => ApiError::new(StatusCode::BAD_REQUEST, "checklist_incomplete", message),
            HoldError::NotLive(_) => ApiError::new(StatusCode::CONFLICT, "not_live", message),
            HoldError::AlreadyHeld { .. } => ApiError::new(StatusCode::CONFLICT, "held", message),
            HoldError::NotHeld => ApiError::new(StatusCode::CONFLICT, "not_held", message),
            HoldError::Decommissioned => ApiError::new(StatusCode::CONFLICT, "final_state", message),
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(err: ApplyError) -> ApiError {
        match err {
            ApplyError::NotAdmin => ApiError::forbidden(err.to_string()),
        }
    }
}

/// The answer to a refused policy (`invalid_policy`): the error and every
/// problem, each with its file and line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PolicyErrorBody {
    pub error: ErrorDetail,
    pub problems: Vec<PolicyProblem>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = ErrorDetail { code: self.code.to_string(), message: self.message };
        let mut response = if self.policy_problems.is_empty() {
            (self.status, Json(ErrorBody { error, problems: self.problems })).into_response()
        } else {
            (self.status, Json(PolicyErrorBody { error, problems: self.policy_problems })).into_response()
        };
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
