//! Merkle checks of sync: an owner's cache stores an inclusion proof of each
//! of its events against a signed tree head, and `audit verify` checks them;
//! a server whose tree no longer extends the signed tree head the cache
//! pinned (an event rewritten, or removed so the tree is shorter) is
//! refused with exit 7, for an owner as for a reviewer.

mod sync_support;

use rusqlite::Connection;
use sync_support::{Cli, Server, manifest};

async fn some_activity(server: &Server, tag: &str) {
    let (_, request) = server.intake("olive", &manifest(&format!("{tag}-quoting"), None, "high")).await;
    server.decide("riley", &request, "approve", "first").await;
    server.intake("omar", &manifest(&format!("{tag}-menu"), Some("omar"), "low")).await;
    server.intake("olive", &manifest(&format!("{tag}-notes"), None, "low")).await;
}

/// Restarts the server two hours later on its clock and waits until its
/// checkpoint job signed the head.
async fn restart(server: &mut Server) {
    server.stop().await;
    server.clock.advance(chrono::Duration::hours(2));
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

fn olive_seqs(server: &Server) -> Vec<i64> {
    let conn = Connection::open(&server.db_path).unwrap();
    conn.prepare("SELECT seq FROM audit WHERE app_id IN (SELECT id FROM apps WHERE owner = 'olive') ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn proved_seqs(cache: &std::path::Path) -> Vec<i64> {
    let conn = Connection::open(cache).unwrap();
    conn.prepare("SELECT seq FROM audit_proofs ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Rebuilds the server's Merkle tree from its rows as they are now (the
/// next start's migration does it), as a server that rewrote its log would.
fn rebuild_tree(server: &Server) {
    let conn = Connection::open(&server.db_path).unwrap();
    conn.execute_batch("DELETE FROM audit_tree; DELETE FROM meta WHERE key = 'audit_tree_size';").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owners_cache_holds_a_checked_proof_of_each_of_its_events() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let seqs = olive_seqs(&server);
    assert!(seqs.len() >= 3 && seqs.windows(2).any(|w| w[1] > w[0] + 1), "events with gaps: {seqs:?}");
    assert_eq!(proved_seqs(&olive.cache_path()), seqs);
    let run = olive.run(&["audit", "verify"]).await;
    run.expect(0);
    assert!(run.stdout.contains(&format!("proofs ok: {} events", seqs.len())), "{}", run.stdout);
    let json: serde_json::Value =
        serde_json::from_str(olive.run(&["audit", "verify", "--json"]).await.expect(0)).unwrap();
    assert_eq!(json["proofs"]["proved"], seqs.len() as u64, "{json}");
    assert_eq!(json["proofs"]["ok"], true);
    assert!(json["tree"].is_null(), "an owner's cache proves its events instead: {json}");

    // A reviewer's cache, the whole chain: the signed roots are the roots of its rows.
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["audit", "verify"]).await;
    assert!(run.expect(0).contains("tree ok: the Merkle root of the rows matches"), "{}", run.stdout);
    let json: serde_json::Value =
        serde_json::from_str(riley.run(&["audit", "verify", "--json"]).await.expect(0)).unwrap();
    assert_eq!(json["tree"]["ok"], true, "{json}");
    assert!(json["tree"]["heads_checked"].as_u64().unwrap() >= 1, "{json}");
    assert!(json["proofs"].is_null());

    // More events, another signed head: the new ones are proved too.
    some_activity(&server, "b").await;
    restart(&mut server).await;
    olive.run(&["sync"]).await.expect(0);
    assert_eq!(proved_seqs(&olive.cache_path()), olive_seqs(&server));

    // A proof edited in the cache is caught by verify.
    let conn = Connection::open(olive.cache_path()).unwrap();
    conn.execute("UPDATE audit_proofs SET proof = zeroblob(length(proof)) WHERE seq = ?1", [seqs[1]]).unwrap();
    drop(conn);
    let run = olive.run(&["audit", "verify"]).await;
    run.expect(6);
    assert!(run.stdout.contains(&format!("proofs BROKEN at seq {}", seqs[1])), "{}", run.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_rewrote_an_owners_event_is_refused_with_exit_7() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);

    // The server edits one of olive's events (keeping its stored hash, so
    // its own checkpoint job signs on) and its tree is rebuilt to match.
    let victim = olive_seqs(&server)[0];
    server.stop().await;
    Connection::open(&server.db_path)
        .unwrap()
        .execute("UPDATE audit SET actor_id = 'mallory' WHERE seq = ?1", [victim])
        .unwrap();
    rebuild_tree(&server);
    server.run().await;
    some_activity(&server, "b").await;
    restart(&mut server).await;

    for cli in [&olive, &riley] {
        let run = cli.run(&["sync"]).await;
        run.expect(7);
        assert!(
            run.stderr.contains("does not extend") || run.stderr.contains("not the one it signed"),
            "{}",
            run.stderr
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_removed_an_owners_event_shows_a_shorter_tree_and_is_refused() {
    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);

    // One of olive's events removed: the tree can only be rebuilt up to it.
    let victim = olive_seqs(&server)[1];
    server.stop().await;
    Connection::open(&server.db_path).unwrap().execute("DELETE FROM audit WHERE seq = ?1", [victim]).unwrap();
    rebuild_tree(&server);
    server.run().await;
    let run = olive.run(&["sync"]).await;
    run.expect(7);
    assert!(run.stderr.contains("refused a consistency proof") || run.stderr.contains("shrank"), "{}", run.stderr);
    server.stop().await;
}

/// A server that signed, between two honest tree heads, one of another
/// history (shown to someone else, say) is caught at that head: each signed
/// head must extend the one before it, not only the newest the pinned one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_tree_head_between_two_honest_ones_is_refused_with_exit_7() {
    use govdeck::clock::Clock;
    use govdeck::domain::checkpoint::{self, PublicKey};
    use govdeck::server::signing;

    let mut server = Server::start().await;
    some_activity(&server, "a").await;
    restart(&mut server).await;
    let olive = Cli::new(&server.url(), &server.token("olive"));
    olive.run(&["sync"]).await.expect(0);
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);
    let pinned = server.head().await.0;

    // More events; the server signs a head of one more event than the pinned
    // one with a root of another history, then an honest head of them all.
    some_activity(&server, "b").await;
    server.stop().await;
    let (key, _) = signing::load_or_create(&signing::default_key_path(&server.db_path)).unwrap();
    let conn = Connection::open(&server.db_path).unwrap();
    let forked_seq = pinned + 1;
    let hash: String =
        conn.query_row("SELECT hash FROM audit WHERE seq = ?1", [forked_seq as i64], |row| row.get(0)).unwrap();
    let forked = checkpoint::sign_tree_head(
        &key,
        &signing::default_origin(),
        forked_seq,
        &hash,
        &[0x5a; 32],
        server.clock.now() + chrono::Duration::minutes(1),
    );
    govdeck::store::checkpoints::insert(&conn, &forked, PublicKey::of(&key).id()).unwrap();
    drop(conn);
    // Offline, the database itself gives the forged head away: its root is
    // not the root of the rows at that size.
    let run = riley.run(&["audit", "verify", "--db", server.db_path.to_str().unwrap()]).await;
    run.expect(6);
    assert!(run.stdout.contains(&format!("tree BROKEN at size {forked_seq}")), "{}", run.stdout);
    server.run().await;
    restart(&mut server).await;

    for cli in [&olive, &riley] {
        let run = cli.run(&["sync"]).await;
        run.expect(7);
        assert!(
            run.stderr.contains(&format!("tree of {forked_seq} events")) && run.stderr.contains("signed"),
            "names the forked head: {}",
            run.stderr
        );
    }
    server.stop().await;
}
