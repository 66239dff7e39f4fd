//! The inventory of a server database written back out, as CSV or JSON, so
//! govdeck is never a dead end.
//!
//! * JSON: an array of app objects, exactly as the API serves them, one app
//!   per line. serde_json already escapes the C0 controls; this writer also
//!   escapes DEL, the C1 controls (U+0080–U+009F, which include the one-byte
//!   CSI some terminals obey), the bidi controls and the zero-width
//!   characters as `\uXXXX`. The data is unchanged (any JSON reader gets the
//!   same strings back), but no escape sequence from the catalog reaches a
//!   terminal that shows the file.
//! * CSV: RFC 4180 (a header row, CRLF line ends, fields quoted when they
//!   hold a comma, a quote, CR or LF, quotes doubled), with one row per app
//!   and lists joined by `;`. Cells are kept faithful: a value that holds a
//!   control character holds it in the CSV too, since a CSV is data for
//!   another program. [`Exported::unsafe_cells`] counts such cells so the
//!   command can warn before one is shown in a terminal; spreadsheet formula
//!   prefixes (`=`, `+`, `-`, `@`) are kept as well, for the same reason.

use std::io::{self, Write};

use rusqlite::Connection;
use serde::Serialize;

use crate::domain::App;
use crate::domain::audit::format_timestamp;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the catalog")]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Io(#[from] io::Error),
}

impl ExportError {
    /// The reader of the output went away (`govdeck export … | head -2`):
    /// the rest is not wanted, which is the caller's to judge, not a failure
    /// of the export.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ExportError::Io(err) if err.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exported {
    pub apps: u64,
    /// CSV cells holding a character a terminal would interpret.
    pub unsafe_cells: u64,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "purpose",
    "owner",
    "team",
    "sponsor",
    "cost_center",
    "state",
    "risk_score",
    "risk_tier",
    "data_classification",
    "expected_users",
    "external_connectivity",
    "execution_environment",
    "lifecycle_tier",
    "ttl_class",
    "retention_days",
    "monthly_budget",
    "monthly_spend",
    "otel",
    "backups",
    "sbom",
    "secrets_in_vault",
    "dlp",
    "connectors",
    "endpoints",
    "secrets",
    "environments",
    "flags",
    "created_at",
    "updated_at",
    "state_since",
    "expires_at",
    "last_activity_at",
    "version",
    "rev",
    "upstream_source",
    "upstream_key",
    "upstream_owner_ref",
    "upstream_managed_by",
    "upstream_assumed",
];

/// Calls `f` with every app, by id, from one read of `conn`.
fn each_app(conn: &Connection, mut f: impl FnMut(App) -> Result<(), ExportError>) -> Result<u64, ExportError> {
    let mut stmt = conn.prepare("SELECT data FROM apps ORDER BY id").map_err(StoreError::from)?;
    let mut rows = stmt.query([]).map_err(StoreError::from)?;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let json: String = row.get(0).map_err(StoreError::from)?;
        f(serde_json::from_str(&json).map_err(StoreError::from)?)?;
        count += 1;
    }
    Ok(count)
}

/// Writes the catalog as a JSON array of app objects.
pub fn write_json(conn: &Connection, out: &mut impl Write) -> Result<Exported, ExportError> {
    out.write_all(b"[")?;
    let mut first = true;
    let apps = each_app(conn, |app| {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        let mut serializer = serde_json::Serializer::with_formatter(&mut *out, TerminalSafe);
        app.serialize(&mut serializer).map_err(io::Error::from)?;
        Ok(())
    })?;
    out.write_all(if apps == 0 { b"]\n" } else { b"\n]\n" })?;
    out.flush()?;
    Ok(Exported { apps, unsafe_cells: 0 })
}

