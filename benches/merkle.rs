//! The Merkle tree over the audit log (targets: an inclusion proof at
//! 1,000,000 events in ≤ 1 ms in process; appending with the tree costs
//! little beside the append before it). Each figure has its anchor in the
//! same run:
//!
//! * `inclusion_proof` (what `GET /v1/audit/proof/inclusion` answers: the
//!   readable check, the root, the leaf and its audit path,
//!   `store::merkle::inclusion_for`) and `inclusion_path` (the path alone),
//!   `consistency_proof` (both roots and the path, `consistency_for`) and
//!   `consistency_path` (the path alone), all at the seeded log's whole size
//!   from the stored subtree hashes, leaves spread over the tree; beside
//!   `anchor_read_one_event` (one event read by seq, what `/v1/audit` does
//!   per event);
//! * `append_with_tree` (one event appended in its own write transaction,
//!   its leaf and the subtrees it completes written too, as every server
//!   write does, `store::audit::append`) beside `anchor_append_chain_only`
//!   (the same event sealed, inserted and the head moved, without the tree:
//!   the append before the tree). Each appends to its own copy of the
//!   seeded database, so both start at the seeded size.
//!
//! Sizes: see `support` (GOVDECK_BENCH_QUICK, GOVDECK_BENCH_EVENTS); the
//! catalog is at most 2,000 apps whatever GOVDECK_BENCH_APPS says, since
//! only the log matters here.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use chrono::Utc;
use divan::{Bencher, black_box};
use govdeck::domain::api::AuditHead;
use govdeck::domain::{AuditEvent, NewAuditEvent, Visibility};
use govdeck::store::{Store, audit, merkle};
use rusqlite::OptionalExtension;

struct Fixture {
    seeded: support::Seeded,
    /// Leaves in the stored tree (the seeded events).
    size: u64,
    /// Copies of the seeded database, one for each append bench.
    with_tree_db: PathBuf,
    chain_only_db: PathBuf,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let sizes = support::sizes();
        let seeded = support::seeded(sizes.apps.min(2_000), sizes.events);
        let store = Store::open_read_only(&seeded.db).expect("open");
        let size = merkle::size(store.conn()).expect("tree size");
        let head = audit::head(store.conn()).expect("head");
        assert_eq!(size, head.seq, "the seed leaves the tree at the chain's head");
        assert!(size > 0, "a log to prove against");
        drop(store);
        eprintln!("[bench setup] a tree of {size} leaves");
        let started = Instant::now();
        let copy = |name: &str| {
            let path = seeded.dir.path().join(name);
            std::fs::copy(&seeded.db, &path).expect("copy the seeded database");
            path
        };
        let (with_tree_db, chain_only_db) = (copy("append-with-tree.db"), copy("append-chain-only.db"));
        support::note("two copies of the seeded database for the appends", started);
        Fixture { seeded, size, with_tree_db, chain_only_db }
    })
}

/// A read connection of its own on the seeded database.
fn reader() -> Store {
    Store::open_read_only(&fixture().seeded.db).expect("open")
}

/// Leaves spread over the tree, the same in every run.
fn leaf(n: u64, size: u64) -> u64 {
    n.wrapping_mul(2_654_435_761) % size
}

#[divan::bench]
fn anchor_read_one_event(bencher: Bencher) {
    let size = fixture().size;
    let store = reader();
    let conn = store.conn();
    let sql = format!("SELECT {} FROM audit WHERE seq = ?1", audit::COLUMNS);
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        let seq = leaf(n, size) as i64 + 1;
        let event: Option<AuditEvent> =
            conn.prepare_cached(&sql).expect("prepare").query_row([seq], audit::from_row).optional().expect("read");
        black_box(event.expect("the event at seq"))
    });
}

#[divan::bench]
fn inclusion_proof(bencher: Bencher) {
    let size = fixture().size;
    let store = reader();
    let conn = store.conn();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        let seq = leaf(n, size) + 1;
        black_box(merkle::inclusion_for(conn, seq, None, &Visibility::All).expect("proof"))
    });
}

#[divan::bench]
fn inclusion_path(bencher: Bencher) {
    let size = fixture().size;
    let store = reader();
    let conn = store.conn();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        black_box(merkle::inclusion(conn, leaf(n, size), size).expect("path"))
    });
}

#[divan::bench]
fn consistency_proof(bencher: Bencher) {
    let size = fixture().size;
    let store = reader();
    let conn = store.conn();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        black_box(merkle::consistency_for(conn, leaf(n, size).max(1), None).expect("proof"))
    });
}

#[divan::bench]
fn consistency_path(bencher: Bencher) {
    let size = fixture().size;
    let store = reader();
    let conn = store.conn();
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        black_box(merkle::consistency(conn, leaf(n, size).max(1), size).expect("path"))
    });
}

fn event(n: u64) -> NewAuditEvent {
    NewAuditEvent {
        actor_id: "riley".into(),
        actor_role: "reviewer".into(),
        action_type: "approval.decided".into(),
        resource_type: "approval".into(),
        request_context: serde_json::json!({"decision": "approve", "n": n}),
        ..NewAuditEvent::default()
    }
}

/// An append bench's own copy of the seeded database, opened as the server
/// opens it.
fn open_copy(path: &Path) -> Store {
    Store::open(path).expect("open")
}

#[divan::bench]
fn append_with_tree(bencher: Bencher) {
    let mut store = open_copy(&fixture().with_tree_db);
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        store.write(|conn| audit::append(conn, event(n), "riley", Utc::now()).map(|_| ())).expect("append")
    });
    let conn = store.conn();
    let (head, size) = (audit::head(conn).expect("head"), merkle::size(conn).expect("size"));
    assert_eq!(size, head.seq, "every appended event is a leaf");
}

#[divan::bench]
fn anchor_append_chain_only(bencher: Bencher) {
    let mut store = open_copy(&fixture().chain_only_db);
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        store
            .write(|conn| {
                let head = audit::head(conn)?;
                let sealed = AuditEvent::seal(
                    event(n),
                    "riley",
                    uuid::Uuid::new_v4().to_string(),
                    head.seq + 1,
                    Utc::now(),
                    &head.hash,
                );
                audit::insert(conn, &sealed)?;
                audit::set_head(conn, &AuditHead { seq: sealed.seq, hash: sealed.hash })
            })
            .expect("append")
    });
}

fn main() {
    // Built before divan starts, so its notes do not break divan's table.
    if !std::env::args().any(|arg| arg == "--list") {
        fixture();
    }
    divan::main();
    if let Some(fixture) = FIXTURE.get() {
        support::remove(&fixture.seeded);
    }
}
