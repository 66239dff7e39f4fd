//! A prepared index: records laid end to end once (per snapshot, for the
//! console), with what lets a keystroke skip most of the work, and a
//! [`Ranking`] that orders only as many matches as are looked at.
//!
//! * Per field, a 64-bit mask of the characters it holds, folded the way
//!   nucleo compares them (ASCII case, and for other characters every ASCII
//!   letter that case folding or accent normalisation can make of them).
//!   A term needs every ASCII character of its needle in one field, so a
//!   field whose mask lacks one is skipped without a look at its text, and
//!   a record whose fields together lack one is rejected with two ANDs.
//!   Characters map to bits by a table: letters and digits one bit each,
//!   other ASCII sharing the rest (a shared bit only rejects less).
//! * The text end to end, one allocation for all records, each field a
//!   range of it: 4 bytes of offset and 8 of mask a field on top of the
//!   text. Matching a field the masks let through is a `memchr` hop per
//!   needle character (the order of its letters), then nucleo's score.
//!
//! Scores are exactly those of [`rank`](super::rank): the same scorer runs,
//! these only decide sooner that a term cannot match (tested against
//! [`rank`](super::rank) over random records).

use std::sync::atomic::{AtomicUsize, Ordering};

use nucleo_matcher::chars::{normalize, to_lower_case};

use crate::domain::AppSummary;
use crate::sanitize::sanitize;

use super::query::Query;
use super::{FieldText, Hit, MATCHER, Match, NucleoScorer, PARALLEL_MIN_RECORDS, SLICE_RECORDS, cores};

/// Set in a field's mask when its text is ASCII (no term mask holds it).
pub(super) const ASCII_FIELD: u64 = 1 << 63;
/// Every character bit: a field of unknown content, which no term can skip.
pub(super) const ANY_CHAR: u64 = !ASCII_FIELD;
/// How many matches [`Ranking::order_to`] puts in order at least, so moving
/// a page or two down orders nothing more.
const ORDER_MIN: usize = 256;

/// The bit of an ASCII byte: `a`–`z` and `0`–`9` one each, in case-folded
/// form; other bytes share bits 36–62.
const fn byte_bit(byte: u8) -> u64 {
    let byte = byte.to_ascii_lowercase();
    let slot = match byte {
        b'a'..=b'z' => byte - b'a',
        b'0'..=b'9' => 26 + byte - b'0',
        _ => 36 + byte % 27,
    };
    1 << slot
}

/// [`byte_bit`] of every ASCII byte, for building masks fast.
const BYTE_BITS: [u64; 128] = {
    let mut bits = [0; 128];
    let mut byte = 0;
    while byte < 128 {
        bits[byte] = byte_bit(byte as u8);
        byte += 1;
    }
    bits
};

/// The bits a character of a field sets: those of every ASCII character
/// that nucleo's case folding and normalisation (either, both, in its order)
/// can turn it into, so a needle character it can match finds its bit.
pub(super) fn char_bits(c: char) -> u64 {
    if c.is_ascii() {
        return byte_bit(c as u8);
    }
    let normalized = normalize(c);
    [normalized, to_lower_case(c), to_lower_case(normalized)]
        .into_iter()
        .filter(char::is_ascii)
        .fold(0, |bits, c| bits | byte_bit(c as u8))
}

/// The bits a needle needs in a field: one per ASCII character (a
/// non-ASCII needle character never matches an ASCII one, so it needs none).
pub(super) fn needle_bits(needle: impl IntoIterator<Item = char>) -> u64 {
    needle.into_iter().filter(char::is_ascii).fold(0, |bits, c| bits | byte_bit(c as u8))
}

fn field_mask(text: &str) -> u64 {
    if text.is_ascii() {
        text.bytes().fold(ASCII_FIELD, |bits, b| bits | BYTE_BITS[usize::from(b & 0x7f)])
    } else {
        text.chars().fold(0, |bits, c| bits | char_bits(c))
    }
}

/// Records prepared for many searches: build once, rank every keystroke.
#[derive(Debug, Default)]
pub struct Index {
    text: String,
    /// Where each field starts in `text`, and where the last ends: field
    /// `i` is `text[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    /// Per field, the characters it holds.
    masks: Vec<u64>,
    /// Where each record's fields start in `masks`, and where the last ends.
    record_fields: Vec<u32>,
    /// Per record, the union of its fields' masks.
    record_masks: Vec<u64>,
}

