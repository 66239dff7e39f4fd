//! End to end, the real `govdeck demo --as owner` in a pseudo-terminal with
//! `$EDITOR` set to a script that edits the file it is given: `e` on an app
//! hands the terminal to the editor on the app's manifest, takes it back with
//! the diff to confirm, and `y` amends the app on the server.

mod e2e_support;

use std::time::Duration;

use e2e_support::EditorDemo;

const STARTUP: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(15);

#[test]
fn e_edits_the_manifest_in_the_editor_and_the_amendment_reaches_the_server() {
    let mut demo = EditorDemo::start(
        "owner",
        "olive (owner)",
        "printf 'the editor has the terminal: %s\\n' \"$1\"\nsleep 1\nsed -i 's/^expected_users = .*/expected_users = 69/' \"$1\"\n",
        STARTUP,
    );
    let tui = &mut demo.tui;
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
    let store = govdeck::store::Store::open(&demo.catalog()).unwrap();
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
