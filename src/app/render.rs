//! The screen: tabs on top, the active pane, the status bar, and the message
//! line (a toast, the command line, or hints for the active pane), with any
//! popup over them. Below 80x24 only a request to enlarge the terminal is
//! drawn. Reads state, never does IO.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{App, Overlay};
use crate::config::keymap::{Action, Section};
use crate::panes::data::QueuedStatus;
use crate::panes::{Pane, PaneId};
use crate::widgets::centered;
use crate::widgets::status_bar::{self, StatusInfo};
use crate::widgets::text::hints;

/// Smallest terminal the console lays out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole console.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = &app.ctx.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text =
            format!("enlarge the terminal to at least {MIN_WIDTH}x{MIN_HEIGHT} (now {}x{})", area.width, area.height);
        let height = if area.width as usize >= text.len() { 1 } else { 3 };
        let message = centered(area, area.width, height);
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.warning)).centered().wrap(Wrap { trim: true }),
            message,
        );
        return;
    }
    let [tabs, body, status, message] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1), Constraint::Length(1)])
            .areas(area);
    render_tabs(app, frame, tabs);
    let ctx = &app.ctx;
    match app.active {
        PaneId::Inventory => app.inventory.render(frame, body, ctx),
        PaneId::Approvals => app.approvals.render(frame, body, ctx),
        PaneId::Audit => app.audit.render(frame, body, ctx),
        PaneId::Kpis => app.kpis.render(frame, body, ctx),
        PaneId::Renewals => app.renewals.render(frame, body, ctx),
    }
    let outbox = &ctx.data.outbox;
    let failed = outbox.iter().filter(|a| matches!(a.status, QueuedStatus::Failed(_))).count();
    let info = StatusInfo {
        me: &ctx.data.me,
        server: &ctx.data.server,
        online: app.sync.online,
        tls_refused: app.sync.tls_refused,
        token_refused: app.ctx.token_refused,
        token_expired: app.ctx.token_expired.as_deref(),
        // A periodic sync that changes nothing takes milliseconds: flashing
        // "syncing…" for it would repaint an idle screen every interval.
        syncing: app.syncing_since.is_some_and(|since| ctx.now - since >= chrono::Duration::seconds(1)),
        last_sync: app.sync.last_sync,
        queued: outbox.len() - failed
            + ctx.in_flight.iter().filter(|t| !outbox.iter().any(|a| &a.target_id == *t)).count(),
        failed,
        now: ctx.now,
    };
    status_bar::render(frame, status, &info, theme);
    render_message_line(app, frame, message);
    match &app.overlay {
        Some(Overlay::Help(help)) => help.render(frame, body, &ctx.keymap, app.active.section(), theme),
        Some(Overlay::Confirm(dialog, _)) => dialog.render(frame, body, theme),
        Some(Overlay::Comment(dialog, ..)) => dialog.render(frame, body, theme),
        Some(Overlay::Hold(flow)) => flow.render(frame, body, theme),
        Some(Overlay::Messages(log)) => log.render(frame, body, &app.messages, theme),
        Some(Overlay::Queue(queue)) => queue.render(frame, body, &app.queue_entries(), ctx.now, theme),
        Some(Overlay::Command(_)) | None => {}
    }
}

fn render_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let ctx = &app.ctx;
    let theme = &ctx.theme;
    let mut spans = vec![Span::styled(" govdeck ", theme.title)];
    let shows =
        [Action::ShowInventory, Action::ShowApprovals, Action::ShowAudit, Action::ShowKpis, Action::ShowRenewals];
    for (pane, show) in PaneId::ALL.into_iter().zip(shows) {
        let badge = match pane {
            PaneId::Approvals => app.approvals.badge(ctx),
            PaneId::Renewals => app.renewals.badge(ctx),
            _ => None,
        };
        let key = ctx.key(Section::Global, show).map(|k| format!("{k} ")).unwrap_or_default();
        let badge = badge.filter(|n| *n > 0).map(|n| format!(" ({n})")).unwrap_or_default();
        let style = if pane == app.active { theme.tab_active } else { theme.tab_inactive };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {key}{}{badge} ", pane.title()), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_message_line(app: &App, frame: &mut Frame, area: Rect) {
    let ctx = &app.ctx;
    let theme = &ctx.theme;
    if let Some(Overlay::Command(line)) = &app.overlay {
        line.render(frame, area, theme);
        return;
    }
    if let Some(toast) = app.toast() {
        frame.render_widget(Paragraph::new(toast.line(area.width as usize, theme)), area);
        return;
    }
    let pairs: Vec<(String, &str)> = if let Some(Overlay::Help(_)) = &app.overlay {
        vec![("esc".into(), "close help"), ("↑↓".into(), "scroll"), ("home/end".into(), "top/bottom")]
    } else if let Some(Overlay::Messages(_)) = &app.overlay {
        vec![("esc".into(), "close"), ("↑↓".into(), "scroll"), ("home/end".into(), "newest/oldest")]
    } else if let Some(Overlay::Queue(_)) = &app.overlay {
        vec![("esc".into(), "close"), ("↑↓".into(), "move"), ("d".into(), "dismiss a refused action")]
    } else if app.overlay.is_some() {
        Vec::new()
    } else if app.pane_is_typing() {
        let mut pairs = vec![("enter".into(), "keep filter"), ("esc".into(), "clear"), ("↑↓".into(), "move")];
        if app.active != PaneId::Audit {
            // The extended search syntax of the list filters, in short.
            let syntax = [("'", "exact"), ("^", "start"), ("$", "end"), ("!", "not"), ("|", "or")];
            pairs.extend(syntax.map(|(key, label)| (key.to_string(), label)));
        }
        pairs
    } else {
        let section = app.active.section();
        let pane_hints = match app.active {
            PaneId::Inventory => app.inventory.hints(ctx),
            PaneId::Approvals => app.approvals.hints(ctx),
            PaneId::Audit => app.audit.hints(ctx),
            PaneId::Kpis => app.kpis.hints(ctx),
            PaneId::Renewals => app.renewals.hints(ctx),
        };
        pane_hints.into_iter().filter_map(|(action, label)| ctx.key(section, action).map(|k| (k, label))).collect()
    };
    // Drop hints from the end until they fit.
    let mut pairs = pairs;
    loop {
        let spans = hints(&pairs, theme.key, theme.muted);
        let used: usize = spans.iter().map(|s| crate::sanitize::display_width(&s.content)).sum();
        if used <= area.width as usize || pairs.is_empty() {
            frame.render_widget(Paragraph::new(Line::from(spans)), area);
            return;
        }
        pairs.pop();
    }
}
