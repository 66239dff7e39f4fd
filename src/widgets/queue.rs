//! The queue view (`:queue`): the actions waiting in the outbox and those
//! the server refused, each with what it is, when it was queued and the
//! server's answer. The cursor picks one; `d` (or delete) dismisses a
//! refused one, which the runtime removes from the cache's outbox.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::{ago, pad};
use super::{ScrollKey, scroll_key, wrap};
use crate::config::keymap::{Keymap, Section};
use crate::config::theme::Theme;
use crate::sanitize::{fit, sanitize};

/// One outbox entry as the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// The outbox id.
    pub id: i64,
    /// `approve`, `reject`, `renew`.
    pub verb: &'static str,
    /// The app's name (or the target id when the cache does not know it).
    pub target: String,
    pub queued_at: DateTime<Utc>,
    /// The server's refusal; `None` while it waits to be sent.
    pub refused: Option<String>,
}

/// What a key did in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueReply {
    Pending,
    Close,
    /// Dismiss the refused action with this outbox id.
    Dismiss(i64),
    /// The key asked to dismiss an action that is still waiting: why not.
    NotDismissable(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueOverlay {
    pub cursor: usize,
}

impl QueueOverlay {
    pub fn handle(&mut self, key: KeyEvent, keymap: &Keymap, section: Section, entries: &[QueueEntry]) -> QueueReply {
        if matches!(key.code, KeyCode::Char('d') | KeyCode::Delete) && key.modifiers.is_empty() {
            return match entries.get(self.cursor) {
                Some(QueueEntry { id, refused: Some(_), .. }) => QueueReply::Dismiss(*id),
                Some(entry) => QueueReply::NotDismissable(format!(
                    "{} {} is still waiting to be sent; only a refused action can be dismissed",
                    entry.verb,
                    sanitize(&entry.target)
                )),
                None => QueueReply::Pending,
            };
        }
        let mut cursor = self.cursor as u16;
        let last = entries.len().saturating_sub(1) as u16;
        match scroll_key(key, keymap, section, &mut cursor, last) {
            ScrollKey::Close => QueueReply::Close,
            ScrollKey::Kept => {
                self.cursor = usize::from(cursor);
                QueueReply::Pending
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, entries: &[QueueEntry], now: DateTime<Utc>, theme: &Theme) {
        // The whole body, so no pane text peeks out beside it.
        let popup = area;
        let width = popup.width.saturating_sub(2) as usize;
        let glyphs = theme.glyphs();
        let cursor = self.cursor.min(entries.len().saturating_sub(1));
        let mut lines: Vec<Line<'static>> = Vec::new();
        let mut cursor_line = 0;
        if entries.is_empty() {
            lines.push(Line::from(Span::styled("nothing queued: every action was sent", theme.muted)));
        }
        for (i, entry) in entries.iter().enumerate() {
            let selected = i == cursor;
            if selected {
                cursor_line = lines.len();
            }
            let mark = if selected { format!("{} ", glyphs.cursor) } else { "  ".to_string() };
            let (status, status_style) = match &entry.refused {
                Some(_) => (format!("{} refused", glyphs.cross), theme.danger),
                None => ("queued".to_string(), theme.warning),
            };
            let when = format!("queued {}", ago(entry.queued_at, now));
            let fixed = 2 + 8 + 12 + display_len(&when) + 2;
            let name = fit(&entry.target, width.saturating_sub(fixed).max(8));
            let row_style = if selected { theme.selected } else { theme.text };
            lines.push(Line::from(vec![
                Span::styled(mark, row_style),
                Span::styled(pad(entry.verb, 8), row_style),
                Span::styled(pad(&status, 12), status_style),
                Span::styled(pad(&name, width.saturating_sub(fixed) + 2), row_style),
                Span::styled(when, theme.muted),
            ]));
            let answer = match &entry.refused {
                Some(message) => format!("the server answered: {}", sanitize(message)),
                None => "waiting for the server; sent with its idempotency key when it answers".to_string(),
            };
            for part in wrap(&answer, width.saturating_sub(4).max(10)) {
                lines.push(Line::from(vec![Span::raw("    "), Span::styled(part, theme.muted)]));
            }
        }
        let visible = popup.height.saturating_sub(2) as usize;
        // Keep the selected entry (its first line and its answer) in view.
        let scroll = (cursor_line + 2).saturating_sub(visible);
        let refused = entries.iter().filter(|e| e.refused.is_some()).count();
        let title = format!(
            " Queue · {} waiting · {refused} refused · d dismisses a refused one · esc closes ",
            entries.len() - refused
        );
        let block =
            Block::bordered().title(Span::styled(title, theme.title)).border_style(theme.border).style(theme.dialog);
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), popup);
    }
}

fn display_len(text: &str) -> usize {
    crate::sanitize::display_width(text)
}
