//! The Merkle proofs the server gives every reader of the audit log:
//! inclusion (one and a range) and consistency, checked here by a verifier
//! written from RFC 9162's definitions (not the crate's), who may ask for
//! which, and the bad ranges that are refused.

mod common;

use common::{TestServer, low_manifest, medium_manifest};
use govdeck::domain::AuditEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

type Hash = [u8; 32];

fn unhex(value: &Value) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value.as_str().expect("a hex string"), &mut out).expect("32 bytes of hex");
    out
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

fn leaf(event: &Value) -> Hash {
    let event: AuditEvent = serde_json::from_value(event.clone()).unwrap();
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(event.canonical());
    hasher.finalize().into()
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => node(&mth(&leaves[..split(n)]), &mth(&leaves[split(n)..])),
    }
}

/// The root PATH(m, D[n]) leads to, by the RFC's recursion.
fn path_root(m: usize, n: usize, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if n == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (last, rest) = path.split_last()?;
    let k = split(n);
    if m < k {
        Some(node(&path_root(m, k, leaf, rest)?, last))
    } else {
        Some(node(last, &path_root(m - k, n - k, leaf, rest)?))
    }
}

/// The (old, new) roots SUBPROOF(m, D[n], whole) leads to.
fn subproof_roots(m: usize, n: usize, whole: bool, old: Hash, proof: &[Hash]) -> Option<(Hash, Hash)> {
    if m == n {
        return if whole {
            proof.is_empty().then_some((old, old))
        } else {
            (proof.len() == 1).then(|| (proof[0], proof[0]))
        };
    }
    let (last, rest) = proof.split_last()?;
    let k = split(n);
    if m <= k {
        let (a, b) = subproof_roots(m, k, whole, old, rest)?;
        Some((a, node(&b, last)))
    } else {
        let (a, b) = subproof_roots(m - k, n - k, false, old, rest)?;
        Some((node(last, &a), node(last, &b)))
    }
}

fn hashes(values: &Value) -> Vec<Hash> {
    values.as_array().unwrap().iter().map(unhex).collect()
}

