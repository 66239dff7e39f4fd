//! The fuzzy filter: the only place the matcher is used, so the console's `/`
//! and `govdeck apps --filter` rank the same way. Pure and independent of the
//! UI. The engine is nucleo-matcher (the matcher of the helix editor);
//! fuzzy-matcher's skim matcher, the earlier engine, stays reachable through
//! [`rank_with`] only so the benchmarks can compare the two (BENCHMARKS.md).
//!
//! A record is a list of fields; the first is the one shown with its matched
//! characters highlighted (an app's name), the rest only count for matching
//! (owner, team, purpose). The query is fzf's extended search syntax (the
//! `query` module): terms split on whitespace, every one must match some
//! field — fuzzy (a subsequence) by default, `'exact`, `^prefix`,
//! `suffix$`, `!not` (in no field), and `a | b` for alternatives.
//!
//! * Smart case: a term is case-insensitive unless it holds a capital
//!   (Unicode case, so `École` is case-sensitive and `école` matches it).
//! * Accents: a term without accented letters ignores accents (`ecole`
//!   matches `École`), one with an accented letter matches exactly (`é` only
//!   `é`): nucleo's smart normalisation. Names come from many languages and
//!   consoles are often reached over SSH from keyboards without the accents,
//!   so the plain spelling must find the name; whoever types the accent
//!   means it.
//! * Ranking: a record's score is, first, how many of its terms matched the
//!   first field, then the sum of the terms' scores: in the first field,
//!   nucleo's fuzzy score (optimal alignment, bonuses for consecutive
//!   letters and word starts); else in the best other field, nucleo's score
//!   as a substring (word starts highest), or a token score below any
//!   substring for scattered letters (a term of another kind: nucleo's
//!   score of that kind in any field). So a term in the name ranks above
//!   any match elsewhere; of alternatives the best counts, a negation counts
//!   nothing. Results come best first; equal scores keep the
//!   records' order. An empty query matches everything in the original
//!   order.
//! * Positions are `char` indexes into the first field (the haystack is
//!   split into `char`s, not grapheme clusters as nucleo's own helper
//!   would), which is what the console's highlighting counts.
//!
//! Built for 100k records per keystroke: one [`Matcher`] per thread is
//! reused, ASCII fields are matched in place and other fields go through one
//! reused `char` buffer, each field is looked at once per record for all
//! terms (the other fields only for terms the name missed, and a field
//! without a term's rarest letter is skipped after one vectorised scan),
//! matches are sorted as packed integers, inputs of 32k records or more are
//! split over the machine's cores, and [`rank`] leaves highlight positions
//! to [`positions`], called for the visible rows only.
//!
//! The console goes further with an [`Index`], built once per snapshot:
//! each field's character mask rejects a record or field lacking a term's
//! letters without reading it, the text is laid end to end once (no
//! lowercased copy: it lives as long as the snapshot, 12 MB at 100k apps),
//! and [`Index::rank`] returns a [`Ranking`] that orders only the matches
//! looked at (a selection, not a sort, when 65k match and 40 show). Its scores and order are [`rank`]'s (tested).

mod index;
mod query;
mod skim;

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use nucleo_matcher::pattern::Atom;

use nucleo_matcher::{Config, Matcher, Utf32Str};
use query::Query;

pub use index::{Index, IndexBuilder, Ranking};

/// A record's score counts its terms found in the first field in units of
/// this, above the sum of the matcher's scores (at most `u16::MAX` a term),
/// so a name hit outranks any number of points elsewhere.
const FIRST_FIELD_WEIGHT: i64 = 1 << 32;
/// Below this many records one thread ranks them: splitting the work costs
/// more than it saves there (spawning, a second matcher, the merge, and a
/// second core that a loaded machine may not give): measured in
/// BENCHMARKS.md.
const PARALLEL_MIN_RECORDS: usize = 32_768;
/// The records a thread takes at a time when they are split.
const SLICE_RECORDS: usize = 4_096;
/// The score of a term found scattered (not as a substring) in a field other
/// than the first: below any substring there.
const SCATTERED_SCORE: u16 = 1;

