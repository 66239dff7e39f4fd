//! Key-sequence tests: keys go through the keymap into `update`, and the
//! tests assert the state and the effects sent to the runtime — approve,
//! reject (with and without a reason), renew, bulk approve, refusals, the
//! outbox while offline, filters, the command line and the help overlay.

mod console_support;

use chrono::Duration;
use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, olive, pat};
use govdeck::app::{
    App, ConsoleData, Effect, Event, PaneId, QueuedAction, QueuedKind, QueuedStatus, SyncStatus, UiSettings,
};
use govdeck::domain::{AuditEvent, DecisionKind, NewAuditEvent};
use govdeck::widgets::comment::REASON_REQUIRED;
use govdeck::widgets::toast::ToastLevel;

fn select_renewal(app: &mut App, id: &str) {
    app.handle_key(key(KeyCode::Home));
    for _ in 0..60 {
        if app.renewals().selected_id(app.context()) == Some(id) {
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("app {id} is not listed for renewal");
}

fn rev_of(app: &App, id: &str) -> u64 {
    app.data().approvals.iter().find(|a| a.id == id).unwrap().rev
}

#[test]
fn approve_asks_for_confirmation_then_sends_the_decision_on_the_revision_seen() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    assert_eq!(app.active_pane(), PaneId::Approvals);
    select_approval(&mut app, "apr-011");
    assert!(chars(&mut app, "a").is_empty(), "nothing is sent before the confirm");
    assert_eq!(app.overlay_name(), Some("confirm"));
    assert!(screen(&app, 80, 24).contains("Approve request"));
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Decide {
            approval_id: "apr-011".into(),
            decision: DecisionKind::Approve,
            comment: String::new(),
            rev: rev_of(&app, "apr-011"),
        }]
    );
    assert_eq!(app.overlay_name(), None);
    // Until the outbox shows it, the row says it is being sent.
    assert!(screen(&app, 80, 24).contains("sending"));
}

#[test]
fn approve_with_an_optional_comment() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-004");
    chars(&mut app, "a");
    chars(&mut app, "controls ok");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Decide {
            approval_id: "apr-004".into(),
            decision: DecisionKind::Approve,
            comment: "controls ok".into(),
            rev: 103,
        }]
    );
}

#[test]
fn cancelling_the_confirm_sends_nothing() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, "a");
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn reject_needs_a_reason() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, "r");
    assert_eq!(app.overlay_name(), Some("comment"));
    // Enter on an empty reason: nothing is sent, the box stays, the error shows.
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    chars(&mut app, "   ");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty(), "blank is not a reason");
    assert_eq!(app.overlay_name(), Some("comment"));
    assert!(screen(&app, 80, 24).contains(REASON_REQUIRED));
    // With a reason it goes.
    chars(&mut app, "no DLP on PII");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Decide {
            approval_id: "apr-011".into(),
            decision: DecisionKind::Reject,
            comment: "no DLP on PII".into(),
            rev: rev_of(&app, "apr-011"),
        }]
    );
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn a_multi_line_reason_keeps_its_lines() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, "rfirst");
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    chars(&mut app, "second");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert!(matches!(&effects[..], [Effect::Decide { comment, .. }] if comment == "first\nsecond"), "{effects:?}");
}

#[test]
fn self_approval_is_refused_with_the_reason_and_sends_nothing() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    // apr-014 was requested by riley, the user.
    select_approval(&mut app, "apr-014");
    assert!(chars(&mut app, "a").is_empty());
    assert_eq!(app.overlay_name(), None, "no dialog for a refused action");
    let toast = app.toast().expect("a toast says why");
    assert_eq!(toast.level, ToastLevel::Error);
    assert!(toast.text.contains("you requested this change yourself"), "{}", toast.text);
    assert!(chars(&mut app, "r").is_empty());
    assert!(toast_text(&app).contains("you requested this change yourself"));
    // The row shows it disabled, the footer says why.
    let text = screen(&app, 80, 24);
    assert!(text.contains("✗ own request"), "{text}");
    assert!(text.contains("✗ you requested this change yourself"), "{text}");
}

