//! The Backstage catalog's `GET /api/catalog/entities/by-query`, read one
//! page at a time. The first call carries the filters, `fields` and `limit`;
//! every later call carries only the opaque `cursor` from the previous page's
//! `pageInfo.nextCursor` (with `fields` and `limit`), because Backstage
//! encodes the filters in the cursor. The sweep ends when a page has no
//! `nextCursor`.
//!
//! A page is read whole (up to [`MAX_PAGE_BYTES`]) and checked before anyone
//! uses it: it must be a JSON object with an `items` array and a `pageInfo`
//! object. Anything else (an HTML sign-in page, a proxy's error, JSON of
//! another API) is [`FetchError::NotCatalog`], naming the page. Redirects are
//! not followed: a catalog API does not redirect, a sign-in proxy does.
//!
//! An `https` backend's certificate is checked with the same trust settings
//! as the sync client ([`ClientTrust`]: the system's store or `--ca-file`);
//! a refused certificate is [`FetchError::Tls`], said in plain words.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, USER_AGENT};
use serde_json::Value;

use crate::config::settings::Token;
use crate::sanitize::{sanitize, truncate};
use crate::tls::ClientTrust;

/// The endpoint, under the backend's base URL.
pub const BY_QUERY_PATH: &str = "/api/catalog/entities/by-query";
/// The entity fields asked for.
pub const FIELDS: &str = "kind,metadata,spec,relations,status";
/// The largest page body accepted, 64 MiB (500 entities are usually well under 5 MiB).
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT_SECS: u64 = 10;
const REQUEST_TIMEOUT_SECS: u64 = 120;
/// Most characters of an upstream message quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid Backstage URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The TLS handshake failed, or the trust settings could not be set up.
    #[error("{message}")]
    Tls { url: String, message: String },
    #[error("cannot reach Backstage at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Backstage refused the request for page {page} (HTTP {status}): {message}; {hint}")]
    Unauthorized { page: u32, status: u16, message: String, hint: &'static str },
    #[error("Backstage answered page {page} with HTTP {status}: {message}")]
    Status { page: u32, status: u16, message: String },
    #[error("page {page} from {url} is not a Backstage catalog answer: {reason}")]
    NotCatalog { page: u32, url: String, reason: String },
}

