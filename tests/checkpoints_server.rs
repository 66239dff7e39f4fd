//! The server's signed audit checkpoints: the key file (created mode 600 on
//! first start, reused after a restart, refused when others may read it),
//! `GET /v1/audit/key` and `GET /v1/audit/checkpoints`, a checkpoint every N
//! events in the transaction of the events that made it due, and the hourly
//! one from the background job on the injected clock.

mod checkpoints_support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use checkpoints_support::{Setup, SignedServer, eventually, t0};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_file_is_created_private_and_reused_after_a_restart() {
    let server = SignedServer::start(Setup::every(1000)).await;
    let key_path = server.key_path();
    assert!(key_path.exists(), "created beside the database at {}", key_path.display());
    #[cfg(unix)]
    assert_eq!(mode(&key_path), 0o600);
    let text = std::fs::read_to_string(&key_path).unwrap();
    assert!(text.contains("secret_key"), "{text}");

    // The key endpoint needs no token; the id is the first 16 hex of SHA-256(public key).
    let (wire, _) = server.key().await;
    assert_eq!(wire.algorithm, "ed25519");
    let public = hex::decode(&wire.public_key).unwrap();
    assert_eq!(public.len(), 32);
    assert_eq!(wire.key_id, hex::encode(&Sha256::digest(&public)[..8]));
    assert!(text.contains(&wire.public_key), "the file names its public key too");

