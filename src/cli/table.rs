//! Plain output for the scriptable commands: aligned columns measured in
//! terminal columns (wide characters count twice), every catalog value
//! sanitized, rows cut to fit 80 columns.

use std::io::{self, Write};

use crate::sanitize::{display_width, sanitize, truncate};

/// One column: its header and its width in terminal columns.
pub struct Column {
    pub header: &'static str,
    pub width: usize,
}

/// Renders `rows` under `columns`, two spaces apart, trailing space trimmed.
pub fn render(columns: &[Column], rows: &[Vec<String>]) -> String {
    let mut table = Table::new(columns, Vec::new());
    table
        .header()
        .and_then(|()| rows.iter().try_for_each(|row| table.row(row.iter().map(String::as_str))))
        .expect("writing to memory does not fail");
    String::from_utf8(table.out).expect("cells are text")
}

/// A table written a row at a time through one reused line: what [`render`]
/// returns, for output too long to build first (100k apps).
pub struct Table<'c, W: Write> {
    columns: &'c [Column],
    out: W,
    line: String,
}

impl<'c, W: Write> Table<'c, W> {
    pub fn new(columns: &'c [Column], out: W) -> Table<'c, W> {
        Table { columns, out, line: String::new() }
    }

    pub fn header(&mut self) -> io::Result<()> {
        let columns = self.columns;
        self.row(columns.iter().map(|column| column.header))
    }

    /// One row: a value per column, sanitized, cut and padded to its width.
    pub fn row<'v>(&mut self, values: impl IntoIterator<Item = &'v str>) -> io::Result<()> {
        self.line.clear();
        for (i, (column, value)) in self.columns.iter().zip(values).enumerate() {
            if i > 0 {
                self.line.push_str("  ");
            }
            let used = if value.len() <= column.width && value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                // Printable ASCII that fits, nearly every value: a column a byte.
                self.line.push_str(value);
                value.len()
            } else {
                let clean = sanitize(value);
                let text = truncate(&clean, column.width);
                self.line.push_str(&text);
                display_width(&text)
            };
            self.line.extend(std::iter::repeat_n(' ', column.width.saturating_sub(used)));
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

    #[test]
    fn columns_align_by_display_width_and_hostile_text_is_cleaned() {
        let columns = [Column { header: "NAME", width: 8 }, Column { header: "OWNER", width: 5 }];
        let rows = vec![
            vec!["販売見積".to_string(), "olive".to_string()],
            vec!["\u{1b}[2Jwipe".to_string(), "o\u{202e}x".to_string()],
            vec!["a-very-long-app-name".to_string(), "pat".to_string()],
        ];
        let text = render(&columns, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME      OWNER");
        assert_eq!(lines[1], "販売見積  olive");
        assert_eq!(lines[2], "wipe      ox");
        assert_eq!(lines[3], "a-very-…  pat");
        assert!(!text.contains('\u{1b}'));
    }
}
