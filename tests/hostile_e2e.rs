//! Escape injection, end to end. A real catalog server runs in-process on
//! `127.0.0.1:0`; intake (as an owner, and as a lead filing for an owner),
//! decisions and ingested runtime events put the payloads of the issue into
//! every free-text field: clear screen `ESC [2J`, an OSC 52 clipboard write,
//! an OSC 0 title, an OSC 8 hyperlink, the 8-bit CSI U+009B, a bare CR, the
//! bidi override U+202E and the zero-width space U+200B. App `i`'s name
//! carries payload `i`; every other field carries all eight. (A hostile
//! `owner` is refused by the server: owners are user names.) Then the real
//! `govdeck` binary reads it back:
//!
//! * `console_at_120x40_draws_hostile_text_inert` and
//!   `console_at_80x24_draws_hostile_text_inert`: the console in a
//!   pseudo-terminal as the lead, online and synced, visiting every pane,
//!   the details of a pending and an active app, of two requests (one with
//!   a hostile decision comment), of two ingested events and of a renewal,
//!   each paged to its end, the chain verification, and the help overlay
//!   (with a user keymap whose keys and descriptions are hostile too). After
//!   each view the bytes written so far hold no OSC, DCS, APC, PM or SOS
//!   introducer, no BEL, no CR, no C1 control, no bidi or zero-width
//!   character, and no clear screen once the catalog was on screen; the
//!   screen shows none of the payloads' leftovers (`[2J`, `ZXZpbA`, `pwned`,
//!   `evil.example`, `31m`), and at the end the screens seen must have shown
//!   the sanitized text (`hx6gnp.exeend`, `ab|gnp.exe|zerowidth`, …), so the
//!   test cannot pass on an empty screen. The whole byte stream is then
//!   replayed through a `vt100` parser with callbacks: no window title or
//!   icon name set, no clipboard access, no unhandled OSC, no bell, no stray
//!   control byte.
//! * `cli_output_of_a_hostile_catalog_is_inert`: `govdeck sync`, then
//!   `apps`, `approvals`, `audit` and `kpi`, plain and `--json`. Plain output
//!   holds no control character but newlines, no bidi or zero-width
//!   character; JSON output parses, holds none of those raw (they are
//!   `\uXXXX` escapes), and decodes back to the exact hostile values.
//! * `cli_errors_from_a_hostile_server_are_inert`: a server that answers
//!   every call with an error whose code and message carry the payloads;
//!   `govdeck sync` fails with the payloads' text but none of their bytes.

mod common;
mod e2e_support;
mod hostile_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::{Tui, keys};
use hostile_support::{
    ENV_REMOVE, LEAKS, PAYLOADS, all_payloads, app_name, assert_inert_bytes, assert_terminal_untouched, bad_char,
    client_env, find, govdeck, hostile_server, shown_name,
};
use serde_json::{Value, json};

/// How long the console may take to start, sync and draw the catalog.
const STARTUP: Duration = Duration::from_secs(30);
/// How long one keystroke's visible effect may take.
const STEP: Duration = Duration::from_secs(10);
/// How long a key that changes nothing is given to show it changed nothing.
const SETTLE: Duration = Duration::from_millis(700);
const END: &str = "\x1b[F";
const ESC: &str = "\x1b";

// ---------------------------------------------------------------- console

/// A user keymap whose extra bindings carry hostile keys and descriptions:
/// the help overlay draws both.
const HOSTILE_KEYMAP: &str = r#"
[global]
keymap = [
  { on = "\u202e", run = "sync", desc = "bidi\u202eKEY" },
  { on = "\u200b", run = "sync", desc = "zero\u200bwidth key" },
  { on = "\u009b", run = "sync", desc = "c1\u009b31mkey" },
  { on = "F9", run = "sync", desc = "title\u001b]0;pwned\u0007desc \u001b]52;c;ZXZpbA==\u0007clip" },
]
"#;

