//! The audit timeline's filter over the whole cache (target: any filter
//! over 1,000,000 cached events answers in ≤ 100 ms): one page of 1,000
//! matches, newest first, as the console asks for it
//! (`cache::audit_search::search`).
//!
//! The cache holds the seeded catalog's events and apps as a reviewer's
//! synced cache does: the rows of a seeded server database copied in, the
//! filter's value counts taken as an appended page takes them, and the
//! indexes built as at open. The filters: a person, a service prefix, a busy
//! and a quiet app by name, a rare action, DLP, an outcome, an error code,
//! several terms, nothing matching, and the worst case for the plan: two
//! terms each matching most events whose intersection is empty, so every
//! event is read: answered in bounded steps (`cache::audit_search::SCAN_ROWS`
//! events each), the first step timed by `audit_filter`, all of them by
//! `audit_filter_every_step_of_the_worst_case`.
//!
//! Sizes: see `support` (GOVDECK_BENCH_QUICK, GOVDECK_BENCH_APPS, GOVDECK_BENCH_EVENTS).
//! `GOVDECK_BENCH_AUDIT_CACHE=PATH` keeps the cache built at PATH (and uses
//! it as it is when it exists), so a second run skips the seeding.

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use divan::{Bencher, black_box};
use govdeck::cache::{Cache, audit, audit_search, catalog};
use govdeck::domain::audit_query::AuditQuery;

/// Matches per page, as the console pages the timeline.
const PAGE: u32 = 1000;

struct Fixture {
    /// `None` when the cache was kept from an earlier run.
    seeded: Option<support::Seeded>,
    cache_path: PathBuf,
    busy_app: String,
    quiet_app: String,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let kept = std::env::var_os("GOVDECK_BENCH_AUDIT_CACHE").map(PathBuf::from);
        let (seeded, cache_path) = match kept {
            Some(path) if path.exists() => (None, path),
            kept => {
                let sizes = support::sizes();
                let seeded = support::seeded(sizes.apps, sizes.events);
                let path = kept.unwrap_or_else(|| seeded.dir.path().join("cache.sqlite"));
                fill(&seeded, &path);
                (Some(seeded), path)
            }
        };
        let cache = Cache::open(&cache_path).expect("open cache");
        let conn = cache.conn();
        let name_by_events = |order: &str| -> String {
            conn.query_row(
                &format!(
                    "SELECT a.name FROM audit_values v JOIN apps a ON a.id = v.value WHERE v.field = 'app'
                     ORDER BY v.events {order}, a.name LIMIT 1"
                ),
                [],
                |row| row.get(0),
            )
            .expect("an app with events")
        };
        let (busy_app, quiet_app) = (name_by_events("DESC"), name_by_events("ASC"));
        let events = audit_search::count(conn).expect("count");
        eprintln!("[bench setup] a cache of {events} events at {}", cache_path.display());
        drop(cache);
        Fixture { seeded, cache_path, busy_app, quiet_app }
    })
}

/// A reviewer's cache at `path` holding the seeded server's events and apps.
fn fill(seeded: &support::Seeded, path: &std::path::Path) {
    let started = Instant::now();
    let mut cache = Cache::open(path).expect("open cache");
    let apps = support::apps_of(&seeded.db);
    let db = seeded.db.to_string_lossy().to_string();
    cache.conn().execute("ATTACH DATABASE ?1 AS server", [db]).expect("attach");
    cache
        .write(|conn| {
            audit::drop_secondary_indexes(conn)?;
            conn.execute_batch("INSERT INTO main.audit SELECT * FROM server.audit")?;
            for app in &apps {
                catalog::put_app(conn, app)?;
            }
            audit_search::count_values(conn, 0, i64::MAX as u64)?;
            audit::create_secondary_indexes(conn)
        })
        .expect("fill the cache");
    cache.conn().execute("DETACH DATABASE server", []).expect("detach");
    support::note(&format!("cache of {} apps", apps.len()), started);
}

fn main() {
    if !std::env::args().any(|arg| arg == "--list") {
        fixture();
    }
    divan::main();
    if let Some(seeded) = FIXTURE.get().and_then(|f| f.seeded.as_ref()) {
        support::remove(seeded);
    }
}

fn filter_text(which: &str, fixture: &Fixture) -> String {
    match which {
        "busy app" => format!("app:{}", fixture.busy_app),
        "quiet app" => format!("app:{}", fixture.quiet_app),
        other => other.to_string(),
    }
}

#[divan::bench(
    sample_count = 20,
    args = [
        "", "riley", "actor:svc-", "busy app", "quiet app", "action:lifecycle", "dlp", "outcome:blocked",
        "AUTH-MFA", "action:login outcome:failure", "zzzq", "action:app.login actor:svc-",
    ]
)]
fn audit_filter(bencher: Bencher, which: &str) {
    let fixture = fixture();
    let cache = Cache::open(&fixture.cache_path).expect("open cache");
    let query = AuditQuery { id: 1, text: filter_text(which, fixture), outcome: None, before_seq: None, limit: PAGE };
    let page = audit_search::search(cache.conn(), &query).expect("search");
    eprintln!("[bench] {which:?} → {:?}: {} events, more {}", query.text, page.events.len(), page.more);
    bencher.bench_local(|| audit_search::search(cache.conn(), black_box(&query)).expect("search"));
}

/// The second page of a filter that matches many events.
#[divan::bench(sample_count = 20)]
fn audit_filter_next_page(bencher: Bencher) {
    let fixture = fixture();
    let cache = Cache::open(&fixture.cache_path).expect("open cache");
    let mut query = AuditQuery { id: 1, text: "actor:svc-".into(), outcome: None, before_seq: None, limit: PAGE };
    let first = audit_search::search(cache.conn(), &query).expect("search");
    query.before_seq = first.events.last().map(|e| e.seq);
    bencher.bench_local(|| audit_search::search(cache.conn(), black_box(&query)).expect("search"));
}

/// The worst filter answered whole: every bounded step the console asks
/// for in turn until the cache is exhausted (the first step is what
/// `audit_filter` times).
#[divan::bench(sample_count = 10)]
fn audit_filter_every_step_of_the_worst_case(bencher: Bencher) {
    let fixture = fixture();
    let cache = Cache::open(&fixture.cache_path).expect("open cache");
    let first =
        AuditQuery { id: 1, text: "action:app.login actor:svc-".into(), outcome: None, before_seq: None, limit: PAGE };
    bencher.bench_local(|| {
        let mut query = first.clone();
        let mut steps = 0;
        loop {
            let page = audit_search::search(cache.conn(), black_box(&query)).expect("search");
            steps += 1;
            if !page.more {
                break steps;
            }
            query.before_seq = page.next_before;
        }
    });
}
