//! Snapshots of the screens each role sees around approvals and renewals,
//! drawn with ratatui's `TestBackend` from the fixture data and a fixed
//! clock, at 80x24 and 120x40, stored in the top-level `snapshots/`: an
//! owner's Approvals (without colour, as over SSH), an auditor's and a lead's Approvals, an
//! auditor's Renewals, and
//! the confirm dialogs before a renewal that files a re-approval request or
//! shortens the time left.

mod console_support;

use console_support::*;
use govdeck::app::fixtures::{audrey, fixture_data_for, fixture_now, olive, pat};

#[test]
fn approvals_as_an_owner_without_colour() {
    snap_sizes("approvals_owner_no_color", || {
        let mut app = console_with(fixture_data_for(olive(), fixture_now()), "dark", true);
        press(&mut app, "2");
        app
    });
}

#[test]
fn approvals_as_an_auditor_offer_no_decision() {
    snap_sizes("approvals_auditor", || {
        let mut app = console_with(fixture_data_for(audrey(), fixture_now()), "dark", false);
        press(&mut app, "2");
        app
    });
}

#[test]
fn renewals_as_an_auditor_list_every_app_and_offer_no_renewal() {
    snap_sizes("renewals_auditor", || {
        let mut app = console_with(fixture_data_for(audrey(), fixture_now()), "dark", false);
        press(&mut app, "5");
        app
    });
}

#[test]
fn approvals_as_a_lead_on_a_high_risk_request() {
    snap_sizes("approvals_lead", || {
        let mut app = console_with(fixture_data_for(pat(), fixture_now()), "dark", false);
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
        let mut app = console_with(data, "dark", false);
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
        let mut app = console_with(fixture_data_for(pat(), fixture_now()), "dark", false);
        select(&mut app, "app-25");
        press(&mut app, "n");
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}
