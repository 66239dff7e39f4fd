//! Text helpers every pane uses: relative times ("synced 12s ago",
//! "overdue 2d"), fixed-width cells measured in terminal columns, rows built
//! from cells, and fuzzy-match highlighting. Every catalog value goes through
//! [`crate::sanitize`] here before it becomes a span.

use chrono::{DateTime, Duration, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::sanitize::{display_width, fit, sanitize};

/// `20011` as `20,011`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// `1 event`, `12 events`, `1,204 apps`: a count with its noun, the
/// thousands grouped.
pub fn count(n: u64, singular: &str) -> String {
    let grouped = thousands(n);
    if n == 1 { format!("{grouped} {singular}") } else { format!("{grouped} {singular}s") }
}

/// `45s`, `5m`, `30h`, `3d`: whole units, always positive. Hours run up
/// to two days, so an SLA of 48 hours never reads as "1d".
pub fn compact(duration: Duration) -> String {
    let secs = duration.num_seconds().abs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `12s ago`, `3h ago`; `just now` under a second; `in 5m` for the future.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let elapsed = now - at;
    if elapsed.num_seconds() == 0 {
        "just now".into()
    } else if elapsed < Duration::zero() {
        format!("in {}", compact(elapsed))
    } else {
        format!("{} ago", compact(elapsed))
    }
}

/// How long ago the last sync was, for the status bar: `just now` under a
/// minute, then `3m ago`, so a console syncing every few seconds shows the
/// same text and an idle screen is not repainted every second.
pub fn synced_ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if now - at < Duration::minutes(1) { "just now".into() } else { ago(at, now) }
}

/// `in 5h` for the future, `3d ago` for the past.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at >= now { format!("in {}", compact(at - now)) } else { format!("{} ago", compact(now - at)) }
}

/// The review SLA as a reviewer reads it, and whether it is overdue.
pub fn sla(due_at: DateTime<Utc>, now: DateTime<Utc>) -> (String, bool) {
    if now > due_at {
        (format!("overdue {}", compact(now - due_at)), true)
    } else {
        (format!("due in {}", compact(due_at - now)), false)
    }
}

/// Days left until an expiry or a lifecycle step: `200d`, `1d`, or `-2d`
/// when past, by [`crate::domain::ttl::days_left`] (the CLI prints the same).
pub fn left(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    crate::domain::ttl::days_left_label(at, now)
}

/// An expiry as a reader says it, by the same rule as [`left`]: `in 3d`,
/// `today` at the instant, `2d ago`.
pub fn expiry_relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match crate::domain::ttl::days_left(at, now) {
        0 => "today".into(),
        days if days > 0 => format!("in {days}d"),
        days => format!("{}d ago", -days),
    }
}

pub fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

pub fn date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// `text` sanitized, cut to `width` columns and padded to exactly `width`.
pub fn cell(text: &str, width: usize) -> String {
    pad(&fit(text, width), width)
}

/// `text` padded with spaces to `width` columns (never cut).
pub fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(display_width(text))));
    out
}

/// `text` sanitized, cut and right-aligned in `width` columns.
pub fn cell_right(text: &str, width: usize) -> String {
    let fitted = fit(text, width);
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(display_width(&fitted))).collect();
    out.push_str(&fitted);
    out
}

/// A row of fixed-width cells separated by one space.
#[derive(Default)]
pub struct Row {
    spans: Vec<Span<'static>>,
    used: usize,
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    fn gap(&mut self) {
        if !self.spans.is_empty() {
            self.spans.push(Span::raw(" "));
            self.used += 1;
        }
    }

    /// A left-aligned cell.
    pub fn cell(mut self, text: &str, width: usize, style: Style) -> Row {
        self.gap();
        self.spans.push(Span::styled(cell(text, width), style));
        self.used += width;
        self
    }

    /// A right-aligned cell.
    pub fn right(mut self, text: &str, width: usize, style: Style) -> Row {
        self.gap();
        self.spans.push(Span::styled(cell_right(text, width), style));
        self.used += width;
        self
    }

    /// A cell of ready-made spans (already sanitized and fitted), padded.
    pub fn spans(mut self, spans: Vec<Span<'static>>, width: usize) -> Row {
        self.gap();
        let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
        self.spans.extend(spans);
        self.spans.push(Span::raw(pad("", width.saturating_sub(used))));
        self.used += width;
        self
    }

    /// The row padded to `total` columns, so a row style fills the line.
    pub fn line(mut self, total: usize, style: Style) -> Line<'static> {
        if total > self.used {
            self.spans.push(Span::raw(pad("", total - self.used)));
        }
        Line::from(self.spans).style(style)
    }
}