/// The screen shows no payload leftovers.
fn assert_inert_screen(tui: &Tui, what: &str) {
    let screen = tui.text();
    for leak in LEAKS {
        assert!(!screen.contains(leak), "{what}: the screen shows {leak:?}\n{}", tui.dump());
    }
}

/// The row under the list cursor (the `▶` just inside the border).
fn cursor_row(rows: &[String]) -> Option<usize> {
    rows.iter().position(|row| row.chars().nth(1) == Some('▶'))
}

fn is_detail(rows: &[String]) -> bool {
    rows.iter().any(|r| r.contains("back · ↑↓ scroll"))
}

/// A console session and the byte offset up to which it was checked.
struct Session {
    tui: Tui,
    checked: usize,
    size: String,
    /// How many bytes had been written when the catalog was first on screen.
    catalog_shown_at: Option<usize>,
    /// Every screen checked, for "was it ever shown".
    screens: String,
}

impl Session {
    /// Waits for `check`, then asserts the screen and the new bytes are inert.
    fn view(&mut self, what: &str, check: impl Fn(&[String]) -> bool) {
        let what = format!("{} · {what}", self.size);
        self.tui.wait_until(&what, STEP, check);
        // Let the frame that satisfied the check finish arriving.
        std::thread::sleep(Duration::from_millis(100));
        self.check(&what);
    }

    fn check(&mut self, what: &str) {
        assert_inert_screen(&self.tui, what);
        let raw = self.tui.raw();
        assert_inert_bytes(&raw, self.checked, what);
        if let Some(shown_at) = self.catalog_shown_at {
            let from = shown_at.max(self.checked);
            if let Some(at) = find(&raw[from..], b"\x1b[2J") {
                panic!("{what}: the screen was cleared (ESC [2J) at byte {} after catalog text was drawn", from + at);
            }
        } else if self.tui.text().contains(&shown_name(0)) {
            self.catalog_shown_at = Some(raw.len());
        }
        self.screens.push_str(&self.tui.text());
        self.checked = raw.len();
    }

    fn send(&mut self, keys: &str) {
        self.tui.send(keys);
    }

