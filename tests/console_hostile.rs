//! Hostile catalog text must not reach the terminal raw. Apps, requests,
//! audit events, the user name, the server address, outbox failures and
//! server messages carry escape sequences (clear screen, OSC 52 clipboard
//! write, OSC 0 title, OSC 8 hyperlink), a C1 CSI, a carriage return, a bidi
//! override and a zero-width space. Every pane, detail and dialog is drawn
//! with the console's real backend into a byte buffer, and the bytes
//! are replayed through a strict parser: the only escape sequences allowed
//! are the CSI sequences ratatui itself emits (cursor moves `H`, styles `m`,
//! cursor show/hide `h`/`l`), no control character may appear, and the
//! sanitized text must be on the screen while the payloads must not.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::{fixture_data, fixture_now};
use govdeck::app::{App, ConsoleData, Event, QueuedAction, QueuedKind, QueuedStatus};
use govdeck::domain::Role;
use govdeck::domain::api::Me;
use unicode_width::UnicodeWidthChar;

/// (hostile value, what must be shown instead, what must not be shown)
const SAMPLES: &[(&str, &str, &str)] = &[
    ("wipe\x1b[2Jscreen", "wipescreen", "[2J"),
    ("clip\x1b]52;c;ZXZpbA==\x07board", "clipboard", "ZXZpbA"),
    ("title\x1b]0;pwned\x07bar", "titlebar", "pwned"),
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link", "http://x"),
    ("c1\u{9b}31mred", "c1red", "31m"),
    ("carriage\rreturn", "carriagereturn", "carriage\r"),
    ("\u{202e}gnp.exe", "gnp.exe", "\u{202e}"),
    ("zero\u{200b}width", "zerowidth", "\u{200b}"),
];

fn hostile_data() -> ConsoleData {
    let mut data = fixture_data(fixture_now());
    let mut apps = data.full_apps_in_order();
    for (i, (hostile, _, _)) in SAMPLES.iter().enumerate() {
        let app = &mut apps[i];
        app.name = hostile.to_string();
        app.owner = format!("{hostile}o");
        app.team = format!("{hostile}t");
        app.purpose = format!("{hostile} purpose {hostile}");
        app.sponsor = hostile.to_string();
        app.cost_center = hostile.to_string();
        app.connectors = vec![hostile.to_string()];
        app.endpoints = vec![hostile.to_string()];
        app.secrets = vec![hostile.to_string()];
        app.flags = vec![hostile.to_string()];
        let id = app.id.clone();
        for approval in data.approvals.iter_mut().filter(|a| a.app_id == id) {
            approval.app_name = hostile.to_string();
            approval.requested_by = format!("{hostile}r");
            for decision in &mut approval.decisions {
                decision.comment = hostile.to_string();
            }
        }
        let event = &mut data.audit[i];
        event.actor_id = hostile.to_string();
        event.actor_role = hostile.to_string();
        event.action_type = hostile.to_string();
        event.error_code = Some(hostile.to_string());
        event.user_agent = Some(hostile.to_string());
        event.request_context = serde_json::json!({ "note": hostile });
    }
    data.set_full_apps(apps);
    data.me = Me { user: "riley\x1b]0;pwned\x07".into(), roles: vec![Role::Reviewer, Role::Lead] };
    data.server = "http://\x1b[2Jevil\u{202e}".into();
    data.outbox.push(QueuedAction {
        id: 1,
        kind: QueuedKind::Approve,
        target_id: "apr-011".into(),
        status: QueuedStatus::Failed("refused\x1b]52;c;ZXZpbA==\x07 by server".into()),
        queued_at: fixture_now(),
    });
    data
}

/// Replays the bytes like a terminal would, refusing anything but the CSI
/// sequences ratatui emits, and returns the screen's rows.
fn replay(bytes: &[u8], width: usize, height: usize) -> Vec<String> {
    assert!(!bytes.windows(2).any(|w| w == b"\x1b]"), "an OSC sequence reached the terminal");
    assert!(!bytes.windows(4).any(|w| w == b"\x1b[2J"), "a clear-screen reached the terminal");
    let text = std::str::from_utf8(bytes).expect("the output is UTF-8");
    for forbidden in ['\u{9b}', '\u{9d}', '\r', '\u{7}', '\u{7f}', '\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}'] {
        assert!(!text.contains(forbidden), "{forbidden:?} reached the terminal");
    }
    let mut grid = vec![vec![String::from(" "); width]; height];
    let (mut x, mut y) = (0usize, 0usize);
    let mut sequences = 0;
    let mut printed = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            assert_eq!(chars.next(), Some('['), "ESC not followed by [ (not a CSI ratatui emits)");
            let mut params = String::new();
            let final_byte = loop {
                match chars.next() {
                    Some(p) if p.is_ascii_digit() || p == ';' || p == ':' || p == '?' => params.push(p),
                    Some(f) => break f,
                    None => panic!("unterminated escape sequence"),
                }
            };
            assert!(matches!(final_byte, 'H' | 'm' | 'h' | 'l'), "unexpected escape sequence ESC[{params}{final_byte}");
            if matches!(final_byte, 'h' | 'l') {
                assert_eq!(params, "?25", "only cursor show/hide may use h/l");
            }
            if final_byte == 'H' {
                let mut parts = params.split(';').map(|p| p.parse::<usize>().unwrap_or(1));
                y = parts.next().unwrap_or(1) - 1;
                x = parts.next().unwrap_or(1) - 1;
            }
            sequences += 1;
            continue;
        }
        assert!(!c.is_control(), "control character {c:?} reached the terminal");
        if y < height && x < width {
            grid[y][x] = c.to_string();
        }
        x += c.width().unwrap_or(0).max(1);
        printed += 1;
    }
    assert!(sequences > 0 && printed > width, "the frame was actually drawn");
    grid.into_iter().map(|row| row.concat()).collect()
}

