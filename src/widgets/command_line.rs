//! The `:` command line on the message line. The commands themselves are
//! parsed and run by the app; this is the input and its drawing.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::line_input::{InputReply, LineInput};
use crate::config::theme::Theme;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: LineInput,
}

impl CommandLine {
    pub fn handle(&mut self, key: KeyEvent) -> InputReply {
        self.input.handle(key)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let (line, cursor) = self.input.view(area.width.saturating_sub(1) as usize, theme.input);
        let mut spans = vec![Span::styled(":", theme.key)];
        spans.extend(line.spans);
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        frame.set_cursor_position(Position::new(area.x + 1 + cursor, area.y));
    }
}
