//! The inventory: every app the user may read, as a table (name, owner, risk
//! tier, data class, state, expires in, users). `/` fuzzy-filters by name,
//! owner, team and purpose on every keystroke, highlighting the matched
//! characters of the name; facets narrow by tier (`t`), data class (`d`),
//! state (`e`) and owner (`m` for mine, or `:filter owner=…`); `s` cycles the
//! sort column and `S` reverses it; Enter opens the app's detail; `n` renews
//! the selected app (or the one in the detail), as in the renewals pane.
//!
//! Rows are indexes into the snapshot and only the visible window is drawn,
//! so 100k apps stay fast; by relevance, only the rows drawn or selected are
//! put in order (`filters::Rows`). The filter re-runs only when the query,
//! facets, sort or snapshot changed.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::filters::{DATA_ORDER, Rows, STATE_ORDER, SearchIndex, TIER_ORDER, cycle, sort_rows};
pub use super::filters::{Facets, SortColumn};
use super::list_filter::{FilterKey, ListFilter, corpus_of};
use super::{Context, DetailScroll, Intent, ListCursor, Pane};
use crate::config::keymap::{Action, Section};
use crate::domain::{AppState, AppSummary};
use crate::sanitize::{fit, sanitize};
use crate::search;
use crate::widgets::app_detail::state_style;
use crate::widgets::text::{Row, highlighted, left};

/// What the rows were computed for (query, facets, sort, direction,
/// snapshot version), to skip work when nothing changed.
type ComputedFor = (String, Facets, Option<SortColumn>, bool, u64);

#[derive(Debug, Default)]
pub struct InventoryPane {
    /// The `/` query, where the selection goes, and the kept searches.
    filter: ListFilter,
    pub facets: Facets,
    /// `None`: by relevance while filtering, else by name.
    pub sort: Option<SortColumn>,
    pub descending: bool,
    /// Indexes into the snapshot's apps, in display order.
    rows: Rows,
    cursor: ListCursor,
    /// All apps by name, computed once per snapshot: the default order.
    by_name: Option<(u64, Vec<usize>)>,
    /// The searchable text of the snapshot, built on the first search.
    index: Option<SearchIndex>,
    detail: Option<(String, DetailScroll)>,
    computed_for: Option<ComputedFor>,
    /// The selected app's id across a snapshot change.
    anchor: Option<String>,
}

impl InventoryPane {
    pub fn new() -> InventoryPane {
        InventoryPane::default()
    }

    pub fn query(&self) -> &str {
        self.filter.query()
    }

    /// Sets the `/` filter as if typed.
    pub fn set_query(&mut self, query: &str, ctx: &Context) {
        self.filter.set_query(query);
        self.recompute(ctx);
    }

    pub fn set_facets(&mut self, facets: Facets, ctx: &Context) {
        self.facets = facets;
        self.recompute(ctx);
    }

    pub fn set_sort(&mut self, sort: Option<SortColumn>, descending: bool, ctx: &Context) {
        self.sort = sort;
        self.descending = descending;
        self.recompute(ctx);
    }

