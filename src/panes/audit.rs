//! The audit timeline: events newest first, grouped under a header per day.
//! `/` filters by app, actor, action and outcome (plain terms match any of
//! them or the error code; `app:`, `actor:`, `action:`, `outcome:` pick one;
//! see [`crate::domain::audit_query`]), `o` cycles an outcome filter, `F`
//! follows the newest event as new ones arrive, `v` asks the runtime to
//! verify the cache's hash chain and shows the answer, and Enter shows every
//! field of an event.
//!
//! The snapshot carries the newest few thousand events and how many the
//! cache holds; the title says both. A filter searches the whole cache: the
//! pane asks the runtime ([`AuditPane::take_query`]) and shows the matches
//! among the events it has until the answer comes ([`AuditPane::on_page`]);
//! only the answer to the newest query is kept. A rare filter's answer
//! comes in bounded steps, each asked as the last arrives, until a page is
//! full or the cache is searched. Moving past the last row pages in older
//! events (or older matches), a page at a time.

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Context, DetailScroll, Intent, ListCursor, Pane, render_detail};
use crate::config::keymap::{Action, Section};
use crate::domain::audit_query::{self, AuditQuery};
use crate::domain::{AuditEvent, Outcome};
use crate::sanitize::{display_width, fit, sanitize};
use crate::widgets::app_detail::outcome_style;
use crate::widgets::line_input::{InputReply, LineInput};
use crate::widgets::text::Row;

mod pages;

use pages::Found;

const OUTCOMES: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Blocked];

/// Events asked of the cache at a time: a filter's first page, each older page.
pub const AUDIT_PAGE: u32 = 1000;

/// Which list the rows index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Source {
    /// The snapshot's events, then the older ones paged in.
    #[default]
    Window,
    /// The cache's answer to the filter.
    Found,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Day(NaiveDate, usize),
    Event(usize),
}

#[derive(Debug, Default)]
pub struct AuditPane {
    filter: LineInput,
    typing: bool,
    pub outcome: Option<Outcome>,
    pub follow: bool,
    lines: Vec<Entry>,
    shown_events: usize,
    cursor: ListCursor,
    detail: Option<(String, DetailScroll)>,
    /// A verification was asked for and has not been answered.
    pub verifying: bool,
    /// The last verification's answer.
    pub verified: Option<Result<String, String>>,
    computed_for: Option<(String, Option<Outcome>, u64, u64)>,
    /// The selected event's id across a snapshot change.
    anchor: Option<String>,
    /// What `lines` index.
    source: Source,
    /// The filter's matches from the whole cache, once answered.
    found: Option<Found>,
    /// Events older than the snapshot's, paged in without a filter.
    older: Vec<AuditEvent>,
    /// The newest query sent, whose answer is awaited.
    asked: Option<AuditQuery>,
    /// A query for the app to send ([`AuditPane::take_query`]).
    outgoing: Option<AuditQuery>,
    queries: u64,
    /// Bumped when `found` or `older` change.
    pages: u64,
    /// The snapshot version last seen, to refresh the matches when it changes.
    seen_version: u64,
}

impl AuditPane {
    pub fn new() -> AuditPane {
        AuditPane::default()
    }

    /// Whether an event's detail is open.
    pub fn has_detail(&self) -> bool {
        self.detail.is_some()
    }

    pub fn set_verified(&mut self, result: Result<String, String>) {
        self.verifying = false;
        self.verified = Some(result);
    }

    /// The selected event.
    pub fn selected_event<'a>(&'a self, ctx: &'a Context) -> Option<&'a AuditEvent> {
        match self.lines.get(self.cursor.selected) {
            Some(Entry::Event(i)) => self.event_at(ctx, *i),
            _ => None,
        }
    }

    /// The `i`-th event of the list the rows index.
    fn event_at<'a>(&'a self, ctx: &'a Context, i: usize) -> Option<&'a AuditEvent> {
        match self.source {
            Source::Found => self.found.as_ref()?.events.get(i),
            Source::Window => {
                let window = &ctx.data.audit;
                window.get(i).or_else(|| self.older.get(i.checked_sub(window.len())?))
            }
        }
    }

    /// The event with id `id` among those the pane holds.
    fn find_event<'a>(&'a self, ctx: &'a Context, id: &str) -> Option<&'a AuditEvent> {
        let found = self.found.iter().flat_map(|f| f.events.iter());
        ctx.data.audit.iter().chain(self.older.iter()).chain(found).find(|e| e.event_id == id)
    }

