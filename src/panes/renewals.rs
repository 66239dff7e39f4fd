//! Renewals: the user's apps (every app for a lead) by urgency — decommission
//! soon, read-only, quarantined, expiring within 7 days, within 30 days, then
//! the rest by expiry — with what the TTL lifecycle will do next spelled out
//! for the selected one. `n` renews with one key: at once for live and
//! quarantined apps, as a re-approval request for read-only ones (after a
//! confirm, as for a renewal that would shorten the time left). The result
//! comes back as a toast. [`renew_or_refuse`] is what `n` does in every pane.
//! `/` filters by app, owner, team and state (the shared
//! [`ListFilter`](super::list_filter::ListFilter): best match first, ties by
//! urgency).

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::data::QueuedStatus;
use super::list_filter::{FilterKey, ListFilter, corpus_of};
use super::{Context, DetailScroll, Intent, ListCursor, Pane};
use crate::config::keymap::{Action, Section};
use crate::domain::ttl::{RenewalError, days_left};
use crate::domain::{AppState, AppSummary, Approval, ApprovalKind, ApprovalStatus, Role};
use crate::sanitize::{fit, sanitize};
use crate::search::{self, Index};
use crate::widgets::app_detail::{lifecycle_sentence, next_step, renewal_sentence, state_style};
use crate::widgets::text::{Row, date, highlighted, left};
use crate::widgets::toast::Toast;

/// How soon an app needs its owner, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Read-only and decommissioned within 7 days.
    DecommissionSoon,
    ReadOnly,
    Quarantined,
    Within7Days,
    Within30Days,
    Later,
}

impl Urgency {
    pub fn label(self) -> &'static str {
        match self {
            Urgency::DecommissionSoon => "decommission soon",
            Urgency::ReadOnly => "read-only",
            Urgency::Quarantined => "quarantined",
            Urgency::Within7Days => "expires ≤ 7 days",
            Urgency::Within30Days => "expires ≤ 30 days",
            Urgency::Later => "ok",
        }
    }

    fn style(self, ctx: &Context) -> Style {
        match self {
            Urgency::DecommissionSoon | Urgency::Quarantined => ctx.theme.danger,
            Urgency::ReadOnly | Urgency::Within7Days => ctx.theme.warning,
            Urgency::Within30Days => ctx.theme.expiring,
            Urgency::Later => ctx.theme.ok,
        }
    }

    /// Whether the owner should act now.
    pub fn needs_attention(self) -> bool {
        self != Urgency::Later
    }
}

/// The urgency of `app` at `now`, or `None` for apps renewals do not list.
/// Buckets count days by [`days_left`], the rule every days label follows,
/// so `quarantined in 7d` is always `expires ≤ 7 days`.
pub fn urgency(app: &AppSummary, now: DateTime<Utc>) -> Option<Urgency> {
    let next = next_step(app).map(|step| days_left(step.at, now));
    match app.state {
        AppState::ReadOnly if next.is_some_and(|days| days <= 7) => Some(Urgency::DecommissionSoon),
        AppState::ReadOnly => Some(Urgency::ReadOnly),
        AppState::Quarantined => Some(Urgency::Quarantined),
        AppState::Active | AppState::Expiring => match app.expires_at.map(|at| days_left(at, now)) {
            Some(days) if days <= 7 => Some(Urgency::Within7Days),
            Some(days) if days <= 30 => Some(Urgency::Within30Days),
            _ => Some(Urgency::Later),
        },
        _ => None,
    }
}

/// The pending re-approval request of a read-only app, if one was filed.
fn pending_reapproval<'a>(app: &AppSummary, ctx: &'a Context) -> Option<&'a Approval> {
    ctx.data
        .approvals
        .iter()
        .find(|a| a.app_id == app.id && a.kind == ApprovalKind::Renewal && a.status == ApprovalStatus::Pending)
}

/// Why the user cannot renew `app` now, if they cannot: not theirs,
/// decommissioned (final), not under the TTL lifecycle, a renewal already
/// waiting to be sent, or a re-approval request already waiting for review.
pub fn renew_refusal(app: &AppSummary, ctx: &Context) -> Option<String> {
    if !ctx.actor.may_renew_app_of(&app.owner) {
        return Some(RenewalError::NotAllowed.to_string());
    }
    if let Some(hold) = ctx.hold(&app.id) {
        return Some(RenewalError::Held { by: hold.by.clone(), reason: hold.reason.clone() }.to_string());
    }
    match app.state {
        AppState::Decommissioned => return Some(RenewalError::Decommissioned.to_string()),
        state @ (AppState::Pending | AppState::Rejected | AppState::Discovered) => {
            return Some(RenewalError::NotRenewable(state.as_str()).to_string());
        }
        _ => {}
    }
    if ctx.is_pending_action(&app.id) {
        return Some("a renewal of this app is already waiting to be sent".to_string());
    }
    pending_reapproval(app, ctx)
        .filter(|_| app.state == AppState::ReadOnly)
        .map(|request| format!("its re-approval request {} is already waiting for review", sanitize(&request.id)))
}

