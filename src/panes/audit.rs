//! The audit timeline: events newest first, grouped under a header per day.
//! `/` filters by app, actor, action and outcome (plain terms match any of
//! them; `app:`, `actor:`, `action:`, `outcome:` pick one), `o` cycles an
//! outcome filter, `F` follows the newest event as new ones arrive, `v` asks
//! the runtime to verify the cache's hash chain and shows the answer, and
//! Enter shows every field of an event.

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Context, DetailScroll, Intent, ListCursor, Pane, render_detail};
use crate::config::keymap::{Action, Section};
use crate::domain::{AuditEvent, Outcome};
use crate::sanitize::{display_width, fit, sanitize};
use crate::widgets::app_detail::{field, outcome_style};
use crate::widgets::line_input::{InputReply, LineInput};
use crate::widgets::text::Row;

const OUTCOMES: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Blocked];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Day(NaiveDate, usize),
    Event(usize),
}

/// Whether `event` matches every term of `query` (see the module docs).
pub fn matches(event: &AuditEvent, app_name: Option<&str>, query: &str) -> bool {
    let app = format!("{} {}", event.app_id.as_deref().unwrap_or(""), app_name.unwrap_or("")).to_lowercase();
    let actor = format!("{} {}", event.actor_id, event.actor_role).to_lowercase();
    let action = event.action_type.to_lowercase();
    let outcome = event.outcome.as_str();
    let other = format!("{} {}", event.resource_id.as_deref().unwrap_or(""), event.error_code.as_deref().unwrap_or(""))
        .to_lowercase();
    query.split_whitespace().all(|term| {
        let term = term.to_lowercase();
        match term.split_once(':') {
            Some(("app", v)) => app.contains(v),
            Some(("actor", v)) => actor.contains(v),
            Some(("action", v)) => action.contains(v),
            Some(("outcome", v)) => outcome.contains(v),
            _ => [&app, &actor, &action, outcome, &other].iter().any(|field| field.contains(&term)),
        }
    })
}

