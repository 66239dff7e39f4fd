//! `govdeck audit verify --db` checks the signed checkpoints as well as the
//! chain, so what the chain alone cannot tell is caught and named by seq: a
//! tail cut with the head in `meta` moved to match, and a wholesale
//! rewrite with every hash recomputed; so is a forged checkpoint signature.
//! The untouched database passes, with or without the key file at hand.

mod checkpoints_support;

use checkpoints_support::{
    Setup, SignedServer, chain_alone_ok, copy_db, rewrite_all, tamper, truncate_with_head, verify_cli,
};
use ed25519_dalek::SigningKey;
use govdeck::domain::checkpoint::{self, PublicKey};
use govdeck::store::{self, Store};

/// A server database with 23 events and checkpoints at 5, 10, 15 and 20,
/// stopped; returns its directory, database and key file.
async fn history() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, PublicKey) {
    let server = SignedServer::start(Setup::every(5)).await;
    for _ in 0..4 {
        server.ingest(5).await;
    }
    server.ingest(3).await;
    let seqs: Vec<u64> = server.checkpoints().await.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [5, 10, 15, 20]);
    let (_, key) = server.key().await;
    let key_path = server.key_path();
    let db = server.db_path.clone();
    let (dir, _, _) = server.stop().await;
    (dir, db, key_path, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_untouched_database_passes_with_its_key() {
    let (dir, db, key_path, key) = history().await;
    // The key file beside the database is found on its own.
    let (code, out) = verify_cli(&db, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("audit chain ok: 23 events"), "{out}");
    assert!(out.contains("checkpoints ok: 4 checkpoints match"), "{out}");
    assert!(out.contains(key.id()), "names the key: {out}");
    assert!(out.contains("newest 3 events (seq 21-23)"), "the unsigned tail: {out}");

    // A copy without its key: the (seq, hash) still match, with a warning that
    // the signatures were not checked.
    let copy = copy_db(&db, dir.path(), "copy.db");
    let (code, out) = verify_cli(&copy, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("WARNING") && out.contains("NOT checked") && out.contains("--key-file"), "{out}");

    // An auditor's public-only key file serves as well.
    let public_only = dir.path().join("auditor.pub");
    std::fs::write(&public_only, format!("public_key = \"{}\"\n", key.to_hex())).unwrap();
    let (code, out) = verify_cli(&copy, &[&public_only]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(key.id()) && !out.contains("NOT checked"), "{out}");
    let (code, _) = verify_cli(&copy, &[&key_path]);
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_tail_with_the_head_rewritten_is_caught() {
    let (dir, db, key_path, _) = history().await;
    let cut = copy_db(&db, dir.path(), "cut.db");
    truncate_with_head(&cut, 12);
    assert!(chain_alone_ok(&cut), "the chain and its head agree: undetectable before checkpoints");
    let (code, out) = verify_cli(&cut, &[&key_path]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("checkpoints BROKEN at seq 13"), "names the first missing seq: {out}");
    assert!(out.contains("seq 15 was signed"), "{out}");

    // Without the key, the comparison still sees it.
    let (code, out) = verify_cli(&cut, &[]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("seq 13"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wholesale_consistent_rewrite_is_caught() {
    let (dir, db, key_path, _) = history().await;
    let rewritten = copy_db(&db, dir.path(), "rewritten.db");
    rewrite_all(&rewritten, 3);
    assert!(chain_alone_ok(&rewritten), "every hash recomputed, the head moved: undetectable before");
    let (code, out) = verify_cli(&rewritten, &[&key_path]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("checkpoints BROKEN at seq 5"), "the first checkpoint after the edit: {out}");
    assert!(out.contains("rewritten"), "{out}");

    // Rewriting the checkpoints to match needs the key: re-signed with another
    // key they fail, whether they keep the real key's id or name the forger's.
    let forger = SigningKey::from_bytes(&[9; 32]);
    let events = checkpoints_support::events_of(&rewritten);
    for relabel in [false, true] {
        let copy = copy_db(&rewritten, dir.path(), &format!("resigned-{relabel}.db"));
        tamper(&copy, |conn| {
            let signed: Vec<(i64, String)> = conn
                .prepare("SELECT seq, key_id FROM checkpoints")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (seq, key_id) in signed {
                let hash = &events[seq as usize - 1].hash;
                let forged = checkpoint::sign(&forger, seq as u64, hash, chrono::Utc::now());
                let key_id = if relabel { PublicKey::of(&forger).id().to_string() } else { key_id };
                conn.execute(
                    "UPDATE checkpoints SET hash = ?1, signature = ?2, key_id = ?3 WHERE seq = ?4",
                    rusqlite::params![forged.hash, forged.signature, key_id, seq],
                )
                .unwrap();
            }
        });
        let (code, out) = verify_cli(&copy, &[&key_path]);
        assert_eq!(code, Some(6), "relabel {relabel}: {out}");
        assert!(out.contains("checkpoints BROKEN at seq 5"), "relabel {relabel}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_caught_and_an_edited_event_still_is() {
    let (dir, db, key_path, key) = history().await;
    let forged = copy_db(&db, dir.path(), "forged.db");
    tamper(&forged, |conn| {
        let signature: String =
            conn.query_row("SELECT signature FROM checkpoints WHERE seq = 10", [], |r| r.get(0)).unwrap();
        let mut bytes = hex::decode(signature).unwrap();
        bytes[0] ^= 1;
        conn.execute("UPDATE checkpoints SET signature = ?1 WHERE seq = 10", [hex::encode(bytes)]).unwrap();
    });
    let (code, out) = verify_cli(&forged, &[&key_path]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("checkpoints BROKEN at seq 10") && out.contains("signature"), "{out}");

    // The same through the store API, with the key.
    let store = Store::open_read_only(&forged).unwrap();
    let report = store::checkpoints::verify(store.conn(), std::slice::from_ref(&key), false).unwrap();
    assert_eq!(report.result.unwrap_err().seq(), 10);

    // A single edited event is still the chain's to catch (exit 6, its seq).
    let edited = copy_db(&db, dir.path(), "edited.db");
    tamper(&edited, |conn| {
        conn.execute("UPDATE audit SET actor_id = 'mallory' WHERE seq = 7", []).unwrap();
    });
    let (code, out) = verify_cli(&edited, &[&key_path]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("audit chain BROKEN at seq 7"), "{out}");
}
