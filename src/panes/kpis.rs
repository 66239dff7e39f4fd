//! The KPIs (docs/governance.md) at a glance: three columns of figures (inventory,
//! compliance, approvals) over four trend charts (approvals per week, median
//! time to approve per week, DLP blocks per month, apps expiring per week).
//! The figures come from [`crate::domain::kpi`], computed from the cache, so
//! they work offline. Laid out to stay readable at 80x24: each chart writes
//! its values above the bars (never inside them) and names its buckets on an
//! x-axis (months; the first day of each week, every few bars when the
//! dates are wider than a bar).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Context, Intent, Pane};
use crate::config::keymap::Action;
use crate::config::theme::Theme;
use crate::domain::kpi::Kpis;
use crate::sanitize::display_width;
use crate::widgets::text::{cell, cell_right};

#[derive(Debug, Default)]
pub struct KpisPane;

impl KpisPane {
    pub fn new() -> KpisPane {
        KpisPane
    }
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |v| format!("{v:.0}%"))
}

fn hours(value: Option<f64>) -> String {
    match value {
        None => "—".into(),
        Some(h) if h < 48.0 => format!("{h:.0}h"),
        Some(h) => format!("{:.1}d", h / 24.0),
    }
}

/// A figure line: label, value right-aligned, in `width` columns.
fn figure(label: &str, value: String, style: Style, theme: &Theme, width: usize) -> Line<'static> {
    let value_w = display_width(&value).max(5);
    Line::from(vec![
        Span::styled(cell(label, width.saturating_sub(value_w + 1)), theme.muted),
        Span::raw(" "),
        Span::styled(cell_right(&value, value_w), style),
    ])
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn share_style(value: Option<f64>, good_from: f64, theme: &Theme) -> Style {
    match value {
        Some(v) if v >= good_from => theme.ok,
        Some(v) if v >= good_from / 2.0 => theme.warning,
        Some(_) => theme.danger,
        None => theme.muted,
    }
}

fn count_style(count: usize, theme: &Theme) -> Style {
    if count > 0 { theme.danger } else { theme.ok }
}

fn columns(k: &Kpis, theme: &Theme, widths: [usize; 3]) -> [Vec<Line<'static>>; 3] {
    let [w0, w1, w2] = widths;
    let heading = |t: &str| Line::from(Span::styled(t.to_string(), theme.title));
    let t = &k.active_by_tier;
    let d = &k.active_by_data_class;
    let inventory = vec![
        heading("Inventory"),
        figure("active apps", k.active_apps.to_string(), theme.text, theme, w0),
        figure(" high/med/low", format!("{}/{}/{}", t.high, t.medium, t.low), theme.text, theme, w0),
        figure(
            " pii/sens/int/pub",
            format!("{}/{}/{}/{}", d.pii, d.sensitive, d.internal, d.public),
            theme.text,
            theme,
            w0,
        ),
        figure("coverage", pct(k.coverage_pct), share_style(k.coverage_pct, 90.0, theme), theme, w0),
        figure(" discovered", k.discovered_apps.to_string(), count_style(k.discovered_apps, theme), theme, w0),
        figure("high-risk apps", k.high_risk_apps.to_string(), theme.risk_high, theme, w0),
        figure("over budget", k.over_budget.to_string(), count_style(k.over_budget, theme), theme, w0),
    ];
    let compliance = vec![
        heading("Compliance"),
        figure(
            "manifest complete",
            pct(k.manifest_complete_pct),
            share_style(k.manifest_complete_pct, 90.0, theme),
            theme,
            w1,
        ),
        figure("OTel", pct(k.otel_pct), share_style(k.otel_pct, 90.0, theme), theme, w1),
        figure("backups", pct(k.backups_pct), share_style(k.backups_pct, 90.0, theme), theme, w1),
        figure("SBOM", pct(k.sbom_pct), share_style(k.sbom_pct, 90.0, theme), theme, w1),
        figure("TTL compliance", pct(k.ttl_compliance_pct), share_style(k.ttl_compliance_pct, 90.0, theme), theme, w1),
        figure("expiring 7d/30d", format!("{}/{}", k.expiring_7d, k.expiring_30d), theme.expiring, theme, w1),
        figure("quarantined", k.quarantined.to_string(), count_style(k.quarantined, theme), theme, w1),
    ];
    let approvals = vec![
        heading("Approvals"),
        figure("pending", k.pending_approvals.to_string(), theme.text, theme, w2),
        figure("overdue", k.overdue_approvals.to_string(), count_style(k.overdue_approvals, theme), theme, w2),
        figure("median to approve", hours(k.median_hours_to_approve), theme.text, theme, w2),
        figure("p90 to approve", hours(k.p90_hours_to_approve), theme.text, theme, w2),
        figure("auto-approved", pct(k.auto_approved_pct), theme.text, theme, w2),
        figure("read-only", k.read_only.to_string(), count_style(k.read_only, theme), theme, w2),
        figure("total apps", k.total_apps.to_string(), theme.text, theme, w2),
    ];
    [inventory, compliance, approvals]
}

