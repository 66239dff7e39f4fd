//! The message log (`:messages`): the last toasts in full, newest first,
//! each with its time (UTC) and mark, wrapped to the popup's width so a
//! message cut on the message line can be read here; scrolls like help
//! (lazygit's command log is the model).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::toast::{Toast, ToastLevel};
use super::wrap;
use crate::config::theme::Theme;
use crate::sanitize::sanitize;

/// Columns before a message's text: `09:00:12 ✓ `.
const PREFIX_WIDTH: usize = 11;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagesOverlay {
    pub scroll: u16,
}

/// Where the log goes: over the whole body `area`, so no pane text peeks out
/// beside it and long messages get the widest lines.
pub fn popup(area: Rect) -> Rect {
    area
}

/// The log's lines for a popup `width` columns wide (inside its border).
pub fn lines(messages: &[Toast], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    if messages.is_empty() {
        return vec![Line::from(Span::styled("no messages yet", theme.muted))];
    }
    let glyphs = theme.glyphs();
    let text_width = width.saturating_sub(PREFIX_WIDTH).max(10);
    let mut lines = Vec::new();
    for toast in messages.iter().rev() {
        let (mark, style) = match toast.level {
            ToastLevel::Info => (glyphs.dot, theme.text),
            ToastLevel::Success => (glyphs.check, theme.ok),
            ToastLevel::Error => (glyphs.cross, theme.danger),
        };
        let time = toast.at.format("%H:%M:%S").to_string();
        for (i, part) in wrap(&sanitize(&toast.text), text_width).into_iter().enumerate() {
            let head = if i == 0 {
                vec![Span::styled(format!("{time} "), theme.muted), Span::styled(format!("{mark} "), style)]
            } else {
                vec![Span::raw(" ".repeat(PREFIX_WIDTH))]
            };
            let mut spans = head;
            spans.push(Span::styled(part, style));
            lines.push(Line::from(spans));
        }
    }
    lines
}

/// How far the log in `area` can scroll.
pub fn max_scroll(messages: &[Toast], area: Rect, theme: &Theme) -> u16 {
    let popup = popup(area);
    let count = lines(messages, popup.width.saturating_sub(2) as usize, theme).len();
    (count as u16).saturating_sub(popup.height.saturating_sub(2))
}

impl MessagesOverlay {
    pub fn render(&self, frame: &mut Frame, area: Rect, messages: &[Toast], theme: &Theme) {
        let popup = popup(area);
        let lines = lines(messages, popup.width.saturating_sub(2) as usize, theme);
        let max = (lines.len() as u16).saturating_sub(popup.height.saturating_sub(2));
        let scroll = self.scroll.min(max);
        let more = if max > 0 { format!(" {scroll}/{max} ↓↑ ") } else { String::new() };
        let title = format!(" Messages · {} · newest first · esc closes ", messages.len());
        let block = Block::bordered()
            .title(Span::styled(title, theme.title))
            .title_bottom(Line::from(Span::styled(more, theme.muted)).right_aligned())
            .border_style(theme.border)
            .style(theme.dialog);
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), popup);
    }
}
