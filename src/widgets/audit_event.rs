//! One audit event whole, as the audit timeline's detail view shows it:
//! every field, sanitized (the request context's strings too); the actor
//! line says who reported the event when that is not the actor.

use ratatui::text::{Line, Span};

use crate::config::theme::Theme;
use crate::domain::AuditEvent;
use crate::sanitize::sanitize;
use crate::widgets::app_detail::{field, outcome_style};

/// `value` with every string (keys too) sanitized, so that JSON escapes of
/// control characters (`\u001b[2J`) do not show the sequences as text.
fn clean_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(sanitize(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(clean_json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (sanitize(k).into_owned(), clean_json(v))).collect())
        }
        other => other.clone(),
    }
}

/// The actor and role, and who reported the event when that is someone
/// else (a platform's claim posted with an ingest token).
pub fn actor(event: &AuditEvent) -> String {
    let actor = format!("{} ({})", sanitize(&event.actor_id), sanitize(&event.actor_role));
    match event.reported_by_other() {
        Some(by) => format!("{actor}, reported by {}", sanitize(by)),
        None => actor,
    }
}

/// Every field of `event` (of the app named `app_name`, when known), one a line.
pub fn event_lines(event: &AuditEvent, app_name: Option<&str>, theme: &Theme) -> Vec<Line<'static>> {
    let s = |t: &str| sanitize(t).into_owned();
    let opt = |t: &Option<String>| t.as_deref().map_or_else(|| "—".to_string(), |v| sanitize(v).into_owned());
    let app = match (event.app_id.as_deref(), app_name) {
        (Some(id), Some(name)) => format!("{} ({})", s(name), s(id)),
        (Some(id), None) => s(id),
        (None, _) => "—".into(),
    };
    vec![
        Line::from(vec![
            Span::styled(s(&event.action_type), theme.title),
            Span::raw("  "),
            Span::styled(event.outcome.as_str().to_string(), outcome_style(event.outcome, theme)),
        ]),
        field("Seq", event.seq.to_string(), theme),
        field("Event id", s(&event.event_id), theme),
        field("Time", event.timestamp.to_rfc3339(), theme),
        field("Recorded", event.recorded_at.map_or_else(|| "—".into(), |at| at.to_rfc3339()), theme),
        field("Actor", actor(event), theme),
        field("App", app, theme),
        field("Version", event.version.map_or_else(|| "—".into(), |v| v.to_string()), theme),
        field("Environment", opt(&event.environment), theme),
        field("Resource", format!("{} {}", s(&event.resource_type), opt(&event.resource_id)), theme),
        field("Data class", opt(&event.data_classification), theme),
        field("Error code", opt(&event.error_code), theme),
        field("IP address", opt(&event.ip_address), theme),
        field("User agent", opt(&event.user_agent), theme),
        field("Context", s(&clean_json(&event.request_context).to_string()), theme),
        field("Risk score", event.risk_score_at_time.map_or_else(|| "—".into(), |v| v.to_string()), theme),
        field("Approval", opt(&event.approval_id), theme),
        field("Prev hash", s(&event.prev_hash), theme),
        field("Hash", s(&event.hash), theme),
    ]
}