    pub fn set_query(&mut self, query: &str, ctx: &Context) {
        self.filter.set_text(query);
        self.filter_changed(ctx);
    }

    fn recompute(&mut self, ctx: &Context) {
        let key = (self.filter.text().to_string(), self.outcome, ctx.version, self.pages);
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        let selected_id = self.anchor.take().or_else(|| self.selected_event(ctx).map(|e| e.event_id.clone()));
        let terms = audit_query::terms(self.filter.text());
        let outcome = self.outcome;
        let answered = self.found.as_ref().is_some_and(|f| f.text == self.filter.text() && f.outcome == outcome);
        self.source = if answered { Source::Found } else { Source::Window };
        // Until the cache answers, the matches among the snapshot's events.
        let preview = !answered && self.filtered();
        let events: Box<dyn Iterator<Item = &AuditEvent>> = match (&self.found, answered) {
            (Some(found), true) => Box::new(found.events.iter()),
            _ if preview => Box::new(ctx.data.audit.iter()),
            _ => Box::new(ctx.data.audit.iter().chain(self.older.iter())),
        };
        let mut lines = Vec::new();
        let mut current_day: Option<(NaiveDate, usize)> = None;
        let mut shown = 0;
        for (i, event) in events.enumerate() {
            if preview {
                if outcome.is_some_and(|o| o != event.outcome) {
                    continue;
                }
                let app_name = event.app_id.as_deref().and_then(|id| ctx.app(id)).map(|a| a.name.as_str());
                if !audit_query::matches(event, app_name, &terms) {
                    continue;
                }
            }
            let day = event.timestamp.date_naive();
            if current_day.map(|(d, _)| d) != Some(day) {
                current_day = Some((day, lines.len()));
                lines.push(Entry::Day(day, 0));
            }
            if let Some((_, at)) = current_day
                && let Some(Entry::Day(_, count)) = lines.get_mut(at)
            {
                *count += 1;
            }
            lines.push(Entry::Event(i));
            shown += 1;
        }
        self.lines = lines;
        self.shown_events = shown;
        let keep = if self.follow { None } else { selected_id };
        let position = keep.and_then(|id| {
            (0..self.lines.len()).find(|&pos| {
                matches!(self.lines[pos], Entry::Event(i) if self.event_at(ctx, i).is_some_and(|e| e.event_id == id))
            })
        });
        self.cursor.selected = position.unwrap_or(1);
        self.cursor.clamp(self.lines.len());
        self.skip_header(true);
        self.computed_for = Some(key);
    }

    /// Moves off a day header, in the direction of travel.
    fn skip_header(&mut self, down: bool) {
        if matches!(self.lines.get(self.cursor.selected), Some(Entry::Day(..))) {
            if (down || self.cursor.selected == 0) && self.cursor.selected + 1 < self.lines.len() {
                self.cursor.selected += 1;
            } else if self.cursor.selected > 0 {
                self.cursor.selected -= 1;
            }
        }
    }

