//! Snapshots of the whole console drawn with ratatui's `TestBackend` from
//! the fixture data and a fixed clock (2026-11-23T09:00:00Z): every pane,
//! the detail views, the help overlay, the comment box, the confirm dialog
//! and the too-small message, at 80x24 and 120x40, in every shipped theme
//! at least once and without colour. Stored in the top-level `snapshots/`.
//! Text snapshots cannot show colour, so a few tests assert cell styles.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, olive, pat};
use govdeck::app::{App, ConsoleData, SyncStatus};
use govdeck::config::theme::Theme;
use govdeck::domain::Tier;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

#[test]
fn inventory() {
    snap_sizes("inventory", || console_with(fixture_data(fixture_now()), "dark", false));
}

/// The first frame of a large cache: the first page of the inventory by
/// name while the rest loads, as `console::load_first_page` reads it.
fn first_page() -> ConsoleData {
    let mut data = fixture_data(fixture_now());
    let total = data.apps.len();
    data.apps.sort_by(|a, b| a.name.cmp(&b.name));
    data.apps.truncate(6);
    data.approvals.clear();
    data.kpis = None;
    data.loading = Some(total);
    data
}

#[test]
fn first_page_while_the_rest_loads() {
    snap_sizes("first_page_inventory", || console_with(first_page(), "dark", false));
    snap_sizes("first_page_approvals", || {
        let mut app = console_with(first_page(), "dark", false);
        press(&mut app, "2");
        app
    });
}

#[test]
fn inventory_filtered_and_faceted() {
    snap_sizes("inventory_filtered", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "/sales");
        app
    });
    snap_sizes("inventory_faceted", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "tds");
        app
    });
}

#[test]
fn app_detail() {
    snap_sizes("app_detail", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "/quote-builder");
        app.handle_key(key(KeyCode::Enter));
        app.handle_key(key(KeyCode::Enter));
        app
    });
}

#[test]
fn approvals() {
    snap_sizes("approvals", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        app
    });
}

#[test]
fn approval_detail() {
    snap_sizes("approval_detail", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        select_approval(&mut app, "apr-004");
        app.handle_key(key(KeyCode::Enter));
        app
    });
    // One the user may not decide: their own request.
    snap_sizes("approval_detail_own_request", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        select_approval(&mut app, "apr-014");
        app.handle_key(key(KeyCode::Enter));
        app
    });
}

#[test]
fn audit() {
    snap_sizes("audit", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "3");
        app
    });
}

#[test]
fn audit_filtered_and_detail() {
    snap_sizes("audit_filtered", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "3/dlp");
        app.handle_key(key(KeyCode::Enter));
        app
    });
    snap_sizes("audit_detail", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "3");
        app.handle_key(key(KeyCode::Enter));
        app
    });
    // A runtime event: the platform's actor, reported by the ingest user, recorded after it happened.
    snap_sizes("audit_detail_reported", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "3/dlp");
        app.handle_key(key(KeyCode::Enter));
        app.handle_key(key(KeyCode::Enter));
        app
    });
}

#[test]
fn kpis_in_the_light_theme() {
    snap_sizes("kpis", || {
        let mut app = console_with(fixture_data(fixture_now()), "light", false);
        press(&mut app, "4");
        app
    });
}

#[test]
fn renewals_as_an_owner_in_the_ansi16_theme() {
    snap_sizes("renewals", || {
        let mut app = console_with(fixture_data_for(olive(), fixture_now()), "ansi16", false);
        press(&mut app, "5");
        app
    });
}

#[test]
fn renewals_as_a_lead() {
    snap_sizes("renewals_lead", || {
        let mut app = console_with(fixture_data_for(pat(), fixture_now()), "dark", false);
        press(&mut app, "5");
        app
    });
}

#[test]
fn help_overlay() {
    snap_sizes("help", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2?");
        app
    });
}

#[test]
fn comment_box() {
    snap_sizes("comment_box", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        select_approval(&mut app, "apr-011");
        press(&mut app, "r");
        app.handle_key(key(KeyCode::Enter));
        assert_eq!(app.overlay_name(), Some("comment"));
        app
    });
}

#[test]
fn confirm_dialog() {
    snap_sizes("confirm", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        select_approval(&mut app, "apr-004");
        press(&mut app, "a");
        app
    });
    snap_sizes("confirm_bulk", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2");
        select_approval(&mut app, "apr-011");
        press(&mut app, " ");
        select_approval(&mut app, "apr-013");
        press(&mut app, " A");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}

