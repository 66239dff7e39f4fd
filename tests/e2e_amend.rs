//! End to end, the real `govdeck demo --as owner` in a pseudo-terminal with
//! `$EDITOR` set to a script that edits the file it is given: `e` on an app
//! hands the terminal to the editor on the app's manifest, takes it back with
//! the diff to confirm, and `y` amends the app on the server.

mod e2e_support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use e2e_support::Tui;

const STARTUP: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(15);

#[test]
fn e_edits_the_manifest_in_the_editor_and_the_amendment_reaches_the_server() {
    let home = tempfile::tempdir().unwrap();
    let (config, cache, dir) = (home.path().join("config"), home.path().join("cache"), home.path().join("demo"));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let editor = home.path().join("editor.sh");
    // Edits in place, as a person would: one line of the manifest changes.
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'the editor has the terminal: %s\\n' \"$1\"\nsleep 1\n\
         sed -i 's/^expected_users = .*/expected_users = 69/' \"$1\"\n",
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
    tui.send("/'sales-quoting\r");
    tui.wait_until("sales-quoting alone", STEP, |rows| rows.iter().any(|r| r.contains(" Inventory · 1 of ")));
    tui.send("e");
    tui.wait_for_text("the editor has the terminal: ", STEP);
    assert!(tui.text().contains(".toml"), "the editor was given a .toml file: {}", tui.dump());
    tui.wait_until("the console back, with the diff to confirm", STEP, |rows| {
        rows.iter().any(|r| r.contains("Amend sales-quoting"))
            && rows.iter().any(|r| r.contains("expected_users: 68 → 69"))
            && !rows.iter().any(|r| r.contains("the editor has the terminal"))
    });
    tui.wait_for_text("applies at once", STEP);
    tui.send("y");
    tui.wait_for_text("amended sales-quoting", STEP);
    tui.send(":q\r");
    assert_eq!(tui.wait_exit(Duration::from_secs(15)), 0, "{}", tui.dump());

    // On the server: the new value and one app.amend event naming the field.
    let store = govdeck::store::Store::open(&dir.join("catalog.sqlite")).unwrap();
    let (users, id): (i64, String) = store
        .conn()
        .query_row(
            "SELECT json_extract(data, '$.expected_users'), id FROM apps \
             WHERE json_extract(data, '$.name') = 'sales-quoting'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the app is on the server");
    assert_eq!(users, 69);
    let changes: Vec<String> = store
        .conn()
        .prepare(
            "SELECT request_context FROM audit WHERE action_type = 'app.amend' AND actor_id = 'olive' AND app_id = ?1",
        )
        .unwrap()
        .query_map([&id], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].contains("\"field\":\"expected_users\""), "{}", changes[0]);
}
