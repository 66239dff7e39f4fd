//! Key sequences of withdrawal (`w` in Approvals), `:request-access` and
//! `:transfer` (on the app selected in the Inventory), and the
//! `flag=owner_revoked` facet: what each opens, sends or refuses, and why.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::Effect;
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, olive, pat};

/// The screen's text at 120x40 as one line: borders dropped and runs of
/// spaces made one, so a sentence the dialog wraps reads whole.
fn text(app: &govdeck::app::App) -> String {
    let screen = screen(app, 120, 40);
    let words: Vec<&str> =
        screen.lines().flat_map(|line| line.split(['│', '"'])).flat_map(str::split_whitespace).collect();
    words.join(" ")
}

#[test]
fn w_confirms_then_withdraws_the_owners_own_request_with_the_reason_typed() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    press(&mut app, "2");
    select_approval(&mut app, "apr-010");
    press(&mut app, "w");
    assert_eq!(app.overlay_name(), Some("confirm"));
    let shown = text(&app);
    assert!(shown.contains("withdrawing its intake request decommissions it"), "{shown}");
    chars(&mut app, "filed twice");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(effects, [Effect::Withdraw { approval_id: "apr-010".into(), reason: "filed twice".into() }]);
    assert!(toast_text(&app).contains("withdrawing request apr-010"), "{}", toast_text(&app));
    // Sent once: the request waits on its answer, so `w` again is refused.
    press(&mut app, "w");
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("already waiting"), "{}", toast_text(&app));
}

#[test]
fn esc_cancels_a_withdrawal_and_sends_nothing() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    press(&mut app, "2");
    select_approval(&mut app, "apr-006");
    press(&mut app, "w");
    let shown = text(&app);
    assert!(shown.contains("stays as it is, without production access"), "{shown}");
    let effects = app.handle_key(key(KeyCode::Esc));
    assert!(effects.is_empty());
    assert_eq!(toast_text(&app), "cancelled: nothing was sent");
}

#[test]
fn a_reviewer_may_not_withdraw_someone_elses_request_and_is_told_why() {
    let mut app = console(fixture_data(fixture_now()));
    press(&mut app, "2");
    select_approval(&mut app, "apr-010");
    press(&mut app, "w");
    assert_eq!(app.overlay_name(), None);
    assert_eq!(toast_text(&app), "cannot withdraw: only the requester or the app's owner may withdraw a request");
}

#[test]
fn request_access_confirms_with_the_review_then_sends() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-06");
    let effects = command(&mut app, "request-access eu-prod EU customers from January");
    assert!(effects.is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
    let shown = text(&app);
    assert!(shown.contains("Ask for eu-prod access for deal-desk-notes"), "{shown}");
    assert!(shown.contains("one reviewer or lead must approve"), "{shown}");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::RequestAccess {
            app_id: "app-06".into(),
            environment: "eu-prod".into(),
            reason: "EU customers from January".into(),
        }]
    );
}

#[test]
fn request_access_is_refused_with_the_reason_before_any_dialog() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    // A pending request for production exists (apr-013): it is named.
    select(&mut app, "app-02");
    command(&mut app, "request-access production again");
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("request apr-013 for production access"), "{}", toast_text(&app));
    // An app that is not live.
    select(&mut app, "app-07");
    command(&mut app, "request-access production go");
    assert!(toast_text(&app).contains("the app is pending"), "{}", toast_text(&app));
    // No reason; a bad name; another pane.
    select(&mut app, "app-06");
    command(&mut app, "request-access production");
    assert!(toast_text(&app).contains("needs an environment and a reason"), "{}", toast_text(&app));
    command(&mut app, "request-access Prod! go");
    assert!(toast_text(&app).contains("not a valid name"), "{}", toast_text(&app));
    press(&mut app, "2");
    command(&mut app, "request-access eu go");
    assert!(toast_text(&app).contains("applies to the Inventory pane"), "{}", toast_text(&app));
    // A reviewer does not own it.
    let mut riley = console(fixture_data(fixture_now()));
    select(&mut riley, "app-06");
    command(&mut riley, "request-access eu go");
    assert!(toast_text(&riley).contains("only the app's owner or a lead"), "{}", toast_text(&riley));
}

#[test]
fn a_lead_transfers_after_a_confirmation_and_an_owner_is_refused() {
    let mut app = console(fixture_data_for(pat(), fixture_now()));
    select(&mut app, "app-02");
    command(&mut app, "transfer omar olive moved to finance");
    assert_eq!(app.overlay_name(), Some("confirm"));
    let shown = text(&app);
    assert!(shown.contains("Move crm-sync from olive to omar"), "{shown}");
    let effects = app.handle_key(key(KeyCode::Char('y')));
    assert_eq!(
        effects,
        [Effect::Transfer { app_id: "app-02".into(), to: "omar".into(), reason: "olive moved to finance".into() }]
    );

    select(&mut app, "app-02");
    command(&mut app, "transfer olive same");
    assert!(toast_text(&app).contains("\"olive\" already owns this app"), "{}", toast_text(&app));
    select(&mut app, "app-08");
    command(&mut app, "transfer omar archive");
    assert!(toast_text(&app).contains("decommissioned; that is final"), "{}", toast_text(&app));
    command(&mut app, "transfer omar");
    assert!(toast_text(&app).contains("needs the new owner and a reason"), "{}", toast_text(&app));

    let mut olive_app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut olive_app, "app-02");
    command(&mut olive_app, "transfer omar mine to give");
    assert_eq!(olive_app.overlay_name(), None);
    assert_eq!(toast_text(&olive_app), "cannot transfer: transferring an app needs the lead or admin role");
}

#[test]
fn the_owner_revoked_facet_lists_only_flagged_apps() {
    let mut data = fixture_data_for(pat(), fixture_now());
    for app in data.apps.iter_mut().filter(|a| a.id == "app-09" || a.id == "app-11") {
        app.owner_revoked = true;
    }
    let mut app = console(data);
    command(&mut app, "filter flag=owner_revoked");
    assert_eq!(app.inventory().row_count(), 2);
    assert_eq!(toast_text(&app), "flag=owner_revoked: 2 apps");
    command(&mut app, "filter flag=other");
    assert!(toast_text(&app).contains("unknown flag \"other\""), "{}", toast_text(&app));
}
