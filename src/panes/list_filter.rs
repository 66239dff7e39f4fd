//! The `/` filter every list pane shares (inventory, approvals, renewals):
//! the query being typed and the keys that edit it, the line that shows it,
//! where the selection goes when the rows change, and the search over a
//! prepared [`Index`] that starts from the last hits when the query only grew.
//!
//! Where the selection goes, as in fzf and atuin: when the query changes
//! (typed, deleted, pasted, cleared) or whatever orders or narrows the rows
//! does (a sort, a facet), the first row — the best match — is selected and
//! the view shows the top. Until the user moves the selection, rows that
//! arrive later (a new snapshot, the rest of a large cache) keep the first
//! row selected, so the highlight always shows the best match of the newest
//! query; once the user has moved it (or acted on the row), the selected
//! item stays selected across new snapshots.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Context, ListCursor};
use crate::config::keymap::{Action, Section};
use crate::sanitize::{display_width, fit};
use crate::search::{self, Index, Ranking};
use crate::widgets::line_input::{InputReply, LineInput};

/// How many searches of the query being typed are kept (one per character,
/// the first ones holding most rows); a longer query drops the oldest.
const MAX_KEPT_SEARCHES: usize = 16;

/// What a key did while the filter was being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKey {
    /// The query changed: the rows must be computed again.
    Changed,
    /// Enter: the query is kept and the list has the keys again.
    Done,
    /// A movement key, already applied to the cursor.
    Moved,
    /// Nothing to do.
    Nothing,
}

/// One search of the query being typed: the query, the rows it was run
/// over (see [`ListFilter::search`]) and what it matched (ascending), so a
/// query that only grew searches those alone.
#[derive(Debug)]
struct KeptSearch {
    query: String,
    corpus: u64,
    hits: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct ListFilter {
    input: LineInput,
    typing: bool,
    /// The user moved the selection (or acted on it) since the last change
    /// of the query: new rows keep the selected item instead of the first.
    pinned: bool,
    /// The searches of the query being typed, each extending the one before.
    searches: Vec<KeptSearch>,
    /// An index of the pane's own rows (see [`ListFilter::search_rows`]).
    own_index: Option<(u64, Arc<Index>)>,
}

impl ListFilter {
    pub fn query(&self) -> &str {
        self.input.text()
    }

    /// Whether a query narrows the rows.
    pub fn is_active(&self) -> bool {
        !self.input.text().trim().is_empty()
    }

    pub fn set_query(&mut self, query: &str) {
        self.input.set_text(query);
    }

    pub fn clear(&mut self) {
        self.input.clear();
    }

    /// `/`: starts typing the query.
    pub fn open(&mut self) {
        self.typing = true;
    }

    pub fn is_typing(&self) -> bool {
        self.typing
    }

    /// A key while typing; movement keys move `cursor` over `len` rows.
    pub fn handle_key(&mut self, key: KeyEvent, cursor: &mut ListCursor, len: usize) -> FilterKey {
        match self.input.handle(key) {
            InputReply::Changed => FilterKey::Changed,
            InputReply::Submit => {
                self.typing = false;
                FilterKey::Done
            }
            InputReply::Cancel => {
                self.typing = false;
                self.input.clear();
                FilterKey::Changed
            }
            InputReply::Moved => FilterKey::Nothing,
            InputReply::Ignored => {
                let action = match key.code {
                    KeyCode::Up => Action::Up,
                    KeyCode::Down => Action::Down,
                    KeyCode::PageUp => Action::PageUp,
                    KeyCode::PageDown => Action::PageDown,
                    _ => return FilterKey::Nothing,
                };
                cursor.apply(action, len);
                self.pin();
                FilterKey::Moved
            }
        }
    }

    /// The user moved the selection or acted on the selected row: it stays
    /// on that item until the query changes.
    pub fn pin(&mut self) {
        self.pinned = true;
    }

    /// Places the cursor over `len` freshly computed rows: on the first row
    /// when `changed` (the query, sort or facets changed) or while not
    /// pinned; else on `kept`, the row of the item selected before (or the
    /// same position, if that item is gone).
    pub fn place(&mut self, cursor: &mut ListCursor, len: usize, changed: bool, kept: Option<usize>) {
        if changed {
            self.pinned = false;
        }
        cursor.selected = if self.pinned { kept.unwrap_or(cursor.selected) } else { 0 };
        cursor.clamp(len);
    }

    /// Forgets the kept searches (their rows went with a snapshot).
    pub fn forget_searches(&mut self) {
        self.searches.clear();
        self.own_index = None;
    }

