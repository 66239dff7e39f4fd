//! Key-sequence tests of the lists: the `/` filter selects the best match
//! after every change of the query (and when rows arrive later), in every
//! list pane; the sort arrows say the direction applied and a sort change
//! goes to the top; the extended search syntax narrows as fzf's does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, pat};
use govdeck::app::{App, ConsoleData, Event, PaneId, UiSettings, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn console(data: ConsoleData) -> App {
    App::new(data, UiSettings::default(), fixture_now())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        let modifiers = if c.is_ascii_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        app.handle_key(KeyEvent::new(KeyCode::Char(c), modifiers));
    }
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn selected(app: &App) -> String {
    app.inventory().selected_app(app.context()).map(|a| a.id.to_string()).unwrap_or_default()
}

fn first_shown(app: &App) -> String {
    app.inventory().visible_ids(app.context()).first().map(|id| id.to_string()).unwrap_or_default()
}

fn name_of(app: &App, id: &str) -> String {
    app.context().app(id).map(|a| a.name.to_string()).unwrap_or_default()
}

/// The fixture with a few names changed so that a query's best match sits
/// far from the top in the name order, as in the demo: `zone-picker` is
/// last by name and the best `z`; `badge-digest` comes first by name and
/// matches `bdgr` in its purpose, but `badge-report` is the best match.
fn renamed_fixture() -> ConsoleData {
    let mut data = fixture_data(fixture_now());
    let mut apps = data.full_apps_in_order();
    for app in &mut apps {
        match app.name.as_str() {
            "warehouse-picker" => app.name = "zone-picker".into(),
            "badge-printer" => {
                app.name = "badge-digest".into();
                app.purpose = "Builds digests of guest registrations".into();
            }
            "kpi-snapshot" => app.name = "badge-report".into(),
            _ => {}
        }
    }
    data.set_full_apps(apps);
    data
}

#[test]
fn every_keystroke_of_the_filter_selects_the_best_match() {
    let mut app = console(renamed_fixture());
    chars(&mut app, "/");
    for c in "bdgr".chars() {
        chars(&mut app, &c.to_string());
        assert_eq!(selected(&app), first_shown(&app), "after {:?}", app.inventory().query());
    }
    assert_eq!(name_of(&app, &first_shown(&app)), "badge-report");
    // The highlight is on the first row of the list, which shows the top.
    let shown = screen(&app, 120, 40);
    let marked = shown.lines().find(|line| line.contains('▶')).unwrap_or_default();
    assert!(marked.contains("badge-report"), "{shown}");
    // Enter keeps the query, enter again opens what the highlight shows.
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Enter));
    let opened = app.inventory().detail_app_id().map(|id| name_of(&app, id));
    assert_eq!(opened.as_deref(), Some("badge-report"));
}

#[test]
fn deleting_the_query_leaves_the_cursor_on_the_first_row() {
    let mut app = console(renamed_fixture());
    let top = first_shown(&app);
    chars(&mut app, "/zzzq");
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
        assert_eq!(selected(&app), first_shown(&app), "after {:?}", app.inventory().query());
    }
    assert_eq!(app.inventory().query(), "");
    assert_eq!(selected(&app), top);
    // ctrl-u and a paste (keys in one go) follow the same rule.
    chars(&mut app, "z");
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert_eq!(selected(&app), top);
    app.handle_keys("picker".chars().map(|c| key(KeyCode::Char(c))));
    assert_eq!(selected(&app), first_shown(&app));
}

#[test]
fn rows_that_arrive_after_the_query_select_their_best_match() {
    // The first frame holds the first apps by name; the rest arrive later.
    let full = renamed_fixture();
    let mut page = full.clone();
    let mut apps = page.full_apps_in_order();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps.truncate(5);
    page.set_full_apps(apps);
    page.loading = Some(full.apps.len());
    let mut app = console(page);
    chars(&mut app, "/r");
    app.handle_key(key(KeyCode::Enter));
    let best_of_the_page = selected(&app);
    app.handle_event(Event::Data(Box::new(full.clone())));
    assert_ne!(first_shown(&app), best_of_the_page, "the rest of the cache holds a better match");
    assert_eq!(selected(&app), first_shown(&app));

    // Once the user moved, new rows keep the item they chose.
    chars(&mut app, "/");
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Down));
    let chosen = selected(&app);
    assert_ne!(chosen, first_shown(&app));
    app.handle_event(Event::Data(Box::new(full)));
    assert_eq!(selected(&app), chosen);
}

#[test]
fn sort_arrows_say_the_direction_applied_for_every_column() {
    let mut app = console(fixture_data_for(pat(), fixture_now()));
    let users = |app: &App| -> Vec<u32> {
        let ids = app.inventory().visible_ids(app.context());
        ids.iter().map(|id| app.context().app(id).unwrap().expected_users).collect()
    };
    app.run_command("sort users");
    assert!(screen(&app, 120, 40).contains("sort users ▲"));
    let ascending = users(&app);
    assert!(ascending.is_sorted(), "users ▲ is the fewest first: {ascending:?}");
    chars(&mut app, "S");
    assert!(screen(&app, 120, 40).contains("sort users ▼"));
    let descending = users(&app);
    assert!(descending.iter().rev().is_sorted(), "users ▼ is the most first: {descending:?}");
    app.run_command("sort users desc");
    assert_eq!(users(&app), descending);

    // Every column ascends from its smallest, earliest or first value.
    let key_of = |app: &App, column: &str, id: &str| -> i64 {
        let a = app.context().app(id).unwrap();
        match column {
            "tier" => i64::from(a.risk.score),
            "data" => ["public", "internal", "sensitive", "pii"]
                .iter()
                .position(|d| *d == a.data_classification.as_str())
                .unwrap() as i64,
            "expires" => a.expires_at.map_or(i64::MAX, |at| at.timestamp()),
            _ => i64::from(a.expected_users),
        }
    };
    for column in ["tier", "data", "expires", "users"] {
        app.run_command(&format!("sort {column}"));
        let ids = app.inventory().visible_ids(app.context());
        let keys: Vec<i64> = ids.iter().map(|id| key_of(&app, column, id)).collect();
        assert!(keys.is_sorted(), "{column} ▲: {keys:?}");
    }
    app.run_command("sort name");
    let names: Vec<String> =
        app.inventory().visible_ids(app.context()).iter().map(|id| name_of(&app, id).to_lowercase()).collect();
    assert!(names.is_sorted(), "name ▲ is A first");
}

#[test]
fn a_sort_change_goes_to_the_top() {
    let mut app = console(fixture_data_for(pat(), fixture_now()));
    for _ in 0..30 {
        app.handle_key(key(KeyCode::Down));
    }
    assert_ne!(selected(&app), first_shown(&app));
    chars(&mut app, "s");
    assert_eq!(selected(&app), first_shown(&app), "s");
    app.handle_key(key(KeyCode::End));
    chars(&mut app, "S");
    assert_eq!(selected(&app), first_shown(&app), "S");
    app.handle_key(key(KeyCode::End));
    app.run_command("sort expires desc");
    assert_eq!(selected(&app), first_shown(&app), ":sort");
    let shown = screen(&app, 80, 24);
    let marked = shown.lines().find(|line| line.contains('▶')).unwrap_or_default();
    let first_name = name_of(&app, &first_shown(&app));
    assert!(marked.contains(&first_name[..8.min(first_name.len())]), "{shown}");
    assert_eq!(app.active_pane(), PaneId::Inventory);
}
