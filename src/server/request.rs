//! What handlers take from a request: the authenticated caller, where the
//! call came from (for audit events), a JSON body parsed into our error
//! shape, and the `Idempotency-Key` machinery every POST goes through.

use std::net::SocketAddr;

use crate::domain::policy::Policy;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::{ActivePolicy, ServerState};
use crate::domain::Actor;
use crate::store::users::TokenCheck;
use crate::store::{idempotency, policies, users};

/// The caller, authenticated by its bearer token. A platform token is
/// refused here with a 403: it may ask the status API only (whose handlers
/// take a [`BearerToken`] and check it themselves), so every other route, present or future, refuses it.
pub struct Caller(pub Actor);

impl FromRequestParts<ServerState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Caller, ApiError> {
        let actor = authenticate(parts, state).await?;
        if actor.status_only() {
            return Err(ApiError::forbidden(
                "a platform token may only ask the status API (GET /v1/apps/{id}/status, GET /v1/status)",
            ));
        }
        Ok(Caller(actor))
    }
}

/// The bearer token of a status API call, read from the header and not yet
/// checked: the status handlers check it in the same trip to the database
/// as their own lookup ([`token_check`]), so an ask costs one trip to the
/// blocking pool, not two. Missing or malformed: a 401, as for [`Caller`].
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<BearerToken, ApiError> {
        bearer_token(parts).map(BearerToken)
    }
}

fn bearer_token(parts: &Parts) -> Result<String, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    Ok(header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?
        .to_string())
}

/// The actor holding the request's bearer token at the clock's `now`; a 401
/// for a missing, unknown, revoked or expired one.
async fn authenticate(parts: &Parts, state: &ServerState) -> Result<Actor, ApiError> {
    let token = bearer_token(parts)?;
    let now = state.clock.now();
    token_check(state.db.lookup("auth", move |conn| Ok(users::authenticate(conn, &token, now)?)).await?)
}

/// The actor of a checked token, or the 401 for an unknown, revoked or
/// expired one (an expired token's answer says so, and when: `token_expired`).
pub fn token_check(check: TokenCheck) -> Result<Actor, ApiError> {
    match check {
        TokenCheck::Valid(actor) => Ok(actor),
        TokenCheck::Expired { user, at } => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            format!(
                "this token expired at {}; ask an admin for a new one (`govdeck users rotate {user}`)",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )),
        TokenCheck::Unknown => Err(ApiError::unauthorized("unknown or revoked token")),
    }
}

/// Where a call came from, recorded on the audit events it causes.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Longest user agent kept in the audit log.
const MAX_USER_AGENT_CHARS: usize = 200;

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Origin, Self::Rejection> {
        let ip_address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect());
        Ok(Origin { ip_address, user_agent })
    }
}

/// Parses a JSON body, turning every problem into a 400 (or 413) with our error body.
pub fn parse_json<T: DeserializeOwned>(body: &Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.as_ref().map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        }
        _ => ApiError::bad_request(format!("cannot read the request body: {rejection}")),
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; send a JSON object"));
    }
    // Reliability suite fix: serde reads a struct from a JSON array too, so
    // `["approve","",3]` was taken as a decision and `[10]` as `{"days":10}`.
    // Every body of this API is an object (or `null` where documented).
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::bad_request("the request body must be a JSON object, not an array"));
    }
    serde_json::from_slice(bytes).map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
}

/// The body bytes, for hashing; empty when it could not be read.
pub fn body_bytes(body: &Result<Bytes, BytesRejection>) -> &[u8] {
    body.as_ref().map(|bytes| bytes.as_ref()).unwrap_or_default()
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().ok().filter(|key| !key.is_empty() && key.len() <= idempotency::MAX_KEY_CHARS).ok_or_else(
        || {
            ApiError::bad_request(format!(
                "Idempotency-Key must be 1 to {} visible ASCII characters",
                idempotency::MAX_KEY_CHARS
            ))
        },
    )?;
    Ok(Some(key.to_string()))
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if replayed {
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// The policy active in the database, as `cached` holds it unless another
/// server changed it since: then it is read again and cached. One indexed
/// read of the newest `policies` row per write.
fn active_policy(conn: &Connection, cached: &ActivePolicy) -> Result<std::sync::Arc<Policy>, ApiError> {
    let policy = cached.current();
    match policies::active_version(conn)? {
        Some(version) if version != policy.version() => {
            let stored = policies::active(conn)?.ok_or_else(|| ApiError::internal("the active policy vanished"))?;
            let fresh = Policy::from_bundle(stored.bundle)
                .map_err(|problems| ApiError::internal(format!("the active policy {version}: {problems}")))?;
            tracing::info!(version, "another server applied a policy; deciding under it");
            let fresh = std::sync::Arc::new(fresh);
            cached.set(fresh.clone());
            Ok(fresh)
        }
        _ => Ok(policy),
    }
}

/// Runs a state-changing `op` in one write transaction (under the policy
/// active in the database, see [`active_policy`]) under the request's
/// `Idempotency-Key`: a retry of the same request replays the first answer
/// and changes nothing; a different request under the same key is a 422.
/// An `op` that fails rolls back whole and is not recorded.
pub async fn idempotent_write<T, F>(
    state: &ServerState,
    actor: &Actor,
    headers: &HeaderMap,
    name: &'static str,
    route: String,
    body: &[u8],
    op: F,
) -> Result<Response, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Connection, &Policy, chrono::DateTime<chrono::Utc>) -> Result<(StatusCode, T), ApiError>
        + Send
        + 'static,
{
    let key = idempotency_key(headers)?;
    let user = actor.user.clone();
    let request_hash = idempotency::request_hash(&route, body);
    let clock = state.clock.clone();
    let cached = state.policy.clone();
    let (status, body, replayed) = state
        .db
        .write(name, move |conn| {
            if let Some(key) = &key
                && let Some(recorded) = idempotency::find(conn, &user, key)?
            {
                if recorded.request_hash != request_hash {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different request; use a new key",
                    ));
                }
                let status = StatusCode::from_u16(recorded.status).map_err(ApiError::internal)?;
                return Ok((status, recorded.body, true));
            }
            let now = clock.now();
            let policy = active_policy(conn, &cached)?;
            let (status, value) = op(conn, &policy, now)?;
            let body = serde_json::to_string(&value).map_err(ApiError::internal)?;
            if let Some(key) = &key {
                let recorded = idempotency::Recorded { request_hash, status: status.as_u16(), body: body.clone() };
                idempotency::record(conn, &user, key, &recorded, now)?;
            }
            Ok((status, body, false))
        })
        .await?;
    Ok(json_response(status, body, replayed))
}
