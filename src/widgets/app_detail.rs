//! An app's detail, shared by the inventory, approvals and renewals panes:
//! the full manifest, the risk breakdown by rubric factor, the compliance
//! checklist, what the TTL lifecycle will do next, the app's requests and its
//! latest audit events. Lines for a wrapping, scrolling paragraph; every
//! catalog value is sanitized here, and a missing one is written `—`.

use chrono::{DateTime, Duration, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::{date, date_time, expiry_relative, pad, relative};
use crate::config::theme::Theme;
use crate::domain::policy::Policy;
use crate::domain::{App, AppState, AppSummary, Approval, ApprovalStatus, AuditEvent, Outcome, Risk};
use crate::sanitize::sanitize;

const LABEL_WIDTH: usize = 13;
/// Audit events shown in an app's detail.
pub const DETAIL_EVENTS: usize = 8;

fn s(text: &str) -> String {
    sanitize(text).into_owned()
}

/// A manifest value, or `—` where the manifest leaves it empty.
fn value(text: &str) -> String {
    let text = s(text);
    if text.trim().is_empty() { "—".into() } else { text }
}

/// `label  value` with the label muted.
pub fn field(label: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![Span::styled(pad(label, LABEL_WIDTH), theme.muted), Span::styled(value, theme.text)])
}

fn field_spans(label: &str, spans: Vec<Span<'static>>, theme: &Theme) -> Line<'static> {
    let mut all = vec![Span::styled(pad(label, LABEL_WIDTH), theme.muted)];
    all.extend(spans);
    Line::from(all)
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "—".into() } else { items.iter().map(|i| s(i)).collect::<Vec<_>>().join(", ") }
}

pub fn heading(text: &str, theme: &Theme) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), theme.title))
}

/// The style of a lifecycle state.
pub fn state_style(state: AppState, theme: &Theme) -> Style {
    match state {
        AppState::Active => theme.ok,
        AppState::Expiring => theme.expiring,
        AppState::Quarantined | AppState::Rejected => theme.danger,
        AppState::ReadOnly => theme.warning,
        AppState::Pending | AppState::Discovered => theme.text,
        AppState::Decommissioned => theme.muted,
    }
}

/// One scheduled lifecycle step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub to: AppState,
}

/// What the TTL lifecycle will do to `app` if nobody renews it, in order.
pub fn lifecycle_plan(app: &AppSummary) -> Vec<Step> {
    let policy = Policy::builtin();
    let (quarantine, read_only) = (policy.read_only_after(), policy.decommissioned_after());
    match app.state {
        AppState::Active | AppState::Expiring => match app.expires_at {
            Some(at) => vec![
                Step { at, to: AppState::Quarantined },
                Step { at: at + quarantine, to: AppState::ReadOnly },
                Step { at: at + quarantine + read_only, to: AppState::Decommissioned },
            ],
            None => Vec::new(),
        },
        AppState::Quarantined => vec![
            Step { at: app.state_since + quarantine, to: AppState::ReadOnly },
            Step { at: app.state_since + quarantine + read_only, to: AppState::Decommissioned },
        ],
        AppState::ReadOnly => vec![Step { at: app.state_since + read_only, to: AppState::Decommissioned }],
        _ => Vec::new(),
    }
}

/// The first step of [`lifecycle_plan`], without building the plan.
pub fn next_step(app: &AppSummary) -> Option<Step> {
    let policy = Policy::builtin();
    match app.state {
        AppState::Active | AppState::Expiring => app.expires_at.map(|at| Step { at, to: AppState::Quarantined }),
        AppState::Quarantined => Some(Step { at: app.state_since + policy.read_only_after(), to: AppState::ReadOnly }),
        AppState::ReadOnly => {
            Some(Step { at: app.state_since + policy.decommissioned_after(), to: AppState::Decommissioned })
        }
        _ => None,
    }
}

