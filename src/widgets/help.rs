//! The `?` help overlay, generated from the active keymap: the active pane's
//! bindings, then the global ones (keys bound to the same action with the
//! same description share a line), then how dialogs, filters and the command
//! line work.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::text::pad;
use super::{ScrollKey, centered, scroll_key};
use crate::config::keymap::{Action, Keymap, Section};
use crate::config::theme::Theme;

/// Notes that do not come from the keymap: keys inside inputs and dialogs.
const INPUT_NOTES: &[(&str, &str)] = &[
    ("enter", "Filter: keep it and go back to the list"),
    ("esc", "Filter: clear it / Dialog: cancel"),
    ("up, down", "Filter: move the selection while typing"),
    ("enter", "Dialog: confirm (reject needs a reason)"),
    ("alt-enter", "Comment box: new line"),
    ("q", "In help, a detail or a view: back to the pane; in a list: quit"),
    ("ctrl-c", "Quit from anywhere"),
];

const COMMAND_NOTES: &[(&str, &str)] = &[
    (":inventory :approvals :audit :kpis :renewals", "Show a pane (also :1 … :5)"),
    (":filter tier=high data=pii state=active owner=olive", "Inventory facets (:filter alone clears)"),
    (":search TEXT", "Inventory fuzzy filter, as / types it (:search alone clears)"),
    (":sort name|owner|tier|data|state|expires|users [desc]", "Inventory sort"),
    (":theme dark|light|ansi16", "Switch theme (an unknown name keeps the current one)"),
    (":keymap default|vim", "Switch keymap"),
    (":messages", "The last 100 messages in full, with their times"),
    (":queue", "Queued and refused actions; d dismisses a refused one"),
    (":sync  :verify  :help  :q", "Sync now, verify audit chain, help, quit"),
    (":intake", "Write a new app's manifest in $EDITOR, preview it, submit"),
    (":adopt", "Take the selected discovered app through review, in $EDITOR"),
    ("tab  up, down", "Complete a command or its argument; earlier commands"),
];

/// The `/` filter's syntax in the inventory, approvals and renewals (fzf's
/// extended search, see `search`).
const FILTER_NOTES: &[(&str, &str)] = &[
    ("crm", "Fuzzy: the letters in order, in one field"),
    ("'crm", "Exact: the letters together"),
    ("^crm  sync$", "A field starts / ends with them"),
    ("!crm", "No field holds crm"),
    ("crm badge", "Both (space = and)"),
    ("crm | badge", "Either"),
];

const AUDIT_NOTES: &[(&str, &str)] =
    &[("/ app:crm actor:riley", "Audit filter terms; field: app, actor, action, outcome")];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpOverlay {
    pub scroll: u16,
}

impl HelpOverlay {
    /// Scrolls within `max_scroll` ([`max_scroll`]); returns false when
    /// the key closes the overlay.
    pub fn handle(&mut self, key: KeyEvent, keymap: &Keymap, section: Section, max_scroll: u16) -> bool {
        scroll_key(key, keymap, section, &mut self.scroll, max_scroll) == ScrollKey::Kept
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, keymap: &Keymap, section: Section, theme: &Theme) {
        // Narrow screens: the whole body, so nothing of the pane peeks out.
        let narrow = area.width < 100;
        let width = if narrow { area.width } else { 84 };
        let lines = help_lines(keymap, section, theme, width.saturating_sub(2) as usize);
        // Wide screens: inside the pane's border, with a cleared column on
        // each side so no cut-off text touches the popup.
        let height = if narrow { area.height } else { (lines.len() as u16 + 2).min(area.height.saturating_sub(2)) };
        let popup = centered(area, width, height);
        if !narrow {
            let margin = Rect { x: popup.x.saturating_sub(1), width: popup.width + 2, ..popup };
            frame.render_widget(Clear, margin.intersection(area));
        }
        let max_scroll = (lines.len() as u16).saturating_sub(height.saturating_sub(2));
        let scroll = self.scroll.min(max_scroll);
        let more = if max_scroll > 0 { format!(" {}/{} ↓↑ ", scroll, max_scroll) } else { String::new() };
        let block = Block::bordered()
            .title(Span::styled(format!(" Help · {} keymap · esc closes ", keymap.name), theme.title))
            .title_bottom(Line::from(Span::styled(more, theme.muted)).right_aligned())
            .border_style(theme.border)
            .style(theme.dialog);
        frame.render_widget(Clear, popup);
        frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), popup);
    }
}

