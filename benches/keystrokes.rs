//! Keystroke latency percentiles, which divan (medians) does not give: a
//! scripted filtering session over the seeded catalog (100k apps by
//! default) through the real console state and a 120x40 `TestBackend`,
//! timing each key's `handle_key` and the draw it causes. Also the fuzzy
//! filter alone (over every app, from scratch) for each prefix of the same
//! queries: as the console runs it (`search::Index::rank` on the index built
//! once, then the first window of rows put in order), as `search::rank` runs
//! it on plain records (fully sorted), and with the earlier skim engine for
//! comparison; and the bytes a cursor move writes to a 120x40 terminal
//! (ratatui's crossterm backend into a buffer).
//!
//! Targets: one keystroke over 100k apps p50 ≤ 8 ms, p95 ≤ 25 ms; one
//! cursor move ≤ 1 KiB. Prints a table and one `KEYSTROKES_JSON {...}` line
//! for `scripts/bench.sh`. Not divan: a plain `main` (`harness = false`).
//!
//! `GOVDECK_BENCH_ROUNDS` sets how often the session is repeated (default
//! 5, 1 when GOVDECK_BENCH_QUICK is set). Sizes: see `support`.

mod support;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use govdeck::app::{App, UiSettings, render};
use govdeck::search::{self, Engine};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
/// What a person might filter the inventory by: app words, teams, people,
/// connectors, two-term queries and a miss.
const QUERIES: &[&str] = &[
    "expense",
    "sales",
    "invoice bot",
    "sync",
    "report",
    "budget",
    "onboard",
    "dashb",
    "recon",
    "vpn",
    "finance",
    "salesforce",
    "qzx",
];
/// Backspaces after each query: the query shrinks, so the search starts over.
const BACKSPACES: usize = 2;
const CURSOR_MOVES: usize = 40;
/// The rows the inventory shows at 120x40.
const WINDOW_ROWS: usize = 33;
/// Cursor moves from the top that stay inside the window at 120x40.
const IN_WINDOW_MOVES: usize = 30;

/// A terminal that only counts the bytes written to it.
struct Counting(Arc<AtomicUsize>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::SeqCst);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Milliseconds at the `p`th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

struct Stats {
    name: &'static str,
    times: Vec<Duration>,
}

impl Stats {
    fn new(name: &'static str) -> Stats {
        Stats { name, times: Vec::new() }
    }

    fn summary(&mut self) -> (usize, f64, f64, f64) {
        self.times.sort_unstable();
        let max = self.times.last().map_or(f64::NAN, |t| t.as_secs_f64() * 1000.0);
        (self.times.len(), percentile(&self.times, 50.0), percentile(&self.times, 95.0), max)
    }
}

fn draw(app: &App, terminal: &mut Terminal<TestBackend>) {
    terminal.draw(|frame| render(app, frame)).expect("draw");
}

fn timed(stats: &mut Stats, f: impl FnOnce()) {
    let started = Instant::now();
    f();
    stats.times.push(started.elapsed());
}

