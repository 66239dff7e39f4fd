//! The console says what happened: errors go with the next key that does
//! something (or after a few seconds), every `:` command confirms what it
//! did, `:messages` keeps the last messages in full, the `:` line completes
//! and remembers, bulk approvals are summed up in one line, a request
//! already decided elsewhere is not shown as failed, `esc` typed quickly
//! before a key acts as both, help scrolls to its end, and `q` in a detail
//! goes back. Key-sequence tests on `App`, from the fixture data.

mod console_support;

use chrono::Duration;
use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_now};
use govdeck::app::{App, Effect, Event, Overlay, PaneId, QueuedAction, QueuedKind, QueuedStatus, UiSettings};
use govdeck::domain::{Decision, DecisionKind, Role};

fn command_line_text(app: &App) -> String {
    match app.overlay() {
        Some(Overlay::Command(line)) => line.input.text().to_string(),
        other => panic!("the command line is not open: {:?}", other.map(|o| o.name())),
    }
}

#[test]
fn an_error_goes_with_the_next_command_and_the_next_key_that_does_something() {
    let mut app = console(fixture_data(fixture_now()));
    command(&mut app, "nonsense");
    assert!(toast_text(&app).contains("unknown command :nonsense"));
    command(&mut app, "filter");
    assert_eq!(toast_text(&app), "filters cleared: 26 apps", "the old error is not shown over the new answer");

    command(&mut app, "nonsense");
    app.handle_key(key(KeyCode::Down));
    assert!(app.toast().is_none(), "moving the cursor is an action: the error has been seen");

    // A key that does nothing leaves it.
    command(&mut app, "nonsense");
    app.handle_key(key(KeyCode::F(9)));
    assert!(toast_text(&app).contains("unknown command"));
}

#[test]
fn an_error_ages_out_in_a_few_seconds() {
    let mut app = console(fixture_data(fixture_now()));
    command(&mut app, "nonsense");
    app.set_now(fixture_now() + Duration::seconds(3));
    assert!(app.toast().is_some(), "long enough to read");
    app.set_now(fixture_now() + Duration::seconds(10));
    assert!(app.toast().is_none());
    assert!(app.messages().iter().any(|m| m.text.contains("unknown command :nonsense")), "kept in the log");
}

#[test]
fn every_command_says_what_it_did() {
    let mut app = console(fixture_data(fixture_now()));
    command(&mut app, "sort expires desc");
    assert_eq!(toast_text(&app), "sorted by expires ▼");
    command(&mut app, "sort name");
    assert_eq!(toast_text(&app), "sorted by name ▲");
    command(&mut app, "filter tier=high");
    let high = app.inventory().visible_ids(app.context()).len();
    assert_eq!(toast_text(&app), format!("tier=high: {high} apps"));
    command(&mut app, "filter");
    command(&mut app, "search crm");
    let found = app.inventory().visible_ids(app.context()).len();
    assert_eq!(toast_text(&app), format!("search \"crm\": {found} apps"));
    command(&mut app, "theme light");
    assert_eq!(toast_text(&app), "theme light");
    command(&mut app, "keymap vim");
    assert_eq!(toast_text(&app), "keymap vim");
    command(&mut app, "approvals");
    assert_eq!(app.active_pane(), PaneId::Approvals);
    assert_eq!(toast_text(&app), "Approvals pane");
}

