//! End to end: the real `govdeck demo` binary in a pseudo-terminal, driven by
//! keystrokes as a person would drive it, with what it did checked through
//! the demo server's HTTP API while it still runs.
//!
//! * `lead_approves_and_renews_from_the_keyboard`: at 120x40 as the lead
//!   `pat`, approve a medium-review request and renew a quarantined or
//!   expiring app; the audit log and the change feed show each exactly once;
//!   `q` exits 0 and restores the terminal.
//! * `first_frame_comes_from_the_cache_and_survives_resizes`: at 80x24 the
//!   first frame (tabs and status bar) is drawn before the first sync
//!   answers; shrinking to 60x20 shows the enlarge message, growing back
//!   restores the tabs; `q` exits 0.

mod e2e_support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e_support::{Tui, keys, rfind};
use serde_json::Value;

/// How long the demo may take to seed, serve and finish its first sync.
const STARTUP: Duration = Duration::from_secs(20);
/// How long one keystroke's visible effect may take.
const STEP: Duration = Duration::from_secs(10);
/// How long an action may take to come back from the server as a toast.
const ACTION: Duration = Duration::from_secs(15);

const TABS: [&str; 5] = ["Inventory", "Approvals", "Audit", "KPIs", "Renewals"];

/// The binary under test.
fn govdeck() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_govdeck"))
}

/// Starts `govdeck <args>` in a `rows` x `cols` pty with its config and
/// cache directories inside `home`, so no user setting leaks in.
fn spawn_demo(args: &[&str], rows: u16, cols: u16, home: &Path, first: Option<e2e_support::FramePredicate>) -> Tui {
    let config = home.join("config");
    let cache = home.join("cache");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let home_str = home.to_str().unwrap();
    let config_str = config.to_str().unwrap();
    let cache_str = cache.to_str().unwrap();
    Tui::spawn(
        &govdeck(),
        args,
        rows,
        cols,
        &[
            ("TERM", "xterm-256color"),
            ("HOME", home_str),
            ("XDG_CONFIG_HOME", config_str),
            ("XDG_CACHE_HOME", cache_str),
            ("GOVDECK_CONFIG_DIR", config_str),
            ("GOVDECK_CACHE_DIR", cache_str),
            ("RUST_BACKTRACE", "1"),
        ],
        &["NO_COLOR", "GOVDECK_SERVER", "GOVDECK_TOKEN", "GOVDECK_DB", "RUST_LOG"],
        first,
    )
}

/// The status bar is the second row from the bottom.
fn status_bar(rows: &[String]) -> &str {
    rows.get(rows.len().saturating_sub(2)).map_or("", String::as_str)
}

/// The message line (toasts, hints) is the last row.
fn message_line(rows: &[String]) -> &str {
    rows.last().map_or("", String::as_str)
}

fn shows_tabs(rows: &[String]) -> bool {
    rows.first().is_some_and(|tabs| TABS.iter().all(|name| tabs.contains(name)))
}

/// The status bar's sync age is drawn ("· never synced", "· synced 3s ago");
/// not fooled by the "(not synced yet)" shown in place of the user.
fn shows_sync_age(status: &str) -> bool {
    status.contains("· never synced") || status.contains("· synced ")
}

fn is_online(rows: &[String]) -> bool {
    // "offline" does not contain " online".
    status_bar(rows).contains(" online")
}

/// The row under the cursor (the `▶` just inside the pane's border).
fn cursor_row(rows: &[String]) -> Option<usize> {
    rows.iter().position(|row| row.chars().nth(1) == Some('▶'))
}

/// The rows between the tab row and the status bar.
fn body(rows: &[String]) -> &[String] {
    &rows[1.min(rows.len())..rows.len().saturating_sub(2).max(1)]
}