fn main() {
    // `cargo bench -- NAME` runs only the benches whose name contains NAME.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "keystrokes".contains(f.as_str())) {
        return;
    }
    let sizes = support::sizes();
    let rounds = std::env::var("GOVDECK_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if sizes.quick {
        1
    } else {
        5
    });
    let world = support::World::build(sizes.apps, sizes.apps);
    let mut cache = world.open_cache();
    let data = cache.read(|conn| govdeck::console::load_data(conn, &world.url)).expect("load data");
    let fields = support::search_fields(&cache.read(govdeck::cache::catalog::apps).expect("apps"));
    drop(cache);
    let apps = data.apps.len();
    let settings = UiSettings::default();
    let now = support::now();

    // The console: a filtering session, key by key.
    let mut app = App::new(data.clone(), settings.clone(), now);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    terminal.draw(|frame| render(&app, frame)).expect("draw");
    let mut first = Stats::new("console: first character (all apps)");
    let mut appended = Stats::new("console: appended character (narrowing)");
    let mut backspace = Stats::new("console: backspace (search again)");
    let mut every = Stats::new("console: every keystroke above");
    let mut cursor = Stats::new("console: cursor move (Down)");
    for _ in 0..rounds {
        for query in QUERIES {
            app.handle_key(key(KeyCode::Char('/')));
            draw(&app, &mut terminal);
            for (i, c) in query.chars().enumerate() {
                let stats = if i == 0 { &mut first } else { &mut appended };
                let started = Instant::now();
                app.handle_key(key(KeyCode::Char(c)));
                draw(&app, &mut terminal);
                let took = started.elapsed();
                stats.times.push(took);
                every.times.push(took);
            }
            for _ in 0..BACKSPACES.min(query.len() - 1) {
                let started = Instant::now();
                app.handle_key(key(KeyCode::Backspace));
                draw(&app, &mut terminal);
                let took = started.elapsed();
                backspace.times.push(took);
                every.times.push(took);
            }
            app.handle_key(key(KeyCode::Esc));
            draw(&app, &mut terminal);
        }
        for _ in 0..CURSOR_MOVES {
            timed(&mut cursor, || {
                app.handle_key(key(KeyCode::Down));
                draw(&app, &mut terminal);
            });
        }
    }

    // The filter alone: every prefix of every query over all apps, from
    // scratch, and the same with the earlier engine for the comparison,
    // one right after the other so that both meet the same load.
    let mut prepared = Stats::new("Index::rank + first window, any prefix");
    let mut rank = Stats::new("search::rank, any prefix, all apps");
    let mut rank_skim = Stats::new("same, skim engine (rank_with Skim)");
    let started = Instant::now();
    let index = search::Index::build(&fields);
    let index_build = started.elapsed();
    let all: Vec<usize> = (0..fields.len()).collect();
    for _ in 0..rounds {
        for query in QUERIES {
            for (end, _) in query.char_indices().skip(1).chain([(query.len(), ' ')]) {
                let prefix = &query[..end];
                timed(&mut prepared, || {
                    std::hint::black_box(index.rank(prefix, &all).records(0..WINDOW_ROWS));
                });
                for (stats, engine) in [(&mut rank, Engine::Nucleo), (&mut rank_skim, Engine::Skim)] {
                    timed(stats, || {
                        std::hint::black_box(search::rank_with(engine, prefix, fields.iter()));
                    });
                }
            }
        }
    }

    // Bytes to the terminal: the first frame, then one cursor move each.
    let viewport = Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT));
    let written = Arc::new(AtomicUsize::new(0));
    let backend = CrosstermBackend::new(Counting(Arc::clone(&written)));
    let mut real =
        Terminal::with_options(backend, TerminalOptions { viewport }).expect("crossterm terminal over a counter");
    let mut app = App::new(data, settings, now);
    real.draw(|frame| render(&app, frame)).expect("draw");
    let first_frame_bytes = written.swap(0, Ordering::SeqCst);
    // At 120x40 the table shows 33 rows: the first moves stay inside the
    // window (two rows change), the later ones scroll it (every row changes).
    let mut move_bytes: Vec<usize> = (0..CURSOR_MOVES)
        .map(|_| {
            app.handle_key(key(KeyCode::Down));
            real.draw(|frame| render(&app, frame)).expect("draw");
            written.swap(0, Ordering::SeqCst)
        })
        .collect();
    let mut scrolling = move_bytes.split_off(IN_WINDOW_MOVES);
    move_bytes.sort_unstable();
    scrolling.sort_unstable();
    let median_move_bytes = move_bytes[move_bytes.len() / 2];
    let max_move_bytes = move_bytes.last().copied().unwrap_or(0);
    let median_scroll_bytes = scrolling[scrolling.len() / 2];

    println!("keystrokes: {apps} apps, {rounds} round(s), {WIDTH}x{HEIGHT}, release={}", !cfg!(debug_assertions));
    println!("{:<44} {:>6} {:>9} {:>9} {:>9}", "what", "count", "p50 ms", "p95 ms", "max ms");
    let mut json = Vec::new();
    let all_stats =
        [&mut first, &mut appended, &mut backspace, &mut every, &mut cursor, &mut prepared, &mut rank, &mut rank_skim];
    for stats in all_stats {
        let (count, p50, p95, max) = stats.summary();
        println!("{:<44} {count:>6} {p50:>9.2} {p95:>9.2} {max:>9.2}", stats.name);
        json.push(format!(
            "{{\"name\":\"{}\",\"count\":{count},\"p50_ms\":{p50:.3},\"p95_ms\":{p95:.3},\"max_ms\":{max:.3}}}",
            stats.name
        ));
    }
    println!("search::Index::build over all apps: {:.1} ms", index_build.as_secs_f64() * 1000.0);
    println!(
        "bytes: first frame {first_frame_bytes}; cursor move inside the window median {median_move_bytes}, \
         max {max_move_bytes}; cursor move that scrolls median {median_scroll_bytes}"
    );
    println!(
        "KEYSTROKES_JSON {{\"apps\":{apps},\"rounds\":{rounds},\"stats\":[{}],\"first_frame_bytes\":{first_frame_bytes},\"cursor_move_bytes_median\":{median_move_bytes},\"cursor_move_bytes_max\":{max_move_bytes},\"scroll_move_bytes_median\":{median_scroll_bytes}}}",
        json.join(",")
    );
    let seeded_dir = world.seeded.dir.path().to_path_buf();
    drop(world);
    let _ = std::fs::remove_dir_all(seeded_dir);
}