impl Index {
    /// Prepares `records` (each a slice of fields, the first highlighted, as
    /// for [`rank`](super::rank)).
    ///
    /// # Panics
    /// If the text of all records together exceeds 4 GiB.
    pub fn build<R, S>(records: impl IntoIterator<Item = R>) -> Index
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let mut builder = IndexBuilder::default();
        for record in records {
            builder.push(record.as_ref());
        }
        builder.finish()
    }

    /// What the console's `/` and `govdeck apps --filter` search: each
    /// app's name (the highlighted field), owner, team and purpose, as they
    /// are shown (sanitized), so both find and rank the same apps.
    pub fn of_apps(apps: &[AppSummary]) -> Index {
        Index::build(apps.iter().map(|app| [&app.name, &app.owner, &app.team, &app.purpose].map(|f| sanitize(f))))
    }

    /// How many records the index holds.
    pub fn len(&self) -> usize {
        self.record_masks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.record_masks.is_empty()
    }

    /// The fields of record `record` (none past the end).
    pub fn fields(&self, record: usize) -> impl Iterator<Item = &str> {
        self.field_texts(record).map(|field| field.text)
    }

    /// The fields of record `record` as the scorer reads them.
    fn field_texts(&self, record: usize) -> impl Iterator<Item = FieldText<'_>> + Clone {
        let first = self.record_fields.get(record).copied().unwrap_or(0) as usize;
        let end = self.record_fields.get(record + 1).copied().map_or(first, |e| e as usize);
        (first..end).map(|field| FieldText {
            text: &self.text[self.starts[field] as usize..self.starts[field + 1] as usize],
            mask: self.masks[field],
        })
    }

    /// Ranks the `candidates` (record numbers, out-of-range ones ignored)
    /// against `query`, as [`rank`](super::rank) ranks those records: a
    /// match's index is its record number, and equal scores keep the
    /// candidates' order when they ascend. An empty query matches every
    /// candidate in the given order.
    pub fn rank(&self, query: &str, candidates: &[usize]) -> Ranking {
        let query = Query::parse(query);
        if query.is_empty() {
            let hits: Vec<Hit> = candidates.iter().filter(|&&c| c < self.len()).map(|&c| Hit::new(0, c)).collect();
            return Ranking { sorted: hits.len(), hits };
        }
        let threads = if candidates.len() < PARALLEL_MIN_RECORDS { 1 } else { cores() };
        let slice = |start: usize| &candidates[start..(start + SLICE_RECORDS).min(candidates.len())];
        if threads <= 1 {
            return Ranking { hits: self.score(&query, candidates), sorted: 0 };
        }
        // As in `rank`: slices taken as each thread goes; here each slice's
        // hits are kept apart and joined in the candidates' order.
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                let start = number * SLICE_RECORDS;
                if start >= candidates.len() {
                    break done;
                }
                done.push((number, self.score(&query, slice(start))));
            }
        };
        let mut slices = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut slices = work();
            for helper in helpers {
                match helper.join() {
                    Ok(theirs) => slices.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            slices
        });
        slices.sort_unstable_by_key(|(number, _)| *number);
        let hits = slices.into_iter().flat_map(|(_, hits)| hits).collect();
        Ranking { hits, sorted: 0 }
    }

    /// The matches among `candidates`, in their order.
    fn score(&self, query: &Query, candidates: &[usize]) -> Vec<Hit> {
        MATCHER.with_borrow_mut(|matcher| {
            let mut scorer = NucleoScorer::new(query, matcher);
            let needs = scorer.needs();
            let mut hits = Vec::new();
            for &record in candidates {
                if self.record_masks.get(record).is_none_or(|&mask| needs & !mask != 0) {
                    continue;
                }
                if let Some(score) = scorer.score_fields(self.field_texts(record)) {
                    hits.push(Hit::new(score, record));
                }
            }
            hits
        })
    }
}

/// An [`Index`] built a record at a time, for records that are not all at
/// hand at once (rows streamed from a query).
#[derive(Debug)]
pub struct IndexBuilder {
    index: Index,
}

impl Default for IndexBuilder {
    fn default() -> IndexBuilder {
        IndexBuilder { index: Index { starts: vec![0], record_fields: vec![0], ..Index::default() } }
    }
}

impl IndexBuilder {
    /// Adds the next record: its fields, the first highlighted.
    ///
    /// # Panics
    /// If the text of all records together exceeds 4 GiB.
    pub fn push<S: AsRef<str>>(&mut self, record: &[S]) {
        self.push_if_holds(record, 0);
    }

    /// Adds the next record if its fields together hold every character of
    /// `needs` (see [`required_chars`](super::required_chars)): a record
    /// that does not can match no query needing them, so a one-off search
    /// need not keep it. Whether it was added.
    ///
    /// # Panics
    /// If the text of all records together exceeds 4 GiB.
    pub fn push_if_holds<S: AsRef<str>>(&mut self, record: &[S], needs: u64) -> bool {
        let index = &mut self.index;
        let first = index.masks.len();
        index.masks.extend(record.iter().map(|field| field_mask(field.as_ref())));
        let union = index.masks[first..].iter().fold(0, |union, mask| union | mask);
        if needs & !union != 0 {
            index.masks.truncate(first);
            return false;
        }
        for field in record {
            index.text.push_str(field.as_ref());
            index.starts.push(u32::try_from(index.text.len()).expect("search index text over 4 GiB"));
        }
        index.record_fields.push(index.masks.len() as u32);
        index.record_masks.push(union);
        true
    }