#[test]
fn the_message_log_shows_every_message_in_full_with_its_time() {
    let mut app = console(fixture_data(fixture_now()));
    let long = "the server refused it: request apr-011 was decided by rosa at revision 7 before yours arrived; \
                reload the queue and decide again if you still disagree";
    app.handle_event(Event::ActionResult { target_id: "apr-011".into(), outcome: Err(long.into()) });
    app.set_now(fixture_now() + Duration::seconds(61));
    command(&mut app, "nonsense");
    command(&mut app, "messages");
    assert_eq!(app.overlay_name(), Some("messages"));
    let text = screen(&app, 80, 24);
    assert!(text.contains("09:00:00") && text.contains("09:01:01"), "{text}");
    let flat: String = text.replace(['│', '"'], " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("reload the queue and decide again if you still disagree"), "{text}");
    let newest = text.find("unknown command").expect("newest shown");
    let older = text.find("travel-planner").expect("older shown");
    assert!(newest < older, "newest first");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn the_message_log_keeps_the_last_hundred() {
    let mut app = console(fixture_data(fixture_now()));
    for i in 0..130 {
        command(&mut app, &format!("nonsense{i}"));
    }
    assert_eq!(app.messages().len(), 100);
    assert!(app.messages()[0].text.contains("nonsense30"));
    command(&mut app, "messages");
    app.handle_key(key(KeyCode::End));
    assert!(screen(&app, 80, 24).contains("nonsense30 "), "End scrolls to the oldest kept");
}

#[test]
fn an_unknown_theme_keeps_the_theme_in_use_and_names_the_themes() {
    let mut app = console(fixture_data(fixture_now()));
    command(&mut app, "theme light");
    command(&mut app, "theme nope");
    assert_eq!(app.theme().name, "light");
    let text = toast_text(&app);
    assert!(text.contains("unknown theme \"nope\": keeping light"), "{text}");
    assert!(text.contains("dark, light, ansi16"), "{text}");
    command(&mut app, "keymap nope");
    assert_eq!(app.keymap().name, "default");
    assert!(toast_text(&app).contains("keymaps: default, vim"), "{}", toast_text(&app));
}

#[test]
fn tab_completes_command_names_and_their_arguments() {
    let mut app = console(fixture_data(fixture_now()));
    let tab = key(KeyCode::Tab);
    let typed = |app: &mut App, text: &str| {
        app.handle_key(key(KeyCode::Esc));
        chars(app, &format!(":{text}"));
        app.handle_key(tab);
        command_line_text(app)
    };
    assert_eq!(typed(&mut app, "th"), "theme ");
    assert_eq!(typed(&mut app, "theme l"), "theme light ");
    assert_eq!(typed(&mut app, "keymap v"), "keymap vim ");
    assert_eq!(typed(&mut app, "sort us"), "sort users ");
    assert_eq!(typed(&mut app, "sort users d"), "sort users desc ");
    assert_eq!(typed(&mut app, "filter ti"), "filter tier=");
    assert_eq!(typed(&mut app, "filter tier=h"), "filter tier=high ");
    assert_eq!(typed(&mut app, "filter tier=high data=pi"), "filter tier=high data=pii ");
    assert_eq!(typed(&mut app, "filter state=q"), "filter state=quarantined ");
    assert_eq!(typed(&mut app, "filter owner=ol"), "filter owner=olive ");
    assert_eq!(typed(&mut app, "mes"), "messages ");
    // Several: their common prefix, else each in turn, listed after the input.
    assert_eq!(typed(&mut app, "s"), "search");
    assert!(screen(&app, 80, 24).contains("search sort sync"), "{}", screen(&app, 80, 24));
    app.handle_key(tab);
    assert_eq!(command_line_text(&app), "sort");
    app.handle_key(tab);
    assert_eq!(command_line_text(&app), "sync");
    assert_eq!(typed(&mut app, "theme "), "theme dark");
    // What tab completed runs.
    app.handle_key(key(KeyCode::Esc));
    chars(&mut app, ":theme l");
    app.handle_keys([tab, key(KeyCode::Enter)]);
    assert_eq!(app.theme().name, "light");
}

#[test]
fn up_and_down_recall_earlier_commands() {
    let mut app = console(fixture_data(fixture_now()));
    command(&mut app, "sort users");
    command(&mut app, "theme light");
    chars(&mut app, ":fil");
    app.handle_key(key(KeyCode::Up));
    assert_eq!(command_line_text(&app), "theme light");
    app.handle_key(key(KeyCode::Up));
    assert_eq!(command_line_text(&app), "sort users");
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(command_line_text(&app), "fil", "back to the line being typed");
    app.handle_key(key(KeyCode::Up));
    app.handle_key(key(KeyCode::Up));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(toast_text(&app), "sorted by users ▲");
}

#[test]
fn help_lists_every_command() {
    let app = console(fixture_data(fixture_now()));
    let lines =
        govdeck::widgets::help::help_lines(app.keymap(), govdeck::config::keymap::Section::Inventory, app.theme(), 100);
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    for command in
        [":search", ":keymap", ":messages", ":queue", ":filter", ":sort", ":theme", ":sync", ":verify", ":help", ":q"]
    {
        assert!(text.contains(command), "{command} missing from help:\n{text}");
    }
}

#[test]
fn an_inventory_command_typed_in_another_pane_says_so_and_stays() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    for line in ["sort users", "search crm", "filter tier=high"] {
        command(&mut app, line);
        assert_eq!(app.active_pane(), PaneId::Approvals, ":{line}");
        let name = line.split(' ').next().unwrap();
        assert!(
            toast_text(&app).contains(&format!(":{name} applies to the Inventory pane, not Approvals")),
            "{}",
            toast_text(&app)
        );
    }
    assert!(app.inventory().facets.is_empty() && app.inventory().query().is_empty(), "nothing applied");
}

#[test]
fn bulk_approve_names_every_result_in_one_line() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    for id in ["apr-011", "apr-013"] {
        select_approval(&mut app, id);
        chars(&mut app, " ");
    }
    chars(&mut app, "A");
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(effects.len(), 2);
    assert_eq!(toast_text(&app), "approving 2 requests…");
    app.handle_event(Event::ActionResult {
        target_id: "apr-011".into(),
        outcome: Ok("request apr-011 is now approved".into()),
    });
    assert_eq!(toast_text(&app), "approving 2 requests…", "one line for the batch, when all answered");
    app.handle_event(Event::ActionResult {
        target_id: "apr-013".into(),
        outcome: Err("already decided by rosa".into()),
    });
    let text = toast_text(&app);
    let name = app.data().approvals.iter().find(|a| a.id == "apr-013").unwrap().app_name.clone();
    assert_eq!(text, format!("1 approved, 1 refused: {name}: already decided by rosa"));
    assert!(app.messages().iter().any(|m| m.text.contains("request apr-011 is now approved")), "each kept in the log");
}

