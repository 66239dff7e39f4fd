//! End to end, the real `govdeck demo --as owner` in a pseudo-terminal with
//! `$EDITOR` set to a script: `:intake` hands the terminal to the editor
//! (its output shows on the screen), takes it back (the console is drawn
//! again, the preview open), and `y` registers the app on the server.

mod e2e_support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use e2e_support::Tui;

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
    let home = tempfile::tempdir().unwrap();
    let (config, cache, dir) = (home.path().join("config"), home.path().join("cache"), home.path().join("demo"));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let editor = home.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\nprintf 'the editor has the terminal: %s\\n' \"$1\"\nsleep 1\ncat > \"$1\" <<'EOF'\n{MANIFEST}EOF\n"),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (home_str, config_str, cache_str, editor_str) =
        (s(&home.path().to_path_buf()), s(&config), s(&cache), s(&editor));
    let mut tui = Tui::spawn(
        &PathBuf::from(env!("CARGO_BIN_EXE_govdeck")),
        &["demo", "--as", "owner", "--dir", dir.to_str().unwrap()],
        24,
        80,
        &[
            ("TERM", "xterm-256color"),
            ("HOME", &home_str),
            ("XDG_CONFIG_HOME", &config_str),
            ("XDG_CACHE_HOME", &cache_str),
            ("GOVDECK_CONFIG_DIR", &config_str),
            ("GOVDECK_CACHE_DIR", &cache_str),
            ("EDITOR", &editor_str),
        ],
        &["NO_COLOR", "GOVDECK_SERVER", "GOVDECK_TOKEN", "GOVDECK_DB", "RUST_LOG", "VISUAL"],
        None,
    );
    tui.wait_until("the inventory, synced", STARTUP, |rows| {
        // Online, and the first sync has brought who the user is (before it
        // the console knows no roles, and an action would say so).
        rows.iter().any(|r| r.contains(" Inventory · "))
            && rows.iter().any(|r| r.contains("online") && r.contains("olive (owner)"))
    });
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
    let store = govdeck::store::Store::open(&dir.join("catalog.sqlite")).unwrap();
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