#[test]
fn command_line() {
    let mut app = console_with(fixture_data(fixture_now()), "dark", false);
    press(&mut app, ":theme ans");
    snap("command_line", &app, 80, 24);
}

#[test]
fn too_small() {
    let app = console_with(fixture_data(fixture_now()), "dark", false);
    snap("too_small", &app, 79, 24);
    snap("too_small", &app, 40, 10);
}

#[test]
fn offline_with_queued_actions_and_no_colour() {
    let mut data = fixture_data(fixture_now());
    data.outbox.push(govdeck::app::QueuedAction {
        id: 1,
        kind: govdeck::app::QueuedKind::Approve,
        target_id: "apr-011".into(),
        status: govdeck::app::QueuedStatus::Queued,
        queued_at: fixture_now(),
    });
    data.outbox.push(govdeck::app::QueuedAction {
        id: 2,
        kind: govdeck::app::QueuedKind::Reject,
        target_id: "apr-013".into(),
        status: govdeck::app::QueuedStatus::Failed("the request changed since revision 112 (now 113)".into()),
        queued_at: fixture_now(),
    });
    let mut app = App::new(data, settings("dark", true), fixture_now());
    app.handle_event(govdeck::app::Event::Sync(SyncStatus {
        online: false,
        syncing: false,
        last_sync: Some(fixture_now() - chrono::Duration::minutes(42)),
        error: None,
        tls_refused: false,
    }));
    press(&mut app, "2");
    for (width, height) in SIZES {
        snap("approvals_offline_no_color", &app, width, height);
        let terminal = draw(&app, width, height);
        for cell in terminal.backend().buffer().content() {
            assert!(matches!(cell.fg, Color::Reset), "NO_COLOR: {cell:?}");
            assert!(matches!(cell.bg, Color::Reset), "NO_COLOR: {cell:?}");
        }
    }
}

/// Where `text` starts in `buffer`, as (x, y).
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    for y in 0..area.height {
        let row: String = (0..area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
        if let Some(byte) = row.find(text) {
            let x = row[..byte].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

#[test]
fn risk_tiers_are_drawn_in_their_theme_styles() {
    for theme_name in ["dark", "light", "ansi16"] {
        let app = console_with(fixture_data(fixture_now()), theme_name, false);
        let theme: &Theme = app.theme();
        let terminal = draw(&app, 120, 40);
        let buffer = terminal.backend().buffer();
        // expense-bot is high risk (80), badge-printer low (10).
        for (name, tier) in [("expense-bot", Tier::High), ("badge-printer", Tier::Low)] {
            let (_, y) = find(buffer, name).unwrap_or_else(|| panic!("{name} not drawn"));
            let (x, _) = find(buffer, "Risk").expect("risk header");
            let cell = &buffer[(x, y)];
            assert_eq!(Some(cell.fg), theme.risk(tier).fg, "{theme_name}: {name}'s tier cell {cell:?}");
        }
    }
}

#[test]
fn the_selected_row_and_the_active_tab_use_their_styles() {
    let app = console_with(fixture_data(fixture_now()), "dark", false);
    let theme = app.theme().clone();
    let terminal = draw(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    let (x, y) = find(buffer, "▶").expect("cursor marker");
    assert_eq!(buffer[(x + 2, y)].bg, theme.selected.bg.unwrap());
    let (x, y) = find(buffer, "1 Inventory").expect("tab");
    assert_eq!(buffer[(x, y)].bg, theme.tab_active.bg.unwrap());
    let (x, y) = find(buffer, "2 Approvals").expect("tab");
    assert_eq!(Some(buffer[(x, y)].fg), theme.tab_inactive.fg);
}

#[test]
fn fuzzy_matches_are_highlighted() {
    let mut app = console_with(fixture_data(fixture_now()), "dark", false);
    press(&mut app, "/qb");
    let theme = app.theme().clone();
    let terminal = draw(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    let (x, y) = find(buffer, "quote-builder").expect("quote-builder listed");
    assert_eq!(buffer[(x, y)].fg, theme.matched.fg.unwrap(), "q is matched");
    assert_eq!(buffer[(x + 1, y)].fg, theme.text.fg.unwrap(), "u is not");
    assert_eq!(buffer[(x + 6, y)].fg, theme.matched.fg.unwrap(), "b is matched");
}