    /// How many apps the list shows.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Apps shown, in order.
    pub fn visible_ids<'a>(&self, ctx: &'a Context) -> Vec<&'a str> {
        self.rows.all().into_iter().filter_map(|i| ctx.data.apps.get(i)).map(|a| a.id.as_str()).collect()
    }

    pub fn selected_app<'a>(&self, ctx: &'a Context) -> Option<&'a AppSummary> {
        self.rows.get(self.cursor.selected).and_then(|i| ctx.data.apps.get(i))
    }

    pub fn detail_app_id(&self) -> Option<&str> {
        self.detail.as_ref().map(|(id, _)| id.as_str())
    }

    /// Opens the detail of `app_id` (from another pane).
    pub fn open_detail(&mut self, app_id: &str) {
        self.detail = Some((app_id.to_string(), DetailScroll::default()));
    }

    fn recompute(&mut self, ctx: &Context) {
        let apps = &ctx.data.apps;
        let key: ComputedFor =
            (self.filter.query().to_string(), self.facets.clone(), self.sort, self.descending, ctx.version);
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        // A new query, facet or sort puts the best row first and selects
        // it; a new snapshot alone keeps the selection where it was.
        let changed = self.computed_for.as_ref().is_none_or(|(query, facets, sort, descending, _)| {
            (query, facets, sort, descending) != (&key.0, &key.1, &key.2, &key.3)
        });
        // The selected app as an index into the snapshot: compared by index,
        // not id, so finding it again touches no app.
        let selected = match self.anchor.take() {
            Some(id) => ctx.app_index(&id),
            None => self.rows.get(self.cursor.selected),
        };
        let query = self.filter.query().to_string();
        let column = match (self.sort, query.trim().is_empty()) {
            (Some(column), _) => Some(column),
            (None, true) => Some(SortColumn::Name),
            (None, false) => None,
        };
        let mut rows: Vec<usize> = if query.trim().is_empty() {
            if column == Some(SortColumn::Name) {
                // The cached name order, filtered: no sort per keystroke.
                self.ensure_name_order(ctx);
                let facets = &self.facets;
                let order = self.by_name.as_ref().map_or(&[][..], |(_, order)| order.as_slice());
                if facets.is_empty() {
                    order.to_vec()
                } else {
                    order.iter().copied().filter(|&i| facets.matches(&apps[i])).collect()
                }
            } else {
                self.faceted(ctx)
            }
        } else {
            let ranking = self.search(ctx);
            if column.is_none() && !self.descending {
                // By relevance: ordered as far as it is drawn.
                self.set_rows(Rows::Ranked(ranking.into()), selected, key, changed);
                return;
            }
            // Sorted by a column (stable: relevance breaks its ties), or
            // reversed: every match in order first.
            ranking.into_matches().into_iter().map(|m| m.index).collect()
        };
        match column {
            Some(SortColumn::Name) if query.trim().is_empty() => {}
            Some(column) => sort_rows(&mut rows, apps, column),
            None => {}
        }
        if self.descending {
            rows.reverse();
        }
        self.set_rows(Rows::Listed(rows), selected, key, changed);
    }

    /// Shows `rows`: the first selected when `changed` (see
    /// [`ListFilter::place`]), else `selected` (an app) if among them.
    fn set_rows(&mut self, rows: Rows, selected: Option<usize>, key: ComputedFor, changed: bool) {
        self.rows = rows;
        let kept = if changed { None } else { selected.and_then(|s| self.rows.position(s)) };
        self.filter.place(&mut self.cursor, self.rows.len(), changed, kept);
        self.computed_for = Some(key);
    }

    /// Apps passing the facets, in snapshot order.
    fn faceted(&self, ctx: &Context) -> Vec<usize> {
        let apps = &ctx.data.apps;
        if self.facets.is_empty() {
            (0..apps.len()).collect()
        } else {
            (0..apps.len()).filter(|&i| self.facets.matches(&apps[i])).collect()
        }
    }

    /// Takes the snapshot's search index, or builds it, on the first search.
    fn ensure_index(&mut self, ctx: &Context) {
        if self.index.as_ref().is_none_or(|index| index.version != ctx.version) {
            self.index = Some(SearchIndex::of(&ctx.data, ctx.version));
        }
    }

    /// Sorts every app by name once per snapshot.
    fn ensure_name_order(&mut self, ctx: &Context) {
        if self.by_name.as_ref().is_none_or(|(version, _)| *version != ctx.version) {
            let mut order: Vec<usize> = (0..ctx.data.apps.len()).collect();
            sort_rows(&mut order, &ctx.data.apps, SortColumn::Name);
            self.by_name = Some((ctx.version, order));
        }
    }

    /// Apps matching the query and the facets, best first (the kept
    /// searches of the same snapshot and facets narrow it as it grows).
    fn search(&mut self, ctx: &Context) -> search::Ranking {
        self.ensure_index(ctx);
        let index = self.index.as_ref().map(|index| index.index.clone()).unwrap_or_default();
        let corpus = corpus_of((ctx.version, &self.facets));
        let (apps, facets) = (&ctx.data.apps, &self.facets);
        let faceted = || (0..apps.len()).filter(|&i| facets.is_empty() || facets.matches(&apps[i])).collect();
        self.filter.search(&index, corpus, faceted)
    }

    fn render_table(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        let total = ctx.data.apps.len();
        let query = self.filter.query();
        let sort = match (self.sort, self.filter.query().trim().is_empty()) {
            (Some(c), _) => c.name(),
            (None, true) => "name",
            (None, false) => "relevance",
        };
        let arrow = match (sort, self.descending) {
            ("relevance", _) => String::new(),
            (_, true) => format!(" {}", glyphs.descending),
            (_, false) => format!(" {}", glyphs.ascending),
        };
        let block = Block::bordered()
            .title(Span::styled(
                match ctx.data.loading {
                    Some(total) => format!(" Inventory · {} of {total} apps, loading the rest… ", self.rows.len()),
                    None => format!(" Inventory · {} of {} apps · sort {sort}{arrow} ", self.rows.len(), total),
                },
                theme.title,
            ))
            .border_style(theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [filter_area, header_area, rows_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        self.render_filter_line(frame, filter_area, ctx);

        let width = inner.width as usize;
        let wide = width >= 110;
        let (owner_w, team_w, tier_w, data_w, state_w, expires_w, users_w) =
            if wide { (12, 16, 9, 9, 14, 8, 6) } else { (8, 0, 6, 9, 11, 7, 5) };
        let columns = 7 + usize::from(wide);
        let fixed = 2 + owner_w + team_w + tier_w + data_w + state_w + expires_w + users_w + columns - 1;
        let name_w = width.saturating_sub(fixed).max(8);

        let mut header = Row::new().cell("", 1, theme.header).cell("Name", name_w, theme.header).cell(
            "Owner",
            owner_w,
            theme.header,
        );
        if wide {
            header = header.cell("Team", team_w, theme.header);
        }
        let header = header
            .cell(if wide { "Risk" } else { "Tier" }, tier_w, theme.header)
            .cell("Data", data_w, theme.header)
            .cell("State", state_w, theme.header)
            .right("Expires", expires_w, theme.header)
            .right("Users", users_w, theme.header)
            .line(width, theme.header);
        frame.render_widget(Paragraph::new(header), header_area);

        if self.rows.is_empty() {
            let text = match total {
                0 if ctx.token_refused => "nothing to show: the server refused this token (see the status bar)",
                0 => "no apps in the cache yet",
                _ => "no app matches the filter",
            };
            frame.render_widget(Paragraph::new(Span::styled(format!("  {text}"), theme.muted)), rows_area);
            return;
        }
        let window = self.cursor.window(self.rows.len(), rows_area.height as usize);
        let lines: Vec<Line<'static>> = self
            .rows
            .window(window.clone())
            .into_iter()
            .enumerate()
            .filter_map(|(offset, row)| {
                let app = ctx.data.apps.get(row)?;
                let selected = window.start + offset == self.cursor.selected;
                let row_style = if selected { theme.selected } else { theme.text };
                let marker = if selected { glyphs.cursor } else { " " };
                // Highlight positions for the visible rows only.
                let positions =
                    if query.trim().is_empty() { Vec::new() } else { search::positions(query, &sanitize(&app.name)) };
                let name = highlighted(&app.name, &positions, name_w, theme.text, theme.matched);
                let mut cells =
                    Row::new().cell(marker, 1, theme.text).spans(name, name_w).cell(&app.owner, owner_w, theme.text);
                if wide {
                    cells = cells.cell(&app.team, team_w, theme.muted);
                }
                let tier = if wide {
                    format!("{} {}", app.risk.tier.as_str(), app.risk.score)
                } else {
                    app.risk.tier.as_str().to_string()
                };
                let expires = app.expires_at.map_or_else(|| "—".to_string(), |at| left(at, ctx.now));
                let expires_style = if app.state == AppState::Expiring { theme.expiring } else { theme.text };
                Some(
                    cells
                        .cell(&tier, tier_w, theme.risk(app.risk.tier))
                        .cell(app.data_classification.as_str(), data_w, theme.text)
                        .cell(app.state.as_str(), state_w, state_style(app.state, theme))
                        .right(&expires, expires_w, expires_style)
                        .right(&app.expected_users.to_string(), users_w, theme.text)
                        .line(width, row_style),
                )
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rows_area);
    }

    fn render_filter_line(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        let theme = &ctx.theme;
        let facets = self.facets.describe();
        let right = if facets.is_empty() {
            let key = |a| ctx.key(Section::Inventory, a).unwrap_or_default();
            Span::styled(
                format!(
                    "{} tier  {} data  {} state  {} mine",
                    key(Action::CycleTier),
                    key(Action::CycleDataClass),
                    key(Action::CycleState),
                    key(Action::ToggleMine)
                ),
                theme.muted,
            )
        } else {
            Span::styled(fit(&facets, area.width as usize / 2), theme.warning)
        };
        let placeholder = "fuzzy filter: name, owner, team, purpose";
        self.filter.render(frame, area, ctx, Section::Inventory, placeholder, Some(right));
    }
}

impl Pane for InventoryPane {
    fn before_data(&mut self, ctx: &Context) {
        self.anchor = self.selected_app(ctx).map(|a| a.id.to_string());
    }

    fn refresh(&mut self, ctx: &Context) {
        // What was derived from the last snapshot goes with it, not at the
        // next search: its search index alone is ~17 MiB at 100k apps.
        if self.index.as_ref().is_some_and(|index| index.version != ctx.version) {
            self.index = None;
        }
        if self.computed_for.as_ref().is_some_and(|computed| computed.4 != ctx.version) {
            self.filter.forget_searches();
        }
        self.recompute(ctx);
    }

    fn on_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent> {
        if action == Action::Amend {
            let id = match &self.detail {
                Some((id, _)) => Some(id.clone()),
                None => self.selected_app(ctx).map(|app| app.id.to_string()),
            };
            return id.map(Intent::Amend).into_iter().collect();
        }
        if matches!(action, Action::Renew | Action::Quarantine | Action::Retire) {
            let app = match &self.detail {
                Some((id, _)) => ctx.app(id),
                None => self.selected_app(ctx),
            };
            return app.and_then(|app| super::hold_keys::app_action(action, app, ctx)).into_iter().collect();
        }
        if let Some((_, scroll)) = &mut self.detail {
            match action {
                Action::Back | Action::Open => self.detail = None,
                other => {
                    scroll.apply(other);
                }
            }
            return Vec::new();
        }
        match action {
            Action::Filter => self.filter.open(),
            Action::Open => {
                self.filter.pin();
                self.detail = self.selected_app(ctx).map(|a| (a.id.to_string(), DetailScroll::default()));
            }
            Action::Back | Action::ClearFilters => {
                self.filter.clear();
                self.facets = Facets::default();
            }
            Action::CycleTier => self.facets.tier = cycle(self.facets.tier, &TIER_ORDER),
            Action::CycleDataClass => self.facets.data = cycle(self.facets.data, &DATA_ORDER),
            Action::CycleState => self.facets.state = cycle(self.facets.state, &STATE_ORDER),
            Action::ToggleMine => {
                self.facets.owner = match self.facets.owner {
                    Some(_) => None,
                    None => Some(ctx.data.me.user.clone()),
                }
            }
            Action::SortNext => {
                self.sort = match self.sort {
                    None => Some(SortColumn::ALL[0]),
                    Some(column) => cycle(Some(column), &SortColumn::ALL),
                };
                self.descending = false;
            }
            Action::SortReverse => self.descending = !self.descending,
            other => {
                if self.cursor.apply(other, self.rows.len()) {
                    self.filter.pin();
                }
            }
        }
        self.recompute(ctx);
        Vec::new()
    }

    fn is_typing(&self) -> bool {
        self.filter.is_typing() && self.detail.is_none()
    }

    fn on_typing_key(&mut self, key: KeyEvent, ctx: &Context) -> Vec<Intent> {
        if self.filter.handle_key(key, &mut self.cursor, self.rows.len()) == FilterKey::Changed {
            self.recompute(ctx);
        }
        Vec::new()
    }

    fn hints(&self, ctx: &Context) -> Vec<(Action, &'static str)> {
        // `n` is offered to those who may renew something: owners and leads.
        let renew = ctx.actor.may_renew_some().then_some((Action::Renew, "renew"));
        if self.detail.is_some() {
            return [Some((Action::Back, "back")), renew, Some((Action::Help, "help"))].into_iter().flatten().collect();
        }
        [
            Some((Action::Filter, "filter")),
            Some((Action::Open, "detail")),
            renew,
            Some((Action::CycleTier, "tier")),
            Some((Action::SortNext, "sort")),
            Some((Action::Help, "help")),
            Some((Action::Quit, "quit")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        if let Some((id, scroll)) = &self.detail {
            return super::render_app_detail(frame, area, id, scroll.scroll, ctx);
        }
        self.render_table(frame, area, ctx);
    }
}