    pub fn finish(self) -> Index {
        let mut index = self.index;
        // Held for a whole snapshot: no growth slack (up to half of each).
        index.text.shrink_to_fit();
        index.starts.shrink_to_fit();
        index.masks.shrink_to_fit();
        index.record_fields.shrink_to_fit();
        index.record_masks.shrink_to_fit();
        index
    }
}

/// The matches of one search, put in order only as far as asked: finding
/// the best 40 of 65,000 matches costs a selection, not a sort. The first
/// `sorted` hits are the best, in order; the rest are all worse, in any
/// order.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    hits: Vec<Hit>,
    sorted: usize,
}

impl Ranking {
    pub fn len(&self) -> usize {
        self.hits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// Puts at least the best `n` matches in order: `n`, at least
    /// [`ORDER_MIN`] and at least twice what was in order, so scrolling
    /// through all of them costs about one sort in total.
    pub fn order_to(&mut self, n: usize) {
        if n <= self.sorted {
            return;
        }
        let len = self.hits.len();
        let target = n.max(ORDER_MIN).max(2 * self.sorted).min(len);
        let rest = &mut self.hits[self.sorted..];
        if target >= len / 2 {
            rest.sort_unstable();
        } else {
            let (best, _, _) = rest.select_nth_unstable(target - self.sorted - 1);
            best.sort_unstable();
        }
        self.sorted = if target >= len / 2 { len } else { target };
    }

    /// The record at `position` in the order, ordering as far as needed.
    pub fn get(&mut self, position: usize) -> Option<usize> {
        self.order_to(position + 1);
        self.hits.get(position).map(|hit| hit.index())
    }

    /// The records at `positions` in the order, ordering as far as needed.
    /// Positions past the end are left out.
    pub fn records(&mut self, positions: std::ops::Range<usize>) -> Vec<usize> {
        let end = positions.end.min(self.hits.len());
        self.order_to(end);
        self.hits[positions.start.min(end)..end].iter().map(|hit| hit.index()).collect()
    }

    /// Where `record` is in the order, if it matched: counted, not sorted.
    pub fn position(&self, record: usize) -> Option<usize> {
        if let Some(at) = self.hits[..self.sorted].iter().position(|hit| hit.index() == record) {
            return Some(at);
        }
        let hit = *self.hits[self.sorted..].iter().find(|hit| hit.index() == record)?;
        Some(self.sorted + self.hits[self.sorted..].iter().filter(|other| **other < hit).count())
    }

    /// The matched records in ascending order (the order of ascending
    /// candidates), whatever has been ordered.
    pub fn matched(&self) -> Vec<usize> {
        let mut records: Vec<usize> = self.hits.iter().map(|hit| hit.index()).collect();
        if !records.is_sorted() {
            records.sort_unstable();
        }
        records
    }

    /// Every match, in order.
    pub fn into_matches(mut self) -> Vec<Match> {
        self.order_to(self.hits.len());
        self.hits.into_iter().map(Hit::into_match).collect()
    }
}

#[cfg(test)]
mod tests {
    use nucleo_matcher::Utf32Str;
    use proptest::prelude::*;

    use super::*;
    use crate::search::{atom, rank};

    /// The index must never skip what nucleo would match: every character of
    /// the first 0x2200 code points (Latin, Greek, Cyrillic, the Kelvin sign
    /// …) against every ASCII needle character, in every case mode.
    #[test]
    fn masks_never_reject_what_nucleo_matches() {
        let mut matcher = nucleo_matcher::Matcher::new(nucleo_matcher::Config::DEFAULT);
        let needles: Vec<char> = (b'!'..=b'~').map(char::from).collect();
        let mut buf = Vec::new();
        for c in (1..0x2200u32).filter_map(char::from_u32).filter(|c| !c.is_whitespace()) {
            let text = c.to_string();
            let haystack = Utf32Str::new(&text, &mut buf);
            for &n in &needles {
                let term = n.to_string();
                if atom(&term).score(haystack, &mut matcher).is_some() {
                    assert_eq!(needle_bits([n]) & !field_mask(&text), 0, "{n:?} matches {c:?} ({:#x})", c as u32);
                }
            }
        }
    }