    let server = server.restart(Setup::every(1000)).await;
    assert_eq!(server.key().await.0, wire, "the same key after a restart");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), text, "the file is not rewritten");

    // A key file others may read is refused, as ssh refuses such keys.
    let (dir, tokens, clock) = server.stop().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let db = dir.path().join(checkpoints_support::DB_FILE);
        let err = govdeck::server::ServerState::open(&db, clock.clone()).err().expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // --key-file puts it elsewhere: a new key, created there.
    let elsewhere = dir.path().join("keys").join("audit.key");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    let setup = Setup { key_file: Some(elsewhere.clone()), ..Setup::every(1000) };
    let server = SignedServer::serve(dir, tokens, clock, setup).await;
    assert!(elsewhere.exists());
    #[cfg(unix)]
    assert_eq!(mode(&elsewhere), 0o600);
    assert_ne!(server.key().await.0.key_id, wire.key_id);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_signed_whenever_the_head_passes_a_multiple_of_n() {
    let server = SignedServer::start(Setup::every(5)).await;
    assert_eq!(server.ingest(3).await, 3);
    assert!(server.checkpoints().await.is_empty(), "3 events: none due yet");
    assert_eq!(server.ingest(3).await, 6);
    // Signed in the ingest's own transaction: there as soon as it answered.
    let seqs = |checkpoints: &[govdeck::domain::checkpoint::Checkpoint]| -> Vec<u64> {
        checkpoints.iter().map(|c| c.seq).collect()
    };
    assert_eq!(seqs(&server.checkpoints().await), [6]);
    assert_eq!(server.ingest(1).await, 7);
    assert_eq!(seqs(&server.checkpoints().await), [6], "7 is still before the next multiple");
    assert_eq!(server.ingest(12).await, 19);
    assert_eq!(seqs(&server.checkpoints().await), [6, 19], "one per transaction that passed 10 and 15");
    assert_eq!(server.ingest(1).await, 20);
    assert_eq!(seqs(&server.checkpoints().await), [6, 19, 20]);

    // Each is a C2SP checkpoint note over the Merkle root of the first seq
    // events and the chain's hash at seq, checked here with ed25519-dalek,
    // sha2 and base64 directly, not through govdeck's code.
    let (wire, key) = server.key().await;
    let public: [u8; 32] = hex::decode(&wire.public_key).unwrap().try_into().unwrap();
    let verifying = VerifyingKey::from_bytes(&public).unwrap();
    let origin = wire.note_key_name.clone().expect("the key names the note key");
    let mut key_hash_input = format!("{origin}\n").into_bytes();
    key_hash_input.push(1);
    key_hash_input.extend_from_slice(&public);
    let key_hash = &Sha256::digest(&key_hash_input)[..4];
    assert_eq!(
        wire.note_vkey.as_deref(),
        Some(format!("{origin}+{}+{}", hex::encode(key_hash), B64.encode([&[1u8][..], &public].concat())).as_str())
    );
    let events = server.events();
    let leaves: Vec<[u8; 32]> =
        events.iter().map(|event| Sha256::digest([&[0u8][..], &event.canonical()].concat()).into()).collect();
    let checkpoints = server.checkpoints().await;
    for checkpoint in &checkpoints {
        let seq = checkpoint.seq as usize;
        assert_eq!(checkpoint.hash, events[seq - 1].hash, "seq {seq}");
        assert_eq!(checkpoint.signed_at, t0());
        assert_eq!(checkpoint.tree_size, Some(checkpoint.seq));
        let note = checkpoint.note.as_deref().expect("a signed note");
        let (body, signatures) = note.split_once("\n\n").unwrap();
        let body = format!("{body}\n");
        let root = B64.encode(reference_root(&leaves[..seq]));
        assert_eq!(
            body,
            format!(
                "{origin}\n{seq}\n{root}\ngovdeck-chain {seq} {}\ngovdeck-signed-at 2026-03-02T09:00:00.000000Z\n",
                checkpoint.hash
            )
        );
        assert_eq!(checkpoint.root_hash.as_deref(), Some(hex::encode(reference_root(&leaves[..seq])).as_str()));
        let line = signatures.strip_suffix('\n').unwrap();
        let blob = B64.decode(line.strip_prefix(&format!("\u{2014} {origin} ")).unwrap()).unwrap();
        assert_eq!(&blob[..4], key_hash);
        let signature = Signature::from_bytes(&blob[4..].try_into().unwrap());
        verifying.verify(body.as_bytes(), &signature).expect("a valid signature");
        assert_eq!(hex::encode(&blob[4..]), checkpoint.signature);
        key.verify(checkpoint).expect("and through govdeck's verifier");
    }

    // Paging, and the token it needs.
    let (status, page) = server.get(Some("riley"), "/v1/audit/checkpoints?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["checkpoints"].as_array().unwrap().len(), 2);
    assert_eq!(page["more"], true);
    let (_, rest) = server.get(Some("riley"), "/v1/audit/checkpoints?after=19").await;
    assert_eq!(rest["checkpoints"][0]["seq"], 20);
    assert_eq!(rest["more"], false);
    let (status, _) = server.get(None, "/v1/audit/checkpoints").await;
    assert_eq!(status, 401);
    let (status, _) = server.get(Some("riley"), "/v1/audit/checkpoints?limit=0").await;
    assert_eq!(status, 400);

    // Both calls are in the OpenAPI document.
    let (_, doc) = server.get(None, "/v1/openapi.json").await;
    assert!(doc["paths"]["/v1/audit/key"]["get"].is_object(), "{}", doc["paths"]);
    assert!(doc["paths"]["/v1/audit/checkpoints"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Checkpoint"].is_object());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_job_signs_the_head_hourly_when_it_moved() {
    let setup = Setup { job_every: Duration::from_millis(25), ..Setup::every(1000) };
    let server = SignedServer::start(setup).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.checkpoints().await.is_empty(), "an empty log has nothing to sign");

    // The first events: nothing signed yet, so the job signs at its next run.
    server.ingest(3).await;
    let first = eventually("the first checkpoint", async || server.checkpoints().await.pop()).await;
    assert_eq!((first.seq, first.signed_at), (3, t0()));

    // New events, but less than an hour on the server's clock: nothing new.
    server.ingest(2).await;
    server.clock.advance(chrono::Duration::minutes(59));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.checkpoints().await.len(), 1);

    // Past the hour: the head is signed.
    server.clock.advance(chrono::Duration::minutes(2));
    let second =
        eventually("the hourly checkpoint", async || server.checkpoints().await.into_iter().find(|c| c.seq == 5)).await;
    assert_eq!(second.signed_at, t0() + chrono::Duration::minutes(61));

    // Hours later with nothing new: nothing to sign.
    server.clock.advance(chrono::Duration::hours(3));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.checkpoints().await.len(), 2);

    // The job is callable directly too (as tests drive the lifecycle).
    server.ingest(1).await;
    server.clock.advance(chrono::Duration::hours(1));
    let signed =
        eventually("the job's checkpoint", async || server.checkpoints().await.into_iter().find(|c| c.seq == 6)).await;
    assert_eq!(server.state.run_checkpoint_job().await.unwrap(), None, "signed once, not twice");
    assert_eq!(signed.hash, server.events()[5].hash);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_while_the_server_was_down_are_signed_before_it_serves() {
    let server = SignedServer::start(Setup::every(1000)).await;
    server.ingest(3).await;
    assert!(server.checkpoints().await.is_empty(), "3 of 1000, and no hour passed");
    // As `govdeck seed` or an import would, with the server stopped.
    let (dir, tokens, clock) = server.stop().await;
    {
        let mut store = govdeck::store::Store::open(&dir.path().join(checkpoints_support::DB_FILE)).unwrap();
        store
            .write(|conn| {
                let event = govdeck::domain::NewAuditEvent { action_type: "import".into(), ..Default::default() };
                govdeck::store::audit::append(conn, event, "import:backstage", t0())
            })
            .unwrap();
    }
    let server = SignedServer::serve(dir, tokens, clock, Setup::every(1000)).await;
    let seqs: Vec<u64> = server.checkpoints().await.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [4], "signed at the start, before the first request");
    server.stop().await;
}

/// MTH of RFC 9162 §2.1.1, by its recursion.
fn reference_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            let mut input = vec![1u8];
            input.extend_from_slice(&reference_root(&leaves[..k]));
            input.extend_from_slice(&reference_root(&leaves[k..]));
            Sha256::digest(&input).into()
        }
    }
}
