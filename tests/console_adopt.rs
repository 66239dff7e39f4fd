//! `:adopt` in the console, key by key with the text an editor would have
//! left handed to `App::edited`: refused before anything opens for an app
//! that is not discovered and for a user who may not adopt it; the editor
//! opens on the imported manifest headed by the app and the fields the
//! importer assumed; an unchanged text cancels, problems reopen the
//! editor, a valid one is previewed (snapshots at 80x24 and 120x40) and
//! `y` sends the body `govdeck intake --adopt` sends.

mod console_support;

use console_support::{command, console, key, select, snap_sizes, toast_text};
use crossterm::event::KeyCode;
use govdeck::app::edit::{EditPurpose, EditRequest};
use govdeck::app::fixtures::{fixture_data_for, fixture_now, pat, riley};
use govdeck::app::{App, AppDetail, ConsoleData, Effect, Event};
use govdeck::domain::api::Me;
use govdeck::domain::app::Upstream;
use govdeck::domain::manifest_file::{self, Format};
use govdeck::domain::{AppState, Role};

/// The id of the fixture's discovered app, shadow-spreadsheet (owner sam).
fn discovered_id(data: &ConsoleData) -> String {
    let app = data.apps.iter().find(|app| app.name == "shadow-spreadsheet").expect("the discovered app");
    assert_eq!(app.state, AppState::Discovered);
    app.id.to_string()
}

/// The fixture as `me` sees it, the discovered app with an import record
/// that assumed two fields.
fn data_for(me: Me) -> (ConsoleData, String) {
    let mut data = fixture_data_for(me, fixture_now());
    let id = discovered_id(&data);
    let app = data.full_apps.get_mut(&id).expect("its full record");
    app.upstream = Some(Box::new(Upstream {
        source: "backstage".into(),
        key: "component:default/shadow-spreadsheet".into(),
        assumed: vec!["execution_environment".into(), "ttl_class".into()],
        ..Upstream::default()
    }));
    (data, id)
}

fn opened(effects: &[Effect]) -> EditRequest {
    match effects {
        [Effect::Edit(request)] => request.clone(),
        other => panic!("expected one edit, got {other:?}"),
    }
}

/// pat (a lead) with `:adopt` typed on the discovered app: the edit asked for.
fn adopting_as_pat() -> (App, String, EditRequest) {
    let (data, id) = data_for(pat());
    let mut app = console(data);
    select(&mut app, &id);
    let request = opened(&command(&mut app, "adopt"));
    (app, id, request)
}

/// The imported manifest with the assumed fields checked and fixed.
fn checked(text: &str) -> String {
    let (environment, purpose) = (
        "execution_environment = \"desktop_agent\"",
        "purpose = \"Found by discovery: a macro workbook emailing payroll\"",
    );
    assert!(text.contains(environment) && text.contains(purpose), "{text}");
    text.replace(environment, "execution_environment = \"sandboxed\"")
        .replace(purpose, "purpose = \"Emails payroll slips to finance\"")
}

fn previewing() -> App {
    let (mut app, _, request) = adopting_as_pat();
    assert!(app.edited(request.purpose, Ok(checked(&request.text))).is_empty());
    app
}

#[test]
fn adopt_opens_the_imported_manifest_headed_by_the_app_and_what_was_assumed() {
    let (app, id, request) = adopting_as_pat();
    assert_eq!(request.purpose, EditPurpose::Adopt { app_id: id.clone() });
    assert_eq!(request.suffix, ".toml");
    let text = &request.text;
    let head: Vec<&str> = text.lines().take_while(|line| line.starts_with('#')).collect();
    assert!(
        head[0].starts_with(&format!("# Adopting shadow-spreadsheet ({id}), found by the backstage import")),
        "{text}"
    );
    assert!(head.iter().any(|line| line.contains("execution_environment, ttl_class")), "{text}");
    assert!(head.iter().any(|line| line.contains("check each one")), "{text}");
    assert!(text.contains("name = \"shadow-spreadsheet\""), "{text}");
    assert!(text.contains("owner = \"sam\""), "the owner as imported: {text}");
    assert!(text.contains("team = \"finance\""), "{text}");
    assert!(text.contains("data_classification = \"pii\""), "{text}");
    // What it opens on is a manifest as it stands.
    let manifest = manifest_file::parse(text, Format::Toml).expect("the imported manifest parses");
    assert_eq!(manifest.owner.as_deref(), Some("sam"));
    assert_eq!(app.overlay_name(), None);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("console_adopt_editor_text", text);
    });
}