/// Which matcher ranks the records. The console and the CLI use the
/// default; the other exists for the side-by-side benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// nucleo-matcher: the engine of [`rank`], [`filter`] and [`positions`].
    #[default]
    Nucleo,
    /// fuzzy-matcher's `SkimMatcherV2`, the earlier engine, with its own
    /// prefilter and ranking (see the `skim` module).
    Skim,
}

/// One record that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Position of the record in the input.
    pub index: usize,
    pub score: i64,
    /// Char positions in the first field to highlight, ascending, unique.
    /// Empty from [`rank`], which leaves them to [`positions`].
    pub positions: Vec<usize>,
}

thread_local! {
    /// The matcher of this thread: it holds a ~135 KB scoring matrix, so it
    /// is made once per thread, not per search.
    static MATCHER: RefCell<Matcher> = RefCell::new(Matcher::new(Config::DEFAULT));
}

/// Ranks `records` against `query`, with highlight positions. Each record is
/// a slice of fields, the first of them highlighted (see the module docs).
pub fn filter<R, S>(query: &str, records: impl IntoIterator<Item = R>) -> Vec<Match>
where
    R: AsRef<[S]> + Sync,
    S: AsRef<str>,
{
    let records: Vec<R> = records.into_iter().collect();
    let mut matches = rank(query, &records);
    let query = Query::parse(query);
    let atoms: Vec<&Atom> = query.positive_atoms().collect();
    let mut buf = Vec::new();
    let mut indices = Vec::new();
    MATCHER.with_borrow_mut(|matcher| {
        for m in &mut matches {
            if let Some(first) = records[m.index].as_ref().first() {
                m.positions = highlight(&atoms, first.as_ref(), matcher, &mut buf, &mut indices);
            }
        }
    });
    matches
}

/// [`filter`] without highlight positions: the fast path for long lists,
/// whose callers compute [`positions`] for the rows they show.
pub fn rank<R, S>(query: &str, records: impl IntoIterator<Item = R>) -> Vec<Match>
where
    R: AsRef<[S]> + Sync,
    S: AsRef<str>,
{
    rank_with(Engine::default(), query, records)
}