    fn move_by(&mut self, action: Action, ctx: &Context) {
        let at_end = self.cursor.selected + 1 >= self.lines.len();
        if self.cursor.apply(action, self.lines.len()) {
            let down = matches!(action, Action::Down | Action::PageDown | Action::Bottom | Action::Top);
            self.skip_header(down);
            if action != Action::Top {
                self.follow = false;
            }
            // Past the last row (or onto it by a page or End): the next older page.
            let towards_end = matches!(action, Action::PageDown | Action::Bottom) || (at_end && action == Action::Down);
            if towards_end && self.cursor.selected + 1 >= self.lines.len() {
                self.page_in(ctx);
            }
        }
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        let outcome = self.outcome.map_or("all", Outcome::as_str);
        let follow = if self.follow { "on" } else { "off" };
        let block = Block::bordered()
            .title(Span::styled(
                format!(" Audit · {} · outcome {outcome} · follow {follow} ", self.title_counts(ctx)),
                theme.title,
            ))
            .border_style(theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [filter_area, header_area, rows_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let width = inner.width as usize;

        // Filter on the left, the verification on the right.
        let verify_key = ctx.key(Section::Audit, Action::Verify).unwrap_or_default();
        let right = match (&self.verified, self.verifying) {
            (_, true) => Span::styled("verifying the hash chain…".to_string(), theme.warning),
            (Some(Ok(message)), _) => Span::styled(format!("{} {}", glyphs.check, sanitize(message)), theme.ok),
            (Some(Err(message)), _) => Span::styled(format!("{} {}", glyphs.cross, sanitize(message)), theme.danger),
            (None, false) => Span::styled(format!("{verify_key} verify chain"), theme.muted),
        };
        let slash = ctx.key(Section::Audit, Action::Filter).unwrap_or_else(|| "/".into());
        let prefix_w = display_width(&slash) + 1;
        let left_w = if self.typing || !self.filter.text().is_empty() {
            width / 2
        } else {
            width.saturating_sub(display_width(&right.content) + 2).max(width / 2)
        };
        let right = Span::styled(fit(&right.content, width.saturating_sub(left_w + 1)), right.style);
        let mut spans = vec![Span::styled(format!("{slash} "), theme.key)];
        if self.typing {
            let (line, cursor) = self.filter.view(left_w.saturating_sub(prefix_w), theme.input);
            spans.extend(line.spans);
            frame.set_cursor_position(Position::new(filter_area.x + prefix_w as u16 + cursor, filter_area.y));
        } else if self.filter.text().is_empty() {
            spans.push(Span::styled(
                fit("filter: app, actor, action, outcome", left_w.saturating_sub(prefix_w)),
                theme.muted,
            ));
        } else {
            spans.push(Span::styled(fit(self.filter.text(), left_w.saturating_sub(prefix_w)), theme.input));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), filter_area);
        frame.render_widget(Paragraph::new(Line::from(right).right_aligned()), filter_area);

        let wide = width >= 110;
        let (time_w, actor_w, action_w, outcome_w, extra_w) = if wide { (8, 20, 24, 8, 24) } else { (8, 12, 21, 8, 0) };
        let columns = 6 + usize::from(wide);
        let fixed = 1 + time_w + actor_w + action_w + outcome_w + extra_w + columns - 1;
        let app_w = width.saturating_sub(fixed).max(8);
        let mut header = Row::new()
            .cell("", 1, theme.header)
            .cell("Time", time_w, theme.header)
            .cell("Actor", actor_w, theme.header)
            .cell("Action", action_w, theme.header)
            .cell("App", app_w, theme.header)
            .cell("Outcome", outcome_w, theme.header);
        if wide {
            header = header.cell("Detail", extra_w, theme.header);
        }
        frame.render_widget(Paragraph::new(header.line(width, theme.header)), header_area);
        if self.lines.is_empty() {
            let text = if ctx.data.audit.is_empty() && ctx.data.audit_total == 0 {
                "no audit events in the cache yet"
            } else if self.source == Source::Window && self.filtered() && !Self::window_complete(ctx) {
                "no match among the newest events; searching the whole cache…"
            } else {
                "no event matches the filter"
            };
            frame.render_widget(Paragraph::new(Span::styled(format!("  {text}"), theme.muted)), rows_area);
            return;
        }
        let window = self.cursor.window(self.lines.len(), rows_area.height as usize);
        let lines: Vec<Line<'static>> = window
            .clone()
            .filter_map(|pos| match self.lines[pos] {
                Entry::Day(day, count) => {
                    let label = format!(
                        "── {} · {count} event{} ",
                        day.format("%a %d %b %Y"),
                        if count == 1 { "" } else { "s" }
                    );
                    let fill = "─".repeat(width.saturating_sub(display_width(&label)));
                    Some(Line::from(Span::styled(format!("{label}{fill}"), theme.day_header)))
                }
                Entry::Event(i) => {
                    let event = self.event_at(ctx, i)?;
                    let selected = pos == self.cursor.selected;
                    let app = match event.app_id.as_deref() {
                        Some(id) => ctx.app(id).map_or_else(|| id.to_string(), |a| a.name.to_string()),
                        None => "—".to_string(),
                    };
                    let actor = if wide {
                        format!("{} ({})", event.actor_id, event.actor_role)
                    } else {
                        event.actor_id.clone()
                    };
                    let mut row = Row::new()
                        .cell(if selected { glyphs.cursor } else { " " }, 1, theme.text)
                        .cell(&event.timestamp.format("%H:%M:%S").to_string(), time_w, theme.muted)
                        .cell(&actor, actor_w, theme.text)
                        .cell(&event.action_type, action_w, theme.text)
                        .cell(&app, app_w, theme.text)
                        .cell(event.outcome.as_str(), outcome_w, outcome_style(event.outcome, theme));
                    if wide {
                        let extra = event
                            .error_code
                            .clone()
                            .or_else(|| event.resource_id.clone())
                            .or_else(|| event.ip_address.clone())
                            .unwrap_or_default();
                        row = row.cell(&extra, extra_w, theme.muted);
                    }
                    Some(row.line(width, if selected { theme.selected } else { theme.text }))
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rows_area);
    }
}

impl Pane for AuditPane {
    fn before_data(&mut self, ctx: &Context) {
        self.anchor = self.selected_event(ctx).map(|e| e.event_id.clone());
        // The new snapshot's window moves up by the events that came: the
        // ones it drops stay shown above the pages already paged in.
        if !self.older.is_empty() {
            let mut kept = ctx.data.audit.clone();
            kept.append(&mut self.older);
            self.older = kept;
        }
    }

    fn refresh(&mut self, ctx: &Context) {
        if ctx.version != self.seen_version {
            self.seen_version = ctx.version;
            if let Some(oldest) = ctx.data.audit.last().map(|e| e.seq) {
                self.older.retain(|e| e.seq < oldest);
            }
            // New events may match: the filter's pages again, as many as were shown.
            if self.filtered() && !Self::window_complete(ctx) {
                let shown = self.found.as_ref().map_or(0, |f| f.events.len());
                self.ask(None, AUDIT_PAGE.max(u32::try_from(shown).unwrap_or(u32::MAX)));
            }
            self.pages += 1;
        }
        self.recompute(ctx);
    }

    fn on_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent> {
        if let Some((_, scroll)) = &mut self.detail {
            match action {
                Action::Back | Action::Open => {
                    self.detail = None;
                    return Vec::new();
                }
                Action::Verify => {}
                other => {
                    scroll.apply(other);
                    return Vec::new();
                }
            }
        }
        let filter_before = (self.filter.text().to_string(), self.outcome);
        match action {
            Action::Filter => self.typing = true,
            Action::CycleOutcome => {
                self.outcome = match self.outcome {
                    None => Some(OUTCOMES[0]),
                    Some(o) => OUTCOMES.iter().position(|x| *x == o).and_then(|i| OUTCOMES.get(i + 1)).copied(),
                }
            }
            Action::Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.cursor.selected = 1;
                    self.cursor.clamp(self.lines.len());
                }
            }
            Action::Verify => {
                self.verifying = true;
                return vec![Intent::Verify];
            }
            Action::Open => {
                self.detail = self.selected_event(ctx).map(|e| (e.event_id.clone(), DetailScroll::default()))
            }
            Action::Back | Action::ClearFilters => {
                self.filter.clear();
                self.outcome = None;
            }
            other => self.move_by(other, ctx),
        }
        if (self.filter.text().to_string(), self.outcome) != filter_before {
            self.filter_changed(ctx);
        }
        self.recompute(ctx);
        Vec::new()
    }

    fn is_typing(&self) -> bool {
        self.typing && self.detail.is_none()
    }

    fn on_typing_key(&mut self, key: KeyEvent, ctx: &Context) -> Vec<Intent> {
        match self.filter.handle(key) {
            InputReply::Changed => self.filter_changed(ctx),
            InputReply::Submit => self.typing = false,
            InputReply::Cancel => {
                self.typing = false;
                self.filter.clear();
                self.filter_changed(ctx);
            }
            InputReply::Moved => {}
            InputReply::Ignored => match key.code {
                KeyCode::Up => self.move_by(Action::Up, ctx),
                KeyCode::Down => self.move_by(Action::Down, ctx),
                KeyCode::PageUp => self.move_by(Action::PageUp, ctx),
                KeyCode::PageDown => self.move_by(Action::PageDown, ctx),
                _ => {}
            },
        }
        Vec::new()
    }

    fn hints(&self, _ctx: &Context) -> Vec<(Action, &'static str)> {
        if self.detail.is_some() {
            return vec![(Action::Back, "back"), (Action::Help, "help")];
        }
        vec![
            (Action::Filter, "filter"),
            (Action::CycleOutcome, "outcome"),
            (Action::Follow, "follow"),
            (Action::Verify, "verify"),
            (Action::Open, "detail"),
            (Action::Help, "help"),
        ]
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        if let Some((id, scroll)) = &self.detail {
            let event = self.find_event(ctx, id);
            let lines = match event {
                Some(event) => {
                    let app_name = event.app_id.as_deref().and_then(|id| ctx.app(id)).map(|a| a.name.as_str());
                    crate::widgets::audit_event::event_lines(event, app_name, &ctx.theme)
                }
                None => vec![Line::from(Span::styled("this event is no longer in the cache window", ctx.theme.muted))],
            };
            render_detail(frame, area, "audit event", lines, scroll.scroll, ctx);
            return;
        }
        self.render_list(frame, area, ctx);
    }
}
