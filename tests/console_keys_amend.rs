//! Key-sequence tests of amending from the console (`e`, the editor's text
//! back through `App::edited`, the confirmation) and of requesting changes
//! (`c` and its comment box), with snapshots at 80x24 and 120x40 of the
//! amend confirmation, the request-changes box and an app with a pending
//! change.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::edit::{EditPurpose, EditRequest};
use govdeck::app::fixtures::{fixture_data_for, fixture_now, olive, riley};
use govdeck::app::{AppDetail, ConsoleData, Effect, Event, PaneId};
use govdeck::domain::amend::{self, AmendInput, Amendment};
use govdeck::domain::{Actor, Approval, DecisionKind, Role};
use govdeck::widgets::comment::REASON_REQUIRED;
use serde_json::json;

/// deal-desk-notes: olive's live medium app (internal, 30 users, SaaS).
const APP: &str = "app-06";

fn app_rev(data: &ConsoleData) -> u64 {
    data.full_apps[APP].rev
}

/// `e` on deal-desk-notes in the inventory: the edit it asks for.
fn press_e(app: &mut govdeck::app::App) -> EditRequest {
    select(app, APP);
    let effects = chars(app, "e");
    match effects.as_slice() {
        [Effect::Edit(request)] => request.clone(),
        other => panic!("expected one edit, got {other:?}"),
    }
}

/// A held change of deal-desk-notes (data class → pii), through the domain rule.
fn held_change(data: &ConsoleData) -> Approval {
    let app = &data.full_apps[APP];
    let set = [("data_classification".to_string(), json!("pii")), ("controls.dlp".to_string(), json!(true))]
        .into_iter()
        .collect();
    let amendment = amend::amend(AmendInput {
        app,
        open: &[],
        actor: &Actor::new("olive", [Role::Owner]),
        rev: app.rev,
        set: &set,
        new_request_id: "apr-chg".into(),
        policy: govdeck::domain::policy::Policy::builtin(),
        now: fixture_now() - chrono::Duration::hours(3),
    })
    .expect("a material amendment");
    let Amendment::Held { request, .. } = amendment else { panic!("held: {amendment:?}") };
    *request
}

#[test]
fn e_opens_the_manifest_as_toml_and_an_unchanged_text_sends_nothing() {
    let data = fixture_data_for(olive(), fixture_now());
    let rev = app_rev(&data);
    let mut app = console(data);
    let request = press_e(&mut app);
    assert_eq!(request.purpose, EditPurpose::Amend { app_id: APP.into(), rev });
    assert_eq!(request.suffix, ".toml");
    assert!(request.text.contains("name = \"deal-desk-notes\""), "{}", request.text);
    assert!(request.text.contains("[controls]"), "{}", request.text);
    assert!(!request.text.contains("owner ="), "the owner is not amended here");

    let effects = app.edited(request.purpose.clone(), Ok(request.text.clone()));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("no change to deal-desk-notes: nothing was sent"), "{}", toast_text(&app));

    // The editor failing sends nothing either.
    let effects = app.edited(request.purpose, Err("the editor exited with status 1".into()));
    assert!(effects.is_empty());
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn a_small_change_is_confirmed_with_its_diff_then_sent() {
    let data = fixture_data_for(olive(), fixture_now());
    let rev = app_rev(&data);
    let mut app = console(data);
    let request = press_e(&mut app);
    let text = request.text.replace("expected_users = 30", "expected_users = 60");
    assert!(app.edited(request.purpose, Ok(text)).is_empty(), "nothing is sent before the confirm");
    assert_eq!(app.overlay_name(), Some("confirm"));
    let screen = screen(&app, 80, 24);
    assert!(screen.contains("Amend deal-desk-notes"), "{screen}");
    assert!(screen.contains("expected_users: 30 → 60"), "{screen}");
    assert!(screen.contains("risk: 30 medium → 30 medium"), "{screen}");
    assert!(screen.contains("applies at once"), "{screen}");
    let effects = app.handle_key(key(KeyCode::Enter));
    let set = [("expected_users".to_string(), json!(60))].into_iter().collect();
    assert_eq!(effects, vec![Effect::Amend { app_id: APP.into(), rev, set }]);
    assert!(toast_text(&app).contains("amending deal-desk-notes"), "{}", toast_text(&app));
}

