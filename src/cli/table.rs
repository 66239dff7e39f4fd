//! Plain output for the scriptable commands: aligned columns measured in
//! terminal columns (wide characters count twice), every catalog value
//! sanitized.
//!
//! Where the table goes decides how it is fitted ([`Fit`]): into a pipe or a
//! file no value is ever cut (`govdeck apps | awk '{print $1}'` gives whole
//! names); on a terminal the table fits the terminal's real width, cutting
//! with `…` only the columns allowed to shrink, widest first, and never below
//! their narrowest width. Columns are as wide as their widest measured value,
//! so they line up either way; a value wider than a column that was not
//! measured is written whole and pushes the rest of its row right.

use std::io::{self, IsTerminal, Write};

use crate::sanitize::{display_width, sanitize, truncate};

/// The width assumed for a terminal whose size cannot be read.
pub const FALLBACK_TERMINAL_COLUMNS: usize = 80;
/// Spaces between two columns.
const GAP: usize = 2;

/// How a table is fitted to where it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// A pipe or a file: every value whole.
    Whole,
    /// A terminal this many columns wide.
    Terminal(usize),
}

impl Fit {
    /// For standard output: [`Fit::Terminal`] with its width (COLUMNS when
    /// set, as `ls` reads it, else the terminal's own size) when it is a
    /// terminal, else [`Fit::Whole`].
    pub fn stdout() -> Fit {
        if !io::stdout().is_terminal() {
            return Fit::Whole;
        }
        let from_env = std::env::var("COLUMNS").ok().and_then(|text| text.trim().parse::<usize>().ok());
        let from_tty = || crossterm::terminal::size().ok().map(|(columns, _)| usize::from(columns));
        Fit::Terminal(from_env.filter(|&columns| columns > 0).or_else(from_tty).unwrap_or(FALLBACK_TERMINAL_COLUMNS))
    }
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    /// Its width before any value is measured: the widest value of a fixed
    /// vocabulary (a tier, a state), or 0 for text the caller measures.
    pub width: usize,
    /// On a terminal too narrow for the whole table, the width it may be cut
    /// down to; `None`: never cut.
    pub narrowest: Option<usize>,
}

impl Column {
    /// A column that is never cut, at least `width` wide.
    pub const fn whole(header: &'static str, width: usize) -> Column {
        Column { header, width, narrowest: None }
    }

    /// A column of measured text that a narrow terminal may cut down to `narrowest`.
    pub const fn shrinks_to(header: &'static str, narrowest: usize) -> Column {
        Column { header, width: 0, narrowest: Some(narrowest) }
    }
}

/// How a table is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub fit: Fit,
    /// Print the header row (`--no-headers` turns it off, for scripts).
    pub headers: bool,
}

impl Style {
    /// For standard output, with or without the header row.
    pub fn stdout(headers: bool) -> Style {
        Style { fit: Fit::stdout(), headers }
    }
}

/// The width of `value` as it will be drawn.
fn drawn_width(value: &str) -> usize {
    if value.bytes().all(|b| (b' '..=b'~').contains(&b)) { value.len() } else { display_width(&sanitize(value)) }
}

/// Renders `rows` under `columns`, two spaces apart, trailing space trimmed.
pub fn render(columns: &[Column], rows: &[Vec<String>], style: Style) -> String {
    let mut table = Table::new(columns, style, Vec::new());
    for row in rows {
        table.measure(row.iter().map(String::as_str));
    }
    table
        .header()
        .and_then(|()| rows.iter().try_for_each(|row| table.row(row.iter().map(String::as_str))))
        .expect("writing to memory does not fail");
    String::from_utf8(table.out).expect("cells are text")
}

/// A table written a row at a time through one reused line: what [`render`]
/// returns, for output too long to build first (100k apps). The caller
/// measures the values of its text columns ([`Table::measure_column`]) before
/// the first line is written.
pub struct Table<'c, W: Write> {
    columns: &'c [Column],
    style: Style,
    /// Each column's width: measured, then fitted once before the first line.
    widths: Vec<usize>,
    fitted: bool,
    out: W,
    line: String,
}

impl<'c, W: Write> Table<'c, W> {
    pub fn new(columns: &'c [Column], style: Style, out: W) -> Table<'c, W> {
        let widths = columns.iter().map(|column| column.width.max(display_width(column.header))).collect();
        Table { columns, style, widths, fitted: false, out, line: String::new() }
    }

    /// Widens column `index` to hold `value`.
    pub fn measure_column(&mut self, index: usize, value: &str) {
        if let Some(width) = self.widths.get_mut(index) {
            *width = (*width).max(drawn_width(value));
        }
    }

    /// Widens every column to hold its value in this row.
    pub fn measure<'v>(&mut self, values: impl IntoIterator<Item = &'v str>) {
        for (index, value) in values.into_iter().enumerate() {
            self.measure_column(index, value);
        }
    }