/// Draws `app` at both sizes and checks the bytes; returns the big screen.
fn check(app: &App, view: &str) -> String {
    let mut big = String::new();
    for (width, height) in [(120u16, 40u16), (80, 24)] {
        let rows = replay(&frame_bytes(app, width, height), width as usize, height as usize);
        let screen = rows.join("\n");
        for (_, _, payload) in SAMPLES {
            assert!(!screen.contains(payload), "{view} {width}x{height}: {payload:?} is on screen:\n{screen}");
        }
        assert!(!screen.contains("pwned") && !screen.contains("ZXZpbA"), "{view}: payload on screen:\n{screen}");
        if width == 120 {
            big = screen;
        }
    }
    big
}

#[test]
fn the_inventory_shows_sanitized_names_and_nothing_else() {
    let app = console(hostile_data());
    let screen = check(&app, "inventory");
    for (_, shown, _) in SAMPLES {
        assert!(screen.contains(shown), "{shown:?} missing from the inventory:\n{screen}");
    }
    assert!(screen.contains("riley (reviewer, lead)"), "{screen}");
}

#[test]
fn every_app_detail_is_sanitized() {
    for (i, (_, shown, _)) in SAMPLES.iter().enumerate() {
        let mut app = console(hostile_data());
        let target = app.data().apps[i].id.clone();
        while app.inventory().selected_app(app.context()).map(|a| a.id.clone()) != Some(target.clone()) {
            app.handle_key(key(KeyCode::Down));
        }
        app.handle_key(key(KeyCode::Enter));
        let screen = check(&app, &format!("detail of app {i}"));
        assert!(screen.contains(shown), "{shown:?} missing from its detail:\n{screen}");
        assert!(screen.contains("Compliance"), "{screen}");
    }
}

#[test]
fn the_fuzzy_filter_highlights_sanitized_text() {
    let mut app = console(hostile_data());
    press(&mut app, "/gnp");
    let screen = check(&app, "filtered inventory");
    assert!(screen.contains("gnp.exe"), "{screen}");
}

#[test]
fn approvals_details_and_dialogs_are_sanitized() {
    let mut app = console(hostile_data());
    press(&mut app, "2");
    let screen = check(&app, "approvals");
    assert!(screen.contains("clipboard") || screen.contains("wipescreen") || screen.contains("gnp.exe"), "{screen}");
    for _ in 0..30 {
        let Some(id) = app.approvals().selected_id(app.context()).map(str::to_string) else { break };
        app.handle_key(key(KeyCode::Enter));
        check(&app, &format!("approval detail {id}"));
        app.handle_key(key(KeyCode::Esc));
        press(&mut app, "a");
        check(&app, &format!("approve dialog {id}"));
        app.handle_key(key(KeyCode::Esc));
        press(&mut app, "r");
        check(&app, &format!("reject dialog {id}"));
        app.handle_key(key(KeyCode::Esc));
        app.handle_key(key(KeyCode::Down));
    }
}

#[test]
fn audit_timeline_and_event_detail_are_sanitized() {
    let mut app = console(hostile_data());
    press(&mut app, "3");
    check(&app, "audit");
    for _ in 0..12 {
        app.handle_key(key(KeyCode::Enter));
        check(&app, "audit detail");
        app.handle_key(key(KeyCode::Esc));
        app.handle_key(key(KeyCode::Down));
    }
    app.handle_event(Event::Verified(Err("chain broken\x1b]0;pwned\x07 at seq 3".into())));
    let screen = check(&app, "verify result");
    assert!(screen.contains("chain broken at seq 3"), "{screen}");
}

#[test]
fn kpis_renewals_help_and_toasts_are_sanitized() {
    let mut app = console(hostile_data());
    press(&mut app, "4");
    check(&app, "kpis");
    press(&mut app, "5");
    let screen = check(&app, "renewals");
    assert!(screen.contains("lead-scorer") || screen.contains("titlebar") || screen.contains("link"), "{screen}");
    app.handle_key(key(KeyCode::Enter));
    check(&app, "renewal detail");
    app.handle_key(key(KeyCode::Esc));
    press(&mut app, "?");
    check(&app, "help");
    app.handle_key(key(KeyCode::Esc));
    app.handle_event(Event::ActionResult {
        target_id: "app-03".into(),
        outcome: Err("denied\x1b[2J\x1b]52;c;ZXZpbA==\x07 now".into()),
    });
    let screen = check(&app, "error toast");
    assert!(screen.contains("titlebar: denied now"), "{screen}");
    app.handle_event(Event::Sync(govdeck::app::SyncStatus {
        online: false,
        syncing: false,
        last_sync: None,
        error: Some("connection refused\x1b]0;pwned\x07".into()),
        tls_refused: false,
    }));
    check(&app, "sync error toast");
}
