//! The query language of the fuzzy filter: fzf's extended search syntax,
//! parsed into groups of terms for the scorer in the parent module.
//!
//! * Terms are separated by spaces and must all match (AND), each in some
//!   field of the record; a lone `|` between terms makes them alternatives
//!   (`crm | badge`: either), and binds tighter than the space (`a | b c` is
//!   `(a or b) and c`), as in fzf.
//! * `crm`: fuzzy, the letters in order; `'crm`: exact, the letters
//!   together; `^crm`: a field starts with them; `sync$`: a field ends with
//!   them; `^crm-sync$`: a field is exactly that; `!crm` (also `!^crm`,
//!   `!sync$`): no field holds it (negations are exact, never fuzzy, and
//!   count for nothing in the ranking). `\!`, `\^` and `\'` at the start,
//!   `\$` at the end, are the characters themselves. A term left empty by
//!   the syntax (`'`, `^`, `!`) matches everything.
//! * Smart case and smart accents per term, on the text left once the syntax
//!   is taken off (see the parent module).
//!
//! nucleo-matcher's own `Pattern::parse` reads the same atoms but not `|`,
//! and matches one haystack where a record here has several fields: atoms
//! come from its `Atom::parse`, the grouping and the fields from here.

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Matcher, Utf32Str};

use super::{FieldText, SCATTERED_SCORE, index};

/// A parsed query: every group must match.
#[derive(Debug, Default)]
pub(super) struct Query {
    pub(super) groups: Vec<Group>,
}

/// Alternatives: the group matches when one of them does.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) terms: Vec<Term>,
}

impl Query {
    pub(super) fn parse(query: &str) -> Query {
        let mut groups: Vec<Group> = Vec::new();
        let mut or_next = false;
        for token in query.split_whitespace() {
            if token == "|" {
                // Joins the next term to the group before, if there is one.
                or_next = !groups.is_empty();
                continue;
            }
            let term = Term::new(token);
            match (term, or_next, groups.last_mut()) {
                (Some(term), true, Some(group)) => group.terms.push(term),
                (Some(term), _, _) => groups.push(Group { terms: vec![term] }),
                (None, _, _) => {}
            }
            or_next = false;
        }
        Query { groups }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The character bits every matching record holds over its fields: a
    /// group needs what all its alternatives need, a negation nothing.
    pub(super) fn needs(&self) -> u64 {
        self.groups.iter().fold(0, |needs, group| needs | group.needs())
    }

    /// The atoms that can match, for highlighting.
    pub(super) fn positive_atoms(&self) -> impl Iterator<Item = &Atom> {
        self.groups.iter().flat_map(|group| group.positives()).map(|term| &term.atom)
    }
}

impl Group {
    fn needs(&self) -> u64 {
        self.terms.iter().fold(!0, |needs, term| needs & if term.negative { 0 } else { term.needs })
    }

    /// The alternatives that match by being found.
    pub(super) fn positives(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|term| !term.negative)
    }

    /// Whether some found alternative may match in `field`, by its characters.
    pub(super) fn may_match_positive(&self, field: &FieldText<'_>) -> bool {
        self.positives().any(|term| term.may_match(field))
    }

    /// Whether a negated alternative holds: its text is in none of `fields`.
    pub(super) fn negation_holds<'f>(
        &self,
        fields: impl Iterator<Item = FieldText<'f>> + Clone,
        matcher: &mut Matcher,
        buf: &mut Vec<char>,
    ) -> bool {
        self.terms.iter().filter(|term| term.negative).any(|term| {
            !fields.clone().any(|field| term.may_match(&field) && term.atom.score(field.utf32(buf), matcher).is_some())
        })
    }
}

