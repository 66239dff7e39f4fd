//! The console's terminal backend: crossterm's for everything but the
//! colours, which it writes itself so that a theme's 16 named colours reach
//! the terminal as the 16-colour SGR codes (30–37 and 90–97 for the
//! foreground, 40–47 and 100–107 for the background, 39/49 for the default).
//!
//! crossterm writes every named colour as a 256-colour code (`ESC[38;5;6m`
//! for cyan), which a 16-colour terminal, or one whose palette the user set,
//! may not read as meant. Only colours that are not named reach the terminal
//! as `38;5;N` (a 256-colour index) or `38;2;R;G;B` (a true colour), and only
//! when the theme asks for them (`dark`, `light`); `ansi16` and `NO_COLOR`
//! never do. Attributes (bold, reversed, …) are crossterm's, which are the
//! plain SGR attribute codes.

use std::io::{self, Write};

use crossterm::queue;
use crossterm::style::{Attribute, Print, SetAttribute};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// A [`CrosstermBackend`] that writes colours as [`sgr_color`] spells them.
pub struct ConsoleBackend<W: Write> {
    inner: CrosstermBackend<W>,
}

impl<W: Write> ConsoleBackend<W> {
    pub fn new(writer: W) -> ConsoleBackend<W> {
        ConsoleBackend { inner: CrosstermBackend::new(writer) }
    }

    /// Where the bytes go: crossterm's backend writes through to `W`.
    fn out(&mut self) -> &mut CrosstermBackend<W> {
        &mut self.inner
    }
}

/// Where a colour goes: the foreground or the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ground {
    Fore,
    Back,
}

/// The SGR parameters that set `color` as the foreground or background:
/// `31` for red, `96` for light cyan, `39`/`49` for the terminal's default,
/// `38;5;208` for a 256-colour index, `38;2;R;G;B` for a true colour.
pub fn sgr_color(color: Color, ground: Ground) -> String {
    let base: u8 = if ground == Ground::Fore { 30 } else { 40 };
    let named = |offset: u8| (base + offset).to_string();
    let bright = |offset: u8| (base + 60 + offset).to_string();
    let extended = if ground == Ground::Fore { 38 } else { 48 };
    match color {
        Color::Reset => named(9),
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => bright(0),
        Color::LightRed => bright(1),
        Color::LightGreen => bright(2),
        Color::LightYellow => bright(3),
        Color::LightBlue => bright(4),
        Color::LightMagenta => bright(5),
        Color::LightCyan => bright(6),
        Color::White => bright(7),
        Color::Indexed(index) => format!("{extended};5;{index}"),
        Color::Rgb(r, g, b) => format!("{extended};2;{r};{g};{b}"),
    }
}

/// Writes the attributes that take `from` to `to`, as ratatui's crossterm
/// backend does: what was removed first (bold and dim share one reset),
/// then what was added.
fn queue_modifiers<W: Write>(out: &mut W, from: Modifier, to: Modifier) -> io::Result<()> {
    let removed = from - to;
    let added = to - from;
    let reset_intensity = removed.intersects(Modifier::BOLD | Modifier::DIM);
    let mut attributes = Vec::new();
    if removed.contains(Modifier::REVERSED) {
        attributes.push(Attribute::NoReverse);
    }
    if reset_intensity {
        attributes.push(Attribute::NormalIntensity);
        if to.contains(Modifier::DIM) {
            attributes.push(Attribute::Dim);
        }
        if to.contains(Modifier::BOLD) {
            attributes.push(Attribute::Bold);
        }
    }
    for (modifier, off) in [
        (Modifier::ITALIC, Attribute::NoItalic),
        (Modifier::UNDERLINED, Attribute::NoUnderline),
        (Modifier::CROSSED_OUT, Attribute::NotCrossedOut),
        (Modifier::HIDDEN, Attribute::NoHidden),
    ] {
        if removed.contains(modifier) {
            attributes.push(off);
        }
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        attributes.push(Attribute::NoBlink);
    }
    for (modifier, on) in [
        (Modifier::REVERSED, Attribute::Reverse),
        (Modifier::ITALIC, Attribute::Italic),
        (Modifier::UNDERLINED, Attribute::Underlined),
        (Modifier::CROSSED_OUT, Attribute::CrossedOut),
        (Modifier::HIDDEN, Attribute::Hidden),
        (Modifier::SLOW_BLINK, Attribute::SlowBlink),
        (Modifier::RAPID_BLINK, Attribute::RapidBlink),
    ] {
        if added.contains(modifier) {
            attributes.push(on);
        }
    }
    if !reset_intensity {
        if added.contains(Modifier::BOLD) {
            attributes.push(Attribute::Bold);
        }
        if added.contains(Modifier::DIM) {
            attributes.push(Attribute::Dim);
        }
    }
    for attribute in attributes {
        queue!(out, SetAttribute(attribute))?;
    }
    Ok(())
}

