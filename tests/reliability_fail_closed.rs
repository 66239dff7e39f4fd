//! The audit log fails closed: when the audit write fails inside a state
//! change, the change is refused with the error body and nothing of it
//! lands: the request stays pending at the same rev, the app keeps its
//! expiry, no event is appended and the Idempotency-Key is not spent.
//!
//! The fault is a trigger that aborts every insert into `audit`, created on
//! a second connection while the server runs (WAL lets it do DDL beside the
//! server's connections).

mod common;

use common::{DB_FILE, TestServer, low_manifest, medium_manifest};
use rusqlite::Connection;
use serde_json::json;

fn break_audit(server: &TestServer) -> Connection {
    let conn = Connection::open(server.dir().join(DB_FILE)).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END;",
    )
    .unwrap();
    conn
}

fn mend_audit(conn: &Connection) {
    conn.execute_batch("DROP TRIGGER fail_audit;").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_audit_write_refuses_the_change_and_changes_nothing() {
    let server = TestServer::start().await;
    let (_, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let (live, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let approval_id = approval["id"].as_str().unwrap();
    let live_id = live["id"].as_str().unwrap();
    let rev = approval["rev"].as_u64().unwrap();
    server.clock.advance(chrono::Duration::days(3));
    let head = server.head().await;
    let changes = server.all_changes("riley").await.len();
    let expires_at = server.app(live_id).await["expires_at"].clone();

    let faults = break_audit(&server);
    let decisions = format!("/v1/approvals/{approval_id}/decisions");
    let renewals = format!("/v1/apps/{live_id}/renewals");
    let decision = json!({"decision": "approve", "comment": "ok", "rev": rev});
    let refused = [
        ("riley", decisions.as_str(), decision.clone(), "decide-1"),
        ("olive", renewals.as_str(), json!({"days": 20}), "renew-1"),
        ("olive", "/v1/intake", medium_manifest("blocked"), "intake-1"),
        ("ingo", "/v1/audit/events", json!({"events": [{"action_type": "export"}]}), "ingest-1"),
    ];
    for (user, path, body, key) in &refused {
        let resp = server.post_keyed(user, path, body, key).await;
        assert!(resp.status.is_server_error(), "{path}: refused while the audit log is down: {}", resp.text);
        assert_eq!(resp.expect_error(resp.status.as_u16()), "internal", "{path}");
        assert!(!resp.text.contains("audit unavailable"), "the cause stays in the server log: {}", resp.text);
    }

    // Nothing changed: same head, same rev, still pending, same expiry, nothing to sync.
    assert_eq!(server.head().await, head);
    let stored = server.approval(approval_id).await;
    assert_eq!((stored["status"].as_str(), stored["rev"].as_u64()), (Some("pending"), Some(rev)));
    assert!(stored["decisions"].as_array().unwrap().is_empty());
    assert_eq!(server.app(live_id).await["expires_at"], expires_at);
    assert_eq!(server.all_changes("riley").await.len(), changes, "no app, request or revision landed");
    // Reads keep working while writes are refused.
    server.get("riley", "/v1/audit?limit=1").await.expect(200);

    // Mended, the very same requests (same keys: a refusal spent none) succeed.
    mend_audit(&faults);
    let decided = server.post_keyed("riley", &decisions, &decision, "decide-1").await;
    assert_eq!(decided.header("idempotent-replayed"), None, "the failed attempt was not recorded");
    assert_eq!(decided.expect(200)["approval"]["status"], "approved");
    server.post_keyed("olive", &renewals, &json!({"days": 20}), "renew-1").await.expect(200);
    let events = server.all_audit("riley").await;
    let new: Vec<&str> = events
        .iter()
        .filter(|event| event["seq"].as_u64().unwrap() > head.0)
        .map(|event| event["action_type"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["approval.approve", "app.activated", "app.renewed"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_audit_write_stops_the_lifecycle_job_too() {
    let server = TestServer::start().await;
    let (live, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let live_id = live["id"].as_str().unwrap();
    let head = server.head().await;
    let faults = break_audit(&server);
    // 31 days on, the prototype expired: the policy would quarantine it, but
    // it cannot record that, so it does not do it.
    server.clock.advance(chrono::Duration::days(31));
    let refused = server.state.run_lifecycle().await.expect_err("the pass fails while the audit log is down");
    assert!(refused.status.is_server_error(), "{refused:?}");
    assert_eq!(server.app(live_id).await["state"], "active");
    assert_eq!(server.head().await, head);

    mend_audit(&faults);
    assert!(server.state.run_lifecycle().await.unwrap() > 0);
    assert_eq!(server.app(live_id).await["state"], "quarantined");
    server.stop().await;
}
