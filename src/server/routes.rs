//! The HTTP handlers of sync API v1. Each is annotated for the OpenAPI
//! document, which is generated from these annotations.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::ServerState;
use super::error::ApiError;
use super::ops::{self, Ctx};
use super::request::{BearerToken, Caller, Origin, body_bytes, idempotent_write, parse_json, token_check};
use crate::domain::api::{
    AppResponse, AppStatus, ApprovalResponse, AuditHead, AuditPage, ChangesPage, ConsistencyProof, DEFAULT_PAGE,
    DecisionRequest, ErrorBody, Health, InclusionProof, InclusionProofs, IngestRequest, IngestResponse, MAX_PAGE, Me,
    RenewalRequest,
};
use crate::domain::audit_query::TimeRange;
use crate::domain::checkpoint::{CheckpointPage, ServerKey};
use crate::domain::status::{self, Access, StatusEntry};
use crate::domain::{Actor, Visibility};
use crate::store::merkle::{self, ProofRefusal};
use crate::store::users::{self, TokenCheck};
use crate::store::{apps, audit, changes, checkpoints};

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(value)| value).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

fn path(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
        Some(limit) => Ok(limit.min(MAX_PAGE)),
    }
}

fn visibility(caller: &Caller) -> Result<Visibility, ApiError> {
    caller.0.visibility().ok_or_else(|| ApiError::forbidden("this token may not read the catalog"))
}

#[utoipa::path(get, path = "/v1/health", tag = "sync",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

#[utoipa::path(get, path = "/v1/me", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No or bad token", body = ErrorBody),
    ))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me { user: caller.0.user, roles: caller.0.roles })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
// Reliability suite fix: without this the document listed these as required *path* parameters.
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next` of the previous page; 0 (the default) for everything.
    #[serde(default)]
    pub since: u64,
    /// Page size, 1 to 5000 (larger values are cut to 5000); 500 when absent.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/changes", tag = "sync", security(("bearer" = [])), params(ChangesQuery),
    responses(
        (status = 200, description = "Apps and approval requests changed after `since` that the caller may read", body = ChangesPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
    ))]
pub async fn changes(
    State(state): State<ServerState>,
    caller: Caller,
    params: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<ChangesPage>, ApiError> {
    let params = query(params)?;
    let limit = page_limit(params.limit)?;
    let visibility = visibility(&caller)?;
    let page = state.db.read("changes", move |conn| Ok(changes::page(conn, params.since, limit, &visibility)?)).await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
// Reliability suite fix: without this the document listed these as required *path* parameters.
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The last `seq` already read; 0 (the default) for everything.
    #[serde(default)]
    pub after: u64,
    /// Page size, 1 to 5000 (larger values are cut to 5000); 500 when absent.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// Only events at or after this time (RFC 3339, e.g. `2026-11-01T00:00:00Z`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time (exclusive); after `since` when both are given.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "sync", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "Audit events after `after` (and in the time range, if given) that the caller may read", body = AuditPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
    ))]
pub async fn audit_page(
    State(state): State<ServerState>,
    caller: Caller,
    params: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let limit = page_limit(params.limit)?;
    let visibility = visibility(&caller)?;
    let range = TimeRange::new(params.since, params.until).map_err(|err| ApiError::bad_request(err.to_string()))?;
    // An `AuditPage`, written straight from the rows (the largest answer the
    // server gives: a full sync reads a million events through it).
    let json = state
        .db
        .read("audit", move |conn| Ok(audit::page_json(conn, params.after, limit, &visibility, &range)?))
        .await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response())
}

#[utoipa::path(get, path = "/v1/audit/head", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "The newest event's seq and hash", body = AuditHead),
        (status = 401, description = "No or bad token", body = ErrorBody),
    ))]
pub async fn audit_head(State(state): State<ServerState>, _caller: Caller) -> Result<Json<AuditHead>, ApiError> {
    Ok(Json(state.db.lookup("audit_head", |conn| Ok(audit::head(conn)?)).await?))
}

#[utoipa::path(post, path = "/v1/approvals/{id}/decisions", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Approval request id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The request after the decision", body = ApprovalResponse),
        (status = 400, description = "Bad body, or a rejection without a reason", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Role or separation of duties forbids it", body = ErrorBody),
        (status = 404, description = "No such request the caller may read", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 412, description = "`rev` is stale", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn decide(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let request: DecisionRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/approvals/{id}/decisions");
    idempotent_write(&state, &actor, &headers, "decide", route, body_bytes(&body), move |conn, policy, now| {
        let ctx = Ctx { actor: &op_actor, origin: &origin, policy, now };
        ops::decide(conn, &ctx, &id, request.decision, &request.comment, request.rev)
    })
    .await
}

#[utoipa::path(post, path = "/v1/apps/{id}/renewals", tag = "actions", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request"),
    ),
    request_body(content = Option<RenewalRequest>, description = "`{\"days\":N}`, optional"),
    responses(
        (status = 200, description = "Renewed at once", body = AppResponse),
        (status = 202, description = "Read-only app: a re-approval request was filed", body = ApprovalResponse),
        (status = 400, description = "Bad body or days", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Only the owner or a lead may renew", body = ErrorBody),
        (status = 404, description = "No such app the caller may read", body = ErrorBody),
        (status = 409, description = "Decommissioned, not renewable, or a request is already pending", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn renew(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let request: RenewalRequest = match body_bytes(&body) {
        [] if body.is_ok() => RenewalRequest::default(),
        // Reliability suite fix: the document allows a `null` body (`Option<RenewalRequest>`); it means `{}`.
        _ => parse_json::<Option<RenewalRequest>>(&body)?.unwrap_or_default(),
    };
    let actor = caller.0;
    let op_actor = actor.clone();
    let route = format!("POST /v1/apps/{id}/renewals");
    idempotent_write(&state, &actor, &headers, "renew", route, body_bytes(&body), move |conn, policy, now| {
        ops::renew(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, &id, request.days)
    })
    .await
}

#[utoipa::path(post, path = "/v1/audit/events", tag = "actions", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to a retried request")),
    request_body = IngestRequest,
    responses(
        (status = 201, description = "Events appended to the log", body = IngestResponse),
        (status = 400, description = "Bad events", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Needs the ingest role", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A governance action or one of the server's own actors in the batch \
            (`governance_event`; nothing of it is written), or an Idempotency-Key reused for a different request", body = ErrorBody),
    ))]
pub async fn ingest(
    State(state): State<ServerState>,
    caller: Caller,
    origin: Origin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: IngestRequest = parse_json(&body)?;
    let actor = caller.0;
    let op_actor = actor.clone();
    idempotent_write(
        &state,
        &actor,
        &headers,
        "ingest",
        "POST /v1/audit/events".into(),
        body_bytes(&body),
        move |conn, policy, now| ops::ingest(conn, &Ctx { actor: &op_actor, origin: &origin, policy, now }, request),
    )
    .await
}

#[utoipa::path(get, path = "/v1/audit/key", tag = "sync",
    responses((status = 200, description = "The Ed25519 public key the server signs audit checkpoints with; \
        clients pin it on first use", body = ServerKey)))]
