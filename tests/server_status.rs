//! The status API for enforcement points over real HTTP: an answer for
//! every lifecycle state, read and write access, ETags and 304s, matching
//! by a declared endpoint, who may ask about what, and that asking records
//! nothing in the audit log.

mod common;

use common::{Resp, TestServer, low_manifest, medium_manifest};
use govdeck::clock::Clock;
use govdeck::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn ask(server: &TestServer, user: &str, path: &str, etag: Option<&str>) -> Resp {
    let mut request = server.client.get(server.url(path)).bearer_auth(server.token(user));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    Resp { status, headers, text: resp.text().await.unwrap() }
}

fn id(app: &Value) -> String {
    app["id"].as_str().unwrap().to_string()
}

/// `(allowed, reason, state)` of an app's status for reading and for writing.
async fn verdicts(server: &TestServer, app_id: &str) -> [(bool, String, String); 2] {
    let mut out = Vec::new();
    for access in ["read", "write"] {
        let body = ask(server, "gate", &format!("/v1/apps/{app_id}/status?access={access}"), None).await.expect(200);
        out.push((
            body["allowed"].as_bool().unwrap(),
            body["reason"].as_str().unwrap().to_string(),
            body["state"].as_str().unwrap().to_string(),
        ));
    }
    out.try_into().unwrap()
}