/// `n` on `app`, from any pane that shows one: the renewal (which the app
/// confirms first when it files a request or shortens the time left), or a
/// toast saying why not.
pub fn renew_or_refuse(app: &AppSummary, ctx: &Context) -> Intent {
    match renew_refusal(app, ctx) {
        Some(reason) => Intent::Toast(Toast::error(format!("cannot renew {}: {reason}", sanitize(&app.name)), ctx.now)),
        None => Intent::Renew(app.id.to_string()),
    }
}

/// What `/` searches in an app here: its name (the highlighted field),
/// owner, team and state.
fn searched_fields(app: &AppSummary) -> [String; 4] {
    [
        sanitize(&app.name).into_owned(),
        sanitize(&app.owner).into_owned(),
        sanitize(&app.team).into_owned(),
        app.state.as_str().to_string(),
    ]
}

#[derive(Debug, Default)]
pub struct RenewalsPane {
    /// Every app listed, most urgent first.
    listed: Vec<(usize, Urgency)>,
    /// The apps shown: all listed, or their matches best first.
    rows: Vec<(usize, Urgency)>,
    cursor: ListCursor,
    /// The `/` query and where the selection goes when it changes.
    filter: ListFilter,
    detail: Option<(String, DetailScroll)>,
    computed_for: Option<(u64, i64, String)>,
    /// The selected app's id across a snapshot change.
    anchor: Option<String>,
}

impl RenewalsPane {
    pub fn new() -> RenewalsPane {
        RenewalsPane::default()
    }