/// Moves the cursor of the list on screen onto the nearest visible row that
/// `pick` accepts, paging down while none is visible; returns what `pick`
/// said about the selected row. The nearest, so that no row the cursor
/// passes on its way is accepted too.
fn select_row<T>(tui: &mut Tui, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
    for _ in 0..20 {
        let rows = tui.rows();
        let cursor =
            cursor_row(&rows).unwrap_or_else(|| panic!("no cursor row (▶) while looking for {what}\n{}", tui.dump()));
        if let Some(found) = pick(&rows[cursor]) {
            return found;
        }
        let nearest = (0..rows.len()).filter(|&i| pick(&rows[i]).is_some()).min_by_key(|&i| i.abs_diff(cursor));
        match nearest {
            Some(target) => {
                let key = if target > cursor { keys::DOWN } else { keys::UP };
                eprintln!("{what}: moving the cursor from screen row {cursor} to {target}");
                tui.send(&key.repeat(target.abs_diff(cursor)));
                return tui.wait_map(&format!("the cursor on {what}"), STEP, |rows| {
                    cursor_row(rows).and_then(|at| pick(&rows[at]))
                });
            }
            None => {
                let before = body(&rows).to_vec();
                tui.send(keys::PAGE_DOWN);
                let deadline = Instant::now() + Duration::from_secs(3);
                while body(&tui.rows()) == before.as_slice() && Instant::now() < deadline {
                    std::thread::sleep(e2e_support::POLL);
                }
                if body(&tui.rows()) == before.as_slice() {
                    panic!("reached the end of the list without finding {what}\n{}", tui.dump());
                }
            }
        }
    }
    panic!("gave up paging for {what}\n{}", tui.dump());
}

/// The demo server's API, as the demo's own users.
struct Api {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    tokens: HashMap<String, String>,
}

impl Api {
    /// Reads `server.url` and `tokens.json` from the demo's directory.
    fn from_demo_dir(dir: &Path) -> Api {
        let base = std::fs::read_to_string(dir.join("server.url")).expect("the demo wrote server.url");
        let base = base.trim().trim_end_matches('/').to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "the demo serves on loopback: {base}");
        let text = std::fs::read_to_string(dir.join("tokens.json")).expect("the demo wrote tokens.json");
        let pairs: Vec<(String, String)> = serde_json::from_str(&text).expect("tokens.json is [[user, token], ..]");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        govdeck::tls::install_default_provider();
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap();
        Api { rt, client, base, tokens: pairs.into_iter().collect() }
    }

    fn get(&self, user: &str, path: &str) -> Value {
        let token = self.tokens.get(user).unwrap_or_else(|| panic!("no demo token for {user}"));
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let response = self.client.get(&url).bearer_auth(token).send().await.expect("the demo server answers");
            let status = response.status();
            let text = response.text().await.expect("a body");
            assert!(status.is_success(), "GET {path} as {user}: {status} {text}");
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("GET {path}: not JSON ({err}): {text}"))
        })
    }

    /// Every audit event `user` may read after `after`, paging with `more`.
    fn audit_after(&self, user: &str, after: u64) -> Vec<Value> {
        let mut events = Vec::new();
        let mut after = after;
        loop {
            let page = self.get(user, &format!("/v1/audit?after={after}&limit=5000"));
            let batch = page["events"].as_array().expect("events").clone();
            if let Some(last) = batch.last() {
                after = last["seq"].as_u64().expect("seq");
            }
            let more = page["more"].as_bool().expect("more");
            let empty = batch.is_empty();
            events.extend(batch);
            if !more || empty {
                return events;
            }
        }
    }

    /// The latest version of every app and approval `user` may read:
    /// (apps by id, approvals by id).
    fn catalog(&self, user: &str) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
        let (mut apps, mut approvals) = (BTreeMap::new(), BTreeMap::new());
        let mut since = 0;
        loop {
            let page = self.get(user, &format!("/v1/changes?since={since}&limit=5000"));
            for item in page["items"].as_array().expect("items") {
                let id = item["id"].as_str().expect("id").to_string();
                let map = match item["kind"].as_str() {
                    Some("app") => &mut apps,
                    Some("approval") => &mut approvals,
                    other => panic!("unknown change kind {other:?}"),
                };
                if item["op"] == "delete" {
                    map.remove(&id);
                } else {
                    map.insert(id, item["data"].clone());
                }
            }
            since = page["next"].as_u64().expect("next");
            if !page["more"].as_bool().expect("more") {
                return (apps, approvals);
            }
        }
    }
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// The first `n` characters of `name`: what a truncated column still shows.
fn prefix(name: &str, n: usize) -> String {
    name.chars().take(n).collect()
}