fn both(allowed: (bool, bool), reason: (&str, &str), state: &str) -> [(bool, String, String); 2] {
    [(allowed.0, reason.0.into(), state.into()), (allowed.1, reason.1.into(), state.into())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_answers_for_reading_and_writing() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    let (proto, _) = server.intake("olive", &low_manifest("proto", "prototype", true)).await;
    let (pending, request) = server.intake("olive", &medium_manifest("pending")).await;
    let (rejected, rejection) = server.intake("olive", &medium_manifest("rejected")).await;
    server.decide("riley", &rejection, "reject", "no owner on call").await.expect(200);
    assert_eq!(request["status"], "pending");
    let head = server.head().await;

    let live = verdicts(&server, &id(&proto)).await;
    assert_eq!(live, both((true, true), ("live", "live"), "active"));
    let body = ask(&server, "gate", &format!("/v1/apps/{}/status", id(&proto)), None).await.expect(200);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{body}");
    for key in ["app_id", "name", "state", "allowed", "reason", "expires_at"] {
        assert!(keys.contains(&key), "{key} in {body}");
    }
    assert_eq!((body["app_id"].as_str(), body["name"].as_str()), (Some(id(&proto).as_str()), Some("proto")));
    assert!(body["expires_at"].is_string());
    assert_eq!(verdicts(&server, &id(&pending)).await, both((false, false), ("pending", "pending"), "pending"));
    assert_eq!(verdicts(&server, &id(&rejected)).await, both((false, false), ("rejected", "rejected"), "rejected"));

    // The prototype's 30 days: expiring, quarantined, read-only, decommissioned.
    server.advance_days(17).await;
    assert_eq!(verdicts(&server, &id(&proto)).await, both((true, true), ("live", "live"), "expiring"));
    server.advance_days(14).await;
    let quarantined = both((false, false), ("quarantined", "quarantined"), "quarantined");
    assert_eq!(verdicts(&server, &id(&proto)).await, quarantined);
    server.advance_days(7).await;
    let read_only = both((true, false), ("read_only", "read_only_write"), "read_only");
    assert_eq!(verdicts(&server, &id(&proto)).await, read_only);
    server.advance_days(30).await;
    let gone = both((false, false), ("decommissioned", "decommissioned"), "decommissioned");
    assert_eq!(verdicts(&server, &id(&proto)).await, gone);

    // Unknown: a 404 that still says allowed: false.
    let unknown = ask(&server, "gate", "/v1/apps/app_nope/status", None).await.expect(404);
    assert_eq!(
        unknown,
        json!({"app_id": "app_nope", "name": null, "state": null, "allowed": false, "reason": "unknown_app", "expires_at": null})
    );
    let bad = ask(&server, "gate", &format!("/v1/apps/{}/status?access=delete", id(&proto)), None).await;
    bad.expect_code(400, "bad_request");
    let extra = ask(&server, "gate", &format!("/v1/apps/{}/status?foo=1", id(&proto)), None).await;
    extra.expect_code(400, "bad_request");

    // Asking records nothing (the lifecycle steps did).
    let after_lifecycle = server.head().await;
    for _ in 0..3 {
        ask(&server, "gate", &format!("/v1/apps/{}/status", id(&proto)), None).await.expect(200);
    }
    assert_eq!(server.head().await, after_lifecycle);
    assert!(after_lifecycle.0 > head.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etag_holds_until_the_answer_changes() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    let (proto, _) = server.intake("olive", &low_manifest("proto", "prototype", true)).await;
    let path = format!("/v1/apps/{}/status", id(&proto));
    let first = ask(&server, "gate", &path, None).await;
    first.expect(200);
    let etag = first.header("etag").expect("an ETag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10, "{etag}");
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let again = ask(&server, "gate", &path, None).await;
    assert_eq!(again.header("etag"), Some(etag.as_str()), "the same answer, the same ETag");

    let unchanged = ask(&server, "gate", &path, Some(&etag)).await;
    assert_eq!(unchanged.status.as_u16(), 304);
    assert!(unchanged.text.is_empty());
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
    let listed = ask(&server, "gate", &path, Some(&format!("\"other\", W/{etag}"))).await;
    assert_eq!(listed.status.as_u16(), 304, "a list, and the weak form, match too");
    let other = ask(&server, "gate", &path, Some("\"other\"")).await;
    assert_eq!(other.status.as_u16(), 200);
    // Reading and writing are different answers only where they differ.
    let write = ask(&server, "gate", &format!("{path}?access=write"), Some(&etag)).await;
    assert_eq!(write.status.as_u16(), 304, "a live app: the same answer for writing");

    server.advance_days(17).await;
    let changed = ask(&server, "gate", &path, Some(&etag)).await;
    assert_eq!(changed.expect(200)["state"], "expiring");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_match_after_normalising_scheme_host_and_a_trailing_slash() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    let mut manifest = low_manifest("quotes", "supported", true);
    manifest["endpoints"] = json!(["https://Quotes.Apps.Internal/api/", "not a url"]);
    let (quotes, _) = server.intake("olive", &manifest).await;
    let by = |endpoint: &str| format!("/v1/status?endpoint={}", urlencode(endpoint));

    for asked in
        ["https://quotes.apps.internal/api", "HTTPS://QUOTES.apps.internal/api/", " https://quotes.apps.internal/api"]
    {
        let body = ask(&server, "gate", &by(asked), None).await.expect(200);
        assert_eq!(
            (body["app_id"].as_str(), body["allowed"].as_bool()),
            (Some(id(&quotes).as_str()), Some(true)),
            "{asked}"
        );
    }
    for asked in
        ["https://quotes.apps.internal/API", "https://quotes.apps.internal/api/v2", "http://quotes.apps.internal/api"]
    {
        let body = ask(&server, "gate", &by(asked), None).await.expect(404);
        assert_eq!((body["allowed"].as_bool(), body["reason"].as_str()), (Some(false), Some("unknown_app")), "{asked}");
        assert!(body["app_id"].is_null());
    }
    ask(&server, "gate", &by("quotes.apps.internal"), None).await.expect_code(400, "bad_request");
    ask(&server, "gate", "/v1/status", None).await.expect_code(400, "bad_request");

    // A newer app in the running answers for an endpoint an older, rejected one declared.
    let mut old = medium_manifest("quotes-old");
    old["endpoints"] = json!(["https://shared.apps.internal"]);
    let (_, request) = server.intake("omar", &old).await;
    server.decide("riley", &request, "reject", "duplicate").await.expect(200);
    let mut new = low_manifest("quotes-new", "supported", true);
    new["endpoints"] = json!(["https://shared.apps.internal/"]);
    let (newer, _) = server.intake("omar", &new).await;
    let body = ask(&server, "gate", &by("https://shared.apps.internal"), None).await.expect(200);
    assert_eq!(body["app_id"].as_str(), Some(id(&newer).as_str()));

    // An endpoint answer has its ETag too.
    let first = ask(&server, "gate", &by("https://shared.apps.internal"), None).await;
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(ask(&server, "gate", &by("https://shared.apps.internal"), Some(&etag)).await.status.as_u16(), 304);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_ask_about_their_own_apps_and_platform_tokens_ask_only_this() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    server.add_user("audrey", &[Role::Auditor]);
    let mut manifest = low_manifest("menu", "supported", true);
    manifest["endpoints"] = json!(["https://menu.apps.internal"]);
    let (menu, _) = server.intake("olive", &manifest).await;
    let path = format!("/v1/apps/{}/status", id(&menu));
    let endpoint = "/v1/status?endpoint=https://menu.apps.internal";
    for user in ["gate", "riley", "pat", "audrey", "olive"] {
        assert_eq!(ask(&server, user, &path, None).await.expect(200)["allowed"], true, "{user}");
        assert_eq!(ask(&server, user, endpoint, None).await.expect(200)["allowed"], true, "{user}");
    }
    // Another owner is told nothing more than for an unknown app.
    assert_eq!(ask(&server, "omar", &path, None).await.expect(404)["reason"], "unknown_app");
    assert_eq!(ask(&server, "omar", endpoint, None).await.expect(404)["reason"], "unknown_app");
    ask(&server, "ingo", &path, None).await.expect_code(403, "forbidden");
    // A platform token is refused on everything else, routes added later included.
    for (method, path) in [(Method::GET, "/v1/me"), (Method::GET, "/v1/changes"), (Method::POST, "/v1/intake")] {
        let resp = server.send(method, Some("gate"), path, Some(b"{}".to_vec()), None).await;
        resp.expect_code(403, "forbidden");
        assert!(resp.text.contains("status API"), "{}", resp.text);
    }
    server.stop().await;
}

/// What the API commits shows in the very next answer, by id and by
/// endpoint, with a new ETag: an approval, a renewal's new expiry; and the
/// expiry itself is worked out at the moment of asking, with no write at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_change_shows_in_the_next_answer() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    let mut manifest = medium_manifest("ledger");
    manifest["endpoints"] = json!(["https://ledger.apps.internal"]);
    let (ledger, request) = server.intake("olive", &manifest).await;
    let path = format!("/v1/apps/{}/status", id(&ledger));
    let endpoint = "/v1/status?endpoint=https://ledger.apps.internal";
    let pending = ask(&server, "gate", &path, None).await;
    assert_eq!(pending.expect(200)["reason"], "pending");
    let pending_etag = pending.header("etag").unwrap().to_string();
    assert_eq!(ask(&server, "gate", endpoint, None).await.expect(200)["reason"], "pending");

    server.decide("riley", &request, "approve", "fine").await.expect(200);
    let approved = ask(&server, "gate", &path, Some(&pending_etag)).await;
    let body = approved.expect(200);
    assert_eq!((body["allowed"].as_bool(), body["state"].as_str()), (Some(true), Some("active")));
    assert_ne!(approved.header("etag"), Some(pending_etag.as_str()));
    assert_eq!(ask(&server, "gate", endpoint, Some(&pending_etag)).await.expect(200)["allowed"], true);
    let expires_at = body["expires_at"].as_str().unwrap().to_string();

    // The expiry passes by the clock alone: refused from that instant on.
    let expiry = chrono::DateTime::parse_from_rfc3339(&expires_at).unwrap().with_timezone(&chrono::Utc);
    server.clock.set(expiry - chrono::Duration::microseconds(1));
    assert_eq!(ask(&server, "gate", &path, None).await.expect(200)["reason"], "live");
    server.clock.set(expiry);
    let expired = ask(&server, "gate", &path, None).await.expect(200);
    assert_eq!((expired["allowed"].as_bool(), expired["reason"].as_str()), (Some(false), Some("expired")));
    assert_eq!(ask(&server, "gate", endpoint, None).await.expect(200)["reason"], "expired");

    // A renewal commits a new expiry: live again at once.
    server.renew("olive", &id(&ledger), &json!({"days": 30})).await.expect(200);
    let renewed = ask(&server, "gate", &path, None).await.expect(200);
    assert_eq!(renewed["reason"], "live");
    assert_ne!(renewed["expires_at"].as_str(), Some(expires_at.as_str()));
    server.stop().await;
}

/// A token revoked, or past its expiry, is refused by the status API at
/// the next ask: nothing about tokens is kept between asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_expired_platform_token_is_refused_at_once() {
    let server = TestServer::start().await;
    server.add_user("gate", &[Role::Platform]);
    let mut manifest = low_manifest("menu", "supported", true);
    manifest["endpoints"] = json!(["https://menu.apps.internal"]);
    let (menu, _) = server.intake("olive", &manifest).await;
    let path = format!("/v1/apps/{}/status", id(&menu));
    let endpoint = "/v1/status?endpoint=https://menu.apps.internal";
    ask(&server, "gate", &path, None).await.expect(200);
    ask(&server, "gate", endpoint, None).await.expect(200);
    server.revoke_user("gate");
    ask(&server, "gate", &path, None).await.expect_code(401, "unauthorized");
    ask(&server, "gate", endpoint, None).await.expect_code(401, "unauthorized");

    let token = {
        let store = govdeck::store::Store::open(&server.db_path).unwrap();
        let expires_at = server.clock.now() + chrono::Duration::hours(1);
        govdeck::store::users::add_expiring(
            store.conn(),
            "gate2",
            &[Role::Platform],
            Some(expires_at),
            server.clock.now(),
        )
        .unwrap()
    };
    let asked = |path: String| server.client.get(server.url(&path)).bearer_auth(&token).send();
    assert_eq!(asked(path.clone()).await.unwrap().status().as_u16(), 200);
    server.clock.advance(chrono::Duration::hours(1));
    for path in [path.clone(), endpoint.to_string()] {
        let resp = asked(path).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "token_expired", "{body}");
    }
    // A bad token comes before a bad query, as on every route.
    let resp = server.client.get(server.url("/v1/status?nope=1")).bearer_auth("gd_unknown").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    ask(&server, "riley", "/v1/status?nope=1", None).await.expect_code(400, "bad_request");
    ask(&server, "riley", "/v1/status?endpoint=not-a-url", None).await.expect_code(400, "bad_request");
    server.stop().await;
}

/// Percent-encodes a query value (enough for the URLs of these tests).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