/// [`rank`] with a chosen engine: for comparing them; everything else calls
/// [`rank`]. The skim engine reads every character of the query literally
/// (it predates the extended syntax), so compare them on plain queries.
pub fn rank_with<R, S>(engine: Engine, query: &str, records: impl IntoIterator<Item = R>) -> Vec<Match>
where
    R: AsRef<[S]> + Sync,
    S: AsRef<str>,
{
    let parsed = Query::parse(query);
    if parsed.is_empty() {
        return records
            .into_iter()
            .enumerate()
            .map(|(index, _)| Match { index, score: 0, positions: Vec::new() })
            .collect();
    }
    let terms = terms(query);
    let query = &parsed;
    let records: Vec<R> = records.into_iter().collect();
    let threads = if records.len() < PARALLEL_MIN_RECORDS { 1 } else { cores() };
    if threads <= 1 {
        let mut ranked = score_chunk(engine, query, &terms, &records, 0);
        ranked.sort_unstable();
        return ranked.into_iter().map(Hit::into_match).collect();
    }
    // The records in slices that every thread takes from as it goes: a
    // thread the machine does not run for a while leaves its share to the
    // others instead of holding the answer back. Each thread sorts its own
    // hits; one pass merges them.
    let next = AtomicUsize::new(0);
    let work = || {
        let mut hits = Vec::new();
        loop {
            let start = next.fetch_add(1, Ordering::Relaxed) * SLICE_RECORDS;
            let Some(slice) = records.get(start..) else { break };
            hits.extend(score_chunk(engine, query, &terms, &slice[..slice.len().min(SLICE_RECORDS)], start));
        }
        hits.sort_unstable();
        hits
    };
    let ranked = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut ranked = work();
        for helper in helpers {
            match helper.join() {
                Ok(theirs) => ranked = merge(&ranked, &theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        ranked
    });
    ranked.into_iter().map(Hit::into_match).collect()
}

/// Char positions of `text` matched by the terms of `query`, for highlighting.
pub fn positions(query: &str, text: &str) -> Vec<usize> {
    let query = Query::parse(query);
    let atoms: Vec<&Atom> = query.positive_atoms().collect();
    MATCHER.with_borrow_mut(|matcher| highlight(&atoms, text, matcher, &mut Vec::new(), &mut Vec::new()))
}

/// Whether every record matching `query` also matches `previous`, so a new
/// search may start from the previous hits: the query only grew at its end
/// (more characters of the last term, or more terms). Sound for nucleo's
/// smart case and normalisation too: a longer term is never looser than its
/// prefix (it can only gain a capital or an accent, which make it stricter).
/// Not where the syntax loosens as it grows: an alternative (`a | b`), a
/// negation growing (`!cr` → `!crm` excludes less), text after a `$`, or an
/// escape.
pub fn narrows(previous: &str, query: &str) -> bool {
    if previous.trim().is_empty() || !query.starts_with(previous) {
        return false;
    }
    if query.contains('\\') || query.split_whitespace().any(|term| term == "|") {
        return false;
    }
    let added = &query[previous.len()..];
    let grows_last_term =
        !added.is_empty() && !added.starts_with(char::is_whitespace) && !previous.ends_with(char::is_whitespace);
    let last = previous.split_whitespace().last().unwrap_or_default();
    !(grows_last_term && (last.starts_with('!') || last.ends_with('$')))
}

/// The characters (as masks, see the `index` module) a record must hold,
/// over its fields, to match `query`: 0 for a query any record matches.
/// A negation needs nothing, alternatives only what they all need.
pub fn required_chars(query: &str) -> u64 {
    Query::parse(query).needs()
}

/// The query's words, every character literal: what the skim engine reads.
fn terms(query: &str) -> Vec<&str> {
    query.split_whitespace().collect()
}

/// A term as a nucleo atom: fuzzy, smart case, smart normalisation, every
/// character literal (what every term was before the syntax).
#[cfg(test)]
fn atom(term: &str) -> Atom {
    use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization};
    Atom::new(term, CaseMatching::Smart, Normalization::Smart, AtomKind::Fuzzy, false)
}

/// The cores to split a large search over, read once.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `text` as nucleo's input: ASCII in place, anything else as `char`s in
/// `buf`, so match indexes are char indexes.
fn utf32<'a>(text: &'a str, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
    if text.is_ascii() {
        return Utf32Str::Ascii(text.as_bytes());
    }
    buf.clear();
    buf.extend(text.chars());
    Utf32Str::Unicode(buf)
}

fn highlight(
    atoms: &[&Atom],
    text: &str,
    matcher: &mut Matcher,
    buf: &mut Vec<char>,
    indices: &mut Vec<u32>,
) -> Vec<usize> {
    let haystack = utf32(text, buf);
    indices.clear();
    for atom in atoms {
        let before = indices.len();
        if atom.indices(haystack, matcher, indices).is_none() {
            indices.truncate(before);
        }
    }
    indices.sort_unstable();
    indices.dedup();
    indices.iter().map(|&i| i as usize).collect()
}

/// One engine, prepared for one query on one thread.
trait Score {
    /// The record's score, or `None` when some term matches no field.
    fn score<S: AsRef<str>>(&mut self, fields: &[S]) -> Option<i64>;
}

/// A match while ranking: its sort key, best first (the higher score, then
/// the lower index), packed into one integer so that sorting and merging
/// 100k of them compares plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit(u128);

impl Hit {
    fn new(score: i64, index: usize) -> Hit {
        // Flipping the sign bit orders i64s as u64s; inverting puts the best first.
        let score = !((score as u64) ^ (1 << 63));
        Hit(u128::from(score) << 64 | index as u128)
    }

    fn index(self) -> usize {
        self.0 as u64 as usize
    }

