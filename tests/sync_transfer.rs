//! A transfer of ownership as two owners' real caches see it: the app and its
//! request leave the old owner's cache (a delete) and reach the new owner's;
//! both caches hold the `app.transfer` event and still verify; the old owner's
//! cache gets nothing of the app after it.

mod sync_support;

use govdeck::cache::{self, Cache};
use govdeck::store;
use rusqlite::Connection;
use serde_json::{Value, json};
use sync_support::{Caches, Server, View, manifest, sync, syncer};

fn cached_actions(path: &std::path::Path, app_id: &str) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let sql = format!("SELECT {} FROM audit ORDER BY seq", store::audit::COLUMNS);
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], store::audit::from_row)
        .unwrap()
        .map(|event| event.unwrap())
        .filter(|event| event.app_id.as_deref() == Some(app_id))
        .map(|event| event.action_type)
        .collect()
}

fn verifies(path: &std::path::Path) {
    let cache = Cache::open(path).unwrap();
    let report = cache::audit::verify(cache.conn()).unwrap();
    assert_eq!(report.result, Ok(()), "cache audit verify of {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_app_leaves_the_old_owners_cache_and_reaches_the_new_owners() {
    let server = Server::start().await;
    let (app, none) = server.intake("olive", &manifest("lunch-menu", None, "low")).await;
    assert!(none.is_null());
    let app_id = app["id"].as_str().unwrap().to_string();
    let (status, filed) = server
        .post(
            "olive",
            &format!("/v1/apps/{app_id}/access-requests"),
            &json!({"environment": "production", "reason": "launch"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let request_id = filed["approval"]["id"].as_str().unwrap().to_string();
    // Omar owns something of his own, which stays.
    let (omars, _) = server.intake("omar", &manifest("canteen-feedback", None, "low")).await;

    let caches = Caches::new();
    let olive = syncer(&server.url(), &server.token("olive"), &caches.path("olive"));
    let omar = syncer(&server.url(), &server.token("omar"), &caches.path("omar"));
    sync(&olive).await.expect("olive's first sync");
    sync(&omar).await.expect("omar's first sync");
    assert!(View::of_cache(&caches.path("olive")).apps.contains_key(&app_id));
    assert!(View::of_cache(&caches.path("olive")).approvals.contains_key(&request_id));
    assert!(!View::of_cache(&caches.path("omar")).apps.contains_key(&app_id));

    let (status, moved) = server
        .post("pat", &format!("/v1/apps/{app_id}/owner"), &json!({"to": "omar", "reason": "olive moved teams"}))
        .await;
    assert_eq!(status, 200, "{moved}");

    sync(&olive).await.expect("olive after the transfer");
    sync(&omar).await.expect("omar after the transfer");
    let olive_view = View::of_cache(&caches.path("olive"));
    assert!(!olive_view.apps.contains_key(&app_id), "the app left olive's cache");
    assert!(!olive_view.approvals.contains_key(&request_id), "its request left olive's cache");
    assert_eq!(olive_view, server.view("olive").await);
    let omar_view = View::of_cache(&caches.path("omar"));
    assert_eq!(omar_view.apps[&app_id]["owner"], "omar");
    assert_eq!(omar_view.approvals[&request_id]["app_owner"], "omar");
    assert!(omar_view.apps.contains_key(omars["id"].as_str().unwrap()));
    assert_eq!(omar_view, server.view("omar").await);
    for user in ["olive", "omar"] {
        assert_eq!(
            cached_actions(&caches.path(user), &app_id).last().map(String::as_str),
            Some("app.transfer"),
            "{user} holds the transfer"
        );
        verifies(&caches.path(user));
    }

    // What follows is omar's alone.
    let (status, _) = server.post("omar", &format!("/v1/apps/{app_id}/renewals"), &Value::Null).await;
    assert_eq!(status, 200);
    sync(&olive).await.expect("olive after the renewal");
    sync(&omar).await.expect("omar after the renewal");
    assert_eq!(cached_actions(&caches.path("olive"), &app_id).last().map(String::as_str), Some("app.transfer"));
    assert_eq!(cached_actions(&caches.path("omar"), &app_id).last().map(String::as_str), Some("app.renewed"));
    for user in ["olive", "omar"] {
        verifies(&caches.path(user));
    }
}
