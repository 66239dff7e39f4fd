//! Quarantine now (`Q`), retirement (`R`) and `:release` in the console, as
//! key sequences: who is offered what and why not, the reason box, the exit
//! checklist one question at a time, the confirmations (snapshots at 80x24
//! and 120x40), and what Renewals and the app detail say of a held app.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, olive, pat, riley};
use govdeck::app::{AppDetail, ConsoleData, Effect, Event, PaneId};
use govdeck::domain::hold::{self, DataDisposition, ExitChecklist};
use govdeck::domain::{Actor, Role};

/// The fixture with crm-sync (app-02, olive's, active) held by riley.
fn held(mut data: ConsoleData) -> ConsoleData {
    let mut apps = data.full_apps_in_order();
    let app = apps.iter_mut().find(|a| a.id == "app-02").expect("crm-sync");
    let riley = Actor::new("riley", [Role::Reviewer]);
    *app = hold::quarantine(app, &riley, "API key pasted in a public channel", fixture_now()).unwrap();
    data.set_full_apps(apps);
    data
}

fn overlay(app: &govdeck::app::App) -> Option<&'static str> {
    app.overlay_name()
}

#[test]
fn q_asks_a_reason_then_confirms_and_sends_the_quarantine() {
    let mut app = console(fixture_data(fixture_now()));
    select(&mut app, "app-02");
    assert!(chars(&mut app, "Q").is_empty());
    assert_eq!(overlay(&app), Some("quarantine"));
    // Enter on an empty reason does not go on.
    app.handle_key(key(KeyCode::Enter));
    assert!(screen(&app, 80, 24).contains("a reason is required"));
    chars(&mut app, "token leaked");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty(), "the confirmation comes first");
    assert!(screen(&app, 120, 40).contains("it stops at once; only a reviewer can release it"));
    let effects = chars(&mut app, "y");
    assert_eq!(effects, vec![Effect::Quarantine { app_id: "app-02".into(), reason: "token leaked".into() }]);
    assert_eq!(overlay(&app), None);
    assert!(toast_text(&app).contains("quarantining crm-sync"), "{}", toast_text(&app));

    // Esc at the confirmation sends nothing.
    let mut app = console(fixture_data(fixture_now()));
    select(&mut app, "app-02");
    chars(&mut app, "Qleak");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn q_says_why_not_to_an_owner_on_a_non_live_app_and_on_a_held_one() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-02");
    assert!(chars(&mut app, "Q").is_empty());
    assert_eq!(overlay(&app), None);
    assert!(toast_text(&app).contains("needs the reviewer or lead role"), "{}", toast_text(&app));

    let mut app = console(fixture_data_for(pat(), fixture_now()));
    select(&mut app, "app-04");
    chars(&mut app, "Q");
    assert!(toast_text(&app).contains("only a live (active or expiring) app"), "{}", toast_text(&app));

    let mut app = console(held(fixture_data_for(pat(), fixture_now())));
    select(&mut app, "app-02");
    chars(&mut app, "Q");
    assert!(toast_text(&app).contains("already held by riley"), "{}", toast_text(&app));
}

#[test]
fn r_walks_the_exit_checklist_and_sends_the_answers() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-02");
    chars(&mut app, "R");
    assert_eq!(overlay(&app), Some("retire"));
    chars(&mut app, "moved to the platform");
    app.handle_key(key(KeyCode::Enter));
    assert!(screen(&app, 80, 24).contains("Exit checklist 1/3"));
    chars(&mut app, "y");
    assert!(screen(&app, 120, 40).contains("Its retention is 365 days"), "{}", screen(&app, 120, 40));
    chars(&mut app, "a");
    chars(&mut app, "y");
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("it becomes decommissioned, which is final"), "{shown}");
    let effects = app.handle_key(key(KeyCode::Enter));
    let checklist =
        ExitChecklist { credentials_revoked: true, data: DataDisposition::Archived, dependents_notified: true };
    assert_eq!(
        effects,
        vec![Effect::Retire { app_id: "app-02".into(), reason: "moved to the platform".into(), checklist }]
    );
}

#[test]
fn r_reads_the_retention_days_when_the_snapshot_has_only_summaries() {
    let full = fixture_data_for(olive(), fixture_now());
    let record = full.full_apps.get("app-02").cloned().expect("crm-sync");
    let mut summaries = full.clone();
    summaries.full_apps.clear();
    let mut app = console(summaries);
    select(&mut app, "app-02");
    assert_eq!(chars(&mut app, "R"), vec![Effect::LoadDetail { app_id: "app-02".into() }]);
    chars(&mut app, "done");
    app.handle_key(key(KeyCode::Enter));
    chars(&mut app, "y");
    assert!(screen(&app, 120, 40).contains("reading its record"), "{}", screen(&app, 120, 40));
    app.handle_event(Event::Detail(Box::new(AppDetail { app: record, requests: Vec::new(), events: Vec::new() })));
    assert!(screen(&app, 120, 40).contains("Its retention is 365 days"), "{}", screen(&app, 120, 40));
}