/// What a row must contain to be `name`'s: its first 24 characters (a list
/// column of 30 or more always shows them whole), provided no other name in
/// `all` contains them anywhere, so that no other row can show them.
fn unique_prefix<'a>(name: &str, all: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mine = prefix(name, 24);
    let holders = all.into_iter().filter(|other| other.contains(&mine)).count();
    (holders == 1 && !mine.is_empty()).then_some(mine)
}

#[test]
fn lead_approves_and_renews_from_the_keyboard() {
    let started = Instant::now();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo");
    let dir_str = dir.to_str().unwrap().to_string();
    let mut tui = spawn_demo(&["demo", "--as", "lead", "--dir", &dir_str], 40, 120, home.path(), None);

    tui.wait_until("the status bar to say online", STARTUP, |rows| shows_tabs(rows) && is_online(rows));
    tui.wait_until("pat (lead) in the status bar", STEP, |rows| status_bar(rows).contains("pat (lead)"));

    // What the server holds before we touch anything, read as the reviewer.
    let api = Api::from_demo_dir(&dir);
    let me = api.get("pat", "/v1/me");
    assert_eq!(me["user"], "pat", "{me}");
    let baseline = api.get("riley", "/v1/audit/head")["seq"].as_u64().expect("head seq");
    let (apps, approvals) = api.catalog("riley");
    let pending: Vec<&Value> = approvals.values().filter(|a| a["status"] == "pending").collect();
    let pending_names: Vec<&str> = pending.iter().map(|a| str_of(a, "app_name")).collect();
    // Requests pat may decide: medium review, not pat's own request, not for
    // an app pat owns, no decision by pat yet, and an app that is not final.
    let decidable: HashMap<String, &Value> = pending
        .iter()
        .filter(|a| a["review_tier"] == "medium")
        .filter(|a| a["requested_by"] != "pat" && a["app_owner"] != "pat")
        .filter(|a| a["decisions"].as_array().is_some_and(|d| d.iter().all(|d| d["by"] != "pat")))
        .filter(|a| apps.get(str_of(a, "app_id")).is_some_and(|app| app["state"] != "decommissioned"))
        .filter_map(|a| unique_prefix(str_of(a, "app_name"), pending_names.iter().copied()).map(|p| (p, *a)))
        .collect();
    assert!(!decidable.is_empty(), "the demo catalog has a pending medium request pat may decide");

    // Approvals pane: put the cursor on one of those requests.
    tui.send("2");
    tui.wait_until("the approval queue with a selected row", STEP, |rows| {
        rows.iter().any(|r| r.contains(" Approvals · ")) && cursor_row(rows).is_some()
    });
    let approval = select_row(&mut tui, "a pending request pat may approve", |row| {
        decidable.iter().find(|(p, _)| row.contains(p.as_str())).map(|(_, a)| (*a).clone())
    });
    let approval_id = str_of(&approval, "id").to_string();
    let approval_app = str_of(&approval, "app_id").to_string();
    eprintln!("approving {approval_id} for {} ({approval_app})", str_of(&approval, "app_name"));

    // Its detail names the request: this is the one we mean.
    tui.send(keys::ENTER);
    tui.wait_for_text(&format!("Request {approval_id}"), STEP);
    tui.send("a");
    tui.wait_until("the approve confirm dialog", STEP, |rows| {
        rows.iter().any(|r| r.contains("Approve request")) && rows.iter().any(|r| r.contains(&approval_id))
    });
    tui.send(keys::ENTER);
    let approved_toast = format!("request {approval_id} is now approved");
    tui.wait_until("the approval's success toast", ACTION, |rows| {
        let line = message_line(rows);
        line.contains(&approved_toast) && line.trim_start().starts_with('✓')
    });

    // Renewals pane: an app the TTL lifecycle has caught, not the one just approved.
    let app_names: Vec<&str> = apps.values().map(|a| str_of(a, "name")).collect();
    let renewable: HashMap<String, &Value> = apps
        .values()
        .filter(|a| a["state"] == "quarantined" || a["state"] == "expiring")
        .filter(|a| str_of(a, "id") != approval_app)
        .filter_map(|a| unique_prefix(str_of(a, "name"), app_names.iter().copied()).map(|p| (p, a)))
        .collect();
    assert!(!renewable.is_empty(), "the demo catalog has quarantined or expiring apps");
    tui.send("5");
    tui.wait_until("the renewals list with a selected row", STEP, |rows| {
        rows.iter().any(|r| r.contains(" Renewals · all apps · ")) && cursor_row(rows).is_some()
    });
    let app = select_row(&mut tui, "a quarantined or expiring app", |row| {
        renewable
            .iter()
            .find(|(p, a)| row.contains(p.as_str()) && row.contains(str_of(a, "state")))
            .map(|(_, a)| (*a).clone())
    });
    let app_id = str_of(&app, "id").to_string();
    let app_name = str_of(&app, "name").to_string();
    let previous_expiry = app["expires_at"].clone();
    eprintln!("renewing {app_name} ({app_id}), {} until {previous_expiry}", str_of(&app, "state"));
    tui.send("n");
    let renewed_toast = format!("{app_name}: renewed until ");
    let until = tui.wait_map("the renewal's success toast", ACTION, |rows| {
        let line = message_line(rows);
        if !line.trim_start().starts_with('✓') {
            return None;
        }
        let at = line.find(&renewed_toast)?;
        let date: String = line[at + renewed_toast.len()..].chars().take(10).collect();
        (date.len() == 10).then_some(date)
    });
    // The action is followed by a sync; let it settle before reading the server.
    tui.wait_until("the sync after the renewal to finish", STEP, |rows| {
        is_online(rows) && !status_bar(rows).contains("syncing") && !status_bar(rows).contains("queued")
    });

    // Through the API, while the demo still serves: each happened exactly once.
    let events = api.audit_after("riley", 0);
    let is = |e: &Value, action: &str| e["actor_id"] == "pat" && e["action_type"] == action;
    let approvals_by_pat: Vec<&Value> =
        events.iter().filter(|e| is(e, "approval.approve") && e["approval_id"] == approval_id.as_str()).collect();
    assert_eq!(approvals_by_pat.len(), 1, "one approval.approve by pat for {approval_id}: {approvals_by_pat:#?}");
    assert_eq!(approvals_by_pat[0]["outcome"], "success");
    let renewals_by_pat: Vec<&Value> =
        events.iter().filter(|e| is(e, "app.renewed") && e["app_id"] == app_id.as_str()).collect();
    assert_eq!(renewals_by_pat.len(), 1, "one app.renewed by pat for {app_id}: {renewals_by_pat:#?}");
    // And nothing else of the kind since we started typing.
    let since: Vec<&Value> = events
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap_or(0) > baseline)
        .filter(|e| is(e, "approval.approve") || is(e, "app.renewed") || is(e, "approval.reject"))
        .collect();
    assert_eq!(since.len(), 2, "exactly the approval and the renewal since seq {baseline}: {since:#?}");

    let (apps_after, approvals_after) = api.catalog("riley");
    let decided = &approvals_after[&approval_id];
    assert_eq!(decided["status"], "approved", "{decided:#}");
    assert_eq!(decided["review_tier"], "medium");
    let pats: Vec<&Value> = decided["decisions"].as_array().unwrap().iter().filter(|d| d["by"] == "pat").collect();
    assert_eq!(pats.len(), 1, "one decision by pat: {decided:#}");
    assert_eq!(pats[0]["decision"], "approve");
    let renewed = &apps_after[&app_id];
    assert_ne!(renewed["expires_at"], previous_expiry, "the renewal moved expires_at: {renewed:#}");
    assert!(
        str_of(renewed, "expires_at").starts_with(&until),
        "the toast's date {until} is the app's new expiry: {renewed:#}"
    );
    assert_eq!(renewed["state"], "active", "a renewed app is active again: {renewed:#}");

    // Quit: exit status 0, terminal restored.
    tui.send("q");
    let code = tui.wait_exit(Duration::from_secs(15));
    assert_eq!(code, 0, "govdeck demo exited with {code}\n{}\n{}", tui.dump(), tui.tail_text());
    assert_restored(&tui);
    eprintln!("lead_approves_and_renews_from_the_keyboard took {:?}", started.elapsed());
}

