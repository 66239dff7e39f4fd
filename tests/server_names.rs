//! App names over real HTTP: two apps that are not decommissioned (or
//! rejected) never share a name; a refused intake records nothing.

mod common;

use common::{TestServer, low_manifest, medium_manifest};
use serde_json::{Value, json};

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_intake_of_a_live_name_is_refused_naming_the_holder() {
    let server = TestServer::start().await;
    let (first, _) = server.intake("olive", &medium_manifest("holidays")).await;
    let first_id = first["id"].as_str().unwrap();
    let head = server.head().await;

    // Another key, another owner: still the same name.
    let second = server.post_keyed("omar", "/v1/intake", &medium_manifest("holidays"), "another-key").await;
    second.expect_code(409, "name_taken");
    assert!(message(&second.json()).contains(first_id), "{}", second.text);
    // The refusal recorded nothing, as every refusal.
    assert_eq!(server.head().await, head);
    let named: Vec<Value> = server
        .all_changes("riley")
        .await
        .into_iter()
        .filter(|item| item["kind"] == "app" && item["data"]["name"] == "holidays")
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");

    // Names are compared as stored: another case is another name.
    server.intake("omar", &medium_manifest("Holidays")).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommissioned_or_rejected_app_frees_its_name() {
    let server = TestServer::start().await;
    let (menu, none) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    assert!(none.is_null(), "auto-approved: {none}");
    let (_, holidays) = server.intake("olive", &medium_manifest("holidays")).await;
    server.decide("riley", &holidays, "reject", "no owner of record").await.expect(200);

    // Rejected is final: the name is free at once.
    server.intake("olive", &medium_manifest("holidays")).await;

    // Quarantined, then read-only: the name is still held.
    server.advance_days(31).await;
    assert_eq!(server.app(menu["id"].as_str().unwrap()).await["state"], "quarantined");
    server.post("omar", "/v1/intake", &low_manifest("menu", "prototype", true)).await.expect_code(409, "name_taken");
    server.advance_days(7).await;
    assert_eq!(server.app(menu["id"].as_str().unwrap()).await["state"], "read_only");
    server.post("omar", "/v1/intake", &low_manifest("menu", "prototype", true)).await.expect_code(409, "name_taken");

    // Decommissioned frees it.
    server.advance_days(30).await;
    assert_eq!(server.app(menu["id"].as_str().unwrap()).await["state"], "decommissioned");
    let body = server.post("omar", "/v1/intake", &low_manifest("menu", "prototype", true)).await.expect(201);
    assert_ne!(body["app"]["id"], menu["id"]);
    assert_eq!(body["app"]["name"], json!("menu"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_name_conflict() {
    let server = TestServer::start().await;
    let doc = server.get("riley", "/v1/openapi.json").await.expect(200);
    let conflict = &doc["paths"]["/v1/intake"]["post"]["responses"]["409"]["description"];
    assert!(conflict.as_str().unwrap_or_default().contains("name_taken"), "{conflict}");
    server.stop().await;
}
