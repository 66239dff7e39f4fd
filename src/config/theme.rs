//! Themes: TOML files that name roles (`selected`, `danger`, `risk_high`, …),
//! not colours, resolved once at load time into ratatui [`Style`]s.
//!
//! A theme file looks like helix's:
//!
//! ```toml
//! inherits = "dark"          # optional: start from another theme
//! ascii = true               # optional: ASCII marks (x, +, *) instead of ✓ ✗ ●
//! [palette]                  # optional: names for colours, used below
//! red = "#e06c75"
//! risk_high = "red"                                   # a colour: the foreground
//! selected = { fg = "black", bg = "cyan", modifiers = ["bold"] }
//! ```
//!
//! Colours are palette names, ANSI names (`red`, `light_red`, `dark_gray`,
//! `reset`/`default`), 256-colour indexes (`"208"`) or `#rrggbb`. The shipped
//! themes (`dark`, `light`, `ansi16`) are embedded in the binary; a file of
//! the same name in `<config dir>/themes/` is layered over the shipped one
//! (or over `dark`, or over its `inherits`). Nothing here panics: a missing
//! or broken user file, an unknown role or colour, each yields a message for
//! the console to show, and the inherited style is used instead.
//!
//! Colour names resolve to ratatui's named colours, which the console's
//! backend ([`crate::backend`]) writes as the 16-colour SGR codes: `ansi16`
//! names nothing else, so it sends no 256-colour or true-colour code.
//!
//! With `NO_COLOR` every colour is dropped; modifiers stay, and the selection,
//! active tab and fuzzy-match highlight get `reversed`/`underlined` so they
//! remain visible.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use toml::{Spanned, Value};

/// The theme used when none is named, and the root of every inheritance chain.
pub const DEFAULT_THEME: &str = "dark";

/// The shipped themes, embedded in the binary.
pub const SHIPPED: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("ansi16", include_str!("../../themes/ansi16.toml")),
];

/// Longest `inherits` chain followed before giving up (a cycle).
const MAX_INHERIT_DEPTH: usize = 8;

/// Whether the `NO_COLOR` convention asks for no colour: set and not empty.
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// Marks drawn in place of words; ASCII themes use plain characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub check: &'static str,
    pub cross: &'static str,
    pub online: &'static str,
    pub offline: &'static str,
    pub selected: &'static str,
    pub unselected: &'static str,
    pub cursor: &'static str,
    pub ascending: &'static str,
    pub descending: &'static str,
    pub bar: &'static str,
    pub dot: &'static str,
}

pub const UNICODE_GLYPHS: Glyphs = Glyphs {
    check: "✓",
    cross: "✗",
    online: "●",
    offline: "○",
    selected: "◆",
    unselected: "◇",
    cursor: "▶",
    ascending: "▲",
    descending: "▼",
    bar: "█",
    dot: "·",
};

pub const ASCII_GLYPHS: Glyphs = Glyphs {
    check: "+",
    cross: "x",
    online: "*",
    offline: "o",
    selected: "#",
    unselected: "-",
    cursor: ">",
    ascending: "^",
    descending: "v",
    bar: "#",
    dot: "-",
};

