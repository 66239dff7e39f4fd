//! Key pinning and checkpoints on the client side: the first sync pins the
//! server's key in `known_servers` (and says so); a server that comes back
//! with another key is refused with `KeyChanged`, the cache untouched, and
//! `govdeck sync` exits 7 naming both key ids; a forged checkpoint stops
//! sync before anything is written; the cache's checkpoints make `govdeck
//! audit verify` catch a cache whose tail was cut and its head moved.

mod sync_support;

use std::path::Path;

use govdeck::config::pins;
use govdeck::domain::checkpoint::CheckpointError;
use govdeck::sync::engine::{PinSource, SyncError};
use rusqlite::Connection;
use serde_json::Value;
use sync_support::{Caches, Cli, Server, Snapshot, manifest, sync, syncer};

/// A few apps, requests and decisions.
async fn some_activity(server: &Server, tag: &str) {
    let (_, request) = server.intake("olive", &manifest(&format!("{tag}-quoting"), None, "high")).await;
    server.decide("riley", &request, "approve", "first").await;
    server.intake("olive", &manifest(&format!("{tag}-menu"), None, "low")).await;
}

/// Restarts the server on its database (and port) two hours later on its
/// clock; with `new_key`, its key file is removed first, so it starts with
/// a new key. Waits until the background job's first run signed the head.
async fn restart(server: &mut Server, new_key: bool) {
    server.stop().await;
    server.clock.advance(chrono::Duration::hours(2));
    if new_key {
        std::fs::remove_file(server.dir().join("server.db.key")).expect("remove the key file");
    }
    server.run().await;
    let head = server.head().await.0;
    for _ in 0..500 {
        let page = server.get("riley", "/v1/audit/checkpoints?limit=5000").await;
        if page["checkpoints"].as_array().unwrap().iter().any(|c| c["seq"] == head) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no checkpoint of the head {head} after the restart");
}

async fn key_id(server: &Server) -> String {
    govdeck::tls::install_default_provider();
    let key: Value = reqwest::get(format!("{}/v1/audit/key", server.url())).await.unwrap().json().await.unwrap();
    key["key_id"].as_str().unwrap().to_string()
}

/// `seq, hash, key_id` of every checkpoint a cache holds.
fn cached_checkpoints(path: &Path) -> Vec<(i64, String, String)> {
    let conn = Connection::open(path).unwrap();
    conn.prepare("SELECT seq, hash, key_id FROM checkpoints ORDER BY seq")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_pins_the_key_and_a_new_key_is_refused() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server, false).await;
    let first_key = key_id(&server).await;

    let caches = Caches::new();
    let path = caches.path("riley");
    let pins_path = caches.dir.path().join("config").join(pins::FILE_NAME);
    let riley = syncer(&server.url(), &server.token("riley"), &path).with_pins(pins_path.clone());
    let report = sync(&riley).await.expect("first sync");
    assert_eq!(report.pinned.as_deref(), Some(first_key.as_str()), "pinned on first use");
    let pinned = pins::load(&pins_path).unwrap();
    assert_eq!(pinned.get(&server.url()).map(|key| key.id().to_string()), Some(first_key.clone()));
    let served: Vec<(i64, String, String)> = server.get("riley", "/v1/audit/checkpoints").await["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["seq"].as_i64().unwrap(), c["hash"].as_str().unwrap().to_string(), first_key.clone()))
        .collect();
    assert_eq!(report.checkpoints, served.len() as u64);
    assert_eq!(served.last().unwrap().0 as u64, server.head().await.0, "the head was signed at the restart");
    assert_eq!(cached_checkpoints(&path), served, "every checkpoint, checked and stored");

    // Again: nothing new to pin.
    some_activity(&server, "b").await;
    let report = sync(&riley).await.expect("second sync");
    assert_eq!(report.pinned, None);

    // The server comes back with another key (and more history).
    restart(&mut server, true).await;
    some_activity(&server, "c").await;
    let second_key = key_id(&server).await;
    assert_ne!(second_key, first_key);
    let before = Snapshot::read(&path);
    let checkpoints_before = cached_checkpoints(&path);
    let err = sync(&riley).await.expect_err("a new key is refused");
    match &err {
        SyncError::KeyChanged { server: named, pinned, offered, pinned_in } => {
            assert_eq!(named, &server.url());
            assert_eq!((pinned, offered), (&first_key, &second_key));
            assert_eq!(pinned_in, &PinSource::KnownServers(pins_path.clone()));
        }
        other => panic!("expected KeyChanged, got {other:?}"),
    }
    let message = err.to_string();
    for needle in [first_key.as_str(), second_key.as_str(), "delete the line", &pins_path.display().to_string()] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert_eq!(Snapshot::read(&path), before, "the cache is unchanged");
    assert_eq!(cached_checkpoints(&path), checkpoints_before);

    // A syncer without a pins file still refuses: the cache remembers the key
    // its checkpoints were checked with.
    let unpinned = syncer(&server.url(), &server.token("riley"), &path);
    let err = sync(&unpinned).await.expect_err("the cache's key is a pin too");
    assert!(matches!(&err, SyncError::KeyChanged { pinned_in: PinSource::Cache(_), .. }), "{err:?}");
    assert_eq!(Snapshot::read(&path), before);

    // Deleting the pin accepts the new key on purpose: it is pinned, and the
    // cache's checkpoints are pulled again under it.
    std::fs::remove_file(&pins_path).unwrap();
    let report = sync(&riley).await.expect("the new key, accepted");
    assert_eq!(report.pinned.as_deref(), Some(second_key.as_str()));
    let cached = cached_checkpoints(&path);
    assert!(!cached.is_empty() && cached.iter().all(|(_, _, key)| key == &second_key), "{cached:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_pins_says_so_and_exits_7_naming_both_keys() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server, false).await;
    let first_key = key_id(&server).await;

    let cli = Cli::new(&server.url(), &server.token("riley"));
    let run = cli.run(&["sync"]).await;
    run.expect(0);
    assert!(run.stderr.contains(&format!("pinned {} key {first_key}", server.url())), "{}", run.stderr);
    let pins_file = std::fs::read_to_string(cli.config_dir.join("known_servers")).unwrap();
    assert!(pins_file.contains(&server.url()) && pins_file.contains(&first_key), "{pins_file}");
    let run = cli.run(&["audit", "verify"]).await;
    run.expect(0);
    assert!(run.stdout.contains("checkpoints ok: "), "{}", run.stdout);
    assert!(run.stdout.contains(&first_key), "{}", run.stdout);

    restart(&mut server, true).await;
    let second_key = key_id(&server).await;
    let before = Snapshot::read(&cli.cache_path());
    let run = cli.run(&["sync"]).await;
    run.expect(7);
    assert!(run.stderr.contains(&first_key) && run.stderr.contains(&second_key), "{}", run.stderr);
    assert!(run.stderr.contains("known_servers"), "{}", run.stderr);
    assert_eq!(Snapshot::read(&cli.cache_path()), before, "the cache is unchanged");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_checkpoint_stops_sync_before_anything_is_written() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server, false).await;
    let caches = Caches::new();
    let path = caches.path("riley");
    let riley = syncer(&server.url(), &server.token("riley"), &path);
    sync(&riley).await.expect("first sync");

    // New history, and a checkpoint of its head whose signature is not the key's.
    some_activity(&server, "b").await;
    let head = server.head().await;
    server.write(|conn| {
        let key_id: String = conn.query_row("SELECT key_id FROM checkpoints LIMIT 1", [], |r| r.get(0)).unwrap();
        conn.execute(
            "INSERT INTO checkpoints(seq, hash, signed_at, signature, key_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![head.0 as i64, head.1, "2026-03-02T09:00:00.000000Z", "ab".repeat(64), key_id],
        )
        .unwrap();
    });
    let before = Snapshot::read(&path);
    let err = sync(&riley).await.expect_err("a forged checkpoint is refused");
    assert!(
        matches!(&err, SyncError::Checkpoint(CheckpointError::BadSignature { seq, .. }) if *seq == head.0),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("seq {}", head.0)), "{err}");
    assert_eq!(Snapshot::read(&path), before, "nothing of the sync was written");

    // The binary: exit 7, like a rewritten history.
    let cli = Cli::new(&server.url(), &server.token("riley"));
    let run = cli.run(&["sync"]).await;
    run.expect(7);
    assert!(run.stderr.contains("signature"), "{}", run.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_checkpoints_catch_a_cut_tail_with_its_head_moved() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server, false).await;
    let cli = Cli::new(&server.url(), &server.token("riley"));
    cli.run(&["sync"]).await.expect(0);
    cli.run(&["audit", "verify"]).await.expect(0);
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let run = olive.run(&["audit", "verify"]).await;
    run.expect(0);
    assert!(run.stdout.contains("checkpoints ok"), "an owner's cache checks them too: {}", run.stdout);

    // Cut the newest event out of the cache and move its head back to match.
    let head = server.head().await.0 as i64;
    let conn = Connection::open(cli.cache_path()).unwrap();
    conn.execute("DELETE FROM audit WHERE seq = ?1", [head]).unwrap();
    let hash: String = conn.query_row("SELECT hash FROM audit WHERE seq = ?1", [head - 1], |r| r.get(0)).unwrap();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'audit_head_seq'", [(head - 1).to_string()]).unwrap();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'audit_head_hash'", [hash]).unwrap();
    drop(conn);
    let run = cli.run(&["audit", "verify"]).await;
    run.expect(6);
    assert!(run.stdout.contains("cache audit ok"), "the chain alone cannot tell: {}", run.stdout);
    assert!(run.stdout.contains(&format!("checkpoints BROKEN at seq {head}")), "{}", run.stdout);
    server.stop().await;
}