#[test]
fn r_stops_at_a_no_on_the_checklist_and_says_why_not_to_a_reviewer() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-02");
    chars(&mut app, "Rdone");
    app.handle_key(key(KeyCode::Enter));
    assert!(chars(&mut app, "n").is_empty());
    assert_eq!(overlay(&app), None);
    assert!(toast_text(&app).contains("revoke the credentials"), "{}", toast_text(&app));

    let mut app = console(fixture_data(fixture_now()));
    select(&mut app, "app-02");
    chars(&mut app, "R");
    assert_eq!(overlay(&app), None);
    assert!(toast_text(&app).contains("only the app's owner or a lead may retire it"), "{}", toast_text(&app));

    // Decommissioned is final.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-08");
    chars(&mut app, "R");
    assert!(toast_text(&app).contains("decommissioned; that is final"), "{}", toast_text(&app));
}

#[test]
fn release_lifts_a_hold_for_a_reviewer_only() {
    let mut app = console(held(fixture_data(fixture_now())));
    select(&mut app, "app-02");
    let effects = command(&mut app, "release key rotated");
    assert_eq!(effects, vec![Effect::Release { app_id: "app-02".into(), reason: "key rotated".into() }]);

    let mut app = console(held(fixture_data(fixture_now())));
    select(&mut app, "app-02");
    assert!(command(&mut app, "release").is_empty());
    assert!(toast_text(&app).contains("a reason is required"), "{}", toast_text(&app));

    let mut app = console(held(fixture_data_for(pat(), fixture_now())));
    select(&mut app, "app-02");
    assert!(command(&mut app, "release fixed").is_empty());
    assert!(toast_text(&app).contains("only a reviewer releases"), "{}", toast_text(&app));

    let mut app = console(fixture_data_for(riley(), fixture_now()));
    select(&mut app, "app-03");
    assert!(command(&mut app, "release fixed").is_empty());
    assert!(toast_text(&app).contains("not held"), "a TTL quarantine is no hold: {}", toast_text(&app));
}

#[test]
fn renewals_and_the_detail_say_who_holds_an_app_and_a_renewal_says_it_does_not_lift_it() {
    let mut app = console(held(fixture_data_for(olive(), fixture_now())));
    chars(&mut app, "5");
    assert_eq!(app.active_pane(), PaneId::Renewals);
    select(&mut app, "app-02");
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("held by riley"), "{shown}");
    assert!(shown.contains("API key pasted in a public channel"), "{shown}");
    assert!(chars(&mut app, "n").is_empty());
    let toast = toast_text(&app);
    assert!(toast.contains("held in quarantine by riley") && toast.contains("a reviewer must release it"), "{toast}");

    let mut app = console(held(fixture_data_for(olive(), fixture_now())));
    select(&mut app, "app-02");
    app.handle_key(key(KeyCode::Enter));
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("Held") && shown.contains("only a reviewer can release it"), "{shown}");
}

#[test]
fn snapshots_of_the_confirmations_and_of_a_held_app_in_renewals() {
    snap_sizes("hold_quarantine_confirm", || {
        let mut app = console(fixture_data(fixture_now()));
        select(&mut app, "app-02");
        chars(&mut app, "Qtoken leaked in a public channel");
        app.handle_key(key(KeyCode::Enter));
        app
    });
    snap_sizes("hold_retire_data_question", || {
        let mut app = console(fixture_data_for(olive(), fixture_now()));
        select(&mut app, "app-02");
        chars(&mut app, "Rmoved to the platform");
        app.handle_key(key(KeyCode::Enter));
        chars(&mut app, "y");
        app
    });
    snap_sizes("hold_retire_confirm", || {
        let mut app = console(fixture_data_for(olive(), fixture_now()));
        select(&mut app, "app-02");
        chars(&mut app, "Rmoved to the platform");
        app.handle_key(key(KeyCode::Enter));
        chars(&mut app, "ydy");
        app
    });
    snap_sizes("hold_renewals_held_app", || {
        let mut app = console(held(fixture_data_for(olive(), fixture_now())));
        chars(&mut app, "5");
        select(&mut app, "app-02");
        app
    });
}
