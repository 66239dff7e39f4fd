//! Tamper evidence on a 10,000-event chain, checked by the real binary:
//! `govdeck audit verify --db COPY` exits 6 and names the first bad seq for
//! an edited byte, a deleted row, two swapped rows, a cut tail, an event
//! forged past the recorded head and a removed head record, and exits 0 on
//! the untouched chain.
//!
//! What the hash chain cannot catch on its own is documented here too: a
//! chain rewritten consistently from seq 1 with the head in `meta` moved to
//! match passes while no signed checkpoint covers it, and is caught once
//! the server has signed one.

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{TimeZone, Utc};
use govdeck::domain::Visibility;
use govdeck::seed::{SeedOptions, seed};
use govdeck::store::{Store, audit};
use rusqlite::{Connection, params};
use tempfile::TempDir;

const EVENTS: u64 = 10_000;
const TEMPLATE: &str = "seeded.db";
/// `govdeck audit verify` exit status for a broken chain.
const EXIT_TAMPERED: i32 = 6;

/// A temp dir holding a seeded database of [`EVENTS`] events, checkpointed
/// into one file so a plain copy is a whole database.
fn seeded() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TEMPLATE);
    let mut store = Store::open(&path).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let report = seed(&mut store, &SeedOptions { apps: 1000, events: EVENTS as usize, seed: 7, now }).unwrap();
    assert_eq!(report.events as u64, EVENTS);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    dir
}

fn copy(dir: &Path, name: &str) -> PathBuf {
    let copy = dir.join(format!("{name}.db"));
    std::fs::copy(dir.join(TEMPLATE), &copy).unwrap();
    copy
}

fn tamper(path: &Path, edit: impl FnOnce(&Connection)) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    edit(&tx);
    tx.commit().unwrap();
}

fn verify_cli(path: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["audit", "verify", "--db"])
        .arg(path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run govdeck audit verify")
}