impl FetchError {
    /// The HTTP status, for an answer that had one.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Unauthorized { status, .. } | FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One checked page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub total_items: Option<u64>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// Which page to ask for.
#[derive(Debug, Clone, Copy)]
pub enum PageRequest<'a> {
    /// The first page, with the filters (each one a `filter` parameter: OR between them).
    First { filters: &'a [String] },
    /// A later page: the cursor carries the filters.
    Next { cursor: &'a str },
}

/// A client of one Backstage backend.
#[derive(Clone)]
pub struct Backstage {
    http: reqwest::Client,
    instance: String,
    /// `host:port`, for TLS messages.
    authority: String,
    has_token: bool,
}

/// `url` checked and reduced to the backend's base: scheme, host, port and
/// path, without a trailing `/` or a trailing `/api/catalog`.
pub fn normalize_base_url(url: &str) -> Result<String, FetchError> {
    let shown = redact(url);
    let bad = |reason: &str| FetchError::BadUrl { url: shown.clone(), reason: reason.to_string() };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|err| bad(&err.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => {}
        _ => return Err(bad("use http://HOST:PORT or https://HOST, the address of the Backstage backend")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "credentials do not belong in the URL: put the token in a file and pass --backstage-token-file",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("give the base URL only, without a query or fragment"));
    }
    let mut base = parsed.as_str().trim_end_matches('/').to_string();
    for suffix in [BY_QUERY_PATH, "/api/catalog"] {
        if let Some(stripped) = base.strip_suffix(suffix) {
            base = stripped.to_string();
        }
    }
    Ok(base)
}

/// `url` with any `user:password@` replaced, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Upstream text made safe to quote in an error.
fn quote(text: &str) -> String {
    truncate(&sanitize(text), MAX_QUOTED_CHARS).into_owned()
}

impl Backstage {
    /// A client that trusts the system's certificate store.
    pub fn new(url: &str, token: Option<&Token>) -> Result<Backstage, FetchError> {
        Backstage::with_trust(url, token, &ClientTrust::system())
    }

    /// A client that checks an `https` backend's certificate with `trust`.
    pub fn with_trust(url: &str, token: Option<&Token>, trust: &ClientTrust) -> Result<Backstage, FetchError> {
        let instance = normalize_base_url(url)?;
        let parsed = reqwest::Url::parse(&instance)
            .map_err(|err| FetchError::BadUrl { url: instance.clone(), reason: err.to_string() })?;
        let authority = crate::tls::authority(&parsed);
        let bad = |reason: String| FetchError::BadUrl { url: instance.clone(), reason };
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| bad("the token has characters a header cannot carry".into()))?;
            auth.set_sensitive(true);
            headers.insert(AUTHORIZATION, auth);
        }
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("govdeck/", env!("CARGO_PKG_VERSION"), " import")));
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS));
        let builder = trust
            .apply(builder, &parsed)
            .map_err(|err| FetchError::Tls { url: instance.clone(), message: err.to_string() })?;
        let http = builder.build().map_err(|err| bad(err.to_string()))?;
        Ok(Backstage { http, instance, authority, has_token: token.is_some() })
    }

    /// The backend's base URL, normalized: it identifies the catalog instance.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn endpoint(&self) -> String {
        format!("{}{BY_QUERY_PATH}", self.instance)
    }

    /// Fetches and checks page number `page` (1-based, for messages).
    pub async fn page(&self, page: u32, request: PageRequest<'_>, limit: u32) -> Result<Page, FetchError> {
        let url = self.endpoint();
        let limit = limit.to_string();
        let mut query: Vec<(&str, &str)> = Vec::new();
        match request {
            PageRequest::First { filters } => query.extend(filters.iter().map(|filter| ("filter", filter.as_str()))),
            PageRequest::Next { cursor } => query.push(("cursor", cursor)),
        }
        query.push(("fields", FIELDS));
        query.push(("limit", &limit));
        let response =
            self.http.get(&url).query(&query).send().await.map_err(|err| {
                match crate::tls::describe_failure(&err, &self.authority) {
                    Some(message) => FetchError::Tls { url: self.instance.clone(), message },
                    None => FetchError::Unreachable { url: self.instance.clone(), reason: crate::errors::chain(&err) },
                }
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).map(quote);
        let body = read_capped(response, page, &url).await?;
        let not_catalog = |reason: String| FetchError::NotCatalog { page, url: url.clone(), reason };

        if status.is_redirection() {
            let to = location.map_or_else(String::new, |to| format!(" to {to}"));
            return Err(not_catalog(format!(
                "it redirected (HTTP {}){to}, as a sign-in proxy or the frontend does; \
                 point --url at the Backstage backend (often port 7007)",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let message = upstream_message(&body, status);
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                let hint = if self.has_token {
                    "check the token in --backstage-token-file (a Backstage static token or service token)"
                } else {
                    "no token was sent: pass --backstage-token-file with a Backstage token"
                };
                return Err(FetchError::Unauthorized { page, status: status.as_u16(), message, hint });
            }
            if status == StatusCode::NOT_FOUND && page == 1 {
                return Err(not_catalog(format!(
                    "HTTP 404 ({message}): no catalog API at this address; point --url at the Backstage backend \
                     (a Backstage older than 1.12 has no by-query endpoint)"
                )));
            }
            return Err(FetchError::Status { page, status: status.as_u16(), message });
        }
        parse_page(&body, &content_type).map_err(not_catalog)
    }
}

/// The body, refused beyond [`MAX_PAGE_BYTES`] or when cut off.
async fn read_capped(mut response: reqwest::Response, page: u32, url: &str) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_PAGE_BYTES {
                    return Err(FetchError::NotCatalog {
                        page,
                        url: url.to_string(),
                        reason: format!("the answer is larger than {} MiB", MAX_PAGE_BYTES >> 20),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(err) => {
                return Err(FetchError::NotCatalog {
                    page,
                    url: url.to_string(),
                    reason: format!("the answer was cut off: {}", crate::errors::chain(&err)),
                });
            }
        }
    }
}

/// What an error answer says: Backstage's `{"error":{"message":..}}`, else the status.
fn upstream_message(body: &[u8], status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("error");
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.pointer("/error/message").and_then(Value::as_str).map(quote))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| reason.to_string())
}