    /// Apps shown, in order.
    pub fn visible_ids<'a>(&self, ctx: &'a Context) -> Vec<&'a str> {
        self.rows.iter().filter_map(|(i, _)| ctx.data.apps.get(*i)).map(|a| a.id.as_str()).collect()
    }

    /// The app under the cursor (or in the open detail).
    pub fn selected_id<'a>(&self, ctx: &'a Context) -> Option<&'a str> {
        self.selected(ctx).map(|a| a.id.as_str())
    }

    /// The app whose detail is open.
    pub fn detail_app_id(&self) -> Option<&str> {
        self.detail.as_ref().map(|(id, _)| id.as_str())
    }

    fn selected<'a>(&self, ctx: &'a Context) -> Option<&'a AppSummary> {
        match &self.detail {
            Some((id, _)) => ctx.app(id),
            None => self.rows.get(self.cursor.selected).and_then(|(i, _)| ctx.data.apps.get(*i)),
        }
    }

    /// Selects the app with `app_id`, if listed.
    pub fn select(&mut self, app_id: &str, ctx: &Context) {
        self.recompute(ctx);
        if let Some(pos) = self.rows.iter().position(|(i, _)| ctx.data.apps[*i].id == app_id) {
            self.cursor.selected = pos;
            self.filter.pin();
        }
    }

    fn recompute(&mut self, ctx: &Context) {
        let key = (ctx.version, ctx.now.timestamp() / 60, self.filter.query().to_string());
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        let changed = self.computed_for.as_ref().is_none_or(|(_, _, query)| *query != key.2);
        let selected_id = self.anchor.take().or_else(|| {
            self.rows.get(self.cursor.selected).and_then(|(i, _)| ctx.data.apps.get(*i)).map(|a| a.id.to_string())
        });
        // Leads renew any app; auditors read every app's TTL standing.
        let all = ctx.actor.has(Role::Lead) || ctx.actor.has(Role::Auditor);
        let mut keyed: Vec<(Urgency, i64, usize)> = ctx
            .data
            .apps
            .iter()
            .enumerate()
            .filter(|(_, app)| all || app.owner == ctx.actor.user)
            .filter_map(|(i, app)| {
                let deadline = next_step(app).map_or(i64::MAX, |step| step.at.timestamp());
                urgency(app, ctx.now).map(|u| (u, deadline, i))
            })
            .collect();
        keyed.sort_unstable();
        self.listed = keyed.into_iter().map(|(u, _, i)| (i, u)).collect();
        self.rows = if self.filter.is_active() {
            let listed = &self.listed;
            let apps = &ctx.data.apps;
            let build = || Index::build(listed.iter().map(|(i, _)| searched_fields(&apps[*i])));
            let ranking = self.filter.search_rows(corpus_of((key.0, key.1)), build);
            ranking.into_matches().into_iter().map(|m| listed[m.index]).collect()
        } else {
            self.listed.clone()
        };
        let kept = selected_id.and_then(|id| self.rows.iter().position(|(i, _)| ctx.data.apps[*i].id == id));
        self.filter.place(&mut self.cursor, self.rows.len(), changed, kept);
        self.computed_for = Some(key);
    }

    fn next_step(app: &AppSummary, ctx: &Context) -> (String, Style) {
        match ctx.action_status(&app.id) {
            Some(QueuedStatus::Queued) => return ("renewal queued".into(), ctx.theme.warning),
            Some(QueuedStatus::Sending) => return ("renewal sending".into(), ctx.theme.warning),
            Some(QueuedStatus::Failed(message)) => {
                return (format!("failed: {}", sanitize(&message)), ctx.theme.danger);
            }
            None => {}
        }
        if app.state == AppState::ReadOnly && pending_reapproval(app, ctx).is_some() {
            return ("re-approval requested".into(), ctx.theme.warning);
        }
        if let Some(hold) = ctx.hold(&app.id) {
            // The ladder waits for a reviewer: no date to count down to.
            return (format!("held by {}", sanitize(&hold.by)), ctx.theme.danger);
        }
        match next_step(app) {
            Some(step) => (format!("{} in {}", step.to.as_str(), left(step.at, ctx.now)), ctx.theme.text),
            None => ("—".into(), ctx.theme.muted),
        }
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        let whose = if ctx.actor.has(Role::Lead) || ctx.actor.has(Role::Auditor) {
            "all apps".to_string()
        } else {
            format!("apps of {}", sanitize(&ctx.actor.user))
        };
        let attention = self.listed.iter().filter(|(_, u)| u.needs_attention()).count();
        let mut title = format!(" Renewals · {whose} · {attention} need attention ");
        if self.filter.is_active() {
            title.push_str(&format!("· {} match ", self.rows.len()));
        }
        let block = Block::bordered().title(Span::styled(title, theme.title)).border_style(theme.border);
        let mut inner = block.inner(area);
        frame.render_widget(block, area);
        // The filter line shows while the filter is typed or holds a query.
        if self.filter.is_typing() || self.filter.is_active() {
            let [filter_area, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
            let placeholder = "filter: app, owner, team, state";
            self.filter.render(frame, filter_area, ctx, Section::Renewals, placeholder, None);
            inner = rest;
        }
        let [header_area, rows_area, panel_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(6)]).areas(inner);

        let width = inner.width as usize;
        let wide = width >= 110;
        let (urgency_w, state_w, next_w, expires_w, ttl_w) =
            if wide { (18, 14, 26, 10, 9) } else { (17, 11, 21, 0, 0) };
        let columns = 5 + 2 * usize::from(wide);
        let fixed = 1 + urgency_w + state_w + next_w + expires_w + ttl_w + columns - 1;
        let app_w = width.saturating_sub(fixed).max(8);
        let mut header = Row::new()
            .cell("", 1, theme.header)
            .cell("Urgency", urgency_w, theme.header)
            .cell("App", app_w, theme.header)
            .cell("State", state_w, theme.header)
            .cell("Next step", next_w, theme.header);
        if wide {
            header = header.cell("Expires", expires_w, theme.header).cell("TTL", ttl_w, theme.header);
        }
        frame.render_widget(Paragraph::new(header.line(width, theme.header)), header_area);

        if self.rows.is_empty() {
            let text = if self.listed.is_empty() {
                "no apps of yours under the TTL lifecycle"
            } else {
                "no app matches the filter"
            };
            frame.render_widget(Paragraph::new(Span::styled(format!("  {text}"), theme.muted)), rows_area);
        } else {
            let query = self.filter.query();
            let window = self.cursor.window(self.rows.len(), rows_area.height as usize);
            let lines: Vec<Line<'static>> = window
                .clone()
                .filter_map(|pos| {
                    let (index, urgency) = self.rows[pos];
                    let app = ctx.data.apps.get(index)?;
                    let selected = pos == self.cursor.selected;
                    let (next, next_style) = Self::next_step(app, ctx);
                    let positions = if self.filter.is_active() {
                        search::positions(query, &sanitize(&app.name))
                    } else {
                        Vec::new()
                    };
                    let mut row = Row::new()
                        .cell(if selected { glyphs.cursor } else { " " }, 1, theme.text)
                        .cell(urgency.label(), urgency_w, urgency.style(ctx))
                        .spans(highlighted(&app.name, &positions, app_w, theme.text, theme.matched), app_w)
                        .cell(app.state.as_str(), state_w, state_style(app.state, theme))
                        .cell(&next, next_w, next_style);
                    if wide {
                        let expires = app.expires_at.map_or_else(|| "—".into(), date);
                        row =
                            row.cell(&expires, expires_w, theme.muted).cell(app.ttl_class.as_str(), ttl_w, theme.muted);
                    }
                    Some(row.line(width, if selected { theme.selected } else { theme.text }))
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), rows_area);
        }

        let panel = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border)
            .title(Span::styled(" what happens next ", theme.title));
        let panel_inner = panel.inner(panel_area);
        frame.render_widget(panel, panel_area);
        let Some(app) = self.selected(ctx) else { return };
        let renew_key = ctx.key(Section::Renewals, Action::Renew).unwrap_or_default();
        if let Some(hold) = ctx.hold(&app.id) {
            let mut held = vec![Span::styled(format!("{}: held in quarantine ", fit(&app.name, 40)), theme.title)];
            held.extend(crate::widgets::app_detail::hold_spans(hold, theme));
            let lines = vec![
                Line::from(held),
                Line::from(Span::styled(
                    format!(
                        "{} a renewal does not lift a hold; the TTL lifecycle waits too. A reviewer releases it \
                         with :release REASON",
                        glyphs.cross
                    ),
                    theme.muted,
                )),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), panel_inner);
            return;
        }
        let mut lines = vec![Line::from(vec![
            Span::styled(format!("{}: ", fit(&app.name, 40)), theme.title),
            Span::styled(lifecycle_sentence(app), theme.text),
        ])];
        let may = ctx.actor.may_renew_app_of(&app.owner);
        let requested = pending_reapproval(app, ctx).filter(|_| app.state == AppState::ReadOnly);
        lines.push(Line::from(if let Some(request) = requested {
            vec![Span::styled(
                format!(
                    "re-approval request {} filed {}, waiting for review",
                    sanitize(&request.id),
                    crate::widgets::text::relative(request.created_at, ctx.now)
                ),
                theme.warning,
            )]
        } else if may {
            vec![
                Span::styled(renew_key, theme.key),
                Span::styled(format!(" renew: {}", renewal_sentence(app, ctx.now)), theme.text),
            ]
        } else {
            vec![Span::styled(format!("{} {}", glyphs.cross, RenewalError::NotAllowed), theme.muted)]
        }));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), panel_inner);
    }
}