    /// The records of `index` matching the query, best first. `corpus`
    /// names the records searched (`all` lists them, ascending): the search
    /// starts from the hits of the longest earlier query over the same
    /// corpus that this one extends or repeats, so an appended character
    /// searches the last hits only and a backspace the hits of the query it
    /// returns to.
    pub fn search(&mut self, index: &Index, corpus: u64, all: impl FnOnce() -> Vec<usize>) -> Ranking {
        let query = self.input.text().to_string();
        if self.searches.first().is_some_and(|s| s.corpus != corpus) {
            self.searches.clear();
        }
        while self.searches.last().is_some_and(|s| !search::narrows(&s.query, &query)) {
            self.searches.pop();
        }
        let candidates = match self.searches.last() {
            Some(last) => last.hits.clone(),
            None => all(),
        };
        // The candidates ascend, so equal scores keep the records' order and
        // the hits come back in it without a sort.
        let ranking = index.rank(&query, &candidates);
        let hits = ranking.matched();
        if self.searches.last().is_some_and(|s| s.query == query) {
            self.searches.pop();
        }
        if self.searches.len() == MAX_KEPT_SEARCHES {
            self.searches.remove(0);
        }
        self.searches.push(KeptSearch { query, corpus, hits });
        ranking
    }

    /// [`ListFilter::search`] over a pane's own rows, in their order: record
    /// `i` of the index `build` makes is row `i`, so equal scores keep the
    /// rows' order. The index is built once per `corpus`.
    pub fn search_rows(&mut self, corpus: u64, build: impl FnOnce() -> Index) -> Ranking {
        let index = match &self.own_index {
            Some((built_for, index)) if *built_for == corpus => index.clone(),
            _ => {
                let index = Arc::new(build());
                self.own_index = Some((corpus, index.clone()));
                index
            }
        };
        let len = index.len();
        self.search(&index, corpus, || (0..len).collect())
    }

    /// The filter line: the key, then the query (with the terminal cursor
    /// while typing) or `placeholder`, and `right` at the right end when it
    /// fits.
    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        ctx: &Context,
        section: Section,
        placeholder: &str,
        right: Option<Span<'static>>,
    ) {
        let theme = &ctx.theme;
        let width = area.width as usize;
        let right_w = right.as_ref().map_or(0, |r| display_width(&r.content));
        let left_w = width.saturating_sub(right_w + 2);
        let slash = ctx.key(section, Action::Filter).unwrap_or_else(|| "/".into());
        let prefix_w = display_width(&slash) + 1;
        let mut spans = vec![Span::styled(format!("{slash} "), theme.key)];
        if self.typing {
            let (line, cursor) = self.input.view(left_w.saturating_sub(prefix_w), theme.input);
            spans.extend(line.spans);
            frame.set_cursor_position(Position::new(area.x + (prefix_w as u16) + cursor, area.y));
        } else if self.input.text().is_empty() {
            spans.push(Span::styled(fit(placeholder, left_w.saturating_sub(prefix_w)), theme.muted));
        } else {
            spans.push(Span::styled(fit(self.input.text(), left_w.saturating_sub(prefix_w)), theme.input));
        }
        let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        if let Some(right) = right
            && used + right_w < width
        {
            frame.render_widget(Paragraph::new(Line::from(right).right_aligned()), area);
        }
    }
}

/// A corpus name for [`ListFilter::search`] from what the rows depend on.
pub fn corpus_of(parts: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn typed(filter: &mut ListFilter, text: &str, cursor: &mut ListCursor) {
        for c in text.chars() {
            filter.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), cursor, 10);
        }
    }

    #[test]
    fn the_first_row_is_selected_until_the_user_moves() {
        let mut filter = ListFilter::default();
        let mut cursor = ListCursor::default();
        filter.open();
        typed(&mut filter, "ab", &mut cursor);
        filter.place(&mut cursor, 10, true, Some(4));
        assert_eq!(cursor.selected, 0);
        // New rows for the same query: still the first.
        filter.place(&mut cursor, 10, false, Some(4));
        assert_eq!(cursor.selected, 0);
        // Moved: new rows keep the item.
        filter.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE), &mut cursor, 10);
        assert_eq!(cursor.selected, 1);
        filter.place(&mut cursor, 10, false, Some(6));
        assert_eq!(cursor.selected, 6);
        // Gone: the same position.
        filter.place(&mut cursor, 10, false, None);
        assert_eq!(cursor.selected, 6);
        // The query changes: the first row again.
        filter.place(&mut cursor, 10, true, Some(6));
        assert_eq!(cursor.selected, 0);
    }

    #[test]
    fn a_search_that_only_grew_starts_from_the_last_hits() {
        let records = [["crm-sync"], ["badge"], ["crm-report"]];
        let index = Index::build(records);
        let mut filter = ListFilter::default();
        filter.set_query("cr");
        let all = || (0..3).collect();
        assert_eq!(filter.search(&index, 1, all).matched(), [0, 2]);
        filter.set_query("crm-r");
        // Were every record searched again, `all` would be called.
        let ranking = filter.search(&index, 1, || unreachable!("the last hits are searched"));
        assert_eq!(ranking.matched(), [2]);
        filter.set_query("b");
        assert_eq!(filter.search(&index, 1, all).matched(), [1]);
        assert_eq!(filter.search_rows(7, || Index::build(records)).matched(), [1]);
    }
}