pub async fn audit_key(State(state): State<ServerState>) -> Json<ServerKey> {
    Json(state.signer.public().to_wire_for(state.signer.origin()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
// Reliability suite fix: without this the document listed these as required *path* parameters.
#[into_params(parameter_in = Query)]
pub struct CheckpointsQuery {
    /// The last checkpoint `seq` already read; 0 (the default) for all.
    #[serde(default)]
    pub after: u64,
    /// Page size, 1 to 5000 (larger values are cut to 5000); 500 when absent.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "sync", security(("bearer" = [])), params(CheckpointsQuery),
    responses(
        (status = 200, description = "Checkpoints after `after` signed by the key of `GET /v1/audit/key`, oldest \
            first. Each signs the bytes `govdeck-checkpoint-v1\\n{seq}\\n{hash}\\n{signed_at}` (signed_at as RFC 3339 \
            UTC with microseconds and `Z`)", body = CheckpointPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
    ))]
pub async fn audit_checkpoints(
    State(state): State<ServerState>,
    _caller: Caller,
    params: Result<Query<CheckpointsQuery>, QueryRejection>,
) -> Result<Json<CheckpointPage>, ApiError> {
    let params = query(params)?;
    let limit = page_limit(params.limit)?;
    let key_id = state.signer.public().id().to_string();
    let (checkpoints, more) =
        state.db.read("checkpoints", move |conn| Ok(checkpoints::page(conn, params.after, limit, &key_id)?)).await?;
    Ok(Json(CheckpointPage { checkpoints, more }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppStatusQuery {
    /// What the caller is about to let through: `read` (the default) or
    /// `write` (refused for read-only apps).
    #[serde(default)]
    pub access: Access,
}

fn refused(refusal: ProofRefusal) -> ApiError {
    match refusal {
        ProofRefusal::BadRange(message) => ApiError::bad_request(message),
        refusal @ ProofRefusal::NotReadable(_) => ApiError::not_found(refusal.to_string()),
        ProofRefusal::Store(err) => ApiError::from(err),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EndpointStatusQuery {
    /// An endpoint URL as a manifest declares it; matched after lower-casing
    /// the scheme and host and dropping one trailing `/`, otherwise exactly.
    pub endpoint: String,
    /// `read` (the default) or `write` (refused for read-only apps).
    #[serde(default)]
    pub access: Access,
}

#[utoipa::path(get, path = "/v1/apps/{id}/status", tag = "status", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "App id"),
        AppStatusQuery,
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer: 304 while it still holds"),
    ),
    responses(
        (status = 200, description = "The app's status: let traffic through only when `allowed` is true", body = AppStatus,
            headers(("ETag" = String, description = "Changes whenever the answer does"))),
        (status = 304, description = "The answer is still the one of `If-None-Match`"),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No, bad or expired token", body = ErrorBody),
        (status = 403, description = "The token may not ask the status API", body = ErrorBody),
        (status = 404, description = "No such app the caller may ask about; the body still says `allowed: false`", body = AppStatus),
    ))]
pub async fn app_status(
    State(state): State<ServerState>,
    token: BearerToken,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<AppStatusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = path(id);
    let params = query(params);
    let lookup_id = id.as_ref().ok().cloned();
    let (caller, app) = ask_status(&state, token, move |conn| match lookup_id {
        Some(id) => Ok(apps::status_entry(conn, &id)?),
        None => Ok(None),
    })
    .await?;
    let (id, params) = (id?, params?);
    may_ask_status(&caller)?;
    let app = app.filter(|app| caller.may_ask_status_of(&app.owner));
    Ok(status_response(&headers, app.as_ref(), Some(id), params.access, state.clock.now()))
}

#[utoipa::path(get, path = "/v1/status", tag = "status", security(("bearer" = [])),
    params(
        EndpointStatusQuery,
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer: 304 while it still holds"),
    ),
    responses(
        (status = 200, description = "The status of the app declaring `endpoint`: let traffic through only when `allowed` is true", body = AppStatus,
            headers(("ETag" = String, description = "Changes whenever the answer does"))),
        (status = 304, description = "The answer is still the one of `If-None-Match`"),
        (status = 400, description = "Bad query, or an endpoint that is not an absolute URL", body = ErrorBody),
        (status = 401, description = "No, bad or expired token", body = ErrorBody),
        (status = 403, description = "The token may not ask the status API", body = ErrorBody),
        (status = 404, description = "No app the caller may ask about declares this endpoint; the body still says `allowed: false`", body = AppStatus),
    ))]
pub async fn endpoint_status(
    State(state): State<ServerState>,
    token: BearerToken,
    headers: HeaderMap,
    params: Result<Query<EndpointStatusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params);
    let asked = params.as_ref().map_err(Clone::clone).and_then(|params| {
        status::normalise_endpoint(&params.endpoint).map_err(|bad| ApiError::bad_request(bad.to_string()))
    });
    let lookup = asked.as_ref().ok().cloned();
    let (caller, declaring) = ask_status(&state, token, move |conn| match lookup {
        Some(asked) => Ok(apps::declaring_endpoint(conn, &asked)?),
        None => Ok(Vec::new()),
    })
    .await?;
    let (params, _) = (params?, asked?);
    may_ask_status(&caller)?;
    let askable: Vec<_> = declaring.into_iter().filter(|app| caller.may_ask_status_of(&app.owner)).collect();
    Ok(status_response(&headers, status::pick_for_endpoint(&askable), None, params.access, state.clock.now()))
}

/// Checks the bearer token and, for a caller who may ask the status API,
/// runs `lookup`, in one read transaction on the lookup connection: one
/// trip to the blocking pool per ask. Answers from the database as it is
/// at the moment of asking, so a committed change shows in the next answer
/// and a revoked or expired token is refused at once. The errors come in
/// the order of any other route: the token's 401 first, then the handler's
/// own 400s and the 403.
async fn ask_status<T, F>(state: &ServerState, token: BearerToken, lookup: F) -> Result<(Actor, T), ApiError>
where
    T: Default + Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, ApiError> + Send + 'static,
{
    let now = state.clock.now();
    let (check, found) = state
        .db
        .lookup("status", move |conn| {
            let check = users::authenticate(conn, &token.0, now)?;
            let found = match &check {
                TokenCheck::Valid(actor) if may_ask_status(actor).is_ok() => lookup(conn)?,
                _ => T::default(),
            };
            Ok((check, found))
        })
        .await?;
    Ok((token_check(check)?, found))
}

fn may_ask_status(caller: &Actor) -> Result<(), ApiError> {
    if caller.status_only() || caller.visibility().is_some() {
        Ok(())
    } else {
        Err(ApiError::forbidden("this token may not ask the status API"))
    }
}

/// The status answer: 200 with an ETag (or 304 when `If-None-Match` holds
/// it) for a known app, 404 with `allowed: false` for none. The verdict is
/// worked out at `now`, the moment of answering.
fn status_response(
    headers: &HeaderMap,
    app: Option<&StatusEntry>,
    asked_id: Option<String>,
    access: Access,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let verdict = status::verdict(app.map(|app| (app.state, app.expires_at)), access, now);
    let body = AppStatus {
        app_id: app.map(|app| app.id.clone()).or(asked_id),
        name: app.map(|app| app.name.clone()),
        state: app.map(|app| app.state),
        allowed: verdict.allowed,
        reason: verdict.reason,
        expires_at: app.and_then(|app| app.expires_at),
    };
    let json = match serde_json::to_vec(&body) {
        Ok(json) => json,
        Err(err) => return ApiError::internal(err).into_response(),
    };
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if app.is_none() {
        return (StatusCode::NOT_FOUND, [content_type], json).into_response();
    }
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&json))[..32]);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return ApiError::internal("an ETag that is not a header value").into_response();
    };
    if if_none_match_holds(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), cache]).into_response();
    }
    (StatusCode::OK, [content_type, (header::ETAG, etag_value), cache], json).into_response()
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak forms compare too.
fn if_none_match_holds(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The event's seq (leaf `seq - 1`).
    #[param(minimum = 1)]
    pub seq: u64,
    /// The tree size to prove against, e.g. a signed checkpoint's; the whole tree when absent.
    pub size: Option<u64>,
}