/// What happens next, spelled out: dates and consequences.
pub fn lifecycle_sentence(app: &AppSummary) -> String {
    let plan = lifecycle_plan(app);
    let ladder = Policy::builtin().rules.ladder;
    let (quarantine_days, read_only_days) = (ladder.read_only_after_days, ladder.decommissioned_after_days);
    match (app.state, plan.as_slice()) {
        (AppState::Active | AppState::Expiring, [q, r, d]) => format!(
            "quarantined on {}: production access revoked, integrations off; read-only {quarantine_days} days later ({}), backups kept; decommissioned {read_only_days} days after that ({}): credentials revoked, catalog entry archived",
            date(q.at),
            date(r.at),
            date(d.at)
        ),
        (AppState::Quarantined, [r, d]) => format!(
            "quarantined since {}: production access revoked; read-only on {}, backups kept; decommissioned {read_only_days} days after that ({}): credentials revoked, catalog entry archived",
            date(app.state_since),
            date(r.at),
            date(d.at)
        ),
        (AppState::ReadOnly, [d]) => format!(
            "read-only since {}, backups kept; decommissioned on {}: credentials revoked, catalog entry archived",
            date(app.state_since),
            date(d.at)
        ),
        (AppState::Decommissioned, _) => format!("decommissioned on {}: final", date(app.state_since)),
        (AppState::Pending, _) => "waiting for its review; the TTL starts when it is approved".into(),
        (AppState::Rejected, _) => "rejected at review; it does not run".into(),
        (AppState::Discovered, _) => "discovered but not registered: submit a manifest to govern it".into(),
        _ => "no expiry set".into(),
    }
}

/// What one renewal key press would do now.
pub fn renewal_sentence(app: &AppSummary, now: DateTime<Utc>) -> String {
    let days = Policy::builtin().ttl_days(app.ttl_class);
    match app.state {
        AppState::Active | AppState::Expiring | AppState::Quarantined => {
            let until = now + Duration::days(days);
            if crate::domain::ttl::shortens(app.expires_at, until) {
                format!("shortens it to {days} days ({}), until {}; asks first", app.ttl_class, date(until))
            } else {
                format!("extends it at once by {days} days ({}), until {}", app.ttl_class, date(until))
            }
        }
        AppState::ReadOnly => "files a re-approval request; the app stays read-only until it is approved".into(),
        AppState::Decommissioned => "decommissioned is final: it cannot be renewed".into(),
        other => format!("a {other} app cannot be renewed"),
    }
}

/// The rubric breakdown, one factor per line with a small bar. With the app
/// at hand the factor's value is named too.
pub fn risk_lines(risk: &Risk, app: Option<&App>, theme: &Theme) -> Vec<Line<'static>> {
    let glyphs = theme.glyphs();
    let style = theme.risk(risk.tier);
    let mut lines =
        vec![field_spans("Risk", vec![Span::styled(format!("{} · {}", risk.score, risk.tier.as_str()), style)], theme)];
    let factors = [
        ("data", app.map(|a| a.data_classification.to_string()), risk.factors.data),
        ("users", app.map(|a| format!("{} users", a.expected_users)), risk.factors.users),
        ("connectivity", app.map(|a| a.external_connectivity.to_string()), risk.factors.connectivity),
        ("environment", app.map(|a| a.execution_environment.to_string()), risk.factors.environment),
    ];
    for (name, value, points) in factors {
        let bar = glyphs.bar.repeat((points / 5) as usize);
        lines.push(Line::from(vec![
            Span::styled(pad(&format!("  {name}"), 15), theme.muted),
            Span::styled(pad(&value.unwrap_or_default(), if app.is_some() { 16 } else { 0 }), theme.text),
            Span::styled(format!("{points:>3} "), theme.text),
            Span::styled(bar, theme.chart),
        ]));
    }
    lines
}

/// The compliance checklist: manifest, OTel, backups, SBOM, vault, DLP.
pub fn compliance_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let glyphs = theme.glyphs();
    let item = |ok: bool, name: &str| -> Vec<Span<'static>> {
        let (mark, style) = if ok { (glyphs.check, theme.ok) } else { (glyphs.cross, theme.danger) };
        vec![Span::styled(format!("{mark} "), style), Span::styled(pad(name, 19), theme.text)]
    };
    let c = app.controls;
    let rows = [
        [(app.manifest_complete(), "manifest complete"), (c.otel, "OTel"), (c.backups, "backups")],
        [(c.sbom, "SBOM"), (c.secrets_in_vault, "secrets in vault"), (c.dlp, "DLP")],
    ];
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let spans = row.iter().flat_map(|(ok, name)| item(*ok, name)).collect();
            field_spans(if i == 0 { "Compliance" } else { "" }, spans, theme)
        })
        .collect()
}

/// The manifest as label/value lines: [`summary_lines`] then [`more_lines`].
pub fn manifest_lines(app: &App, theme: &Theme, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let mut lines = summary_lines(app, theme, now);
    lines.extend(more_lines(app, theme, now));
    lines
}

