//! What each caller may read and how sync pages through it, runtime event
//! ingest, and tamper detection of the hash-chained audit log on copies of a
//! database the real server wrote.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use chrono::Duration;
use common::{DB_FILE, TestServer, design_example, low_manifest, medium_manifest, ts};
use govdeck::clock::Clock;
use govdeck::domain::Visibility;
use govdeck::store::{Store, audit};
use serde_json::{Value, json};

fn ids(values: &[Value]) -> BTreeSet<String> {
    values.iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

/// A catalog with apps of olive and omar, requests, decisions and ingest events.
async fn mixed_catalog(server: &TestServer) -> (Vec<Value>, Vec<Value>) {
    let mut olives = Vec::new();
    let mut omars = Vec::new();
    let (app, approval) = server.intake("olive", &medium_manifest("olive-1")).await;
    server.decide("riley", &approval, "approve", "").await.expect(200);
    olives.push(app);
    olives.push(server.intake("olive", &low_manifest("olive-2", "prototype", true)).await.0);
    olives.push(server.intake("olive", &design_example()).await.0);
    omars.push(server.intake("omar", &medium_manifest("omar-1")).await.0);
    let mut for_omar = medium_manifest("omar-2");
    for_omar["owner"] = json!("omar");
    let (app, approval) = server.intake("pat", &for_omar).await;
    server.decide("riley", &approval, "reject", "no budget").await.expect(200);
    omars.push(app);
    let events = json!({"events": [
        {"action_type": "export", "app_id": olives[0]["id"]},
        {"action_type": "dlp.block", "app_id": omars[0]["id"], "outcome": "blocked"},
        {"action_type": "platform.heartbeat"},
    ]});
    server.post("ingo", "/v1/audit/events", &events).await.expect(201);
    (olives, omars)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_syncs_only_their_own_apps_requests_and_events() {
    let server = TestServer::start().await;
    let (olives, omars) = mixed_catalog(&server).await;
    let olive_ids = ids(&olives);
    let omar_ids = ids(&omars);

    for (owner, own_ids) in [("olive", &olive_ids), ("omar", &omar_ids)] {
        let items = server.all_changes(owner).await;
        assert!(!items.is_empty());
        for item in &items {
            assert_eq!(item["op"], "upsert");
            let data = &item["data"];
            match item["kind"].as_str().unwrap() {
                "app" => assert_eq!(data["owner"], owner, "{owner} got {item}"),
                "approval" => {
                    assert_eq!(data["app_owner"], owner, "{owner} got {item}");
                    assert!(own_ids.contains(data["app_id"].as_str().unwrap()));
                }
                other => panic!("unknown kind {other}"),
            }
        }
        let apps: Vec<Value> = items.iter().filter(|i| i["kind"] == "app").cloned().collect();
        assert_eq!(&ids(&apps), own_ids, "{owner} sees every own app");

        let events = server.all_audit(owner).await;
        assert!(!events.is_empty());
        for event in &events {
            let app_id = event["app_id"].as_str().unwrap_or_else(|| panic!("{owner} got an event of no app: {event}"));
            assert!(own_ids.contains(app_id), "{owner} got an event of {app_id}");
        }
    }

    // Reviewers and leads read everything.
    for reader in ["riley", "pat"] {
        let apps: Vec<Value> = server.all_changes(reader).await.into_iter().filter(|i| i["kind"] == "app").collect();
        assert_eq!(ids(&apps), olive_ids.union(&omar_ids).cloned().collect());
        let events = server.all_audit(reader).await;
        let head = server.head().await.0;
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "{reader} reads the whole log in order");
        // What the owners read, together with the event of no app, is all of it.
        let olive_events = server.all_audit("olive").await.len();
        let omar_events = server.all_audit("omar").await.len();
        let no_app = events.iter().filter(|e| e["app_id"].is_null()).count();
        assert_eq!(olive_events + omar_events + no_app, events.len());
    }
    // An admin owns no apps and reads none; an ingest bot reads nothing at all.
    assert!(server.all_changes("ada").await.is_empty());
    assert!(server.all_audit("ada").await.is_empty());
    server.get("ingo", "/v1/changes").await.expect_code(403, "forbidden");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_item_exactly_once() {
    let server = TestServer::start().await;
    mixed_catalog(&server).await;
    for n in 0..4 {
        server.intake("olive", &medium_manifest(&format!("more-{n}"))).await;
    }
    for user in ["riley", "olive"] {
        let everything = server.get(user, "/v1/changes").await.expect(200);
        assert_eq!(everything["more"], false);
        let all: Vec<(String, String)> = everything["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["kind"].as_str().unwrap().to_string(), i["id"].as_str().unwrap().to_string()))
            .collect();
        assert!(all.len() > 5);
        for limit in [1, 2, 3, 7] {
            let (mut seen, mut since, mut last_rev) = (Vec::new(), 0, 0);
            loop {
                let page = server.get(user, &format!("/v1/changes?since={since}&limit={limit}")).await.expect(200);
                let items = page["items"].as_array().unwrap();
                let more = page["more"].as_bool().unwrap();
                assert!(items.len() <= limit);
                if more {
                    assert_eq!(items.len(), limit, "a page with more after it is full");
                }
                for item in items {
                    let rev = item["rev"].as_u64().unwrap();
                    assert!(rev > last_rev, "revs increase");
                    last_rev = rev;
                    seen.push((item["kind"].as_str().unwrap().to_string(), item["id"].as_str().unwrap().to_string()));
                }
                let next = page["next"].as_u64().unwrap();
                assert_eq!(next, items.last().map_or(since, |i| i["rev"].as_u64().unwrap()));
                since = next;
                if !more {
                    break;
                }
            }
            assert_eq!(seen, all, "{user}, limit {limit}");
            let unique: HashSet<_> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "no item twice");

            // A poll with nothing new: no items, `next` unchanged.
            let poll = server.get(user, &format!("/v1/changes?since={since}&limit={limit}")).await.expect(200);
            assert_eq!(poll, json!({"items": [], "next": since, "more": false}));
        }

        // Audit pages, by `after`.
        let whole = server.all_audit(user).await;
        for limit in [1, 4] {
            let (mut seqs, mut after) = (Vec::new(), 0);
            loop {
                let page = server.get(user, &format!("/v1/audit?after={after}&limit={limit}")).await.expect(200);
                let events = page["events"].as_array().unwrap();
                seqs.extend(events.iter().map(|e| e["seq"].as_u64().unwrap()));
                after = *seqs.last().unwrap_or(&after);
                if !page["more"].as_bool().unwrap() {
                    break;
                }
                assert_eq!(events.len(), limit);
            }
            let whole_seqs: Vec<u64> = whole.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
            assert_eq!(seqs, whole_seqs, "{user}, audit limit {limit}");
            let poll = server.get(user, &format!("/v1/audit?after={after}")).await.expect(200);
            assert_eq!(poll, json!({"events": [], "more": false}));
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_after_a_poll_comes_in_the_next_poll() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let since = server.get("olive", "/v1/changes").await.expect(200)["next"].as_u64().unwrap();
    server.decide("riley", &approval, "approve", "").await.expect(200);
    let page = server.get("olive", &format!("/v1/changes?since={since}")).await.expect(200);
    let items = page["items"].as_array().unwrap();
    let got: BTreeSet<(&str, &str)> =
        items.iter().map(|i| (i["kind"].as_str().unwrap(), i["id"].as_str().unwrap())).collect();
    let want: BTreeSet<(&str, &str)> =
        [("app", app["id"].as_str().unwrap()), ("approval", approval["id"].as_str().unwrap())].into();
    assert_eq!(got, want);
    let approval_item = items.iter().find(|i| i["kind"] == "approval").unwrap();
    assert_eq!(approval_item["data"]["status"], "approved");
    assert_eq!(approval_item["data"]["rev"], approval_item["rev"], "the data carries its own rev");
    // Omar's poll sees none of it.
    let omar = server.get("omar", "/v1/changes?since=0").await.expect(200);
    assert_eq!(omar, json!({"items": [], "next": 0, "more": false}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_appends_runtime_events() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "supported", true)).await;
    let app_id = app["id"].as_str().unwrap();
    let before = server.head().await;
    let at = server.clock.now() - Duration::hours(2);
    let batch = json!({"events": [
        {"action_type": "export", "app_id": app_id, "resource_type": "dataset", "resource_id": "ds-1",
         "request_context": {"rows": 1200}, "timestamp": at},
        {"action_type": "dlp.block", "app_id": app_id, "outcome": "blocked", "error_code": "DLP-7",
         "actor_id": "olive", "actor_role": "owner"},
        {"action_type": "platform.heartbeat"},
    ]});
    let answer = server.post("ingo", "/v1/audit/events", &batch).await.expect(201);
    assert_eq!(answer["accepted"], 3);
    assert_eq!(answer["head"]["seq"], before.0 + 3);
    let head = server.head().await;
    assert_eq!(answer["head"], json!({"seq": head.0, "hash": head.1}));

    let events = server.all_audit("riley").await;
    let new = &events[events.len() - 3..];
    assert_eq!(new[0]["action_type"], "export");
    assert_eq!(new[0]["actor_id"], "ingo", "the actor defaults to the token's user");
    assert_eq!(new[0]["actor_role"], "ingest");
    assert_eq!(new[0]["outcome"], "success");
    assert_eq!(new[0]["resource_type"], "dataset");
    assert_eq!(new[0]["request_context"], json!({"rows": 1200}));
    assert_eq!(ts(&new[0]["timestamp"]), at, "ingest may backdate: the platform's claim is kept");
    assert_eq!(new[1]["outcome"], "blocked");
    assert_eq!(new[1]["error_code"], "DLP-7");
    // The actor a platform names is kept as its claim; who reported it is the token's user.
    assert_eq!((&new[1]["actor_id"], &new[1]["actor_role"]), (&json!("olive"), &json!("owner")));
    for event in new {
        assert_eq!(event["reported_by"], "ingo", "the ingest principal is recorded: {event}");
        assert_eq!(ts(&event["recorded_at"]), server.clock.now(), "the server's own time of recording");
    }
    assert!(new[2]["app_id"].is_null());
    assert_eq!(new[2]["prev_hash"], new[1]["hash"]);
    // The owner sees the events of her app, not the platform's.
    let olives: Vec<Value> = server.all_audit("olive").await;
    assert_eq!(olives.iter().filter(|e| e["actor_id"] == "ingo" || e["action_type"] == "dlp.block").count(), 2);

    // Exactly the most allowed is fine.
    let full: Vec<Value> =
        (0..1000).map(|n| json!({"action_type": "export", "resource_id": format!("r{n}")})).collect();
    let answer = server.post("ingo", "/v1/audit/events", &json!({"events": full})).await.expect(201);
    assert_eq!(answer["head"]["seq"], head.0 + 1000);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ingest_is_refused_whole() {
    let server = TestServer::start().await;
    server.intake("olive", &medium_manifest("holidays")).await;
    let head = server.head().await;
    let one = json!({"events": [{"action_type": "export"}]});
    for user in ["olive", "riley", "pat", "ada"] {
        server.post(user, "/v1/audit/events", &one).await.expect_code(403, "forbidden");
    }
    let future = server.clock.now() + Duration::minutes(5);
    let too_many: Vec<Value> = (0..1001).map(|_| json!({"action_type": "export"})).collect();
    for (what, body) in [
        ("1001 events", json!({"events": too_many})),
        ("no events", json!({"events": []})),
        ("empty action_type", json!({"events": [{"action_type": "ok"}, {"action_type": ""}]})),
        ("blank action_type", json!({"events": [{"action_type": "  "}]})),
        ("missing action_type", json!({"events": [{"app_id": "x"}]})),
        ("unknown field", json!({"events": [{"action_type": "export", "hash": "00"}]})),
        ("unknown outcome", json!({"events": [{"action_type": "export", "outcome": "meh"}]})),
        ("future timestamp", json!({"events": [{"action_type": "export", "timestamp": future}]})),
        ("bad timestamp", json!({"events": [{"action_type": "export", "timestamp": "yesterday"}]})),
        ("long field", json!({"events": [{"action_type": "export", "user_agent": "u".repeat(501)}]})),
        ("big context", json!({"events": [{"action_type": "export", "request_context": {"x": "c".repeat(9000)}}]})),
        ("not a list", json!({"events": {"action_type": "export"}})),
        ("no events key", json!({"event": []})),
    ] {
        let resp = server.post("ingo", "/v1/audit/events", &body).await;
        assert_eq!(resp.status.as_u16(), 400, "{what}: {}", resp.text);
        resp.expect_error(400);
    }
    assert_eq!(server.head().await, head, "nothing of a refused batch is written");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_may_not_report_governance_events() {
    let server = TestServer::start().await;
    let (app, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    let app_id = app["id"].as_str().unwrap();
    let head = server.head().await;
    let runtime = json!({"action_type": "data.export", "app_id": app_id});
    for (what, event) in [
        (
            "an approval",
            json!({"action_type": "approval.approve", "app_id": app_id, "approval_id": approval["id"],
            "actor_id": "riley", "actor_role": "reviewer"}),
        ),
        ("a lifecycle step", json!({"action_type": "lifecycle.quarantine", "app_id": app_id})),
        ("a lifecycle step in capitals", json!({"action_type": "Lifecycle.Quarantined", "app_id": app_id})),
        ("an app registration", json!({"action_type": "app.registered", "app_id": app_id})),
        ("a policy change", json!({"action_type": "policy.updated"})),
        ("a user change", json!({"action_type": "user.created"})),
        ("a checkpoint", json!({"action_type": "checkpoint.signed"})),
        ("the policy as actor", json!({"action_type": "data.export", "actor_id": "policy", "actor_role": "service"})),
        ("the policy as role", json!({"action_type": "data.export", "actor_id": "x", "actor_role": "policy"})),
        ("the importer as actor", json!({"action_type": "data.export", "actor_id": "import:backstage"})),
    ] {
        // Last in a batch of good events: the whole batch is refused.
        let batch = json!({"events": [runtime, runtime, event]});
        let resp = server.post("ingo", "/v1/audit/events", &batch).await;
        assert_eq!(resp.status.as_u16(), 422, "{what}: {}", resp.text);
        resp.expect_code(422, "governance_event");
        assert!(resp.json()["error"]["message"].as_str().unwrap().contains("events[2]"), "{what}: {}", resp.text);
    }
    assert_eq!(server.head().await, head, "nothing of a refused batch is written");
    assert_eq!(server.app(app_id).await["state"], app["state"], "the app is untouched");
    assert_eq!(server.approval(approval["id"].as_str().unwrap()).await["status"], "pending");

    // Runtime verbs that only look alike are runtime events.
    let alike = json!({"events": [{"action_type": "approvals.exported"}, {"action_type": "auth.login"},
        {"action_type": "application.start", "actor_id": "policy-bot"}]});
    server.post("ingo", "/v1/audit/events", &alike).await.expect(201);
    assert_eq!(server.head().await.0, head.0 + 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_events_are_reported_by_the_acting_principal() {
    let server = TestServer::start().await;
    let (_, approval) = server.intake("olive", &medium_manifest("holidays")).await;
    server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    server.decide("riley", &approval, "approve", "").await.expect(200);
    server.advance_days(400).await;
    let events = server.all_audit("riley").await;
    let by = |action: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["action_type"] == action)
            .map(|e| (e["actor_id"].as_str().unwrap().to_string(), e["reported_by"].as_str().unwrap().to_string()))
            .collect()
    };
    assert!(by("app.registered").iter().all(|(actor, reporter)| actor == "olive" && reporter == "olive"));
    assert_eq!(by("approval.approve"), [("riley".to_string(), "riley".to_string())]);
    assert_eq!(by("app.activated"), [("riley".to_string(), "riley".to_string())]);
    // The policy's approval inside olive's intake call: reported by her.
    assert_eq!(by("approval.auto_approved"), [("policy".to_string(), "olive".to_string())]);
    let lifecycle: Vec<_> =
        events.iter().filter(|e| e["action_type"].as_str().unwrap().starts_with("lifecycle.")).collect();
    assert!(!lifecycle.is_empty(), "400 days on, the lifecycle ran");
    assert!(lifecycle.iter().all(|e| e["actor_id"] == "policy" && e["reported_by"] == "policy"), "{lifecycle:?}");
    assert!(events.iter().all(|e| e["recorded_at"].is_string()), "every new event has its recording time");
    server.stop().await;
}

/// Runs a mixed history (intake, decisions, renewals, ingest, lifecycle),
/// stops the server and checkpoints the WAL into the database file.
async fn history_on_disk() -> (tempfile::TempDir, u64) {
    let server = TestServer::start().await;
    mixed_catalog(&server).await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    server.advance_days(20).await;
    server.renew("olive", app["id"].as_str().unwrap(), &json!({"days": 10})).await.expect(200);
    server.advance_days(40).await;
    let head = server.head().await.0;
    let dir = server.stop().await;
    let db = dir.path().join(DB_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(busy, 0, "the checkpoint ran: nothing holds the database");
    drop(conn);
    (dir, head)
}

fn copy_db(dir: &Path, name: &str) -> PathBuf {
    let copy = dir.join(format!("{name}.db"));
    std::fs::copy(dir.join(DB_FILE), &copy).unwrap();
    copy
}

fn verify(path: &Path) -> audit::VerifyReport {
    let store = Store::open_read_only(path).unwrap();
    audit::verify(store.conn()).unwrap()
}

fn broken_at(path: &Path) -> u64 {
    let report = verify(path);
    report.result.unwrap_err().seq()
}

fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

const AUDIT_FIELDS: &str = "event_id, timestamp, actor_id, actor_role, app_id, version, environment, action_type, \
    resource_type, resource_id, data_classification, outcome, error_code, ip_address, user_agent, request_context, \
    risk_score_at_time, approval_id, prev_hash, hash, reported_by, recorded_at";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_found_at_the_first_bad_seq() {
    let (dir, head) = history_on_disk().await;
    let dir = dir.path();
    assert!(head > 20, "a history worth tampering with: {head} events");

    let clean = copy_db(dir, "clean");
    let report = verify(&clean);
    assert!(report.result.is_ok(), "{:?}", report.result);
    assert_eq!((report.verified, report.head.seq), (head, head));

    // One field of one event, whichever field it is.
    for (n, (column, value)) in [
        ("actor_id", "'mallory'"),
        ("timestamp", "'2026-03-02T09:00:00.000001Z'"),
        ("outcome", "'failure'"),
        ("outcome", "'bogus'"),
        ("request_context", "'{\"comment\":\"edited\"}'"),
        ("app_id", "NULL"),
        ("risk_score_at_time", "99"),
        ("action_type", "'approval.approve'"),
        ("reported_by", "'riley'"),
        ("reported_by", "NULL"),
        ("recorded_at", "'2026-03-02T09:00:00.000001Z'"),
        ("recorded_at", "'soon'"),
    ]
    .into_iter()
    .enumerate()
    {
        let copy = copy_db(dir, &format!("edit-{n}"));
        tamper(&copy, &format!("UPDATE audit SET {column} = {value} WHERE seq = 5"));
        assert_eq!(broken_at(&copy), 5, "edited {column}");
    }

    let deleted = copy_db(dir, "deleted");
    tamper(&deleted, "DELETE FROM audit WHERE seq = 7");
    assert_eq!(broken_at(&deleted), 7);

    let first_deleted = copy_db(dir, "first-deleted");
    tamper(&first_deleted, "DELETE FROM audit WHERE seq = 1");
    assert_eq!(broken_at(&first_deleted), 1);

    let swapped = copy_db(dir, "swapped");
    tamper(
        &swapped,
        &format!(
            "CREATE TEMP TABLE original AS SELECT * FROM audit WHERE seq IN (8, 9);
             UPDATE audit SET ({AUDIT_FIELDS}) = (SELECT {AUDIT_FIELDS} FROM original
                 WHERE original.seq = CASE audit.seq WHEN 8 THEN 9 ELSE 8 END)
             WHERE seq IN (8, 9);"
        ),
    );
    assert_eq!(broken_at(&swapped), 8);

    let renumbered = copy_db(dir, "renumbered");
    tamper(&renumbered, "UPDATE audit SET seq = 1000 WHERE seq = 3");
    assert_eq!(broken_at(&renumbered), 3);

    let truncated = copy_db(dir, "truncated");
    tamper(&truncated, &format!("DELETE FROM audit WHERE seq > {}", head - 3));
    assert_eq!(broken_at(&truncated), head - 2);

    let emptied = copy_db(dir, "emptied");
    tamper(&emptied, "DELETE FROM audit");
    assert_eq!(broken_at(&emptied), 1);

    // An edit whose tail is re-hashed into a valid chain still disagrees with the head.
    let rehashed = copy_db(dir, "rehashed");
    rehash_from(&rehashed, 10);
    assert_eq!(broken_at(&rehashed), head);

    // The untouched copy still passes after all that.
    assert!(verify(&clean).result.is_ok());
}

/// Edits event `from` and rewrites every hash after it so the chain links.
fn rehash_from(path: &Path, from: u64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let (mut events, _) = audit::page(&conn, 0, 100_000, &Visibility::All).unwrap();
    let mut prev = events[from as usize - 2].hash.clone();
    for event in events.iter_mut().skip(from as usize - 1) {
        if event.seq == from {
            event.actor_id = "mallory".into();
        }
        event.prev_hash = prev;
        event.hash = event.compute_hash();
        prev = event.hash.clone();
        conn.execute(
            "UPDATE audit SET actor_id = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![event.actor_id, event.prev_hash, event.hash, event.seq as i64],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_audit_verify_names_the_first_bad_seq() {
    let (dir, head) = history_on_disk().await;
    let dir = dir.path();
    let run = |path: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
            .args(["audit", "verify", "--db"])
            .arg(path)
            .env("NO_COLOR", "1")
            .output()
            .expect("run govdeck audit verify")
    };

    let clean = copy_db(dir, "clean");
    let ok = run(&clean);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout} {}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.contains(&format!("{head} events")), "{stdout}");

    let edited = copy_db(dir, "edited");
    tamper(&edited, "UPDATE audit SET actor_id = 'mallory' WHERE seq = 4");
    let truncated = copy_db(dir, "truncated");
    tamper(&truncated, &format!("DELETE FROM audit WHERE seq >= {}", head - 1));
    // Who reported an event is hashed: passing an ingested event off as the server's own fails.
    let reporter = copy_db(dir, "reporter");
    tamper(
        &reporter,
        "UPDATE audit SET reported_by = actor_id WHERE seq = (SELECT MIN(seq) FROM audit WHERE reported_by != actor_id)",
    );
    let reported_seq: u64 = rusqlite::Connection::open(copy_db(dir, "probe"))
        .unwrap()
        .query_row("SELECT MIN(seq) FROM audit WHERE reported_by != actor_id", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    for (copy, seq) in [(edited, 4), (truncated, head - 1), (reporter, reported_seq)] {
        let broken = run(&copy);
        let stdout = String::from_utf8_lossy(&broken.stdout);
        assert!(!broken.status.success(), "tampering must fail the command: {stdout}");
        assert_ne!(broken.status.code(), Some(1), "tampering is told apart from an error: {stdout}");
        assert!(stdout.contains(&format!("seq {seq}")), "names seq {seq}: {stdout}");
    }

    let missing = run(&dir.join("no-such.db"));
    assert!(!missing.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_limits_are_cut_to_the_largest_page() {
    let server = TestServer::start().await;
    let batch: Vec<Value> =
        (0..1000).map(|n| json!({"action_type": "export", "resource_id": format!("r{n}")})).collect();
    for _ in 0..6 {
        server.post("ingo", "/v1/audit/events", &json!({"events": batch})).await.expect(201);
    }
    let page = server.get("riley", "/v1/audit?limit=4000000000").await.expect(200);
    assert_eq!(page["events"].as_array().unwrap().len(), 5000);
    assert_eq!(page["more"], true);
    let rest = server.get("riley", "/v1/audit?after=5000").await.expect(200);
    assert_eq!(rest["events"].as_array().unwrap().len(), 500, "the default page is 500");
    assert_eq!(rest["more"], true);
    assert_eq!(server.all_audit("riley").await.len(), 6000);
    server.stop().await;
}
