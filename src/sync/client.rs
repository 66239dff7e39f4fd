//! The HTTP client of sync API v1 (reqwest). Bodies are read whole and
//! parsed before anything uses them, so a cut-off or malformed answer is an
//! error, never half a page. The token goes only into the Authorization header.
//!
//! `https://` servers are checked with the [`ClientTrust`] given (the system's
//! store, or a `--ca-file`); a certificate that is refused is
//! [`ClientError::Tls`], which is not transient: nothing is retried or queued
//! on it.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde::de::DeserializeOwned;

use crate::config::settings::Token;
use crate::domain::api::{AuditHead, AuditPage, ChangesPage, ConsistencyProof, ErrorBody, InclusionProofs, Me};
use crate::domain::audit_query::TimeRange;
use crate::domain::checkpoint::{CheckpointPage, ServerKey};
use crate::tls::ClientTrust;

const CONNECT_TIMEOUT_SECS: u64 = 5;
const REQUEST_TIMEOUT_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at {server}: {reason}")]
    Offline { server: String, reason: String },
    #[error("{message} (HTTP {status}, {code})")]
    Status { status: u16, code: String, message: String, retry_after: Option<Duration> },
    #[error("the server's answer to {what} is not valid: {reason}")]
    Malformed { what: String, reason: String },
    #[error("invalid server URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The TLS handshake failed: the certificate was refused, or the server
    /// does not speak TLS. Said in plain words by [`crate::tls::describe_failure`].
    #[error("{message}")]
    Tls { server: String, message: String },
}

impl ClientError {
    /// Worth trying again later: no connection, a busy or failing server.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Offline { .. } => true,
            ClientError::Status { status, .. } => *status == 429 || *status >= 500,
            ClientError::Malformed { .. } | ClientError::BadUrl { .. } | ClientError::Tls { .. } => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// `host:port`, for TLS messages.
    authority: String,
}

/// What a POST answered: its status and body, kept as text for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub status: u16,
    pub body: String,
}

/// The server's URL, if it is one a client can talk to: http or https, with a host.
pub fn parse_server_url(server: &str) -> Result<reqwest::Url, ClientError> {
    let bad = |reason: &str| ClientError::BadUrl { url: server.to_string(), reason: reason.to_string() };
    let url = reqwest::Url::parse(server).map_err(|err| bad(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("use http://HOST:PORT or https://HOST:PORT"));
    }
    Ok(url)
}

impl Client {
    /// A client that trusts the system's certificate store.
    pub fn new(server: &str, token: &Token) -> Result<Client, ClientError> {
        Client::with_trust(server, token, &ClientTrust::system())
    }