#[test]
fn a_material_change_says_it_is_held_and_cancel_sends_nothing() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    let request = press_e(&mut app);
    let text = request.text.replace("data_classification = \"internal\"", "data_classification = \"pii\"");
    app.edited(request.purpose, Ok(text));
    let screen = screen(&app, 120, 40);
    assert!(screen.contains("data_classification: internal → pii"), "{screen}");
    assert!(screen.contains("risk: 30 medium → 70 high"), "{screen}");
    assert!(screen.contains("held for review at high"), "{screen}");
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert!(toast_text(&app).contains("cancelled: nothing was sent"));
}

#[test]
fn problems_reopen_the_editor_with_them_as_comments_on_top() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    let request = press_e(&mut app);
    let bad = request.text.replace("expected_users = 30", "expected_users = \"lots\"");
    let effects = app.edited(request.purpose.clone(), Ok(bad.clone()));
    let [Effect::Edit(again)] = effects.as_slice() else { panic!("reopened: {effects:?}") };
    assert_eq!(again.purpose, request.purpose);
    let first = again.text.lines().next().unwrap();
    assert!(first.starts_with("# ! The manifest was not amended"), "{}", again.text);
    assert!(again.text.contains("# ! ") && again.text.contains("expected_users"), "{}", again.text);
    assert!(again.text.ends_with(&bad), "the text as the user left it follows");
    // Fixed, the problems are dropped and the confirmation opens.
    let fixed = again.text.replace("expected_users = \"lots\"", "expected_users = 31");
    assert!(app.edited(again.purpose.clone(), Ok(fixed)).is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));

    // A changed owner is a problem too.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    let request = press_e(&mut app);
    let text = format!("owner = \"omar\"\n{}", request.text);
    let effects = app.edited(request.purpose, Ok(text));
    let [Effect::Edit(again)] = effects.as_slice() else { panic!("reopened: {effects:?}") };
    assert!(again.text.contains("changes owner by transfer"), "{}", again.text);
}

#[test]
fn e_says_why_not_for_those_who_may_not_amend() {
    let mut app = console(fixture_data_for(riley(), fixture_now()));
    select(&mut app, APP);
    assert!(chars(&mut app, "e").is_empty());
    assert!(toast_text(&app).contains("cannot amend: amending a manifest needs the owner"), "{}", toast_text(&app));
    // A decommissioned app: final.
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, "app-08");
    assert!(chars(&mut app, "e").is_empty());
    assert!(toast_text(&app).contains("decommissioned; that is final"), "{}", toast_text(&app));
}

#[test]
fn e_waits_for_the_full_record_when_the_snapshot_has_only_summaries() {
    let mut data = fixture_data_for(olive(), fixture_now());
    let full = data.full_apps.remove(APP).unwrap();
    data.full_apps.clear();
    let rev = full.rev;
    let mut app = console(data);
    select(&mut app, APP);
    let effects = chars(&mut app, "e");
    assert_eq!(effects, vec![Effect::LoadDetail { app_id: APP.into() }]);
    assert!(toast_text(&app).contains("reading the manifest of deal-desk-notes"), "{}", toast_text(&app));
    app.handle_event(Event::Detail(Box::new(AppDetail { app: full, requests: Vec::new(), events: Vec::new() })));
    let effects = app.detail_effects();
    let [Effect::Edit(request)] = effects.as_slice() else { panic!("the editor opens: {effects:?}") };
    assert_eq!(request.purpose, EditPurpose::Amend { app_id: APP.into(), rev });
    assert!(app.detail_effects().is_empty(), "once");
}

#[test]
fn e_from_the_app_detail_amends_that_app() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    select(&mut app, APP);
    app.handle_key(key(KeyCode::Enter));
    let effects = chars(&mut app, "e");
    assert!(
        matches!(effects.as_slice(), [Effect::Edit(r)] if r.purpose == EditPurpose::Amend { app_id: APP.into(), rev: r_rev(&app) })
    );
}

fn r_rev(app: &govdeck::app::App) -> u64 {
    app.data().full_apps[APP].rev
}

#[test]
fn f_cycles_the_state_facet_that_e_used_to() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    let all = app.inventory().visible_ids(app.context()).len();
    chars(&mut app, "f");
    let some = app.inventory().visible_ids(app.context()).len();
    assert!(some < all, "{some} of {all}");
}

