//! The `:` command line: `:inventory` … `:renewals` (or `:1` … `:5`),
//! `:filter tier=high data=pii state=active owner=olive`, `:sort COLUMN
//! [desc]`, `:search TEXT`, `:theme NAME`, `:keymap NAME`, `:sync`,
//! `:verify`, `:help`, `:q`. Loading a theme or keymap reads its user file,
//! if there is one; nothing else here touches the outside world.

use super::{App, Effect, Overlay};
use crate::config::keymap::Action;
use crate::config::{keymap, theme};
use crate::panes::PaneId;
use crate::panes::inventory::{Facets, SortColumn};
use crate::widgets::help::HelpOverlay;
use crate::widgets::toast::Toast;

impl App {
    /// Runs one command line (without the `:`).
    pub fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let now = self.ctx.now;
        let line = line.trim();
        let (name, args) = line.split_once(char::is_whitespace).map_or((line, ""), |(n, a)| (n, a.trim()));
        match name {
            "" => Vec::new(),
            "q" | "q!" | "quit" | "qa" => self.update(Action::Quit),
            "sync" => self.update(Action::Sync),
            "verify" => self.apply(vec![crate::panes::Intent::Verify]),
            "help" | "h" => {
                self.overlay = Some(Overlay::Help(HelpOverlay::default()));
                Vec::new()
            }
            "theme" => {
                let name = if args.is_empty() { theme::DEFAULT_THEME } else { args };
                let (theme, errors) = theme::load(name, self.config_dir.as_deref(), self.no_color);
                self.ctx.theme = theme;
                self.report(errors, format!("theme {name}"));
                Vec::new()
            }
            "keymap" => {
                let name = if args.is_empty() { keymap::DEFAULT_KEYMAP } else { args };
                let (keymap, errors) = keymap::load(name, self.config_dir.as_deref());
                self.ctx.keymap = keymap;
                self.report(errors, format!("keymap {name}"));
                Vec::new()
            }
            "filter" | "f" => {
                match Facets::parse(args) {
                    Ok(facets) => {
                        self.inventory.set_facets(facets, &self.ctx);
                        self.active = PaneId::Inventory;
                    }
                    Err(err) => self.notify(Toast::error(format!(":filter: {err}"), now)),
                }
                Vec::new()
            }
            "search" | "s" => {
                self.inventory.set_query(args, &self.ctx);
                self.active = PaneId::Inventory;
                Vec::new()
            }
            "sort" => {
                let mut words = args.split_whitespace();
                let column = words.next().map(SortColumn::from_name);
                let descending = matches!(words.next(), Some("desc" | "reverse"));
                match column {
                    Some(Some(column)) => {
                        self.inventory.set_sort(Some(column), descending, &self.ctx);
                        self.active = PaneId::Inventory;
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
                    Vec::new()
                }
                None => {
                    self.notify(Toast::error(format!("unknown command :{other} (try :help)"), now));
                    Vec::new()
                }
            },
        }
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
