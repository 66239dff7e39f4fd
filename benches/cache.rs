//! The console's cache at scale: the seeded catalog (100k apps, 1M audit
//! events by default) served on a loopback port in this process and synced
//! into a reviewer's cache by the real sync engine, then:
//!
//! * `kpis`: the KPI figures as the console computes them: the DLP-blocks
//!   SQL aggregate over every audit event plus `kpi::compute` over the apps
//!   and requests in memory (target ≤ 100 ms); and each part alone;
//! * `audit_newest_page` / `audit_page_by_app`: the timeline's queries
//!   (`cache::audit::recent`, `cache::audit::for_app`);
//! * `load_data`: everything the console reads at start (`console::load_data`:
//!   every app and request decoded, the newest 5,000 events, the KPIs), the
//!   bulk of the time to the first frame;
//! * `sync_no_change`: one sync round when nothing changed, in process,
//!   over loopback HTTP (target ≤ 5 ms).
//!
//! Sizes: see `support` (GOVDECK_BENCH_QUICK, GOVDECK_BENCH_APPS, GOVDECK_BENCH_EVENTS).

mod support;

use std::sync::OnceLock;
use std::time::Instant;

use divan::{Bencher, black_box};
use govdeck::cache::{audit, catalog};
use govdeck::domain::{AppSummary, Approval, kpi};

struct Fixture {
    world: support::World,
    apps: Vec<AppSummary>,
    approvals: Vec<Approval>,
    /// The app with the most audit events, and one with few.
    busy_app: String,
    quiet_app: String,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let sizes = support::sizes();
        let world = support::World::build(sizes.apps, sizes.events);
        let started = Instant::now();
        let cache = world.open_cache();
        let conn = cache.conn();
        let apps = catalog::summaries(conn).expect("apps");
        let approvals = catalog::approvals(conn).expect("approvals");
        let by_app = |order: &str| -> String {
            conn.query_row(
                &format!(
                    "SELECT app_id FROM audit WHERE app_id IS NOT NULL GROUP BY app_id ORDER BY COUNT(*) {order}, app_id LIMIT 1"
                ),
                [],
                |row| row.get(0),
            )
            .expect("an app with events")
        };
        let (busy_app, quiet_app) = (by_app("DESC"), by_app("ASC"));
        let events: i64 = conn.query_row("SELECT COUNT(*) FROM audit", [], |row| row.get(0)).expect("count");
        support::note(&format!("read {} apps, {} requests; {events} events cached", apps.len(), approvals.len()), started);
        drop(cache);
        Fixture { world, apps, approvals, busy_app, quiet_app }
    })
}

fn main() {
    // Built before divan starts, so its notes do not break divan's table.
    if !std::env::args().any(|arg| arg == "--list") {
        fixture();
    }
    divan::main();
    if let Some(fixture) = FIXTURE.get() {
        support::remove(&fixture.world.seeded);
    }
}

#[divan::bench(sample_count = 30)]
fn kpis(bencher: Bencher) {
    let fixture = fixture();
    let cache = fixture.world.open_cache();
    let now = support::now();
    bencher.bench_local(|| {
        let dlp = audit::dlp_blocks_by_month(cache.conn()).expect("dlp");
        kpi::compute(&fixture.apps, &fixture.approvals, &dlp, now)
    });
}

#[divan::bench(sample_count = 30)]
fn kpis_dlp_blocks_by_month_sql(bencher: Bencher) {
    let cache = fixture().world.open_cache();
    bencher.bench_local(|| audit::dlp_blocks_by_month(cache.conn()).expect("dlp"));
}

#[divan::bench(sample_count = 30)]
fn kpis_compute_in_memory(bencher: Bencher) {
    let fixture = fixture();
    let cache = fixture.world.open_cache();
    let dlp = audit::dlp_blocks_by_month(cache.conn()).expect("dlp");
    let now = support::now();
    bencher.bench(|| kpi::compute(&fixture.apps, &fixture.approvals, &dlp, now));
}

/// The newest `limit` events: 50 is `govdeck audit`'s page, 5,000 the console's window.
#[divan::bench(args = [50, 5000])]
fn audit_newest_page(bencher: Bencher, limit: u32) {
    let cache = fixture().world.open_cache();
    bencher.bench_local(|| audit::recent(cache.conn(), black_box(limit)).expect("recent"));
}

/// The newest 50 events of the busiest app and of a quiet one.
#[divan::bench(args = ["busiest", "quietest"])]
fn audit_page_by_app(bencher: Bencher, which: &str) {
    let fixture = fixture();
    let app = if which == "busiest" { &fixture.busy_app } else { &fixture.quiet_app };
    let cache = fixture.world.open_cache();
    bencher.bench_local(|| audit::for_app(cache.conn(), black_box(app), 50).expect("for_app"));
}

#[divan::bench(sample_count = 10)]
fn load_data(bencher: Bencher) {
    let fixture = fixture();
    let mut cache = fixture.world.open_cache();
    let url = fixture.world.url.clone();
    bencher.bench_local(|| cache.read(|conn| govdeck::console::load_data(conn, &url)).expect("load"));
}

#[divan::bench(sample_count = 10)]
fn catalog_apps_decode(bencher: Bencher) {
    let cache = fixture().world.open_cache();
    bencher.bench_local(|| catalog::apps(cache.conn()).expect("apps"));
}

/// What the console and `govdeck apps` read instead: columns, no JSON.
#[divan::bench(sample_count = 10)]
fn catalog_summaries(bencher: Bencher) {
    let cache = fixture().world.open_cache();
    bencher.bench_local(|| catalog::summaries(cache.conn()).expect("summaries"));
}

#[divan::bench(sample_count = 50)]
fn sync_no_change(bencher: Bencher) {
    let world = &fixture().world;
    // One round first, so the cache is as a running console's is.
    world.runtime.block_on(world.syncer.sync_once(&|_| {})).expect("sync");
    bencher.bench_local(|| world.runtime.block_on(world.syncer.sync_once(&|_| {})).expect("sync"));
    let report = world.runtime.block_on(world.syncer.sync_once(&|_| {})).expect("sync");
    if report.changes + report.events > 0 {
        eprintln!("[bench] sync_no_change: the server changed during the run ({report:?})");
    }
}
