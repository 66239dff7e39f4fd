//! Snapshots of what the console says happened: the message log
//! (`:messages`), the queue view (`:queue`) and the status bar of a refused
//! or an expired token, at 80x24 and 120x40, from the fixture data and a fixed clock.
//! Stored in the top-level `snapshots/`.

mod console_support;

use chrono::Duration;
use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_now};
use govdeck::app::{App, Event, QueuedAction, QueuedKind, QueuedStatus, SyncStatus, UiSettings};

#[test]
fn message_log() {
    snap_sizes("messages", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        app.handle_event(Event::ActionResult {
            target_id: "apr-011".into(),
            outcome: Err("the server refused it: request apr-011 was decided by rosa at revision 7 before yours \
                          arrived; reload the queue and decide again if you still disagree"
                .into()),
        });
        app.set_now(fixture_now() + Duration::seconds(42));
        command(&mut app, "sort users desc");
        app.set_now(fixture_now() + Duration::seconds(75));
        command(&mut app, "theme nope");
        command(&mut app, "filter tier=high");
        command(&mut app, "messages");
        app
    });
}

#[test]
fn queue_view() {
    snap_sizes("queue", || {
        let mut data = fixture_data(fixture_now());
        let queued = |id, kind, target: &str, status, minutes| QueuedAction {
            id,
            kind,
            target_id: target.into(),
            status,
            queued_at: fixture_now() - Duration::minutes(minutes),
        };
        data.outbox.push(queued(4, QueuedKind::Approve, "apr-011", QueuedStatus::Queued, 12));
        data.outbox.push(queued(
            5,
            QueuedKind::Reject,
            "apr-013",
            QueuedStatus::Failed("the request was withdrawn by its requester before your decision arrived".into()),
            9,
        ));
        data.outbox.push(queued(6, QueuedKind::Renew, "app-01", QueuedStatus::Queued, 2));
        let mut app = console_with(data, "dark", false);
        app.handle_event(Event::Sync(SyncStatus {
            online: false,
            syncing: false,
            last_sync: Some(fixture_now() - Duration::minutes(14)),
            error: Some("cannot reach the server".into()),
            tls_refused: false,
        }));
        app.set_now(fixture_now() + Duration::seconds(30));
        command(&mut app, "queue");
        app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        app
    });
}

#[test]
fn token_refused_status_bar() {
    snap_sizes("token_refused", || {
        let mut data = fixture_data(fixture_now());
        data.me = govdeck::domain::api::Me { user: "(not synced yet)".into(), roles: Vec::new() };
        data.apps.clear();
        data.full_apps.clear();
        data.approvals.clear();
        let mut app = App::new(data, UiSettings::load("dark", "default", None, false), fixture_now());
        app.handle_event(Event::TokenRefused);
        app.handle_event(Event::Sync(SyncStatus {
            online: false,
            syncing: false,
            last_sync: None,
            error: Some("the server refused the token: unauthorized (401)".into()),
            tls_refused: false,
        }));
        app.set_now(fixture_now() + Duration::seconds(30));
        app
    });
}

#[test]
fn token_expired_status_bar() {
    snap_sizes("token_expired", || {
        let mut data = fixture_data(fixture_now());
        data.me = govdeck::domain::api::Me { user: "(not synced yet)".into(), roles: Vec::new() };
        data.apps.clear();
        data.full_apps.clear();
        data.approvals.clear();
        let mut app = App::new(data, UiSettings::load("dark", "default", None, false), fixture_now());
        app.handle_event(Event::TokenExpired(
            "this token expired at 2026-11-23T08:00:00Z; ask an admin for a new one (`govdeck users rotate riley`)"
                .into(),
        ));
        app.handle_event(Event::Sync(SyncStatus {
            online: true,
            syncing: false,
            last_sync: None,
            error: Some("this token expired at 2026-11-23T08:00:00Z (HTTP 401, token_expired)".into()),
            tls_refused: false,
        }));
        app.set_now(fixture_now() + Duration::seconds(30));
        app
    });
}