#[test]
fn a_request_approved_elsewhere_then_sent_again_shows_you_approved_not_failed() {
    let mut data = fixture_data(fixture_now());
    let approval = data.approvals.iter_mut().find(|a| a.id == "apr-001").unwrap();
    approval.decisions.push(Decision {
        by: "riley".into(),
        role: Role::Reviewer,
        decision: DecisionKind::Approve,
        comment: String::new(),
        at: fixture_now() - Duration::minutes(5),
        policy_version: None,
    });
    let name = approval.app_name.clone();
    data.outbox.push(QueuedAction {
        id: 3,
        kind: QueuedKind::Approve,
        target_id: "apr-001".into(),
        status: QueuedStatus::Failed("already decided: you approved this request".into()),
        queued_at: fixture_now() - Duration::minutes(1),
    });
    let mut app = console(data);
    chars(&mut app, "2");
    let text = screen(&app, 120, 40);
    let row = text.lines().find(|l| l.contains(name.as_str())).expect("row shown");
    assert!(row.contains("you approved") && !row.contains("failed"), "{row}");
}

#[test]
fn esc_and_a_key_in_one_read_act_as_both_keys() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "/qb");
    assert_eq!(app.inventory().query(), "qb");
    // crossterm reads "\x1b2" in one read as alt-2.
    app.handle_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::ALT));
    assert_eq!(app.inventory().query(), "", "esc cleared the filter");
    assert_eq!(app.active_pane(), PaneId::Approvals, "and 2 showed the Approvals pane");

    // In a list: esc closes the detail, then the key acts.
    chars(&mut app, "1");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.inventory().detail_app_id().is_some());
    app.handle_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::ALT));
    assert!(app.inventory().detail_app_id().is_none());
    assert_eq!(app.overlay_name(), Some("help"));
}

