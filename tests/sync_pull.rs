//! Pulling the catalog into the cache over real HTTP: the first full sync,
//! incremental syncs (including deletes and changes of who may read what),
//! a sync with nothing new, and an owner's cache holding only that owner's
//! apps, requests and audit events.

mod sync_support;

use std::collections::BTreeSet;
use std::time::Instant;

use govdeck::cache::{self, Cache};
use govdeck::domain::Role;
use govdeck::domain::api::ChangeKind;
use govdeck::store;
use rusqlite::Connection;
use serde_json::Value;
use sync_support::{Caches, Server, Snapshot, View, manifest, runtime_event, sync, syncer};

/// The ids of what [`populate`] made.
struct Catalog {
    olive_high: (Value, Value),
    olive_medium: (Value, Value),
    olive_low: Value,
    omar_high: (Value, Value),
}

/// A small catalog made through the API as its users would: intakes of
/// every risk tier by both owners (one filed by the lead for an owner),
/// decisions (approved, rejected, half-approved), renewals, runtime events.
async fn populate(server: &Server) -> Catalog {
    let olive_high = server.intake("olive", &manifest("sales-quoting", None, "high")).await;
    let olive_medium = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let (olive_low, none) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    assert!(none.is_null(), "low risk with vault and OTel is approved by policy");
    let omar_high = server.intake("omar", &manifest("payroll-export", None, "high")).await;
    let omar_medium = server.intake("omar", &manifest("shift-roster", None, "medium")).await;
    let (omar_low, _) = server.intake("omar", &manifest("canteen-feedback", None, "low")).await;
    let filed_by_lead = server.intake("pat", &manifest("olive-expenses", Some("olive"), "medium")).await;
    assert_eq!(filed_by_lead.0["owner"], "olive");

    // Decisions: one medium approved, a high approved by two reviewers, a
    // medium rejected with a reason, a high half approved.
    server.decide("riley", &olive_medium.1, "approve", "").await;
    let first = server.decide("riley", &omar_high.1, "approve", "ok").await;
    assert_eq!(first["status"], "pending");
    assert_eq!(server.decide("rosa", &first, "approve", "ok too").await["status"], "approved");
    server.decide("pat", &omar_medium.1, "reject", "no data owner named").await;
    let half_approved = server.decide("rosa", &olive_high.1, "approve", "first of two").await;
    let olive_high = (olive_high.0, half_approved);
    server.decide("riley", &filed_by_lead.1, "approve", "").await;

    // Renewals by the owner and by the lead.
    let id = olive_low["id"].as_str().unwrap();
    assert_eq!(server.post("olive", &format!("/v1/apps/{id}/renewals"), &serde_json::json!({})).await.0, 200);
    let id = omar_low["id"].as_str().unwrap();
    assert_eq!(server.post("pat", &format!("/v1/apps/{id}/renewals"), &serde_json::json!({"days": 10})).await.0, 200);

    // Runtime events from the platforms, one about no app at all.
    let olive_id = olive_high.0["id"].as_str().unwrap();
    let omar_id = omar_high.0["id"].as_str().unwrap();
    let mut events: Vec<Value> = (0..5).map(|_| runtime_event(olive_id, "data.export")).collect();
    events.push(runtime_event(olive_id, "dlp.block"));
    events.extend((0..4).map(|_| runtime_event(omar_id, "data.export")));
    let mut platform = runtime_event(olive_id, "platform.maintenance");
    platform.as_object_mut().unwrap().remove("app_id");
    events.push(platform);
    server.ingest(&events).await;

    Catalog { olive_high, olive_medium, olive_low, omar_high }
}

/// The cached audit events as the JSON the server sends.
fn cached_events(path: &std::path::Path) -> Vec<Value> {
    let conn = Connection::open(path).unwrap();
    let sql = format!("SELECT {} FROM audit ORDER BY seq", store::audit::COLUMNS);
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], store::audit::from_row)
        .unwrap()
        .map(|event| serde_json::to_value(event.unwrap()).unwrap())
        .collect()
}

