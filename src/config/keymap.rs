//! Keymaps: TOML files that bind keys to named actions per pane, as yazi's
//! keymap does. A file has one section per pane plus `[global]`:
//!
//! ```toml
//! [approvals]
//! keymap = [
//!   { on = "a", run = "approve", desc = "Approve request" },
//!   { on = "ctrl-d", run = "page_down", desc = "Page down" },
//! ]
//! ```
//!
//! A key resolves in the active pane's section first, then in `[global]`.
//! Keys are single characters (`a`, `A`, `?`, `/`) or names (`enter`, `esc`,
//! `tab`, `backtab`, `space`, `backspace`, `up`, `down`, `left`, `right`,
//! `pageup`, `pagedown`, `home`, `end`, `delete`, `f1`…`f12`), optionally with
//! `ctrl-`, `alt-` or `shift-` in front. `desc` feeds the help overlay and the
//! hints; `run = "noop"` unbinds a key.
//!
//! The shipped keymaps (`default`, `vim`) are embedded in the binary. A file
//! `<config dir>/keymaps/<name>.toml` is layered over the shipped keymap of
//! that name (or over `default`), key by key. Nothing here panics: a file
//! that does not parse is ignored with a message; an entry with an unknown
//! action or key is skipped with a message naming the file and line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use toml::Spanned;

use super::theme::{is_plain_name, line_of, one_line};

/// The keymap used when none is named.
pub const DEFAULT_KEYMAP: &str = "default";

/// The shipped keymaps, embedded in the binary.
pub const SHIPPED: &[(&str, &str)] =
    &[("default", include_str!("../../keymaps/default.toml")), ("vim", include_str!("../../keymaps/vim.toml"))];

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal),+ $(,)?) => {
        /// What a key does; the `run` value of a keymap entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($(#[$doc])* $variant),+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The name keymap files use.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

actions! {
    /// Does nothing: unbinds a key.
    Noop => "noop",
    Quit => "quit",
    Help => "help",
    /// Opens the `:` command line.
    Command => "command",
    NextPane => "next_pane",
    PrevPane => "prev_pane",
    ShowInventory => "show_inventory",
    ShowApprovals => "show_approvals",
    ShowAudit => "show_audit",
    ShowKpis => "show_kpis",
    ShowRenewals => "show_renewals",
    /// Asks the sync worker to sync now.
    Sync => "sync",
    /// Clears and repaints the whole screen.
    Redraw => "redraw",
    Up => "up",
    Down => "down",
    PageUp => "page_up",
    PageDown => "page_down",
    Top => "top",
    Bottom => "bottom",
    /// Opens the detail of the selected row.
    Open => "open",
    /// Closes a detail, or clears the filter.
    Back => "back",
    /// Starts typing a `/` filter.
    Filter => "filter",
    CycleTier => "cycle_tier",
    CycleDataClass => "cycle_data_class",
    CycleState => "cycle_state",
    ToggleMine => "toggle_mine",
    ClearFilters => "clear_filters",
    SortNext => "sort_next",
    SortReverse => "sort_reverse",
    Approve => "approve",
    Reject => "reject",
    ToggleSelect => "toggle_select",
    ApproveSelected => "approve_selected",
    CycleOutcome => "cycle_outcome",
    Follow => "follow",
    Verify => "verify",
    Renew => "renew",
    /// Edits the selected app's manifest in `$EDITOR`, then confirms the amendment.
    Amend => "amend",
    /// Sends the selected request back to its owner, with a comment.
    RequestChanges => "request_changes",
    /// Withdraws the selected request (its requester or the app's owner).
    Withdraw => "withdraw",
    /// Quarantines the selected app now (reviewer or lead), after a reason and a confirm.
    Quarantine => "quarantine",
    /// Retires the selected app (owner or lead) through the exit checklist.
    Retire => "retire",
}

/// A keymap section: `[global]` or one pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Global,
    Inventory,
    Approvals,
    Audit,
    Kpis,
    Renewals,
}

