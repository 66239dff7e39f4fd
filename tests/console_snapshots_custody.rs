//! Snapshots of the confirmations of withdrawal (an owner's intake request:
//! the app is decommissioned), `:request-access` and `:transfer`, at 80x24
//! and 120x40, from the fixture data and a fixed clock, in `snapshots/`.

mod console_support;

use console_support::*;
use govdeck::app::fixtures::{fixture_data_for, fixture_now, olive, pat};

#[test]
fn withdrawing_an_intake_request_is_confirmed_with_what_becomes_of_the_app() {
    snap_sizes("withdraw_confirm_intake", || {
        let mut app = console(fixture_data_for(olive(), fixture_now()));
        press(&mut app, "2");
        select_approval(&mut app, "apr-010");
        press(&mut app, "w");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}

#[test]
fn a_production_access_request_is_confirmed_with_its_review() {
    snap_sizes("request_access_confirm", || {
        let mut app = console(fixture_data_for(olive(), fixture_now()));
        select(&mut app, "app-06");
        command(&mut app, "request-access eu-prod EU customers from January");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}

#[test]
fn a_transfer_is_confirmed_with_what_both_owners_see() {
    snap_sizes("transfer_confirm", || {
        let mut app = console(fixture_data_for(pat(), fixture_now()));
        select(&mut app, "app-02");
        command(&mut app, "transfer omar olive moved to finance");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}