/// A trend: one bar a bucket, oldest first, with the value drawn above its
/// bar (never inside it) and the buckets named on an x-axis below.
struct Trend {
    /// `None`: nothing to show for that bucket (no bar, no value).
    values: Vec<Option<u64>>,
    /// What is written above each bar; empty for none.
    value_labels: Vec<String>,
    /// Each bucket's name on the x-axis; labels wider than a bar are shown
    /// for every few bars (always the newest), left-aligned under their bar.
    x_labels: Vec<String>,
}

impl Trend {
    fn counts(values: &[u64], x_labels: Vec<String>) -> Trend {
        Trend {
            values: values.iter().map(|v| Some(*v)).collect(),
            value_labels: values.iter().map(|v| v.to_string()).collect(),
            x_labels,
        }
    }
}

/// Eighths of a cell, for the top of a bar.
const EIGHTHS: [&str; 8] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇"];

/// `text` if it fits in `width` columns, else a shorter form of a count
/// (`1.2k`, `12k`), else nothing: a value never spills onto its neighbour.
fn fit_value(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    if let Ok(n) = text.parse::<u64>() {
        let short = match n {
            1_000..=9_999 if width >= 4 => format!("{:.1}k", n as f64 / 1000.0),
            1_000..=999_999 => format!("{}k", n / 1000),
            1_000_000.. => format!("{}M", n / 1_000_000),
            _ => return String::new(),
        };
        if display_width(&short) <= width {
            return short;
        }
    }
    String::new()
}

/// A trend as a column chart titled with its summary. Every value is
/// written whole above its bar: when the bars that would hold the widest
/// value do not all fit, the newest that do are drawn and the title says how
/// many of the buckets are shown.
fn chart(frame: &mut Frame, area: Rect, title: String, trend: &Trend, theme: &Theme) {
    let inner = Block::default().borders(Borders::TOP).inner(area);
    let all = trend.values.len();
    let widest_value = trend.value_labels.iter().map(|l| display_width(l)).max().unwrap_or(0).max(1);
    let room = (inner.width as usize + 1) / (widest_value + 1);
    let shown = if (inner.width as usize + 1) / all.max(1) > widest_value { all } else { room.clamp(1, all.max(1)) };
    let first = all - shown.min(all);
    let title = if first > 0 { format!("{title}· last {shown} ") } else { title };
    let block =
        Block::default().borders(Borders::TOP).border_style(theme.border).title(Span::styled(title, theme.title));
    frame.render_widget(block, area);
    let trend = Trend {
        values: trend.values[first..].to_vec(),
        value_labels: trend.value_labels.iter().skip(first).cloned().collect(),
        x_labels: trend.x_labels.iter().skip(first).cloned().collect(),
    };
    let count = trend.values.len();
    if count == 0 || inner.height < 3 || inner.width == 0 {
        return;
    }
    let slot = (inner.width as usize + 1) / count;
    let (bar_w, gap) = match slot {
        0 => return,
        1 => (1, 0),
        _ => ((slot - 1).min(6), 1),
    };
    let slot = bar_w + gap;
    // The bottom row is the x-axis; the row above the tallest bar holds its value.
    let axis_row = inner.height as usize - 1;
    let bar_rows = axis_row - 1;
    let max = trend.values.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new(); inner.height as usize];
    let glyph_bar = theme.glyphs().bar;
    for (i, value) in trend.values.iter().enumerate() {
        let gap_text = if i + 1 < count { " ".repeat(gap) } else { String::new() };
        let eighths = match value {
            Some(0) | None => 0,
            Some(v) => ((*v as f64 * (bar_rows * 8) as f64 / max as f64).round() as usize).max(1),
        };
        let full = eighths / 8;
        let part = eighths % 8;
        let top = full + usize::from(part > 0);
        let label =
            value.map(|_| fit_value(trend.value_labels.get(i).map_or("", String::as_str), bar_w)).unwrap_or_default();
        // Rows from the top: empty, the value, the partial top, full blocks.
        for (row, spans) in lines.iter_mut().take(axis_row).enumerate() {
            let height = axis_row - row; // 1 = the row just above the axis
            let (text, style) = if height <= full {
                (glyph_bar.repeat(bar_w), theme.chart)
            } else if height == full + 1 && part > 0 {
                let top = if theme.ascii { glyph_bar } else { EIGHTHS[part] };
                (top.repeat(bar_w), theme.chart)
            } else if height == top + 1 && !label.is_empty() {
                (cell_right(&label, bar_w), theme.text)
            } else {
                (" ".repeat(bar_w), theme.text)
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(gap_text.clone()));
        }
    }
    // The x-axis: every label when they fit a bar, else every few, counted
    // from the newest; each ends under the right edge of its bar.
    let widest = trend.x_labels.iter().map(|l| display_width(l)).max().unwrap_or(0);
    let stride = if widest <= bar_w { 1 } else { (widest + 1).div_ceil(slot) };
    let mut axis = String::new();
    for (i, label) in trend.x_labels.iter().enumerate().take(count) {
        if !(count - 1 - i).is_multiple_of(stride) {
            continue;
        }
        let end = i * slot + bar_w;
        let start = end.saturating_sub(display_width(label));
        let taken = display_width(&axis);
        if start < taken + usize::from(taken > 0) {
            continue;
        }
        axis.push_str(&" ".repeat(start - taken));
        axis.push_str(label);
    }
    lines[axis_row] = vec![Span::styled(axis, theme.muted)];
    let lines: Vec<Line<'static>> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The first day of each of `TREND_BUCKETS` weeks, as `Nov 16`: the weeks
