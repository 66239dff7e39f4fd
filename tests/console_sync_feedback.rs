//! Sync and queue feedback in the console (key-sequence tests on `App`):
//! a sync the user asked for says what came, queued actions sent are
//! counted with the first refusal, `:queue` lists and dismisses, a refused
//! token stays in the status bar until a sync succeeds, and while the
//! terminal is too small only quitting works.

mod console_support;

use chrono::Duration;
use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_now};
use govdeck::app::{
    ConsoleData, Effect, Event, PaneId, QueuedAction, QueuedKind, QueuedStatus, SyncStatus, SyncSummary,
};

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn status(error: Option<&str>, last_sync: Option<chrono::DateTime<chrono::Utc>>) -> SyncStatus {
    SyncStatus {
        online: error.is_none(),
        syncing: false,
        last_sync,
        error: error.map(String::from),
        tls_refused: false,
    }
}

fn with_outbox() -> ConsoleData {
    let mut data = fixture_data(fixture_now());
    data.outbox.push(QueuedAction {
        id: 4,
        kind: QueuedKind::Approve,
        target_id: "apr-011".into(),
        status: QueuedStatus::Queued,
        queued_at: fixture_now() - Duration::minutes(3),
    });
    data.outbox.push(QueuedAction {
        id: 5,
        kind: QueuedKind::Reject,
        target_id: "apr-013".into(),
        status: QueuedStatus::Failed("the request was withdrawn by its requester".into()),
        queued_at: fixture_now() - Duration::minutes(2),
    });
    data
}

#[test]
fn a_sync_asked_for_says_what_came_and_a_periodic_one_stays_quiet() {
    let mut app = console(fixture_data(fixture_now()));
    assert_eq!(app.handle_key(ctrl('r')), vec![Effect::SyncNow]);
    app.handle_event(Event::Synced(SyncSummary { changes: 3, events: 12, ..SyncSummary::default() }));
    assert_eq!(toast_text(&app), "synced: 3 changes, 12 events");

    command(&mut app, "sync");
    app.handle_event(Event::Synced(SyncSummary::default()));
    assert_eq!(toast_text(&app), "up to date");
    app.handle_event(Event::Synced(SyncSummary { changes: 1, events: 1, ..SyncSummary::default() }));
    assert_eq!(toast_text(&app), "up to date", "a periodic sync that sent nothing is not announced");

    app.handle_key(ctrl('r'));
    app.handle_event(Event::Synced(SyncSummary { changes: 1, events: 1, ..SyncSummary::default() }));
    assert_eq!(toast_text(&app), "synced: 1 change, 1 event");
}

#[test]
fn a_sync_asked_for_that_fails_as_the_last_one_did_says_so_again() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_event(Event::Sync(status(Some("cannot reach the server"), None)));
    app.set_now(fixture_now() + Duration::seconds(30));
    assert!(app.toast().is_none());
    app.handle_key(ctrl('r'));
    app.handle_event(Event::Sync(SyncStatus { syncing: true, ..status(Some("cannot reach the server"), None) }));
    app.handle_event(Event::Sync(status(Some("cannot reach the server"), None)));
    assert_eq!(toast_text(&app), "sync: cannot reach the server");
}

#[test]
fn queued_actions_sent_by_a_sync_are_counted_with_the_first_refusal() {
    let mut app = console(fixture_data(fixture_now()));
    let name = app.data().approvals.iter().find(|a| a.id == "apr-013").unwrap().app_name.clone();
    app.handle_event(Event::Synced(SyncSummary {
        changes: 4,
        events: 4,
        sent: 3,
        refused: vec![("apr-013".into(), "already decided by rosa".into())],
        still_queued: 0,
    }));
    assert_eq!(
        toast_text(&app),
        format!("synced: 4 changes, 4 events · sent 4 queued actions, 1 refused: {name}: already decided by rosa")
    );
}

#[test]
fn bulk_approve_offline_says_how_many_were_queued() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    for id in ["apr-011", "apr-013"] {
        app.handle_key(key(KeyCode::Home));
        while app.approvals().selected_id(app.context()) != Some(id) {
            app.handle_key(key(KeyCode::Down));
        }
        chars(&mut app, " ");
    }
    app.handle_key(KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT));
    assert_eq!(app.handle_key(key(KeyCode::Enter)).len(), 2);
    for id in ["apr-011", "apr-013"] {
        app.handle_event(Event::ActionQueued { target_id: id.into(), reason: "connection refused".into() });
    }
    assert_eq!(toast_text(&app), "0 approved, 2 queued (offline: sent when the server is back)");
}

#[test]
fn the_queue_lists_queued_and_refused_actions_and_dismisses_a_refused_one() {
    let mut app = console(with_outbox());
    command(&mut app, "queue");
    assert_eq!(app.overlay_name(), Some("queue"));
    let text = screen(&app, 120, 40);
    assert!(text.contains("1 waiting · 1 refused"), "{text}");
    assert!(text.contains("the server answered: the request was withdrawn by its requester"), "{text}");
    assert!(text.contains("queued 3m ago"), "{text}");

    // The queued one cannot be dismissed: it is still to be sent.
    assert!(chars(&mut app, "d").is_empty());
    assert!(toast_text(&app).contains("still waiting to be sent"), "{}", toast_text(&app));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(chars(&mut app, "d"), vec![Effect::Dismiss { action_id: 5 }]);
    assert!(toast_text(&app).starts_with("dismissed the refused reject of "), "{}", toast_text(&app));
    assert!(!screen(&app, 120, 40).contains("withdrawn by its requester"));
    assert!(!screen(&app, 120, 40).contains("1 failed"), "the status bar counts it no more");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn a_refused_token_stays_in_the_status_bar_until_a_sync_succeeds() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_event(Event::TokenRefused);
    app.handle_event(Event::Sync(status(Some("the server refused the token (401)"), None)));
    app.set_now(fixture_now() + Duration::minutes(5));
    assert!(app.toast().is_none(), "the toast has gone");
    let text = screen(&app, 80, 24);
    assert!(text.contains("✗ the server refused this token"), "{text}");
    assert!(!text.contains("never synced") && !text.contains("(no roles)"), "{text}");
    app.handle_event(Event::Sync(status(None, Some(fixture_now()))));
    app.handle_event(Event::Synced(SyncSummary::default()));
    assert!(!screen(&app, 80, 24).contains("refused this token"));
}

#[test]
fn while_the_terminal_is_too_small_only_quit_works() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    app.handle_key(key(KeyCode::Char('a')));
    assert_eq!(app.overlay_name(), Some("confirm"));
    app.resize(60, 20);
    chars(&mut app, "hello");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty(), "the hidden dialog takes nothing");
    assert!(app.handle_keys([key(KeyCode::Esc), key(KeyCode::Char('1'))]).is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
    assert_eq!(app.active_pane(), PaneId::Approvals);
    app.resize(80, 24);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.overlay_name(), None);
    app.resize(40, 10);
    assert_eq!(chars(&mut app, "q"), vec![Effect::Quit]);
}

#[test]
fn an_empty_inventory_behind_a_refused_token_says_why_it_is_empty() {
    let mut app = console(ConsoleData::empty(fixture_data(fixture_now()).me, "http://127.0.0.1:41234"));
    assert!(screen(&app, 80, 24).contains("no apps in the cache yet"));
    app.handle_event(Event::TokenRefused);
    let text = screen(&app, 80, 24);
    assert!(text.contains("nothing to show: the server refused this token"), "{text}");
    assert!(!text.contains("no apps in the cache yet"), "{text}");
}