#[test]
fn adopt_is_refused_before_anything_opens_for_an_app_that_is_not_discovered() {
    let (data, _) = data_for(pat());
    let active = data.apps.iter().find(|app| app.state == AppState::Active).expect("an active app");
    let (id, name) = (active.id.to_string(), active.name.to_string());
    let mut app = console(data);
    select(&mut app, &id);
    assert!(command(&mut app, "adopt").is_empty());
    let toast = toast_text(&app);
    assert!(
        toast.contains(&format!("cannot adopt {name}: only a discovered app may be adopted; this one is active")),
        "{toast}"
    );
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn adopt_is_refused_for_a_user_who_may_not_adopt_the_app() {
    // A reviewer holds none of the roles that adopt.
    let (data, id) = data_for(riley());
    let mut app = console(data);
    select(&mut app, &id);
    assert!(command(&mut app, "adopt").is_empty());
    let toast = toast_text(&app);
    assert!(toast.contains("cannot adopt shadow-spreadsheet: adopting an app needs the owner"), "{toast}");
    // An owner who is not the one the import named.
    let (mut data, id) = data_for(pat());
    data.me = Me { user: "olive".into(), roles: vec![Role::Owner] };
    let mut app = console(data);
    select(&mut app, &id);
    assert!(command(&mut app, "adopt").is_empty());
    let toast = toast_text(&app);
    assert!(toast.contains("only the owner the import named (sam) or a lead may adopt this app"), "{toast}");
    assert_eq!(app.overlay_name(), None);
    // The owner the import named may.
    let (data, id) = data_for(Me { user: "sam".into(), roles: vec![Role::Owner] });
    let mut app = console(data);
    select(&mut app, &id);
    opened(&command(&mut app, "adopt"));
}

#[test]
fn adopt_waits_for_the_full_record_when_the_snapshot_has_only_summaries() {
    let (mut data, id) = data_for(pat());
    let full = data.full_apps.remove(&id).unwrap();
    data.full_apps.clear();
    let mut app = console(data);
    select(&mut app, &id);
    assert_eq!(command(&mut app, "adopt"), vec![Effect::LoadDetail { app_id: id.clone() }]);
    assert!(toast_text(&app).contains("reading the record of shadow-spreadsheet"), "{}", toast_text(&app));
    app.handle_event(Event::Detail(Box::new(AppDetail { app: full, requests: Vec::new(), events: Vec::new() })));
    let request = opened(&app.detail_effects());
    assert_eq!(request.purpose, EditPurpose::Adopt { app_id: id });
    assert!(request.text.starts_with("# Adopting shadow-spreadsheet"), "{}", request.text);
    assert!(app.detail_effects().is_empty(), "once");
}

#[test]
fn adopt_applies_to_the_inventory() {
    let (data, _) = data_for(pat());
    let mut app = console(data);
    command(&mut app, "approvals");
    assert!(command(&mut app, "adopt").is_empty());
    assert!(toast_text(&app).contains(":adopt applies to the Inventory pane"), "{}", toast_text(&app));
}

#[test]
fn an_unchanged_or_emptied_text_cancels_and_problems_reopen_the_editor() {
    let (mut app, id, request) = adopting_as_pat();
    assert!(app.edited(request.purpose.clone(), Ok(request.text.clone())).is_empty());
    assert!(toast_text(&app).contains("adoption cancelled: the manifest was left unchanged; nothing was sent"));
    assert!(app.edited(request.purpose.clone(), Ok("# gone\n".into())).is_empty());
    assert!(toast_text(&app).contains("adoption cancelled: the manifest was emptied"), "{}", toast_text(&app));

    let broken = checked(&request.text).replace("data_classification = \"pii\"", "data_classification = \"secret\"");
    let reopened = opened(&app.edited(request.purpose.clone(), Ok(broken.clone())));
    assert_eq!(reopened.purpose, EditPurpose::Adopt { app_id: id });
    assert!(reopened.text.starts_with("#! This manifest has 1 problem"), "{}", reopened.text);
    assert!(reopened.text.contains("data_classification"), "{}", reopened.text);
    assert!(reopened.text.ends_with(&broken), "the text written is kept whole below the problems");
    // Saved unchanged after a reopen: cancelled.
    assert!(app.edited(reopened.purpose.clone(), Ok(reopened.text.clone())).is_empty());
    assert!(toast_text(&app).contains("adoption cancelled: the manifest was saved unchanged with its problems"));
    // Fixed below the comments: the preview.
    let fixed = reopened.text.replace(&broken, &checked(&request.text));
    assert!(app.edited(reopened.purpose, Ok(fixed)).is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
}

#[test]
fn the_discovered_apps_own_name_is_no_problem_but_another_apps_is() {
    let (mut app, _, request) = adopting_as_pat();
    let taken = checked(&request.text).replace("name = \"shadow-spreadsheet\"", "name = \"crm-sync\"");
    let reopened = opened(&app.edited(request.purpose, Ok(taken)));
    assert!(reopened.text.contains("name: the name \"crm-sync\" is taken by app"), "{}", reopened.text);
}

#[test]
fn the_preview_is_titled_for_the_adoption_and_y_sends_the_clis_body() {
    let (mut app, id, request) = adopting_as_pat();
    let edited = checked(&request.text);
    assert!(app.edited(request.purpose, Ok(edited.clone())).is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
    let screen = console_support::screen(&app, 120, 40);
    assert!(screen.contains(&format!("Adopt shadow-spreadsheet ({id}) through review?")), "{screen}");
    assert!(screen.contains("shadow-spreadsheet · team finance · owner sam"), "{screen}");
    assert!(screen.contains("Risk 80 (high): data 50 + users 10 + connectivity 20 + environment 0"), "{screen}");
    assert!(screen.contains("two different reviewers must approve, by"), "{screen}");
    let rev = app.context().data.full_apps[&id].rev;
    let effects = app.handle_key(key(KeyCode::Char('y')));
    let [Effect::Adopt { app_id, rev: sent_rev, manifest }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!((app_id, *sent_rev), (&id, rev));
    // `govdeck intake FILE --adopt APP` sends `serde_json::to_value(&manifest)`.
    let parsed = manifest_file::parse(&edited, Format::Toml).unwrap();
    assert_eq!(manifest, &serde_json::to_value(&parsed).unwrap());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("adopting shadow-spreadsheet"), "{}", toast_text(&app));
}

#[test]
fn n_in_the_preview_sends_nothing() {
    let mut app = previewing();
    assert!(app.handle_key(key(KeyCode::Char('n'))).is_empty());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn snapshots_of_the_adoption_preview() {
    snap_sizes("console_adopt_preview", previewing);
}
