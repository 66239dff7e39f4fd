//! Plain output for the scriptable commands: aligned columns measured in
//! terminal columns (wide characters count twice), every catalog value
//! sanitized, rows cut to fit 80 columns.

use crate::sanitize::{display_width, fit};

/// One column: its header and its width in terminal columns.
pub struct Column {
    pub header: &'static str,
    pub width: usize,
}

/// `value` sanitized, cut to `width` and padded to it.
pub fn cell(value: &str, width: usize) -> String {
    let mut text = fit(value, width);
    let pad = width.saturating_sub(display_width(&text));
    text.extend(std::iter::repeat_n(' ', pad));
    text
}

/// Renders `rows` under `columns`, two spaces apart, trailing space trimmed.
pub fn render(columns: &[Column], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let line = |values: &mut dyn Iterator<Item = (&Column, &str)>| {
        let cells: Vec<String> = values.map(|(column, value)| cell(value, column.width)).collect();
        let mut line = cells.join("  ");
        line.truncate(line.trim_end().len());
        line
    };
    out.push_str(&line(&mut columns.iter().map(|c| (c, c.header))));
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut columns.iter().zip(row.iter().map(String::as_str))));
        out.push('\n');
    }
    out
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
