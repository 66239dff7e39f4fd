//! `govdeck import backstage` against a Backstage-compatible fake on
//! `127.0.0.1:0` (an axum app serving the recorded-shape pages in
//! `tests/fixtures/backstage/`), and `govdeck export` of what it imported.
//!
//! The measurement of 10,000 entities is `#[ignore]`d; run it with
//! `cargo test --release --test import_backstage -- --ignored --nocapture`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use govdeck::clock::ManualClock;
use govdeck::config::settings::Token;
use govdeck::domain::app::{FLAG_MANIFEST_INCOMPLETE, FLAG_ORPHANED};
use govdeck::domain::{App, AppState, Tier};
use govdeck::import::backstage::{Backstage, FIELDS, PageRequest};
use govdeck::import::export::{self, CSV_COLUMNS};
use govdeck::import::{self, ImportFailure, Options, Report, Summary};
use govdeck::store::{Store, audit, upstream};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backstage");
const TOKEN: &str = "backstage-static-token-0123456789";

// ---------------------------------------------------------------------------
// The fake Backstage backend.

/// What the fake answers for one page.
#[derive(Clone)]
enum Served {
    /// A catalog page; the fake sets `pageInfo.nextCursor` and `totalItems`.
    Page(Value),
    /// Anything else, as is.
    Raw { status: u16, content_type: &'static str, body: String },
}

struct FakeState {
    pages: Mutex<Vec<Served>>,
    /// Required bearer token, when set.
    token: Option<String>,
    /// The query pairs of every call, in order.
    calls: Mutex<Vec<Vec<(String, String)>>>,
}

struct Fake {
    state: Arc<FakeState>,
    url: String,
}

fn cursor_for(page: usize) -> String {
    format!("fake-cursor.{page}.eyJpc1ByZXZpb3VzIjpmYWxzZX0")
}

fn page_of(cursor: &str) -> Option<usize> {
    cursor.strip_prefix("fake-cursor.")?.split('.').next()?.parse().ok()
}

async fn by_query(State(fake): State<Arc<FakeState>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://fake/?{}", query.unwrap_or_default()))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    fake.calls.lock().unwrap().push(pairs.clone());
    if let Some(token) = &fake.token {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if sent != Some(&format!("Bearer {token}")) {
            let body = std::fs::read_to_string(Path::new(FIXTURES).join("unauthorized.json")).unwrap();
            return (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
    }
    let index = match pairs.iter().find(|(k, _)| k == "cursor") {
        Some((_, cursor)) => match page_of(cursor) {
            Some(index) => index,
            None => {
                let body = json!({"error": {"name": "InputError", "message": "Malformed cursor"}});
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
        },
        None => 0,
    };
    let (served, count, total) = {
        let pages = fake.pages.lock().unwrap();
        let total: usize = pages
            .iter()
            .map(|p| if let Served::Page(v) = p { v["items"].as_array().map_or(0, Vec::len) } else { 0 })
            .sum();
        (pages.get(index).cloned(), pages.len(), total)
    };
    match served.as_ref() {
        Some(Served::Page(page)) => {
            let mut page = page.clone();
            let mut info = json!({});
            if index + 1 < count {
                info["nextCursor"] = json!(cursor_for(index + 1));
            }
            if index > 0 {
                info["prevCursor"] = json!(format!("prev.{index}"));
            }
            page["pageInfo"] = info;
            page["totalItems"] = json!(total);
            axum::Json(page).into_response()
        }
        Some(Served::Raw { status, content_type, body }) => {
            (StatusCode::from_u16(*status).unwrap(), [(header::CONTENT_TYPE, *content_type)], body.clone())
                .into_response()
        }
        None => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"message": "no such page"}}))).into_response(),
    }
}