macro_rules! roles {
    ($($(#[$doc:meta])* $field:ident => $key:literal),+ $(,)?) => {
        /// A theme resolved to styles, one per role.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// The name it was loaded under.
            pub name: String,
            /// Plain ASCII marks instead of Unicode symbols.
            pub ascii: bool,
            /// Colour names defined along the inheritance chain.
            palette: BTreeMap<String, Color>,
            $($(#[$doc])* pub $field: Style,)+
        }

        /// Every role a theme file may set, as spelled in the file.
        pub const ROLES: &[&str] = &[$($key),+];

        impl Theme {
            fn empty(name: &str) -> Theme {
                Theme { name: name.to_string(), ascii: false, palette: BTreeMap::new(), $($field: Style::default(),)+ }
            }

            fn role_mut(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $($key => Some(&mut self.$field),)+
                    _ => None,
                }
            }

            fn for_each_role(&mut self, mut f: impl FnMut(&'static str, &mut Style)) {
                $(f($key, &mut self.$field);)+
            }

            /// The style of a role by its file name, for tests and tools.
            pub fn role(&self, key: &str) -> Option<Style> {
                match key {
                    $($key => Some(self.$field),)+
                    _ => None,
                }
            }
        }
    };
}

roles! {
    /// Ordinary text.
    text => "text",
    /// Secondary text: hints, ages, disabled actions.
    muted => "muted",
    /// The selected row.
    selected => "selected",
    danger => "danger",
    warning => "warning",
    ok => "ok",
    risk_high => "risk_high",
    risk_medium => "risk_medium",
    risk_low => "risk_low",
    /// Apps close to their expiry.
    expiring => "expiring",
    /// Table headers.
    header => "header",
    border => "border",
    /// Block titles and section headings.
    title => "title",
    status_bar => "status_bar",
    /// Characters matched by the fuzzy filter.
    matched => "match",
    tab_active => "tab_active",
    tab_inactive => "tab_inactive",
    /// Key names in help and hints.
    key => "key",
    /// Popups: dialogs, help, comment box.
    dialog => "dialog",
    /// Day headers in the audit timeline.
    day_header => "day_header",
    /// Bars and sparklines.
    chart => "chart",
    /// Text being typed: filters, the command line.
    input => "input",
}

impl Theme {
    pub fn glyphs(&self) -> &'static Glyphs {
        if self.ascii { &ASCII_GLYPHS } else { &UNICODE_GLYPHS }
    }

    /// The style for a risk tier.
    pub fn risk(&self, tier: crate::domain::Tier) -> Style {
        match tier {
            crate::domain::Tier::High => self.risk_high,
            crate::domain::Tier::Medium => self.risk_medium,
            crate::domain::Tier::Low => self.risk_low,
        }
    }

    /// Drops every colour, keeping modifiers, and makes sure the selection,
    /// the active tab and fuzzy matches stay visible without colour.
    pub fn without_colors(mut self) -> Theme {
        self.for_each_role(|_, style| {
            style.fg = None;
            style.bg = None;
            style.underline_color = None;
        });
        self.selected = self.selected.add_modifier(Modifier::REVERSED);
        self.tab_active = self.tab_active.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        self.matched = self.matched.add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
        self.status_bar = self.status_bar.add_modifier(Modifier::REVERSED);
        self
    }

    /// The shipped default theme, with no user file and no warnings.
    pub fn default_theme() -> Theme {
        load(DEFAULT_THEME, None, false).0
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::default_theme()
    }
}

/// Loads theme `name`: the shipped file of that name and/or
/// `<user_dir>/themes/<name>.toml`. Always returns a usable theme; the
/// messages say what was wrong and what was used instead.
pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> (Theme, Vec<String>) {
    let mut errors = Vec::new();
    let mut theme = match resolve(name, user_dir, &mut errors, 0) {
        Some(theme) => theme,
        None => {
            errors.push(format!(
                "unknown theme {name:?} (shipped: {}); using {DEFAULT_THEME}",
                SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
            resolve(DEFAULT_THEME, None, &mut errors, 0).unwrap_or_else(|| Theme::empty(DEFAULT_THEME))
        }
    };
    theme.name = name.to_string();
    if no_color {
        theme = theme.without_colors();
    }
    (theme, errors)
}

fn shipped(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

/// A theme file read and parsed, before its roles are applied.
struct Source {
    /// How messages name the file.
    label: String,
    text: String,
    table: BTreeMap<String, Spanned<Value>>,
}

fn read_user(name: &str, user_dir: Option<&Path>, errors: &mut Vec<String>) -> Option<Source> {
    if !is_plain_name(name) {
        return None;
    }
    let path = user_dir?.join("themes").join(format!("{name}.toml"));
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(path.display().to_string(), text, errors),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            errors.push(format!("theme {}: {err}; using the shipped theme", path.display()));
            None
        }
    }
}

/// Theme and keymap names are file stems, never paths.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse(label: String, text: String, errors: &mut Vec<String>) -> Option<Source> {
    match toml::from_str::<BTreeMap<String, Spanned<Value>>>(&text) {
        Ok(table) => Some(Source { label, text, table }),
        Err(err) => {
            errors.push(format!("theme {label}: {}; using the shipped theme", one_line(&err.to_string())));
            None
        }
    }
}

/// A multi-line parser message folded into one toast-sized line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Resolves `name`: the user's file when there is one (layered over its
/// `inherits`, else over the shipped theme of that name, else over
/// [`DEFAULT_THEME`]), otherwise the shipped file (over its `inherits`, if
/// any). `None` when neither exists.
fn resolve(name: &str, user_dir: Option<&Path>, errors: &mut Vec<String>, depth: usize) -> Option<Theme> {
    if depth > MAX_INHERIT_DEPTH {
        errors.push(format!("theme {name:?}: inherits too deeply (a cycle?); using {DEFAULT_THEME}"));
        return None;
    }
    if let Some(source) = read_user(name, user_dir, errors) {
        let mut base = match inherits(&source, errors) {
            // A user file that inherits its own name means the shipped one.
            Some(base) if base == name && shipped(name).is_some() => resolve_shipped(name, user_dir, errors, depth)?,
            Some(base) => resolve_base(&base, &source, user_dir, errors, depth),
            None if shipped(name).is_some() => resolve_shipped(name, user_dir, errors, depth)?,
            None => resolve_base(DEFAULT_THEME, &source, user_dir, errors, depth),
        };
        apply(&mut base, &source, errors);
        return Some(base);
    }
    resolve_shipped(name, user_dir, errors, depth)
}

fn resolve_shipped(name: &str, user_dir: Option<&Path>, errors: &mut Vec<String>, depth: usize) -> Option<Theme> {
    let source = parse(format!("{name}.toml (shipped)"), shipped(name)?.to_string(), errors)?;
    let mut base = match inherits(&source, errors) {
        Some(base) => resolve_base(&base, &source, user_dir, errors, depth),
        None => Theme::empty(name),
    };
    apply(&mut base, &source, errors);
    Some(base)
}

fn resolve_base(base: &str, source: &Source, user_dir: Option<&Path>, errors: &mut Vec<String>, depth: usize) -> Theme {
    resolve(base, user_dir, errors, depth + 1).unwrap_or_else(|| {
        errors.push(format!("theme {}: inherits unknown theme {base:?}", source.label));
        Theme::empty(base)
    })
}

fn inherits(source: &Source, errors: &mut Vec<String>) -> Option<String> {
    match source.table.get("inherits").map(|v| v.get_ref()) {
        Some(Value::String(base)) => Some(base.clone()),
        Some(_) => {
            errors.push(format!("theme {}: `inherits` must be a theme name", source.label));
            None
        }
        None => None,
    }
}

/// Applies a file's palette, `ascii` flag and roles over `theme`.
fn apply(theme: &mut Theme, source: &Source, errors: &mut Vec<String>) {
    let mut palette = std::mem::take(&mut theme.palette);
    if let Some(spanned) = source.table.get("palette") {
        match spanned.get_ref() {
            Value::Table(table) => {
                for (name, value) in table {
                    match value.as_str().map(parse_color) {
                        Some(Some(color)) => {
                            palette.insert(name.clone(), color);
                        }
                        _ => errors.push(format!(
                            "theme {} line {}: palette colour {name:?} is not a colour name or #rrggbb",
                            source.label,
                            line_of(&source.text, spanned.span().start)
                        )),
                    }
                }
            }
            _ => errors.push(format!("theme {}: [palette] must be a table", source.label)),
        }
    }
    for (key, spanned) in &source.table {
        let line = line_of(&source.text, spanned.span().start);
        let at = format!("theme {} line {line}", source.label);
        match key.as_str() {
            "inherits" | "palette" => {}
            "ascii" => match spanned.get_ref() {
                Value::Boolean(on) => theme.ascii = *on,
                _ => errors.push(format!("{at}: `ascii` must be true or false")),
            },
            role => {
                let Some(slot) = theme.role_mut(role) else {
                    errors.push(format!("{at}: unknown role {role:?}; known roles: {}", ROLES.join(", ")));
                    continue;
                };
                match parse_style(spanned.get_ref(), &palette) {
                    Ok(style) => *slot = style,
                    Err(problem) => errors.push(format!("{at}: {role}: {problem}; using the inherited style")),
                }
            }
        }
    }
    theme.palette = palette;
}

fn parse_color(text: &str) -> Option<Color> {
    if text.eq_ignore_ascii_case("default") {
        return Some(Color::Reset);
    }
    Color::from_str(text).ok()
}

fn color(text: &str, palette: &BTreeMap<String, Color>) -> Result<Color, String> {
    palette.get(text).copied().or_else(|| parse_color(text)).ok_or_else(|| format!("unknown colour {text:?}"))
}

fn parse_modifier(name: &str) -> Result<Modifier, String> {
    Ok(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        other => return Err(format!("unknown modifier {other:?}")),
    })
}

fn parse_style(value: &Value, palette: &BTreeMap<String, Color>) -> Result<Style, String> {
    match value {
        Value::String(fg) => Ok(Style::default().fg(color(fg, palette)?)),
        Value::Table(table) => {
            let mut style = Style::default();
            for (key, value) in table {
                match (key.as_str(), value) {
                    ("fg", Value::String(text)) => style = style.fg(color(text, palette)?),
                    ("bg", Value::String(text)) => style = style.bg(color(text, palette)?),
                    ("modifiers", Value::Array(items)) => {
                        for item in items {
                            let name = item.as_str().ok_or("modifiers must be names")?;
                            style = style.add_modifier(parse_modifier(name)?);
                        }
                    }
                    (other, _) => return Err(format!("unexpected {other:?} (expected fg, bg, modifiers)")),
                }
            }
            Ok(style)
        }
        _ => Err("expected a colour or { fg, bg, modifiers }".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_dir_with(name: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes").join(format!("{name}.toml")), text).unwrap();
        dir
    }

    #[test]
    fn every_shipped_theme_parses_without_warnings_and_sets_every_role() {
        for (name, _) in SHIPPED {
            let (theme, errors) = load(name, None, false);
            assert!(errors.is_empty(), "{name}: {errors:?}");
            for role in ROLES {
                assert_ne!(theme.role(role), Some(Style::default()), "{name} leaves {role} unstyled");
            }
        }
    }

    #[test]
    fn ansi16_uses_only_the_16_named_colours() {
        let (theme, _) = load("ansi16", None, false);
        assert!(theme.ascii);
        for role in ROLES {
            let style = theme.role(role).unwrap();
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(color, Color::Rgb(..) | Color::Indexed(_)), "{role}: {color:?}");
            }
        }
    }

    #[test]
    fn empty_user_file_gives_exactly_the_shipped_theme() {
        for (name, _) in SHIPPED {
            let dir = user_dir_with(name, "");
            let (theme, errors) = load(name, Some(dir.path()), false);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(theme, load(name, None, false).0);
        }
    }

    #[test]
    fn user_file_overrides_one_role_and_keeps_the_rest() {
        let dir = user_dir_with("dark", "risk_high = \"hot\"\ndanger = \"red\"\n[palette]\nhot = \"#ff0000\"\n");
        let (theme, errors) = load("dark", Some(dir.path()), false);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(theme.risk_high.fg, Some(Color::Rgb(255, 0, 0)));
        // Palette names of the inherited theme stay usable.
        assert_eq!(theme.danger.fg, Some(Color::Rgb(0xe0, 0x6c, 0x75)));
        assert_eq!(theme.selected, Theme::default_theme().selected);
    }

    #[test]
    fn a_new_user_theme_inherits() {
        let dir = user_dir_with("mine", "inherits = \"light\"\nok = \"#0000ff\"\n");
        let (theme, errors) = load("mine", Some(dir.path()), false);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(theme.ok.fg, Some(Color::Rgb(0, 0, 255)));
        assert_eq!(theme.danger, load("light", None, false).0.danger);
    }

    #[test]
    fn bad_colour_falls_back_with_a_warning_naming_file_and_line() {
        let dir = user_dir_with("dark", "# mine\n\nrisk_high = \"blurple\"\n");
        let (theme, errors) = load("dark", Some(dir.path()), false);
        assert_eq!(theme.risk_high, Theme::default_theme().risk_high);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("dark.toml line 3"), "{}", errors[0]);
        assert!(errors[0].contains("blurple"), "{}", errors[0]);
    }

    #[test]
    fn unknown_role_and_broken_file_warn_and_never_panic() {
        let dir = user_dir_with("dark", "dangr = \"red\"\n");
        let (_, errors) = load("dark", Some(dir.path()), false);
        assert!(errors[0].contains("unknown role \"dangr\""), "{errors:?}");

        let dir = user_dir_with("dark", "risk_high = { fg = \n");
        let (theme, errors) = load("dark", Some(dir.path()), false);
        assert_eq!(theme, Theme::default_theme());
        assert!(errors[0].contains("dark.toml"), "{errors:?}");
    }

    #[test]
    fn unknown_theme_and_inheritance_cycles_fall_back_to_dark() {
        let (theme, errors) = load("nope", None, false);
        assert_eq!(theme.selected, Theme::default_theme().selected);
        assert!(errors[0].contains("unknown theme \"nope\""));

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes/a.toml"), "inherits = \"b\"").unwrap();
        std::fs::write(dir.path().join("themes/b.toml"), "inherits = \"a\"").unwrap();
        let (_, errors) = load("a", Some(dir.path()), false);
        assert!(errors.iter().any(|e| e.contains("cycle")), "{errors:?}");
    }

    #[test]
    fn no_color_drops_colours_but_keeps_the_selection_visible() {
        for (name, _) in SHIPPED {
            let (theme, _) = load(name, None, true);
            for role in ROLES {
                let style = theme.role(role).unwrap();
                assert_eq!((style.fg, style.bg), (None, None), "{name} {role}");
            }
            assert!(theme.selected.add_modifier.contains(Modifier::REVERSED));
            assert!(theme.matched.add_modifier.contains(Modifier::UNDERLINED));
        }
    }

    #[test]
    fn path_like_names_are_not_read_from_disk() {
        assert!(!is_plain_name("../etc/passwd"));
        assert!(is_plain_name("solarized-dark"));
    }
}
