//! The approval queue: pending requests, overdue first (the most overdue
//! first), then by due time (the soonest first), then by risk (the highest
//! first), each with its SLA countdown. `a` approves (after a confirm with an
//! optional comment), `r` rejects (a reason is required), `space` selects low
//! and medium requests and `A` approves the selection in one go; a decision
//! from a request's detail returns to the queue on the next request. What
//! the user may not decide — their own request, their own app, the wrong
//! role, a lead on high risk — is shown disabled with a short reason in the
//! Status column and refused with a toast; the rules are
//! [`crate::domain::approval::may_decide`]'s. Someone who decides nothing (an
//! owner) sees their own requests, without the deciding keys. A request with
//! an action in the outbox shows `queued`, `sending`, or the server's refusal. `/` filters the queue by
//! app, requester, kind and tier (the shared
//! [`ListFilter`](super::list_filter::ListFilter): best match first, ties in
//! queue order).

use std::collections::BTreeSet;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::data::QueuedStatus;
use super::list_filter::{FilterKey, ListFilter, corpus_of};
use super::{Context, DetailScroll, Intent, ListCursor, Pane, render_detail};
use crate::config::keymap::{Action, Section};
use crate::domain::approval::{DecisionError, may_decide, queue_key};
use crate::domain::{Approval, ApprovalStatus, DecisionKind, Role, Tier};
use crate::sanitize::{fit, sanitize};
use crate::search::{self, Index};
use crate::widgets::app_detail::{compliance_lines, field, heading, kind_label, manifest_lines, risk_lines};
use crate::widgets::text::{Row, date_time, highlighted, hints, relative, sla};
use crate::widgets::toast::Toast;

/// Why `approval` cannot be decided by the user right now, if it cannot.
pub fn refusal(approval: &Approval, ctx: &Context, decision: DecisionKind) -> Option<String> {
    if approval.status == ApprovalStatus::ChangesRequested {
        return Some(crate::domain::approval::DecisionError::AwaitingChanges.to_string());
    }
    if approval.status != ApprovalStatus::Pending {
        return Some(format!("this request is already {}", approval.status.as_str()));
    }
    if ctx.is_pending_action(&approval.id) {
        return Some("an action on this request is already waiting to be sent".into());
    }
    if let Err(err) = may_decide(approval, &ctx.actor, crate::domain::policy::Policy::builtin()) {
        return Some(err.to_string());
    }
    let approved_before =
        approval.decisions.iter().any(|d| d.by == ctx.actor.user && d.decision == DecisionKind::Approve);
    if decision == DecisionKind::Approve && approved_before {
        return Some(DecisionError::AlreadyApprovedByYou.to_string());
    }
    None
}

/// Why the user cannot withdraw `approval` right now, if they cannot: only
/// a pending request, by its requester or the app's owner.
pub fn withdraw_refusal(approval: &Approval, ctx: &Context) -> Option<String> {
    if approval.status != ApprovalStatus::Pending {
        return Some(format!("this request is already {}", approval.status.as_str()));
    }
    if ctx.is_pending_action(&approval.id) {
        return Some("an action on this request is already waiting to be sent".into());
    }
    crate::domain::custody::may_withdraw(approval, &ctx.actor).err().map(|err| err.to_string())
}

/// A short form of [`may_decide`]'s refusal for the Status column: at most
/// 12 columns, so that with its mark it fits the column at 80x24.
fn short_refusal(err: &DecisionError, ctx: &Context) -> &'static str {
    match err {
        DecisionError::OwnRequest => "own request",
        DecisionError::OwnApp => "own app",
        DecisionError::WrongRole if ctx.actor.has(Role::Owner) => "owner only",
        DecisionError::WrongRole => "read only",
        DecisionError::NotAnApprover { .. } => "2 reviewers",
        _ => "unavailable",
    }
}

/// Whether the user may decide requests at all (reviewer or lead).
fn decides(ctx: &Context) -> bool {
    ctx.actor.has(Role::Reviewer) || ctx.actor.has(Role::Lead)
}

/// What a request needs to be decided, as the server enforces it.
pub fn needs_text(tier: Tier) -> String {
    crate::domain::policy::needs_text(crate::domain::policy::Policy::builtin().review(tier))
}