/// Checks a page's shape; the error says what is wrong with it.
pub fn parse_page(body: &[u8], content_type: &str) -> Result<Page, String> {
    let looks_html = content_type.contains("html") || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    if looks_html {
        return Err("it is an HTML page, not JSON (a sign-in page or the Backstage frontend?); \
                    point --url at the Backstage backend (often port 7007)"
            .into());
    }
    let value: Value = serde_json::from_slice(body).map_err(|err| format!("it is not valid JSON: {err}"))?;
    let Value::Object(mut object) = value else {
        return Err("it is JSON but not an object with `items` and `pageInfo`".into());
    };
    let items = match object.remove("items") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err("`items` is not an array".into()),
        None => return Err("it has no `items` (is this the catalog's by-query endpoint?)".into()),
    };
    let next_cursor = match object.get("pageInfo") {
        Some(Value::Object(info)) => match info.get("nextCursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(cursor)) if cursor.is_empty() => None,
            Some(Value::String(cursor)) => Some(cursor.clone()),
            Some(_) => return Err("`pageInfo.nextCursor` is not a string".into()),
        },
        Some(_) => return Err("`pageInfo` is not an object".into()),
        None => return Err("it has no `pageInfo` (is this the catalog's by-query endpoint?)".into()),
    };
    if let Some(index) = items.iter().position(|item| !item.is_object()) {
        return Err(format!("items[{index}] is not an object"));
    }
    let total_items = object.get("totalItems").and_then(Value::as_u64);
    Ok(Page { items, total_items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(normalize_base_url("http://backstage:7007/").unwrap(), "http://backstage:7007");
        assert_eq!(normalize_base_url("http://b:7007/api/catalog").unwrap(), "http://b:7007");
        assert_eq!(normalize_base_url("http://b/x/api/catalog/entities/by-query").unwrap(), "http://b/x");
        assert_eq!(normalize_base_url("https://backstage.example.com/").unwrap(), "https://backstage.example.com");
        for bad in ["backstage:7007", "ftp://b", "http://u:p@b:7007", "http://b?x=1", "not a url"] {
            assert!(matches!(normalize_base_url(bad), Err(FetchError::BadUrl { .. })), "{bad}");
        }
        let secret = normalize_base_url("https://admin:hunter2@b/x").unwrap_err().to_string();
        assert!(secret.contains("https://***@b/x") && !secret.contains("hunter2"), "{secret}");
    }

    #[test]
    fn pages_must_have_items_and_page_info() {
        let page = parse_page(br#"{"items":[{}],"totalItems":3,"pageInfo":{"nextCursor":"abc"}}"#, "").unwrap();
        assert_eq!((page.items.len(), page.total_items, page.next_cursor.as_deref()), (1, Some(3), Some("abc")));
        let last = parse_page(br#"{"items":[],"pageInfo":{}}"#, "application/json").unwrap();
        assert_eq!(last.next_cursor, None);
        for (body, content_type, says) in [
            (&b"<!doctype html><html>"[..], "text/html", "HTML"),
            (b"  <html>", "", "HTML"),
            (b"{\"items\":[", "application/json", "not valid JSON"),
            (b"[]", "application/json", "not an object"),
            (b"{\"pageInfo\":{}}", "application/json", "no `items`"),
            (b"{\"items\":[]}", "application/json", "no `pageInfo`"),
            (b"{\"items\":{},\"pageInfo\":{}}", "application/json", "not an array"),
            (b"{\"items\":[1],\"pageInfo\":{}}", "application/json", "items[0]"),
        ] {
            let err = parse_page(body, content_type).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn upstream_messages_are_quoted_safely() {
        let body = br#"{"error":{"name":"AuthenticationError","message":"bad \u001b[31mtoken"}}"#;
        assert_eq!(upstream_message(body, StatusCode::UNAUTHORIZED), "bad token");
        assert_eq!(upstream_message(b"nope", StatusCode::BAD_GATEWAY), "Bad Gateway");
    }
}
