//! The fuzzy filter (`govdeck::search`) over the seeded catalog's apps: name,
//! owner, team and purpose, sanitized as the console's search index holds
//! them. Target (issue "Fast at 100,000 apps"): one keystroke over 100k apps,
//! match + sort, p50 ≤ 8 ms, p95 ≤ 25 ms (the p95 comes from the
//! `keystrokes` bench; divan reports medians).
//!
//! Both engines run over the same records and queries, so BENCHMARKS.md can
//! put them side by side: `nucleo` (the engine of `search::rank`) and
//! `skim` (fuzzy-matcher, the earlier engine, via `search::rank_with`).
//!
//! * `prepared::{keystroke,narrowed}`: the console's way, nucleo on a
//!   `search::Index` built once: the matches ranked, and the first window
//!   of rows (33 at 120x40) put in order, the rest left unordered;
//! * `index_build`: building that index over every app;
//! * `keystroke::{nucleo,skim}`: one query of 1, 2, 3 or 5 characters, or
//!   two terms, over every app from scratch (the first keystroke, a paste,
//!   or a backspace);
//! * `narrowed::{nucleo,skim}`: one appended character, searched over the
//!   previous query's hits only, as the inventory pane does while the query
//!   grows;
//! * `typed_sequence`: the whole appended-character sequence, each step
//!   narrowing from the last;
//! * `with_positions`: `search::filter`, which also computes highlight
//!   positions for every match (for callers that draw every match highlighted).
//!
//! Sizes: see `support` (GOVDECK_BENCH_QUICK, GOVDECK_BENCH_APPS).

mod support;

use std::sync::OnceLock;
use std::time::Instant;

use divan::{Bencher, black_box};
use govdeck::search::{self, Engine};

/// The queries of one keystroke: 1, 2, 3 and 5 characters, and two terms,
/// from the catalog's words.
const KEYSTROKES: &[&str] = &["s", "qu", "inv", "budge", "sales q"];
/// The query typed one character at a time.
const TYPED: &str = "expense";

/// The rows the inventory shows at 120x40.
const WINDOW_ROWS: usize = 33;

struct Corpus {
    seeded: support::Seeded,
    fields: Vec<[String; 4]>,
    index: search::Index,
}

static CORPUS: OnceLock<Corpus> = OnceLock::new();

fn corpus() -> &'static Corpus {
    CORPUS.get_or_init(|| {
        let sizes = support::sizes();
        // The filter needs apps only: a small audit log keeps the seed short.
        let seeded = support::seeded(sizes.apps, sizes.apps);
        let started = Instant::now();
        let fields = support::search_fields(&support::apps_of(&seeded.db));
        support::note(&format!("read {} apps", fields.len()), started);
        let index = search::Index::build(&fields);
        Corpus { seeded, fields, index }
    })
}

fn main() {
    // Built before divan starts, so its notes do not break divan's table.
    if !std::env::args().any(|arg| arg == "--list") {
        corpus();
    }
    divan::main();
    if let Some(corpus) = CORPUS.get() {
        support::remove(&corpus.seeded);
    }
}

/// Indexes (into `fields`) of the apps matching `query` among `candidates`, best first.
fn search_among(engine: Engine, fields: &[[String; 4]], candidates: &[usize], query: &str) -> Vec<usize> {
    search::rank_with(engine, query, candidates.iter().map(|&i| &fields[i]))
        .into_iter()
        .map(|m| candidates[m.index])
        .collect()
}

fn keystroke(bencher: Bencher, engine: Engine, query: &str) {
    let fields = &corpus().fields;
    bencher.bench(|| search::rank_with(engine, black_box(query), fields.iter()));
}

/// `len`: the query is the first `len` characters of "expense", searched
/// over the hits of the first `len - 1`.
fn narrowed(bencher: Bencher, engine: Engine, len: usize) {
    let fields = &corpus().fields;
    let all: Vec<usize> = (0..fields.len()).collect();
    let mut previous = search_among(engine, fields, &all, &TYPED[..len - 1]);
    previous.sort_unstable();
    let query = &TYPED[..len];
    bencher.bench(|| search_among(engine, fields, &previous, black_box(query)));
}

#[divan::bench_group]
mod prepared {
    use super::*;

    #[divan::bench(args = KEYSTROKES)]
    fn keystroke(bencher: Bencher, query: &str) {
        let index = &corpus().index;
        let all: Vec<usize> = (0..index.len()).collect();
        bencher.bench(|| index.rank(black_box(query), &all).records(0..WINDOW_ROWS));
    }

    /// As `narrowed` below: the first `len` characters of "expense" over
    /// the hits of the first `len - 1`.
    #[divan::bench(args = 2..=TYPED.len())]
    fn narrowed(bencher: Bencher, len: usize) {
        let index = &corpus().index;
        let all: Vec<usize> = (0..index.len()).collect();
        let previous = index.rank(&TYPED[..len - 1], &all).matched();
        bencher.bench(|| index.rank(black_box(&TYPED[..len]), &previous).records(0..WINDOW_ROWS));
    }
}

#[divan::bench(sample_count = 20)]
fn index_build(bencher: Bencher) {
    let fields = &corpus().fields;
    bencher.bench(|| search::Index::build(fields));
}

#[divan::bench_group]
mod keystroke {
    use super::*;

    #[divan::bench(args = KEYSTROKES)]
    fn nucleo(bencher: Bencher, query: &str) {
        keystroke(bencher, Engine::Nucleo, query);
    }

    #[divan::bench(args = KEYSTROKES)]
    fn skim(bencher: Bencher, query: &str) {
        keystroke(bencher, Engine::Skim, query);
    }
}

#[divan::bench_group]
mod narrowed {
    use super::*;

    #[divan::bench(args = 2..=TYPED.len())]
    fn nucleo(bencher: Bencher, len: usize) {
        narrowed(bencher, Engine::Nucleo, len);
    }

    #[divan::bench(args = 2..=TYPED.len())]
    fn skim(bencher: Bencher, len: usize) {
        narrowed(bencher, Engine::Skim, len);
    }
}

#[divan::bench]
fn typed_sequence(bencher: Bencher) {
    let fields = &corpus().fields;
    let all: Vec<usize> = (0..fields.len()).collect();
    bencher.counter(divan::counter::ItemsCount::new(TYPED.len())).bench(|| {
        let mut candidates = all.clone();
        for len in 1..=TYPED.len() {
            let mut hits = search_among(Engine::Nucleo, fields, &candidates, black_box(&TYPED[..len]));
            hits.sort_unstable();
            candidates = hits;
        }
        candidates
    });
}

#[divan::bench(args = ["s", "budge"], sample_count = 20)]
fn with_positions(bencher: Bencher, query: &str) {
    let fields = &corpus().fields;
    bencher.bench(|| search::filter(black_box(query), fields.iter()));
}