#[utoipa::path(get, path = "/v1/audit/proof/inclusion", tag = "sync", security(("bearer" = [])), params(InclusionQuery),
    responses(
        (status = 200, description = "The audit path of the event at `seq` in the Merkle tree of `size` leaves \
            (RFC 9162 §2.1.3); hashes as lower-case hex", body = InclusionProof),
        (status = 400, description = "`seq` is 0 or past `size`, or `size` is past the tree", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
        (status = 404, description = "No event the caller may read at `seq` (an owner asked for another's event)", body = ErrorBody),
    ))]
pub async fn audit_inclusion(
    State(state): State<ServerState>,
    caller: Caller,
    params: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<InclusionProof>, ApiError> {
    let params = query(params)?;
    let visibility = visibility(&caller)?;
    let proof = state
        .db
        .read("proof_inclusion", move |conn| {
            merkle::inclusion_for(conn, params.seq, params.size, &visibility).map_err(refused)
        })
        .await?;
    Ok(Json(proof))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionsQuery {
    /// Proofs of events after this seq; 0 (the default) from the first.
    #[serde(default)]
    pub after: u64,
    /// Up to and including this seq; the tree size when absent.
    pub through: Option<u64>,
    /// The tree size to prove against; the whole tree when absent.
    pub size: Option<u64>,
}

#[utoipa::path(get, path = "/v1/audit/proof/inclusions", tag = "sync", security(("bearer" = [])), params(InclusionsQuery),
    responses(
        (status = 200, description = "Inclusion proofs, against one tree size, of every event with \
            `after < seq <= through` the caller may read, oldest first, at most 1000 (`more` says when there are \
            more)", body = InclusionProofs),
        (status = 400, description = "`through` or `size` past the tree, or `after` past `through`", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
    ))]
pub async fn audit_inclusions(
    State(state): State<ServerState>,
    caller: Caller,
    params: Result<Query<InclusionsQuery>, QueryRejection>,
) -> Result<Json<InclusionProofs>, ApiError> {
    let params = query(params)?;
    let visibility = visibility(&caller)?;
    let proofs = state
        .db
        .read("proof_inclusions", move |conn| {
            merkle::inclusions_for(conn, params.after, params.through, params.size, &visibility).map_err(refused)
        })
        .await?;
    Ok(Json(proofs))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size (0 is the empty tree).
    pub from: u64,
    /// The newer tree size; the whole tree when absent.
    pub to: Option<u64>,
}

#[utoipa::path(get, path = "/v1/audit/proof/consistency", tag = "sync", security(("bearer" = [])), params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof that the tree of `to` leaves extends the tree of `from` leaves \
            (RFC 9162 §2.1.4); hashes as lower-case hex", body = ConsistencyProof),
        (status = 400, description = "`from` past `to`, or `to` past the tree", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The token may not read the catalog", body = ErrorBody),
    ))]
pub async fn audit_consistency(
    State(state): State<ServerState>,
    caller: Caller,
    params: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let params = query(params)?;
    visibility(&caller)?;
    let proof = state
        .db
        .read("proof_consistency", move |conn| merkle::consistency_for(conn, params.from, params.to).map_err(refused))
        .await?;
    Ok(Json(proof))
}

pub async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint; see GET /v1/openapi.json")
}