/// `text` sanitized, cut to `width` columns, with the characters at
/// `positions` (char positions in the sanitized text) in `matched` style.
pub fn highlighted(text: &str, positions: &[usize], width: usize, base: Style, matched: Style) -> Vec<Span<'static>> {
    let clean = sanitize(text);
    if positions.is_empty() {
        return vec![Span::styled(fit(&clean, width), base)];
    }
    let cut = display_width(&clean) > width;
    let budget = if cut { width.saturating_sub(1) } else { width };
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut current = String::new();
    let mut current_matched = false;
    let mut used = 0;
    let mut next_pos = positions.iter().peekable();
    for (index, c) in clean.chars().enumerate() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        while next_pos.next_if(|p| **p < index).is_some() {}
        let is_match = next_pos.peek().is_some_and(|p| **p == index);
        if is_match != current_matched && !current.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut current), if current_matched { matched } else { base }));
        }
        current_matched = is_match;
        current.push(c);
    }
    if cut {
        if current_matched && !current.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut current), matched));
        }
        current.push(crate::sanitize::ELLIPSIS);
        current_matched = false;
    }
    if !current.is_empty() {
        spans.push(Span::styled(current, if current_matched { matched } else { base }));
    }
    spans
}

/// `key  desc` hint pairs joined by two spaces, e.g. `a approve  r reject`.
pub fn hints(pairs: &[(String, &str)], key_style: Style, text_style: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (i, (key, desc)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("  ", text_style));
        }
        spans.push(Span::styled(key.clone(), key_style));
        spans.push(Span::styled(format!(" {desc}"), text_style));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    #[test]
    fn relative_times() {
        assert_eq!(ago(now() - Duration::seconds(12), now()), "12s ago");
        assert_eq!(synced_ago(now() - Duration::seconds(59), now()), "just now");
        assert_eq!(synced_ago(now() - Duration::seconds(60), now()), "1m ago");
        assert_eq!(ago(now(), now()), "just now");
        assert_eq!(ago(now() - Duration::hours(49), now()), "2d ago");
        assert_eq!(ago(now() - Duration::hours(47), now()), "47h ago");
        assert_eq!(sla(now() + Duration::hours(5), now()), ("due in 5h".to_string(), false));
        assert_eq!(sla(now() - Duration::days(2), now()), ("overdue 2d".to_string(), true));
        assert_eq!(left(now() - Duration::days(3), now()), "-3d");
        // Days only, a started day counting whole: no `-36h` beside `-3d`.
        assert_eq!(left(now() - Duration::hours(36), now()), "-2d");
        assert_eq!(left(now() + Duration::hours(5), now()), "1d");
        assert_eq!(expiry_relative(now() + Duration::days(365), now() + Duration::seconds(30)), "in 365d");
        assert_eq!(expiry_relative(now() - Duration::hours(30), now()), "2d ago");
        assert_eq!(relative(now() + Duration::minutes(90), now()), "in 1h");
    }

    #[test]
    fn cells_measure_columns_and_sanitize() {
        assert_eq!(cell("abc", 5), "abc  ");
        assert_eq!(cell("abcdefgh", 5), "abcd…");
        assert_eq!(cell("販売見積", 5), "販売…");
        assert_eq!(display_width(&cell("販売見積", 5)), 5);
        assert_eq!(cell("\x1b[2Jx", 3), "x  ");
        assert_eq!(cell_right("42", 5), "   42");
    }

    #[test]
    fn highlight_splits_spans_at_matches_and_cuts() {
        let base = Style::default();
        let hit = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let spans = highlighted("sales-quoting", &[0, 1, 6], 20, base, hit);
        let text: Vec<_> = spans.iter().map(|s| (s.content.to_string(), s.style == hit)).collect();
        assert_eq!(
            text,
            vec![("sa".into(), true), ("les-".into(), false), ("q".into(), true), ("uoting".into(), false)]
        );
        let cut = highlighted("sales-quoting", &[0, 12], 6, base, hit);
        let joined: String = cut.iter().map(|s| s.content.to_string()).collect();
        assert_eq!(joined, "sales…");
    }

    #[test]
    fn counts_name_one_in_the_singular_and_group_thousands() {
        assert_eq!(count(1, "event"), "1 event");
        assert_eq!(count(0, "event"), "0 events");
        assert_eq!(count(1204, "app"), "1,204 apps");
        assert_eq!(count(1_000_000, "event"), "1,000,000 events");
        assert_eq!(count(999, "app"), "999 apps");
    }
}
