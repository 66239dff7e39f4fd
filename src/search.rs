//! The fuzzy filter: the only place the matcher is used, so the console's `/`
//! and `govdeck apps --filter` rank the same way. Pure and independent of the
//! UI.
//!
//! A record is a list of fields; the first is the one shown with its matched
//! characters highlighted (an app's name), the rest only count for matching
//! (owner, team, purpose). The query is split on whitespace into terms, as in
//! fzf's extended search: every term must match some field as a subsequence
//! (smart case: case-insensitive unless the term has a capital). A term found
//! in the first field scores the skim matcher's score plus a bonus larger
//! than any other field can give, so name hits always rank first; in the
//! other fields a term scores more as a substring (at a word start, most)
//! than scattered. A record's score is the sum over its terms. Results come
//! best first; equal scores keep the records' order. An empty query matches
//! everything in the original order.
//!
//! Built for 100k records per keystroke: a byte-level subsequence check
//! rejects most fields before the (slower) skim matcher sees them, long
//! fields never go through it, and [`rank`] leaves highlight positions to
//! [`positions`], called for the visible rows only.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

/// Above this many pattern × field characters the matcher uses its fast
/// greedy mode instead of the full alignment matrix.
const FULL_ALIGNMENT_MAX_CELLS: usize = 4096;
/// Extra score for a term found in the first field: more than any match
/// elsewhere can score, so name hits always rank first.
const FIRST_FIELD_BONUS: i64 = 10_000;

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

/// Scores in the other fields: a substring at a word start, a substring,
/// a scattered subsequence.
const WORD_START_SCORE: i64 = 300;
const SUBSTRING_SCORE: i64 = 200;
const SCATTERED_SCORE: i64 = 50;

fn matcher() -> SkimMatcherV2 {
    SkimMatcherV2::default().smart_case().element_limit(FULL_ALIGNMENT_MAX_CELLS)
}

/// One term of a query, prepared once per search.
struct Term<'q> {
    text: &'q str,
    case_sensitive: bool,
    /// The term folded for case-insensitive comparison.
    folded: Vec<char>,
}

impl<'q> Term<'q> {
    fn new(text: &'q str) -> Term<'q> {
        let case_sensitive = text.chars().any(|c| c.is_ascii_uppercase());
        let folded = text.chars().map(|c| if case_sensitive { c } else { fold(c) }).collect();
        Term { text, case_sensitive, folded }
    }

    fn eq(&self, a: char, b: char) -> bool {
        if self.case_sensitive { a == b } else { fold(a) == b }
    }

    /// Whether the term is a subsequence of `text`.
    fn in_order(&self, text: &str) -> bool {
        if self.text.is_ascii() {
            // Non-ASCII bytes never equal an ASCII byte: a byte loop is exact.
            let mut want = self.text.bytes();
            let mut next = want.next();
            for byte in text.bytes() {
                match next {
                    None => return true,
                    Some(w)
                        if (self.case_sensitive && byte == w)
                            || (!self.case_sensitive && byte.eq_ignore_ascii_case(&w)) =>
                    {
                        next = want.next();
                    }
                    Some(_) => {}
                }
            }
            return next.is_none();
        }
        let mut want = self.folded.iter().peekable();
        for c in text.chars() {
            if want.next_if(|w| self.eq(c, **w)).is_some() && want.peek().is_none() {
                return true;
            }
        }
        want.peek().is_none()
    }

    /// Where the term starts as a substring of `text`, if it is one.
    fn substring_at(&self, text: &str) -> Option<usize> {
        let chars: Vec<char> = text.chars().collect();
        let n = self.folded.len();
        (0..=chars.len().checked_sub(n)?)
            .find(|&i| chars[i..i + n].iter().zip(&self.folded).all(|(c, w)| self.eq(*c, *w)))
    }

    /// The cheap score of a field that is not highlighted.
    fn score_other(&self, text: &str) -> Option<i64> {
        if !self.in_order(text) {
            return None;
        }
        Some(match self.substring_at(text) {
            Some(0) => WORD_START_SCORE,
            Some(i) if text.chars().nth(i - 1).is_some_and(|c| !c.is_alphanumeric()) => WORD_START_SCORE,
            Some(_) => SUBSTRING_SCORE,
            None => SCATTERED_SCORE,
        })
    }
}

/// Case folding as the skim matcher does it (ASCII letters only), so the
/// prefilter and the matcher agree.
fn fold(c: char) -> char {
    c.to_ascii_lowercase()
}

/// Ranks `records` against `query`, with highlight positions. Each record is
/// a slice of fields, the first of them highlighted (see the module docs).
pub fn filter<R, S>(query: &str, records: impl IntoIterator<Item = R>) -> Vec<Match>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    let records: Vec<R> = records.into_iter().collect();
    let mut matches = rank(query, records.iter().map(AsRef::as_ref));
    for m in &mut matches {
        if let Some(first) = records[m.index].as_ref().first() {
            m.positions = positions(query, first.as_ref());
        }
    }
    matches
}

