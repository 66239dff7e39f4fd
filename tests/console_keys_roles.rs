//! Key-sequence tests for approvals and renewals as each role meets them:
//! `n` in every pane that shows an app (and why not), the confirm before a
//! renewal that files a request or shortens the time left, the cursor after
//! a renewal and after a decision from a request's detail, the queue's
//! order, an owner's Approvals, the words of the lead rule, and one rounding
//! rule for days left.

mod console_support;

use chrono::Duration;
use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, olive, pat};
use govdeck::app::{ConsoleData, Effect, Event, PaneId};
use govdeck::domain::{App as CatalogApp, ApprovalStatus, DecisionKind};

fn renew(app_id: &str) -> Vec<Effect> {
    vec![Effect::Renew { app_id: app_id.into(), days: None }]
}

/// The fixture with one app changed, as a new sync would bring it.
fn with_app(mut data: ConsoleData, id: &str, change: impl FnOnce(&mut CatalogApp)) -> ConsoleData {
    let mut apps = data.full_apps_in_order();
    change(apps.iter_mut().find(|a| a.id == id).expect("app in the fixture"));
    data.set_full_apps(apps);
    data
}

#[test]
fn n_renews_the_selected_app_in_the_inventory_list_and_in_the_app_detail() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    assert_eq!(app.active_pane(), PaneId::Inventory);
    assert!(screen(&app, 80, 24).contains("n renew"), "an owner is offered the key");
    select(&mut app, "app-02");
    assert_eq!(chars(&mut app, "n"), renew("app-02"), "crm-sync, from the list");

    select(&mut app, "app-06");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.inventory().detail_app_id(), Some("app-06"));
    assert_eq!(chars(&mut app, "n"), renew("app-06"), "deal-desk-notes, from its detail");

    // The renewals pane's detail renews the app it shows too.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "5");
    select(&mut app, "app-01");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(chars(&mut app, "n"), renew("app-01"));
}

#[test]
fn n_says_why_not_and_decommissioned_apps_can_be_found() {
    // Decommissioned: reached by the state facet `f` and by :filter.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "fffff");
    assert_eq!(app.inventory().visible_ids(app.context()), vec!["app-08"], "old-quote-archive");
    assert!(chars(&mut app, "n").is_empty());
    assert!(toast_text(&app).contains("decommissioned; that is final"), "{}", toast_text(&app));
    chars(&mut app, "x");
    chars(&mut app, ":filter state=decommissioned");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.inventory().visible_ids(app.context()), vec!["app-08"]);

    // A read-only app whose re-approval request is already waiting.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-04");
    assert!(chars(&mut app, "n").is_empty());
    assert!(toast_text(&app).contains("re-approval request apr-016 is already waiting"), "{}", toast_text(&app));

    // Not yours: a reviewer reads every app and renews none (and is not
    // offered the key).
    let mut app = console(fixture_data(fixture_now()));
    assert!(!screen(&app, 80, 24).contains("n renew"));
    select(&mut app, "app-09");
    assert!(chars(&mut app, "n").is_empty());
    assert!(toast_text(&app).contains("only the app's owner or a lead may renew it"), "{}", toast_text(&app));
}

#[test]
fn renewing_a_read_only_app_asks_first_and_says_it_files_a_request() {
    let mut data = fixture_data_for(olive(), fixture_now());
    data.approvals.retain(|a| a.app_id != "app-04");
    let mut app = console(data);
    chars(&mut app, "5");
    select(&mut app, "app-04");
    assert!(chars(&mut app, "n").is_empty(), "nothing is sent before the confirm");
    assert_eq!(app.overlay_name(), Some("confirm"));
    let text = screen(&app, 80, 24);
    assert!(text.contains("re-approval request"), "{text}");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("nothing was sent"));

    assert!(chars(&mut app, "n").is_empty());
    assert_eq!(app.handle_key(key(KeyCode::Enter)), renew("app-04"));
    assert!(toast_text(&app).contains("filing a re-approval request"), "{}", toast_text(&app));
}

