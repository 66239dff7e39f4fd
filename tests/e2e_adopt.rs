//! End to end, the real `govdeck demo --as lead` in a pseudo-terminal with
//! `$EDITOR` set to a script: `:adopt` on a discovered app hands the
//! terminal to the editor on its imported manifest, the script writes the
//! purpose a person confirmed and an owner who is an active user (the
//! import's owners are not users of the demo, and the server refuses to
//! name one), the preview is titled for the adoption, and `y` adopts the
//! app on the server under its own id.

mod e2e_support;

use std::time::Duration;

use e2e_support::EditorDemo;

const STARTUP: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(15);

#[test]
fn adopt_hands_the_imported_manifest_to_the_editor_and_the_app_is_adopted_on_the_server() {
    // Where the script keeps a copy of the file it was given, to check its text.
    let copy = tempfile::tempdir().unwrap();
    let opened = copy.path().join("opened.toml");
    let script = format!(
        "cp \"$1\" '{}'\nprintf 'the editor has the terminal: %s\\n' \"$1\"\nsleep 1\n\
         sed -i -e 's/^purpose = .*/purpose = \"Confirmed by its owner\"/' \
         -e 's/^team = \"\"/team = \"finance\"/' -e 's/^owner = .*/owner = \"olive\"/' \"$1\"\n",
        opened.display()
    );
    let mut demo = EditorDemo::start("lead", "pat (lead)", &script, STARTUP);
    let tui = &mut demo.tui;
    tui.send(":filter state=discovered\r");
    tui.wait_for_text("state=discovered:", STEP);
    tui.send(":adopt\r");
    tui.wait_for_text("the editor has the terminal: ", STEP);
    tui.wait_until("the console back, with the preview", STEP, |rows| {
        rows.iter().any(|r| r.contains(" through review?"))
            && rows.iter().any(|r| r.contains(" Inventory · "))
            && !rows.iter().any(|r| r.contains("the editor has the terminal"))
    });
    // The editor was given the imported manifest under its heading.
    let text = std::fs::read_to_string(&opened).expect("the editor saw a file");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("# Adopting "), "{text}");
    let id = first.split('(').nth(1).and_then(|rest| rest.split(')').next()).expect("the id in the heading");
    tui.send("y");
    tui.wait_for_text("adopted ", STEP);
    tui.send(":q\r");
    assert_eq!(tui.wait_exit(Duration::from_secs(15)), 0, "{}", tui.dump());

    // On the server: the same id, out of discovery, confirmed by a person.
    let store = govdeck::store::Store::open(&demo.catalog()).unwrap();
    let (state, purpose, owner): (String, String, String) = store
        .conn()
        .query_row("SELECT state, json_extract(data, '$.purpose'), owner FROM apps WHERE id = ?1", [id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("the app is on the server");
    assert_ne!(state, "discovered");
    assert_eq!((purpose.as_str(), owner.as_str()), ("Confirmed by its owner", "olive"));
    let adopted: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action_type = 'app.adopted' AND actor_id = 'pat' AND app_id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(adopted, 1);
}