/// The first `seq N` the output names.
fn first_named_seq(stdout: &str) -> Option<u64> {
    let at = stdout.find("seq ")? + 4;
    let digits: String = stdout[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Runs the binary on `path`; asserts it fails with exit 6 naming `seq` first.
fn assert_broken_at(path: &Path, seq: u64, case: &str) {
    let out = verify_cli(path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_TAMPERED), "{case}: exit 6 for a broken chain; {stdout} {stderr}");
    assert_eq!(first_named_seq(&stdout), Some(seq), "{case}: names the first bad seq {seq}: {stdout}");
}

fn assert_intact(path: &Path, case: &str) -> String {
    let out = verify_cli(path);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{case}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

const CONTENT_COLUMNS: &str = "event_id, timestamp, actor_id, actor_role, app_id, version, environment, \
    action_type, resource_type, resource_id, data_classification, outcome, error_code, ip_address, user_agent, \
    request_context, risk_score_at_time, approval_id, prev_hash, hash";

/// Edits seq `at` (its actor gains a flipped letter), re-hashes every event
/// from seq 1 so each links to the one before, and moves the head in `meta`
/// to the new last hash: a forgery by someone holding the database.
fn rewrite_consistently(conn: &Connection, at: u64) {
    let (mut events, more) = audit::page(conn, 0, EVENTS as u32, &Visibility::All).unwrap();
    assert!(!more);
    let mut prev = govdeck::domain::audit::GENESIS_HASH.to_string();
    for event in &mut events {
        if event.seq == at {
            event.actor_id = flip_first_letter(&event.actor_id);
        }
        event.prev_hash = prev;
        event.hash = event.compute_hash();
        prev = event.hash.clone();
        conn.execute(
            "UPDATE audit SET actor_id = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            params![event.actor_id, event.prev_hash, event.hash, event.seq as i64],
        )
        .unwrap();
    }
    let last = events.last().unwrap();
    audit::set_head(conn, &govdeck::domain::api::AuditHead { seq: last.seq, hash: last.hash.clone() }).unwrap();
}

/// One byte changed: the first ASCII letter's case bit flipped.
fn flip_first_letter(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = bytes.iter().position(u8::is_ascii_alphabetic).expect("a letter to flip");
    bytes[at] ^= 0x20;
    String::from_utf8(bytes).unwrap()
}

#[test]
fn verify_names_the_first_bad_seq_of_a_tampered_ten_thousand_event_chain() {
    let dir = seeded();
    let dir = dir.path();

    let clean = copy(dir, "clean");
    let stdout = assert_intact(&clean, "untouched");
    assert!(stdout.contains(&format!("{EVENTS} events verified")), "{stdout}");

    // One byte of one field.
    let edited = copy(dir, "edited");
    tamper(&edited, |conn| {
        let actor: String = conn.query_row("SELECT actor_id FROM audit WHERE seq = 4321", [], |r| r.get(0)).unwrap();
        let flipped = flip_first_letter(&actor);
        assert_eq!(flipped.len(), actor.len());
        conn.execute("UPDATE audit SET actor_id = ?1 WHERE seq = 4321", [flipped]).unwrap();
    });
    assert_broken_at(&edited, 4321, "one byte of actor_id");

    // One byte of the stored hash itself.
    let hash_edited = copy(dir, "hash-edited");
    tamper(&hash_edited, |conn| {
        conn.execute("UPDATE audit SET hash = '0' || substr(hash, 2) WHERE seq = 777 AND hash NOT LIKE '0%'", [])
            .unwrap();
        conn.execute("UPDATE audit SET hash = '1' || substr(hash, 2) WHERE seq = 777 AND hash LIKE '0%'", []).unwrap();
    });
    assert_broken_at(&hash_edited, 777, "one byte of hash");

    // A deleted row.
    let deleted = copy(dir, "deleted");
    tamper(&deleted, |conn| assert_eq!(conn.execute("DELETE FROM audit WHERE seq = 5000", []).unwrap(), 1));
    assert_broken_at(&deleted, 5000, "row 5000 deleted");

    // Two rows' content swapped, seq numbers left in place.
    let swapped = copy(dir, "swapped");
    tamper(&swapped, |conn| {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE original AS SELECT * FROM audit WHERE seq IN (2000, 7000);
             UPDATE audit SET ({CONTENT_COLUMNS}) = (SELECT {CONTENT_COLUMNS} FROM original
                 WHERE original.seq = CASE audit.seq WHEN 2000 THEN 7000 ELSE 2000 END)
             WHERE seq IN (2000, 7000);"
        ))
        .unwrap();
    });
    assert_broken_at(&swapped, 2000, "rows 2000 and 7000 swapped");

    // The tail cut, the head in meta left as it was.
    let cut = copy(dir, "cut");
    tamper(&cut, |conn| assert_eq!(conn.execute("DELETE FROM audit WHERE seq > 9900", []).unwrap(), 100));
    assert_broken_at(&cut, 9901, "last 100 rows deleted");

    // The untouched copy still passes after all that.
    assert_intact(&clean, "untouched, again");
}