    /// The widths the table is drawn with: on a terminal, the shrinkable
    /// columns cut (widest first) until the table fits or none can shrink.
    fn fit(&mut self) {
        self.fitted = true;
        let Fit::Terminal(available) = self.style.fit else { return };
        let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1);
        let mut excess = total(&self.widths).saturating_sub(available);
        while excess > 0 {
            let widest = self
                .columns
                .iter()
                .zip(self.widths.iter().copied())
                .enumerate()
                .filter(|(_, (column, width))| column.narrowest.is_some_and(|narrowest| *width > narrowest))
                .max_by_key(|(index, (_, width))| (*width, std::cmp::Reverse(*index)))
                .map(|(index, _)| index);
            let Some(widest) = widest else { break };
            self.widths[widest] -= 1;
            excess -= 1;
        }
    }

    /// The header row, unless the style leaves it out.
    pub fn header(&mut self) -> io::Result<()> {
        if !self.style.headers {
            return Ok(());
        }
        let columns = self.columns;
        self.row(columns.iter().map(|column| column.header))
    }

    /// One row: a value per column, sanitized, padded to its width, and cut
    /// only on a terminal and only in a column that may shrink.
    pub fn row<'v>(&mut self, values: impl IntoIterator<Item = &'v str>) -> io::Result<()> {
        if !self.fitted {
            self.fit();
        }
        let cuts = matches!(self.style.fit, Fit::Terminal(_));
        self.line.clear();
        for (i, ((column, &width), value)) in self.columns.iter().zip(&self.widths).zip(values).enumerate() {
            if i > 0 {
                self.line.push_str("  ");
            }
            let used = if value.len() <= width && value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                // Printable ASCII that fits, nearly every value: a column a byte.
                self.line.push_str(value);
                value.len()
            } else {
                let clean = sanitize(value);
                let text = if cuts && column.narrowest.is_some() { truncate(&clean, width) } else { clean };
                self.line.push_str(&text);
                display_width(&text)
            };
            self.line.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
        }
        self.line.truncate(self.line.trim_end().len());
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// Flushes and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPE: Style = Style { fit: Fit::Whole, headers: true };

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn columns_align_by_display_width_and_hostile_text_is_cleaned() {
        let columns = [Column::shrinks_to("NAME", 4), Column::shrinks_to("OWNER", 4)];
        let rows = vec![
            vec!["販売見積".to_string(), "olive".to_string()],
            vec!["\u{1b}[2Jwipe".to_string(), "o\u{202e}x".to_string()],
            vec!["a-very-long-app-name".to_string(), "pat".to_string()],
        ];
        let text = render(&columns, &rows, Style { fit: Fit::Terminal(15), headers: true });
        let lines = lines(&text);
        assert_eq!(lines[0], "NAME      OWNER");
        assert_eq!(lines[1], "販売見積  olive");
        assert_eq!(lines[2], "wipe      ox");
        assert_eq!(lines[3], "a-very-…  pat");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn into_a_pipe_no_value_is_ever_cut_and_columns_still_align() {
        let columns = [Column::shrinks_to("NAME", 4), Column::whole("TIER", 6)];
        let rows = vec![
            vec!["a-very-long-application-name-indeed".to_string(), "high".to_string()],
            vec!["crm".to_string(), "medium".to_string()],
        ];
        let text = render(&columns, &rows, PIPE);
        assert_eq!(
            lines(&text),
            [
                "NAME                                 TIER",
                "a-very-long-application-name-indeed  high",
                "crm                                  medium",
            ]
        );
        assert!(!text.contains('…'));
    }

    #[test]
    fn a_terminal_cuts_the_widest_shrinkable_column_first_and_only_as_needed() {
        let columns = [Column::shrinks_to("NAME", 6), Column::shrinks_to("OWNER", 4), Column::whole("STATE", 14)];
        let rows = vec![vec!["customer-onboarding-tracker".to_string(), "jamal.oa".to_string(), "active".to_string()]];
        // Wide enough: nothing is cut.
        let wide = render(&columns, &rows, Style { fit: Fit::Terminal(120), headers: false });
        assert_eq!(wide, "customer-onboarding-tracker  jamal.oa  active\n");
        // 40 columns: NAME loses what is needed, OWNER keeps its whole value.
        let narrow = render(&columns, &rows, Style { fit: Fit::Terminal(40), headers: false });
        assert_eq!(narrow, "customer-onbo…  jamal.oa  active\n");
        assert!(display_width(narrow.trim_end()) <= 40);
        // Narrower than every column's narrowest: cut to it, never below, and a
        // column that never shrinks stays whole.
        let tiny = render(&columns, &rows, Style { fit: Fit::Terminal(10), headers: false });
        assert_eq!(tiny, "custo…  jam…  active\n");
    }

    #[test]
    fn no_headers_leaves_only_the_rows() {
        let columns = [Column::shrinks_to("NAME", 4)];
        let rows = vec![vec!["crm".to_string()]];
        assert_eq!(render(&columns, &rows, Style { fit: Fit::Whole, headers: false }), "crm\n");
        assert_eq!(render(&columns, &rows, PIPE), "NAME\ncrm\n");
    }

    #[test]
    fn a_column_measured_too_narrow_keeps_a_longer_value_whole() {
        let columns = [Column::whole("USERS", 5), Column::whole("X", 1)];
        let mut table = Table::new(&columns, Style { fit: Fit::Terminal(10), headers: false }, Vec::new());
        table.row(["1234567", "x"]).unwrap();
        assert_eq!(String::from_utf8(table.finish().unwrap()).unwrap(), "1234567  x\n");
    }
}