impl Section {
    pub const ALL: [Section; 6] =
        [Section::Global, Section::Inventory, Section::Approvals, Section::Audit, Section::Kpis, Section::Renewals];

    pub fn name(self) -> &'static str {
        match self {
            Section::Global => "global",
            Section::Inventory => "inventory",
            Section::Approvals => "approvals",
            Section::Audit => "audit",
            Section::Kpis => "kpis",
            Section::Renewals => "renewals",
        }
    }

    fn from_name(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A key with its modifiers, normalized so that a keymap's `A` matches the
/// event crossterm reports for shift+a.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let mut modifiers = modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            // The character already says whether shift was held.
            KeyCode::Char(_) => {
                modifiers.remove(KeyModifiers::SHIFT);
                code
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                code
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, modifiers }
    }

    pub fn from_event(event: KeyEvent) -> Key {
        Key::new(event.code, event.modifiers)
    }

    /// Parses a key as keymap files spell it (see the module documentation).
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "alt-", "shift-"].into_iter().find(|p| lower.starts_with(p) && rest.len() > p.len());
            let Some(prefix) = prefix else { break };
            modifiers |= match prefix {
                "ctrl-" => KeyModifiers::CONTROL,
                "alt-" => KeyModifiers::ALT,
                _ => KeyModifiers::SHIFT,
            };
            rest = &rest[prefix.len()..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "delete" | "del" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n) if (1..=12).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("unknown key {text:?}")),
                },
            },
        };
        Ok(Key::new(code, modifiers))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One key bound to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub desc: String,
}

/// A resolved keymap: bindings per section, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    pub name: String,
    sections: BTreeMap<Section, Vec<Binding>>,
}

impl Keymap {
    /// The action for `key` in `section`, falling back to `[global]`.
    pub fn lookup(&self, section: Section, key: Key) -> Option<Action> {
        let find = |s: Section| self.sections.get(&s)?.iter().find(|b| b.key == key).map(|b| b.action);
        let action = if section == Section::Global {
            find(Section::Global)
        } else {
            find(section).or_else(|| find(Section::Global))
        };
        action.filter(|a| *a != Action::Noop)
    }

    /// The bindings of one section, without unbound keys.
    pub fn bindings(&self, section: Section) -> impl Iterator<Item = &Binding> {
        self.sections.get(&section).into_iter().flatten().filter(|b| b.action != Action::Noop)
    }

    /// The first key bound to `action` in `section` or `[global]`, for hints.
    pub fn key_for(&self, section: Section, action: Action) -> Option<Key> {
        self.bindings(section)
            .chain(self.bindings(Section::Global))
            .find(|b| b.action == action && self.lookup(section, b.key) == Some(action))
            .map(|b| b.key)
    }

    /// The shipped default keymap.
    pub fn default_keymap() -> Keymap {
        load(DEFAULT_KEYMAP, None).0
    }

    fn empty(name: &str) -> Keymap {
        Keymap { name: name.to_string(), sections: BTreeMap::new() }
    }