impl Fake {
    async fn start(pages: Vec<Served>, token: Option<&str>) -> Fake {
        let state = Arc::new(FakeState {
            pages: Mutex::new(pages),
            token: token.map(str::to_string),
            calls: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/api/catalog/entities/by-query", get(by_query))
            .route(
                "/",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<!doctype html><title>Backstage</title>") }),
            )
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { state, url }
    }

    /// The recorded fixture pages.
    async fn recorded(token: Option<&str>) -> Fake {
        Fake::start(fixture_pages().into_iter().map(Served::Page).collect(), token).await
    }

    fn calls(&self) -> Vec<Vec<(String, String)>> {
        std::mem::take(&mut *self.state.calls.lock().unwrap())
    }

    fn set_page(&self, index: usize, served: Served) {
        self.state.pages.lock().unwrap()[index] = served;
    }

    /// Changes the entity named `name` on any page.
    fn edit(&self, name: &str, f: impl FnOnce(&mut Value)) {
        let mut pages = self.state.pages.lock().unwrap();
        let entity = pages
            .iter_mut()
            .filter_map(|p| if let Served::Page(v) = p { v["items"].as_array_mut() } else { None })
            .flatten()
            .find(|e| e["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no entity {name}"));
        f(entity);
    }

    /// Removes the entity named `name`; returns it.
    fn remove(&self, name: &str) -> (usize, Value) {
        let mut pages = self.state.pages.lock().unwrap();
        for (index, page) in pages.iter_mut().enumerate() {
            if let Served::Page(v) = page {
                let items = v["items"].as_array_mut().unwrap();
                if let Some(at) = items.iter().position(|e| e["metadata"]["name"] == name) {
                    return (index, items.remove(at));
                }
            }
        }
        panic!("no entity {name}")
    }

    fn put_back(&self, (index, entity): (usize, Value)) {
        if let Served::Page(v) = &mut self.state.pages.lock().unwrap()[index] {
            v["items"].as_array_mut().unwrap().push(entity);
        }
    }
}

fn fixture_pages() -> Vec<Value> {
    (1..=3)
        .map(|n| {
            let text = std::fs::read_to_string(Path::new(FIXTURES).join(format!("page-{n}.json"))).unwrap();
            serde_json::from_str(&text).unwrap()
        })
        .collect()
}

fn param<'a>(call: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    call.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

// ---------------------------------------------------------------------------
// The database side.

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

struct Db {
    _dir: TempDir,
    store: Store,
    clock: ManualClock,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("govdeck.db")).unwrap();
        Db { _dir: dir, store, clock: ManualClock::new(t0()) }
    }