#[test]
fn end_and_home_work_in_help() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "?");
    assert!(!screen(&app, 80, 24).contains("Sync now, verify audit chain"));
    app.handle_key(key(KeyCode::End));
    assert!(screen(&app, 80, 24).contains("Sync now, verify audit chain"), "{}", screen(&app, 80, 24));
    app.handle_key(key(KeyCode::Up));
    app.handle_key(key(KeyCode::Home));
    assert!(screen(&app, 80, 24).contains("Everywhere") || screen(&app, 80, 24).contains("Inventory"));
    assert!(!screen(&app, 80, 24).contains("Sync now, verify audit chain"));

    let mut vim = App::new(fixture_data(fixture_now()), UiSettings::load("dark", "vim", None, false), fixture_now());
    chars(&mut vim, "?G");
    assert!(screen(&vim, 80, 24).contains("Sync now, verify audit chain"));
    chars(&mut vim, "g");
    assert!(!screen(&vim, 80, 24).contains("Sync now, verify audit chain"));
}

#[test]
fn q_in_a_detail_goes_back_to_the_list_and_quits_from_the_list() {
    let mut app = console(fixture_data(fixture_now()));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.inventory().detail_app_id().is_some());
    assert!(chars(&mut app, "q").is_empty());
    assert!(app.inventory().detail_app_id().is_none() && !app.should_quit());
    chars(&mut app, "?q");
    assert_eq!(app.overlay_name(), None);
    assert!(!app.should_quit(), "q closes help too");
    assert_eq!(chars(&mut app, "q"), vec![Effect::Quit]);
}

#[test]
fn a_request_with_one_approval_says_1_approval() {
    let mut data = fixture_data(fixture_now());
    let id = data.approvals.iter().find(|a| a.decisions.len() == 1).map(|a| a.app_id.clone()).expect("fixture");
    let name = data.apps.iter().find(|a| a.id == id).unwrap().name.to_string();
    data.approvals.retain(|a| a.app_id != id || a.decisions.len() == 1);
    let mut app = console(data);
    command(&mut app, &format!("search {name}"));
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    assert!(text.contains("· 1 approval") && !text.contains("approval(s)"), "{text}");
}

#[test]
fn the_app_detail_writes_a_dash_where_a_value_is_missing() {
    let mut data = fixture_data(fixture_now());
    let first = data.apps.iter().map(|a| a.id.clone()).min().unwrap();
    let full = data.full_apps.get_mut(first.as_str()).expect("full record");
    full.purpose = String::new();
    full.sponsor = String::new();
    full.cost_center = String::new();
    let name = full.name.clone();
    let mut app = console(data);
    command(&mut app, &format!("search {name}"));
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    let line = |label: &str| text.lines().find(|l| l.contains(label)).unwrap_or_default().to_string();
    assert!(line("Purpose").contains("Purpose      —"), "{}", line("Purpose"));
    assert!(line("Owner").contains("sponsor —"), "{}", line("Owner"));
    assert!(line("Cost centre").contains("—"), "{}", line("Cost centre"));
}

#[test]
fn one_audit_event_is_counted_in_the_singular() {
    let mut data = fixture_data(fixture_now());
    data.audit.truncate(1);
    data.audit_total = 1;
    let mut app = console(data);
    chars(&mut app, "3");
    let text = screen(&app, 120, 40);
    assert!(text.contains(" Audit · 1 event · "), "{text}");
}