/// How far the overlay drawn in the body `area` can scroll.
pub fn max_scroll(area: Rect, keymap: &Keymap, section: Section, theme: &Theme) -> u16 {
    let narrow = area.width < 100;
    let width = if narrow { area.width } else { 84 };
    let lines = help_lines(keymap, section, theme, width.saturating_sub(2) as usize).len() as u16;
    let height = if narrow { area.height } else { (lines + 2).min(area.height.saturating_sub(2)) };
    lines.saturating_sub(height.saturating_sub(2))
}

fn section_title(section: Section) -> &'static str {
    match section {
        Section::Global => "Everywhere",
        Section::Inventory => "Inventory",
        Section::Approvals => "Approvals",
        Section::Audit => "Audit timeline",
        Section::Kpis => "KPIs",
        Section::Renewals => "Renewals",
    }
}

/// Bindings of one section, keys sharing an action and description merged.
pub fn grouped(keymap: &Keymap, section: Section) -> Vec<(String, String)> {
    let mut groups: Vec<(Action, String, Vec<String>)> = Vec::new();
    for binding in keymap.bindings(section) {
        match groups.iter_mut().find(|(a, d, _)| *a == binding.action && *d == binding.desc) {
            Some((_, _, keys)) => keys.push(binding.key.to_string()),
            None => groups.push((binding.action, binding.desc.clone(), vec![binding.key.to_string()])),
        }
    }
    groups.into_iter().map(|(_, desc, keys)| (keys.join(", "), desc)).collect()
}

fn entry(keys: &str, desc: &str, key_width: usize, theme: &Theme, width: usize) -> Line<'static> {
    let keys = if keys.chars().count() > key_width { keys.to_string() + " " } else { pad(keys, key_width) };
    let desc_width = width.saturating_sub(crate::sanitize::display_width(&keys) + 2);
    Line::from(vec![
        Span::raw("  "),
        Span::styled(keys, theme.key),
        Span::styled(crate::sanitize::fit(desc, desc_width), theme.text),
    ])
}

/// The overlay's lines for the active pane's `section`, `width` columns wide.
pub fn help_lines(keymap: &Keymap, section: Section, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), theme.title));
    let mut lines = Vec::new();
    let key_width = 16;
    let mut sections = vec![section];
    if section != Section::Global {
        sections.push(Section::Global);
    }
    for s in sections {
        let entries = grouped(keymap, s);
        if entries.is_empty() {
            continue;
        }
        lines.push(heading(section_title(s)));
        for (keys, desc) in entries {
            lines.push(entry(&keys, &desc, key_width, theme, width));
        }
        lines.push(Line::default());
    }
    if matches!(section, Section::Inventory | Section::Approvals | Section::Renewals) {
        lines.push(heading("Filter (/): best match first, and selected"));
        for (keys, desc) in FILTER_NOTES {
            lines.push(entry(keys, desc, key_width, theme, width));
        }
        lines.push(Line::default());
    }
    if section == Section::Audit {
        lines.push(heading("Audit filter"));
        for (keys, desc) in AUDIT_NOTES {
            lines.push(Line::from(vec![Span::raw("  "), Span::styled(keys.to_string(), theme.key)]));
            lines.push(Line::from(Span::styled(format!("      {desc}"), theme.text)));
        }
        lines.push(Line::default());
    }
    lines.push(heading("In inputs and dialogs"));
    for (keys, desc) in INPUT_NOTES {
        lines.push(entry(keys, desc, key_width, theme, width));
    }
    lines.push(Line::default());
    lines.push(heading("Commands (:)"));
    for (command, desc) in COMMAND_NOTES {
        lines.push(Line::from(vec![Span::raw("  "), Span::styled(command.to_string(), theme.key)]));
        lines.push(Line::from(Span::styled(format!("      {desc}"), Style::default().patch(theme.text))));
    }
    lines
}