#[test]
fn own_app_wrong_role_and_lead_on_high_risk_are_refused() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-015");
    assert!(chars(&mut app, "a").is_empty());
    assert!(toast_text(&app).contains("you own this app"), "{}", toast_text(&app));

    let mut lead = console(fixture_data_for(pat(), fixture_now()));
    chars(&mut lead, "2");
    select_approval(&mut lead, "apr-001");
    assert!(chars(&mut lead, "a").is_empty());
    assert!(
        toast_text(&lead).contains("high-risk requests are decided by reviewers under the policy; you hold lead"),
        "{}",
        toast_text(&lead)
    );
    // A medium one the lead may decide.
    select_approval(&mut lead, "apr-011");
    chars(&mut lead, "a");
    assert_eq!(lead.overlay_name(), Some("confirm"));

    let mut owner = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut owner, "2");
    assert!(chars(&mut owner, "a").is_empty());
    assert!(toast_text(&owner).contains("reviewer or lead role"), "{}", toast_text(&owner));
}

#[test]
fn bulk_approve_sends_one_decision_per_selected_request() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, " ");
    select_approval(&mut app, "apr-013");
    chars(&mut app, " ");
    assert_eq!(app.approvals().selection.len(), 2);
    assert!(chars(&mut app, "A").is_empty(), "confirm first");
    assert_eq!(app.overlay_name(), Some("confirm"));
    assert!(screen(&app, 80, 24).contains("Approve 2 requests"));
    let effects = app.handle_key(key(KeyCode::Enter));
    let mut decided: Vec<(String, u64)> = effects
        .iter()
        .map(|e| match e {
            Effect::Decide { approval_id, decision: DecisionKind::Approve, rev, .. } => (approval_id.clone(), *rev),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    decided.sort();
    assert_eq!(decided, vec![("apr-011".into(), rev_of(&app, "apr-011")), ("apr-013".into(), rev_of(&app, "apr-013"))]);
    assert!(app.approvals().selection.is_empty());
}

#[test]
fn bulk_selection_takes_only_low_and_medium_requests_the_user_may_decide() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-001");
    chars(&mut app, " ");
    assert!(app.approvals().selection.is_empty(), "high risk is approved one by one");
    assert!(toast_text(&app).contains("high-risk"));
    select_approval(&mut app, "apr-014");
    chars(&mut app, " ");
    assert!(app.approvals().selection.is_empty(), "own request");
    assert!(chars(&mut app, "A").is_empty());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("select"));
    // space twice unselects.
    select_approval(&mut app, "apr-011");
    chars(&mut app, " ");
    select_approval(&mut app, "apr-011");
    chars(&mut app, " ");
    assert!(app.approvals().selection.is_empty());
}

#[test]
fn queued_while_offline_shows_queued_then_the_servers_answer() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_event(Event::Sync(SyncStatus {
        online: false,
        syncing: false,
        last_sync: None,
        error: None,
        tls_refused: false,
    }));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, "a");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(effects.len(), 1);
    // The runtime puts it in the outbox and sends a fresh snapshot.
    let mut data = fixture_data(fixture_now());
    data.outbox.push(QueuedAction {
        id: 7,
        kind: QueuedKind::Approve,
        target_id: "apr-011".into(),
        status: QueuedStatus::Queued,
        queued_at: fixture_now(),
    });
    app.handle_event(Event::Data(Box::new(data.clone())));
    let text = screen(&app, 80, 24);
    let row = text.lines().find(|l| l.contains("travel-planner")).expect("row shown");
    assert!(row.contains("queued"), "{row}");
    assert!(text.contains("offline") && text.contains("1 queued"), "{text}");
    // Acting again on a queued request is refused.
    assert!(chars(&mut app, "a").is_empty());
    assert!(toast_text(&app).contains("already waiting"));

    // The server later refuses it: the row and a toast show its message.
    data.outbox[0].status = QueuedStatus::Failed("already approved by rosa".into());
    app.handle_event(Event::Data(Box::new(data)));
    app.handle_event(Event::ActionResult {
        target_id: "apr-011".into(),
        outcome: Err("already approved by rosa".into()),
    });
    assert!(toast_text(&app).contains("travel-planner: already approved by rosa"));
    let text = screen(&app, 120, 40);
    let row = text.lines().find(|l| l.contains("travel-planner")).expect("row shown");
    assert!(row.contains("failed: already appro"), "{row}");
    assert!(text.contains("the server refused it: already approved by rosa"), "{text}");
}