/// The pending queue in review order.
fn queue(ctx: &Context) -> Vec<usize> {
    let now = ctx.now;
    let mut rows: Vec<usize> =
        (0..ctx.data.approvals.len()).filter(|&i| ctx.data.approvals[i].status == ApprovalStatus::Pending).collect();
    rows.sort_by_key(|&i| queue_key(&ctx.data.approvals[i], now));
    rows
}

/// What `/` searches in a request, as the row shows it: the app (the
/// highlighted field), the requester, the kind and the risk tier.
fn searched_fields(approval: &Approval) -> [String; 4] {
    [
        sanitize(&approval.app_name).into_owned(),
        sanitize(&approval.requested_by).into_owned(),
        kind_label(approval).to_string(),
        approval.risk.tier.as_str().to_string(),
    ]
}

#[derive(Debug, Default)]
pub struct ApprovalsPane {
    /// Every pending request, in review order.
    queue: Vec<usize>,
    /// The requests shown: the queue, or its matches best first.
    rows: Vec<usize>,
    cursor: ListCursor,
    /// The `/` query and where the selection goes when it changes.
    filter: ListFilter,
    /// Requests picked for bulk approval.
    pub selection: BTreeSet<String>,
    detail: Option<(String, DetailScroll)>,
    computed_for: Option<(u64, i64, String)>,
    /// The selected request's id across a snapshot change.
    anchor: Option<String>,
}

impl ApprovalsPane {
    pub fn new() -> ApprovalsPane {
        ApprovalsPane::default()
    }