/// ending at `now` (`past`) or starting at it.
fn week_labels(now: chrono::DateTime<chrono::Utc>, past: bool) -> Vec<String> {
    let buckets = crate::domain::kpi::TREND_BUCKETS as i64;
    (0..buckets)
        .map(|i| {
            let start =
                if past { now - chrono::Duration::weeks(buckets - i) } else { now + chrono::Duration::weeks(i) };
            start.format("%b %-d").to_string()
        })
        .collect()
}

fn short_hours(h: u64) -> String {
    if h < 100 { h.to_string() } else { format!("{}d", h / 24) }
}

impl Pane for KpisPane {
    fn refresh(&mut self, _ctx: &Context) {}

    fn on_action(&mut self, _action: Action, _ctx: &Context) -> Vec<Intent> {
        Vec::new()
    }

    fn hints(&self, _ctx: &Context) -> Vec<(Action, &'static str)> {
        vec![(Action::NextPane, "next pane"), (Action::Sync, "sync"), (Action::Help, "help"), (Action::Quit, "quit")]
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context) {
        if let Some(total) = ctx.data.loading {
            return super::render_loading(frame, area, "KPIs · from the local cache", &super::loading_text(total), ctx);
        }
        let Some(k) = &ctx.data.kpis else {
            let text = format!("Computing the KPIs over {} apps…", ctx.data.apps.len());
            return super::render_loading(frame, area, "KPIs · from the local cache", &text, ctx);
        };
        let theme = &ctx.theme;
        let block = Block::bordered()
            .title(Span::styled(" KPIs · from the local cache ", theme.title))
            .border_style(theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [figures, charts] = Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(inner);
        let cols = Layout::horizontal([Constraint::Ratio(1, 3); 3]).spacing(2).split(figures);
        let widths = [cols[0].width as usize, cols[1].width as usize, cols[2].width as usize];
        for (lines, col) in columns(k, theme, widths).into_iter().zip(cols.iter()) {
            frame.render_widget(Paragraph::new(lines), *col);
        }

        let [top, bottom] = Layout::vertical([Constraint::Ratio(1, 2); 2]).areas(charts);
        let [tl, tr] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).spacing(2).areas(top);
        let [bl, br] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).spacing(2).areas(bottom);
        let wide = tl.width >= 48;

        let approvals = Trend::counts(&k.approvals_per_week, week_labels(ctx.now, true));
        let total: u64 = k.approvals_per_week.iter().sum();
        chart(frame, tl, format!(" Approved per week · {total} in 12 weeks "), &approvals, theme);

        let tta = Trend {
            values: k.median_hours_to_approve_per_week.clone(),
            value_labels: k
                .median_hours_to_approve_per_week
                .iter()
                .map(|v| v.map(short_hours).unwrap_or_default())
                .collect(),
            x_labels: week_labels(ctx.now, true),
        };
        chart(frame, tr, format!(" Median hours to approve · {} ", hours(k.median_hours_to_approve)), &tta, theme);

        let months: Vec<String> = k
            .dlp_blocks_per_month
            .iter()
            .map(|(month, _)| {
                let number = month.get(5..).unwrap_or("");
                match number.parse::<usize>() {
                    Ok(n @ 1..=12) if wide => MONTHS[n - 1].to_string(),
                    _ => number.to_string(),
                }
            })
            .collect();
        let blocks: Vec<u64> = k.dlp_blocks_per_month.iter().map(|(_, v)| *v).collect();
        let dlp_total: u64 = blocks.iter().sum();
        chart(frame, bl, format!(" DLP blocks per month · {dlp_total} "), &Trend::counts(&blocks, months), theme);

        let expiring = Trend::counts(&k.expiring_per_week, week_labels(ctx.now, false));
        chart(
            frame,
            br,
            format!(" Expiring in the next 12 weeks · {} ", k.expiring_per_week.iter().sum::<u64>()),
            &expiring,
            theme,
        );
    }
}