#[test]
fn c_asks_what_to_change_then_sends_the_request_back() {
    let data = fixture_data_for(riley(), fixture_now());
    let rev = data.approvals.iter().find(|a| a.id == "apr-011").unwrap().rev;
    let mut app = console(data);
    chars(&mut app, "2");
    assert_eq!(app.active_pane(), PaneId::Approvals);
    select(&mut app, "apr-011");
    assert!(chars(&mut app, "c").is_empty());
    assert_eq!(app.overlay_name(), Some("comment"));
    let screen = screen(&app, 80, 24);
    assert!(screen.contains("Request changes"), "{screen}");
    // Required: enter on an empty box keeps it open.
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(screen_of(&app).contains(REASON_REQUIRED));
    chars(&mut app, "add an SBOM");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Decide {
            approval_id: "apr-011".into(),
            decision: DecisionKind::RequestChanges,
            comment: "add an SBOM".into(),
            rev,
        }]
    );
    assert!(toast_text(&app).contains("sending back"), "{}", toast_text(&app));
}

fn screen_of(app: &govdeck::app::App) -> String {
    screen(app, 80, 24)
}

#[test]
fn c_says_why_not_to_an_owner() {
    let mut app = console(fixture_data_for(olive(), fixture_now()));
    chars(&mut app, "2");
    assert!(chars(&mut app, "c").is_empty());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("cannot request changes"), "{}", toast_text(&app));
}

#[test]
fn a_request_awaiting_changes_leaves_the_queue_and_its_app_says_why() {
    let mut data = fixture_data_for(olive(), fixture_now());
    let riley = Actor::new("riley", [Role::Reviewer]);
    let index = data.approvals.iter().position(|a| a.id == "apr-010").unwrap();
    let request = data.approvals[index].clone();
    let asked = govdeck::domain::approval::decide(
        &request,
        &riley,
        DecisionKind::RequestChanges,
        "name a sponsor",
        request.rev,
        govdeck::domain::policy::Policy::builtin(),
        fixture_now(),
    )
    .unwrap();
    let app_id = asked.app_id.clone();
    data.approvals[index] = asked;
    let mut app = console(data);
    chars(&mut app, "2");
    let queued = screen(&app, 120, 40);
    assert!(!queued.contains("apr-010"), "out of the queue: {queued}");
    chars(&mut app, "1");
    select(&mut app, &app_id);
    app.handle_key(key(KeyCode::Enter));
    let detail = screen(&app, 120, 40);
    assert!(detail.contains("Changes asked by riley on apr-010: \"name a sponsor\""), "{detail}");
}

#[test]
fn snapshot_amend_confirmation() {
    snap_sizes("amend_confirm", || {
        let mut app = console_with(fixture_data_for(olive(), fixture_now()), "dark", false);
        let request = press_e(&mut app);
        let text = request
            .text
            .replace("data_classification = \"internal\"", "data_classification = \"pii\"")
            .replace("expected_users = 30", "expected_users = 60");
        app.edited(request.purpose, Ok(text));
        assert_eq!(app.overlay_name(), Some("confirm"));
        app
    });
}

#[test]
fn snapshot_request_changes_box() {
    snap_sizes("request_changes_box", || {
        let mut app = console_with(fixture_data_for(riley(), fixture_now()), "dark", false);
        press(&mut app, "2");
        select(&mut app, "apr-011");
        press(&mut app, "c");
        chars(&mut app, "add an SBOM and turn on DLP");
        assert_eq!(app.overlay_name(), Some("comment"));
        app
    });
}

#[test]
fn snapshot_app_with_a_pending_change() {
    snap_sizes("app_pending_change", || {
        let mut data = fixture_data_for(olive(), fixture_now());
        let change = held_change(&data);
        data.approvals.push(change);
        let mut app = console_with(data, "dark", false);
        select(&mut app, APP);
        app.handle_key(key(KeyCode::Enter));
        let screen = screen(&app, 120, 40);
        assert!(screen.contains("change apr-chg · held for review at high"), "{screen}");
        assert!(screen.contains("data_classification: internal → pii"), "{screen}");
        app
    });
}