/// Writes the catalog as RFC 4180 CSV with a header row.
pub fn write_csv(conn: &Connection, out: &mut impl Write) -> Result<Exported, ExportError> {
    write_record(out, CSV_COLUMNS.iter().copied())?;
    let mut unsafe_cells = 0;
    let apps = each_app(conn, |app| {
        let cells = csv_cells(&app);
        unsafe_cells += cells.iter().filter(|cell| cell.chars().any(terminal_unsafe)).count() as u64;
        write_record(out, cells.iter().map(String::as_str))?;
        Ok(())
    })?;
    out.flush()?;
    Ok(Exported { apps, unsafe_cells })
}

fn csv_cells(app: &App) -> Vec<String> {
    let upstream = app.upstream.as_ref();
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(format_timestamp).unwrap_or_default();
    let cells = vec![
        app.id.clone(),
        app.name.clone(),
        app.purpose.clone(),
        app.owner.clone(),
        app.team.clone(),
        app.sponsor.clone(),
        app.cost_center.clone(),
        app.state.to_string(),
        app.risk.score.to_string(),
        app.risk.tier.as_str().to_string(),
        app.data_classification.to_string(),
        app.expected_users.to_string(),
        app.external_connectivity.to_string(),
        app.execution_environment.to_string(),
        app.lifecycle_tier.to_string(),
        app.ttl_class.to_string(),
        app.retention_days.to_string(),
        app.monthly_budget.to_string(),
        app.monthly_spend.to_string(),
        app.controls.otel.to_string(),
        app.controls.backups.to_string(),
        app.controls.sbom.to_string(),
        app.controls.secrets_in_vault.to_string(),
        app.controls.dlp.to_string(),
        app.connectors.join(";"),
        app.endpoints.join(";"),
        app.secrets.join(";"),
        app.environments.join(";"),
        app.flags.join(";"),
        time(Some(app.created_at)),
        time(Some(app.updated_at)),
        time(Some(app.state_since)),
        time(app.expires_at),
        time(app.last_activity_at),
        app.version.to_string(),
        app.rev.to_string(),
        upstream.map(|u| u.source.clone()).unwrap_or_default(),
        upstream.map(|u| u.key.clone()).unwrap_or_default(),
        upstream.and_then(|u| u.owner_ref.clone()).unwrap_or_default(),
        upstream.and_then(|u| u.managed_by.clone()).unwrap_or_default(),
        upstream.map(|u| u.assumed.join(";")).unwrap_or_default(),
    ];
    debug_assert_eq!(cells.len(), CSV_COLUMNS.len());
    cells
}

/// One CSV record, CRLF-terminated.
pub fn write_record<'a>(out: &mut impl Write, cells: impl Iterator<Item = &'a str>) -> io::Result<()> {
    for (index, cell) in cells.enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.write_all(b"\"")?;
            out.write_all(cell.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// A character a terminal would interpret rather than print (CR, LF and
/// tab are CSV's business, not counted).
fn terminal_unsafe(c: char) -> bool {
    (c.is_control() && !matches!(c, '\r' | '\n' | '\t')) || escaped_in_json(c)
}

/// What [`TerminalSafe`] escapes besides what serde_json does.
fn escaped_in_json(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'
            | '\u{061c}'
            | '\u{feff}'
    )
}

/// serde_json's compact output, with the characters of [`escaped_in_json`]
/// written as `\uXXXX` (all of them are in the Basic Multilingual Plane).
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            if escaped_in_json(c) {
                writer.write_all(&fragment.as_bytes()[start..index])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = index + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_by_rfc_4180() {
        let mut out = Vec::new();
        write_record(&mut out, ["plain", "a,b", "say \"hi\"", "two\nlines", ""].into_iter()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn json_strings_keep_their_data_but_lose_raw_escapes() {
        let value = serde_json::json!({"name": "a\u{1b}[2Jb\u{9b}31m\u{202e}c\u{7f}é"});
        let mut out = Vec::new();
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, TerminalSafe)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"name":"a\u001b[2Jb\u009b31m\u202ec\u007fé"}"#);
        assert!(!text.chars().any(|c| c.is_control() || escaped_in_json(c)));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
