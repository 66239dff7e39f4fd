//! The `:` command line: `:inventory` … `:renewals` (or `:1` … `:5`),
//! `:filter tier=high data=pii state=active owner=olive`, `:sort COLUMN
//! [desc]`, `:search TEXT`, `:theme NAME`, `:keymap NAME`, `:messages`,
//! `:queue`, `:sync`, `:verify`, `:intake` (a new manifest in `$EDITOR`),
//! `:adopt` (the selected discovered app's manifest in `$EDITOR`),
//! `:release REASON…` (the selected app), `:help`, `:q`. Every command says what it
//! did (`✓ sorted by users ▼`, `✓ tier=high: 1,204 apps`); a command for the
//! inventory typed in another pane says so and stays where it is. `tab`
//! completes command names and their arguments, ↑/↓ recall earlier lines.
//! Loading a theme or keymap (and listing them for completion) reads the
//! user's config directory; nothing else here touches the outside world.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, COMMAND_HISTORY, Effect, Overlay};
use crate::config::keymap::Action;
use crate::config::{keymap, theme};
use crate::domain::{AppState, DataClass, Tier};
use crate::panes::PaneId;
use crate::panes::inventory::{Facets, SortColumn};
use crate::widgets::command_line::{CommandLine, is_line_key};
use crate::widgets::help::HelpOverlay;
use crate::widgets::line_input::InputReply;
use crate::widgets::messages::MessagesOverlay;
use crate::widgets::queue::QueueOverlay;
use crate::widgets::text::count;
use crate::widgets::toast::Toast;

/// The commands `tab` completes, in the order it lists them.
pub const COMMANDS: &[&str] = &[
    "adopt",
    "approvals",
    "audit",
    "filter",
    "help",
    "intake",
    "inventory",
    "keymap",
    "kpis",
    "messages",
    "queue",
    "quit",
    "release",
    "renewals",
    "request-access",
    "search",
    "sort",
    "sync",
    "theme",
    "transfer",
    "verify",
];

/// The facet keys `:filter` takes.
const FACET_KEYS: &[&str] = &["tier=", "data=", "state=", "owner=", "flag="];

/// Names of the themes or keymaps there are: the shipped ones, then the
/// user's files in `<config dir>/<folder>/`.
fn names(shipped: &[(&str, &str)], config_dir: Option<&std::path::Path>, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = shipped.iter().map(|(name, _)| name.to_string()).collect();
    if let Some(entries) = config_dir.and_then(|dir| std::fs::read_dir(dir.join(folder)).ok()) {
        let mut user: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.strip_suffix(".toml")).map(String::from))
            .filter(|name| !names.contains(name))
            .collect();
        user.sort();
        names.extend(user);
    }
    names
}

fn starting_with<'a>(words: impl IntoIterator<Item = &'a str>, prefix: &str) -> Vec<String> {
    words.into_iter().filter(|w| w.starts_with(prefix)).map(String::from).collect()
}

impl App {
    /// A key on the open command line: ↑/↓ through the history, `tab`
    /// completion, the rest edits the line.
    pub(crate) fn command_key(&mut self, line: &mut CommandLine, key: KeyEvent) -> InputReply {
        if !is_line_key(&key) {
            return line.handle(key);
        }
        match key.code {
            KeyCode::Up => line.recall(&self.command_history, true),
            KeyCode::Down => line.recall(&self.command_history, false),
            _ => line.complete(|text| self.completions(text)),
        }
        InputReply::Changed
    }

    /// Keeps a command line for ↑/↓ (not twice in a row).
    pub(crate) fn remember_command(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() || self.command_history.last().is_some_and(|last| last == text) {
            return;
        }
        if self.command_history.len() >= COMMAND_HISTORY {
            self.command_history.remove(0);
        }
        self.command_history.push(text.to_string());
    }