impl<W: Write> Backend for ConsoleBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut fg = Color::Reset;
        let mut bg = Color::Reset;
        let mut underline = Color::Reset;
        let mut underline_set = false;
        let mut modifier = Modifier::empty();
        let mut last: Option<Position> = None;
        let out = self.out();
        for (x, y, cell) in content {
            if !matches!(last, Some(p) if x == p.x + 1 && y == p.y) {
                queue!(out, crossterm::cursor::MoveTo(x, y))?;
            }
            last = Some(Position { x, y });
            if cell.modifier != modifier {
                queue_modifiers(out, modifier, cell.modifier)?;
                modifier = cell.modifier;
            }
            if cell.fg != fg || cell.bg != bg {
                write!(out, "\x1b[{};{}m", sgr_color(cell.fg, Ground::Fore), sgr_color(cell.bg, Ground::Back))?;
                fg = cell.fg;
                bg = cell.bg;
            }
            if cell.underline_color != underline {
                // Underline colours have no 16-colour code; the default is 59.
                match cell.underline_color {
                    Color::Reset => write!(out, "\x1b[59m")?,
                    other => queue!(
                        out,
                        crossterm::style::SetUnderlineColor(ratatui::backend::IntoCrossterm::into_crossterm(other))
                    )?,
                }
                underline = cell.underline_color;
                underline_set = true;
            }
            queue!(out, Print(cell.symbol()))?;
        }
        write!(out, "\x1b[39;49m")?;
        if underline_set {
            write!(out, "\x1b[59m")?;
        }
        queue!(out, SetAttribute(Attribute::Reset))
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

/// Every SGR parameter list (`ESC[…m`) in `bytes`, in order.
pub fn sgr_sequences(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(after.len());
        if after[end..].starts_with('m') {
            found.push(after[..end].to_string());
        }
        rest = &after[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_colours_are_the_sixteen_colour_codes() {
        assert_eq!(sgr_color(Color::Cyan, Ground::Fore), "36");
        assert_eq!(sgr_color(Color::Black, Ground::Back), "40");
        assert_eq!(sgr_color(Color::DarkGray, Ground::Fore), "90");
        assert_eq!(sgr_color(Color::White, Ground::Back), "107");
        assert_eq!(sgr_color(Color::Reset, Ground::Fore), "39");
        assert_eq!(sgr_color(Color::Reset, Ground::Back), "49");
        assert_eq!(sgr_color(Color::Indexed(208), Ground::Fore), "38;5;208");
        assert_eq!(sgr_color(Color::Rgb(1, 2, 3), Ground::Back), "48;2;1;2;3");
    }

    #[test]
    fn sgr_sequences_are_found_in_bytes() {
        let bytes = b"\x1b[1m\x1b[36;40mab\x1b[2;3H\x1b[0m";
        assert_eq!(sgr_sequences(bytes), vec!["1", "36;40", "0"]);
    }
}
