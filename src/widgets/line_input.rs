//! A one-line text input: the `/` filters and the `:` command line. Keeps the
//! text and a cursor; typing, Backspace/Delete, Left/Right, Home/End
//! (ctrl-a/ctrl-e), ctrl-u (clear before the cursor) and ctrl-w (delete a
//! word). Enter submits, Esc cancels, other keys are left to the caller
//! (Up/Down move the list being filtered).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// What a key did to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputReply {
    /// The text changed.
    Changed,
    /// The cursor moved, the text did not change.
    Moved,
    Submit,
    Cancel,
    /// Not an editing key: the caller may use it.
    Ignored,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in chars.
    cursor: usize,
}

impl LineInput {
    pub fn new() -> LineInput {
        LineInput::default()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn set_text(&mut self, text: &str) {
        self.text = text.chars().filter(|c| !c.is_control()).collect();
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    fn byte_at(&self, char_index: usize) -> usize {
        self.text.char_indices().nth(char_index).map_or(self.text.len(), |(i, _)| i)
    }

    pub fn handle(&mut self, key: KeyEvent) -> InputReply {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Enter => InputReply::Submit,
            KeyCode::Esc => InputReply::Cancel,
            KeyCode::Char('a') if ctrl => self.move_to(0),
            KeyCode::Char('e') if ctrl => self.move_to(len),
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
                InputReply::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(from..to, "");
                self.cursor = start;
                InputReply::Changed
            }
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) && !c.is_control() => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                InputReply::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
                InputReply::Changed
            }
            KeyCode::Backspace => InputReply::Moved,
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                InputReply::Changed
            }
            KeyCode::Left => self.move_to(self.cursor.saturating_sub(1)),
            KeyCode::Right => self.move_to((self.cursor + 1).min(len)),
            KeyCode::Home => self.move_to(0),
            KeyCode::End => self.move_to(len),
            _ => InputReply::Ignored,
        }
    }

    fn move_to(&mut self, cursor: usize) -> InputReply {
        self.cursor = cursor;
        InputReply::Moved
    }

    /// The visible part of the text in `width` columns, scrolled so the
    /// cursor shows, and the cursor's column within it.
    pub fn view(&self, width: usize, style: Style) -> (Line<'static>, u16) {
        let chars: Vec<char> = self.text.chars().collect();
        let widths: Vec<usize> = chars.iter().map(|c| c.width().unwrap_or(0)).collect();
        let width = width.max(1);
        // Start far enough right that the cursor (one column) fits.
        let mut start = 0;
        let mut before: usize = widths[..self.cursor].iter().sum();
        while before + 1 > width && start < self.cursor {
            before -= widths[start];
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for (c, w) in chars[start..].iter().zip(&widths[start..]) {
            if used + w > width {
                break;
            }
            used += w;
            shown.push(*c);
        }
        (Line::from(Span::styled(shown, style)), before as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(text: &str) -> LineInput {
        let mut input = LineInput::new();
        for c in text.chars() {
            input.handle(key(KeyCode::Char(c)));
        }
        input
    }

    #[test]
    fn typing_and_editing() {
        let mut input = typed("tier=hgh");
        input.handle(key(KeyCode::Left));
        input.handle(key(KeyCode::Left));
        assert_eq!(input.handle(key(KeyCode::Char('i'))), InputReply::Changed);
        assert_eq!(input.text(), "tier=high");
        input.handle(key(KeyCode::End));
        input.handle(key(KeyCode::Backspace));
        assert_eq!(input.text(), "tier=hig");
        input.handle(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(input.text(), "");
        assert_eq!(input.handle(key(KeyCode::Up)), InputReply::Ignored);
        assert_eq!(input.handle(key(KeyCode::Enter)), InputReply::Submit);
        assert_eq!(input.handle(key(KeyCode::Esc)), InputReply::Cancel);
    }

    #[test]
    fn view_scrolls_to_keep_the_cursor_visible() {
        let input = typed("abcdefghij");
        let (line, x) = input.view(5, Style::default());
        assert_eq!(line.to_string(), "ghij");
        assert_eq!(x, 4);
        let input = typed("販売");
        let (line, x) = input.view(10, Style::default());
        assert_eq!(line.to_string(), "販売");
        assert_eq!(x, 4);
    }
}