#[test]
fn renew_is_one_key_and_the_result_is_a_toast() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "5");
    assert_eq!(app.active_pane(), PaneId::Renewals);
    select_renewal(&mut app, "app-01");
    let effects = chars(&mut app, "n");
    assert_eq!(effects, vec![Effect::Renew { app_id: "app-01".into(), days: None }]);
    assert!(screen(&app, 80, 24).contains("renewal sending"));
    assert!(chars(&mut app, "n").is_empty(), "not twice while it is in flight");
    app.handle_event(Event::ActionResult {
        target_id: "app-01".into(),
        outcome: Ok("renewed until 2027-11-23".into()),
    });
    assert_eq!(toast_text(&app), "quote-builder: renewed until 2027-11-23");
    assert!(screen(&app, 80, 24).contains("quote-builder: renewed until 2027-11-23"));

    // legacy-forecast (read-only) already has a re-approval request
    // waiting: the row says so and a second one is refused.
    select_renewal(&mut app, "app-04");
    assert!(chars(&mut app, "n").is_empty());
    assert!(toast_text(&app).contains("re-approval request apr-016 is already waiting"), "{}", toast_text(&app));
    let text = screen(&app, 80, 24);
    assert!(text.contains("re-approval requested"), "{text}");

    // Without one, the same key files a re-approval request, once confirmed.
    let mut data = fixture_data_for(olive(), fixture_now());
    data.approvals.retain(|a| a.app_id != "app-04");
    let mut app = console(data);
    chars(&mut app, "5");
    select_renewal(&mut app, "app-04");
    assert!(screen(&app, 80, 24).contains("n renew: files a re-approval request"));
    assert!(chars(&mut app, "n").is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
    assert_eq!(app.handle_key(key(KeyCode::Enter)), vec![Effect::Renew { app_id: "app-04".into(), days: None }]);
    assert!(toast_text(&app).contains("filing a re-approval request"));
    app.handle_event(Event::ActionResult {
        target_id: "app-04".into(),
        outcome: Ok("re-approval request filed".into()),
    });
    assert_eq!(toast_text(&app), "legacy-forecast: re-approval request filed");
}

#[test]
fn renewal_rights_follow_the_roles() {
    // A lead sees every app and renews any of them.
    let mut lead = console(fixture_data_for(pat(), fixture_now()));
    chars(&mut lead, "5");
    select_renewal(&mut lead, "app-18");
    assert_eq!(
        chars(&mut lead, "n"),
        vec![Effect::Renew { app_id: "app-18".into(), days: None }],
        "a lead renews any app"
    );

    // riley, a reviewer without lead, sees only the apps riley owns; without
    // the owner role the renewal is refused with the reason.
    let mut reviewer = console(fixture_data(fixture_now()));
    chars(&mut reviewer, "5");
    assert_eq!(reviewer.renewals().visible_ids(reviewer.context()), vec!["app-19"]);
    assert!(chars(&mut reviewer, "n").is_empty());
    assert!(toast_text(&reviewer).contains("only the app's owner or a lead may renew it"), "{}", toast_text(&reviewer));
    assert!(screen(&reviewer, 80, 24).contains("only the app's owner or a lead may renew it"));
}

#[test]
fn inventory_filter_facets_and_sort() {
    let mut app = console(fixture_data(fixture_now()));
    let all = app.inventory().visible_ids(app.context()).len();
    assert_eq!(all, 26);
    chars(&mut app, "/qb");
    let ids: Vec<String> = app.inventory().visible_ids(app.context()).iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.first().map(String::as_str), Some("app-01"), "quote-builder first: {ids:?}");
    // Typing keys are text while the filter is open, not actions.
    chars(&mut app, "q");
    assert!(!app.should_quit());
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.inventory().query(), "");
    assert_eq!(app.inventory().visible_ids(app.context()).len(), all);

    chars(&mut app, "t");
    let high = app.inventory().visible_ids(app.context()).len();
    assert!(high > 0 && high < all);
    assert!(app.data().apps.iter().filter(|a| a.risk.tier == govdeck::domain::Tier::High).count() == high);
    chars(&mut app, "m");
    assert!(app.inventory().visible_ids(app.context()).is_empty(), "riley owns no high-risk app");
    chars(&mut app, "x");
    assert_eq!(app.inventory().visible_ids(app.context()).len(), all);

    // s cycles the sort column, S reverses it.
    chars(&mut app, "ss");
    let by_owner = app.inventory().visible_ids(app.context());
    let first_owner = &app.context().app(by_owner[0]).unwrap().owner;
    assert_eq!(first_owner, "olive");
    chars(&mut app, "S");
    let reversed = app.inventory().visible_ids(app.context());
    assert_eq!(app.context().app(reversed[0]).unwrap().owner, "sam");

    // Enter opens the detail; esc closes it.
    chars(&mut app, "x");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.inventory().detail_app_id().is_some());
    assert!(screen(&app, 120, 40).contains("Compliance"));
    app.handle_key(key(KeyCode::Esc));
    assert!(app.inventory().detail_app_id().is_none());
}