    /// Where the word being completed starts in `text` and what it may
    /// become: a command name, or an argument of the command typed.
    pub fn completions(&self, text: &str) -> (usize, Vec<String>) {
        let start = text.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &text[start..];
        let mut words = text[..start].split_whitespace();
        let Some(command) = words.next() else { return (start, starting_with(COMMANDS.iter().copied(), word)) };
        let before = words.count();
        let found = match command {
            "theme" if before == 0 => starting_with(
                names(theme::SHIPPED, self.config_dir.as_deref(), "themes").iter().map(String::as_str),
                word,
            ),
            "keymap" if before == 0 => starting_with(
                names(keymap::SHIPPED, self.config_dir.as_deref(), "keymaps").iter().map(String::as_str),
                word,
            ),
            "sort" if before == 0 => starting_with(SortColumn::ALL.map(SortColumn::name), word),
            "sort" if before == 1 => starting_with(["desc"], word),
            "filter" | "f" => self.facet_completions(word),
            _ => Vec::new(),
        };
        (start, found)
    }

    fn facet_completions(&self, word: &str) -> Vec<String> {
        let Some((key, value)) = word.split_once('=') else { return starting_with(FACET_KEYS.iter().copied(), word) };
        let values: Vec<String> = match key {
            "tier" => [Tier::High, Tier::Medium, Tier::Low].iter().map(|t| t.as_str().to_string()).collect(),
            "data" => [DataClass::Public, DataClass::Internal, DataClass::Sensitive, DataClass::Pii]
                .iter()
                .map(|d| d.to_string())
                .collect(),
            "state" => [
                AppState::Active,
                AppState::Expiring,
                AppState::Quarantined,
                AppState::ReadOnly,
                AppState::Decommissioned,
                AppState::Pending,
                AppState::Rejected,
                AppState::Discovered,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "flag" => vec![crate::domain::app::FLAG_OWNER_REVOKED.to_string()],
            "owner" => {
                let mut owners: Vec<String> = self
                    .ctx
                    .data
                    .apps
                    .iter()
                    .filter(|a| a.owner.starts_with(value))
                    .map(|a| a.owner.to_string())
                    .collect();
                owners.sort();
                owners.dedup();
                owners
            }
            _ => Vec::new(),
        };
        values.into_iter().filter(|v| v.starts_with(value)).map(|v| format!("{key}={v}")).collect()
    }

    /// Runs one command line (without the `:`).
    pub fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let now = self.ctx.now;
        let line = line.trim();
        let (name, args) = line.split_once(char::is_whitespace).map_or((line, ""), |(n, a)| (n, a.trim()));
        match name {
            "" => Vec::new(),
            "q" | "q!" | "quit" | "qa" => self.update(Action::Quit),
            "sync" => self.update(Action::Sync),
            "intake" => self.start_intake(),
            "adopt" => {
                if self.inventory_only(name) {
                    return self.start_adopt();
                }
                Vec::new()
            }
            "release" => self.release_command(args),
            "verify" => self.apply(vec![crate::panes::Intent::Verify]),
            "help" | "h" => {
                self.overlay = Some(Overlay::Help(HelpOverlay::default()));
                Vec::new()
            }
            "messages" | "mes" | "log" => {
                self.overlay = Some(Overlay::Messages(MessagesOverlay::default()));
                Vec::new()
            }
            "queue" | "outbox" => {
                self.overlay = Some(Overlay::Queue(QueueOverlay::default()));
                Vec::new()
            }
            "theme" => {
                self.switch_theme(args);
                Vec::new()
            }
            "keymap" => {
                self.switch_keymap(args);
                Vec::new()
            }
            "filter" | "f" => {
                if self.inventory_only(name) {
                    match Facets::parse(args) {
                        Ok(facets) => {
                            self.inventory.set_facets(facets, &self.ctx);
                            let shown = count(self.inventory.row_count() as u64, "app");
                            let text = match self.inventory.facets.describe() {
                                what if what.is_empty() => format!("filters cleared: {shown}"),
                                what => format!("{what}: {shown}"),
                            };
                            self.notify(Toast::success(text, now));
                        }
                        Err(err) => self.notify(Toast::error(format!(":filter: {err}"), now)),
                    }
                }
                Vec::new()
            }
            "request-access" => {
                if self.inventory_only(name) {
                    return self.open_request_access(args);
                }
                Vec::new()
            }
            "transfer" => {
                if self.inventory_only(name) {
                    return self.open_transfer(args);
                }
                Vec::new()
            }
            "search" | "s" => {
                if self.inventory_only(name) {
                    self.inventory.set_query(args, &self.ctx);
                    let shown = count(self.inventory.row_count() as u64, "app");
                    let text = if args.is_empty() {
                        format!("search cleared: {shown}")
                    } else {
                        format!("search {:?}: {shown}", crate::sanitize::sanitize(args))
                    };
                    self.notify(Toast::success(text, now));
                }
                Vec::new()
            }
            "sort" => {
                let mut words = args.split_whitespace();
                let column = words.next().map(SortColumn::from_name);
                let descending = matches!(words.next(), Some("desc" | "reverse"));
                match column {
                    Some(Some(column)) => {
                        if self.inventory_only(name) {
                            self.inventory.set_sort(Some(column), descending, &self.ctx);
                            let glyphs = self.ctx.theme.glyphs();
                            let arrow = if self.inventory.descending { glyphs.descending } else { glyphs.ascending };
                            self.notify(Toast::success(format!("sorted by {} {arrow}", column.name()), now));
                        }
                    }
                    _ => self.notify(Toast::error(
                        format!(":sort needs a column: {}", SortColumn::ALL.map(SortColumn::name).join(", ")),
                        now,
                    )),
                }
                Vec::new()
            }
            other => match PaneId::from_name(other) {
                Some(pane) => {
                    self.active = pane;
                    self.notify(Toast::success(format!("{} pane", pane.title()), now));
                    Vec::new()
                }
                None => {
                    self.notify(Toast::error(format!("unknown command :{other} (:help lists them)"), now));
                    Vec::new()
                }
            },
        }
    }