/// [`filter`] without highlight positions: the fast path for long lists,
/// whose callers compute [`positions`] for the rows they show.
pub fn rank<R, S>(query: &str, records: impl IntoIterator<Item = R>) -> Vec<Match>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    let terms: Vec<Term<'_>> = query.split_whitespace().map(Term::new).collect();
    if terms.is_empty() {
        return records
            .into_iter()
            .enumerate()
            .map(|(index, _)| Match { index, score: 0, positions: Vec::new() })
            .collect();
    }
    let matcher = matcher();
    let mut matches: Vec<Match> = records
        .into_iter()
        .enumerate()
        .filter_map(|(index, record)| {
            score(&matcher, &terms, record.as_ref()).map(|score| Match { index, score, positions: Vec::new() })
        })
        .collect();
    // Stable: equal scores keep the input order.
    matches.sort_by_key(|m| std::cmp::Reverse(m.score));
    matches
}

/// Char positions of `text` matched by the terms of `query`, for highlighting.
pub fn positions(query: &str, text: &str) -> Vec<usize> {
    let matcher = matcher();
    let mut positions: Vec<usize> = query
        .split_whitespace()
        .filter_map(|term| matcher.fuzzy_indices(text, term))
        .flat_map(|(_, indices)| indices)
        .collect();
    positions.sort_unstable();
    positions.dedup();
    positions
}

/// Whether every record matching `query` also matches `previous`, so a new
/// search may start from the previous hits: the query only grew at its end
/// (more characters of the last term, or more terms).
pub fn narrows(previous: &str, query: &str) -> bool {
    !previous.trim().is_empty() && query.starts_with(previous)
}

fn score<S: AsRef<str>>(matcher: &SkimMatcherV2, terms: &[Term<'_>], fields: &[S]) -> Option<i64> {
    let (first, rest) = fields.split_first()?;
    let first = first.as_ref();
    let mut total = 0i64;
    for term in terms {
        // A name hit outranks anything else: the other fields need no look.
        let named = term.in_order(first).then(|| matcher.fuzzy_match(first, term.text)).flatten();
        let best = match named {
            Some(score) => score + FIRST_FIELD_BONUS,
            None => rest.iter().filter_map(|field| term.score_other(field.as_ref())).max()?,
        };
        total += best;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<[&'static str; 4]> {
        vec![
            ["sales-quoting", "olive", "sales-ops", "Quotes from the CRM"],
            ["expense-bot", "omar", "finance", "Files expenses from receipts"],
            ["hr-onboarding", "priya", "people", "Onboards new hires"],
            ["quarterly-sales-report", "sam", "sales-ops", "Sales figures for the board"],
        ]
    }

    #[test]
    fn empty_query_keeps_everything_in_order() {
        let all = filter("  ", records());
        assert_eq!(all.iter().map(|m| m.index).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
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
    fn other_fields_match_without_highlight() {
        let found = filter("olive", records());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 0);
        assert!(found[0].positions.is_empty());
        let found = filter("receipts", records());
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn every_term_must_match_some_field() {
        let found = filter("sales sam", records());
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), vec![3]);
        assert!(filter("sales nobody", records()).is_empty());
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
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), vec![0, 2, 3]);
    }

    #[test]
    fn positions_are_char_positions() {
        let recs = vec![["販売-quote"]];
        let found = filter("quote", recs);
        assert_eq!(found[0].positions, vec![3, 4, 5, 6, 7]);
    }

    #[test]
    fn rank_leaves_positions_to_the_caller() {
        let ranked = rank("sales", records());
        assert_eq!(
            ranked.iter().map(|m| m.index).collect::<Vec<_>>(),
            filter("sales", records()).iter().map(|m| m.index).collect::<Vec<_>>()
        );
        assert!(ranked.iter().all(|m| m.positions.is_empty()));
        assert_eq!(positions("sa q", "sales-quoting"), vec![0, 1, 6]);
    }

    #[test]
    fn a_growing_query_narrows() {
        assert!(narrows("sal", "sale"));
        assert!(narrows("sal", "sal ol"));
        assert!(!narrows("sale", "sal"));
        assert!(!narrows("", "s"));
        // Narrowing is sound: whatever matches the longer query matched the shorter one.
        for (previous, query) in [("s", "sa"), ("sa", "sal"), ("sal", "sal o"), ("sal o", "sal ol"), ("e", "eX")] {
            let before: Vec<usize> = rank(previous, records()).iter().map(|m| m.index).collect();
            for m in rank(query, records()) {
                assert!(before.contains(&m.index), "{query:?} matched {} which {previous:?} did not", m.index);
            }
        }
    }

    #[test]
    fn other_fields_rank_substrings_above_scattered_letters() {
        let recs = vec![["x", "the owls live here"], ["y", "olive"], ["z", "an olive tree"], ["w", "ol-ive"]];
        let found = rank("olive", recs);
        // Word-start substrings first, then scattered letters in input order.
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), vec![1, 2, 0, 3]);
    }

    #[test]
    fn prefilter_agrees_with_the_matcher() {
        let texts = ["sales-quoting", "Sales", "販売-quote", "ÉCOLE", "école", "a-b-c", ""];
        for query in ["sq", "SA", "qte", "éc", "ÉC", "abc", "x", "販q"] {
            for text in texts {
                let term = Term::new(query);
                assert_eq!(term.in_order(text), matcher().fuzzy_match(text, query).is_some(), "{query:?} in {text:?}");
            }
        }
    }

    #[test]
    fn smart_case() {
        let recs = vec![["Sales"], ["sales"]];
        assert_eq!(filter("sales", recs.clone()).len(), 2);
        assert_eq!(filter("Sales", recs).len(), 1);
    }
}