    fn into_match(self) -> Match {
        let score = (!((self.0 >> 64) as u64) ^ (1 << 63)) as i64;
        Match { index: self.0 as u64 as usize, score, positions: Vec::new() }
    }
}

/// The matches among `records` (numbered from `offset`), in input order.
fn score_chunk<R, S>(engine: Engine, query: &Query, terms: &[&str], records: &[R], offset: usize) -> Vec<Hit>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    match engine {
        Engine::Nucleo => {
            MATCHER.with_borrow_mut(|matcher| hits(&mut NucleoScorer::new(query, matcher), records, offset))
        }
        Engine::Skim => hits(&mut skim::SkimScorer::new(terms), records, offset),
    }
}

fn hits<R, S>(scorer: &mut impl Score, records: &[R], offset: usize) -> Vec<Hit>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    records
        .iter()
        .enumerate()
        .filter_map(|(i, record)| scorer.score(record.as_ref()).map(|score| Hit::new(score, offset + i)))
        .collect()
}

/// Merges two sorted lists.
fn merge(a: &[Hit], b: &[Hit]) -> Vec<Hit> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            merged.push(a[i]);
            i += 1;
        } else {
            merged.push(b[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    merged
}

/// A field as the scorer sees it: its text, and what an [`Index`] prepared
/// for it (nothing, for records ranked as they come).
#[derive(Debug, Clone, Copy)]
struct FieldText<'a> {
    text: &'a str,
    /// The characters `text` holds (see the `index` module); every bit when
    /// not prepared.
    mask: u64,
}

impl<'a> FieldText<'a> {
    fn plain(text: &'a str) -> FieldText<'a> {
        FieldText { text, mask: index::ANY_CHAR }
    }

    /// The text as nucleo's input ([`utf32`]), without scanning it again
    /// when the index knows it is ASCII.
    fn utf32(&self, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
        if self.mask & index::ASCII_FIELD != 0 {
            return Utf32Str::Ascii(self.text.as_bytes());
        }
        utf32(self.text, buf)
    }
}

/// The nucleo engine, prepared for one query.
struct NucleoScorer<'q, 'm> {
    query: &'q Query,
    matcher: &'m mut Matcher,
    /// The first field as chars, when it is not ASCII.
    name_buf: Vec<char>,
    /// Another field as chars, when it is not ASCII.
    field_buf: Vec<char>,
    /// Per group the first field missed: its index and best score so far.
    missed: Vec<(usize, Option<u16>)>,
}

impl<'q, 'm> NucleoScorer<'q, 'm> {
    fn new(query: &'q Query, matcher: &'m mut Matcher) -> NucleoScorer<'q, 'm> {
        NucleoScorer { query, matcher, name_buf: Vec::new(), field_buf: Vec::new(), missed: Vec::new() }
    }
}

impl NucleoScorer<'_, '_> {
    /// The character bits every record that matches holds, over its fields.
    fn needs(&self) -> u64 {
        self.query.needs()
    }

    /// The score of a record given as its fields, first the highlighted
    /// one: per group, its best alternative found in the first field, else
    /// in another field, else a negation that holds (worth nothing).
    fn score_fields<'f>(&mut self, fields: impl Iterator<Item = FieldText<'f>> + Clone) -> Option<i64> {
        let NucleoScorer { query, matcher, name_buf, field_buf, missed } = self;
        let mut rest = fields.clone();
        let first = rest.next()?;
        let name = first.utf32(name_buf);
        let mut named = 0i64;
        let mut points = 0i64;
        missed.clear();
        for (g, group) in query.groups.iter().enumerate() {
            let mut best: Option<u16> = None;
            for term in group.positives() {
                if term.may_match(&first)
                    && let Some(score) = term.atom.score(name, matcher)
                {
                    best = best.max(Some(score));
                }
            }
            match best {
                Some(score) => {
                    named += 1;
                    points += i64::from(score);
                }
                None => missed.push((g, None)),
            }
        }
        if !missed.is_empty() {
            // Each other field once, for every group the name missed.
            for field in rest {
                if missed.iter().all(|(g, _)| !query.groups[*g].may_match_positive(&field)) {
                    continue;
                }
                let text = field.utf32(field_buf);
                for (g, best) in missed.iter_mut() {
                    for term in query.groups[*g].positives() {
                        if let Some(score) = term.score_other(&field, text, matcher) {
                            *best = (*best).max(Some(score));
                        }
                    }
                }
            }
            for (g, best) in missed.iter() {
                match best {
                    Some(score) => points += i64::from(*score),
                    None if query.groups[*g].negation_holds(fields.clone(), matcher, field_buf) => {}
                    None => return None,
                }
            }
        }
        Some(named * FIRST_FIELD_WEIGHT + points.min(FIRST_FIELD_WEIGHT - 1))
    }
}

impl Score for NucleoScorer<'_, '_> {
    fn score<S: AsRef<str>>(&mut self, fields: &[S]) -> Option<i64> {
        self.score_fields(fields.iter().map(|field| FieldText::plain(field.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn records() -> Vec<[&'static str; 4]> {
        vec![
            ["sales-quoting", "olive", "sales-ops", "Quotes from the CRM"],
            ["expense-bot", "omar", "finance", "Files expenses from receipts"],
            ["hr-onboarding", "priya", "people", "Onboards new hires"],
            ["quarterly-sales-report", "sam", "sales-ops", "Sales figures for the board"],
        ]
    }

    fn indexes(found: &[Match]) -> Vec<usize> {
        found.iter().map(|m| m.index).collect()
    }

    #[test]
    fn empty_query_keeps_everything_in_order() {
        let all = filter("  ", records());
        assert_eq!(indexes(&all), vec![0, 1, 2, 3]);
        assert!(all.iter().all(|m| m.positions.is_empty()));
    }

    #[test]
    fn name_matches_rank_first_and_are_highlighted() {
        let found = filter("sales", records());
        assert_eq!(found[0].index, 0, "{found:?}");
        assert_eq!(found[0].positions, vec![0, 1, 2, 3, 4]);
        assert!(found.iter().any(|m| m.index == 3));
        assert!(!found.iter().any(|m| m.index == 1));
    }

    #[test]
    fn a_name_hit_outranks_any_match_elsewhere() {
        // "sales" exactly, at a word start, in every other field of record 0,
        // but only scattered in record 1's name.
        let recs = vec![["crm", "sales", "sales", "sales"], ["s-a-l-e-s", "x", "y", "z"]];
        assert_eq!(indexes(&rank("sales", recs.clone())), vec![1, 0]);
        // Per term: two terms in the name beat one term in the name.
        let recs = vec![["sales-bot", "quote", "", ""], ["s-a-l-e-s-q", "", "", ""]];
        assert_eq!(indexes(&rank("sales q", recs)), vec![1, 0]);
    }

    #[test]
    fn other_fields_match_without_highlight() {
        let found = filter("olive", records());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 0);
        assert!(found[0].positions.is_empty());
        let found = filter("receipts", records());
        assert_eq!(indexes(&found), vec![1]);
    }

    #[test]
    fn every_term_must_match_some_field() {
        let found = filter("sales sam", records());
        assert_eq!(indexes(&found), vec![3]);
        assert!(filter("sales nobody", records()).is_empty());
        // Terms match one field each: none spans two fields.
        assert!(rank("liveo", vec![["x", "olive", "omar", ""]]).is_empty());
    }

    #[test]
    fn fuzzy_subsequences_match() {
        let found = filter("exbt", records());
        assert_eq!(found[0].index, 1);
        assert_eq!(found[0].positions, vec![0, 1, 8, 10]);
    }

    #[test]
    fn equal_scores_keep_input_order() {
        let recs = vec![["same"], ["other"], ["same"], ["same"]];
        let found = filter("same", recs);
        assert_eq!(indexes(&found), vec![0, 2, 3]);
    }

    #[test]
    fn positions_are_char_positions() {
        let found = filter("quote", vec![["販売-quote"]]);
        assert_eq!(found[0].positions, vec![3, 4, 5, 6, 7]);
        // A combining accent is a char of its own: positions still count chars.
        assert_eq!(positions("cole", "e\u{301}cole"), vec![2, 3, 4, 5]);
        assert_eq!(positions("zsync", "Zürich-sync"), vec![0, 7, 8, 9, 10]);
    }

    #[test]
    fn plain_letters_match_accented_ones_but_accents_are_kept() {
        let recs = vec![["école-paie"], ["ecole-paie"], ["Zürich-sync"]];
        assert_eq!(indexes(&rank("ecole", recs.clone())), vec![0, 1]);
        assert_eq!(indexes(&rank("école", recs.clone())), vec![0]);
        assert_eq!(indexes(&rank("zurich", recs.clone())), vec![2]);
        assert_eq!(positions("ecole", "école-paie"), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn rank_leaves_positions_to_the_caller() {
        let ranked = rank("sales", records());
        assert_eq!(indexes(&ranked), indexes(&filter("sales", records())));
        assert!(ranked.iter().all(|m| m.positions.is_empty()));
        assert_eq!(positions("sa q", "sales-quoting"), vec![0, 1, 6]);
        // A term the name misses adds nothing, and breaks nothing.
        assert_eq!(positions("sa zz", "sales-quoting"), vec![0, 1]);
        assert!(positions("", "sales-quoting").is_empty());
    }

    #[test]
    fn a_growing_query_narrows() {
        assert!(narrows("sal", "sale"));
        assert!(narrows("sal", "sal ol"));
        assert!(!narrows("sale", "sal"));
        assert!(!narrows("", "s"));
        // Narrowing is sound: whatever matches the longer query matched the
        // shorter one, also when the longer one gains a capital or an accent.
        let mut recs = records();
        recs.push(["École-paie", "Eva", "rh", "Paie des écoles"]);
        recs.push(["ecole-bot", "eX", "rh", ""]);
        let steps = [("s", "sa"), ("sa", "sal"), ("sal", "sal o"), ("sal o", "sal ol"), ("e", "eX"), ("e", "é")];
        let steps = steps.into_iter().chain([("ec", "écO"), ("éc", "éco"), ("ec", "eC"), ("E", "Eé")]);
        for (previous, query) in steps {
            let before = indexes(&rank(previous, recs.clone()));
            for m in rank(query, recs.clone()) {
                assert!(before.contains(&m.index), "{query:?} matched {} which {previous:?} did not", m.index);
            }
        }
    }

    #[test]
    fn other_fields_rank_substrings_above_scattered_letters() {
        let recs = vec![["x", "the owls live here"], ["y", "olive"], ["z", "an olive tree"], ["w", "ol-ive"]];
        let found = indexes(&rank("olive", recs));
        // Word-start substrings first (equal, so in input order), then the
        // scattered letters.
        assert_eq!(found[..2], [1, 2], "{found:?}");
        assert_eq!(found.len(), 4);
    }

    #[test]
    fn smart_case() {
        let recs = vec![["Sales"], ["sales"]];
        assert_eq!(filter("sales", recs.clone()).len(), 2);
        assert_eq!(filter("Sales", recs).len(), 1);
        // Unicode capitals count too.
        let recs = vec![["École"], ["école"]];
        assert_eq!(indexes(&rank("éc", recs.clone())), vec![0, 1]);
        assert_eq!(indexes(&rank("Éc", recs)), vec![0]);
    }

    #[test]
    fn large_inputs_rank_as_one_thread_would() {
        let words = ["sales", "quote", "expense", "report", "bot", "sync", "hr", "budget"];
        let recs: Vec<[String; 4]> = (0..3 * PARALLEL_MIN_RECORDS + 17)
            .map(|i| {
                let w = |k: usize| words[(i / k) % words.len()];
                [format!("{}-{}-{i}", w(1), w(3)), w(5).to_string(), w(7).to_string(), format!("{} {}", w(11), w(2))]
            })
            .collect();
        let one_thread = |engine, query| -> Vec<Match> {
            let mut hits = score_chunk(engine, &Query::parse(query), &terms(query), &recs, 0);
            hits.sort_unstable();
            hits.into_iter().map(Hit::into_match).collect()
        };
        for query in ["s", "qu", "sales b", "zz", "1"] {
            assert_eq!(rank(query, recs.iter()), one_thread(Engine::Nucleo, query), "{query:?}");
        }
        // The skim engine goes through the same split.
        assert_eq!(rank_with(Engine::Skim, "sales b", recs.iter()), one_thread(Engine::Skim, "sales b"));
    }

    #[test]
    fn hits_sort_best_first_then_by_index() {
        let scores = [(5, 2), (-3, 0), (5, 1), (i64::MAX, 7), (0, 4), (i64::MIN, 3), (-3, 9)];
        let mut hits: Vec<Hit> = scores.iter().map(|&(score, index)| Hit::new(score, index)).collect();
        hits.sort_unstable();
        let back: Vec<(i64, usize)> = hits.into_iter().map(Hit::into_match).map(|m| (m.score, m.index)).collect();
        assert_eq!(back, [(i64::MAX, 7), (5, 1), (5, 2), (0, 4), (-3, 0), (-3, 9), (i64::MIN, 3)]);
    }

    /// Where the engines legitimately differ: the skim engine folds ASCII
    /// case only and compares accented letters exactly; nucleo folds Unicode
    /// case and lets a plain letter match its accented forms.
    #[test]
    fn the_engines_differ_on_accents_and_unicode_case_only() {
        let recs = vec![["École"], ["école"], ["ecole"]];
        let both = |query: &str| {
            (indexes(&rank(query, recs.clone())), {
                let mut skim = indexes(&rank_with(Engine::Skim, query, recs.clone()));
                skim.sort_unstable();
                skim
            })
        };
        assert_eq!(both("ecole"), (vec![0, 1, 2], vec![2]));
        assert_eq!(both("éc"), (vec![0, 1], vec![1]));
        assert_eq!(both("Éc"), (vec![0], vec![0]));
        assert_eq!(both("cole"), (vec![0, 1, 2], vec![0, 1, 2]));
    }

    /// Records of ASCII fields, and a query of 1 or 2 terms: mostly
    /// subsequences of the records' fields (so that some records match and
    /// some do not), sometimes letters picked anywhere in them.
    fn ascii_case() -> impl Strategy<Value = (Vec<[String; 3]>, String)> {
        let field = "[a-zA-Z0-9 ._/-]{1,16}";
        let records = prop::collection::vec([field, field, field], 1..8);
        records.prop_flat_map(|records| {
            let fields: Vec<Vec<char>> =
                records.iter().flatten().map(|f| f.chars().filter(|c| *c != ' ').collect()).collect();
            let pool: Vec<char> = fields.iter().flatten().copied().chain(['a']).collect();
            let subsequence = (any::<prop::sample::Index>(), prop::collection::vec(any::<bool>(), 16)).prop_map(
                move |(which, keep)| {
                    let field = which.get(&fields);
                    let term: String = field.iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| *c).take(4).collect();
                    if term.is_empty() { field.iter().take(1).collect() } else { term }
                },
            );
            let scattered = prop::collection::vec(prop::sample::select(pool), 1..4)
                .prop_map(|chars| chars.into_iter().collect::<String>());
            let term = prop_oneof![3 => subsequence, 1 => scattered];
            let query = prop::collection::vec(term, 1..3).prop_map(|terms| terms.join(" "));
            (Just(records), query)
        })
    }

    proptest! {
        #[test]
        fn the_engines_match_the_same_ascii_records((records, query) in ascii_case()) {
            let mut nucleo = indexes(&rank(&query, records.iter()));
            let mut skim = indexes(&rank_with(Engine::Skim, &query, records.iter()));
            nucleo.sort_unstable();
            skim.sort_unstable();
            prop_assert_eq!(nucleo, skim, "query {:?} over {:?}", query, records);
        }
    }
}
