//! Runtime events, as the platforms post them with an `ingest` token:
//! logins, connector calls, exports, record updates and DLP blocks, with
//! their failures and error codes. Busy apps (many users, a heavy-tailed
//! draw) post more; events fall inside the time each app was running and
//! lean towards working hours.

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::names::{self, pick, pick_weighted};
use crate::domain::{DataClass, NewAuditEvent, Outcome};

/// What a seeded app contributes to the audit log.
pub struct AppFacts {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub data_classification: DataClass,
    pub risk_score: u32,
    pub version: u32,
    /// The first listed environment (the one app events name).
    pub first_environment: Option<String>,
    /// Where it runs: the last listed environment.
    pub runtime_environment: Option<String>,
    pub connectors: Vec<String>,
    /// Who owned it until when, for an app a lead transferred: that owner
    /// is the actor of its owner's steps before then.
    pub owner_before: Option<(String, DateTime<Utc>)>,
}

/// An app that ran during the seeded window, and how busy it was.
pub struct RuntimeSource {
    pub app: u32,
    pub from_micros: i64,
    pub until_micros: i64,
    pub weight: f64,
}

impl RuntimeSource {
    /// A source for `app` running from `from` to `until`, busier with more users.
    pub fn new(rng: &mut StdRng, app: u32, from: DateTime<Utc>, until: DateTime<Utc>, users: u32) -> RuntimeSource {
        let days = (until - from).num_hours() as f64 / 24.0;
        let popularity = 1.0 / (0.05 + rng.random::<f64>());
        RuntimeSource {
            app,
            from_micros: from.timestamp_micros(),
            until_micros: until.timestamp_micros(),
            weight: (1.0 + f64::from(users).ln_1p()) * popularity * days.max(0.1),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Login,
    ConnectorCall,
    Export,
    RecordUpdate,
    DlpBlock,
}

const KIND_WEIGHTS: &[(Kind, u32)] =
    &[(Kind::Login, 30), (Kind::ConnectorCall, 42), (Kind::Export, 13), (Kind::RecordUpdate, 10), (Kind::DlpBlock, 5)];

/// `count` (moment in microseconds, app) pairs, oldest first.
pub fn plan(rng: &mut StdRng, sources: &[RuntimeSource], count: usize) -> Vec<(i64, u32)> {
    let mut cumulative = Vec::with_capacity(sources.len());
    let mut total = 0.0;
    for source in sources {
        total += source.weight;
        cumulative.push(total);
    }
    if sources.is_empty() || total <= 0.0 {
        return Vec::new();
    }
    let mut planned = Vec::with_capacity(count);
    for _ in 0..count {
        let target = rng.random::<f64>() * total;
        let index = cumulative.partition_point(|&sum| sum <= target).min(sources.len() - 1);
        let source = &sources[index];
        planned.push((moment(rng, source), source.app));
    }
    planned.sort_unstable();
    planned
}

/// A moment in the source's window; one redraw when it fell outside
/// working hours, so nights and weekends are quieter.
fn moment(rng: &mut StdRng, source: &RuntimeSource) -> i64 {
    let draw = |rng: &mut StdRng| rng.random_range(source.from_micros..=source.until_micros);
    let first = draw(rng);
    let quiet = DateTime::from_timestamp_micros(first)
        .is_some_and(|at| !(7..19).contains(&at.hour()) || matches!(at.weekday(), Weekday::Sat | Weekday::Sun));
    if quiet && rng.random_bool(0.7) { draw(rng) } else { first }
}

fn context(pairs: [(&str, Value); 3]) -> Value {
    Value::Object(pairs.into_iter().map(|(key, value)| (key.to_string(), value)).collect::<Map<_, _>>())
}

/// One runtime event of `app`, posted by the platform it runs on.
pub fn event(rng: &mut StdRng, app: &AppFacts, people: &[String], at: DateTime<Utc>) -> NewAuditEvent {
    let sensitive = matches!(app.data_classification, DataClass::Sensitive | DataClass::Pii);
    let mut kind = pick_weighted(rng, KIND_WEIGHTS);
    if matches!(kind, Kind::DlpBlock) && !sensitive && rng.random_bool(0.8) {
        kind = Kind::Export;
    }
    let person_index = rng.random_range(0..people.len());
    let person = || people[person_index].clone();
    let person_ip = || {
        if works_remotely(person_index) {
            format!("203.0.113.{}", 1 + person_index % 250)
        } else {
            names::internal_ip(names::stable_key(&people[person_index]))
        }
    };
    let connector = app.connectors.first().map_or("internal-api", String::as_str);
    let connector = if app.connectors.len() > 1 { pick(rng, &app.connectors).as_str() } else { connector };
    let base = NewAuditEvent {
        app_id: Some(app.id.clone()),
        version: Some(app.version),
        environment: app.runtime_environment.clone(),
        data_classification: Some(app.data_classification.as_str().to_string()),
        risk_score_at_time: Some(app.risk_score),
        timestamp: Some(at),
        ..NewAuditEvent::default()
    };
    match kind {
        Kind::Login => {
            let failed = rng.random_bool(0.05);
            NewAuditEvent {
                actor_id: person(),
                actor_role: "user".into(),
                action_type: "auth.login".into(),
                resource_type: "app".into(),
                resource_id: Some(app.id.clone()),
                outcome: Some(if failed { Outcome::Failure } else { Outcome::Success }),
                error_code: failed.then(|| (*pick(rng, names::LOGIN_ERRORS)).to_string()),
                ip_address: Some(person_ip()),
                user_agent: Some((*pick(rng, names::BROWSER_AGENTS)).to_string()),
                request_context: context([
                    ("method", Value::from(if rng.random_bool(0.6) { "sso+mfa" } else { "sso" })),
                    ("session_minutes", Value::from(rng.random_range(1..240))),
                    ("client", Value::from(if rng.random_bool(0.8) { "web" } else { "teams" })),
                ]),
                ..base
            }
        }
        Kind::ConnectorCall => {
            let failed = rng.random_bool(0.07);
            NewAuditEvent {
                actor_id: format!("svc-{}", app.name),
                actor_role: "service".into(),
                action_type: "connector.call".into(),
                resource_type: "connector".into(),
                resource_id: Some(connector.to_string()),
                outcome: Some(if failed { Outcome::Failure } else { Outcome::Success }),
                error_code: failed.then(|| (*pick(rng, names::CONNECTOR_ERRORS)).to_string()),
                ip_address: Some(names::internal_ip(names::stable_key(&app.id))),
                user_agent: Some((*pick(rng, names::SERVICE_AGENTS)).to_string()),
                request_context: context([
                    ("operation", Value::from(*pick(rng, &["query", "upsert", "list", "webhook", "get"]))),
                    ("duration_ms", Value::from(rng.random_range(20..if failed { 30_000 } else { 2_500 }))),
                    ("records", Value::from(rng.random_range(0..500))),
                ]),
                ..base
            }
        }
        Kind::Export => NewAuditEvent {
            actor_id: person(),
            actor_role: "user".into(),
            action_type: "data.export".into(),
            resource_type: "dataset".into(),
            resource_id: Some(format!("{connector}/export")),
            outcome: Some(Outcome::Success),
            ip_address: Some(person_ip()),
            user_agent: Some((*pick(rng, names::BROWSER_AGENTS)).to_string()),
            request_context: context([
                ("rows", Value::from(rng.random_range(1..50_000))),
                ("format", Value::from(*pick(rng, &["csv", "xlsx", "json", "pdf"]))),
                ("destination", Value::from(*pick(rng, &["download", "sharepoint", "email", "google-drive"]))),
            ]),
            ..base
        },
        Kind::RecordUpdate => NewAuditEvent {
            actor_id: person(),
            actor_role: "user".into(),
            action_type: "record.update".into(),
            resource_type: "record".into(),
            resource_id: Some(format!("{connector}/{}", rng.random_range(10_000..99_999))),
            outcome: Some(Outcome::Success),
            ip_address: Some(person_ip()),
            user_agent: Some((*pick(rng, names::BROWSER_AGENTS)).to_string()),
            request_context: context([
                ("records", Value::from(rng.random_range(1..25))),
                ("fields", Value::from(rng.random_range(1..8))),
                ("via", Value::from(if rng.random_bool(0.7) { "form" } else { "bulk-edit" })),
            ]),
            ..base
        },
        Kind::DlpBlock => {
            let (code, rule) = *pick(rng, names::DLP_RULES);
            NewAuditEvent {
                actor_id: person(),
                actor_role: "user".into(),
                action_type: "dlp.block".into(),
                resource_type: "dataset".into(),
                resource_id: Some(format!("{connector}/export")),
                outcome: Some(Outcome::Blocked),
                error_code: Some(code.to_string()),
                ip_address: Some(person_ip()),
                user_agent: Some((*pick(rng, names::BROWSER_AGENTS)).to_string()),
                request_context: context([
                    ("rule", Value::from(rule)),
                    ("destination", Value::from(*pick(rng, &["external-email", "personal-drive", "public-link"]))),
                    ("matches", Value::from(rng.random_range(1..200))),
                ]),
                ..base
            }
        }
    }
}

/// About one person in twenty works from outside the corporate network.
fn works_remotely(person_index: usize) -> bool {
    person_index % 20 == 7
}
