//! The confirm dialog: a summary of what will happen, an optional comment
//! (tui-textarea) and Enter to go ahead or Esc to cancel. Without a comment
//! field, `y` and `n` work too. Approvals, one or many, go through it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use tui_textarea::TextArea;

use super::centered;
use crate::config::theme::Theme;

/// What a key did to a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogReply {
    /// Still open.
    Pending,
    /// Go ahead, with the comment typed (trimmed; empty when none).
    Confirm(String),
    Cancel,
}

/// A text area styled for a dialog.
pub fn comment_area(title: &str, placeholder: &str, theme: &Theme) -> TextArea<'static> {
    let mut area = TextArea::default();
    area.set_block(Block::bordered().title(Span::styled(format!(" {title} "), theme.title)).border_style(theme.border));
    area.set_style(theme.input);
    area.set_cursor_line_style(Style::default());
    area.set_placeholder_text(placeholder);
    area.set_placeholder_style(theme.muted);
    area.set_wrap_mode(tui_textarea::WrapMode::Word);
    area
}

/// The typed text, trimmed.
pub fn comment_text(area: &TextArea<'_>) -> String {
    area.lines().join("\n").trim().to_string()
}

/// Routes a key to a dialog's text area: Enter submits, alt-enter breaks
/// the line, Esc cancels.
pub fn text_key(area: &mut TextArea<'static>, key: KeyEvent) -> Option<DialogReply> {
    match key.code {
        KeyCode::Esc => Some(DialogReply::Cancel),
        KeyCode::Enter if key.modifiers.contains(KeyModifiers::ALT) => {
            area.insert_newline();
            None
        }
        KeyCode::Enter => Some(DialogReply::Confirm(comment_text(area))),
        _ => {
            area.input(key);
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConfirmDialog {
    pub title: String,
    /// The summary: what will be approved. Already sanitized by the caller.
    pub lines: Vec<Line<'static>>,
    pub comment: Option<TextArea<'static>>,
    /// What Enter does, e.g. "approve 2 requests".
    pub confirm_label: String,
}

impl ConfirmDialog {
    pub fn new(title: impl Into<String>, lines: Vec<Line<'static>>, confirm_label: impl Into<String>) -> ConfirmDialog {
        ConfirmDialog { title: title.into(), lines, comment: None, confirm_label: confirm_label.into() }
    }

    /// Adds an optional comment field.
    pub fn with_comment(mut self, theme: &Theme) -> ConfirmDialog {
        self.comment = Some(comment_area("Comment (optional)", "type a comment, or just press enter", theme));
        self
    }

    pub fn handle(&mut self, key: KeyEvent) -> DialogReply {
        match &mut self.comment {
            Some(area) => text_key(area, key).unwrap_or(DialogReply::Pending),
            None => match key.code {
                KeyCode::Enter | KeyCode::Char('y') => DialogReply::Confirm(String::new()),
                KeyCode::Esc | KeyCode::Char('n') => DialogReply::Cancel,
                _ => DialogReply::Pending,
            },
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let keys = if self.comment.is_some() { "enter" } else { "enter/y" };
        let cancel = if self.comment.is_some() { "esc" } else { "esc/n" };
        let hint = Line::from(vec![
            Span::styled(keys, theme.key),
            Span::styled(format!(" {}   ", self.confirm_label), theme.text),
            Span::styled(cancel, theme.key),
            Span::styled(" cancel", theme.text),
        ]);
        render_dialog(frame, area, theme, &self.title, &self.lines, self.comment.as_ref(), None, hint);
    }
}

/// The rows `line` takes when wrapped at word boundaries to `width`
/// columns, as the summary paragraph wraps it: a line's width divided by
/// the width undercounts when a word moves whole to the next row, and the
/// dialog then cut its last words off.
fn wrapped_rows(line: &Line<'_>, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let text: String = line.spans.iter().map(|span| span.content.as_ref()).collect();
    let (mut rows, mut column) = (1usize, 0usize);
    for word in text.split(' ') {
        let word_width = Span::raw(word).width();
        if column == 0 {
            column = word_width;
        } else if column + 1 + word_width <= width {
            column += 1 + word_width;
        } else {
            rows += 1;
            column = word_width;
        }
        while column > width {
            rows += 1;
            column -= width;
        }
    }
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// Draws a dialog: summary lines, an optional text area, an optional error
/// and a hint line, centred over `area`.
#[allow(clippy::too_many_arguments)]
pub fn render_dialog(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    lines: &[Line<'static>],
    text_area: Option<&TextArea<'static>>,
    error: Option<&str>,
    hint: Line<'static>,
) {
    // Narrow screens: the full width inside the pane's border.
    let width = if area.width < 100 { area.width.saturating_sub(2) } else { 76 };
    let inner_width = width.saturating_sub(2).max(1);
    let summary_rows: u16 = lines
        .iter()
        .map(|line| wrapped_rows(line, inner_width))
        .sum::<u16>()
        .min(area.height.saturating_sub(10).max(3));
    let text_rows = if text_area.is_some() { 5 } else { 0 };
    let error_rows = u16::from(error.is_some());
    let height = summary_rows + 1 + text_rows + error_rows + 1 + 2;
    let popup = centered(area, width, height);
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .border_style(theme.border)
        .style(theme.dialog);
    let inner = block.inner(popup);
    // Clear one column beside the dialog too, so no half-drawn cell of the
    // pane underneath touches its border.
    let inside_border = Rect { x: area.x + 1, width: area.width.saturating_sub(2), ..area };
    let margin = Rect { x: popup.x.saturating_sub(1), width: popup.width + 2, ..popup }.intersection(inside_border);
    frame.render_widget(Clear, margin);
    frame.render_widget(block, popup);
    let [summary, _, text, err, hint_area] = Layout::vertical([
        Constraint::Length(summary_rows),
        Constraint::Length(1),
        Constraint::Length(text_rows),
        Constraint::Length(error_rows),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines.to_vec()).wrap(Wrap { trim: false }), summary);
    if let Some(text_area) = text_area {
        frame.render_widget(text_area, text);
    }
    if let Some(error) = error {
        frame.render_widget(
            Paragraph::new(Span::styled(crate::sanitize::fit(error, err.width as usize), theme.danger)),
            err,
        );
    }
    frame.render_widget(Paragraph::new(hint), hint_area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_that_does_not_fit_takes_the_next_row() {
        // 10 + 1 + 10 = 21 columns: by width alone two rows of 12, but the
        // second word moves whole, and so does the third.
        let line = Line::from("aaaaaaaaaa bbbbbbbbbb cc");
        assert_eq!(wrapped_rows(&line, 12), 3);
        assert_eq!(wrapped_rows(&Line::from("short"), 12), 1);
        assert_eq!(wrapped_rows(&Line::from(""), 12), 1);
        // A word longer than the row is broken across rows.
        assert_eq!(wrapped_rows(&Line::from("x".repeat(30)), 12), 3);
    }
}
