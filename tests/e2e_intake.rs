//! End to end, the real `govdeck demo --as owner` in a pseudo-terminal with
//! `$EDITOR` set to a script: `:intake` hands the terminal to the editor
//! (its output shows on the screen), takes it back (the console is drawn
//! again, the preview open), and `y` registers the app on the server.

mod e2e_support;

use std::time::Duration;

use e2e_support::EditorDemo;

const STARTUP: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(15);

const MANIFEST: &str = r#"name = "e2e-room-booker"
purpose = "Books meeting rooms"
team = "facilities"
sponsor = "coo"
cost_center = "CC-3"
data_classification = "internal"
expected_users = 40
external_connectivity = "none"
execution_environment = "sandboxed"
lifecycle_tier = "tactical"
ttl_class = "prototype"
"#;

#[test]
fn intake_hands_the_terminal_to_the_editor_and_the_app_reaches_the_server() {
    let mut demo = EditorDemo::start(
        "owner",
        "olive (owner)",
        &format!("printf 'the editor has the terminal: %s\\n' \"$1\"\nsleep 1\ncat > \"$1\" <<'EOF'\n{MANIFEST}EOF\n"),
        STARTUP,
    );
    let tui = &mut demo.tui;
    tui.send(":intake\r");
    tui.wait_for_text("the editor has the terminal: ", STEP);
    assert!(tui.text().contains(".toml"), "the editor was given a .toml file: {}", tui.dump());
    tui.wait_until("the console back, with the preview", STEP, |rows| {
        rows.iter().any(|r| r.contains("Submit this app for intake?"))
            && rows.iter().any(|r| r.contains(" Inventory · "))
            && !rows.iter().any(|r| r.contains("the editor has the terminal"))
    });
    tui.wait_for_text("e2e-room-booker · team facilities · owner olive", STEP);
    tui.wait_for_text("Risk 20 (low)", STEP);
    tui.send("y");
    tui.wait_for_text("registered e2e-room-booker as app_", STEP);
    tui.send(":q\r");
    assert_eq!(tui.wait_exit(Duration::from_secs(15)), 0, "{}", tui.dump());

    // On the server: the app, pending its review, and its events.
    let store = govdeck::store::Store::open(&demo.catalog()).unwrap();
    let (state, owner): (String, String) = store
        .conn()
        .query_row("SELECT state, owner FROM apps WHERE json_extract(data, '$.name') = 'e2e-room-booker'", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .expect("the app is on the server");
    assert_eq!((state.as_str(), owner.as_str()), ("pending", "olive"));
    let registered: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action_type = 'app.registered' AND actor_id = 'olive' \
             AND app_id IN (SELECT id FROM apps WHERE json_extract(data, '$.name') = 'e2e-room-booker')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(registered, 1);
}
