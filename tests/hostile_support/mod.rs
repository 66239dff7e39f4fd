//! Shared by the hostile-input tests: the payloads of the issue, a catalog
//! server seeded with them, the environment that points the real binary at
//! it, and the checks that bytes written to a terminal are inert.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{self, TestServer};

/// The payloads of the issue, and what sanitizing leaves of each.
pub const PAYLOADS: [(&str, &str); 8] = [
    ("\x1b[2J", ""),
    ("\x1b]52;c;ZXZpbA==\x07", ""),
    ("\x1b]0;pwned\x07", ""),
    ("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("\u{9b}31m", ""),
    ("a\rb", "ab"),
    ("\u{202e}gnp.exe", "gnp.exe"),
    ("zero\u{200b}width", "zerowidth"),
];

/// What only a payload that got through, whole or half-stripped, would show.
pub const LEAKS: &[&str] = &[
    "[2J",
    "ZXZpbA",
    "52;c",
    "pwned",
    "evil.example",
    "]8;",
    "31m",
    "\u{1b}",
    "\u{7}",
    "\u{9b}",
    "\u{202e}",
    "\u{200b}",
];

/// Byte sequences that must never reach the terminal: string-sequence
/// introducers (OSC, DCS, SOS, PM, APC), BEL, CR (the console positions the
/// cursor with CSI only), and the UTF-8 of U+009B, U+202E and U+200B. All
/// C1 controls, bidi and zero-width characters are checked by [`bad_char`]
/// over the decoded text.
pub const BAD_BYTES: &[(&[u8], &str)] = &[
    (b"\x1b]", "an OSC introducer (ESC ])"),
    (b"\x1bP", "a DCS introducer (ESC P)"),
    (b"\x1bX", "an SOS introducer (ESC X)"),
    (b"\x1b^", "a PM introducer (ESC ^)"),
    (b"\x1b_", "an APC introducer (ESC _)"),
    (b"\x07", "a BEL"),
    (b"\r", "a carriage return"),
    (b"\xc2\x9b", "the 8-bit CSI U+009B"),
    (b"\xe2\x80\xae", "the bidi override U+202E"),
    (b"\xe2\x80\x8b", "the zero-width space U+200B"),
];

/// C1 controls, bidi controls and zero-width characters: never written.
pub fn bad_char(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Every payload, `|`-separated: what each free-text field carries, so
/// that one detail view shows them all.
pub fn all_payloads() -> String {
    PAYLOADS.map(|(p, _)| p).join("|")
}

pub fn app_name(i: usize) -> String {
    format!("hx{i}{}end", PAYLOADS[i].0)
}

/// The app's name as it must be drawn.
pub fn shown_name(i: usize) -> String {
    format!("hx{i}{}end", PAYLOADS[i].1)
}

pub fn govdeck() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_govdeck"))
}

/// What the seeding left on the server.
pub struct Seeded {
    pub app_ids: Vec<String>,
    /// The pending requests' app indexes.
    pub pending: Vec<usize>,
}

/// Files one intake per payload, decides some, ingests hostile events.
/// App `i`'s name carries payload `i` (so the lists show each one); every
/// other free-text field carries all of them. Even indexes: high risk,
/// filed by the lead `pat` for `olive`, left pending (0, 2 with one approval
/// carrying a hostile comment, 6 untouched) or rejected with a hostile
/// reason (4). Odd: low risk with OTel and vault, filed by `olive` herself
/// and approved by policy, so they are active.
pub async fn seed(server: &TestServer) -> Seeded {
    let all = all_payloads();
    // The owner is checked as a user name: hostile text there is refused, as
    // a problem of the manifest's `owner`.
    for (p, _) in PAYLOADS {
        let mut manifest = common::design_example();
        manifest["owner"] = json!(format!("olive{p}"));
        let resp = server.post("pat", "/v1/intake", &manifest).await;
        resp.expect_code(400, "invalid_manifest");
        assert_eq!(resp.json()["problems"][0]["field"], "owner");
    }
    let mut app_ids = Vec::new();
    let mut pending = Vec::new();
    for (i, (p, _)) in PAYLOADS.iter().enumerate() {
        let high = i % 2 == 0;
        let p = &format!("{p}|{all}");
        let manifest = json!({
            "name": app_name(i),
            "purpose": format!("purpose{i} {p}"),
            // Short fields (120 characters at most): every payload once.
            "team": format!("team{i}{all}"),
            "sponsor": format!("sp{i}{all}"),
            "cost_center": format!("cc{i}{all}"),
            "data_classification": if high { "pii" } else { "public" },
            "expected_users": if high { 250 } else { 5 },
            "external_connectivity": if high { "external_api" } else { "none" },
            "execution_environment": "sandboxed",
            "connectors": [format!("conn{i}{p}"), p],
            "endpoints": [format!("https://e{i}.example/{p}")],
            "secrets": [format!("secret{i}{p}")],
            "environments": [format!("env{i}{p}")],
            "lifecycle_tier": "standard",
            "ttl_class": "supported",
            "retention_days": 30,
            "monthly_budget": 10,
            "controls": {"otel": true, "backups": true, "secrets_in_vault": true},
        });
        let (app, approval) = if high {
            let mut manifest = manifest;
            manifest["owner"] = json!("olive");
            server.intake("pat", &manifest).await
        } else {
            server.intake("olive", &manifest).await
        };
        assert_eq!(app["name"], app_name(i), "the server stores the name as sent");
        app_ids.push(app["id"].as_str().expect("app id").to_string());
        match i {
            0 | 2 => {
                server.decide("riley", &approval, "approve", &format!("ok{i}{p}")).await.expect(200);
                pending.push(i);
            }
            4 => {
                server.decide("riley", &approval, "reject", &format!("no{i}{p}")).await.expect(200);
            }
            6 => pending.push(i),
            _ => assert!(approval.is_null(), "a low-risk app with OTel and vault is approved by policy"),
        }
    }
    let events: Vec<Value> = PAYLOADS
        .iter()
        .enumerate()
        .map(|(i, (one, _))| {
            let p = &all;
            json!({
                "actor_id": format!("act{i}{p}"),
                "actor_role": format!("role{i}{p}"),
                "app_id": app_ids[i],
                "environment": format!("env{i}{p}"),
                "action_type": format!("export{i}{one}"),
                "resource_type": format!("res{i}{p}"),
                "resource_id": format!("rid{i}{p}"),
                "data_classification": format!("class{i}{p}"),
                "outcome": if i % 2 == 0 { "blocked" } else { "failure" },
                "error_code": format!("err{i}{p}"),
                "ip_address": format!("ip{i}{p}"),
                "user_agent": format!("ua{i}{p}"),
                "request_context": {format!("key{i}{p}"): p, "list": [p, format!("v{i}{p}")]},
                "approval_id": format!("apr{i}{p}"),
            })
        })
        .collect();
    let answer = server.post("ingo", "/v1/audit/events", &json!({ "events": events })).await.expect(201);
    assert_eq!(answer["accepted"], PAYLOADS.len(), "{answer}");
    Seeded { app_ids, pending }
}

/// A server with the hostile catalog, on a runtime that keeps serving while
/// the test blocks on the terminal.
pub fn hostile_server() -> (tokio::runtime::Runtime, TestServer, Seeded) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (server, seeded) = rt.block_on(async {
        let server = TestServer::start().await;
        let seeded = seed(&server).await;
        (server, seeded)
    });
    (rt, server, seeded)
}

