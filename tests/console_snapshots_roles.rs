//! Snapshots of the screens each role sees around approvals and renewals,
//! drawn with ratatui's `TestBackend` from the fixture data and a fixed
//! clock, at 80x24 and 120x40, stored in the top-level `snapshots/`: an
//! owner's Approvals (without colour, as over SSH), a lead's Approvals, and
//! the confirm dialogs before a renewal that files a re-approval request or
//! shortens the time left.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data_for, fixture_now, olive, pat};
use govdeck::app::{App, ConsoleData, Event, PaneId, SyncStatus, UiSettings, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn console(data: ConsoleData, no_color: bool) -> App {
    let settings = UiSettings::load("dark", "default", None, no_color);
    assert!(settings.messages.is_empty(), "{:?}", settings.messages);
    let mut app = App::new(data, settings, fixture_now());
    app.handle_event(Event::Sync(SyncStatus {
        online: true,
        syncing: false,
        last_sync: Some(fixture_now() - chrono::Duration::seconds(12)),
        error: None,
        tls_refused: false,
    }));
    app
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

fn select(app: &mut App, id: &str) {
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
    panic!("{id} is not listed");
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
fn approvals_as_an_owner_without_colour() {
    snap_sizes("approvals_owner_no_color", || {
        let mut app = console(fixture_data_for(olive(), fixture_now()), true);
        press(&mut app, "2");
        app
    });
}

#[test]
fn approvals_as_a_lead_on_a_high_risk_request() {
    snap_sizes("approvals_lead", || {
        let mut app = console(fixture_data_for(pat(), fixture_now()), false);
        press(&mut app, "2");
        select(&mut app, "apr-006");
        app
    });
}

#[test]
fn renewing_a_read_only_app_is_confirmed_first() {
    snap_sizes("renew_confirm_read_only", || {
        let mut data = fixture_data_for(olive(), fixture_now());
        data.approvals.retain(|a| a.app_id != "app-04");
        let mut app = console(data, false);
        press(&mut app, "5");
        select(&mut app, "app-04");
        press(&mut app, "n");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}

#[test]
fn a_renewal_that_shortens_is_confirmed_first() {
    snap_sizes("renew_confirm_shortens", || {
        let mut app = console(fixture_data_for(pat(), fixture_now()), false);
        select(&mut app, "app-25");
        press(&mut app, "n");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}