#[test]
fn a_renewal_that_would_shorten_the_time_left_asks_first() {
    // badge-printer is a prototype (30 days) with 340 days left: a lead's
    // `n` would cut it to 30.
    let mut app = console(fixture_data_for(pat(), fixture_now()));
    select(&mut app, "app-25");
    assert!(chars(&mut app, "n").is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
    let text = screen(&app, 120, 40);
    assert!(text.contains("shortens"), "{text}");
    assert!(text.contains("340d left") && text.contains("30d left"), "current and new time left: {text}");
    assert!(chars(&mut app, "n").is_empty(), "`n` in the dialog cancels");
    assert_eq!(app.overlay_name(), None);
    chars(&mut app, "n");
    assert_eq!(chars(&mut app, "y"), renew("app-25"));

    // A renewal that extends is one key, no dialog.
    select(&mut app, "app-02");
    assert_eq!(chars(&mut app, "n"), renew("app-02"));
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn after_a_renewal_the_same_app_stays_selected() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "5");
    select(&mut app, "app-02");
    assert_eq!(chars(&mut app, "n"), renew("app-02"));
    // The renewal comes back with the next sync: crm-sync moves to the end.
    let renewed = with_app(fixture_data_for(olive(), fixture_now()), "app-02", |a| {
        a.expires_at = Some(fixture_now() + Duration::days(365));
    });
    app.handle_event(Event::Data(Box::new(renewed)));
    app.handle_event(Event::ActionResult { target_id: "app-02".into(), outcome: Ok("renewed".into()) });
    assert_eq!(app.renewals().selected_id(app.context()), Some("app-02"));
    assert_eq!(app.renewals().visible_ids(app.context()).last(), Some(&"app-02"), "it did move");
}

#[test]
fn an_answer_that_names_its_app_is_not_prefixed_with_the_name_again() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    app.handle_event(Event::ActionResult { target_id: "app-02".into(), outcome: Ok("renewed".into()) });
    assert_eq!(app.toast().unwrap().text, "crm-sync: renewed");
    app.handle_event(Event::ActionResult {
        target_id: "app-02".into(),
        outcome: Ok("crm-sync retired: now decommissioned".into()),
    });
    assert_eq!(app.toast().unwrap().text, "crm-sync retired: now decommissioned");
}

#[test]
fn a_decision_from_the_request_detail_returns_to_the_queue_on_the_next_request() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select(&mut app, "apr-011");
    let queue: Vec<String> = app.approvals().visible_ids(app.context()).into_iter().map(String::from).collect();
    let next = &queue[queue.iter().position(|id| id == "apr-011").unwrap() + 1];
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.approvals().detail_id(), Some("apr-011"));
    chars(&mut app, "a");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert!(matches!(&effects[..], [Effect::Decide { approval_id, .. }] if approval_id == "apr-011"), "{effects:?}");
    assert_eq!(app.approvals().detail_id(), None, "back in the queue");
    assert_eq!(app.approvals().selected_id(app.context()), Some(next.as_str()));

    // The sync that brings the decision back leaves the cursor there.
    let mut data = fixture_data(fixture_now());
    let decided = data.approvals.iter_mut().find(|a| a.id == "apr-011").unwrap();
    decided.status = ApprovalStatus::Approved;
    app.handle_event(Event::Data(Box::new(data)));
    let text = screen(&app, 80, 24);
    assert!(!text.contains("no longer in the cache"), "{text}");
    assert_eq!(app.approvals().selected_id(app.context()), Some(next.as_str()));

    // A rejection from the detail does the same (interview-scheduler).
    let next = "apr-012";
    select(&mut app, next);
    let after = {
        let queue = app.approvals().visible_ids(app.context());
        queue[queue.iter().position(|id| *id == next).unwrap() + 1].to_string()
    };
    app.handle_key(key(KeyCode::Enter));
    chars(&mut app, "r");
    chars(&mut app, "no owner named");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::Decide { decision: DecisionKind::Reject, approval_id, .. }] if approval_id.as_str() == next),
        "{effects:?}"
    );
    assert_eq!(app.approvals().detail_id(), None);
    assert_eq!(app.approvals().selected_id(app.context()), Some(after.as_str()));
}

#[test]
fn the_queue_puts_the_most_overdue_first_then_the_soonest_due_then_the_riskiest() {
    let app = {
        let mut app = console(fixture_data(fixture_now()));
        chars(&mut app, "2");
        app
    };
    let now = fixture_now();
    let queue: Vec<_> = app
        .approvals()
        .visible_ids(app.context())
        .into_iter()
        .map(|id| app.data().approvals.iter().find(|a| a.id == id).unwrap())
        .collect();
    assert!(queue.len() > 10);
    for pair in queue.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(a.is_overdue(now) >= b.is_overdue(now), "overdue first: {} before {}", a.id, b.id);
        assert!(
            a.due_at <= b.due_at,
            "most overdue, then soonest due first: {} ({}) before {} ({})",
            a.id,
            a.due_at,
            b.id,
            b.due_at
        );
        if a.due_at == b.due_at {
            assert!(a.risk.tier >= b.risk.tier, "then by risk: {} before {}", a.id, b.id);
        }
    }
    // "due in 1h, high 60" is above "due in 45h, high 80".
    let text = screen(&app, 120, 40);
    let row = |name: &str| text.lines().position(|l| l.contains(name)).unwrap_or_else(|| panic!("{name}: {text}"));
    assert!(row("meeting-minutes-ai") < row("expense-bot"), "{text}");
}