/// Apps of olive and omar, decisions and ingested events: a log of some
/// dozens of events, owners' events interleaved.
async fn catalog(server: &TestServer) {
    for n in 0..4 {
        let (_, approval) = server.intake("olive", &medium_manifest(&format!("olive-{n}"))).await;
        server.decide("riley", &approval, "approve", "").await.expect(200);
        server.intake("omar", &low_manifest(&format!("omar-{n}"), "prototype", true)).await;
    }
    server
        .post("ingo", "/v1/audit/events", &json!({"events": [{"action_type": "platform.heartbeat"}]}))
        .await
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_proof_verifies_by_the_rfc_recursion() {
    let server = TestServer::start().await;
    catalog(&server).await;
    let events = server.all_audit("riley").await;
    let leaves: Vec<Hash> = events.iter().map(leaf).collect();
    let n = leaves.len();
    assert!(n > 10, "{n} events");
    for size in [1, 2, 3, 4, 7, 8, n - 1, n] {
        let root = mth(&leaves[..size]);
        for (m, leaf) in leaves.iter().enumerate().take(size) {
            let leaf = *leaf;
            let answer =
                server.get("riley", &format!("/v1/audit/proof/inclusion?seq={}&size={size}", m + 1)).await.expect(200);
            assert_eq!(unhex(&answer["leaf_hash"]), leaf, "leaf {m}");
            assert_eq!(unhex(&answer["root_hash"]), root);
            assert_eq!(path_root(m, size, leaf, &hashes(&answer["proof"])), Some(root), "leaf {m} of {size}");
        }
        for from in 0..=size {
            let answer =
                server.get("pat", &format!("/v1/audit/proof/consistency?from={from}&to={size}")).await.expect(200);
            let old = mth(&leaves[..from]);
            assert_eq!(unhex(&answer["from_root"]), old);
            assert_eq!(unhex(&answer["to_root"]), root);
            let proof = hashes(&answer["proof"]);
            if from == 0 || from == size {
                assert!(proof.is_empty());
            } else {
                assert_eq!(subproof_roots(from, size, true, old, &proof), Some((old, root)), "{from} -> {size}");
            }
        }
    }
    // The whole tree when no size is named.
    let answer = server.get("riley", "/v1/audit/proof/inclusion?seq=1").await.expect(200);
    assert_eq!(answer["tree_size"], n as u64);
    let answer = server.get("riley", "/v1/audit/proof/consistency?from=3").await.expect(200);
    assert_eq!(answer["to"], n as u64);
    // A range: every event at once, against one tree size.
    let answer = server.get("riley", &format!("/v1/audit/proof/inclusions?after=2&size={n}")).await.expect(200);
    let proofs = answer["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), n - 2);
    assert_eq!(answer["more"], false);
    for proof in proofs {
        let seq = proof["seq"].as_u64().unwrap() as usize;
        assert_eq!(path_root(seq - 1, n, leaves[seq - 1], &hashes(&proof["proof"])), Some(mth(&leaves)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_gets_proofs_of_their_own_events_only() {
    let server = TestServer::start().await;
    catalog(&server).await;
    let all = server.all_audit("riley").await;
    let olives: Vec<u64> = server.all_audit("olive").await.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let n = all.len() as u64;
    assert!(!olives.is_empty() && (olives.len() as u64) < n);
    for seq in 1..=n {
        let answer = server.get("olive", &format!("/v1/audit/proof/inclusion?seq={seq}")).await;
        if olives.contains(&seq) {
            answer.expect(200);
        } else {
            // The same answer whether the event is another owner's or has
            // no app: only that there is no event *for olive* at this seq,
            // and the tree's size is public to every reader anyway.
            answer.expect_code(404, "not_found");
        }
    }
    let answer = server.get("olive", "/v1/audit/proof/inclusions").await.expect(200);
    let proved: Vec<u64> = answer["proofs"].as_array().unwrap().iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(proved, olives);
    // Consistency proofs hold only hashes: every reader may have them.
    server.get("olive", &format!("/v1/audit/proof/consistency?from=1&to={n}")).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_ask_for_proofs() {
    let server = TestServer::start().await;
    catalog(&server).await;
    let paths = ["/v1/audit/proof/inclusion?seq=1", "/v1/audit/proof/inclusions", "/v1/audit/proof/consistency?from=1"];
    for path in paths {
        for reader in ["riley", "rosa", "pat"] {
            server.get(reader, path).await.expect(200);
        }
        // The ingest token writes runtime events and reads nothing.
        server.get("ingo", path).await.expect(403);
        let anonymous = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ranges_are_refused() {
    let server = TestServer::start().await;
    catalog(&server).await;
    let n = server.all_audit("riley").await.len();
    for path in [
        "/v1/audit/proof/inclusion?seq=0".to_string(),
        format!("/v1/audit/proof/inclusion?seq={}", n + 1),
        "/v1/audit/proof/inclusion?seq=3&size=2".to_string(),
        format!("/v1/audit/proof/inclusion?seq=1&size={}", n + 1),
        "/v1/audit/proof/consistency?from=5&to=4".to_string(),
        format!("/v1/audit/proof/consistency?from=1&to={}", n + 1),
        format!("/v1/audit/proof/consistency?from={}", n + 1),
        "/v1/audit/proof/inclusions?after=5&through=4".to_string(),
        format!("/v1/audit/proof/inclusions?size={}", n + 1),
        "/v1/audit/proof/inclusion?seq=x".to_string(),
        "/v1/audit/proof/inclusion".to_string(),
        "/v1/audit/proof/consistency?from=-1".to_string(),
        "/v1/audit/proof/consistency?from=1&extra=2".to_string(),
    ] {
        server.get("riley", &path).await.expect(400);
    }
}