    #[test]
    fn a_ranking_orders_as_far_as_asked_and_finds_any_row() {
        let records: Vec<[String; 2]> =
            (0..2000).map(|i| [format!("app-{}", (i * 7919) % 2000), format!("purpose {i}")]).collect();
        let index = Index::build(&records);
        let all: Vec<usize> = (0..records.len()).collect();
        let expected: Vec<usize> = rank("a1", &records).into_iter().map(|m| m.index).collect();
        assert!(expected.len() > 3 * ORDER_MIN, "{}", expected.len());
        let mut ranking = index.rank("a1", &all);
        assert_eq!(ranking.len(), expected.len());
        assert_eq!(ranking.records(0..40), expected[..40]);
        assert!(ranking.sorted < ranking.len(), "a window orders only part");
        for (row, &record) in expected.iter().enumerate().step_by(97) {
            assert_eq!(ranking.position(record), Some(row));
        }
        assert_eq!(ranking.get(expected.len() - 1), expected.last().copied());
        assert_eq!(ranking.records(300..310), expected[300..310]);
        let mut matched = expected.clone();
        matched.sort_unstable();
        assert_eq!(ranking.matched(), matched);
        assert_eq!(ranking.position(usize::MAX), None);
    }

    #[test]
    fn candidates_and_empty_queries() {
        let records = [["sales-bot", "olive"], ["hr", "sam"], ["sales", "x"]];
        let index = Index::build(records);
        assert_eq!(index.len(), 3);
        assert_eq!(index.fields(1).collect::<Vec<_>>(), ["hr", "sam"]);
        assert_eq!(index.fields(7).count(), 0);
        let indexes = |ranking: Ranking| ranking.into_matches().into_iter().map(|m| m.index).collect::<Vec<_>>();
        // As `rank` ranks them: "sales" scores alike in both names.
        assert_eq!(indexes(index.rank("sales", &[0, 1, 2])), [0, 2]);
        assert_eq!(rank("sales", records).into_iter().map(|m| m.index).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(indexes(index.rank("sales", &[0, 1])), [0]);
        assert_eq!(indexes(index.rank(" ", &[2, 0, 9])), [2, 0]);
        assert_eq!(index.rank("sales", &[0, 1, 2]).records(1..9), [2]);
        assert_eq!(indexes(index.rank("sa", &[1, 9])), [1]);
    }

    /// Fields from a small alphabet with capitals, accents, a non-Latin
    /// script and punctuation, and queries made of their letters, with the
    /// extended syntax now and then: `!`, `'`, `^` before a term, `$` after
    /// it, ` | ` between terms.
    fn mixed_case() -> impl Strategy<Value = (Vec<[String; 3]>, String)> {
        let field = "[a-eA-EéÉüÜßK販 ._-]{0,14}";
        let records = prop::collection::vec([field, field, field], 1..10);
        let prefix = prop_oneof![6 => Just(""), 1 => Just("!"), 1 => Just("'"), 1 => Just("^"), 1 => Just("!^")];
        let suffix = prop_oneof![6 => Just(""), 1 => Just("$")];
        let term =
            (prefix, "[a-eA-EéÉüÜßK販._-]{1,4}", suffix).prop_map(|(pre, body, post)| format!("{pre}{body}{post}"));
        let joint = prop_oneof![4 => Just(" "), 1 => Just(" | ")];
        let query = (term.clone(), prop::collection::vec((joint, term), 0..2))
            .prop_map(|(first, rest)| rest.into_iter().fold(first, |query, (joint, term)| query + joint + &term));
        (records, query)
    }

    proptest! {
        /// Keeping only the records holding the query's characters loses no
        /// match and changes no order: what `govdeck apps --filter` relies on.
        #[test]
        fn records_left_out_by_their_characters_could_not_match((records, query) in mixed_case()) {
            let needs = crate::search::required_chars(&query);
            let mut builder = IndexBuilder::default();
            let kept: Vec<usize> = (0..records.len()).filter(|&i| builder.push_if_holds(&records[i], needs)).collect();
            let some = builder.finish();
            let all: Vec<usize> = (0..some.len()).collect();
            let from_kept: Vec<(usize, i64)> =
                some.rank(&query, &all).into_matches().into_iter().map(|m| (kept[m.index], m.score)).collect();
            let expected: Vec<(usize, i64)> = rank(&query, &records).into_iter().map(|m| (m.index, m.score)).collect();
            prop_assert_eq!(from_kept, expected, "query {:?} over {:?}", query, records);
        }

        #[test]
        fn the_index_ranks_as_rank_does((records, query) in mixed_case()) {
            let index = Index::build(&records);
            let all: Vec<usize> = (0..records.len()).collect();
            let mut ranking = index.rank(&query, &all);
            let first: Vec<usize> = ranking.records(0..3);
            let expected = rank(&query, &records);
            prop_assert_eq!(&first[..], &expected.iter().map(|m| m.index).take(3).collect::<Vec<_>>()[..]);
            prop_assert_eq!(ranking.into_matches(), expected, "query {:?} over {:?}", query, records);
        }
    }
}