#[test]
fn audit_follow_filter_and_verify() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "3");
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Down));
    let before = app.audit().selected_event(app.context()).unwrap().event_id.clone();
    assert_eq!(before, "ev-058");

    // Not following: a new event keeps the selection where it was.
    let mut data = fixture_data(fixture_now());
    let newest = data.audit[0].clone();
    let event = AuditEvent::seal(
        NewAuditEvent { actor_id: "omar".into(), action_type: "data.export".into(), ..NewAuditEvent::default() },
        "ingest-bot",
        "ev-061".into(),
        61,
        fixture_now() + Duration::minutes(1),
        &newest.hash,
    );
    data.audit.insert(0, event);
    app.handle_event(Event::Data(Box::new(data.clone())));
    assert_eq!(app.audit().selected_event(app.context()).unwrap().event_id, "ev-058");

    // Following: the selection sticks to the newest.
    chars(&mut app, "F");
    assert!(app.audit().follow);
    assert_eq!(app.audit().selected_event(app.context()).unwrap().event_id, "ev-061");
    data.audit.insert(
        0,
        AuditEvent::seal(
            NewAuditEvent { actor_id: "sam".into(), action_type: "auth.login".into(), ..NewAuditEvent::default() },
            "ingest-bot",
            "ev-062".into(),
            62,
            fixture_now() + Duration::minutes(2),
            &data.audit[0].hash,
        ),
    );
    app.handle_event(Event::Data(Box::new(data)));
    assert_eq!(app.audit().selected_event(app.context()).unwrap().event_id, "ev-062");

    // o cycles the outcome filter; / filters by field.
    chars(&mut app, "ooo");
    assert!(screen(&app, 80, 24).contains("outcome blocked"));
    chars(&mut app, "o/actor:priya");
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&app, 80, 24);
    assert!(text.contains("priya") && !text.contains("dlp-gateway"), "{text}");

    // v asks the runtime to verify and shows its answer.
    assert_eq!(chars(&mut app, "v"), vec![Effect::VerifyAudit]);
    assert!(screen(&app, 80, 24).contains("verifying"));
    app.handle_event(Event::Verified(Ok("audit chain ok: 62 events verified, head seq 62".into())));
    assert!(screen(&app, 80, 24).contains("audit chain ok: 62 events verified"));
    app.handle_event(Event::Verified(Err("audit chain BROKEN at seq 17".into())));
    assert!(screen(&app, 80, 24).contains("BROKEN at seq 17"));
}

#[test]
fn tabs_command_line_sync_and_quit() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.active_pane(), PaneId::Approvals);
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.active_pane(), PaneId::Renewals);

    chars(&mut app, ":audit");
    assert_eq!(app.overlay_name(), Some("command"));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_pane(), PaneId::Audit);

    // An inventory command typed in another pane says so and stays there.
    chars(&mut app, ":filter tier=high data=pii");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_pane(), PaneId::Audit);
    assert!(toast_text(&app).contains(":filter applies to the Inventory pane"), "{}", toast_text(&app));
    chars(&mut app, "1:filter tier=high data=pii");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_pane(), PaneId::Inventory);
    assert_eq!(app.inventory().visible_ids(app.context()).len(), 6);

    chars(&mut app, ":theme light");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.theme().name, "light");
    chars(&mut app, ":theme nope");
    app.handle_key(key(KeyCode::Enter));
    assert!(toast_text(&app).contains("unknown theme"));

    chars(&mut app, ":bogus");
    app.handle_key(key(KeyCode::Enter));
    assert!(toast_text(&app).contains("unknown command :bogus"));

    assert_eq!(app.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)), vec![Effect::SyncNow]);
    app.handle_key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL));
    assert!(app.take_redraw_request());
    assert!(!app.take_redraw_request());

    chars(&mut app, ":q");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), vec![Effect::Quit]);
    assert!(app.should_quit());

    let mut app = console(fixture_data(fixture_now()));
    assert_eq!(chars(&mut app, "q"), vec![Effect::Quit]);
}