/// Name, purpose, owner and state: what a reader needs first.
pub fn summary_lines(app: &App, theme: &Theme, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(s(&app.name), theme.title),
            Span::styled(format!("  {} · v{}", s(&app.id), app.version), theme.muted),
        ]),
        field("Purpose", value(&app.purpose), theme),
        field(
            "Owner",
            format!("{} · team {} · sponsor {}", value(&app.owner), value(&app.team), value(&app.sponsor)),
            theme,
        ),
    ];
    let expiry = match app.expires_at {
        Some(at) => format!(" · expires {} ({})", date(at), expiry_relative(at, now)),
        None => String::new(),
    };
    lines.push(field_spans(
        "State",
        vec![
            Span::styled(app.state.to_string(), state_style(app.state, theme)),
            Span::styled(format!(" since {}{expiry}", date(app.state_since)), theme.text),
        ],
        theme,
    ));
    if let Some(hold) = &app.hold {
        lines.push(field_spans("Held", hold_spans(hold, theme), theme));
    }
    lines
}

/// Who holds an app in quarantine, since when and why, and who may lift it.
pub fn hold_spans(hold: &crate::domain::hold::Hold, theme: &Theme) -> Vec<Span<'static>> {
    vec![
        Span::styled(format!("by {} since {}: ", s(&hold.by), date(hold.at)), theme.danger),
        Span::styled(s(&hold.reason), theme.text),
        Span::styled(" · only a reviewer can release it", theme.muted),
    ]
}

/// The rest of the manifest, activity and what the lifecycle does next.
pub fn more_lines(app: &App, theme: &Theme, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let mut lines = vec![field("Cost centre", value(&app.cost_center), theme)];
    lines.push(field(
        "Data",
        format!(
            "{} · {} expected users · {} · {}",
            app.data_classification, app.expected_users, app.external_connectivity, app.execution_environment
        ),
        theme,
    ));
    lines.push(field(
        "Lifecycle",
        format!(
            "{} · TTL {} ({} days) · retention {} days",
            app.lifecycle_tier,
            app.ttl_class,
            Policy::builtin().ttl_days(app.ttl_class),
            app.retention_days
        ),
        theme,
    ));
    let over = app.monthly_budget > 0.0 && app.monthly_spend > app.monthly_budget;
    lines.push(field_spans(
        "Budget",
        vec![
            Span::styled(format!("{:.0}/month · spend {:.0}", app.monthly_budget, app.monthly_spend), theme.text),
            Span::styled(if over { " · over budget" } else { "" }, theme.danger),
        ],
        theme,
    ));
    lines.push(field("Connectors", list(&app.connectors), theme));
    lines.push(field("Endpoints", list(&app.endpoints), theme));
    lines.push(field("Secrets", list(&app.secrets), theme));
    lines.push(field("Environments", list(&app.environments), theme));
    if !app.flags.is_empty() {
        lines.push(field_spans("Flags", vec![Span::styled(list(&app.flags), theme.warning)], theme));
    }
    let activity = match app.last_activity_at {
        Some(at) => format!("last {} ({})", date(at), relative(at, now)),
        None => "none recorded".into(),
    };
    lines.push(field("Activity", format!("{activity} · created {}", date(app.created_at)), theme));
    let next = if app.hold.is_some() {
        "held: the TTL lifecycle waits until a reviewer releases it; then it takes the state its TTL gives it".into()
    } else {
        lifecycle_sentence(&AppSummary::from(app))
    };
    lines.push(field("Next", next, theme));
    lines
}