/// The program left the alternate screen and showed the cursor again, as
/// the last thing it wrote.
fn assert_restored(tui: &Tui) {
    let raw = tui.raw();
    let leave =
        rfind(&raw, b"\x1b[?1049l").unwrap_or_else(|| panic!("never left the alternate screen; {}", tui.tail_text()));
    let enter = rfind(&raw, b"\x1b[?1049h").expect("entered the alternate screen");
    assert!(leave > enter, "left the alternate screen before re-entering it; {}", tui.tail_text());
    let show = rfind(&raw, b"\x1b[?25h").unwrap_or_else(|| panic!("never showed the cursor; {}", tui.tail_text()));
    let hide = rfind(&raw, b"\x1b[?25l").unwrap_or(0);
    assert!(show > hide, "the cursor was hidden again after being shown; {}", tui.tail_text());
    assert!(raw.len() - leave <= 64, "little or nothing after leaving the alternate screen; {}", tui.tail_text());
    let (alternate, hidden) = tui.terminal_modes();
    assert!(!alternate && !hidden, "the emulated terminal is back on the main screen with a cursor");
}

/// A complete first frame: the tab row and a status bar with its sync age.
fn full_frame(screen: &vt100::Screen) -> bool {
    let (rows, cols) = screen.size();
    let lines: Vec<String> = screen.rows(0, cols.get()).collect();
    let status = lines.get(rows.get() as usize - 2).map_or("", String::as_str);
    shows_tabs(&lines) && (status.contains("online") || status.contains("offline")) && shows_sync_age(status)
}

