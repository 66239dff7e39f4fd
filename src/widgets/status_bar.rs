//! The status bar: user and roles (or, once the server refused the token,
//! `✗ the server refused this token` until a sync succeeds), server, online
//! or offline (or its TLS certificate refused), how long ago
//! the last sync was, whether a sync is running, and how many actions wait in
//! the outbox. The server address is the first thing dropped when the
//! terminal is narrow.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{pad, synced_ago};
use crate::config::theme::Theme;
use crate::domain::api::Me;
use crate::sanitize::{display_width, fit};

/// What the status bar shows.
pub struct StatusInfo<'a> {
    pub me: &'a Me,
    pub server: &'a str,
    pub online: bool,
    /// The server's certificate was refused (shown instead of online/offline).
    pub tls_refused: bool,
    /// The server refused the token (401) on the last sync.
    pub token_refused: bool,
    /// The server's message when it refused the token as expired (says when).
    pub token_expired: Option<&'a str>,
    pub syncing: bool,
    pub last_sync: Option<DateTime<Utc>>,
    /// Actions queued or sending.
    pub queued: usize,
    /// Actions the server refused.
    pub failed: usize,
    pub now: DateTime<Utc>,
}

/// Draws the bar on one line.
pub fn render(frame: &mut Frame, area: Rect, info: &StatusInfo<'_>, theme: &Theme) {
    let glyphs = theme.glyphs();
    let bar = theme.status_bar;
    let mut right: Vec<Span<'static>> = Vec::new();
    if info.tls_refused {
        right.push(Span::styled(format!("{} TLS refused", glyphs.offline), bar.patch(theme.danger)));
    } else if info.online {
        right.push(Span::styled(format!("{} online", glyphs.online), bar.patch(theme.ok)));
    } else {
        right.push(Span::styled(format!("{} offline", glyphs.offline), bar.patch(theme.danger)));
    }
    let synced = match info.last_sync {
        Some(at) => Some(format!(" {} synced {}", glyphs.dot, synced_ago(at, info.now))),
        // Refused: "never synced" would read as an empty catalog.
        None if info.token_refused => None,
        None => Some(format!(" {} never synced", glyphs.dot)),
    };
    if let Some(synced) = synced {
        right.push(Span::styled(synced, bar));
    }
    if info.syncing {
        right.push(Span::styled(format!(" {} syncing…", glyphs.dot), bar.patch(theme.warning)));
    }
    if info.queued > 0 {
        right.push(Span::styled(format!(" {} {} queued", glyphs.dot, info.queued), bar.patch(theme.warning)));
    }
    if info.failed > 0 {
        right.push(Span::styled(format!(" {} {} failed", glyphs.dot, info.failed), bar.patch(theme.danger)));
    }
    right.push(Span::styled(" ", bar));
    let right_width: usize = right.iter().map(|s| display_width(&s.content)).sum();

    let roles: Vec<&str> = info.me.roles.iter().map(|r| r.as_str()).collect();
    let who = if let Some(expired) = info.token_expired.filter(|_| info.token_refused) {
        // The server's words: untrusted text.
        format!(" {} {}", glyphs.cross, crate::sanitize::sanitize(expired))
    } else if info.token_refused {
        format!(" {} the server refused this token", glyphs.cross)
    } else {
        format!(" {} ({})", info.me.user, if roles.is_empty() { "no roles".into() } else { roles.join(", ") })
    };
    let who_style = if info.token_refused { bar.patch(theme.danger) } else { bar.patch(theme.title) };
    let server = format!(" {} {}", glyphs.dot, info.server);
    let room = (area.width as usize).saturating_sub(right_width + 1);
    let who = fit(&who, room);
    let mut left = vec![Span::styled(who.clone(), who_style)];
    let who_width = display_width(&who);
    if who_width + display_width(&crate::sanitize::sanitize(&server)) <= room {
        left.push(Span::styled(fit(&server, room - who_width), bar));
    }
    let left_width: usize = left.iter().map(|s| display_width(&s.content)).sum();
    let gap = (area.width as usize).saturating_sub(left_width + right_width);
    let mut spans = left;
    spans.push(Span::styled(pad("", gap), bar));
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}