/// `value` with every string (keys too) sanitized, so that JSON escapes of
/// control characters (`\u001b[2J`) do not show the sequences as text.
fn clean_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(sanitize(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(clean_json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (sanitize(k).into_owned(), clean_json(v))).collect())
        }
        other => other.clone(),
    }
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
    computed_for: Option<(String, Option<Outcome>, u64)>,
    /// The selected event's id across a snapshot change.
    anchor: Option<String>,
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

    /// The id of the selected event.
    pub fn selected_event<'a>(&self, ctx: &'a Context) -> Option<&'a AuditEvent> {
        match self.lines.get(self.cursor.selected) {
            Some(Entry::Event(i)) => ctx.data.audit.get(*i),
            _ => None,
        }
    }

    pub fn set_query(&mut self, query: &str, ctx: &Context) {
        self.filter.set_text(query);
        self.recompute(ctx);
    }

    fn recompute(&mut self, ctx: &Context) {
        let key = (self.filter.text().to_string(), self.outcome, ctx.version);
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        let selected_id = self.anchor.take().or_else(|| self.selected_event(ctx).map(|e| e.event_id.clone()));
        let query = self.filter.text();
        let mut lines = Vec::new();
        let mut current_day: Option<(NaiveDate, usize)> = None;
        let mut shown = 0;
        for (i, event) in ctx.data.audit.iter().enumerate() {
            if self.outcome.is_some_and(|o| o != event.outcome) {
                continue;
            }
            let app_name = event.app_id.as_deref().and_then(|id| ctx.app(id)).map(|a| a.name.as_str());
            if !query.trim().is_empty() && !matches(event, app_name, query) {
                continue;
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
        self.cursor.selected = keep
            .and_then(|id| {
                self.lines.iter().position(|l| matches!(l, Entry::Event(i) if ctx.data.audit[*i].event_id == id))
            })
            .unwrap_or(1);
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

    fn move_by(&mut self, action: Action) {
        if self.cursor.apply(action, self.lines.len()) {
            let down = matches!(action, Action::Down | Action::PageDown | Action::Bottom | Action::Top);
            self.skip_header(down);
            if action != Action::Top {
                self.follow = false;
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
                format!(
                    " Audit · {} · outcome {outcome} · follow {follow} ",
                    crate::widgets::text::count(self.shown_events as u64, "event")
                ),
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
            let text = if ctx.data.audit.is_empty() {
                "no audit events in the cache yet"
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
                    let event = ctx.data.audit.get(i)?;
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

    fn detail_lines(event: &AuditEvent, ctx: &Context) -> Vec<Line<'static>> {
        let theme = &ctx.theme;
        let s = |t: &str| sanitize(t).into_owned();
        let opt = |t: &Option<String>| t.as_deref().map_or_else(|| "—".to_string(), |v| sanitize(v).into_owned());
        let app = match event.app_id.as_deref() {
            Some(id) => match ctx.app(id) {
                Some(app) => format!("{} ({})", s(&app.name), s(id)),
                None => s(id),
            },
            None => "—".into(),
        };
        vec![
            Line::from(vec![
                Span::styled(s(&event.action_type), theme.title),
                Span::raw("  "),
                Span::styled(event.outcome.as_str().to_string(), outcome_style(event.outcome, theme)),
            ]),
            field("Seq", event.seq.to_string(), theme),
            field("Event id", s(&event.event_id), theme),
            field("Time", event.timestamp.to_rfc3339(), theme),
            field("Actor", format!("{} ({})", s(&event.actor_id), s(&event.actor_role)), theme),
            field("App", app, theme),
            field("Version", event.version.map_or_else(|| "—".into(), |v| v.to_string()), theme),
            field("Environment", opt(&event.environment), theme),
            field("Resource", format!("{} {}", s(&event.resource_type), opt(&event.resource_id)), theme),
            field("Data class", opt(&event.data_classification), theme),
            field("Error code", opt(&event.error_code), theme),
            field("IP address", opt(&event.ip_address), theme),
            field("User agent", opt(&event.user_agent), theme),
            field("Context", s(&clean_json(&event.request_context).to_string()), theme),
            field("Risk score", event.risk_score_at_time.map_or_else(|| "—".into(), |v| v.to_string()), theme),
            field("Approval", opt(&event.approval_id), theme),
            field("Prev hash", s(&event.prev_hash), theme),
            field("Hash", s(&event.hash), theme),
        ]
    }
}

impl Pane for AuditPane {
    fn before_data(&mut self, ctx: &Context) {
        self.anchor = self.selected_event(ctx).map(|e| e.event_id.clone());
    }

    fn refresh(&mut self, ctx: &Context) {
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
            other => self.move_by(other),
        }
        self.recompute(ctx);
        Vec::new()
    }

    fn is_typing(&self) -> bool {
        self.typing && self.detail.is_none()
    }

    fn on_typing_key(&mut self, key: KeyEvent, ctx: &Context) -> Vec<Intent> {
        match self.filter.handle(key) {
            InputReply::Changed => self.recompute(ctx),
            InputReply::Submit => self.typing = false,
            InputReply::Cancel => {
                self.typing = false;
                self.filter.clear();
                self.recompute(ctx);
            }
            InputReply::Moved => {}
            InputReply::Ignored => match key.code {
                KeyCode::Up => self.move_by(Action::Up),
                KeyCode::Down => self.move_by(Action::Down),
                KeyCode::PageUp => self.move_by(Action::PageUp),
                KeyCode::PageDown => self.move_by(Action::PageDown),
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
            let event = ctx.data.audit.iter().find(|e| &e.event_id == id);
            let lines = match event {
                Some(event) => Self::detail_lines(event, ctx),
                None => vec![Line::from(Span::styled("this event is no longer in the cache window", ctx.theme.muted))],
            };
            render_detail(frame, area, "audit event", lines, scroll.scroll, ctx);
            return;
        }
        self.render_list(frame, area, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewAuditEvent;

    fn event(action: &str, actor: &str, app: &str, outcome: Outcome) -> AuditEvent {
        let new = NewAuditEvent {
            actor_id: actor.into(),
            actor_role: "reviewer".into(),
            app_id: Some(app.into()),
            action_type: action.into(),
            outcome: Some(outcome),
            ..NewAuditEvent::default()
        };
        AuditEvent::seal(new, "e1".into(), 1, chrono::Utc::now(), crate::domain::audit::GENESIS_HASH)
    }

    #[test]
    fn filter_terms_match_any_field_or_the_named_one() {
        let e = event("dlp.block", "bot", "app-7", Outcome::Blocked);
        assert!(matches(&e, Some("crm-sync"), "dlp"));
        assert!(matches(&e, Some("crm-sync"), "crm blocked"));
        assert!(matches(&e, Some("crm-sync"), "app:crm action:dlp"));
        assert!(!matches(&e, Some("crm-sync"), "actor:crm"));
        assert!(!matches(&e, Some("crm-sync"), "outcome:success"));
        assert!(matches(&e, None, "APP-7"));
    }
}