/// One term for nucleo: an atom, and what the other fields' cheaper
/// matching needs.
#[derive(Debug)]
pub(super) struct Term {
    /// The term's kind and needle; never negative itself (its score is
    /// whether the text is there), see `negative`.
    pub(super) atom: Atom,
    /// `!term`: the record matches only where the text is absent.
    pub(super) negative: bool,
    /// The atom's case and accent handling, set on the matcher for the
    /// other fields.
    ignore_case: bool,
    normalize: bool,
    /// For an ASCII needle, its rarest letter in English text: a field
    /// without it is rejected by one vectorised scan.
    rarest: Option<u8>,
    /// The character bits a field needs to hold the needle (see the `index`
    /// module).
    pub(super) needs: u64,
}

impl Term {
    /// The term `token` in the syntax above; `None` when nothing is left of
    /// it to match.
    fn new(token: &str) -> Option<Term> {
        let mut atom = Atom::parse(token, CaseMatching::Smart, Normalization::Smart);
        let needle: String = atom.needle_text().chars().collect();
        if needle.is_empty() {
            return None;
        }
        let negative = std::mem::take(&mut atom.negative);
        Some(Term::of(atom, &needle, negative))
    }

    fn of(atom: Atom, needle: &str, negative: bool) -> Term {
        let needs = index::needle_bits(atom.needle_text().chars());
        Term {
            atom,
            negative,
            // As the atom decides them for smart case and smart normalisation.
            ignore_case: !needle.chars().any(nucleo_matcher::chars::is_upper_case),
            normalize: needle.chars().all(|c| nucleo_matcher::chars::normalize(c) == c),
            rarest: needle.is_ascii().then(|| needle.bytes().max_by_key(|&b| rarity(b))).flatten(),
            needs,
        }
    }

    /// Whether `field` holds the characters the term needs: when not, it
    /// cannot match there.
    pub(super) fn may_match(&self, field: &FieldText<'_>) -> bool {
        self.needs & !field.mask == 0
    }

    /// The term's score in a field other than the first: nucleo's score as
    /// a substring (word starts score highest) if it is one, else
    /// [`SCATTERED_SCORE`] if it is a subsequence. These matches are not
    /// shown, so the subsequence needs no alignment: a linear check, where
    /// nucleo's scoring of a scattered match in a long purpose would cost
    /// most of a search.
    ///
    /// Terms of the other kinds score as nucleo scores them in any field.
    pub(super) fn score_other(
        &self,
        prepared: &FieldText<'_>,
        field: Utf32Str<'_>,
        matcher: &mut Matcher,
    ) -> Option<u16> {
        if !self.may_match(prepared) {
            return None;
        }
        if self.atom.kind != AtomKind::Fuzzy {
            return self.atom.score(field, matcher);
        }
        matcher.config.ignore_case = self.ignore_case;
        matcher.config.normalize = self.normalize;
        let needle = self.atom.needle_text();
        let scattered = match (field, needle, self.rarest) {
            // Prepared: the mask found the needle's characters in the field,
            // so what is left to check is their order, a `memchr` hop each.
            (Utf32Str::Ascii(field), Utf32Str::Ascii(needle), _) if prepared.mask & index::ASCII_FIELD != 0 => {
                is_subsequence_by_hops(needle, field, self.ignore_case)
            }
            (Utf32Str::Ascii(field), Utf32Str::Ascii(needle), Some(rarest)) => {
                let upper = rarest.to_ascii_uppercase();
                let present = if self.ignore_case && upper != rarest {
                    memchr::memchr2(rarest, upper, field).is_some()
                } else {
                    memchr::memchr(rarest, field).is_some()
                };
                present && is_subsequence(needle, field, self.ignore_case)
            }
            _ => matcher.fuzzy_match_greedy(field, needle).is_some(),
        };
        if !scattered {
            return None;
        }
        Some(matcher.substring_match(field, needle).map_or(SCATTERED_SCORE, |score| score.max(SCATTERED_SCORE + 1)))
    }
}

/// How rare an ASCII byte is in English text (higher: rarer); anything but a
/// letter counts as rarer than every letter.
fn rarity(byte: u8) -> usize {
    const BY_FREQUENCY: &[u8] = b"etaoinshrdlcumwfgypbvkjxqz";
    let letter = byte.to_ascii_lowercase();
    BY_FREQUENCY.iter().position(|&b| b == letter).unwrap_or(BY_FREQUENCY.len())
}

