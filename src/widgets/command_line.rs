//! The `:` command line on the message line. The commands themselves are
//! parsed and run by the app, which also says what to complete; this is the
//! input, its history (↑/↓ through earlier lines, the line being typed kept
//! aside) and `tab` completion: one candidate completes the word, several
//! complete their common prefix and are listed after the input, and a
//! further `tab` cycles through them.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::line_input::{InputReply, LineInput};
use crate::config::theme::Theme;
use crate::sanitize::{display_width, fit};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: LineInput,
    /// The history line shown by ↑/↓; `None` while typing a new one.
    history_at: Option<usize>,
    /// The line being typed, kept while ↑/↓ shows earlier ones.
    draft: String,
    completion: Option<Completion>,
}

/// The last `tab`: the text before the completed word and its candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Completion {
    head: String,
    candidates: Vec<String>,
    /// The candidate shown while cycling.
    index: Option<usize>,
}

impl CommandLine {
    pub fn handle(&mut self, key: KeyEvent) -> InputReply {
        self.completion = None;
        let reply = self.input.handle(key);
        if reply == InputReply::Changed {
            self.history_at = None;
        }
        reply
    }

    /// ↑ (`older`) or ↓ through `history` (oldest first).
    pub fn recall(&mut self, history: &[String], older: bool) {
        self.completion = None;
        let Some(last) = history.len().checked_sub(1) else { return };
        let at = match (self.history_at, older) {
            (None, true) => {
                self.draft = self.input.text().to_string();
                Some(last)
            }
            (None, false) => None,
            (Some(at), true) => Some(at.saturating_sub(1)),
            (Some(at), false) if at < last => Some(at + 1),
            (Some(_), false) => None,
        };
        self.history_at = at;
        match at {
            Some(at) => self.input.set_text(&history[at]),
            None => {
                let draft = std::mem::take(&mut self.draft);
                self.input.set_text(&draft);
            }
        }
    }

    /// `tab`: `candidates` says where the word being completed starts (a
    /// byte offset into the text) and what it may become.
    pub fn complete(&mut self, candidates: impl FnOnce(&str) -> (usize, Vec<String>)) {
        let text = self.input.text().to_string();
        if let Some(completion) = &mut self.completion
            && let Some(index) = completion.index
            && text == format!("{}{}", completion.head, completion.candidates[index])
        {
            let next = (index + 1) % completion.candidates.len();
            completion.index = Some(next);
            let line = format!("{}{}", completion.head, completion.candidates[next]);
            self.input.set_text(&line);
            return;
        }
        let (start, found) = candidates(&text);
        let start = start.min(text.len());
        let (head, word) = text.split_at(start);
        self.completion = None;
        match found.as_slice() {
            [] => {}
            [only] => {
                let space = if only.ends_with('=') { "" } else { " " };
                self.input.set_text(&format!("{head}{only}{space}"));
            }
            _ => {
                let prefix = common_prefix(&found);
                if prefix.len() > word.len() {
                    self.input.set_text(&format!("{head}{prefix}"));
                    self.completion = Some(Completion { head: head.to_string(), candidates: found, index: None });
                } else {
                    self.input.set_text(&format!("{head}{}", found[0]));
                    self.completion = Some(Completion { head: head.to_string(), candidates: found, index: Some(0) });
                }
            }
        }
    }

    /// The candidates of the last `tab`, if it found several.
    pub fn candidates(&self) -> &[String] {
        self.completion.as_ref().map_or(&[], |c| c.candidates.as_slice())
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width as usize;
        let (line, cursor) = self.input.view(width.saturating_sub(1), theme.input);
        let mut spans = vec![Span::styled(":", theme.key)];
        let used = 1 + line.spans.iter().map(|s| display_width(&s.content)).sum::<usize>();
        spans.extend(line.spans);
        if let Some(completion) = &self.completion {
            let mut room = width.saturating_sub(used + 3);
            spans.push(Span::raw("   "));
            for (i, candidate) in completion.candidates.iter().enumerate() {
                let shown = fit(candidate, room);
                if shown.is_empty() {
                    break;
                }
                room = room.saturating_sub(display_width(&shown) + 1);
                let style = if completion.index == Some(i) { theme.selected } else { theme.muted };
                spans.push(Span::styled(shown, style));
                spans.push(Span::raw(" "));
                if room == 0 {
                    break;
                }
            }
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        frame.set_cursor_position(Position::new(area.x + 1 + cursor, area.y));
    }
}

/// Whether the key is one the command line handles itself (history, tab).
pub fn is_line_key(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Up | KeyCode::Down | KeyCode::Tab) && key.modifiers.is_empty()
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else { return String::new() };
    let mut end = first.len();
    for word in &words[1..] {
        end = first.char_indices().zip(word.chars()).take_while(|((_, a), b)| a == b).count().min(end);
    }
    first.chars().take(end).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> CommandLine {
        let mut line = CommandLine::default();
        line.input.set_text(text);
        line
    }

    fn themes(text: &str) -> (usize, Vec<String>) {
        let start = text.rfind(' ').map_or(0, |i| i + 1);
        let word = &text[start..];
        (start, ["ansi16", "dark", "light"].into_iter().filter(|t| t.starts_with(word)).map(String::from).collect())
    }

    #[test]
    fn one_candidate_completes_the_word_and_several_cycle() {
        let mut line = typed("theme li");
        line.complete(themes);
        assert_eq!(line.input.text(), "theme light ");
        let mut line = typed("theme ");
        line.complete(themes);
        assert_eq!(line.input.text(), "theme ansi16");
        assert_eq!(line.candidates().len(), 3);
        line.complete(themes);
        assert_eq!(line.input.text(), "theme dark");
        line.complete(themes);
        line.complete(themes);
        assert_eq!(line.input.text(), "theme ansi16");
    }

    #[test]
    fn history_goes_back_and_returns_to_the_line_being_typed() {
        let history = vec!["sort users".to_string(), "theme light".to_string()];
        let mut line = typed("fil");
        line.recall(&history, true);
        assert_eq!(line.input.text(), "theme light");
        line.recall(&history, true);
        line.recall(&history, true);
        assert_eq!(line.input.text(), "sort users");
        line.recall(&history, false);
        line.recall(&history, false);
        assert_eq!(line.input.text(), "fil");
    }
}
