//! The console's state and drawing with the whole seeded catalog loaded
//! (100k apps by default), as `console::load_data` reads it from a synced
//! cache, drawn on ratatui's `TestBackend` at 120x40:
//!
//! * `app_new`: building the state from a snapshot (name order, every
//!   pane's rows): with `load_data`, what stands before the first frame;
//! * `first_frame`: `app_new` plus the first draw;
//! * `first_search`: `/` and one character on a fresh state: the search
//!   index is built on the first search, then searched;
//! * `draw_inventory`: one full draw of the inventory pane, nothing changed;
//! * `cursor_move`: one Down (or Up) key and the draw it causes;
//! * `typed_filter`: `/`, "expense" typed one character at a time with a
//!   draw after each key, then Esc: what a person typing a filter costs.
//!
//! Sizes: see `support` (GOVDECK_BENCH_QUICK, GOVDECK_BENCH_APPS).

mod support;

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use divan::Bencher;
use govdeck::app::{App, ConsoleData, UiSettings, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const TYPED: &str = "expense";

struct Fixture {
    world: support::World,
    data: ConsoleData,
    settings: UiSettings,
    now: DateTime<Utc>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let sizes = support::sizes();
        // The console holds at most 5,000 events: a small audit log will do here
        // (the `cache` bench reads the full one).
        let world = support::World::build(sizes.apps, sizes.apps);
        let started = Instant::now();
        let mut cache = world.open_cache();
        let data = cache.read(|conn| govdeck::console::load_data(conn, &world.url)).expect("load data");
        support::note(&format!("loaded {} apps", data.apps.len()), started);
        drop(cache);
        Fixture { world, data, settings: UiSettings::default(), now: support::now() }
    })
}

fn main() {
    // Built before divan starts, so its notes do not break divan's table.
    if !std::env::args().any(|arg| arg == "--list") {
        fixture();
    }
    divan::main();
    if let Some(fixture) = FIXTURE.get() {
        support::remove(&fixture.world.seeded);
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal")
}

fn new_app(fixture: &Fixture) -> App {
    App::new(fixture.data.clone(), fixture.settings.clone(), fixture.now)
}

#[divan::bench(sample_count = 10)]
fn app_new(bencher: Bencher) {
    let fixture = fixture();
    bencher
        .with_inputs(|| (fixture.data.clone(), fixture.settings.clone()))
        .bench_local_values(|(data, settings)| App::new(data, settings, fixture.now));
}

#[divan::bench(sample_count = 10)]
fn first_frame(bencher: Bencher) {
    let fixture = fixture();
    bencher.with_inputs(|| (fixture.data.clone(), fixture.settings.clone(), terminal())).bench_local_values(
        |(data, settings, mut terminal)| {
            let app = App::new(data, settings, fixture.now);
            terminal.draw(|frame| render(&app, frame)).expect("draw");
            (app, terminal)
        },
    );
}

#[divan::bench(sample_count = 10)]
fn first_search(bencher: Bencher) {
    let fixture = fixture();
    bencher.with_inputs(|| (new_app(fixture), terminal())).bench_local_values(|(mut app, mut terminal)| {
        app.handle_key(key(KeyCode::Char('/')));
        app.handle_key(key(KeyCode::Char('s')));
        terminal.draw(|frame| render(&app, frame)).expect("draw");
        (app, terminal)
    });
}

#[divan::bench]
fn draw_inventory(bencher: Bencher) {
    let app = new_app(fixture());
    let mut terminal = terminal();
    bencher.bench_local(|| {
        terminal.draw(|frame| render(&app, frame)).expect("draw");
    });
}

#[divan::bench]
fn cursor_move(bencher: Bencher) {
    let mut app = new_app(fixture());
    let mut terminal = terminal();
    terminal.draw(|frame| render(&app, frame)).expect("draw");
    let mut down = true;
    bencher.bench_local(|| {
        app.handle_key(key(if down { KeyCode::Down } else { KeyCode::Up }));
        down = !down;
        terminal.draw(|frame| render(&app, frame)).expect("draw");
    });
}

#[divan::bench(sample_count = 20)]
fn typed_filter(bencher: Bencher) {
    let mut app = new_app(fixture());
    let mut terminal = terminal();
    // The first search builds the index; the typing below reuses it.
    app.handle_keys([key(KeyCode::Char('/')), key(KeyCode::Char('s')), key(KeyCode::Esc)]);
    terminal.draw(|frame| render(&app, frame)).expect("draw");
    bencher.counter(divan::counter::ItemsCount::new(TYPED.len() + 2)).bench_local(|| {
        app.handle_key(key(KeyCode::Char('/')));
        terminal.draw(|frame| render(&app, frame)).expect("draw");
        for c in TYPED.chars() {
            app.handle_key(key(KeyCode::Char(c)));
            terminal.draw(|frame| render(&app, frame)).expect("draw");
        }
        app.handle_key(key(KeyCode::Esc));
        terminal.draw(|frame| render(&app, frame)).expect("draw");
    });
}
