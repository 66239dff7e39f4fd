//! The inventory orders a search's matches only as far as it draws them
//! (the window, the selection): at 20,000 apps, what it shows row by row,
//! page by page, after a backspace and reversed must be exactly the order
//! `search::rank` gives (the order `govdeck apps --filter` prints).

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::scaled_fixture;
use govdeck::app::{App, ConsoleData, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The ids `search::rank` puts first to last for `query` over the apps'
/// sanitized name, owner, team and purpose: the order `govdeck apps
/// --filter` prints.
fn ranked_ids(data: &ConsoleData, query: &str) -> Vec<String> {
    use govdeck::sanitize::sanitize;
    let records: Vec<[String; 4]> =
        data.apps.iter().map(|a| [&a.name, &a.owner, &a.team, &a.purpose].map(|f| sanitize(f).into_owned())).collect();
    govdeck::search::rank(query, &records).into_iter().map(|m| data.apps[m.index].id.to_string()).collect()
}

/// The pane orders a search's matches only as far as it draws them: the
/// rows, the selection, paging far down, a backspace and reversing must
/// still show exactly `search::rank`'s order.
#[test]
fn rows_ordered_as_drawn_match_the_full_ranking() {
    let data = scaled_fixture(20_000);
    // 7,438 matches, and not the app selected before the search (the first
    // by name), so the search starts at the top.
    let expected = ranked_ids(&data, "se 2");
    assert!(expected.len() > 5_000, "{}", expected.len());
    let mut app = console(data.clone());
    let selected = |app: &App| app.inventory().selected_app(app.context()).map(|a| a.id.to_string());
    assert!(!expected.contains(&selected(&app).unwrap()));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    press(&mut app, "/se 2");
    app.handle_key(key(KeyCode::Enter));
    // Every row from the top, as drawn, past what the first draw ordered.
    for (row, id) in expected.iter().enumerate().take(300) {
        terminal.draw(|frame| render(&app, frame)).unwrap();
        assert_eq!(selected(&app).as_ref(), Some(id), "row {row}");
        app.handle_key(key(KeyCode::Down));
    }
    // Pages far down, each drawn.
    for _ in 0..100 {
        app.handle_key(key(KeyCode::PageDown));
        terminal.draw(|frame| render(&app, frame)).unwrap();
    }
    let row = 300 + 100 * 33;
    assert_eq!(selected(&app).as_ref(), Some(&expected[row]));
    let screen = terminal.backend().to_string();
    let name = |id: &str| data.apps.iter().find(|a| a.id == id).unwrap().name.to_string();
    assert!(screen.contains(&name(&expected[row])), "{screen}");
    assert!(screen.contains(&format!("{} of 20000 apps", expected.len())), "{screen}");
    // A backspace to "se" selects the best match of the wider query, as
    // every change of the query does.
    press(&mut app, "/");
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Enter));
    let widened = ranked_ids(&data, "se");
    assert_eq!(selected(&app).as_ref(), widened.first());
    assert_eq!(app.inventory().visible_ids(app.context()), widened);
    // Reversed, then back and to the last row.
    app.handle_key(key(KeyCode::Char('S')));
    let mut reversed = widened.clone();
    reversed.reverse();
    assert_eq!(app.inventory().visible_ids(app.context()), reversed);
    app.handle_key(key(KeyCode::Char('S')));
    app.handle_key(key(KeyCode::End));
    terminal.draw(|frame| render(&app, frame)).unwrap();
    assert_eq!(selected(&app).as_ref(), widened.last());
}