/// Whether the ASCII `needle` is a subsequence of the ASCII `haystack`
/// (`needle` already lower-case when `ignore_case`, as nucleo keeps it).
fn is_subsequence(needle: &[u8], haystack: &[u8], ignore_case: bool) -> bool {
    let mut wanted = needle.iter();
    let Some(mut want) = wanted.next() else { return true };
    for &byte in haystack {
        let byte = if ignore_case { byte.to_ascii_lowercase() } else { byte };
        if byte == *want {
            match wanted.next() {
                Some(next) => want = next,
                None => return true,
            }
        }
    }
    false
}

/// [`is_subsequence`] by a `memchr` hop per needle byte (`memchr2` for a
/// letter when `ignore_case`), for fields known to hold every needle byte.
fn is_subsequence_by_hops(needle: &[u8], mut haystack: &[u8], ignore_case: bool) -> bool {
    for &byte in needle {
        let upper = byte.to_ascii_uppercase();
        let found = if ignore_case && upper != byte {
            memchr::memchr2(byte, upper, haystack)
        } else {
            memchr::memchr(byte, haystack)
        };
        match found {
            Some(at) => haystack = &haystack[at + 1..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::search::{narrows, positions, rank, required_chars};

    fn records() -> Vec<[&'static str; 4]> {
        vec![
            ["crm-sync", "olive", "sales-ops", "Keeps the CRM and billing in step"],
            ["scrum-board", "omar", "platform", "Sprint boards"],
            ["badge-printer", "priya", "facilities", "Prints visitor badges"],
            ["care-manager", "sam", "crm-team", "Case notes"],
            ["lead-sync", "olive", "sales-ops", "Syncs leads to the crm"],
        ]
    }

    fn names(query: &str) -> Vec<&'static str> {
        let records = records();
        let mut found: Vec<&str> = rank(query, &records).iter().map(|m| records[m.index][0]).collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn plain_terms_stay_fuzzy() {
        // c-r-m in order: crm-sync, scrum-board's "s-c-r-u-m", care-manager.
        assert_eq!(names("crm"), ["care-manager", "crm-sync", "lead-sync", "scrum-board"]);
    }

    #[test]
    fn a_quote_matches_the_letters_together() {
        assert_eq!(names("'crm"), ["care-manager", "crm-sync", "lead-sync"]);
        assert_eq!(names("'crm-s"), ["crm-sync"]);
    }

    #[test]
    fn a_caret_and_a_dollar_anchor_a_field() {
        assert_eq!(names("^crm"), ["care-manager", "crm-sync"], "the name or the team starts with crm");
        assert_eq!(names("sync$"), ["crm-sync", "lead-sync"]);
        assert_eq!(names("^crm-sync$"), ["crm-sync"]);
        assert_eq!(names("^sync"), ["lead-sync"], "its purpose starts with Syncs");
        assert!(names("^step").is_empty());
    }

    #[test]
    fn a_bang_excludes() {
        assert_eq!(names("!crm"), ["badge-printer", "scrum-board"], "no field holds crm");
        assert_eq!(names("sync !lead"), ["crm-sync"]);
        assert_eq!(names("!^crm !sync$"), ["badge-printer", "scrum-board"]);
        // Case follows the needle: !CRM is case-sensitive.
        assert_eq!(names("!CRM"), ["badge-printer", "care-manager", "lead-sync", "scrum-board"]);
    }

    #[test]
    fn a_bar_offers_alternatives() {
        assert_eq!(names("crm-sync | badge"), ["badge-printer", "crm-sync"]);
        // The bar binds tighter than the space: (sync or board) and olive.
        assert_eq!(names("sync$ | board olive"), ["crm-sync", "lead-sync"]);
        assert_eq!(names("'zz | !crm"), ["badge-printer", "scrum-board"]);
        // Stray bars are ignored.
        assert_eq!(names("| badge |"), ["badge-printer"]);
    }

    #[test]
    fn syntax_alone_matches_everything_and_escapes_are_literal() {
        assert_eq!(names("' ^ !").len(), records().len());
        assert_eq!(rank("!", records()).iter().map(|m| m.index).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        let recs = vec![["!bang"], ["bang"], ["cost$"], ["cost"]];
        assert_eq!(rank("\\!bang", &recs).iter().map(|m| m.index).collect::<Vec<_>>(), [0]);
        assert_eq!(rank("cost\\$", &recs).iter().map(|m| m.index).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn highlights_show_what_was_found_not_what_was_excluded() {
        assert_eq!(positions("'sync", "crm-sync"), [4, 5, 6, 7]);
        assert_eq!(positions("^crm !zz", "crm-sync"), [0, 1, 2]);
        assert_eq!(positions("crm | badge", "badge-printer"), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn what_a_record_must_hold() {
        let bits = |text: &str| index::needle_bits(text.chars());
        assert_eq!(required_chars("crm"), bits("crm"));
        assert_eq!(required_chars("!crm"), 0, "a negation needs nothing");
        assert_eq!(required_chars("'crm !zz sync$"), bits("crmsyn"));
        assert_eq!(required_chars("crm | cab"), bits("c"), "only what every alternative needs");
        assert_eq!(required_chars("crm | !x"), 0);
    }

    #[test]
    fn growing_queries_narrow_only_where_the_syntax_does() {
        assert!(narrows("'cr", "'crm"));
        assert!(narrows("cr", "cr$"));
        assert!(narrows("cr", "cr !x"));
        assert!(narrows("^", "^c"));
        assert!(!narrows("!cr", "!crm"), "a longer negation excludes less");
        assert!(!narrows("crm", "crm | b"));
        assert!(!narrows("crm |", "crm | b"));
        assert!(!narrows("crm$", "crm$x"));
        assert!(!narrows("crm", "crm\\"));
    }

    /// What the syntax means, said the slow way: per group, some
    /// alternative either found (by its atom) in some field, or negated and
    /// found in none.
    fn matches_by_definition(query: &str, fields: &[String]) -> bool {
        let mut matcher = Matcher::new(nucleo_matcher::Config::DEFAULT);
        let mut buf = Vec::new();
        Query::parse(query).groups.iter().all(|group| {
            group.terms.iter().any(|term| {
                let found = fields.iter().any(|field| {
                    let haystack = Utf32Str::new(field, &mut buf);
                    term.atom.score(haystack, &mut matcher).is_some()
                });
                found != term.negative
            })
        })
    }

    /// Fields from a small alphabet with capitals and an accent, and queries
    /// of 1 to 3 terms with the syntax's prefixes, suffixes and bars.
    fn syntax_case() -> impl Strategy<Value = (Vec<[String; 3]>, String)> {
        let field = "[a-dA-Dé _-]{0,10}";
        let records = prop::collection::vec([field, field, field], 1..10);
        let term = ("(!|'|\\^|!\\^)?", "[a-dAé_-]{1,3}", "\\$?").prop_map(|(pre, body, post)| pre + &body + &post);
        let joint = prop_oneof![3 => Just(" "), 1 => Just(" | ")];
        let query = (term.clone(), prop::collection::vec((joint, term), 0..3))
            .prop_map(|(first, rest)| rest.into_iter().fold(first, |query, (joint, term)| query + joint + &term));
        (records, query)
    }

    proptest! {
        #[test]
        fn the_syntax_matches_what_it_says((records, query) in syntax_case()) {
            let mut found: Vec<usize> = rank(&query, &records).into_iter().map(|m| m.index).collect();
            found.sort_unstable();
            let expected: Vec<usize> =
                (0..records.len()).filter(|&i| matches_by_definition(&query, &records[i])).collect();
            prop_assert_eq!(found, expected, "query {:?} over {:?}", query, records);
        }
    }
}