    /// A client that checks an `https` server's certificate with `trust`.
    pub fn with_trust(server: &str, token: &Token, trust: &ClientTrust) -> Result<Client, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl { url: server.to_string(), reason: reason.to_string() };
        let url = parse_server_url(server)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| bad("the token has characters a header cannot carry"))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("govdeck/", env!("CARGO_PKG_VERSION"))));
        let authority = crate::tls::authority(&url);
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS));
        let builder = trust
            .apply(builder, &url)
            .map_err(|err| ClientError::Tls { server: server.to_string(), message: err.to_string() })?;
        let http = builder.build().map_err(|err| bad(&err.to_string()))?;
        Ok(Client { http, base: server.trim_end_matches('/').to_string(), authority })
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    /// What a request that got no answer failed on: TLS, else the connection.
    fn offline(&self, err: &reqwest::Error) -> ClientError {
        if let Some(message) = crate::tls::describe_failure(err, &self.authority) {
            return ClientError::Tls { server: self.base.clone(), message };
        }
        // reqwest's Display never includes headers, so the token cannot leak here.
        ClientError::Offline { server: self.base.clone(), reason: crate::errors::chain(err) }
    }

    async fn finish(&self, what: &str, response: reqwest::Response) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(|err| ClientError::Malformed {
            what: what.to_string(),
            reason: format!("the body was cut off: {err}"),
        })?;
        if status.is_success() {
            return Ok((status, body.to_vec()));
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => (error.error.code, error.error.message),
            Err(_) => {
                ("http".to_string(), format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("error")))
            }
        };
        Err(ClientError::Status { status: status.as_u16(), code, message, retry_after })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, u64)]) -> Result<T, ClientError> {
        let body = self.get_bytes(path, query).await?;
        serde_json::from_slice(&body)
            .map_err(|err| ClientError::Malformed { what: path.to_string(), reason: err.to_string() })
    }

    /// The whole body of a successful GET, not yet parsed.
    async fn get_bytes(&self, path: &str, query: &[(&str, u64)]) -> Result<Vec<u8>, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(|err| self.offline(&err))?;
        Ok(self.finish(path, response).await?.1)
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.get("/v1/me", &[]).await
    }

    pub async fn changes(&self, since: u64, limit: u32) -> Result<ChangesPage, ClientError> {
        self.get("/v1/changes", &[("since", since), ("limit", u64::from(limit))]).await
    }

    /// A `/v1/changes` page as the bytes of its JSON, for a caller that
    /// decodes it elsewhere (sync decodes pages off this task).
    pub async fn changes_bytes(&self, since: u64, limit: u32) -> Result<Vec<u8>, ClientError> {
        self.get_bytes("/v1/changes", &[("since", since), ("limit", u64::from(limit))]).await
    }

    pub async fn audit(&self, after: u64, limit: u32) -> Result<AuditPage, ClientError> {
        self.get("/v1/audit", &[("after", after), ("limit", u64::from(limit))]).await
    }

    /// A `/v1/audit` page as the bytes of its JSON, for a caller that
    /// decodes it elsewhere (sync decodes pages borrowed, off this task).
    pub async fn audit_bytes(&self, after: u64, limit: u32) -> Result<Vec<u8>, ClientError> {
        self.get_bytes("/v1/audit", &[("after", after), ("limit", u64::from(limit))]).await
    }

    /// A `/v1/audit` page of the events whose time falls in `range`, as the
    /// bytes of its JSON (`govdeck audit export` writes the events as sent).
    pub async fn audit_range_bytes(&self, after: u64, limit: u32, range: &TimeRange) -> Result<Vec<u8>, ClientError> {
        let mut query = vec![("after", after.to_string()), ("limit", limit.to_string())];
        let (since, until) = range.stored_bounds();
        query.extend(since.map(|since| ("since", since)));
        query.extend(until.map(|until| ("until", until)));
        let response = self
            .http
            .get(format!("{}/v1/audit", self.base))
            .query(&query)
            .send()
            .await
            .map_err(|err| self.offline(&err))?;
        Ok(self.finish("/v1/audit", response).await?.1)
    }

    /// The signed evidence bundle of `app_id` (`GET /v1/apps/{id}/evidence`), as sent.
    pub async fn evidence_bytes(&self, app_id: &str, range: &TimeRange) -> Result<Vec<u8>, ClientError> {
        let (since, until) = range.stored_bounds();
        let query: Vec<(&str, String)> =
            since.map(|since| ("since", since)).into_iter().chain(until.map(|until| ("until", until))).collect();
        let mut url = reqwest::Url::parse(&format!("{}/v1/apps", self.base))
            .map_err(|err| ClientError::Malformed { what: "the server URL".into(), reason: err.to_string() })?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Malformed { what: "the server URL".into(), reason: "cannot be a base".into() })?
            .push(app_id)
            .push("evidence");
        let response = self.http.get(url).query(&query).send().await.map_err(|err| self.offline(&err))?;
        Ok(self.finish("/v1/apps/{id}/evidence", response).await?.1)
    }

    pub async fn audit_head(&self) -> Result<AuditHead, ClientError> {
        self.get("/v1/audit/head", &[]).await
    }

    /// The key the server signs audit checkpoints with; `None` from a server
    /// that signs none (it answers 404).
    pub async fn server_key(&self) -> Result<Option<ServerKey>, ClientError> {
        match self.get("/v1/audit/key", &[]).await {
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    pub async fn checkpoints(&self, after: u64, limit: u32) -> Result<CheckpointPage, ClientError> {
        self.get("/v1/audit/checkpoints", &[("after", after), ("limit", u64::from(limit))]).await
    }

    /// The proof that the tree of `to` leaves extends the tree of `from`.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, ClientError> {
        self.get("/v1/audit/proof/consistency", &[("from", from), ("to", to)]).await
    }

    /// Inclusion proofs, in the tree of `size`, of the readable events `after < seq <= through`.
    pub async fn inclusions(&self, after: u64, through: u64, size: u64) -> Result<InclusionProofs, ClientError> {
        self.get("/v1/audit/proof/inclusions", &[("after", after), ("through", through), ("size", size)]).await
    }

    /// POSTs `body` under `idempotency_key`; a 2xx answer comes back whole.
    pub async fn post(&self, path: &str, body: &str, idempotency_key: &str) -> Result<Posted, ClientError> {
        self.write(reqwest::Method::POST, path, body, idempotency_key).await
    }

    /// PUTs `body` under `idempotency_key`, as [`Client::post`].
    pub async fn put(&self, path: &str, body: &str, idempotency_key: &str) -> Result<Posted, ClientError> {
        self.write(reqwest::Method::PUT, path, body, idempotency_key).await
    }

    /// The server's active policy (`GET /v1/policy`).
    pub async fn policy(&self) -> Result<crate::domain::policy::change::PolicyResponse, ClientError> {
        self.get("/v1/policy", &[]).await
    }

    /// PATCHes `body` under `idempotency_key`, as [`Client::post`].
    pub async fn patch(&self, path: &str, body: &str, idempotency_key: &str) -> Result<Posted, ClientError> {
        self.write(reqwest::Method::PATCH, path, body, idempotency_key).await
    }

    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<Posted, ClientError> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", idempotency_key)
            .body(body.to_string())
            .send()
            .await
            .map_err(|err| self.offline(&err))?;
        let (status, body) = self.finish(path, response).await?;
        let body = String::from_utf8(body)
            .map_err(|err| ClientError::Malformed { what: path.to_string(), reason: err.to_string() })?;
        Ok(Posted { status: status.as_u16(), body })
    }
}