/// Environment for the binary: its own config and cache under `home`, the
/// server and token given, nothing from the user's environment.
pub fn client_env(home: &Path, server: &str, token: &str) -> Vec<(String, String)> {
    let config = home.join("config");
    let cache = home.join("cache");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    vec![
        ("TERM".into(), "xterm-256color".into()),
        ("HOME".into(), path(home)),
        ("XDG_CONFIG_HOME".into(), path(&config)),
        ("XDG_CACHE_HOME".into(), path(&cache)),
        ("GOVDECK_CONFIG_DIR".into(), path(&config)),
        ("GOVDECK_CACHE_DIR".into(), path(&cache)),
        ("GOVDECK_SERVER".into(), server.to_string()),
        ("GOVDECK_TOKEN".into(), token.to_string()),
        ("RUST_BACKTRACE".into(), "1".into()),
    ]
}

pub const ENV_REMOVE: &[&str] = &["NO_COLOR", "GOVDECK_DB", "RUST_LOG", "GOVDECK_TOKEN_FILE"];

/// Text of the bytes, for failure messages.
pub fn escaped(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `bytes[from..]` holds none of [`BAD_BYTES`] and no [`bad_char`].
pub fn assert_inert_bytes(bytes: &[u8], from: usize, what: &str) {
    let new = &bytes[from..];
    for (needle, name) in BAD_BYTES {
        if let Some(at) = find(new, needle) {
            let start = at.saturating_sub(80);
            panic!(
                "{what}: the terminal got {name} at byte {}: …{}…",
                from + at,
                escaped(&new[start..(at + 80).min(new.len())])
            );
        }
    }
    let text = String::from_utf8_lossy(new);
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| bad_char(c)) {
        panic!(
            "{what}: the terminal got {c:?} (U+{:04X}) near …{}…",
            c as u32,
            text[at.saturating_sub(80)..].escape_debug()
        );
    }
}

