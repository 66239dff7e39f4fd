//! The KPIs (docs/governance.md) at a glance: three columns of figures (inventory,
//! compliance, approvals) over four trend charts (approvals per week, median
//! time to approve per week, DLP blocks per month, apps expiring per week).
//! The figures come from [`crate::domain::kpi`], computed from the cache, so
//! they work offline. Laid out to stay readable at 80x24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph};

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

/// A trend as a bar chart titled with its summary.
fn chart(frame: &mut Frame, area: Rect, title: String, bars: Vec<Bar<'static>>, theme: &Theme) {
    let block =
        Block::default().borders(Borders::TOP).border_style(theme.border).title(Span::styled(title, theme.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let count = bars.len().max(1) as u16;
    let bar_width = ((inner.width + 1) / count).saturating_sub(1).clamp(1, 6);
    let chart = BarChart::default()
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .bar_style(theme.chart)
        .value_style(theme.status_bar)
        .label_style(theme.muted);
    frame.render_widget(chart, inner);
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

        let approvals: Vec<Bar<'static>> = k.approvals_per_week.iter().map(|v| Bar::default().value(*v)).collect();
        let total: u64 = k.approvals_per_week.iter().sum();
        chart(frame, tl, format!(" Approved per week · {total} in 12 weeks "), approvals, theme);

        let tta: Vec<Bar<'static>> = k
            .median_hours_to_approve_per_week
            .iter()
            .map(|v| {
                let v = v.unwrap_or(0);
                Bar::default().value(v).text_value(short_hours(v))
            })
            .collect();
        chart(frame, tr, format!(" Median hours to approve · {} ", hours(k.median_hours_to_approve)), tta, theme);

        let dlp: Vec<Bar<'static>> = k
            .dlp_blocks_per_month
            .iter()
            .map(|(month, v)| {
                let number = month.get(5..).unwrap_or("");
                let label = match number.parse::<usize>() {
                    Ok(n @ 1..=12) if wide => MONTHS[n - 1].to_string(),
                    _ => number.to_string(),
                };
                Bar::default().value(*v).label(Line::from(label))
            })
            .collect();
        let dlp_total: u64 = k.dlp_blocks_per_month.iter().map(|(_, v)| v).sum();
        chart(frame, bl, format!(" DLP blocks per month · {dlp_total} "), dlp, theme);

        let expiring: Vec<Bar<'static>> = k.expiring_per_week.iter().map(|v| Bar::default().value(*v)).collect();
        chart(
            frame,
            br,
            format!(" Expiring in the next 12 weeks · {} ", k.expiring_per_week.iter().sum::<u64>()),
            expiring,
            theme,
        );
    }
}
