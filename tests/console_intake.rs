//! `:intake` in the console, key by key with the text an editor would have
//! left handed to `App::edited`: the template opens in the editor, a text
//! with problems reopens with them as comments, an emptied or unchanged
//! text cancels, a valid one is previewed (snapshots at 80x24 and 120x40)
//! and submitted with `y` (or not, with `n`).

mod console_support;

use console_support::{command, console, key, snap_sizes, toast_text};
use crossterm::event::KeyCode;
use govdeck::app::edit::{EditPurpose, EditRequest};
use govdeck::app::fixtures::{fixture_data_for, fixture_now, olive, riley};
use govdeck::app::{App, Effect};
use govdeck::domain::Manifest;
use govdeck::domain::manifest_file;

fn as_olive() -> App {
    console(fixture_data_for(olive(), fixture_now()))
}

/// The text `:intake` handed to the editor.
fn opened(effects: &[Effect]) -> EditRequest {
    match effects {
        [Effect::Edit(request)] => request.clone(),
        other => panic!("expected one edit, got {other:?}"),
    }
}

/// The template with a name, team and purpose of one's own.
fn written() -> String {
    manifest_file::template(govdeck::domain::policy::Policy::builtin())
        .replace("name = \"my-app\"", "name = \"room-booker\"")
        .replace("team = \"my-team\"", "team = \"facilities\"")
        .replace("expected_users = 5", "expected_users = 40")
}

fn broken() -> String {
    written()
        .replace("team = \"facilities\"\n", "")
        .replace("data_classification = \"internal\"", "data_classification = \"secret\"")
        .replace("otel = false", "otel = \"no\"")
}

/// A console with the preview of [`written`] open.
fn previewing() -> App {
    let mut app = as_olive();
    let request = opened(&command(&mut app, "intake"));
    assert!(app.edited(request.purpose, Ok(written())).is_empty());
    app
}

#[test]
fn intake_opens_the_template_in_the_editor() {
    let mut app = as_olive();
    let request = opened(&command(&mut app, "intake"));
    assert_eq!(request.purpose, EditPurpose::Intake);
    assert_eq!(request.suffix, ".toml");
    assert_eq!(request.text, manifest_file::template(govdeck::domain::policy::Policy::builtin()));
    assert_eq!(app.overlay_name(), None);
}

#[test]
fn before_the_first_sync_brings_the_users_roles_intake_says_to_wait_not_that_the_role_is_wrong() {
    let unknown = govdeck::domain::api::Me { user: "(not synced yet)".into(), roles: Vec::new() };
    let mut app = console(fixture_data_for(unknown, fixture_now()));
    assert!(command(&mut app, "intake").is_empty(), "no editor yet");
    let toast = toast_text(&app);
    assert!(toast.contains("learns your roles with its first sync"), "{toast}");
    assert!(!toast.contains("needs the owner"), "{toast}");
}

#[test]
fn a_reviewer_is_told_intake_is_not_theirs() {
    let mut app = console(fixture_data_for(riley(), fixture_now()));
    assert!(command(&mut app, "intake").is_empty());
    let toast = toast_text(&app);
    assert!(toast.contains(":intake needs the owner, lead or admin role") && toast.contains("reviewer"), "{toast}");
}

#[test]
fn an_emptied_or_unchanged_text_cancels() {
    let mut app = as_olive();
    let request = opened(&command(&mut app, "intake"));
    assert!(app.edited(request.purpose.clone(), Ok(request.text.clone())).is_empty());
    assert!(toast_text(&app).contains("template was left unchanged; nothing was sent"), "{}", toast_text(&app));
    assert!(app.edited(request.purpose.clone(), Ok("# nothing\n\n".into())).is_empty());
    assert!(toast_text(&app).contains("emptied; nothing was sent"), "{}", toast_text(&app));
    assert_eq!(app.overlay_name(), None);
    // The editor failing sends nothing either.
    assert!(app.edited(request.purpose, Err("editor exited with status 1".into())).is_empty());
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn problems_reopen_the_editor_with_them_as_comments_on_the_same_text() {
    let mut app = as_olive();
    let request = opened(&command(&mut app, "intake"));
    let reopened = opened(&app.edited(request.purpose, Ok(broken())));
    assert_eq!(reopened.purpose, EditPurpose::Intake);
    assert!(reopened.text.ends_with(&broken()), "the text written is kept whole below the problems");
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("console_intake_problems_reopen", reopened.text.lines().take(6).collect::<Vec<_>>().join("\n"));
    });
    // Each line named is the line of the file shown.
    let lines: Vec<&str> = reopened.text.lines().collect();
    let shown = |needle: &str| lines.iter().position(|l| l.starts_with(needle)).map(|i| i + 1).unwrap();
    assert!(reopened.text.contains(&format!("line {}: data_classification", shown("data_classification ="))));
    assert!(reopened.text.contains(&format!("line {}: controls.otel", shown("otel ="))));

    // Saved again, changed but still broken: reopened, the problems once, not twice.
    let changed = reopened.text.replace("purpose = ", "purpose = \"Books rooms\"\nold_purpose = ");
    let again = opened(&app.edited(EditPurpose::Intake, Ok(changed.clone())));
    assert_eq!(again.text.matches("This manifest has").count(), 1, "{}", again.text);
    assert!(again.text.contains("old_purpose: is not a field"), "{}", again.text);
    // Saved unchanged after a reopen: cancelled, not reopened for ever.
    assert!(app.edited(EditPurpose::Intake, Ok(again.text.clone())).is_empty());
    assert!(toast_text(&app).contains("saved unchanged with its problems; nothing was sent"), "{}", toast_text(&app));
    // Fixed below the comments: the preview.
    let fixed = reopened.text.replace(&broken(), &written());
    assert!(app.edited(EditPurpose::Intake, Ok(fixed)).is_empty());
    assert_eq!(app.overlay_name(), Some("confirm"));
}

#[test]
fn a_name_another_app_holds_is_a_problem_before_anything_is_sent() {
    let mut app = as_olive();
    opened(&command(&mut app, "intake"));
    let text = written().replace("name = \"room-booker\"", "name = \"crm-sync\"");
    let reopened = opened(&app.edited(EditPurpose::Intake, Ok(text)));
    assert!(reopened.text.contains("name: the name \"crm-sync\" is taken by app"), "{}", reopened.text);
}

#[test]
fn the_preview_says_score_tier_review_and_due_time_and_y_submits() {
    let mut app = previewing();
    assert_eq!(app.overlay_name(), Some("confirm"));
    let screen = console_support::screen(&app, 120, 40);
    assert!(screen.contains("room-booker · team facilities · owner olive"), "{screen}");
    assert!(screen.contains("Risk 20 (low): data 10 + users 10 + connectivity 0 + environment 0"), "{screen}");
    assert!(screen.contains("one reviewer or lead must approve"), "{screen}");
    let effects = app.handle_key(key(KeyCode::Char('y')));
    let [Effect::Intake { name, manifest }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(name, "room-booker");
    let sent: Manifest = serde_json::from_str(manifest).unwrap();
    assert_eq!(sent, manifest_file::parse(&written(), manifest_file::Format::Toml).unwrap());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("submitting room-booker for intake"), "{}", toast_text(&app));
}

#[test]
fn n_in_the_preview_sends_nothing() {
    let mut app = previewing();
    assert!(app.handle_key(key(KeyCode::Char('n'))).is_empty());
    assert_eq!(app.overlay_name(), None);
    assert!(toast_text(&app).contains("nothing was sent"));
}

#[test]
fn snapshots_of_the_intake_preview() {
    snap_sizes("console_intake_preview", previewing);
}