impl Pane for RenewalsPane {
    fn before_data(&mut self, ctx: &Context) {
        self.anchor =
            self.rows.get(self.cursor.selected).and_then(|(i, _)| ctx.data.apps.get(*i)).map(|a| a.id.to_string());
    }

    fn refresh(&mut self, ctx: &Context) {
        self.recompute(ctx);
    }

    fn on_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent> {
        self.recompute(ctx);
        if self.detail.is_none() {
            match action {
                Action::Filter => {
                    self.filter.open();
                    return Vec::new();
                }
                Action::Back if self.filter.is_active() => {
                    self.filter.clear();
                    self.recompute(ctx);
                    return Vec::new();
                }
                _ => {}
            }
        }
        // Acting on the selected app keeps it selected when rows change.
        self.filter.pin();
        match action {
            Action::Renew | Action::Quarantine | Action::Retire => {
                self.selected(ctx).and_then(|app| super::hold_keys::app_action(action, app, ctx)).into_iter().collect()
            }
            Action::Open if self.detail.is_none() => {
                self.detail = self.selected(ctx).map(|a| (a.id.to_string(), DetailScroll::default()));
                Vec::new()
            }
            Action::Back | Action::Open => {
                self.detail = None;
                Vec::new()
            }
            other => {
                match &mut self.detail {
                    Some((_, scroll)) => scroll.apply(other),
                    None => self.cursor.apply(other, self.rows.len()),
                };
                Vec::new()
            }
        }
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
        [
            renew,
            Some((Action::Filter, "filter")),
            Some((Action::Open, "detail")),
            Some((Action::Help, "help")),
            Some((Action::Quit, "quit")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn badge(&self, _ctx: &Context) -> Option<usize> {
        Some(self.listed.iter().filter(|(_, u)| u.needs_attention()).count())
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        if let Some((id, scroll)) = &self.detail {
            return super::render_app_detail(frame, area, id, scroll.scroll, ctx);
        }
        if let Some(total) = ctx.data.loading {
            return super::render_loading(frame, area, "Renewals", &super::loading_text(total), ctx);
        }
        self.render_list(frame, area, ctx);
    }
}