#[test]
fn help_is_generated_from_the_active_keymap() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2?");
    assert_eq!(app.overlay_name(), Some("help"));
    let text = screen(&app, 120, 40);
    assert!(text.contains("Approve request") && text.contains("Reject request (reason required)"), "{text}");
    assert!(!text.contains("Move down") || !text.contains("j, down"), "the default keymap has no j");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.overlay_name(), None);

    let settings = UiSettings::load("dark", "vim", None, false);
    let mut vim = App::new(fixture_data(fixture_now()), settings, fixture_now());
    chars(&mut vim, "jj");
    assert_eq!(vim.inventory().selected_app(vim.context()).unwrap().name, "contract-redliner");
    chars(&mut vim, "G");
    assert_eq!(vim.inventory().selected_app(vim.context()).unwrap().name, "🚀 launch-checklist");
    chars(&mut vim, "?");
    let text = screen(&vim, 120, 40);
    assert!(text.contains("j, down") && text.contains("Move down"), "{text}");
    assert!(text.contains("vim keymap"));
}

#[test]
fn a_broken_user_keymap_shows_its_error_and_the_defaults_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
    std::fs::write(
        dir.path().join("keymaps/default.toml"),
        "[approvals]\nkeymap = [{ on = \"y\", run = \"aprove\" }]\n",
    )
    .unwrap();
    let settings = UiSettings::load("dark", "default", Some(dir.path()), false);
    let mut app = App::new(fixture_data(fixture_now()), settings, fixture_now());
    let toast = toast_text(&app);
    assert!(toast.contains("unknown action \"aprove\"") && toast.contains("line 2"), "{toast}");
    assert!(screen(&app, 120, 40).contains("unknown action"));
    chars(&mut app, "2");
    select_approval(&mut app, "apr-011");
    chars(&mut app, "a");
    assert_eq!(app.overlay_name(), Some("confirm"), "the default binding still works");
}

#[test]
fn toasts_age_out_and_relative_times_follow_the_clock() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_event(Event::Sync(SyncStatus {
        online: true,
        syncing: false,
        last_sync: Some(fixture_now() - Duration::seconds(5)),
        error: None,
        tls_refused: false,
    }));
    assert!(screen(&app, 80, 24).contains("synced just now"), "under a minute the text stays still");
    chars(&mut app, "2");
    select_approval(&mut app, "apr-014");
    chars(&mut app, "a");
    assert!(app.toast().is_some());
    app.set_now(fixture_now() + Duration::seconds(65));
    assert!(app.toast().is_none(), "an error toast lasts 30 s");
    assert!(screen(&app, 80, 24).contains("synced 1m ago"));
}

#[test]
fn a_quick_sync_is_not_flashed_and_a_slow_one_is_shown() {
    let mut app = console(fixture_data(fixture_now()));
    let status =
        |syncing| SyncStatus { online: true, syncing, last_sync: Some(fixture_now()), error: None, tls_refused: false };
    app.handle_event(Event::Sync(status(false)));
    let before = screen(&app, 80, 24);
    app.handle_event(Event::Sync(status(true)));
    assert_eq!(screen(&app, 80, 24), before, "not shown in its first second");
    app.handle_event(Event::Sync(status(false)));
    assert_eq!(screen(&app, 80, 24), before, "a quick sync leaves the screen as it was");

    app.handle_event(Event::Sync(status(true)));
    app.set_now(fixture_now() + Duration::seconds(2));
    assert!(screen(&app, 80, 24).contains("syncing…"), "a sync running for 2 s is shown");
    app.handle_event(Event::Sync(status(false)));
    assert!(!screen(&app, 80, 24).contains("syncing"));
}

