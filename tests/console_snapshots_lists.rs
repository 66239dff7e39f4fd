//! Snapshots of the lists' `/` filter, drawn with ratatui's `TestBackend`
//! from the fixture data and a fixed clock, at 80x24 and 120x40: the
//! approval queue and the renewals while a query is typed (the filter line
//! with its cursor, the best match selected on the first row, the matched
//! letters of the app's name highlighted) and once it is kept.

mod console_support;

use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, pat};

#[test]
fn approvals_filter_typed() {
    snap_sizes("approvals_filter_typed", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
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
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "2/renewal");
        app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        app
    });
}

#[test]
fn renewals_filter_typed() {
    snap_sizes("renewals_filter_typed", || {
        let mut app = console_with(fixture_data_for(pat(), fixture_now()), "dark", false);
        press(&mut app, "5");
        app.handle_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        press(&mut app, "/sales");
        app
    });
}

#[test]
fn renewals_filter_no_match() {
    snap_sizes("renewals_filter_no_match", || {
        let mut app = console_with(fixture_data_for(pat(), fixture_now()), "dark", false);
        press(&mut app, "5/zzzq");
        app
    });
}
