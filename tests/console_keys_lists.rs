//! Key-sequence tests of the lists: the `/` filter selects the best match
//! after every change of the query (and when rows arrive later), in every
//! list pane; the sort arrows say the direction applied and a sort change
//! goes to the top; the extended search syntax narrows as fzf's does.

mod console_support;

use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::{fixture_data, fixture_data_for, fixture_now, pat};
use govdeck::app::{App, ConsoleData, Event, PaneId};

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

fn approval_ids(app: &App) -> Vec<String> {
    app.approvals().visible_ids(app.context()).iter().map(|id| id.to_string()).collect()
}

fn approval(app: &App, id: &str) -> govdeck::domain::Approval {
    app.data().approvals.iter().find(|a| a.id == id).cloned().unwrap()
}

#[test]
fn slash_filters_the_approval_queue_by_app_requester_kind_and_tier() {
    let mut app = console(fixture_data(fixture_now()));
    chars(&mut app, "2");
    let queue = approval_ids(&app);
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Down));
    }
    // By kind: the app named like it first (a name hit), then the renewals.
    chars(&mut app, "/renewal");
    let shown = approval_ids(&app);
    assert_eq!(approval(&app, &shown[0]).app_name, "renewal-reminder", "{shown:?}");
    assert!(shown.len() < queue.len());
    let renewals: Vec<&String> =
        queue.iter().filter(|id| approval(&app, id).kind == govdeck::domain::ApprovalKind::Renewal).collect();
    assert!(!renewals.is_empty() && renewals.iter().all(|id| shown.contains(id)), "{shown:?}");
    assert_eq!(app.approvals().selected_id(app.context()), Some(shown[0].as_str()), "the best match is selected");
    assert!(screen(&app, 80, 24).contains("/ renewal"));
    // Enter keeps the query; `a` acts on what the highlight shows.
    app.handle_key(key(KeyCode::Enter));
    chars(&mut app, "a");
    assert_eq!(app.overlay_name(), Some("confirm"));
    app.handle_key(key(KeyCode::Esc));

    // By requester and by tier, with the same selection rule.
    chars(&mut app, "/");
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert_eq!(approval_ids(&app), queue, "an empty query shows the whole queue");
    assert_eq!(app.approvals().selected_id(app.context()), Some(queue[0].as_str()));
    chars(&mut app, "sam");
    let by_sam: Vec<String> = queue.iter().filter(|id| approval(&app, id).requested_by == "sam").cloned().collect();
    let shown = approval_ids(&app);
    assert!(by_sam.iter().all(|id| shown.contains(id)), "{shown:?}");
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    chars(&mut app, "medium");
    let shown = approval_ids(&app);
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|id| approval(&app, id).risk.tier == govdeck::domain::Tier::Medium), "{shown:?}");
    assert_eq!(app.approvals().selected_id(app.context()), Some(shown[0].as_str()));

    // Esc while typing clears it; esc in the list clears a kept query.
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(approval_ids(&app), queue);
    chars(&mut app, "/omar");
    app.handle_key(key(KeyCode::Enter));
    assert!(approval_ids(&app).len() < queue.len());
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(approval_ids(&app), queue);
    // The tab badge counts the whole queue.
    assert_eq!(app.active_pane(), PaneId::Approvals);
}

#[test]
fn slash_filters_renewals_by_app_owner_team_and_state() {
    let mut app = console(fixture_data_for(pat(), fixture_now()));
    chars(&mut app, "5");
    let all: Vec<String> = app.renewals().visible_ids(app.context()).iter().map(|s| s.to_string()).collect();
    let shown = |app: &App| -> Vec<String> {
        app.renewals().visible_ids(app.context()).iter().map(|s| s.to_string()).collect()
    };
    let of = |app: &App, id: &str| app.context().app(id).cloned().unwrap();
    app.handle_key(key(KeyCode::End));
    chars(&mut app, "/quarantined");
    let rows = shown(&app);
    let quarantined: Vec<&String> =
        all.iter().filter(|id| of(&app, id).state == govdeck::domain::AppState::Quarantined).collect();
    assert!(!quarantined.is_empty());
    assert!(quarantined.iter().all(|id| rows.contains(id)), "{rows:?}");
    assert!(rows.len() < all.len());
    assert_eq!(app.renewals().selected_id(app.context()), Some(rows[0].as_str()), "the best match is selected");

    for (query, holds) in [
        (
            "priya",
            &(|a: &govdeck::domain::AppSummary| a.owner == "priya") as &dyn Fn(&govdeck::domain::AppSummary) -> bool,
        ),
        ("facilities", &|a: &govdeck::domain::AppSummary| a.team == "facilities"),
        ("travel-planner", &|a: &govdeck::domain::AppSummary| a.name == "travel-planner"),
    ] {
        app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        chars(&mut app, query);
        let rows = shown(&app);
        let expected: Vec<&String> = all.iter().filter(|id| holds(&of(&app, id))).collect();
        assert!(!expected.is_empty(), "{query}");
        assert!(expected.iter().all(|id| rows.contains(id)), "{query}: {rows:?}");
        assert!(rows.len() < all.len(), "{query}");
        assert_eq!(app.renewals().selected_id(app.context()), Some(rows[0].as_str()), "{query}");
    }
    // `n` renews what the highlight shows.
    app.handle_key(key(KeyCode::Enter));
    let effects = app.handle_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
    let travel = all.iter().find(|id| of(&app, id).name == "travel-planner").unwrap();
    assert_eq!(effects, vec![govdeck::app::Effect::Renew { app_id: travel.clone(), days: None }]);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(shown(&app), all);
}