    /// Layers one file's entries over this keymap, key by key.
    fn apply(&mut self, label: &str, text: &str, errors: &mut Vec<String>) {
        let file: BTreeMap<String, Spanned<SectionFile>> = match toml::from_str(text) {
            Ok(file) => file,
            Err(err) => {
                errors.push(format!("keymap {label}: {}; using the shipped keymap", one_line(&err.to_string())));
                return;
            }
        };
        for (section_name, section_file) in file {
            let Some(section) = Section::from_name(&section_name) else {
                errors.push(format!(
                    "keymap {label} line {}: unknown section [{section_name}] (known: {})",
                    line_of(text, section_file.span().start),
                    Section::ALL.map(Section::name).join(", ")
                ));
                continue;
            };
            let bindings = self.sections.entry(section).or_default();
            for entry in section_file.into_inner().keymap {
                let line = line_of(text, entry.run.span().start);
                let Some(action) = Action::from_name(entry.run.get_ref()) else {
                    errors.push(format!(
                        "keymap {label} line {line}: unknown action {:?} in [{section_name}]",
                        entry.run.get_ref()
                    ));
                    continue;
                };
                let key = match Key::parse(entry.on.get_ref()) {
                    Ok(key) => key,
                    Err(problem) => {
                        errors.push(format!("keymap {label} line {}: {problem}", line_of(text, entry.on.span().start)));
                        continue;
                    }
                };
                let desc = entry.desc.unwrap_or_else(|| action.name().replace('_', " "));
                match bindings.iter_mut().find(|b| b.key == key) {
                    Some(existing) => *existing = Binding { key, action, desc },
                    None => bindings.push(Binding { key, action, desc }),
                }
            }
        }
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::default_keymap()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    #[serde(default)]
    keymap: Vec<EntryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    on: Spanned<String>,
    run: Spanned<String>,
    #[serde(default)]
    desc: Option<String>,
}

fn shipped(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

/// Loads keymap `name`: the shipped file of that name (or `default`) with
/// `<user_dir>/keymaps/<name>.toml` layered over it. Always returns a usable
/// keymap; the messages say what was wrong.
pub fn load(name: &str, user_dir: Option<&Path>) -> (Keymap, Vec<String>) {
    let mut errors = Vec::new();
    let user_path =
        user_dir.filter(|_| is_plain_name(name)).map(|dir| dir.join("keymaps").join(format!("{name}.toml")));
    let user_text = match &user_path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                errors.push(format!("keymap {}: {err}; using the shipped keymap", path.display()));
                None
            }
        },
        None => None,
    };
    let base_name = match shipped(name) {
        Some(_) => name,
        None => {
            if user_text.is_none() {
                errors.push(format!(
                    "unknown keymap {name:?} (shipped: {}); using {DEFAULT_KEYMAP}",
                    SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ));
            }
            DEFAULT_KEYMAP
        }
    };
    let mut keymap = Keymap::empty(name);
    if let Some(text) = shipped(base_name) {
        keymap.apply(&format!("{base_name}.toml (shipped)"), text, &mut errors);
    }
    if let (Some(text), Some(path)) = (user_text, user_path) {
        keymap.apply(&path.display().to_string(), &text, &mut errors);
    }
    (keymap, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_dir_with(name: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        std::fs::write(dir.path().join("keymaps").join(format!("{name}.toml")), text).unwrap();
        dir
    }

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    #[test]
    fn every_shipped_keymap_parses_without_errors() {
        for (name, _) in SHIPPED {
            let (keymap, errors) = load(name, None);
            assert!(errors.is_empty(), "{name}: {errors:?}");
            for section in Section::ALL {
                if section != Section::Kpis {
                    assert!(keymap.bindings(section).next().is_some(), "{name} has no [{}]", section.name());
                }
            }
            for binding in Section::ALL.iter().flat_map(|s| keymap.bindings(*s)) {
                assert!(!binding.desc.is_empty());
            }
        }
    }

    #[test]
    fn the_one_key_actions_are_bound_in_every_shipped_keymap() {
        for (name, _) in SHIPPED {
            let keymap = load(name, None).0;
            assert_eq!(keymap.lookup(Section::Approvals, key("a")), Some(Action::Approve), "{name}");
            assert_eq!(keymap.lookup(Section::Approvals, key("r")), Some(Action::Reject), "{name}");
            assert_eq!(keymap.lookup(Section::Renewals, key("n")), Some(Action::Renew), "{name}");
            for section in [Section::Inventory, Section::Renewals] {
                assert_eq!(keymap.lookup(section, key("Q")), Some(Action::Quarantine), "{name}");
                assert_eq!(keymap.lookup(section, key("R")), Some(Action::Retire), "{name}");
            }
            assert_eq!(keymap.lookup(Section::Inventory, key("q")), Some(Action::Quit), "{name}");
            assert_eq!(keymap.lookup(Section::Audit, key("?")), Some(Action::Help), "{name}");
        }
        let vim = load("vim", None).0;
        assert_eq!(vim.lookup(Section::Inventory, key("j")), Some(Action::Down));
        assert_eq!(vim.lookup(Section::Audit, key("G")), Some(Action::Bottom));
        assert_eq!(vim.lookup(Section::Audit, key("ctrl-d")), Some(Action::PageDown));
    }

    #[test]
    fn pane_bindings_shadow_global_ones() {
        let keymap = Keymap::default_keymap();
        assert_eq!(keymap.lookup(Section::Approvals, key("a")), Some(Action::Approve));
        assert_eq!(keymap.lookup(Section::Inventory, key("a")), None);
    }

    #[test]
    fn empty_user_file_gives_exactly_the_defaults() {
        for (name, _) in SHIPPED {
            let dir = user_dir_with(name, "");
            let (keymap, errors) = load(name, Some(dir.path()));
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(keymap, load(name, None).0);
        }
    }

    #[test]
    fn user_file_overrides_per_key() {
        let dir = user_dir_with(
            "default",
            "[approvals]\nkeymap = [\n  { on = \"y\", run = \"approve\", desc = \"Yes\" },\n  { on = \"a\", run = \"noop\" },\n]\n",
        );
        let (keymap, errors) = load("default", Some(dir.path()));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(keymap.lookup(Section::Approvals, key("y")), Some(Action::Approve));
        assert_eq!(keymap.lookup(Section::Approvals, key("a")), None);
        assert_eq!(keymap.lookup(Section::Approvals, key("r")), Some(Action::Reject), "the rest stays");
        assert_eq!(keymap.key_for(Section::Approvals, Action::Approve), Some(key("y")));
    }

    #[test]
    fn unknown_action_names_the_file_and_line() {
        let dir = user_dir_with(
            "default",
            "[global]\nkeymap = [\n  { on = \"x\", run = \"quit\" },\n  { on = \"z\", run = \"explode\" },\n]\n",
        );
        let (keymap, errors) = load("default", Some(dir.path()));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("default.toml line 4"), "{}", errors[0]);
        assert!(errors[0].contains("unknown action \"explode\""), "{}", errors[0]);
        assert!(errors[0].contains(&dir.path().display().to_string()), "{}", errors[0]);
        assert_eq!(keymap.lookup(Section::Global, key("x")), Some(Action::Quit), "valid entries still apply");
    }

    #[test]
    fn broken_or_unknown_files_fall_back_to_the_defaults() {
        let dir = user_dir_with("default", "[global\nkeymap = ");
        let (keymap, errors) = load("default", Some(dir.path()));
        assert_eq!(keymap, Keymap::default_keymap());
        assert!(errors[0].contains("default.toml"), "{errors:?}");

        let (keymap, errors) = load("emacs", None);
        assert_eq!(keymap.lookup(Section::Global, key("q")), Some(Action::Quit));
        assert!(errors[0].contains("unknown keymap \"emacs\""));

        let dir = user_dir_with(
            "default",
            "[nope]\nkeymap = []\n[global]\nkeymap = [{ on = \"ctrl-shift\", run = \"quit\" }]\n",
        );
        let (_, errors) = load("default", Some(dir.path()));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("line 1") && e.contains("[nope]")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("line 4") && e.contains("unknown key")), "{errors:?}");
    }

    #[test]
    fn keys_parse_and_match_crossterm_events() {
        let shift_a = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(shift_a), key("A"));
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(ctrl_d), key("ctrl-d"));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(backtab), key("backtab"));
        assert_eq!(key("shift-tab"), key("backtab"));
        assert_eq!(key("space"), Key::new(KeyCode::Char(' '), KeyModifiers::NONE));
        assert_eq!(key("-"), Key::new(KeyCode::Char('-'), KeyModifiers::NONE));
        assert_eq!(key("f5"), Key::new(KeyCode::F(5), KeyModifiers::NONE));
        assert!(Key::parse("hyper-x").is_err());
        for text in ["ctrl-d", "A", "space", "backtab", "pagedown", "f5", "alt-enter"] {
            assert_eq!(key(&key(text).to_string()), key(text), "{text}");
        }
    }

    #[test]
    fn action_names_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(*action));
        }
    }
}