    /// The pending requests in the order shown.
    pub fn visible_ids<'a>(&self, ctx: &'a Context) -> Vec<&'a str> {
        self.rows.iter().filter_map(|&i| ctx.data.approvals.get(i)).map(|a| a.id.as_str()).collect()
    }

    /// The request under the cursor (or in the open detail).
    pub fn selected_id<'a>(&self, ctx: &'a Context) -> Option<&'a str> {
        self.selected(ctx).map(|a| a.id.as_str())
    }

    fn selected<'a>(&self, ctx: &'a Context) -> Option<&'a Approval> {
        match &self.detail {
            Some((id, _)) => ctx.data.approvals.iter().find(|a| &a.id == id),
            None => self.rows.get(self.cursor.selected).and_then(|&i| ctx.data.approvals.get(i)),
        }
    }

    /// Opens the detail of the selected request.
    pub fn detail_id(&self) -> Option<&str> {
        self.detail.as_ref().map(|(id, _)| id.as_str())
    }

    /// Closes the open detail and selects the request after it in the queue
    /// (or the one before, at the end), as after a decision from the detail.
    pub fn close_detail_to_next(&mut self, ctx: &Context) {
        let Some((id, _)) = self.detail.take() else { return };
        if let Some(pos) = self.rows.iter().position(|&i| ctx.data.approvals.get(i).is_some_and(|a| a.id == id)) {
            self.cursor.selected = if pos + 1 < self.rows.len() { pos + 1 } else { pos.saturating_sub(1) };
        }
        self.anchor = None;
    }

    fn recompute(&mut self, ctx: &Context) {
        // The order depends on the clock (overdue first): re-sort each minute.
        let key = (ctx.version, ctx.now.timestamp() / 60, self.filter.query().to_string());
        if self.computed_for.as_ref() == Some(&key) {
            return;
        }
        let changed = self.computed_for.as_ref().is_none_or(|(_, _, query)| *query != key.2);
        let selected_id = self.anchor.take().or_else(|| {
            self.rows.get(self.cursor.selected).and_then(|&i| ctx.data.approvals.get(i)).map(|a| a.id.clone())
        });
        self.queue = queue(ctx);
        self.rows = if self.filter.is_active() {
            let queue = &self.queue;
            let approvals = &ctx.data.approvals;
            let build = || Index::build(queue.iter().map(|&i| searched_fields(&approvals[i])));
            let ranking = self.filter.search_rows(corpus_of((key.0, key.1)), build);
            ranking.into_matches().into_iter().map(|m| queue[m.index]).collect()
        } else {
            self.queue.clone()
        };
        // A request that left the cache (or was decided elsewhere and is no
        // longer readable) has no detail to show: back to the queue.
        if self.detail.as_ref().is_some_and(|(id, _)| !ctx.data.approvals.iter().any(|a| &a.id == id)) {
            self.detail = None;
        }
        let kept = selected_id.and_then(|id| self.rows.iter().position(|&i| ctx.data.approvals[i].id == id));
        self.filter.place(&mut self.cursor, self.rows.len(), changed, kept);
        let approvals = &ctx.data.approvals;
        self.selection
            .retain(|id| approvals.iter().any(|a| &a.id == id && refusal(a, ctx, DecisionKind::Approve).is_none()));
        self.computed_for = Some(key);
    }

    /// `/` starts the filter; esc clears it, else the bulk selection.
    fn on_filter_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent> {
        match action {
            Action::Filter => self.filter.open(),
            _ if self.filter.is_active() => {
                self.filter.clear();
                self.recompute(ctx);
            }
            _ => self.selection.clear(),
        }
        Vec::new()
    }

    fn toggle_select(&mut self, ctx: &Context) -> Vec<Intent> {
        let Some(approval) = self.selected(ctx) else { return Vec::new() };
        let id = approval.id.clone();
        if self.selection.remove(&id) {
            self.cursor.apply(Action::Down, self.rows.len());
            return Vec::new();
        }
        // Why the user may not decide it comes first; the tier only matters
        // to someone who could approve it.
        let problem = refusal(approval, ctx, DecisionKind::Approve).or_else(|| {
            (approval.review_tier == Tier::High)
                .then(|| "high-risk requests need two reviewers' approvals; approve them one at a time".to_string())
        });
        match problem {
            Some(reason) => vec![Intent::Toast(Toast::error(format!("cannot select: {reason}"), ctx.now))],
            None => {
                self.selection.insert(id);
                self.cursor.apply(Action::Down, self.rows.len());
                Vec::new()
            }
        }
    }

    fn status_text(&self, approval: &Approval, ctx: &Context) -> (String, ratatui::style::Style) {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        match ctx.action_status(&approval.id) {
            Some(QueuedStatus::Queued) => return ("queued".into(), theme.warning),
            Some(QueuedStatus::Sending) => return ("sending".into(), theme.warning),
            Some(QueuedStatus::Failed(message)) => return (format!("failed: {}", sanitize(&message)), theme.danger),
            None => {}
        }
        if let Err(err) = may_decide(approval, &ctx.actor, crate::domain::policy::Policy::builtin()) {
            return (format!("{} {}", glyphs.cross, short_refusal(&err, ctx)), theme.muted);
        }
        let approvals = approval.approvers().count();
        if approval.decisions.iter().any(|d| d.by == ctx.actor.user && d.decision == DecisionKind::Approve) {
            return (format!("{} you approved", glyphs.check), theme.ok);
        }
        if approval.review_tier == Tier::High {
            return (format!("{approvals}/2 approvals"), theme.text);
        }
        (String::new(), theme.text)
    }

    /// The line under the table: where the selected request stands and
    /// why the user may not decide it, if they may not. The keys are on the
    /// hint line below the pane, not repeated here.
    fn footer(&self, ctx: &Context, width: usize) -> Line<'static> {
        let theme = &ctx.theme;
        let Some(approval) = self.selected(ctx) else { return Line::default() };
        if let Some(QueuedStatus::Failed(message)) = ctx.action_status(&approval.id) {
            let text = format!("the server refused it: {message}");
            return Line::from(Span::styled(fit(&text, width), theme.danger));
        }
        if let Some(reason) = refusal(approval, ctx, DecisionKind::Approve) {
            let glyphs = theme.glyphs();
            let text = format!("{} {reason}", glyphs.cross);
            return Line::from(Span::styled(fit(&text, width), theme.muted));
        }
        let text = match approval.review_tier {
            Tier::High => {
                let approvals = approval.approvers().count();
                format!("high review: two different reviewers must approve ({approvals} of 2 so far)")
            }
            tier => format!("{} review: one approval from a reviewer or a lead decides it", tier.as_str()),
        };
        Line::from(Span::styled(fit(&text, width), theme.muted))
    }

    fn render_table(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        let overdue = self.queue.iter().filter(|&&i| ctx.data.approvals[i].is_overdue(ctx.now)).count();
        // Auditors read every request (and decide none): no "your requests".
        let whose = if ctx.actor.reads_all() { "" } else { "your requests · " };
        let mut title = format!(" Approvals · {whose}{} pending · {overdue} overdue ", self.queue.len());
        if self.filter.is_active() {
            title.push_str(&format!("· {} match ", self.rows.len()));
        }
        if !self.selection.is_empty() {
            title.push_str(&format!("· {} selected ", self.selection.len()));
        }
        let block = Block::bordered().title(Span::styled(title, theme.title)).border_style(theme.border);
        let mut inner = block.inner(area);
        frame.render_widget(block, area);
        // The filter line shows while the filter is typed or holds a query.
        if self.filter.is_typing() || self.filter.is_active() {
            let [filter_area, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
            let placeholder = "filter: app, requester, kind, tier";
            self.filter.render(frame, filter_area, ctx, Section::Approvals, placeholder, None);
            inner = rest;
        }
        let [header_area, rows_area, footer_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(inner);

        let width = inner.width as usize;
        let wide = width >= 110;
        let (sla_w, risk_w, kind_w, by_w, age_w, status_w) =
            if wide { (12, 10, 11, 12, 9, 22) } else { (11, 9, 10, 7, 0, 14) };
        let columns = 7 + usize::from(wide);
        let fixed = 2 + sla_w + risk_w + kind_w + by_w + age_w + status_w + columns - 1;
        let app_w = width.saturating_sub(fixed).max(8);
        let mut header = Row::new()
            .cell("", 2, theme.header)
            .cell("SLA", sla_w, theme.header)
            .cell("Risk", risk_w, theme.header)
            .cell("App", app_w, theme.header)
            .cell("Kind", kind_w, theme.header)
            .cell("By", by_w, theme.header);
        if wide {
            header = header.cell("Age", age_w, theme.header);
        }
        frame.render_widget(
            Paragraph::new(header.cell("Status", status_w, theme.header).line(width, theme.header)),
            header_area,
        );

        if self.rows.is_empty() {
            let text =
                if self.queue.is_empty() { "no pending requests" } else { "no pending request matches the filter" };
            frame.render_widget(Paragraph::new(Span::styled(format!("  {text}"), theme.muted)), rows_area);
            return;
        }
        let query = self.filter.query();
        let window = self.cursor.window(self.rows.len(), rows_area.height as usize);
        let lines: Vec<Line<'static>> = window
            .clone()
            .filter_map(|pos| {
                let approval = ctx.data.approvals.get(self.rows[pos])?;
                let selected = pos == self.cursor.selected;
                let decidable = may_decide(approval, &ctx.actor, crate::domain::policy::Policy::builtin()).is_ok();
                let base = if decidable { theme.text } else { theme.muted };
                let row_style = if selected { theme.selected } else { base };
                let marker = format!(
                    "{}{}",
                    if selected { glyphs.cursor } else { " " },
                    if self.selection.contains(&approval.id) { glyphs.selected } else { " " }
                );
                let (sla_text, overdue) = sla(approval.due_at, ctx.now);
                let sla_style = if overdue { theme.danger } else { base };
                let risk = format!("{} {}", approval.risk.tier.as_str(), approval.risk_score_at_time);
                let (status, status_style) = self.status_text(approval, ctx);
                let positions = if self.filter.is_active() {
                    search::positions(query, &sanitize(&approval.app_name))
                } else {
                    Vec::new()
                };
                let mut row = Row::new()
                    .cell(&marker, 2, theme.text)
                    .cell(&sla_text, sla_w, sla_style)
                    .cell(&risk, risk_w, theme.risk(approval.risk.tier))
                    .spans(highlighted(&approval.app_name, &positions, app_w, base, theme.matched), app_w)
                    .cell(kind_label(approval), kind_w, base)
                    .cell(&approval.requested_by, by_w, base);
                if wide {
                    row = row.cell(&relative(approval.created_at, ctx.now), age_w, theme.muted);
                }
                Some(row.cell(&status, status_w, status_style).line(width, row_style))
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rows_area);
        frame.render_widget(Paragraph::new(self.footer(ctx, width)), footer_area);
    }

    fn detail_lines(&self, approval: &Approval, ctx: &Context) -> Vec<Line<'static>> {
        let theme = &ctx.theme;
        let glyphs = theme.glyphs();
        let s = |t: &str| sanitize(t).into_owned();
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("Request {}", s(&approval.id)), theme.title),
                Span::styled(
                    format!("  {} · {} · rev {}", kind_label(approval), approval.status.as_str(), approval.rev),
                    theme.muted,
                ),
            ]),
            field(
                "App",
                format!("{} ({}) · owner {}", s(&approval.app_name), s(&approval.app_id), s(&approval.app_owner)),
                theme,
            ),
            field(
                "Requested",
                format!(
                    "by {} · {} ({})",
                    s(&approval.requested_by),
                    date_time(approval.created_at),
                    relative(approval.created_at, ctx.now)
                ),
                theme,
            ),
        ];
        let (sla_text, overdue) = sla(approval.due_at, ctx.now);
        let sla_line =
            format!("{} review · due {} · {sla_text}", approval.review_tier.as_str(), date_time(approval.due_at));
        lines.push(Line::from(vec![
            Span::styled(crate::widgets::text::pad("SLA", 13), theme.muted),
            Span::styled(sla_line, if overdue { theme.danger } else { theme.text }),
        ]));
        lines.push(field("Needs", needs_text(approval.review_tier), theme));
        if let Some(status) = ctx.action_status(&approval.id) {
            let text = match status {
                QueuedStatus::Queued => "your action is queued; it is sent when the server is reachable".to_string(),
                QueuedStatus::Sending => "your action is being sent".to_string(),
                QueuedStatus::Failed(message) => format!("the server refused your action: {}", s(&message)),
            };
            lines.push(field("Outbox", text, theme));
        }
        lines.push(Line::default());
        lines.push(heading("Risk when requested", theme));
        lines.extend(risk_lines(&approval.risk, None, theme));
        lines.push(Line::default());
        lines.push(heading("Decisions so far", theme));
        if approval.decisions.is_empty() {
            lines.push(Line::from(Span::styled("  none yet", theme.muted)));
        }
        for decision in &approval.decisions {
            let (mark, verb, style) = match decision.decision {
                DecisionKind::Approve => (glyphs.check, "approved", theme.ok),
                DecisionKind::Reject => (glyphs.cross, "rejected", theme.danger),
                DecisionKind::RequestChanges => ("↺", "asked for changes", theme.warning),
            };
            let comment =
                if decision.comment.is_empty() { String::new() } else { format!(": \"{}\"", s(&decision.comment)) };
            lines.push(Line::from(vec![
                Span::styled(format!("  {mark} "), style),
                Span::styled(
                    format!("{} ({}) {verb} {}{comment}", s(&decision.by), decision.role, date_time(decision.at)),
                    theme.text,
                ),
            ]));
        }
        lines.push(Line::default());
        lines.push(heading("Your decision", theme));
        match refusal(approval, ctx, DecisionKind::Approve) {
            Some(reason) => lines
                .push(Line::from(Span::styled(format!("  {} not available: {reason}", glyphs.cross), theme.danger))),
            None => {
                let key = |a| ctx.key(Section::Approvals, a).unwrap_or_default();
                let mut spans = vec![Span::raw("  ")];
                spans.extend(hints(
                    &[(key(Action::Approve), "approve"), (key(Action::Reject), "reject (reason required)")],
                    theme.key,
                    theme.text,
                ));
                lines.push(Line::from(spans));
            }
        }
        lines.push(Line::default());
        lines.push(heading("Manifest now", theme));
        match (ctx.detail(&approval.app_id), ctx.app(&approval.app_id)) {
            (Some(view), _) => {
                lines.extend(manifest_lines(view.app, theme, ctx.now));
                lines.extend(compliance_lines(view.app, theme));
            }
            (None, Some(_)) => lines.push(Line::from(Span::styled("  loading…", theme.muted))),
            (None, None) => lines.push(Line::from(Span::styled("  the app is not in your cache", theme.muted))),
        }
        lines
    }
}

