//! Reusable pieces of the console's screen: the status bar, the help
//! overlay, the message log and the queue view, the confirm dialog and
//! comment box (tui-textarea), toasts, the command line and one-line inputs,
//! the app detail shared by three panes, and text helpers. Widgets import
//! domain, sanitize and config, never the panes or the app state.

pub mod app_detail;
pub mod audit_event;
pub mod command_line;
pub mod comment;
pub mod confirm;
pub mod help;
pub mod hold_dialog;
pub mod line_input;
pub mod messages;
pub mod queue;
pub mod status_bar;
pub mod text;
pub mod toast;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthChar;

use crate::config::keymap::{Action, Key, Keymap, Section};

/// A `width` × `height` rectangle centred in `area`, clipped to it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// What a key did to a scrolling overlay (help, messages, queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollKey {
    /// The overlay stays open (it may have scrolled).
    Kept,
    /// Esc, `q`, enter, `?` or the keymap's back, help or quit: back to the pane.
    Close,
}

/// Moves `position` (a scroll offset or a cursor) within `0..=max` by the
/// key: up/down, page up/down, home/end and whatever the keymap binds to
/// those moves (`j`/`k`, `g`/`G` in vim); closes on esc, `q`, enter, `?`.
pub fn scroll_key(key: KeyEvent, keymap: &Keymap, section: Section, position: &mut u16, max: u16) -> ScrollKey {
    let action = keymap.lookup(section, Key::from_event(key));
    let at = (*position).min(max);
    *position = match (key.code, action) {
        (KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter, _) => return ScrollKey::Close,
        (_, Some(Action::Help | Action::Quit | Action::Back)) => return ScrollKey::Close,
        (KeyCode::Down, _) | (_, Some(Action::Down)) => at.saturating_add(1).min(max),
        (KeyCode::Up, _) | (_, Some(Action::Up)) => at.saturating_sub(1),
        (KeyCode::PageDown, _) | (_, Some(Action::PageDown)) => at.saturating_add(10).min(max),
        (KeyCode::PageUp, _) | (_, Some(Action::PageUp)) => at.saturating_sub(10),
        (KeyCode::Home, _) | (_, Some(Action::Top)) => 0,
        (KeyCode::End, _) | (_, Some(Action::Bottom)) => max,
        _ => at,
    };
    ScrollKey::Kept
}

/// `text` in lines of at most `width` columns, broken at spaces where it
/// can be and inside a word too long for a line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let word_width: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        let gap = usize::from(!line.is_empty());
        if used + gap + word_width <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("the server refused this token", 12), vec!["the server", "refused this", "token"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }

    #[test]
    fn scrolling_stays_within_its_bounds_and_end_goes_to_the_last() {
        let keymap = Keymap::default_keymap();
        let key = |code| KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
        let mut at = 0;
        assert_eq!(scroll_key(key(KeyCode::Up), &keymap, Section::Global, &mut at, 5), ScrollKey::Kept);
        assert_eq!(at, 0);
        scroll_key(key(KeyCode::End), &keymap, Section::Global, &mut at, 5);
        assert_eq!(at, 5);
        scroll_key(key(KeyCode::Down), &keymap, Section::Global, &mut at, 5);
        assert_eq!(at, 5);
        scroll_key(key(KeyCode::Up), &keymap, Section::Global, &mut at, 5);
        assert_eq!(at, 4);
        scroll_key(key(KeyCode::Home), &keymap, Section::Global, &mut at, 5);
        assert_eq!(at, 0);
        assert_eq!(scroll_key(key(KeyCode::Char('q')), &keymap, Section::Global, &mut at, 5), ScrollKey::Close);
    }
}