#[test]
fn first_frame_comes_from_the_cache_and_survives_resizes() {
    let started = Instant::now();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo");
    let dir_str = dir.to_str().unwrap().to_string();
    let mut tui = spawn_demo(&["demo", "--dir", &dir_str], 24, 80, home.path(), Some(full_frame));

    // The first frame: five tabs and a status bar, drawn from the (empty)
    // cache before the server's first answer reached the console.
    tui.wait_until("the five tabs and a status bar", STARTUP, |rows| {
        shows_tabs(rows) && shows_sync_age(status_bar(rows))
    });
    let first = tui.first_frame().expect("the reader saw the first full frame");
    let first_rows: Vec<&str> = first.lines().collect();
    let first_status = first_rows.iter().rev().find(|r| shows_sync_age(r)).copied().unwrap_or_default();
    assert!(
        first_status.contains("never synced") && first_status.contains("offline"),
        "the first frame was drawn before the first sync answered; its status bar: {first_status:?}\nfirst frame:\n{first}"
    );
    assert!(first.contains("(not synced yet)"), "no user known before the first answer:\n{first}");

    // Then the network answers and the console is usable at 80x24.
    tui.wait_until("the status bar to say online", STARTUP, is_online);
    tui.wait_until("riley (reviewer) in the status bar", STEP, |rows| status_bar(rows).contains("riley (reviewer)"));
    tui.send("2");
    tui.wait_for_text(" Approvals · ", STEP);
    assert!(shows_tabs(&tui.rows()), "all five tabs fit in 80 columns\n{}", tui.dump());

    // Too small: only the request to enlarge the terminal.
    tui.resize(20, 60);
    tui.wait_for_text("enlarge the terminal to at least 80x24 (now 60x20)", STEP);
    let small = tui.rows();
    assert!(!small.iter().any(|r| r.contains("Approvals")), "nothing but the message at 60x20\n{}", tui.dump());

    // Back to 80x24: the console again, on the same pane.
    tui.resize(24, 80);
    tui.wait_until("the tabs back at 80x24", STEP, |rows| {
        shows_tabs(rows)
            && rows.iter().any(|r| r.contains(" Approvals · "))
            && !rows.iter().any(|r| r.contains("enlarge"))
    });
    tui.wait_until("the status bar back at 80x24", STEP, is_online);

    tui.send("q");
    let code = tui.wait_exit(Duration::from_secs(15));
    assert_eq!(code, 0, "govdeck demo exited with {code}\n{}\n{}", tui.dump(), tui.tail_text());
    assert_restored(&tui);
    eprintln!("first_frame_comes_from_the_cache_and_survives_resizes took {:?}", started.elapsed());
}