/// Records what the byte stream asked of the terminal beyond drawing.
#[derive(Default)]
pub struct Recorder {
    titles: Vec<String>,
    icon_names: Vec<String>,
    clipboard_writes: Vec<String>,
    clipboard_reads: usize,
    unhandled_osc: Vec<String>,
    bells: usize,
    unhandled_controls: Vec<u8>,
}

impl vt100::Callbacks for Recorder {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.icon_names.push(escaped(name));
    }
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(escaped(title));
    }
    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8], data: &[u8]) {
        self.clipboard_writes.push(format!("{}: {}", escaped(ty), escaped(data)));
    }
    fn paste_from_clipboard(&mut self, _: &mut vt100::Screen, _: &[u8]) {
        self.clipboard_reads += 1;
    }
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.unhandled_osc.push(params.iter().map(|p| escaped(p)).collect::<Vec<_>>().join(";"));
    }
    fn unhandled_control(&mut self, _: &mut vt100::Screen, byte: u8) {
        self.unhandled_controls.push(byte);
    }
}

/// Replays everything the program wrote through a terminal that reports
/// titles, clipboard access, OSC strings and bells.
pub fn assert_terminal_untouched(raw: &[u8], rows: u16, cols: u16) {
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
    let mut parser = vt100::Parser::new_with_callbacks(size(rows), size(cols), 0, Recorder::default());
    parser.process(raw);
    let seen = parser.callbacks();
    assert!(seen.titles.is_empty(), "the window title was set: {:?}", seen.titles);
    assert!(seen.icon_names.is_empty(), "the icon name was set: {:?}", seen.icon_names);
    assert!(seen.clipboard_writes.is_empty(), "the clipboard was written: {:?}", seen.clipboard_writes);
    assert_eq!(seen.clipboard_reads, 0, "the clipboard was read");
    assert!(seen.unhandled_osc.is_empty(), "OSC strings reached the terminal: {:?}", seen.unhandled_osc);
    assert_eq!(seen.bells, 0, "the terminal bell rang");
    assert!(seen.unhandled_controls.is_empty(), "stray control bytes: {:?}", seen.unhandled_controls);
    let screen = parser.screen().contents();
    assert!(!screen.contains("pwned"), "the replayed screen shows a payload:\n{screen}");
}