#[test]
fn an_owner_sees_an_owners_approvals() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "2");
    let text = screen(&app, 80, 24);
    for offer in ["a approve", "space select", "A approve selected", "r reject"] {
        assert!(!text.contains(offer), "an owner is not offered {offer:?}: {text}");
    }
    assert!(text.contains("enter detail"), "{text}");
    assert!(text.contains("✗ owner only"), "{text}");
    assert!(!text.contains("not a revi"), "{text}");
    // No Status cell is cut at 80x24.
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("production") || l.contains("new app")).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|l| !l.contains('…')), "{text}");

    // `space` on a high-risk row gives the role reason, not the tier's.
    select(&mut app, "apr-006");
    chars(&mut app, " ");
    let toast = toast_text(&app);
    assert!(toast.contains("needs the reviewer or lead role"), "{toast}");
    assert!(!toast.contains("high-risk"), "{toast}");
}

#[test]
fn the_hint_line_is_printed_once_and_offers_what_the_user_can_do() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    let text = screen(&app, 80, 24);
    assert_eq!(text.matches("r reject").count(), 1, "{text}");
    assert!(!text.contains("A approve selected"), "nothing is selected yet: {text}");
    select(&mut app, "apr-011");
    chars(&mut app, " ");
    let text = screen(&app, 120, 40);
    assert!(text.contains("A approve selected"), "{text}");

    // A lead on a high-risk row: the short reason fits the Status column.
    let mut lead = console(fixture_data_for(pat(), fixture_now()));
    chars(&mut lead, "2");
    select(&mut lead, "apr-006");
    let text = screen(&lead, 80, 24);
    let row = text.lines().find(|l| l.contains("quote-builder")).expect("row");
    assert!(row.contains("✗ 2 reviewers"), "{row}");
}

#[test]
fn the_lead_rule_reads_as_the_server_enforces_it() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    select(&mut app, "apr-006");
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    assert!(text.contains("two approvals from two different reviewers"), "{text}");
    assert!(!text.contains("at least one a reviewer"), "{text}");

    // A lead trying a high-risk request is told the same rule.
    let mut lead = console(fixture_data_for(pat(), fixture_now()));
    chars(&mut lead, "2");
    select(&mut lead, "apr-006");
    chars(&mut lead, "a");
    assert!(toast_text(&lead).contains("high-risk requests are decided by reviewers"), "{}", toast_text(&lead));
}

#[test]
fn days_left_labels_and_buckets_follow_one_rounding_rule() {
    let now = fixture_now();
    // crm-sync: 7 days and 5 hours left; quote-builder renewed for 365 days
    // a minute ago; lead-scorer expired 36 hours ago.
    let data = with_app(fixture_data_for(olive(), now), "app-02", |a| {
        a.expires_at = Some(now + Duration::days(7) + Duration::hours(5));
    });
    let data = with_app(data, "app-01", |a| {
        a.state = govdeck::domain::AppState::Active;
        a.expires_at = Some(now + Duration::days(365) - Duration::minutes(1));
    });
    let data = with_app(data, "app-03", |a| a.expires_at = Some(now - Duration::hours(36)));
    let mut app = console(data);

    chars(&mut app, "5");
    let text = screen(&app, 120, 40);
    let row = text.lines().find(|l| l.contains("crm-sync")).expect("crm-sync row");
    assert!(row.contains("expires ≤ 30 days") && row.contains("quarantined in 8d"), "{row}");

    chars(&mut app, "1");
    let text = screen(&app, 120, 40);
    let row = text.lines().find(|l| l.contains("quote-builder")).expect("quote-builder row");
    assert!(row.contains("365d"), "right after a 365-day renewal: {row}");
    let row = text.lines().find(|l| l.contains("lead-scorer")).expect("lead-scorer row");
    assert!(row.contains("-2d"), "{row}");
    assert!(!text.contains("-36h"), "{text}");

    select(&mut app, "app-01");
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    assert!(text.contains("(in 365d)"), "{text}");
}

#[test]
fn the_renew_key_is_offered_in_renewals_only_to_those_who_may_renew() {
    let mut reviewer = console(fixture_data(fixture_now()));
    chars(&mut reviewer, "5");
    let footer = screen(&reviewer, 120, 40).lines().last().unwrap_or_default().to_string();
    assert!(!footer.contains("n renew"), "a reviewer renews nothing: {footer}");
    assert!(footer.contains("/ filter"), "{footer}");
    for user in [olive(), pat()] {
        let mut app = console(fixture_data_for(user, fixture_now()));
        chars(&mut app, "5");
        let footer = screen(&app, 120, 40).lines().last().unwrap_or_default().to_string();
        assert!(footer.contains("n renew"), "{footer}");
    }
}