fn verify_cache(path: &std::path::Path) -> cache::audit::CacheVerify {
    let cache = Cache::open(path).unwrap();
    let report = cache::audit::verify(cache.conn()).unwrap();
    assert_eq!(report.result, Ok(()), "cache audit verify of {}", path.display());
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_brings_every_app_request_and_event() {
    let server = Server::start().await;
    populate(&server).await;
    let caches = Caches::new();

    for user in ["riley", "pat"] {
        let path = caches.path(user);
        let syncer = syncer(&server.url(), &server.token(user), &path);
        let report = sync(&syncer).await.expect("first sync");

        let (items, next) = server.all_changes(user, 0).await;
        assert_eq!(report.changes, items.len() as u64, "{user}: every change the server lists was applied");
        let expected = server.view(user).await;
        assert_eq!(View::of_cache(&path), expected, "{user}: the cache holds exactly what /v1/changes says");
        assert_eq!(expected.apps.len(), 7);
        assert_eq!(expected.approvals.len(), 5);

        let events = server.all_audit(user).await;
        assert_eq!(report.events, events.len() as u64);
        assert_eq!(cached_events(&path), events, "{user}: every audit event, field for field");

        let snapshot = Snapshot::read(&path);
        assert_eq!(snapshot.cursor(), next, "{user}: the cursor is the server's last `next`");
        assert_eq!(snapshot.head(), server.head().await, "{user}: the verified head is the server's head");
        let verified = verify_cache(&path);
        assert!(verified.full_chain);
        assert_eq!(verified.verified, events.len() as u64);
        assert_eq!(report.still_queued, 0);
        eprintln!(
            "{user}: first sync of {} changes and {} events in {:?}",
            report.changes, report.events, report.elapsed
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_applies_only_what_changed_including_deletes_and_moves() {
    let server = Server::start().await;
    let catalog = populate(&server).await;
    let caches = Caches::new();
    let riley = syncer(&server.url(), &server.token("riley"), &caches.path("riley"));
    let olive = syncer(&server.url(), &server.token("olive"), &caches.path("olive"));
    let omar = syncer(&server.url(), &server.token("omar"), &caches.path("omar"));
    for syncer in [&riley, &olive, &omar] {
        sync(syncer).await.expect("first sync");
    }
    let riley_before = Snapshot::read(&caches.path("riley"));
    let olive_before = Snapshot::read(&caches.path("olive"));
    let (head_before, _) = server.head().await;

    // More work on the server: a new intake, the second approval of the
    // high request, runtime events.
    let (new_app, new_request) = server.intake("olive", &manifest("desk-booking", None, "medium")).await;
    let approved = server.decide("riley", &catalog.olive_high.1, "approve", "second of two").await;
    assert_eq!(approved["status"], "approved");
    let olive_app = catalog.olive_high.0["id"].as_str().unwrap();
    server.ingest(&[runtime_event(olive_app, "data.export"), runtime_event(olive_app, "data.export")]).await;
    let (head_after, _) = server.head().await;

    let (expected, next) = server.all_changes("riley", riley_before.cursor()).await;
    let report = sync(&riley).await.expect("incremental sync");
    assert_eq!(report.changes, expected.len() as u64, "only the new changes: {expected:#?}");
    // The new app and its request, the approved request and the activated app.
    assert_eq!(report.changes, 4);
    assert_eq!(report.events, head_after - head_before);
    let riley_after = Snapshot::read(&caches.path("riley"));
    assert_eq!(riley_after.cursor(), next);
    assert!(riley_after.cursor() > riley_before.cursor(), "the cursor advanced");
    assert_eq!(riley_after.head().0, head_after);
    assert_eq!(View::of_cache(&caches.path("riley")), server.view("riley").await);
    let riley_view = View::of_cache(&caches.path("riley"));
    assert_eq!(riley_view.approvals[new_request["id"].as_str().unwrap()]["status"], "pending");
    assert_eq!(riley_view.apps[new_app["id"].as_str().unwrap()]["name"], "desk-booking");

    let (expected, _) = server.all_changes("olive", olive_before.cursor()).await;
    let report = sync(&olive).await.expect("incremental sync as olive");
    assert_eq!(report.changes, expected.len() as u64);
    assert_eq!(report.changes, 4, "all four changes are about olive's apps");
    assert_eq!(report.events, head_after - head_before, "every new event is about olive's apps");
    assert_eq!(sync(&omar).await.expect("omar").changes, 0, "nothing of omar's changed");

    // An owner change (written through the store, as no endpoint does it):
    // the old owner's sync gets a delete, the new owner's an upsert, a
    // reviewer's the new version.
    let moved = catalog.olive_medium.0["id"].as_str().unwrap().to_string();
    server.write(|conn| {
        let mut app = store::apps::get(conn, &moved).unwrap();
        app.owner = "omar".into();
        store::apps::save(conn, &mut app).unwrap();
    });
    // A hard delete of one app and one request, for everyone.
    let deleted_app = catalog.olive_low["id"].as_str().unwrap().to_string();
    let deleted_request = catalog.omar_high.1["id"].as_str().unwrap().to_string();
    server.write(|conn| {
        store::changes::record_delete(conn, ChangeKind::App, &deleted_app).unwrap();
        conn.execute("DELETE FROM apps WHERE id = ?1", [&deleted_app]).unwrap();
        store::changes::record_delete(conn, ChangeKind::Approval, &deleted_request).unwrap();
        conn.execute("DELETE FROM approvals WHERE id = ?1", [&deleted_request]).unwrap();
    });

    let report = sync(&olive).await.expect("olive after the deletes");
    assert_eq!(report.changes, 2, "olive: the moved app and the deleted app");
    let olive_view = View::of_cache(&caches.path("olive"));
    assert!(!olive_view.apps.contains_key(&moved), "the app moved to omar left olive's cache");
    assert!(!olive_view.apps.contains_key(&deleted_app), "the deleted app left olive's cache");
    assert_eq!(olive_view, server.view("olive").await);

    let report = sync(&omar).await.expect("omar after the deletes");
    assert_eq!(report.changes, 2, "omar: the app he now owns and his deleted request");
    let omar_view = View::of_cache(&caches.path("omar"));
    assert_eq!(omar_view.apps[&moved]["owner"], "omar");
    assert!(!omar_view.approvals.contains_key(&deleted_request));
    assert_eq!(omar_view, server.view("omar").await);

    let report = sync(&riley).await.expect("riley after the deletes");
    assert_eq!(report.changes, 3, "riley: the moved app's new version and two deletes");
    let riley_view = View::of_cache(&caches.path("riley"));
    assert_eq!(riley_view.apps[&moved]["owner"], "omar", "a reviewer keeps the moved app");
    assert!(!riley_view.apps.contains_key(&deleted_app));
    assert!(!riley_view.approvals.contains_key(&deleted_request));
    assert_eq!(riley_view, server.view("riley").await);

    // A role change: olive becomes a lead too, so she reads everything now.
    // Her cache starts over rather than mixing the two views.
    let token = server.change_roles("olive", &[Role::Owner, Role::Lead]);
    let olive_lead = syncer(&server.url(), &token, &caches.path("olive"));
    drop(olive);
    let report = sync(&olive_lead).await.expect("olive as a lead");
    let (all, _) = server.all_changes("riley", 0).await;
    assert_eq!(report.changes, all.len() as u64, "a full pull after the reset");
    assert_eq!(View::of_cache(&caches.path("olive")), server.view("riley").await);
    assert_eq!(cached_events(&caches.path("olive")), server.all_audit("riley").await);
    assert!(verify_cache(&caches.path("olive")).full_chain);

    // And back to owner only: what she may no longer read leaves the cache.
    let token = server.change_roles("olive", &[Role::Owner]);
    let olive_owner = syncer(&server.url(), &token, &caches.path("olive"));
    drop(olive_lead);
    sync(&olive_owner).await.expect("olive as an owner again");
    assert_eq!(View::of_cache(&caches.path("olive")), server.view("olive").await);
    assert_eq!(cached_events(&caches.path("olive")), server.all_audit("olive").await);
    assert!(!verify_cache(&caches.path("olive")).full_chain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_with_nothing_new_changes_nothing() {
    let server = Server::start().await;
    populate(&server).await;
    let caches = Caches::new();
    for user in ["riley", "olive"] {
        let path = caches.path(user);
        let syncer = syncer(&server.url(), &server.token(user), &path);
        sync(&syncer).await.expect("first sync");
        let before = Snapshot::read(&path);
        let started = Instant::now();
        let report = sync(&syncer).await.expect("second sync");
        let wall = started.elapsed();
        assert_eq!((report.changes, report.events, report.sent, report.refused), (0, 0, 0, 0), "{user}: {report:?}");
        let mut after = Snapshot::read(&path);
        assert_ne!(after.meta.get("last_sync_at"), before.meta.get("last_sync_at"));
        after.meta.insert("last_sync_at".into(), before.meta["last_sync_at"].clone());
        assert_eq!(after, before, "{user}: only the time of the last sync moved");
        eprintln!("{user}: no-change sync took {:?} ({wall:?} wall) over {}", report.elapsed, before.summary());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_cache_holds_only_that_owners_apps_requests_and_events() {
    let server = Server::start().await;
    populate(&server).await;
    let everything = server.view("riley").await;
    let all_events = server.all_audit("riley").await;
    let caches = Caches::new();

    for (user, other) in [("olive", "omar"), ("omar", "olive")] {
        let path = caches.path(user);
        sync(&syncer(&server.url(), &server.token(user), &path)).await.expect("owner sync");
        let conn = Connection::open(&path).unwrap();

        let owners: BTreeSet<String> = conn
            .prepare("SELECT DISTINCT owner FROM apps")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(owners, BTreeSet::from([user.to_string()]), "{user}'s cache holds only {user}'s apps");
        let own_apps: BTreeSet<String> =
            everything.apps.iter().filter(|(_, app)| app["owner"] == user).map(|(id, _)| id.clone()).collect();
        let cached_apps: BTreeSet<String> = conn
            .prepare("SELECT id FROM apps")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(cached_apps, own_apps, "and all of them");

        let request_owners: Vec<String> = conn
            .prepare("SELECT json_extract(data, '$.app_owner') FROM approvals")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!request_owners.is_empty());
        assert!(request_owners.iter().all(|owner| owner == user), "{user}: {request_owners:?}");
        let request_apps: BTreeSet<String> = conn
            .prepare("SELECT app_id FROM approvals")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(request_apps.is_subset(&own_apps));

        let event_apps: Vec<Option<String>> = conn
            .prepare("SELECT app_id FROM audit")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            event_apps.iter().all(|app| app.as_ref().is_some_and(|app| own_apps.contains(app))),
            "{user}: only events of {user}'s apps: {event_apps:?}"
        );
        let expected: Vec<&Value> =
            all_events.iter().filter(|e| e["app_id"].as_str().is_some_and(|app| own_apps.contains(app))).collect();
        assert_eq!(event_apps.len(), expected.len(), "{user}: every event of {user}'s apps");
        assert_eq!(cached_events(&path).iter().collect::<Vec<_>>(), expected);

        // Nothing of the other owner, by name either.
        let leaked: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM apps WHERE owner = ?1 OR data LIKE '%' || ?1 || '%')
                      + (SELECT COUNT(*) FROM approvals WHERE data LIKE '%\"' || ?1 || '\"%')
                      + (SELECT COUNT(*) FROM audit WHERE actor_id = ?1)",
                [other],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(leaked, 0, "{user}'s cache mentions {other}");
        let verified = verify_cache(&path);
        assert!(!verified.full_chain, "an owner's cache is checked event by event");
        assert_eq!(verified.verified, expected.len() as u64);
    }
}
