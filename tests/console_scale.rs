//! The console at the scale docs/architecture.md names: 100,000 apps. Only the visible
//! rows are drawn, and the fuzzy filter runs over a compact per-snapshot
//! index, narrowing from the previous hits while the query grows.
//!
//! The timing test is ignored by default (timings on shared CI machines are
//! noise); run it with
//! `cargo test --release --test console_scale -- --ignored --nocapture`.
//! The correctness test runs always, at 20,000 apps.

mod console_support;

use std::time::{Duration, Instant};

use console_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::fixtures::scaled_fixture;
use govdeck::app::{Event, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[test]
fn filtering_a_large_inventory_narrows_correctly() {
    let mut app = console(scaled_fixture(20_000));
    // quote-builder is the fixture's first app: copy 19994 is 769 × 26.
    press(&mut app, "/quote-builder-19994");
    let ids = app.inventory().visible_ids(app.context());
    assert_eq!(ids.first().copied(), Some("app-019994"), "{:?}", &ids[..ids.len().min(5)]);
    // Growing the query only narrows; shrinking it widens again, to exactly
    // what typing the shorter query afresh shows (the backspace reuses the
    // hits kept from typing it).
    let narrowed = ids.len();
    app.handle_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    app.handle_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    let widened: Vec<String> = app.inventory().visible_ids(app.context()).iter().map(|s| s.to_string()).collect();
    assert!(widened.len() >= narrowed);
    let mut fresh = console(scaled_fixture(20_000));
    press(&mut fresh, "/quote-builder-199");
    assert_eq!(widened, fresh.inventory().visible_ids(fresh.context()));
    // A different term after the backspace searches from the kept hits too.
    press(&mut app, "4 cop");
    press(&mut fresh, "4 cop");
    assert_eq!(app.inventory().visible_ids(app.context()), fresh.inventory().visible_ids(fresh.context()));
    // A new snapshot re-runs the search against it.
    let mut data = scaled_fixture(20_000);
    data.apps.truncate(10_000);
    app.handle_event(Event::Data(Box::new(data)));
    assert!(app.inventory().visible_ids(app.context()).iter().all(|id| id < &"app-010000"));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    assert!(terminal.backend().to_string().contains("of 10000 apps"));
}

#[test]
#[ignore = "timing; run in release with --ignored"]
fn a_keystroke_over_100k_apps_stays_interactive() {
    let data = scaled_fixture(100_000);
    let started = Instant::now();
    let mut app = console(data.clone());
    println!("first snapshot: {:?}", started.elapsed());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut slowest = Duration::ZERO;
    for c in "/sales".chars() {
        let started = Instant::now();
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        terminal.draw(|frame| render(&app, frame)).unwrap();
        println!("key {c:?} + draw: {:?}", started.elapsed());
        slowest = slowest.max(started.elapsed());
    }
    let started = Instant::now();
    app.handle_event(Event::Data(Box::new(data)));
    terminal.draw(|frame| render(&app, frame)).unwrap();
    println!("new snapshot + draw: {:?}", started.elapsed());
    assert!(slowest < Duration::from_millis(250), "slowest keystroke took {slowest:?}");
}
