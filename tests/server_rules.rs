//! The governance rules over real HTTP: separation of duties, the
//! two-approver rule, optimistic concurrency, idempotent retries, renewals
//! in every lifecycle state, and the TTL lifecycle driven by the clock.

mod common;

use chrono::Duration;
use common::{TestServer, design_example, low_manifest, medium_manifest, t0, ts};
use govdeck::domain::Role;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_decides_their_own_request_or_app() {
    let server = TestServer::start().await;
    server.add_user("rex", &[Role::Reviewer, Role::Owner]);
    server.add_user("lena", &[Role::Lead, Role::Reviewer]);

    // Lena (lead and reviewer) files for olive: she requested it, so not hers to decide.
    let mut for_olive = medium_manifest("holidays");
    for_olive["owner"] = json!("olive");
    let (_, filed_by_lena) = server.intake("lena", &for_olive).await;
    let head = server.head().await;
    server.decide("lena", &filed_by_lena, "approve", "").await.expect_code(403, "own_request");
    server.decide("lena", &filed_by_lena, "reject", "no").await.expect_code(403, "own_request");

    // Pat files for rex (reviewer and owner): rex owns the app, so not his to decide.
    let mut for_rex = medium_manifest("rex-app");
    for_rex["owner"] = json!("rex");
    let (_, rex_app_request) = server.intake("pat", &for_rex).await;
    let head_after_filing = server.head().await;
    assert!(head_after_filing.0 > head.0);
    server.decide("rex", &rex_app_request, "approve", "").await.expect_code(403, "own_app");
    // Rex filing for himself is his own request first of all.
    let (_, rex_own) = server.intake("rex", &medium_manifest("rex-2")).await;
    server.decide("rex", &rex_own, "approve", "").await.expect_code(403, "own_request");
    let head_now = server.head().await;

    // Refusals recorded nothing; the requests are still pending at the same rev.
    for approval in [&filed_by_lena, &rex_app_request, &rex_own] {
        let now = server.approval(approval["id"].as_str().unwrap()).await;
        assert_eq!(now["status"], "pending");
        assert_eq!(now["rev"], approval["rev"]);
    }
    assert_eq!(server.head().await, head_now);
    // Someone else may.
    let decided = server.decide("riley", &rex_app_request, "approve", "fine").await.expect(200);
    assert_eq!(decided["approval"]["status"], "approved");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_needs_a_reason() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let head = server.head().await;
    server.decide("riley", &approval, "reject", "").await.expect_code(400, "reason_required");
    server.decide("riley", &approval, "reject", "  \n ").await.expect_code(400, "reason_required");
    assert_eq!(server.head().await, head);

    let rejected = server.decide("riley", &approval, "reject", "no DLP on PII").await.expect(200);
    assert_eq!(rejected["approval"]["status"], "rejected");
    assert_eq!(rejected["approval"]["decisions"][0]["comment"], "no DLP on PII");
    assert_eq!(rejected["approval"]["decisions"][0]["by"], "riley");
    assert_eq!(server.app(app["id"].as_str().unwrap()).await["state"], "rejected");
    let events = server.all_audit("riley").await;
    let reject = events.iter().find(|e| e["action_type"] == "approval.reject").expect("reject event");
    assert_eq!(reject["actor_id"], "riley");
    assert_eq!(reject["request_context"]["comment"], "no DLP on PII");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_risk_needs_two_distinct_approvers() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &design_example()).await;
    let app_id = app["id"].as_str().unwrap();

    // A lead may not decide high risk, either way.
    server.decide("pat", &approval, "approve", "").await.expect_code(403, "not_an_approver");
    server.decide("pat", &approval, "reject", "no").await.expect_code(403, "not_an_approver");

    let first = server.decide("riley", &approval, "approve", "looks fine").await.expect(200)["approval"].clone();
    assert_eq!(first["status"], "pending", "one approval is not enough for high risk");
    assert!(first["rev"].as_u64().unwrap() > approval["rev"].as_u64().unwrap(), "a new rev");
    assert_eq!(first["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(server.app(app_id).await["state"], "pending");

    // The old rev is now stale; the same reviewer again (at the new rev) is a conflict.
    server.decide("rosa", &approval, "approve", "").await.expect_code(412, "stale_revision");
    server.decide("riley", &first, "approve", "again").await.expect_code(409, "already_approved");

    let second = server.decide("rosa", &first, "approve", "").await.expect(200)["approval"].clone();
    assert_eq!(second["status"], "approved");
    assert_eq!(ts(&second["decided_at"]), t0());
    let by: Vec<&str> = second["decisions"].as_array().unwrap().iter().map(|d| d["by"].as_str().unwrap()).collect();
    assert_eq!(by, ["riley", "rosa"]);

    let app = server.app(app_id).await;
    assert_eq!(app["state"], "active");
    assert_eq!(ts(&app["expires_at"]), t0() + Duration::days(365), "supported TTL from approval");
    let actions: Vec<Value> = server.all_audit("olive").await.iter().map(|e| e["action_type"].clone()).collect();
    assert_eq!(
        actions,
        ["app.registered", "approval.requested", "approval.approve", "approval.approve", "app.activated"]
    );

    // Decided is final, whoever asks.
    server.add_user("remy", &[Role::Reviewer]);
    server.decide("remy", &second, "reject", "too late").await.expect_code(409, "already_decided");
    server.decide("remy", &second, "approve", "").await.expect_code(409, "already_decided");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_is_approved_by_one_lead() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    server.decide("pat", &approval, "approve", "1").await.expect(200);
    let decided = server.approval(approval["id"].as_str().unwrap()).await;
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decisions"][0]["role"], "lead");
    assert_eq!(server.app(app["id"].as_str().unwrap()).await["state"], "active");
    server.decide("riley", &decided, "approve", "").await.expect_code(409, "already_decided");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_rev_is_412_and_changes_nothing() {
    let server = TestServer::start().await;
    let (_, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let (id, rev) = (approval["id"].as_str().unwrap(), approval["rev"].as_u64().unwrap());
    let head = server.head().await;
    for stale in [rev - 1, rev + 1, 0] {
        server.decide_at("riley", id, "approve", "", stale).await.expect_code(412, "stale_revision");
    }
    assert_eq!(server.head().await, head);
    assert_eq!(server.approval(id).await["status"], "pending");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deciders_get_one_success_and_one_conflict() {
    let server = TestServer::start().await;
    for round in 0..5 {
        let (_, approval) = server.intake("olive", &medium_manifest(&format!("race-{round}"))).await;
        let (a, b) = tokio::join!(
            server.decide("riley", &approval, "approve", ""),
            server.decide("pat", &approval, "reject", "no"),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {} / {}", a.text, b.text);
        let loser = if a.status.as_u16() == 409 { a } else { b };
        loser.expect_code(409, "already_decided");
        let decided = server.approval(approval["id"].as_str().unwrap()).await;
        assert_eq!(decided["decisions"].as_array().unwrap().len(), 1, "no silent overwrite");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_replay_the_first_answer() {
    let server = TestServer::start().await;
    let manifest = medium_manifest("holidays");
    let first = server.post_keyed("olive", "/v1/intake", &manifest, "key-1").await;
    assert_eq!(first.status.as_u16(), 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let head = server.head().await;

    let retry = server.post_keyed("olive", "/v1/intake", &manifest, "key-1").await;
    assert_eq!(retry.status, first.status);
    assert_eq!(retry.text, first.text, "the same body, byte for byte");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.head().await, head, "the retry recorded nothing");
    assert_eq!(server.all_changes("olive").await.len(), 2, "one app and one request");

    // The same key with a different body is refused, and records nothing.
    let other = medium_manifest("other");
    server.post_keyed("olive", "/v1/intake", &other, "key-1").await.expect_code(422, "idempotency_key_reused");
    assert_eq!(server.head().await, head);

    // Two copies of one request racing: one runs, the other replays it.
    let racing = medium_manifest("racing");
    let (a, b) = tokio::join!(
        server.post_keyed("olive", "/v1/intake", &racing, "key-race"),
        server.post_keyed("olive", "/v1/intake", &racing, "key-race"),
    );
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201));
    assert_eq!(a.text, b.text);
    let replayed = [a.header("idempotent-replayed"), b.header("idempotent-replayed")];
    assert!(replayed.contains(&Some("true")) && replayed.contains(&None), "{replayed:?}");
    let head = server.head().await;

    // Keys are per user: omar's key-1 is his own (for an app of another
    // name: two live apps never share one).
    let omars = server.post_keyed("omar", "/v1/intake", &medium_manifest("omars-holidays"), "key-1").await.expect(201);
    assert_ne!(omars["app"]["id"], first.json()["app"]["id"]);
    assert_eq!(omars["app"]["owner"], "omar");
    assert!(server.head().await.0 > head.0);

    // Decisions replay too: the retry is not a 409.
    let approval = &first.json()["approval"];
    let path = format!("/v1/approvals/{}/decisions", approval["id"].as_str().unwrap());
    let decision = json!({"decision": "approve", "comment": "ok", "rev": approval["rev"]});
    let decided = server.post_keyed("riley", &path, &decision, "d-1").await;
    assert_eq!(decided.status.as_u16(), 200);
    let head = server.head().await;
    let replay = server.post_keyed("riley", &path, &decision, "d-1").await;
    assert_eq!((replay.status, &replay.text), (decided.status, &decided.text));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.head().await, head);
    // The same key on another route is a different request.
    let renew_path = format!("/v1/apps/{}/renewals", first.json()["app"]["id"].as_str().unwrap());
    server.post_keyed("riley", &renew_path, &json!({}), "d-1").await.expect_code(422, "idempotency_key_reused");

    // A refused request is not recorded: the key stays free for a good one.
    let bad = json!({"decision": "reject", "comment": "", "rev": 1});
    let (_, second) = server.intake("olive", &medium_manifest("second")).await;
    let path = format!("/v1/approvals/{}/decisions", second["id"].as_str().unwrap());
    server.post_keyed("riley", &path, &bad, "d-2").await.expect_error(412);
    let good = json!({"decision": "reject", "comment": "no", "rev": second["rev"]});
    server.post_keyed("riley", &path, &good, "d-2").await.expect(200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_in_every_state() {
    let server = TestServer::start().await;
    let live = |name: &str, ttl: &str| low_manifest(name, ttl, true);
    let id = |app: &Value| app["id"].as_str().unwrap().to_string();
    let (active, _) = server.intake("olive", &live("active", "supported")).await;
    let (expiring, _) = server.intake("olive", &live("expiring", "prototype")).await;
    let (quarantined, _) = server.intake("olive", &live("quarantined", "prototype")).await;
    let (read_only, _) = server.intake("olive", &live("read-only", "prototype")).await;
    let (decommissioned, _) = server.intake("olive", &live("decommissioned", "prototype")).await;
    let (omars, _) = server.intake("omar", &live("omars", "prototype")).await;
    let (pending, request) = server.intake("olive", &medium_manifest("pending")).await;
    assert_eq!(request["status"], "pending");

    // Day 17: the prototypes have 13 days left.
    server.advance_days(17).await;
    assert_eq!(server.app(&id(&expiring)).await["state"], "expiring");
    assert_eq!(server.app(&id(&active)).await["state"], "active");
    let renewed = server.renew("olive", &id(&active), &json!({})).await.expect(200);
    assert_eq!(renewed["app"]["state"], "active");
    assert_eq!(ts(&renewed["app"]["expires_at"]), server_now(&server) + Duration::days(365));
    let renewed = server.renew("olive", &id(&expiring), &json!({"days": 20})).await.expect(200);
    assert_eq!(renewed["app"]["state"], "active");
    assert_eq!(ts(&renewed["app"]["expires_at"]), server_now(&server) + Duration::days(20));
    // The class bounds the days; a reviewer may not renew; a lead may; another owner does not see it.
    server.renew("olive", &id(&expiring), &json!({"days": 31})).await.expect_code(400, "bad_request");
    server.renew("olive", &id(&active), &json!({"days": 366})).await.expect_code(400, "bad_request");
    server.renew("riley", &id(&expiring), &json!({})).await.expect_code(403, "forbidden");
    server.renew("omar", &id(&expiring), &json!({})).await.expect_code(404, "not_found");
    server.renew("olive", &id(&omars), &json!({})).await.expect_code(404, "not_found");
    let by_lead = server.renew("pat", &id(&omars), &json!({"days": 30})).await.expect(200);
    assert_eq!(ts(&by_lead["app"]["expires_at"]), server_now(&server) + Duration::days(30));
    // A pending app is not renewable; an empty body means the class default.
    server.renew("olive", &id(&pending), &json!({})).await.expect_code(409, "not_renewable");
    let path = format!("/v1/apps/{}/renewals", id(&active));
    let empty = server.send(reqwest::Method::POST, Some("olive"), &path, None, None).await.expect(200);
    assert_eq!(ts(&empty["app"]["expires_at"]), server_now(&server) + Duration::days(365));

    // Day 31: past the 30-day TTL.
    server.advance_days(14).await;
    assert_eq!(server.app(&id(&quarantined)).await["state"], "quarantined");
    let renewed = server.renew("olive", &id(&quarantined), &json!({})).await.expect(200);
    assert_eq!(renewed["app"]["state"], "active");
    assert_eq!(ts(&renewed["app"]["expires_at"]), server_now(&server) + Duration::days(30));

    // Day 38: read-only. A renewal files a request instead.
    server.advance_days(7).await;
    assert_eq!(server.app(&id(&read_only)).await["state"], "read_only");
    let head = server.head().await;
    let filed = server.renew("olive", &id(&read_only), &json!({})).await.expect(202);
    let approval = &filed["approval"];
    assert_eq!(approval["kind"], "renewal");
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["app_id"], read_only["id"]);
    assert_eq!(approval["requested_by"], "olive");
    assert!(filed.get("app").is_none(), "202 answers the request: {filed}");
    assert_eq!(server.head().await.0, head.0 + 1);
    server.renew("olive", &id(&read_only), &json!({})).await.expect_code(409, "conflict");
    assert_eq!(server.app(&id(&read_only)).await["state"], "read_only", "still read-only until approved");
    // Approving it brings the app back.
    server.decide("riley", approval, "approve", "").await.expect(200);
    let back = server.app(&id(&read_only)).await;
    assert_eq!(back["state"], "active");
    assert_eq!(ts(&back["expires_at"]), server_now(&server) + Duration::days(30));

    // Day 68: decommissioned is final.
    server.advance_days(30).await;
    assert_eq!(server.app(&id(&decommissioned)).await["state"], "decommissioned");
    let head = server.head().await;
    server.renew("olive", &id(&decommissioned), &json!({})).await.expect_code(409, "final_state");
    server.renew("pat", &id(&decommissioned), &json!({})).await.expect_code(409, "final_state");
    assert_eq!(server.head().await, head);
    server.stop().await;
}

fn server_now(server: &TestServer) -> chrono::DateTime<chrono::Utc> {
    use govdeck::clock::Clock;
    server.clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_follows_the_clock() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let app_id = app["id"].as_str().unwrap();
    let expires_at = ts(&app["expires_at"]);
    assert_eq!(expires_at, t0() + Duration::days(30));

    // (days to advance, the state after, when the step took effect)
    let steps = [
        (10, "active", None),
        (7, "expiring", Some(expires_at - Duration::days(14))),
        (12, "expiring", None),
        (1, "quarantined", Some(expires_at)),
        (6, "quarantined", None),
        (1, "read_only", Some(expires_at + Duration::days(7))),
        (29, "read_only", None),
        (1, "decommissioned", Some(expires_at + Duration::days(37))),
        (400, "decommissioned", None),
    ];
    let mut seen_policy_events = 0;
    let mut since = server.get("olive", "/v1/changes").await.expect(200)["next"].as_u64().unwrap();
    for (days, state, effective_at) in steps {
        server.advance_days(days).await;
        let page = server.get("olive", &format!("/v1/changes?since={since}")).await.expect(200);
        let items = page["items"].as_array().unwrap();
        let policy: Vec<Value> = server
            .all_audit("olive")
            .await
            .into_iter()
            .filter(|e| e["actor_id"] == "policy" && e["action_type"] != "approval.auto_approved")
            .collect();
        match effective_at {
            None => {
                assert!(items.is_empty(), "day +{days}: nothing changed, got {items:?}");
                assert_eq!(page["next"].as_u64().unwrap(), since, "no change keeps `next`");
                assert_eq!(policy.len(), seen_policy_events);
            }
            Some(at) => {
                assert_eq!(items.len(), 1, "{state}: one upsert of the app: {items:?}");
                assert_eq!(
                    (&items[0]["kind"], &items[0]["op"], &items[0]["id"]),
                    (&json!("app"), &json!("upsert"), &json!(app_id))
                );
                assert_eq!(items[0]["data"]["state"], state);
                assert_eq!(ts(&items[0]["data"]["state_since"]), at);
                assert_eq!(policy.len(), seen_policy_events + 1, "one policy event per step");
                let event = policy.last().unwrap();
                assert_eq!(event["action_type"], format!("lifecycle.{state}"));
                assert_eq!(event["actor_role"], "policy");
                assert_eq!(event["app_id"], app_id);
                assert_eq!(event["request_context"]["to"], state);
                assert_eq!(ts(&event["request_context"]["effective_at"]), at);
                seen_policy_events += 1;
                since = page["next"].as_u64().unwrap();
            }
        }
        assert_eq!(server.app(app_id).await["state"], state);
    }
    assert_eq!(seen_policy_events, 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_lifecycle_run_cascades_through_every_step() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let (pending, _) = server.intake("olive", &medium_manifest("waiting")).await;
    server.advance_days(80).await;
    let app = server.app(app["id"].as_str().unwrap()).await;
    assert_eq!(app["state"], "decommissioned");
    let actions: Vec<String> = server
        .all_audit("riley")
        .await
        .iter()
        .filter(|e| e["actor_id"] == "policy" && e["app_id"] == app["id"])
        .map(|e| e["action_type"].as_str().unwrap().to_string())
        .filter(|action| action.starts_with("lifecycle."))
        .collect();
    // Past the expiry already, so no expiring step; inactivity is not due yet at 80 days.
    assert_eq!(actions, ["lifecycle.quarantined", "lifecycle.read_only", "lifecycle.decommissioned"]);
    assert_eq!(server.app(pending["id"].as_str().unwrap()).await["state"], "pending", "pending apps have no TTL");
    assert_eq!(server.state.run_lifecycle().await.unwrap(), 0, "a second pass at the same time does nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_apps_are_flagged_then_scheduled_for_retirement() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "supported", true)).await;
    let app_id = app["id"].as_str().unwrap();
    server.advance_days(90).await;
    let flagged = server.app(app_id).await;
    assert!(flagged["flags"].as_array().unwrap().contains(&json!("inactive_90d")), "{flagged}");
    assert_eq!(flagged["state"], "active");
    // A renewal counts as activity and clears the flag.
    server.renew("olive", app_id, &json!({})).await.expect(200);
    let renewed = server.app(app_id).await;
    assert!(renewed["flags"].as_array().unwrap().is_empty(), "{renewed}");

    server.advance_days(180).await;
    let scheduled = server.app(app_id).await;
    let flags = scheduled["flags"].as_array().unwrap();
    assert!(flags.contains(&json!("retirement_scheduled")), "{scheduled}");
    assert_eq!(ts(&scheduled["expires_at"]), server_now(&server) + Duration::days(14));
    assert_eq!(scheduled["state"], "active", "exactly 14 days left is not yet expiring");
    let actions: Vec<Value> = server
        .all_audit("olive")
        .await
        .iter()
        .filter(|e| e["actor_id"] == "policy")
        .map(|e| e["action_type"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            "approval.auto_approved",
            "lifecycle.flag_inactive",
            "lifecycle.flag_inactive",
            "lifecycle.retirement_scheduled",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_request_cannot_revive_a_decommissioned_app() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let app_id = app["id"].as_str().unwrap();
    server.advance_days(37).await;
    assert_eq!(server.app(app_id).await["state"], "read_only");
    let request = server.renew("olive", app_id, &json!({})).await.expect(202)["approval"].clone();
    // Nobody decides it within the 30 read-only days.
    server.advance_days(30).await;
    assert_eq!(server.app(app_id).await["state"], "decommissioned");
    // The ladder closed the request by policy: it left the queue, and no
    // decision can reopen it or the app.
    let closed = server.approval(request["id"].as_str().unwrap()).await;
    assert_eq!((closed["status"].as_str(), closed["closed"]["by"].as_str()), (Some("closed"), Some("policy")));
    let head = server.head().await;
    server.decide("riley", &request, "approve", "").await.expect_code(409, "already_decided");
    server.decide("riley", &request, "reject", "app is gone").await.expect_code(409, "already_decided");
    assert_eq!(server.head().await, head);
    assert_eq!(server.app(app_id).await["state"], "decommissioned", "decommissioned is final");
    server.stop().await;
}