    /// Whether the inventory is showing, so `:command` can apply to it;
    /// else says where it applies.
    fn inventory_only(&mut self, command: &str) -> bool {
        if self.active == PaneId::Inventory {
            return true;
        }
        let key = self.ctx.key(crate::config::keymap::Section::Global, Action::ShowInventory);
        let go = key.map(|k| format!("press {k} or type :inventory")).unwrap_or_else(|| "type :inventory".into());
        let text = format!(":{command} applies to the Inventory pane, not {}: {go} first", self.active.title());
        self.notify(Toast::error(text, self.ctx.now));
        false
    }

    /// `:theme NAME`: an unknown name keeps the theme in use.
    fn switch_theme(&mut self, name: &str) {
        let now = self.ctx.now;
        let name = if name.is_empty() { theme::DEFAULT_THEME } else { name };
        let known = names(theme::SHIPPED, self.config_dir.as_deref(), "themes");
        if !known.iter().any(|k| k == name) {
            let text =
                format!("unknown theme {name:?}: keeping {} (themes: {})", self.ctx.theme.name, known.join(", "));
            self.notify(Toast::error(text, now));
            return;
        }
        let (theme, errors) = theme::load(name, self.config_dir.as_deref(), self.no_color);
        self.ctx.theme = theme;
        self.report(errors, format!("theme {name}"));
    }

    /// `:keymap NAME`: an unknown name keeps the keymap in use.
    fn switch_keymap(&mut self, name: &str) {
        let now = self.ctx.now;
        let name = if name.is_empty() { keymap::DEFAULT_KEYMAP } else { name };
        let known = names(keymap::SHIPPED, self.config_dir.as_deref(), "keymaps");
        if !known.iter().any(|k| k == name) {
            let text =
                format!("unknown keymap {name:?}: keeping {} (keymaps: {})", self.ctx.keymap.name, known.join(", "));
            self.notify(Toast::error(text, now));
            return;
        }
        let (keymap, errors) = keymap::load(name, self.config_dir.as_deref());
        self.ctx.keymap = keymap;
        self.report(errors, format!("keymap {name}"));
    }

    fn report(&mut self, errors: Vec<String>, done: String) {
        let now = self.ctx.now;
        match errors.first() {
            Some(first) => {
                for error in &errors[1..] {
                    self.log(Toast::error(error.clone(), now));
                }
                self.notify(Toast::error(first.clone(), now));
            }
            None => self.notify(Toast::success(done, now)),
        }
    }
}