impl Pane for ApprovalsPane {
    fn before_data(&mut self, ctx: &Context) {
        self.anchor =
            self.rows.get(self.cursor.selected).and_then(|&i| ctx.data.approvals.get(i)).map(|a| a.id.clone());
    }

    fn refresh(&mut self, ctx: &Context) {
        self.recompute(ctx);
    }

    fn on_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent> {
        self.recompute(ctx);
        if self.detail.is_none() && matches!(action, Action::Filter | Action::Back) {
            return self.on_filter_action(action, ctx);
        }
        // Acting on the selected request keeps it selected when rows change.
        self.filter.pin();
        match action {
            Action::Approve | Action::Reject | Action::RequestChanges => {
                let Some(approval) = self.selected(ctx) else { return Vec::new() };
                let (decision, verb) = match action {
                    Action::Approve => (DecisionKind::Approve, "approve"),
                    Action::Reject => (DecisionKind::Reject, "reject"),
                    _ => (DecisionKind::RequestChanges, "request changes"),
                };
                if let Some(reason) = refusal(approval, ctx, decision) {
                    return vec![Intent::Toast(Toast::error(format!("cannot {verb}: {reason}"), ctx.now))];
                }
                let id = approval.id.clone();
                vec![match decision {
                    DecisionKind::Approve => Intent::Approve(vec![id]),
                    DecisionKind::Reject => Intent::Reject(id),
                    DecisionKind::RequestChanges => Intent::RequestChanges(id),
                }]
            }
            Action::Withdraw => {
                let Some(approval) = self.selected(ctx) else { return Vec::new() };
                if let Some(reason) = withdraw_refusal(approval, ctx) {
                    return vec![Intent::Toast(Toast::error(format!("cannot withdraw: {reason}"), ctx.now))];
                }
                vec![Intent::Withdraw(approval.id.clone())]
            }
            Action::ToggleSelect if self.detail.is_none() => self.toggle_select(ctx),
            Action::ApproveSelected => {
                if self.selection.is_empty() {
                    let key = ctx.key(Section::Approvals, Action::ToggleSelect).unwrap_or_else(|| "space".into());
                    return vec![Intent::Toast(Toast::info(
                        format!("select low or medium risk requests with {key} first"),
                        ctx.now,
                    ))];
                }
                // Every selected request, in queue order, also those the
                // filter hides: the confirm lists them all.
                let ids = self
                    .queue
                    .iter()
                    .filter_map(|&i| ctx.data.approvals.get(i))
                    .filter(|a| self.selection.contains(&a.id))
                    .map(|a| a.id.clone())
                    .collect();
                vec![Intent::Approve(ids)]
            }
            Action::Open if self.detail.is_none() => {
                self.detail = self.selected(ctx).map(|a| (a.id.clone(), DetailScroll::default()));
                Vec::new()
            }
            Action::Back | Action::Open if self.detail.is_some() => {
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
        // Only the keys this user can use: an owner decides nothing.
        let deciding: &[(Action, &'static str)] =
            if decides(ctx) { &[(Action::Approve, "approve"), (Action::Reject, "reject")] } else { &[] };
        let mut hints = deciding.to_vec();
        // `w` for the requester or the owner of the request selected.
        if self.selected(ctx).is_some_and(|approval| withdraw_refusal(approval, ctx).is_none()) {
            hints.push((Action::Withdraw, "withdraw"));
        }
        if self.detail.is_some() {
            hints.extend([(Action::Back, "back"), (Action::Help, "help")]);
            return hints;
        }
        if decides(ctx) {
            hints.push((Action::ToggleSelect, "select"));
            if !self.selection.is_empty() {
                hints.push((Action::ApproveSelected, "approve selected"));
            }
        }
        // `/` gives way to `A` while requests are selected: one line at 80 columns.
        if self.selection.is_empty() {
            hints.push((Action::Filter, "filter"));
        }
        hints.extend([(Action::Open, "detail"), (Action::Help, "help")]);
        if !decides(ctx) {
            hints.push((Action::Quit, "quit"));
        }
        hints
    }

    fn badge(&self, _ctx: &Context) -> Option<usize> {
        Some(self.queue.len())
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        if let Some((id, scroll)) = &self.detail {
            match ctx.data.approvals.iter().find(|a| &a.id == id) {
                Some(approval) => {
                    let title = format!("{} · request {}", fit(&approval.app_name, 40), fit(&approval.id, 20));
                    render_detail(frame, area, &title, self.detail_lines(approval, ctx), scroll.scroll, ctx);
                }
                None => {
                    let lines =
                        vec![Line::from(Span::styled("this request is no longer in the cache", ctx.theme.muted))];
                    render_detail(frame, area, "request", lines, 0, ctx);
                }
            }
            return;
        }
        if let Some(total) = ctx.data.loading {
            return super::render_loading(frame, area, "Approvals", &super::loading_text(total), ctx);
        }
        self.render_table(frame, area, ctx);
    }
}
