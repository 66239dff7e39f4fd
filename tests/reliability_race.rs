//! Two reviewers deciding the same request at the same moment, many times
//! over real HTTP: every round has exactly one winner and one conflict, no
//! request ever carries two decisions, and each win is exactly one
//! `approval.approve` audit event.
//!
//! The default test runs 1,000 rounds: 2 to 3 s in a debug build on two
//! cores (about 2 ms a round). `RACE_ROUNDS` overrides the count.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use common::{TestServer, medium_manifest};
use serde_json::{Value, json};
use tokio::sync::Barrier;

const DEFAULT_ROUNDS: usize = 1000;
const REVIEWERS: [&str; 2] = ["riley", "rosa"];

fn rounds() -> usize {
    std::env::var("RACE_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_ROUNDS)
}

/// One round: a fresh medium request, then both reviewers approve it at rev
/// `rev` released by one barrier. Returns the two statuses and bodies.
async fn race_round(server: &Arc<TestServer>, round: usize) -> (String, [(u16, String); 2]) {
    let (_, approval) = server.intake("olive", &medium_manifest(&format!("race-{round}"))).await;
    let id = approval["id"].as_str().unwrap().to_string();
    let body = json!({"decision": "approve", "comment": format!("round {round}"), "rev": approval["rev"]});
    let barrier = Arc::new(Barrier::new(REVIEWERS.len()));
    let tasks = REVIEWERS.map(|reviewer| {
        let (server, barrier, body) = (Arc::clone(server), Arc::clone(&barrier), body.clone());
        let path = format!("/v1/approvals/{id}/decisions");
        tokio::spawn(async move {
            barrier.wait().await;
            let resp = server.post(reviewer, &path, &body).await;
            (resp.status.as_u16(), resp.text)
        })
    });
    let [a, b] = tasks;
    let (a, b) = tokio::join!(a, b);
    (id, [a.expect("reviewer task"), b.expect("reviewer task")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reviewers_make_exactly_one_decision_per_request() {
    let server = Arc::new(TestServer::start().await);
    let rounds = rounds();
    let (head_before, _) = server.head().await;
    let started = Instant::now();
    let mut winners: HashMap<String, String> = HashMap::new();
    let mut conflicts = [0usize; 2]; // 409, 412
    for round in 0..rounds {
        let (id, answers) = race_round(&server, round).await;
        let mut statuses = [answers[0].0, answers[1].0];
        statuses.sort_unstable();
        assert!(
            statuses == [200, 409] || statuses == [200, 412],
            "round {round}: one success and one conflict, got {answers:?}"
        );
        for (index, (status, text)) in answers.iter().enumerate() {
            let body: Value = serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"));
            match status {
                200 => {
                    assert_eq!(body["approval"]["status"], "approved", "round {round}: {text}");
                    winners.insert(id.clone(), REVIEWERS[index].to_string());
                }
                409 => {
                    assert_eq!(body["error"]["code"], "already_decided", "round {round}: {text}");
                    conflicts[0] += 1;
                }
                _ => {
                    assert_eq!(body["error"]["code"], "stale_revision", "round {round}: {text}");
                    conflicts[1] += 1;
                }
            }
        }
    }
    let raced = started.elapsed();
    eprintln!(
        "{rounds} rounds in {:.1} s ({:.1} ms a round: one intake, two racing decisions); \
         losers got 409 {} times and 412 {} times",
        raced.as_secs_f64(),
        raced.as_secs_f64() * 1000.0 / rounds as f64,
        conflicts[0],
        conflicts[1]
    );
    assert_eq!(winners.len(), rounds, "one winner per round");

    // No request carries two decisions: the newest version of each has one,
    // by the winner.
    let mut latest: HashMap<String, Value> = HashMap::new();
    for item in server.all_changes("riley").await {
        if item["kind"] == "approval" {
            latest.insert(item["id"].as_str().unwrap().to_string(), item["data"].clone());
        }
    }
    for (id, winner) in &winners {
        let approval = &latest[id];
        let decisions = approval["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), 1, "{id} has exactly one decision: {approval}");
        assert_eq!(decisions[0]["by"], winner.as_str());
        assert_eq!(approval["status"], "approved");
    }

    // Exactly one `approval.approve` event per success, by the winner.
    let events = server.all_audit("riley").await;
    let mut approves: HashMap<String, Vec<String>> = HashMap::new();
    for event in events.iter().filter(|event| event["seq"].as_u64().unwrap() > head_before) {
        if event["action_type"] == "approval.approve" {
            let id = event["approval_id"].as_str().unwrap().to_string();
            approves.entry(id).or_default().push(event["actor_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(approves.len(), rounds, "one approval.approve per request");
    for (id, winner) in &winners {
        assert_eq!(approves[id], std::slice::from_ref(winner), "{id}: one approve event, by the winner");
    }
    // And nothing else slipped in: intake (2 events) + approve + activate per round.
    let (head_after, _) = server.head().await;
    assert_eq!(head_after - head_before, 4 * rounds as u64);

    let server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("no task still holds the server"));
    server.stop().await;
}