#[test]
fn a_refused_certificate_shows_in_the_status_bar_and_once_as_a_toast() {
    let mut app = console(fixture_data(fixture_now()));
    let message = "TLS: the certificate of 127.0.0.1:8443 is not trusted (self-signed or issued by an unknown CA); \
                   pass --ca-file with the CA that issued it";
    let refused =
        SyncStatus { online: false, syncing: false, last_sync: None, error: Some(message.into()), tls_refused: true };
    app.handle_event(Event::Sync(refused.clone()));
    let screen_text = screen(&app, 120, 40);
    assert!(screen_text.contains("TLS refused"), "{screen_text}");
    assert!(!screen_text.contains("offline"), "{screen_text}");
    assert!(toast_text(&app).contains("is not trusted"), "{}", toast_text(&app));
    // The next failed sync with the same error does not toast again.
    app.set_now(fixture_now() + Duration::seconds(40));
    assert!(app.toast().is_none());
    app.handle_event(Event::Sync(refused));
    assert!(app.toast().is_none(), "the same refusal toasts once");
    assert!(screen(&app, 120, 40).contains("TLS refused"));
}

/// As the runtime sends it: summaries only, decided requests left out.
fn runtime_like(data: &ConsoleData) -> ConsoleData {
    let mut lean = data.clone();
    lean.full_apps.clear();
    lean.approvals.retain(|a| a.status == govdeck::domain::ApprovalStatus::Pending);
    lean
}

#[test]
fn a_detail_view_asks_the_runtime_for_its_app_once_and_again_after_new_data() {
    let full = fixture_data(fixture_now());
    let mut app = console(runtime_like(&full));
    let id = app.inventory().selected_app(app.context()).unwrap().id.to_string();
    let record = full.full_apps[id.as_str()].clone();

    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(effects, vec![Effect::LoadDetail { app_id: id.clone() }]);
    assert!(screen(&app, 80, 24).contains("loading…"));
    assert!(app.handle_key(key(KeyCode::Down)).is_empty(), "scrolling the open detail asks nothing more");

    let requests: Vec<_> = full.approvals.iter().filter(|a| a.app_id == id).cloned().collect();
    let decided = requests.iter().filter(|a| a.status != govdeck::domain::ApprovalStatus::Pending).count();
    app.handle_event(Event::Detail(Box::new(govdeck::app::AppDetail {
        app: record.clone(),
        requests,
        events: Vec::new(),
    })));
    let shown = screen(&app, 120, 40);
    assert!(!shown.contains("loading…"));
    assert!(shown.contains(&record.sponsor), "the manifest comes from the full record:\n{shown}");
    assert!(decided == 0 || shown.contains("approved") || shown.contains("rejected"));

    // New data may change the app: read it again, once.
    app.handle_event(Event::Data(Box::new(runtime_like(&full))));
    assert_eq!(app.detail_effects(), vec![Effect::LoadDetail { app_id: id.clone() }]);
    assert!(app.detail_effects().is_empty());

    // Closed, then opened again: asked again.
    app.handle_key(key(KeyCode::Esc));
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(effects, vec![Effect::LoadDetail { app_id: id }]);
}

#[test]
fn with_full_records_in_the_snapshot_nothing_is_asked() {
    let mut app = console(fixture_data(fixture_now()));
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(!screen(&app, 80, 24).contains("loading…"));
}

#[test]
fn kpis_arrive_after_their_snapshot_and_stay_until_the_next_ones() {
    let full = fixture_data(fixture_now());
    let kpis = full.kpis.clone().unwrap();
    let mut lean = full.clone();
    lean.kpis = None;
    let mut app = console(lean.clone());
    chars(&mut app, "4");
    assert!(screen(&app, 80, 24).contains("Computing the KPIs over 26 apps"));
    app.handle_event(Event::Kpis(Box::new(kpis.clone())));
    let shown = screen(&app, 80, 24);
    assert!(!shown.contains("Computing"), "{shown}");
    app.handle_event(Event::Data(Box::new(lean)));
    assert_eq!(app.data().kpis.as_ref(), Some(&kpis), "a new snapshot keeps the last KPIs until its own come");
    assert_eq!(screen(&app, 80, 24), shown);
}
