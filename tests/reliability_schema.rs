//! Regression tests for what `scripts/schemathesis.sh` found where the
//! server and its OpenAPI document disagreed, so `cargo test` keeps them
//! fixed without Python:
//!
//! * the paging queries were documented as required *path* parameters, so
//!   no generated client (and no fuzzer) could send `since`, `after` or `limit`;
//! * a renewal body of `null`, which the document allows, was a 400, while
//!   a JSON array was read as the struct it is not (`[10]` as `{"days":10}`);
//! * an ingested event without `request_context` was stored and served as
//!   `null` where the document promises an object.

mod common;

use common::{TestServer, low_manifest};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_parameters_are_optional_query_parameters() {
    let server = TestServer::start().await;
    let doc = server.send(reqwest::Method::GET, None, "/v1/openapi.json", None, None).await.expect(200);
    for (path, cursor) in [("/v1/changes", "since"), ("/v1/audit", "after"), ("/v1/audit/checkpoints", "after")] {
        let params = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters: {}", doc["paths"][path]));
        for name in [cursor, "limit"] {
            let param = params
                .iter()
                .find(|param| param["name"] == name)
                .unwrap_or_else(|| panic!("{path} documents {name}: {params:?}"));
            assert_eq!(param["in"], "query", "{path} {name}: {param}");
            assert_ne!(param["required"], true, "{path} {name} is optional: {param}");
        }
        let limit = params.iter().find(|param| param["name"] == "limit").unwrap();
        assert_eq!(limit["schema"]["minimum"], 1, "limit=0 is a 400, so 1 is the documented minimum: {limit}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_renewal_body_means_the_default_renewal() {
    let server = TestServer::start().await;
    let (app, _) = server.intake("olive", &low_manifest("menu", "prototype", true)).await;
    let path = format!("/v1/apps/{}/renewals", app["id"].as_str().unwrap());
    let renewed = server.post_raw("olive", &path, "null").await.expect(200);
    assert_eq!(renewed["app"]["id"], app["id"]);
    // Other non-objects stay refused, arrays too (serde would read `[10]` as `{"days":10}`).
    for body in ["[]", "[10]", " [ ]", "3", "\"days\""] {
        server.post_raw("olive", &path, body).await.expect_error(400);
    }
    let (_, approval) = server.intake("olive", &common::medium_manifest("holidays")).await;
    let decisions = format!("/v1/approvals/{}/decisions", approval["id"].as_str().unwrap());
    let as_array = json!(["approve", "", approval["rev"]]).to_string();
    server.post_raw("riley", &decisions, as_array).await.expect_error(400);
    assert_eq!(server.approval(approval["id"].as_str().unwrap()).await["status"], "pending");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_events_always_carry_an_object_context() {
    let server = TestServer::start().await;
    let (before, _) = server.head().await;
    let batch = json!({"events": [
        {"action_type": "export"},
        {"action_type": "export", "request_context": null},
        {"action_type": "export", "request_context": {"rows": 3}},
    ]});
    server.post("ingo", "/v1/audit/events", &batch).await.expect(201);
    let events: Vec<Value> = server.all_audit("riley").await.into_iter().skip(before as usize).collect();
    let contexts: Vec<&Value> = events.iter().map(|event| &event["request_context"]).collect();
    assert_eq!(contexts, [&json!({}), &json!({}), &json!({"rows": 3})]);

    let head = server.head().await;
    for context in [json!("text"), json!([1, 2]), json!(7), json!(true)] {
        let batch = json!({"events": [{"action_type": "export", "request_context": context}]});
        server.post("ingo", "/v1/audit/events", &batch).await.expect_error(400);
    }
    assert_eq!(server.head().await, head, "refused whole, nothing appended");
    server.stop().await;
}