/// A held change's diff and a request sent back for changes, near the top
/// of an app's detail: what the app waits for.
pub fn open_request_lines(requests: &[&Approval], theme: &Theme, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(change) =
        requests.iter().find(|r| r.kind == crate::domain::ApprovalKind::Change && crate::domain::amend::is_open(r))
    {
        let waiting = match change.status {
            ApprovalStatus::ChangesRequested => "sent back for changes".to_string(),
            _ => format!(
                "held for review at {}, {}",
                change.review_tier.as_str(),
                super::text::sla(change.due_at, now).0
            ),
        };
        lines.push(field("Pending", format!("change {} · {waiting}", s(&change.id)), theme));
        for changed in &change.changes {
            lines.push(Line::from(vec![
                Span::styled(format!("  {}: ", s(&changed.field)), theme.warning),
                Span::styled(s(&crate::domain::amend::show(&changed.old)), theme.muted),
                Span::styled(" → ", theme.text),
                Span::styled(s(&crate::domain::amend::show(&changed.new)), theme.text),
            ]));
        }
    }
    for request in requests {
        if let Some(asked) = request.changes_asked() {
            lines.push(Line::from(vec![
                Span::styled("Changes asked ", theme.warning),
                Span::styled(
                    format!(
                        "by {} on {}: \"{}\" (amend the manifest to resubmit)",
                        s(&asked.by),
                        s(&request.id),
                        s(&asked.comment)
                    ),
                    theme.text,
                ),
            ]));
        }
    }
    lines
}

/// One request as a list line.
pub fn request_line(approval: &Approval, theme: &Theme, now: DateTime<Utc>) -> Line<'static> {
    let approvals = approval.approvers().count();
    let status_style = match approval.status {
        ApprovalStatus::Pending if approval.is_overdue(now) => theme.danger,
        ApprovalStatus::Pending => theme.warning,
        ApprovalStatus::Approved => theme.ok,
        ApprovalStatus::Rejected => theme.danger,
        ApprovalStatus::Withdrawn | ApprovalStatus::Closed => theme.muted,
        ApprovalStatus::ChangesRequested => theme.warning,
    };
    Line::from(vec![
        Span::styled(format!("  {} ", s(&approval.id)), theme.muted),
        Span::styled(format!("{:<9}", approval.status.as_str()), status_style),
        Span::styled(
            format!(
                "{} · {} review · by {} {} · {}",
                kind_label(approval),
                approval.review_tier.as_str(),
                s(&approval.requested_by),
                relative(approval.created_at, now),
                super::text::count(approvals as u64, "approval")
            ),
            theme.text,
        ),
    ])
}

pub fn kind_label(approval: &Approval) -> &'static str {
    match approval.kind {
        crate::domain::ApprovalKind::NewApp => "new app",
        crate::domain::ApprovalKind::ProductionAccess => "production",
        crate::domain::ApprovalKind::Renewal => "renewal",
        crate::domain::ApprovalKind::Change => "change",
    }
}

/// One audit event as a list line.
pub fn event_line(event: &AuditEvent, theme: &Theme) -> Line<'static> {
    let outcome_style = outcome_style(event.outcome, theme);
    Line::from(vec![
        Span::styled(format!("  {} ", date_time(event.timestamp)), theme.muted),
        Span::styled(format!("{} ", s(&event.action_type)), theme.text),
        Span::styled(event.outcome.as_str().to_string(), outcome_style),
        Span::styled(format!(" · {} ({})", s(&event.actor_id), s(&event.actor_role)), theme.muted),
    ])
}

pub fn outcome_style(outcome: Outcome, theme: &Theme) -> Style {
    match outcome {
        Outcome::Success => theme.ok,
        Outcome::Failure => theme.danger,
        Outcome::Blocked => theme.warning,
    }
}

/// The whole detail of `app`: manifest, risk, compliance, requests, events.
pub fn app_lines<'a>(
    app: &App,
    requests: impl Iterator<Item = &'a Approval>,
    events: impl Iterator<Item = &'a AuditEvent>,
    theme: &Theme,
    now: DateTime<Utc>,
) -> Vec<Line<'static>> {
    let requests: Vec<&Approval> = requests.collect();
    let mut lines = summary_lines(app, theme, now);
    lines.extend(open_request_lines(&requests, theme, now));
    lines.extend(risk_lines(&app.risk, Some(app), theme));
    lines.extend(compliance_lines(app, theme));
    lines.push(Line::default());
    lines.extend(more_lines(app, theme, now));
    lines.push(Line::default());
    lines.push(heading("Requests", theme));
    let before = lines.len();
    lines.extend(requests.iter().map(|r| request_line(r, theme, now)));
    if lines.len() == before {
        lines.push(Line::from(Span::styled("  none you may read", theme.muted)));
    }
    lines.push(Line::default());
    lines.push(heading("Latest audit events", theme));
    let before = lines.len();
    lines.extend(events.take(DETAIL_EVENTS).map(|e| event_line(e, theme)));
    if lines.len() == before {
        lines.push(Line::from(Span::styled("  none in the cache", theme.muted)));
    }
    lines
}
