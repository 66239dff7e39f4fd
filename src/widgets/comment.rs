//! The comment box: a tui-textarea for a rejection's reason. Enter sends,
//! but not while the reason is empty ("a reason is required") or longer than
//! the server accepts; Esc cancels; alt-enter starts a new line.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use tui_textarea::TextArea;

use super::confirm::{DialogReply, comment_area, render_dialog, text_key};
use crate::config::theme::Theme;
use crate::domain::approval::MAX_COMMENT_CHARS;

/// Shown when Enter is pressed on an empty required reason.
pub const REASON_REQUIRED: &str = "a reason is required";

#[derive(Debug, Clone)]
pub struct CommentBox {
    pub title: String,
    /// What the comment is about. Already sanitized by the caller.
    pub lines: Vec<Line<'static>>,
    pub text: TextArea<'static>,
    pub required: bool,
    /// Why the last Enter did not send.
    pub error: Option<String>,
    /// What Enter does, e.g. "reject".
    pub confirm_label: String,
}

impl CommentBox {
    pub fn new(
        title: impl Into<String>,
        lines: Vec<Line<'static>>,
        label: &str,
        required: bool,
        confirm_label: impl Into<String>,
        theme: &Theme,
    ) -> CommentBox {
        let placeholder = if required { "type the reason (required)" } else { "optional" };
        CommentBox {
            title: title.into(),
            lines,
            text: comment_area(label, placeholder, theme),
            required,
            error: None,
            confirm_label: confirm_label.into(),
        }
    }

    pub fn handle(&mut self, key: KeyEvent) -> DialogReply {
        match text_key(&mut self.text, key) {
            None => {
                self.error = None;
                DialogReply::Pending
            }
            Some(DialogReply::Confirm(text)) if self.required && text.is_empty() => {
                self.error = Some(REASON_REQUIRED.to_string());
                DialogReply::Pending
            }
            Some(DialogReply::Confirm(text)) if text.chars().count() > MAX_COMMENT_CHARS => {
                self.error = Some(format!(
                    "the comment is {} characters long; at most {MAX_COMMENT_CHARS} are allowed",
                    text.chars().count()
                ));
                DialogReply::Pending
            }
            Some(reply) => reply,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let hint = Line::from(vec![
            Span::styled("enter", theme.key),
            Span::styled(format!(" {}   ", self.confirm_label), theme.text),
            Span::styled("alt-enter", theme.key),
            Span::styled(" new line   ", theme.text),
            Span::styled("esc", theme.key),
            Span::styled(" cancel", theme.text),
        ]);
        render_dialog(frame, area, theme, &self.title, &self.lines, Some(&self.text), self.error.as_deref(), hint);
    }
}
