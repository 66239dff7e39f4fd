//! Shared helpers of the console tests: an [`App`] from the fixture data and
//! the fixed clock (with default settings, or with a shipped theme loaded and
//! a sync twelve seconds ago), keys and typed text, `:` commands, moving a
//! list's cursor onto a row, the screen drawn with ratatui's `TestBackend`,
//! the toast's text, insta snapshots at 80x24 and 120x40 stored in the
//! top-level `snapshots/`, and the bytes the console's own backend writes.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::fixture_now;
use govdeck::app::{App, ConsoleData, Effect, Event, PaneId, SyncStatus, UiSettings, render};
use govdeck::backend::ConsoleBackend;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// The two sizes every snapshot is taken at.
pub const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// A console over `data` with the default settings at the fixed clock, not
/// yet told of any sync.
pub fn console(data: ConsoleData) -> App {
    App::new(data, UiSettings::default(), fixture_now())
}

/// The settings of a shipped `theme` with the default keymap; the theme must
/// load without a message.
pub fn settings(theme: &str, no_color: bool) -> UiSettings {
    let settings = UiSettings::load(theme, "default", None, no_color);
    assert!(settings.messages.is_empty(), "{:?}", settings.messages);
    settings
}

/// A console over `data` in `theme` (without colour if `no_color`), online
/// and last synced twelve seconds before the fixed clock, as the snapshots
/// draw it.
pub fn console_with(data: ConsoleData, theme: &str, no_color: bool) -> App {
    let mut app = App::new(data, settings(theme, no_color), fixture_now());
    app.handle_event(Event::Sync(SyncStatus {
        online: true,
        syncing: false,
        last_sync: Some(fixture_now() - chrono::Duration::seconds(12)),
        error: None,
        tls_refused: false,
    }));
    app
}

/// A key without modifiers.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Types `text` as a terminal sends it (an upper-case letter with shift) and
/// returns every effect the keys asked for.
pub fn chars(app: &mut App, text: &str) -> Vec<Effect> {
    let keys: Vec<KeyEvent> = text
        .chars()
        .map(|c| {
            let modifiers = if c.is_ascii_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
            KeyEvent::new(KeyCode::Char(c), modifiers)
        })
        .collect();
    app.handle_keys(keys)
}

/// Presses each character of `keys` as a key without modifiers.
pub fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

/// Runs `:line` and returns the effects of its enter.
pub fn command(app: &mut App, line: &str) -> Vec<Effect> {
    chars(app, &format!(":{line}"));
    app.handle_key(key(KeyCode::Enter))
}

/// The toast's text, or nothing when no toast shows.
pub fn toast_text(app: &App) -> String {
    app.toast().map(|t| t.text.clone()).unwrap_or_default()
}

/// Moves the approvals cursor onto request `id`.
pub fn select_approval(app: &mut App, id: &str) {
    app.handle_key(key(KeyCode::Home));
    for _ in 0..60 {
        if app.approvals().selected_id(app.context()) == Some(id) {
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("request {id} is not in the queue");
}

/// Moves the cursor of the active pane (inventory, approvals or renewals)
/// onto `id`.
pub fn select(app: &mut App, id: &str) {
    app.handle_key(key(KeyCode::Home));
    for _ in 0..60 {
        let ctx = app.context();
        let selected = match app.active_pane() {
            PaneId::Inventory => app.inventory().selected_app(ctx).map(|a| a.id.as_str()),
            PaneId::Approvals => app.approvals().selected_id(ctx),
            PaneId::Renewals => app.renewals().selected_id(ctx),
            other => panic!("no list in {other:?}"),
        };
        if selected == Some(id) {
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("{id} is not listed in {:?}", app.active_pane());
}

/// `app` drawn on a `TestBackend` of `width` x `height`.
pub fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal
}

/// The screen's text, row by row.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

/// Asserts the snapshot `{name}_{width}x{height}` of `app` drawn at that size.
pub fn snap(name: &str, app: &App, width: u16, height: u16) {
    let terminal = draw(app, width, height);
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), terminal.backend());
    });
}

/// The snapshot at each of [`SIZES`], each from a fresh console made by `make`.
pub fn snap_sizes(name: &str, make: impl Fn() -> App) {
    for (width, height) in SIZES {
        let app = make();
        snap(name, &app, width, height);
    }
}

/// A `Vec<u8>` the test can still read after handing it to the backend.
#[derive(Clone, Default)]
pub struct Captured(pub Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes the console's own crossterm backend writes for one frame of `app`.
pub fn frame_bytes(app: &App, width: u16, height: u16) -> Vec<u8> {
    let captured = Captured::default();
    let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
    let mut terminal =
        Terminal::with_options(ConsoleBackend::new(captured.clone()), TerminalOptions { viewport }).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    captured.0.borrow().clone()
}