    /// Runs an import; returns its summary (or failure) and everything it reported.
    async fn import(&mut self, options: &Options) -> (Result<Summary, ImportFailure>, Vec<String>) {
        let mut reports = Vec::new();
        let mut record = |report: Report<'_>| {
            reports.push(match report {
                Report::Resumed { sweep, pages } => format!("resumed {sweep} {pages}"),
                Report::Restarted { reason } => format!("restarted {reason}"),
                Report::Page { page, entities, .. } => format!("page {page} {entities}"),
                Report::Change(change) => {
                    format!("{} {} {}", change.kind.as_str(), change.key, change.fields.join(","))
                }
                Report::Warning(warning) => format!("warning {warning}"),
            })
        };
        let result = import::run(&mut self.store, &self.clock, options, &mut record).await;
        (result, reports)
    }

    async fn ok(&mut self, options: &Options) -> (Summary, Vec<String>) {
        let (result, reports) = self.import(options).await;
        match result {
            Ok(summary) => (summary, reports),
            Err(failure) => panic!("import failed: {failure} ({reports:?})"),
        }
    }

    fn apps(&self) -> Vec<App> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare("SELECT data FROM apps ORDER BY id").unwrap();
        stmt.query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(|json| serde_json::from_str(&json.unwrap()).unwrap())
            .collect()
    }

    fn app(&self, key: &str) -> App {
        self.apps()
            .into_iter()
            .find(|app| app.upstream.as_ref().is_some_and(|u| u.key == key))
            .unwrap_or_else(|| panic!("no app imported from {key}"))
    }

    fn events(&self) -> Vec<(String, String, Option<String>, Value)> {
        let conn = self.store.conn();
        let mut stmt =
            conn.prepare("SELECT action_type, actor_id, app_id, request_context FROM audit ORDER BY seq").unwrap();
        stmt.query_map([], |row| {
            let context: String = row.get(3)?;
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, serde_json::from_str(&context).unwrap()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn assert_chain_verifies(&self) {
        let report = audit::verify(self.store.conn()).unwrap();
        assert!(report.result.is_ok(), "audit chain broken: {:?}", report.result);
        assert_eq!(report.verified, report.head.seq);
    }
}

fn options(fake: &Fake) -> Options {
    Options { token: Some(Token::new(TOKEN)), ..Options::new(&fake.url) }
}

const COMPONENTS: usize = 7;

// ---------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_every_page_by_cursor_and_maps_owners() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    let (summary, reports) = db.ok(&options(&fake)).await;

    assert_eq!(
        (summary.pages, summary.entities, summary.created, summary.updated, summary.unchanged, summary.orphaned),
        (3, 9, COMPONENTS as u64, 0, 0, 0),
        "{summary:?}"
    );
    assert_eq!(summary.skipped, 2);
    assert_eq!(summary.skipped_by_kind.get("location"), Some(&1));
    assert_eq!(summary.skipped_by_kind.get("template"), Some(&1));
    assert!(summary.complete);
    assert_eq!(summary.scope, "kind=component", "no --filter means kind=component");
    assert!(reports.iter().any(|r| r.contains("warning component:default/vendor-portal: govdeck.io/expected-users")));

    // Paging: the filter on the first call only; the cursor alone after it.
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(param(&calls[0], "filter"), ["kind=component"]);
    assert!(param(&calls[0], "cursor").is_empty());
    for (n, call) in calls.iter().enumerate() {
        assert_eq!(param(call, "fields"), [FIELDS]);
        assert_eq!(param(call, "limit"), ["500"]);
        if n > 0 {
            assert_eq!(param(call, "cursor"), [cursor_for(n).as_str()], "call {n} follows the cursor");
            assert!(param(call, "filter").is_empty(), "call {n} must not repeat the filter: {call:?}");
        }
    }

    // Owners: from the ownedBy relation, else spec.owner; the full ref kept.
    let quote = db.app("component:default/quote-tool");
    let upstream = quote.upstream.clone().unwrap();
    assert_eq!((quote.owner.as_str(), quote.team.as_str()), ("sales-ops", "sales-ops"));
    assert_eq!(upstream.owner_ref.as_deref(), Some("group:default/sales-ops"));
    assert_eq!(upstream.system.as_deref(), Some("system:default/crm"));
    assert_eq!((upstream.entity_type.as_deref(), upstream.lifecycle.as_deref()), (Some("website"), Some("production")));
    assert_eq!(
        upstream.managed_by.as_deref(),
        Some("url:https://git.corp.example/sales/quote-tool/blob/main/catalog-info.yaml")
    );
    assert_eq!(upstream.source_location.as_deref(), Some("url:https://git.corp.example/sales/quote-tool/tree/main/"));
    assert_eq!(quote.state, AppState::Discovered);
    assert!(upstream.assumed.is_empty());
    assert!(quote.manifest_complete(), "every govdeck annotation is there: {quote:?}");
    assert_eq!((quote.risk.score, quote.risk.tier), (90, Tier::High));

    let expense = db.app("component:default/expense-bot");
    assert_eq!(expense.owner, "olive");
    assert_eq!(expense.upstream.as_ref().unwrap().owner_ref.as_deref(), Some("user:default/olive"));
    assert_eq!(expense.team, "", "a user is not a team");
    assert!(expense.has_flag(FLAG_MANIFEST_INCOMPLETE));
    assert_eq!(
        expense.upstream.as_ref().unwrap().assumed,
        ["expected_users", "external_connectivity", "execution_environment", "ttl_class"]
    );
    assert_eq!(expense.risk.score, 30 + 20 + 20 + 10, "unknown inputs are scored at their worst");

    let leads = db.app("component:default/leads-sheet");
    assert_eq!(leads.owner, "marketing", "spec.owner when there is no ownedBy relation");
    assert_eq!(leads.upstream.as_ref().unwrap().owner_ref.as_deref(), Some("group:default/marketing"));

    let ownerless = db.app("component:ops/shift-planner");
    assert_eq!(ownerless.owner, "");
    assert!(ownerless.has_flag(FLAG_MANIFEST_INCOMPLETE) && !ownerless.manifest_complete());

    let ledger = db.app("component:finance/ledger-sync");
    assert_eq!((ledger.owner.as_str(), ledger.team.as_str()), ("ledger", "finance-ops"));
    assert!(ledger.manifest_complete());
    assert_eq!(ledger.risk.score, 10);

    // The upstream record keeps labels, tags and annotations.
    let row = upstream::find(db.store.conn(), &fake.url, "component:default/quote-tool").unwrap().unwrap();
    let entity: Value = serde_json::from_str(&row.entity).unwrap();
    assert_eq!(entity["metadata"]["labels"]["cost-tier"], "low");
    assert_eq!(entity["metadata"]["tags"], json!(["crm", "low-code", "power-apps"]));
    assert_eq!(entity["metadata"]["annotations"]["govdeck.io/sponsor"], "vp-sales");
    assert_eq!(row.fingerprint, "etag:b4c7f0d2a1e8c9f3d6e5a4b3c2d1e0f9a8b7c6d5");

    // One import.create per app, by the importer; the chain holds.
    let events = db.events();
    assert_eq!(events.len(), COMPONENTS);
    assert!(
        events
            .iter()
            .all(|(action, actor, app, _)| action == "import.create" && actor == "import:backstage" && app.is_some())
    );
    assert_eq!(db.apps().len(), COMPONENTS);
    db.assert_chain_verifies();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_is_idempotent_and_updates_by_etag() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    let before = db.apps();
    let head = audit::head(db.store.conn()).unwrap();

    let (again, _) = db.ok(&options(&fake)).await;
    assert_eq!((again.created, again.updated, again.unchanged, again.orphaned), (0, 0, COMPONENTS as u64, 0));
    assert_eq!(db.apps(), before, "an unchanged etag writes no app");
    assert_eq!(audit::head(db.store.conn()).unwrap(), head, "and no audit event");

    fake.edit("expense-bot", |entity| {
        entity["metadata"]["etag"] = json!("etag-after-edit");
        entity["metadata"]["description"] = json!("Files expense reports from receipts, now with approvals");
        entity["metadata"]["annotations"]["govdeck.io/expected-users"] = json!("40");
    });
    // The same etag with other content is trusted as unchanged (Backstage
    // changes the etag whenever the entity changes).
    fake.edit("leads-sheet", |entity| entity["metadata"]["description"] = json!("ignored"));
    db.clock.advance(chrono::Duration::hours(1));
    let (changed, reports) = db.ok(&options(&fake)).await;
    assert_eq!((changed.created, changed.updated, changed.unchanged), (0, 1, COMPONENTS as u64 - 1));
    assert!(!reports.iter().any(|r| r.starts_with("create")), "{reports:?}");

    let expense = db.app("component:default/expense-bot");
    let old = before.iter().find(|a| a.id == expense.id).unwrap();
    assert_eq!(expense.purpose, "Files expense reports from receipts, now with approvals");
    assert_eq!((expense.expected_users, expense.version), (40, old.version + 1));
    assert!(expense.rev > old.rev);
    assert_eq!(expense.risk.score, 30 + 10 + 20 + 10);
    let events = db.events();
    let (action, actor, app_id, context) = events.last().unwrap();
    assert_eq!((action.as_str(), actor.as_str()), ("import.update", "import:backstage"));
    assert_eq!(app_id.as_deref(), Some(expense.id.as_str()));
    assert_eq!(context["changed"], json!(["purpose", "expected_users", "upstream"]));
    assert_eq!(context["fingerprint"], "etag:etag-after-edit");
    assert_eq!(events.len(), COMPONENTS + 1);
    assert_eq!(db.apps().len(), COMPONENTS);
    db.assert_chain_verifies();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_entity_becomes_an_orphaned_tombstone_and_can_come_back() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    let reporter = db.app("component:default/legacy-reporter");

    let removed = fake.remove("legacy-reporter");
    let (summary, reports) = db.ok(&options(&fake)).await;
    assert_eq!((summary.orphaned, summary.unchanged, summary.created), (1, COMPONENTS as u64 - 1, 0));
    assert!(reports.contains(&"orphan component:default/legacy-reporter ".to_string()), "{reports:?}");
    let tombstone = db.app("component:default/legacy-reporter");
    assert_eq!(tombstone.id, reporter.id, "kept, not deleted");
    assert_eq!(tombstone.state, AppState::Discovered);
    assert!(tombstone.has_flag(FLAG_ORPHANED));
    assert_eq!(db.apps().len(), COMPONENTS);
    let (action, _, app_id, context) = db.events().pop().unwrap();
    assert_eq!((action.as_str(), app_id.as_deref()), ("import.orphan", Some(reporter.id.as_str())));
    assert_eq!(context["key"], "component:default/legacy-reporter");

    // Orphaned once: a further sweep without it changes nothing.
    let (quiet, _) = db.ok(&options(&fake)).await;
    assert_eq!((quiet.orphaned, quiet.updated), (0, 0));

    // A narrower scope never orphans what a wider one imported.
    let (narrow, _) =
        db.ok(&Options { filters: vec!["kind=component,spec.type=website".into()], ..options(&fake) }).await;
    assert_eq!(narrow.orphaned, 0);

    fake.put_back(removed);
    let (back, _) = db.ok(&options(&fake)).await;
    assert_eq!((back.updated, back.orphaned), (1, 0));
    let restored = db.app("component:default/legacy-reporter");
    assert!(!restored.has_flag(FLAG_ORPHANED));
    let (action, _, _, context) = db.events().pop().unwrap();
    assert_eq!((action.as_str(), &context["reappeared"]), ("import.update", &json!(true)));
    db.assert_chain_verifies();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_that_sees_nothing_orphans_nothing() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    for page in 0..3 {
        fake.set_page(page, Served::Page(json!({"items": [], "pageInfo": {}})));
    }
    let (summary, reports) = db.ok(&options(&fake)).await;
    assert_eq!(summary.orphaned, 0);
    assert!(reports.iter().any(|r| r.starts_with("warning the sweep saw no entity")), "{reports:?}");
    assert!(db.apps().iter().all(|app| !app.has_flag(FLAG_ORPHANED)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_is_a_clear_error_and_writes_nothing() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    for token in [None, Some(Token::new("wrong"))] {
        let sent = token.is_some();
        let (result, _) = db.import(&Options { token, ..options(&fake) }).await;
        let failure = result.unwrap_err();
        assert!(failure.is_auth(), "{failure}");
        let message = failure.to_string();
        assert!(message.contains("HTTP 401") && message.contains("Missing credentials"), "{message}");
        assert!(message.contains("--backstage-token-file"), "{message}");
        assert_eq!(message.contains("no token was sent"), !sent, "{message}");
    }
    assert!(db.apps().is_empty());
    assert_eq!(audit::head(db.store.conn()).unwrap().seq, 0);
    assert_eq!(upstream::open_sweep(db.store.conn(), &fake.url, "kind=component").unwrap(), None);
    // The token never appears in what the import says.
    let (result, _) = db.import(&Options { token: Some(Token::new("wrong-secret-xyz")), ..options(&fake) }).await;
    assert!(!format!("{:?} {}", result.as_ref().unwrap_err(), result.as_ref().unwrap_err()).contains("xyz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_page_keeps_earlier_pages_and_the_rerun_resumes() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let pages = fixture_pages();
    let truncated = serde_json::to_string(&pages[1]).unwrap()[..400].to_string();
    fake.set_page(1, Served::Raw { status: 200, content_type: "application/json", body: truncated });
    let mut db = Db::new();

    let (result, _) = db.import(&options(&fake)).await;
    let failure = result.unwrap_err();
    let message = failure.to_string();
    assert!(message.starts_with("page 2 from "), "the error names the page: {message}");
    assert!(message.contains("not valid JSON"), "{message}");
    assert_eq!((failure.summary.pages, failure.summary.created), (1, 3));
    let names: Vec<String> = db.apps().into_iter().map(|a| a.name).collect();
    assert_eq!(names.len(), 3, "page 1 is kept, nothing of page 2: {names:?}");
    assert!(!names.contains(&"legacy-reporter".to_string()));
    let open = upstream::open_sweep(db.store.conn(), &fake.url, "kind=component").unwrap().unwrap();
    assert_eq!((open.pages, open.next_cursor.as_deref()), (1, Some(cursor_for(1).as_str())));
    db.assert_chain_verifies();
    fake.calls();

    // Fixed upstream: the next run continues from page 2's cursor.
    fake.set_page(1, Served::Page(pages[1].clone()));
    let (summary, reports) = db.ok(&options(&fake)).await;
    assert_eq!(reports[0], format!("resumed {} 1", open.id));
    assert_eq!((summary.resumed_at_page, summary.pages, summary.created), (Some(2), 2, 4));
    let calls = fake.calls();
    assert_eq!(param(&calls[0], "cursor"), [cursor_for(1).as_str()]);
    assert!(param(&calls[0], "filter").is_empty());
    assert_eq!(db.apps().len(), COMPONENTS, "no duplicates");
    assert!(upstream::open_sweep(db.store.conn(), &fake.url, "kind=component").unwrap().is_none());
    db.assert_chain_verifies();

    // An item that is no entity at all fails its page whole, too.
    fake.set_page(2, Served::Page(json!({"items": [pages[2]["items"][0].clone(), "oops"], "pageInfo": {}})));
    let (result, _) = db.import(&options(&fake)).await;
    let message = result.unwrap_err().to_string();
    assert!(message.starts_with("page 3 from ") && message.contains("items[1]"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_stored_cursor_starts_a_fresh_sweep() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    fake.set_page(1, Served::Raw { status: 502, content_type: "text/plain", body: "bad gateway".into() });
    let (result, _) = db.import(&options(&fake)).await;
    assert!(result.unwrap_err().to_string().contains("HTTP 502"));
    // The stored cursor now points at a page Backstage refuses (it expired).
    db.store
        .conn()
        .execute("UPDATE import_sweeps SET next_cursor = 'expired-cursor' WHERE finished_at IS NULL", [])
        .unwrap();
    fake.set_page(1, Served::Page(fixture_pages()[1].clone()));
    let (summary, reports) = db.ok(&options(&fake)).await;
    assert!(reports.iter().any(|r| r.starts_with("restarted ") && r.contains("Malformed cursor")), "{reports:?}");
    assert_eq!((summary.pages, summary.created, summary.unchanged, summary.orphaned), (3, 4, 3, 0));
    assert_eq!(db.apps().len(), COMPONENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_are_not_backstage_are_refused_clearly() {
    let mut db = Db::new();
    let html = Fake::start(
        vec![Served::Raw { status: 200, content_type: "text/html", body: "<!doctype html><div id=root>".into() }],
        None,
    )
    .await;
    let other = Fake::start(
        vec![Served::Raw { status: 200, content_type: "application/json", body: r#"{"entities":[]}"#.into() }],
        None,
    )
    .await;
    let missing = Fake::start(
        vec![Served::Raw {
            status: 404,
            content_type: "application/json",
            body: r#"{"error":{"message":"Not Found"}}"#.into(),
        }],
        None,
    )
    .await;
    for (fake, says) in [(&html, "HTML page"), (&other, "no `items`"), (&missing, "no catalog API")] {
        let (result, _) = db.import(&Options::new(&fake.url)).await;
        let message = result.unwrap_err().to_string();
        assert!(message.contains("page 1") && message.contains(says), "{message}");
    }
    // A redirect to a sign-in page is not followed.
    let redirect =
        Fake::start(vec![Served::Raw { status: 302, content_type: "text/html", body: String::new() }], None).await;
    let (result, _) = db.import(&Options::new(&redirect.url)).await;
    assert!(result.unwrap_err().to_string().contains("redirected"));

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    let closed_https = closed_url.replace("http://", "https://");
    drop(closed);
    for (url, says) in [
        (closed_url.as_str(), "cannot reach Backstage"),
        (closed_https.as_str(), "cannot reach Backstage"),
        ("backstage.example.com:7007", "invalid Backstage URL"),
        ("http://admin:hunter2@backstage:7007", "credentials do not belong in the URL"),
    ] {
        let (result, _) = db.import(&Options::new(url)).await;
        let message = result.unwrap_err().to_string();
        assert!(message.contains(says), "{url}: {message}");
        assert!(!message.contains("hunter2"));
    }
    assert!(db.apps().is_empty());
    assert_eq!(audit::head(db.store.conn()).unwrap().seq, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_filter_skips_other_kinds_with_a_count() {
    // A catalog that ignores the filter still gets no Location or Template imported.
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    let filter = Options { filters: vec!["kind=component".into()], page_limit: 100, ..options(&fake) };
    let (summary, _) = db.ok(&filter).await;
    assert_eq!((summary.created, summary.skipped), (COMPONENTS as u64, 2));
    assert_eq!(param(&fake.calls()[0], "limit"), ["100"]);

    let templates = Options { filters: vec!["kind=template".into()], ..options(&fake) };
    let mut other = Db::new();
    let (summary, _) = other.ok(&templates).await;
    assert_eq!((summary.created, summary.skipped), (1, 8));
    assert_eq!(summary.skipped_by_kind.get("component"), Some(&(COMPONENTS as u64)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_the_changes_and_writes_nothing() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let dry = Options { dry_run: true, ..options(&fake) };

    // Against an empty catalog: every component would be created.
    let mut empty = Db { store: Store::open_in_memory().unwrap(), ..Db::new() };
    let (summary, reports) = empty.ok(&dry).await;
    assert_eq!((summary.created, summary.dry_run), (COMPONENTS as u64, true));
    assert_eq!(reports.iter().filter(|r| r.starts_with("create ")).count(), COMPONENTS);
    assert!(empty.apps().is_empty());

    // Against an imported catalog, read-only: an update and an orphan.
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    let path = db._dir.path().join("govdeck.db");
    let head = audit::head(db.store.conn()).unwrap();
    let apps = db.apps();
    fake.edit("quote-tool", |e| {
        e["metadata"]["etag"] = json!("new");
        e["spec"]["lifecycle"] = json!("deprecated");
    });
    fake.remove("leads-sheet");
    let mut read_only = Db { store: Store::open_read_only(&path).unwrap(), ..Db::new() };
    let (summary, reports) = read_only.ok(&dry).await;
    assert_eq!((summary.updated, summary.orphaned, summary.unchanged), (1, 1, COMPONENTS as u64 - 2));
    assert!(
        reports.contains(&"update component:default/quote-tool lifecycle_tier,upstream".to_string()),
        "{reports:?}"
    );
    assert!(reports.contains(&"orphan component:default/leads-sheet ".to_string()), "{reports:?}");
    assert_eq!(db.apps(), apps);
    assert_eq!(audit::head(db.store.conn()).unwrap(), head);
    let sweeps: i64 = db.store.conn().query_row("SELECT COUNT(*) FROM import_sweeps", [], |r| r.get(0)).unwrap();
    assert_eq!(sweeps, 1, "a dry run records no sweep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_gives_the_inventory_back_as_csv_and_json() {
    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    let apps = db.apps();

    let mut csv = Vec::new();
    let exported = export::write_csv(db.store.conn(), &mut csv).unwrap();
    assert_eq!(exported.apps, COMPONENTS as u64);
    assert_eq!(exported.unsafe_cells, 1, "the OSC 8 escape in shift-planner's purpose is counted");
    let csv = String::from_utf8(csv).unwrap();
    let records = parse_csv(&csv);
    assert_eq!(records[0], CSV_COLUMNS);
    assert_eq!(records.len(), COMPONENTS + 1);
    let column = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let quote = records.iter().find(|r| r[column("name")] == "quote-tool").unwrap();
    assert_eq!(quote[column("purpose")], "Quotes from the CRM, with \"approved\" discounts, for the sales team");
    assert_eq!(quote[column("upstream_key")], "component:default/quote-tool");
    assert_eq!(quote[column("upstream_owner_ref")], "group:default/sales-ops");
    assert_eq!(quote[column("state")], "discovered");
    assert!(csv.contains("\"Quotes from the CRM, with \"\"approved\"\" discounts, for the sales team\""));

    let mut json_out = Vec::new();
    export::write_json(db.store.conn(), &mut json_out).unwrap();
    let text = String::from_utf8(json_out).unwrap();
    assert!(!text.contains('\u{1b}'), "no raw escape reaches a terminal");
    let back: Vec<App> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, apps, "the JSON export is the apps, whole");
    let planner = back.iter().find(|a| a.name == "shift-planner").unwrap();
    assert!(planner.purpose.contains('\u{1b}'), "and faithful once parsed");

    let mut empty = Vec::new();
    export::write_json(Store::open_in_memory().unwrap().conn(), &mut empty).unwrap();
    assert_eq!(empty, b"[]\n");
}

/// A small RFC 4180 reader, for checking the writer.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end in CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the last record ends in CRLF");
    records
}

/// `count` generated components in pages of 500, shaped like the fixtures.
fn generated_pages(count: usize) -> Vec<Served> {
    let entities: Vec<Value> = (0..count)
        .map(|i| {
            let class = ["public", "internal", "sensitive", "pii"][i % 4];
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "namespace": "default",
                    "name": format!("micro-app-{i:05}"),
                    "description": format!("Generated micro-app number {i}"),
                    "uid": format!("00000000-0000-4000-8000-{i:012}"),
                    "etag": format!("etag-{i}"),
                    "tags": ["generated"],
                    "labels": {"batch": "bench"},
                    "annotations": {
                        "backstage.io/managed-by-location": format!("url:https://git.corp.example/apps/{i}/catalog-info.yaml"),
                        "govdeck.io/data-classification": class,
                        "govdeck.io/expected-users": (i % 300).to_string(),
                    }
                },
                "spec": {"type": "service", "lifecycle": "production", "owner": format!("team-{}", i % 40)},
                "relations": [{"type": "ownedBy", "targetRef": format!("group:default/team-{}", i % 40)}]
            })
        })
        .collect();
    entities
        .chunks(import::DEFAULT_PAGE_LIMIT as usize)
        .map(|chunk| Served::Page(json!({"items": chunk, "pageInfo": {}})))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --release --test import_backstage -- --ignored --nocapture"]
async fn measure_importing_10000_entities() {
    const ENTITIES: usize = 10_000;
    let fake = Fake::start(generated_pages(ENTITIES), None).await;
    let mut db = Db::new();
    let options = Options::new(&fake.url);

    // The fake and loopback HTTP alone: every page fetched and checked, nothing mapped or written.
    let started = Instant::now();
    let client = Backstage::new(&fake.url, None).unwrap();
    let (mut cursor, mut fetched) = (None::<String>, 0);
    loop {
        let filters = ["kind=component".to_string()];
        let request = match &cursor {
            None => PageRequest::First { filters: &filters },
            Some(cursor) => PageRequest::Next { cursor },
        };
        let page = client.page(1, request, import::DEFAULT_PAGE_LIMIT).await.unwrap();
        fetched += page.items.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let fetch_secs = started.elapsed().as_secs_f64();
    assert_eq!(fetched, ENTITIES);

    let started = Instant::now();
    let (first, _) = db.ok(&options).await;
    let first_secs = started.elapsed().as_secs_f64();
    assert_eq!((first.created, first.pages), (ENTITIES as u64, 20));

    let started = Instant::now();
    let (again, _) = db.ok(&options).await;
    let again_secs = started.elapsed().as_secs_f64();
    assert_eq!(again.unchanged, ENTITIES as u64);

    for i in (0..ENTITIES).step_by(10) {
        fake.edit(&format!("micro-app-{i:05}"), |e| e["metadata"]["etag"] = json!(format!("etag-{i}-v2")));
    }
    let started = Instant::now();
    let (changed, _) = db.ok(&options).await;
    let changed_secs = started.elapsed().as_secs_f64();
    assert_eq!(changed.updated, ENTITIES as u64 / 10);

    let started = Instant::now();
    let verify = audit::verify(db.store.conn()).unwrap();
    assert!(verify.result.is_ok());
    println!("fetching the {ENTITIES} entities alone (fake + loopback HTTP + page checks): {fetch_secs:.2} s");
    println!(
        "import of {ENTITIES} Backstage entities over loopback: first sweep {first_secs:.2} s \
         ({:.0} entities/s, {} pages), unchanged re-run {again_secs:.2} s, re-run with {} changed {changed_secs:.2} s; \
         audit chain of {} events verified in {:.2} s",
        ENTITIES as f64 / first_secs,
        first.pages,
        changed.updated,
        verify.verified,
        started.elapsed().as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_app_keeps_its_reviewed_manifest_when_upstream_changes() {
    use govdeck::domain::{Actor, Manifest, Role};
    use govdeck::server::intake::adopt_app;
    use govdeck::server::ops::Ctx;
    use govdeck::server::request::Origin;

    let fake = Fake::recorded(Some(TOKEN)).await;
    let mut db = Db::new();
    db.ok(&options(&fake)).await;
    let imported = db.app("component:default/expense-bot");
    assert_eq!((imported.state, imported.owner.as_str()), (AppState::Discovered, "olive"));

    // Olive, its owner as imported, takes it through review.
    let manifest: Manifest = serde_json::from_value(json!({
        "name": "expense-bot", "purpose": "Reviewed: files expense reports", "team": "finance",
        "sponsor": "cfo", "cost_center": "CC-9", "data_classification": "internal", "expected_users": 12,
        "external_connectivity": "saas_connector", "execution_environment": "sandboxed",
        "lifecycle_tier": "tactical", "ttl_class": "supported",
    }))
    .unwrap();
    let olive = Actor::new("olive", [Role::Owner]);
    let origin = Origin::default();
    let now = govdeck::clock::Clock::now(&db.clock);
    let (_, answer) = db
        .store
        .write(|conn| {
            adopt_app(
                conn,
                &Ctx { actor: &olive, origin: &origin, policy: govdeck::domain::policy::Policy::builtin(), now },
                &imported.id,
                manifest,
            )
        })
        .unwrap_or_else(|err| panic!("adoption refused: {err:?}"));
    assert_eq!(answer.app.state, AppState::Pending);
    let reviewed = db.app("component:default/expense-bot");

    // Upstream changes what the import would have taken for a discovered app.
    fake.edit("expense-bot", |entity| {
        entity["metadata"]["etag"] = json!("etag-after-adoption");
        entity["metadata"]["description"] = json!("Upstream's new description");
        entity["metadata"]["annotations"]["govdeck.io/expected-users"] = json!("400");
    });
    db.clock.advance(chrono::Duration::hours(1));
    let (summary, _) = db.ok(&options(&fake)).await;
    assert_eq!(summary.updated, 1);
    let after = db.app("component:default/expense-bot");
    assert_eq!(after.purpose, "Reviewed: files expense reports", "the reviewed manifest stays");
    assert_eq!((after.expected_users, after.team.as_str()), (12, "finance"));
    assert_eq!((after.state, after.version), (AppState::Pending, reviewed.version));
    assert_eq!(after.upstream.as_ref().unwrap().key, "component:default/expense-bot");
    let events = db.events();
    let (action, _, app_id, context) = events.last().unwrap();
    assert_eq!((action.as_str(), app_id.as_deref()), ("import.update", Some(imported.id.as_str())));
    assert_eq!(context["changed"], json!(["upstream"]), "only the upstream record is taken");
    assert!(events.iter().any(|(action, actor, _, _)| action == "app.adopted" && actor == "olive"));
    db.assert_chain_verifies();
}
