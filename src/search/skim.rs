//! The previous engine, fuzzy-matcher's `SkimMatcherV2`, kept only so the
//! benchmarks can compare it with nucleo on the same records and queries
//! ([`Engine::Skim`](super::Engine::Skim) through
//! [`rank_with`](super::rank_with)). The console and the CLI never use it.
//!
//! Its ranking, as it was: a term found in the first field scores the skim
//! matcher's score plus [`FIRST_FIELD_BONUS`]; in the other fields a term
//! scores more as a substring (at a word start, most) than scattered; a
//! byte-level subsequence check rejects most fields before the matcher sees
//! them. Case folding is ASCII only, as the skim matcher does it.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::Score;

/// Above this many pattern × field characters the matcher uses its fast
/// greedy mode instead of the full alignment matrix.
const FULL_ALIGNMENT_MAX_CELLS: usize = 4096;
/// Extra score for a term found in the first field: more than any match
/// elsewhere can score, so name hits rank first.
const FIRST_FIELD_BONUS: i64 = 10_000;
/// Scores in the other fields: a substring at a word start, a substring,
/// a scattered subsequence.
const WORD_START_SCORE: i64 = 300;
const SUBSTRING_SCORE: i64 = 200;
const SCATTERED_SCORE: i64 = 50;

pub(super) fn matcher() -> SkimMatcherV2 {
    SkimMatcherV2::default().smart_case().element_limit(FULL_ALIGNMENT_MAX_CELLS)
}

/// The skim engine, prepared for one query.
pub(super) struct SkimScorer<'q> {
    matcher: SkimMatcherV2,
    terms: Vec<Term<'q>>,
}

impl<'q> SkimScorer<'q> {
    pub(super) fn new(terms: &[&'q str]) -> SkimScorer<'q> {
        SkimScorer { matcher: matcher(), terms: terms.iter().map(|t| Term::new(t)).collect() }
    }
}

impl Score for SkimScorer<'_> {
    fn score<S: AsRef<str>>(&mut self, fields: &[S]) -> Option<i64> {
        let (first, rest) = fields.split_first()?;
        let first = first.as_ref();
        let mut total = 0i64;
        for term in &self.terms {
            // A name hit outranks anything else: the other fields need no look.
            let named = term.in_order(first).then(|| self.matcher.fuzzy_match(first, term.text)).flatten();
            let best = match named {
                Some(score) => score + FIRST_FIELD_BONUS,
                None => rest.iter().filter_map(|field| term.score_other(field.as_ref())).max()?,
            };
            total += best;
        }
        Some(total)
    }
}

/// One term of a query, prepared once per search.
pub(super) struct Term<'q> {
    text: &'q str,
    case_sensitive: bool,
    /// The term folded for case-insensitive comparison.
    folded: Vec<char>,
}

impl<'q> Term<'q> {
    pub(super) fn new(text: &'q str) -> Term<'q> {
        let case_sensitive = text.chars().any(|c| c.is_ascii_uppercase());
        let folded = text.chars().map(|c| if case_sensitive { c } else { fold(c) }).collect();
        Term { text, case_sensitive, folded }
    }

    fn eq(&self, a: char, b: char) -> bool {
        if self.case_sensitive { a == b } else { fold(a) == b }
    }

    /// Whether the term is a subsequence of `text`.
    pub(super) fn in_order(&self, text: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn other_fields_rank_substrings_above_scattered_letters() {
        let recs = vec![["x", "the owls live here"], ["y", "olive"], ["z", "an olive tree"], ["w", "ol-ive"]];
        let found = crate::search::rank_with(crate::search::Engine::Skim, "olive", recs);
        // Word-start substrings first, then scattered letters in input order.
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), vec![1, 2, 0, 3]);
    }
}
