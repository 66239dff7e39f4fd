//! Snapshots of the lists' `/` filter, drawn with ratatui's `TestBackend`
//! from the fixture data and a fixed clock, at 80x24 and 120x40: the
//! approval queue and the renewals while a query is typed (the filter line
//! with its cursor, the best match selected on the first row, the matched
//! letters of the app's name highlighted) and once it is kept.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, pat};
use govdeck::app::{App, ConsoleData, SyncStatus, UiSettings, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn console(data: ConsoleData) -> App {
    let settings = UiSettings::load("dark", "default", None, false);
    assert!(settings.messages.is_empty(), "{:?}", settings.messages);
    let mut app = App::new(data, settings, fixture_now());
    app.handle_event(govdeck::app::Event::Sync(SyncStatus {
        online: true,
        syncing: false,
        last_sync: Some(fixture_now() - chrono::Duration::seconds(12)),
        error: None,
        tls_refused: false,
    }));
    app
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn snap_sizes(name: &str, make: impl Fn() -> App) {
    for (width, height) in SIZES {
        let app = make();
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| render(&app, frame)).unwrap();
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), terminal.backend());
        });
    }
}

#[test]
fn approvals_filter_typed() {
    snap_sizes("approvals_filter_typed", || {
        let mut app = console(fixture_data(fixture_now()));
        press(&mut app, "2");
        // Moved away first: the query puts the best match back on top.
        app.handle_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        press(&mut app, "/omar");
        app
    });
}

#[test]
fn approvals_filter_kept() {
    snap_sizes("approvals_filter_kept", || {
        let mut app = console(fixture_data(fixture_now()));
        press(&mut app, "2/renewal");
        app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        app
    });
}

#[test]
fn renewals_filter_typed() {
    snap_sizes("renewals_filter_typed", || {
        let mut app = console(fixture_data_for(pat(), fixture_now()));
        press(&mut app, "5");
        app.handle_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        press(&mut app, "/sales");
        app
    });
}

#[test]
fn renewals_filter_no_match() {
    snap_sizes("renewals_filter_no_match", || {
        let mut app = console(fixture_data_for(pat(), fixture_now()));
        press(&mut app, "5/zzzq");
        app
    });
}