    /// Puts the list cursor on the row containing `needle`, looking from the
    /// top, the bottom and page by page.
    fn select(&mut self, needle: &str) {
        let on_cursor = |rows: &[String]| cursor_row(rows).is_some_and(|at| rows[at].contains(needle));
        for attempt in 0..24 {
            let rows = self.tui.rows();
            if on_cursor(&rows) {
                return;
            }
            let cursor = cursor_row(&rows);
            let target = rows.iter().position(|r| r.contains(needle));
            match (cursor, target) {
                (Some(cursor), Some(target)) => {
                    let key = if target > cursor { keys::DOWN } else { keys::UP };
                    self.send(&key.repeat(target.abs_diff(cursor)));
                    self.tui.wait_until(&format!("the cursor on {needle:?}"), STEP, on_cursor);
                    return;
                }
                _ => {
                    self.send(match attempt {
                        0 => keys::HOME,
                        1 => END,
                        2 => keys::HOME,
                        _ => keys::PAGE_DOWN,
                    });
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
        panic!("{}: no list row shows {needle:?}\n{}", self.size, self.tui.dump());
    }

    /// Pages down until the body stops changing (none within [`SETTLE`]),
    /// checking every page.
    fn page_through(&mut self, what: &str) {
        let body = |tui: &Tui| {
            let rows = tui.rows();
            rows[..rows.len().saturating_sub(2)].to_vec()
        };
        for page in 2..=8 {
            let before = body(&self.tui);
            self.send(keys::PAGE_DOWN);
            let deadline = Instant::now() + SETTLE;
            while body(&self.tui) == before && Instant::now() < deadline {
                std::thread::sleep(e2e_support::POLL);
            }
            let moved = body(&self.tui) != before;
            std::thread::sleep(Duration::from_millis(100));
            self.check(&format!("{} · {what}, page {page}", self.size));
            if !moved {
                return;
            }
        }
    }

    /// Enter on the selected row, the whole detail paged through, back.
    fn detail(&mut self, what: &str, must_show: &[String]) {
        self.send(keys::ENTER);
        self.view(&format!("{what} detail"), |rows| {
            is_detail(rows) && must_show.iter().all(|m| rows.iter().any(|r| r.contains(m.as_str())))
        });
        self.page_through(&format!("{what} detail"));
        self.send(ESC);
        self.view(&format!("back from the {what} detail"), |rows| !is_detail(rows) && cursor_row(rows).is_some());
    }
}

fn status_bar(rows: &[String]) -> &str {
    rows.get(rows.len().saturating_sub(2)).map_or("", String::as_str)
}

fn console_shows_hostile_text_inert(rows: u16, cols: u16) {
    let started = Instant::now();
    let (_rt, server, seeded) = hostile_server();
    let home = tempfile::tempdir().unwrap();
    // The lead reads everything, renewals of every app included.
    let env = client_env(home.path(), &server.url(""), &server.token("pat"));
    let keymaps = home.path().join("config").join("keymaps");
    std::fs::create_dir_all(&keymaps).unwrap();
    std::fs::write(keymaps.join("default.toml"), HOSTILE_KEYMAP).unwrap();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let tui = Tui::spawn(&govdeck(), &[], rows, cols, &env_refs, ENV_REMOVE, None);
    let mut session =
        Session { tui, checked: 0, size: format!("{cols}x{rows}"), catalog_shown_at: None, screens: String::new() };

    // Online and synced: the inventory lists the hostile apps, sanitized.
    let names: Vec<String> = (0..PAYLOADS.len()).map(shown_name).collect();
    session.tui.wait_until("the console online with the hostile catalog", STARTUP, |rows| {
        status_bar(rows).contains(" online") && names.iter().all(|n| rows.iter().any(|r| r.contains(n.as_str())))
    });
    session.check("the inventory after the first sync");
    assert!(status_bar(&session.tui.rows()).contains("pat (lead)"), "{}", session.tui.dump());

    // Inventory: the details of a pending and an active app (manifest,
    // requests, latest events; every free-text field holds every payload).
    for i in [0, 7] {
        session.select(&names[i]);
        session.detail(&format!("app {}", names[i]), &[names[i].clone(), format!("team{i}|||click")]);
    }

    // Approvals: a request with a hostile decision comment, and one without.
    session.send("2");
    session.view("the approval queue", |rows| rows.iter().any(|r| r.contains(" Approvals · 3 pending")));
    for i in [0, 6] {
        assert!(seeded.pending.contains(&i));
        session.select(&names[i]);
        session.detail(&format!("request for {}", names[i]), &["Request apr_".to_string()]);
    }

    // Audit: two ingested events' details, then the chain verification.
    session.send("3");
    session.view("the audit timeline", |rows| rows.iter().any(|r| r.contains(" Audit · ")));
    for i in [3, 6] {
        let action = format!("export{i}{}", PAYLOADS[i].1);
        session.select(&action);
        session.detail(&format!("event {action}"), &[action.clone(), format!("err{i}|||click")]);
    }
    session.send("v");
    session.view("the audit chain verified", |rows| rows.iter().any(|r| r.contains("audit chain ok")));
    assert!(!session.tui.text().contains('✗'), "the hostile chain verifies\n{}", session.tui.dump());

    // KPIs and renewals (an active hostile app's detail).
    session.send("4");
    session.view("the KPIs", |rows| rows.iter().any(|r| r.contains(" KPIs · from the local cache ")));
    session.send("5");
    session.view("the renewals", |rows| rows.iter().any(|r| r.contains(" Renewals · all apps")));
    session.select(&names[5]);
    session.detail(&format!("renewal of {}", names[5]), &[names[5].clone()]);

    // Help, with the hostile user keymap, paged to its end.
    session.send("?");
    session.view("the help overlay", |rows| rows.iter().any(|r| r.contains(" Help · ")));
    session.page_through("the help overlay");
    session.send(ESC);
    session.view("the help closed", |rows| !rows.iter().any(|r| r.contains(" Help · ")));

    session.send("q");
    let code = session.tui.wait_exit(Duration::from_secs(15));
    assert_eq!(code, 0, "govdeck exited with {code}\n{}", session.tui.dump());
    session.check("after quitting");

    // What was shown, sanitized, so that none of this passes vacuously.
    let raw = session.tui.raw();
    for text in [
        "hx6gnp.exeend",
        "hx7zerowidthend",
        "hx3clickend",
        "hx5abend",
        "export6gnp.exe",
        "ab|gnp.exe|zerowidth",
        "ok0||||click",
        "zerowidth key",
        "bidiKEY",
    ] {
        assert!(session.screens.contains(text), "{text:?} was never on screen");
    }
    assert!(session.catalog_shown_at.is_some(), "the catalog was on screen");
    assert_terminal_untouched(&raw, rows, cols);
    eprintln!("{cols}x{rows}: {} bytes checked in {:?}", raw.len(), started.elapsed());
    drop(server);
    let _ = seeded.app_ids;
}

#[test]
fn console_at_120x40_draws_hostile_text_inert() {
    console_shows_hostile_text_inert(40, 120);
}

#[test]
fn console_at_80x24_draws_hostile_text_inert() {
    console_shows_hostile_text_inert(24, 80);
}

// -------------------------------------------------------------------- CLI

/// Runs `govdeck args` with `env`; returns (exit code, stdout, stderr).
fn run(env: &[(String, String)], args: &[&str]) -> (i32, Vec<u8>, String) {
    let mut command = Command::new(govdeck());
    command.args(args).stdin(Stdio::null());
    for name in ENV_REMOVE.iter().chain(&["GOVDECK_SERVER", "GOVDECK_TOKEN"]) {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let output = command.output().expect("run govdeck");
    (output.status.code().unwrap_or(-1), output.stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The first character of `text` a terminal would act on or hide.
fn first_unsafe(text: &str, allow_newline: bool) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| {
        (c.is_control() && !(allow_newline && c == '\n')) || bad_char(c) || c == '\u{2028}' || c == '\u{2029}'
    })
}

fn assert_plain_inert(what: &str, text: &str) {
    if let Some((at, c)) = first_unsafe(text, true) {
        panic!("`govdeck {what}` printed {c:?} (U+{:04X}) near {:?}", c as u32, &text[at.saturating_sub(60)..]);
    }
    for leak in LEAKS {
        assert!(!text.contains(leak), "`govdeck {what}` printed {leak:?}:\n{text}");
    }
}

/// JSON output: parses, and holds no raw control, bidi or zero-width character.
fn assert_json_inert(what: &str, text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|err| panic!("`govdeck {what}` is not JSON ({err})"));
    if let Some((at, c)) = first_unsafe(text, true) {
        panic!(
            "`govdeck {what}` printed {c:?} (U+{:04X}) raw, which a terminal would act on; escape it as \\u{:04x}: near {:?}",
            c as u32,
            c as u32,
            &text[at.saturating_sub(60)..(at + 20).min(text.len())]
        );
    }
    value
}

fn strings_of(value: &Value, key: &str) -> Vec<String> {
    value.as_array().expect("a JSON array").iter().filter_map(|item| item[key].as_str().map(str::to_string)).collect()
}

#[test]
fn cli_output_of_a_hostile_catalog_is_inert() {
    let (_rt, server, _seeded) = hostile_server();
    let home = tempfile::tempdir().unwrap();
    let env = client_env(home.path(), &server.url(""), &server.token("rosa"));

    let (code, _, stderr) = run(&env, &["sync"]);
    assert_eq!(code, 0, "govdeck sync: {stderr}");
    assert_plain_inert("sync (stderr)", &stderr);

    for (args, must_show) in [
        (&["apps"][..], &["hx6gnp.exeend", "hx7zerowidthend", "hx3clickend", "hx5abend", "hx0end"][..]),
        (&["approvals"][..], &["hx6gnp.exeend", "hx0end", "hx2end"][..]),
        (&["audit", "--limit", "100"][..], &["export6gnp.exe", "export7zerowidth", "export3click"][..]),
        (&["kpi"][..], &["active apps"][..]),
    ] {
        let what = args.join(" ");
        let (code, stdout, stderr) = run(&env, args);
        assert_eq!(code, 0, "govdeck {what}: {stderr}");
        let text = String::from_utf8(stdout).unwrap_or_else(|err| panic!("govdeck {what}: not UTF-8: {err}"));
        assert_plain_inert(&what, &text);
        assert_plain_inert(&format!("{what} (stderr)"), &stderr);
        for needle in must_show {
            assert!(text.contains(needle), "`govdeck {what}` shows {needle:?}:\n{text}");
        }
    }

    // JSON: no raw hostile character, and every hostile value decodes back exactly.
    let json_of = |args: &[&str]| -> Value {
        let what = args.join(" ");
        let (code, stdout, stderr) = run(&env, args);
        assert_eq!(code, 0, "govdeck {what}: {stderr}");
        let text = String::from_utf8(stdout).unwrap_or_else(|err| panic!("govdeck {what}: not UTF-8: {err}"));
        assert_json_inert(&what, &text)
    };
    let apps = json_of(&["apps", "--json"]);
    let names = strings_of(&apps, "name");
    for i in 0..PAYLOADS.len() {
        assert!(names.contains(&app_name(i)), "apps --json keeps {:?} exactly: {names:?}", app_name(i));
    }
    let approvals = json_of(&["approvals", "--json"]);
    let app_names = strings_of(&approvals, "app_name");
    for i in [0, 2, 6] {
        assert!(app_names.contains(&app_name(i)), "approvals --json keeps {:?}: {app_names:?}", app_name(i));
    }
    let comments: Vec<String> = approvals
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["decisions"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d["comment"].as_str().map(str::to_string))
        .collect();
    let comment = format!("ok0{}|{}", PAYLOADS[0].0, all_payloads());
    assert!(comments.contains(&comment), "decision comments decode exactly: {comments:?}");
    let audit = json_of(&["audit", "--json", "--limit", "100"]);
    let actions = strings_of(&audit, "action_type");
    for (i, (p, _)) in PAYLOADS.iter().enumerate() {
        assert!(actions.contains(&format!("export{i}{p}")), "audit --json keeps export{i}: {actions:?}");
    }
    json_of(&["kpi", "--json"]);
}

/// Answers every call with a 403 whose code and message carry the payloads.
async fn hostile_errors() -> (String, tokio::sync::oneshot::Sender<()>) {
    let message: String = PAYLOADS.iter().map(|(p, _)| format!("[{p}]")).collect();
    let body =
        json!({"error": {"code": "denied\x1b]0;pwned\x07", "message": format!("refused {message}")}}).to_string();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { (axum::http::StatusCode::FORBIDDEN, [("content-type", "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (format!("http://{addr}"), stop)
}

#[test]
fn cli_errors_from_a_hostile_server_are_inert() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (url, stop) = rt.block_on(hostile_errors());
    let home = tempfile::tempdir().unwrap();
    let env = client_env(home.path(), &url, "some-token");
    let (code, stdout, stderr) = run(&env, &["sync"]);
    assert_ne!(code, 0, "a refused sync fails: {stderr}");
    assert!(stderr.contains("gnp.exe") && stderr.contains("zerowidth"), "the message is shown, sanitized: {stderr:?}");
    assert_plain_inert("sync against a hostile server (stderr)", &stderr);
    assert_plain_inert("sync against a hostile server (stdout)", &String::from_utf8_lossy(&stdout));
    let _ = stop.send(());
}