/// What the chain alone cannot tell: a rewrite from seq 1 with the head in
/// `meta` moved to match (or a cut tail with the head moved back) verifies
/// as a chain. On a database no server has signed checkpoints for (a fresh
/// seed), the Merkle tree the server keeps beside the rows still gives it
/// away (its root, or its size, is no longer the rows'); a forger who also
/// rebuilds the tree is caught only by a signed checkpoint (below), and
/// verify says the events are not covered by one.
#[test]
fn a_consistent_rewrite_of_an_unsigned_chain_is_caught_by_the_stored_tree_unless_it_is_rebuilt() {
    let dir = seeded();
    let dir = dir.path();

    let rewritten = copy(dir, "rewritten");
    tamper(&rewritten, |conn| rewrite_consistently(conn, 4321));
    let out = verify_cli(&rewritten);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(EXIT_TAMPERED), "{stdout}");
    assert!(stdout.contains(&format!("{EVENTS} events verified")), "the chain itself passes: {stdout}");
    assert!(stdout.contains("stored tree BROKEN: the root of the server's Merkle tree"), "{stdout}");

    let cut = copy(dir, "cut-and-moved");
    let cut_tail = |conn: &Connection| {
        conn.execute("DELETE FROM audit WHERE seq > 9900", []).unwrap();
        let hash: String = conn.query_row("SELECT hash FROM audit WHERE seq = 9900", [], |r| r.get(0)).unwrap();
        audit::set_head(conn, &govdeck::domain::api::AuditHead { seq: 9900, hash }).unwrap();
    };
    tamper(&cut, cut_tail);
    let out = verify_cli(&cut);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(EXIT_TAMPERED), "{stdout}");
    assert!(stdout.contains("holds 10000 events and the chain 9900"), "{stdout}");

    // The tree rebuilt from the forged rows too (emptied: opening the
    // database read-write would fill it again from them): nothing but a
    // signed checkpoint could tell.
    let rebuilt = copy(dir, "rewritten-and-rebuilt");
    tamper(&rebuilt, |conn| {
        rewrite_consistently(conn, 4321);
        conn.execute_batch("DELETE FROM audit_tree; DELETE FROM meta WHERE key = 'audit_tree_size';").unwrap();
    });
    Store::open(&rebuilt).unwrap();
    let stdout = assert_intact(&rebuilt, "rewritten from seq 1, head moved, tree rebuilt");
    assert!(stdout.contains("not covered by a signed checkpoint"), "verify says what it could not check: {stdout}");
}

/// Once the server has signed a checkpoint of the head, the same rewrite is
/// caught: the checkpoint no longer matches the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consistent_rewrite_is_caught_by_a_signed_checkpoint() {
    let dir = seeded();
    let template = dir.path().join(TEMPLATE);
    {
        // The server opens the database (creating `<db>.key`) and its
        // checkpoint job signs the head.
        let clock: std::sync::Arc<dyn govdeck::clock::Clock> = std::sync::Arc::new(govdeck::clock::SystemClock);
        let state = govdeck::server::ServerState::open(&template, clock).unwrap();
        let signed = state.run_checkpoint_job().await.unwrap().expect("the head is signed");
        assert_eq!(signed.seq, EVENTS);
    }
    let rewritten = copy(dir.path(), "rewritten");
    std::fs::copy(dir.path().join(format!("{TEMPLATE}.key")), dir.path().join("rewritten.db.key")).unwrap();
    assert_intact(&rewritten, "signed, untouched");
    tamper(&rewritten, |conn| rewrite_consistently(conn, 4321));
    let out = verify_cli(&rewritten);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(EXIT_TAMPERED), "{stdout}");
    assert!(stdout.contains(&format!("checkpoints BROKEN at seq {EVENTS}")), "{stdout}");
}

#[test]
fn an_event_forged_past_the_recorded_head_is_caught() {
    let dir = seeded();
    let forged = copy(dir.path(), "forged");
    tamper(&forged, |conn| {
        let (events, _) = audit::page(conn, EVENTS - 1, 1, &Visibility::All).unwrap();
        let mut event = events[0].clone();
        event.seq = EVENTS + 1;
        event.event_id = "forged".into();
        event.actor_id = "mallory".into();
        event.prev_hash = event.hash.clone();
        event.hash = event.compute_hash();
        audit::insert(conn, &event).unwrap();
    });
    assert_broken_at(&forged, EVENTS + 1, "an event appended past the head in meta");
}

#[test]
fn a_removed_head_record_is_caught() {
    let dir = seeded();
    let headless = copy(dir.path(), "headless");
    tamper(&headless, |conn| {
        assert_eq!(conn.execute("DELETE FROM meta WHERE key IN ('audit_head_seq', 'audit_head_hash')", []).unwrap(), 2);
    });
    assert_broken_at(&headless, 1, "the head record deleted");
}
