//! Amending a manifest: which fields may change and how their values are
//! read, the diff between two manifests, and the rule that decides whether
//! an amendment applies at once or is held for review.
//!
//! A change that does not raise the risk tier and leaves the data class,
//! the connectivity and the execution environment as they are applies at
//! once (version + 1, re-scored). Any other is *material*: it is held as a
//! `change` request reviewed like intake at the new tier, and the app keeps
//! running on its approved manifest until the request is decided. An app
//! still under review (`pending`) is amended in place: its manifest changes
//! and its open request is re-scored; a request awaiting changes returns to
//! `pending` with its SLA restarted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::app::{App, AppState, Manifest};
use super::approval::{self, Approval, ApprovalKind, ApprovalStatus};
use super::policy::Policy;
use super::risk::{IntakeReview, Risk, Tier};
use super::role::{Actor, Role};

/// One changed field: `field` is a manifest field, or `controls.NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Value)]
    pub old: Value,
    #[schema(value_type = Value)]
    pub new: Value,
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, show(&self.old), show(&self.new))
    }
}

/// A value as a person reads it: text without quotes, lists comma-separated.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The type of a manifest field, for reading a value given as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Count,
    Money,
    Flag,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// Comma-separated text.
    List,
}

impl FieldKind {
    /// What a value of this kind looks like, for error messages.
    pub fn expected(self) -> String {
        match self {
            FieldKind::Text => "text".into(),
            FieldKind::Count => "a whole number of zero or more".into(),
            FieldKind::Money => "a number of zero or more".into(),
            FieldKind::Flag => "true or false".into(),
            FieldKind::Choice(words) => format!("one of {}", words.join(", ")),
            FieldKind::List => "a comma-separated list (empty for none)".into(),
        }
    }
}

// The wire names of each enum, in declaration order.
const DATA_CLASSES: &[&str] = &["public", "internal", "sensitive", "pii"];
const CONNECTIVITIES: &[&str] = &["none", "saas_connector", "external_api"];
const EXEC_ENVS: &[&str] = &["sandboxed", "desktop_agent"];
const LIFECYCLE_TIERS: &[&str] = &["ephemeral", "tactical", "standard", "business_critical"];
const TTL_CLASSES: &[&str] = &["prototype", "supported"];

/// Every field an amendment may set, in manifest order (`owner` is not one:
/// an app changes owner by transfer). `controls.NAME` are the controls.
pub const FIELDS: &[(&str, FieldKind)] = &[
    ("name", FieldKind::Text),
    ("purpose", FieldKind::Text),
    ("team", FieldKind::Text),
    ("sponsor", FieldKind::Text),
    ("cost_center", FieldKind::Text),
    ("data_classification", FieldKind::Choice(DATA_CLASSES)),
    ("expected_users", FieldKind::Count),
    ("external_connectivity", FieldKind::Choice(CONNECTIVITIES)),
    ("execution_environment", FieldKind::Choice(EXEC_ENVS)),
    ("connectors", FieldKind::List),
    ("endpoints", FieldKind::List),
    ("secrets", FieldKind::List),
    ("environments", FieldKind::List),
    ("lifecycle_tier", FieldKind::Choice(LIFECYCLE_TIERS)),
    ("ttl_class", FieldKind::Choice(TTL_CLASSES)),
    ("retention_days", FieldKind::Count),
    ("monthly_budget", FieldKind::Money),
    ("controls.otel", FieldKind::Flag),
    ("controls.backups", FieldKind::Flag),
    ("controls.sbom", FieldKind::Flag),
    ("controls.secrets_in_vault", FieldKind::Flag),
    ("controls.dlp", FieldKind::Flag),
];

/// The kind of an amendable field, `None` for any other name.
pub fn field_kind(field: &str) -> Option<FieldKind> {
    FIELDS.iter().find(|(name, _)| *name == field).map(|(_, kind)| *kind)
}

/// A field of an amendment that cannot be applied, named so it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

fn problem(field: &str, problem: impl Into<String>) -> FieldProblem {
    FieldProblem { field: field.to_string(), problem: problem.into() }
}

/// Reads `text` as a value of `field` (`--set field=text`): a bad value
/// names the field and what it allows.
pub fn parse_value(field: &str, text: &str) -> Result<Value, FieldProblem> {
    let Some(kind) = field_kind(field) else {
        return Err(unknown_field(field));
    };
    let bad = || problem(field, format!("{text:?} is not {}", kind.expected()));
    Ok(match kind {
        FieldKind::Text => Value::String(text.to_string()),
        FieldKind::Count => json!(text.trim().parse::<u32>().map_err(|_| bad())?),
        FieldKind::Money => {
            let value = text.trim().parse::<f64>().map_err(|_| bad())?;
            if !value.is_finite() || value < 0.0 {
                return Err(bad());
            }
            json!(value)
        }
        FieldKind::Flag => match text.trim() {
            "true" | "yes" | "on" => Value::Bool(true),
            "false" | "no" | "off" => Value::Bool(false),
            _ => return Err(bad()),
        },
        FieldKind::Choice(words) => {
            let word = text.trim();
            if !words.contains(&word) {
                return Err(bad());
            }
            Value::String(word.to_string())
        }
        FieldKind::List => Value::Array(
            text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(|item| json!(item)).collect(),
        ),
    })
}

fn unknown_field(field: &str) -> FieldProblem {
    let hint = if field == "owner" {
        "is not amended: an app changes owner by transfer".to_string()
    } else {
        format!(
            "is not a manifest field (fields: {})",
            FIELDS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
        )
    };
    problem(field, hint)
}

/// Whether `value` is of `kind` (values of the wire, already JSON).
fn check_value(field: &str, kind: FieldKind, value: &Value) -> Result<(), FieldProblem> {
    let ok = match kind {
        FieldKind::Text => value.is_string(),
        FieldKind::Count => value.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
        FieldKind::Money => value.as_f64().is_some_and(|n| n.is_finite() && n >= 0.0),
        FieldKind::Flag => value.is_boolean(),
        FieldKind::Choice(words) => value.as_str().is_some_and(|word| words.contains(&word)),
        FieldKind::List => value.as_array().is_some_and(|items| items.iter().all(Value::is_string)),
    };
    if ok { Ok(()) } else { Err(problem(field, format!("{value} is not {}", kind.expected()))) }
}

/// The manifest an app runs on (its owner left out: it is not amended).
pub fn manifest_of(app: &App) -> Manifest {
    Manifest {
        name: app.name.clone(),
        purpose: app.purpose.clone(),
        owner: None,
        team: app.team.clone(),
        sponsor: app.sponsor.clone(),
        cost_center: app.cost_center.clone(),
        data_classification: app.data_classification,
        expected_users: app.expected_users,
        external_connectivity: app.external_connectivity,
        execution_environment: app.execution_environment,
        connectors: app.connectors.clone(),
        endpoints: app.endpoints.clone(),
        secrets: app.secrets.clone(),
        environments: app.environments.clone(),
        lifecycle_tier: app.lifecycle_tier,
        ttl_class: app.ttl_class,
        retention_days: app.retention_days,
        monthly_budget: app.monthly_budget,
        controls: app.controls,
    }
}

/// Puts `manifest` on `app`, re-scored, as manifest version + 1.
pub fn put_manifest(app: &mut App, manifest: Manifest, policy: &Policy, now: DateTime<Utc>) {
    app.risk = manifest.risk(policy);
    app.name = manifest.name;
    app.purpose = manifest.purpose;
    app.team = manifest.team;
    app.sponsor = manifest.sponsor;
    app.cost_center = manifest.cost_center;
    app.data_classification = manifest.data_classification;
    app.expected_users = manifest.expected_users;
    app.external_connectivity = manifest.external_connectivity;
    app.execution_environment = manifest.execution_environment;
    app.connectors = manifest.connectors;
    app.endpoints = manifest.endpoints;
    app.secrets = manifest.secrets;
    app.environments = manifest.environments;
    app.lifecycle_tier = manifest.lifecycle_tier;
    app.ttl_class = manifest.ttl_class;
    app.retention_days = manifest.retention_days;
    app.monthly_budget = manifest.monthly_budget;
    app.controls = manifest.controls;
    app.version += 1;
    app.updated_at = now;
}

/// A manifest as one flat object: `controls.NAME` beside the other fields.
fn flat(manifest: &Manifest) -> Map<String, Value> {
    let Ok(Value::Object(mut object)) = serde_json::to_value(manifest) else {
        return Map::new();
    };
    object.remove("owner");
    if let Some(Value::Object(controls)) = object.remove("controls") {
        for (name, value) in controls {
            object.insert(format!("controls.{name}"), value);
        }
    }
    object
}

/// `set` (field → value; a nested `controls` object is read as its
/// `controls.NAME` fields) applied to `manifest`. Every problem is reported
/// at once: unknown fields, values of the wrong type, and what
/// [`Manifest::validate`] refuses.
pub fn apply_set(manifest: &Manifest, set: &Map<String, Value>) -> Result<Manifest, Vec<FieldProblem>> {
    let mut fields = flat(manifest);
    let mut problems = Vec::new();
    let mut entries: Vec<(String, &Value)> = Vec::new();
    for (field, value) in set {
        match (field.as_str(), value) {
            ("controls", Value::Object(controls)) => {
                entries.extend(controls.iter().map(|(name, value)| (format!("controls.{name}"), value)));
            }
            _ => entries.push((field.clone(), value)),
        }
    }
    for (field, value) in entries {
        match field_kind(&field) {
            None => problems.push(unknown_field(&field)),
            Some(kind) => match check_value(&field, kind, value) {
                Ok(()) => {
                    fields.insert(field, value.clone());
                }
                Err(bad) => problems.push(bad),
            },
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut object = Map::new();
    let mut controls = Map::new();
    for (field, value) in fields {
        match field.strip_prefix("controls.") {
            Some(name) => {
                controls.insert(name.to_string(), value);
            }
            None => {
                object.insert(field, value);
            }
        }
    }
    object.insert("controls".into(), Value::Object(controls));
    let next: Manifest =
        serde_json::from_value(Value::Object(object)).map_err(|err| vec![problem("manifest", err.to_string())])?;
    next.validate().map_err(|invalid| vec![problem(invalid.field, invalid.problem)])?;
    Ok(next)
}

/// The fields that differ from `old` to `new`, in manifest order.
pub fn diff(old: &Manifest, new: &Manifest) -> Vec<FieldChange> {
    let (old, new) = (flat(old), flat(new));
    FIELDS
        .iter()
        .filter_map(|(field, _)| {
            let (before, after) = (old.get(*field)?, new.get(*field)?);
            (before != after).then(|| FieldChange {
                field: (*field).to_string(),
                old: before.clone(),
                new: after.clone(),
            })
        })
        .collect()
}

/// The changes as a `set` object (their new values).
pub fn as_set(changes: &[FieldChange]) -> Map<String, Value> {
    changes.iter().map(|change| (change.field.clone(), change.new.clone())).collect()
}

/// Reads a manifest file or edited text: JSON when `json`, else TOML.
/// Every problem the parser and [`Manifest::validate`] find is returned, one
/// line each naming its field.
pub fn parse_manifest(text: &str, json: bool) -> Result<Manifest, Vec<String>> {
    let manifest: Manifest = if json {
        serde_json::from_str(text).map_err(|err| vec![err.to_string()])?
    } else {
        toml::from_str(text).map_err(|err| vec![err.to_string().trim_end().to_string()])?
    };
    manifest.validate().map_err(|invalid| vec![invalid.to_string()])?;
    Ok(manifest)
}

/// A manifest as TOML, for an editor.
pub fn to_toml(manifest: &Manifest) -> String {
    toml::to_string(manifest).unwrap_or_default()
}

/// Whether `changes` need a review: they raise the risk tier, or touch the
/// data class, the connectivity or the execution environment.
pub fn is_material(before: &Risk, after: &Risk, changes: &[FieldChange]) -> bool {
    after.tier > before.tier
        || changes.iter().any(|change| {
            matches!(change.field.as_str(), "data_classification" | "external_connectivity" | "execution_environment")
        })
}

/// The review tier of a held change or a re-scored request: as intake, but
/// policy never approves it (a human reviews what was already under review).
pub fn review_tier(policy: &Policy, risk: &Risk, manifest: &Manifest) -> Tier {
    match policy.intake_review(risk, &manifest.controls, manifest.execution_environment) {
        IntakeReview::AutoApproved => Tier::Medium,
        IntakeReview::Review(tier) => tier,
    }
}

/// Why an amendment is refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmendError {
    #[error("amending a manifest needs the owner of the app, or a lead or admin")]
    NotAllowed,
    #[error("the app is {0}; that is final, so its manifest no longer changes")]
    FinalState(&'static str),
    #[error("the app was discovered, not registered: adopt it with `govdeck intake FILE --adopt APP`")]
    Discovered,
    #[error("the app changed since revision {given} (now {current}); reload it and amend again")]
    StaleRevision { given: u64, current: u64 },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("nothing changes: every value given is the app's already")]
    NoChange,
    #[error("change request {0} for this app is already pending review; wait for its decision or ask a reviewer")]
    ChangePending(String),
}

/// Whether `actor` may amend an app of `owner`: its owner (with the owner
/// or admin role), or any lead.
pub fn may_amend(owner: &str, actor: &Actor) -> Result<(), AmendError> {
    let owns = actor.user == owner && (actor.has(Role::Owner) || actor.has(Role::Admin));
    if owns || actor.has(Role::Lead) { Ok(()) } else { Err(AmendError::NotAllowed) }
}

/// Whether an app in `state` may be amended at all.
pub fn may_amend_in(state: AppState) -> Result<(), AmendError> {
    match state {
        AppState::Decommissioned | AppState::Rejected => Err(AmendError::FinalState(state.as_str())),
        AppState::Discovered => Err(AmendError::Discovered),
        AppState::Pending | AppState::Active | AppState::Expiring | AppState::Quarantined | AppState::ReadOnly => {
            Ok(())
        }
    }
}

/// What an amendment does.
#[derive(Debug, Clone, PartialEq)]
pub enum Amendment {
    /// Applied to the app at once. `resubmitted`: the app's other requests
    /// that were sent back for changes (a renewal, production access), back
    /// in the queue re-scored with their SLA restarted.
    Applied { app: Box<App>, changes: Vec<FieldChange>, resubmitted: Vec<Approval> },
    /// Material: to be filed as a new `change` request (status pending) at
    /// `tier`; the app is unchanged. `resubmitted` as for `Applied`.
    Held { request: Box<Approval>, changes: Vec<FieldChange>, resubmitted: Vec<Approval> },
    /// The app is under review (`pending`): its manifest changes and its
    /// open request is re-scored (`resubmitted` when it was awaiting changes).
    InPlace { app: Box<App>, request: Option<Box<Approval>>, changes: Vec<FieldChange>, resubmitted: bool },
    /// A change request awaiting changes, revised and back in the queue.
    Revised { request: Box<Approval>, changes: Vec<FieldChange> },
}

impl Amendment {
    pub fn changes(&self) -> &[FieldChange] {
        match self {
            Amendment::Applied { changes, .. }
            | Amendment::Held { changes, .. }
            | Amendment::InPlace { changes, .. }
            | Amendment::Revised { changes, .. } => changes,
        }
    }
}

/// Everything an amendment is judged on.
pub struct AmendInput<'a> {
    pub app: &'a App,
    /// The app's open requests (pending or awaiting changes).
    pub open: &'a [Approval],
    pub actor: &'a Actor,
    /// The app's `rev` the amendment was made on.
    pub rev: u64,
    pub set: &'a Map<String, Value>,
    /// The id a held change request gets.
    pub new_request_id: String,
    /// The rules it is judged under.
    pub policy: &'a Policy,
    pub now: DateTime<Utc>,
}

fn rescore(request: &mut Approval, risk: Risk, tier: Tier, policy: &Policy) {
    request.policy_version = Some(policy.version().to_string());
    request.risk = risk;
    request.risk_score_at_time = risk.score;
    request.review_tier = tier;
}

/// Applies the amendment rule. The caller stores what it returns (at new
/// revisions) with its audit events in one transaction.
pub fn amend(input: AmendInput<'_>) -> Result<Amendment, AmendError> {
    let AmendInput { app, open, actor, rev, set, new_request_id, policy, now } = input;
    may_amend(&app.owner, actor)?;
    may_amend_in(app.state)?;
    if rev != app.rev {
        return Err(AmendError::StaleRevision { given: rev, current: app.rev });
    }
    let approved = manifest_of(app);

    if app.state == AppState::Pending {
        let next = apply_set(&approved, set).map_err(AmendError::Invalid)?;
        let changes = diff(&approved, &next);
        if changes.is_empty() {
            return Err(AmendError::NoChange);
        }
        let risk = next.risk(policy);
        let tier = review_tier(policy, &risk, &next);
        let mut amended = app.clone();
        put_manifest(&mut amended, next, policy, now);
        let mut resubmitted = false;
        let request = open.iter().find(|request| request.kind == ApprovalKind::NewApp).map(|request| {
            let mut request = request.clone();
            rescore(&mut request, risk, tier, policy);
            request.app_name = amended.name.clone();
            if request.status == ApprovalStatus::ChangesRequested {
                approval::resubmit(&mut request, policy, now);
                resubmitted = true;
            } else {
                approval::restart_count(&mut request);
            }
            Box::new(request)
        });
        return Ok(Amendment::InPlace { app: Box::new(amended), request, changes, resubmitted });
    }

    let held = open.iter().find(|request| request.kind == ApprovalKind::Change);
    if let Some(request) = held.filter(|request| request.status == ApprovalStatus::ChangesRequested) {
        // The owner answers the reviewer: the set goes on top of the held
        // changes, and the whole differs from the approved manifest.
        let proposed = apply_set(&approved, &as_set(&request.changes)).map_err(AmendError::Invalid)?;
        let next = apply_set(&proposed, set).map_err(AmendError::Invalid)?;
        if diff(&proposed, &next).is_empty() {
            return Err(AmendError::NoChange);
        }
        let changes = diff(&approved, &next);
        let risk = next.risk(policy);
        let mut request = request.clone();
        rescore(&mut request, risk, review_tier(policy, &risk, &next), policy);
        request.changes = changes.clone();
        approval::resubmit(&mut request, policy, now);
        return Ok(Amendment::Revised { request: Box::new(request), changes });
    }

    let next = apply_set(&approved, set).map_err(AmendError::Invalid)?;
    let changes = diff(&approved, &next);
    if changes.is_empty() {
        return Err(AmendError::NoChange);
    }
    let risk = next.risk(policy);
    // The owner's answer to a request sent back for changes (a renewal or
    // production access of a live app): it returns to the queue, re-scored
    // on the manifest the app runs on after this amendment.
    let sent_back = |running: &App| -> Vec<Approval> {
        open.iter()
            .filter(|request| {
                request.kind != ApprovalKind::Change && request.status == ApprovalStatus::ChangesRequested
            })
            .map(|request| {
                let mut request = request.clone();
                request.risk = running.risk;
                request.risk_score_at_time = running.risk.score;
                approval::resubmit(&mut request, policy, now);
                request
            })
            .collect()
    };
    if !is_material(&app.risk, &risk, &changes) {
        let mut amended = app.clone();
        put_manifest(&mut amended, next, policy, now);
        let resubmitted = sent_back(&amended);
        return Ok(Amendment::Applied { app: Box::new(amended), changes, resubmitted });
    }
    if let Some(pending) = held {
        return Err(AmendError::ChangePending(pending.id.clone()));
    }
    let tier = review_tier(policy, &risk, &next);
    let mut request = Approval::new(new_request_id, app, ApprovalKind::Change, actor.user.clone(), tier, policy, now);
    rescore(&mut request, risk, tier, policy);
    request.changes = changes.clone();
    let resubmitted = sent_back(app);
    Ok(Amendment::Held { request: Box::new(request), changes, resubmitted })
}

/// Applies an approved change request's changes to `app` (version + 1,
/// re-scored): the fields it names take its new values; the others keep
/// whatever the app has now (a non-material amendment may have come in
/// meanwhile). Returns the changes that still differ.
pub fn apply_held(
    app: &mut App,
    request: &Approval,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<FieldChange>, AmendError> {
    let current = manifest_of(app);
    let next = apply_set(&current, &as_set(&request.changes)).map_err(AmendError::Invalid)?;
    let changes = diff(&current, &next);
    put_manifest(app, next, policy, now);
    Ok(changes)
}

/// The kinds of request an amendment interacts with, for callers that
/// gather an app's open requests.
pub fn is_open(request: &Approval) -> bool {
    matches!(request.status, ApprovalStatus::Pending | ApprovalStatus::ChangesRequested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use crate::domain::approval::{DecisionKind, decide};
    use crate::domain::{Connectivity, DataClass, ExecEnv, LifecycleTier, TtlClass};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn olive() -> Actor {
        Actor::new("olive", [Role::Owner])
    }

    /// Olive's live app: internal, 40 users, SaaS connector, sandboxed: 30, medium.
    fn live() -> App {
        let mut m = manifest();
        m.data_classification = DataClass::Internal;
        m.expected_users = 40;
        m.external_connectivity = Connectivity::SaasConnector;
        let mut app = App::from_manifest("app-1".into(), "olive".into(), m, Policy::builtin(), now());
        crate::domain::ttl::activate(&mut app, Policy::builtin(), now());
        app.rev = 5;
        app
    }

    fn set(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
    }

    fn run(app: &App, open: &[Approval], actor: &Actor, pairs: &[(&str, Value)]) -> Result<Amendment, AmendError> {
        amend(AmendInput {
            app,
            open,
            actor,
            rev: app.rev,
            set: &set(pairs),
            new_request_id: "apr-new".into(),
            policy: Policy::builtin(),
            now: now() + Duration::hours(1),
        })
    }

    #[test]
    fn wire_names_are_those_of_the_enums() {
        let names = |all: Vec<&'static str>| all;
        assert_eq!(DATA_CLASSES, names(DataClass::ALL.iter().map(|v| v.as_str()).collect()));
        assert_eq!(CONNECTIVITIES, names(Connectivity::ALL.iter().map(|v| v.as_str()).collect()));
        assert_eq!(EXEC_ENVS, names(ExecEnv::ALL.iter().map(|v| v.as_str()).collect()));
        assert_eq!(LIFECYCLE_TIERS, names(LifecycleTier::ALL.iter().map(|v| v.as_str()).collect()));
        assert_eq!(TTL_CLASSES, names(TtlClass::ALL.iter().map(|v| v.as_str()).collect()));
        // Every manifest field but owner is amendable, and no other.
        let m = manifest();
        let mut flat_fields: Vec<String> = flat(&m).keys().cloned().collect();
        flat_fields.sort();
        let mut known: Vec<String> = FIELDS.iter().map(|(f, _)| f.to_string()).collect();
        known.sort();
        assert_eq!(flat_fields, known);
    }

    #[test]
    fn values_are_read_by_the_fields_type() {
        assert_eq!(parse_value("controls.sbom", "true").unwrap(), json!(true));
        assert_eq!(parse_value("expected_users", "400").unwrap(), json!(400));
        assert_eq!(parse_value("connectors", "a, b,").unwrap(), json!(["a", "b"]));
        assert_eq!(parse_value("connectors", "").unwrap(), json!([]));
        assert_eq!(parse_value("data_classification", "pii").unwrap(), json!("pii"));
        let bad = parse_value("data_classification", "secret").unwrap_err();
        assert_eq!(bad.field, "data_classification");
        assert!(bad.problem.contains("public, internal, sensitive, pii"), "{bad}");
        let bad = parse_value("expected_users", "-3").unwrap_err();
        assert!(bad.problem.contains("whole number"), "{bad}");
        assert!(parse_value("controls.sbom", "maybe").unwrap_err().problem.contains("true or false"));
        assert!(parse_value("owner", "omar").unwrap_err().problem.contains("transfer"));
        assert!(parse_value("colour", "red").unwrap_err().problem.contains("not a manifest field"));
    }

    #[test]
    fn every_problem_of_a_set_is_reported_at_once() {
        let problems = apply_set(
            &manifest(),
            &set(&[("colour", json!("red")), ("expected_users", json!("many")), ("controls", json!({"tls": true}))]),
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["colour", "controls.tls", "expected_users"]);
    }

    #[test]
    fn a_nested_controls_object_and_dotted_names_are_the_same() {
        let dotted = apply_set(&manifest(), &set(&[("controls.sbom", json!(true))])).unwrap();
        let nested = apply_set(&manifest(), &set(&[("controls", json!({"sbom": true}))])).unwrap();
        assert_eq!(dotted, nested);
        assert!(dotted.controls.sbom && dotted.controls.otel, "the other controls are kept");
    }

    #[test]
    fn diff_lists_each_changed_field_in_manifest_order() {
        let old = manifest();
        let new = apply_set(&old, &set(&[("controls.sbom", json!(true)), ("expected_users", json!(400))])).unwrap();
        let changes = diff(&old, &new);
        assert_eq!(
            changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["expected_users: 250 → 400", "controls.sbom: false → true"]
        );
    }

    #[test]
    fn a_change_that_keeps_the_tier_and_the_classes_applies_at_once() {
        let app = live();
        let Amendment::Applied { app: amended, changes, .. } =
            run(&app, &[], &olive(), &[("controls.sbom", json!(true)), ("expected_users", json!(60))]).unwrap()
        else {
            panic!("applied at once")
        };
        assert_eq!(changes.len(), 2);
        assert!(amended.controls.sbom);
        assert_eq!(amended.version, app.version + 1);
        assert_eq!(amended.risk, app.risk, "re-scored: 40 and 60 users score the same");
    }

    #[test]
    fn a_lower_tier_applies_at_once() {
        let app = live();
        let Amendment::Applied { app: amended, .. } =
            run(&app, &[], &olive(), &[("expected_users", json!(5))]).unwrap()
        else {
            panic!("applied at once")
        };
        assert_eq!(amended.risk.tier, Tier::Low);
    }

    #[test]
    fn a_higher_tier_is_held_at_the_new_tier() {
        let app = live();
        // internal 10 + 400 users 20 + saas 10 = 40: still medium, so at once.
        assert!(matches!(run(&app, &[], &olive(), &[("expected_users", json!(400))]), Ok(Amendment::Applied { .. })));
        // sensitive is a data class change: held, at the new tier.
        let Amendment::Held { request, changes, .. } =
            run(&app, &[], &olive(), &[("data_classification", json!("sensitive")), ("expected_users", json!(400))])
                .unwrap()
        else {
            panic!("held")
        };
        assert_eq!(request.kind, ApprovalKind::Change);
        assert_eq!(request.status, ApprovalStatus::Pending);
        assert_eq!((request.risk.score, request.review_tier), (60, Tier::High));
        assert_eq!(request.changes, changes);
        assert_eq!(request.due_at, now() + Duration::hours(1) + Duration::hours(48));
    }

    #[test]
    fn data_class_connectivity_and_environment_are_always_material() {
        let app = live();
        for (field, value) in [
            ("data_classification", json!("public")),
            ("external_connectivity", json!("none")),
            ("execution_environment", json!("desktop_agent")),
        ] {
            let held = run(&app, &[], &olive(), &[(field, value)]).unwrap();
            assert!(matches!(held, Amendment::Held { .. }), "{field}: {held:?}");
        }
        // A lowered class is reviewed too; policy does not approve a held change.
        let Amendment::Held { request, .. } =
            run(&app, &[], &olive(), &[("data_classification", json!("public")), ("expected_users", json!(1))])
                .unwrap()
        else {
            panic!("held")
        };
        assert_eq!(request.review_tier, Tier::Medium);
    }

    #[test]
    fn one_pending_change_per_app_but_small_changes_still_apply() {
        let app = live();
        let Amendment::Held { request, .. } =
            run(&app, &[], &olive(), &[("data_classification", json!("pii"))]).unwrap()
        else {
            panic!("held")
        };
        let open = [*request];
        assert_eq!(
            run(&app, &open, &olive(), &[("external_connectivity", json!("external_api"))]).unwrap_err(),
            AmendError::ChangePending("apr-new".into())
        );
        assert!(matches!(run(&app, &open, &olive(), &[("controls.dlp", json!(true))]), Ok(Amendment::Applied { .. })));
    }

    #[test]
    fn who_may_amend() {
        let app = live();
        let pat = Actor::new("pat", [Role::Lead]);
        assert!(run(&app, &[], &pat, &[("controls.dlp", json!(true))]).is_ok());
        for actor in [
            Actor::new("omar", [Role::Owner]),
            Actor::new("riley", [Role::Reviewer]),
            Actor::new("audrey", [Role::Auditor]),
            Actor::new("olive", [Role::Ingest]),
        ] {
            assert_eq!(run(&app, &[], &actor, &[("controls.dlp", json!(true))]).unwrap_err(), AmendError::NotAllowed);
        }
        let mut own = app.clone();
        own.owner = "ada".into();
        assert!(run(&own, &[], &Actor::new("ada", [Role::Admin]), &[("controls.dlp", json!(true))]).is_ok());
    }

    #[test]
    fn final_and_discovered_apps_are_not_amended() {
        let mut app = live();
        for (state, err) in [
            (AppState::Decommissioned, AmendError::FinalState("decommissioned")),
            (AppState::Rejected, AmendError::FinalState("rejected")),
            (AppState::Discovered, AmendError::Discovered),
        ] {
            app.state = state;
            assert_eq!(run(&app, &[], &olive(), &[("controls.dlp", json!(true))]).unwrap_err(), err);
        }
        for state in [AppState::Quarantined, AppState::ReadOnly, AppState::Expiring] {
            app.state = state;
            assert!(run(&app, &[], &olive(), &[("controls.dlp", json!(true))]).is_ok(), "{state}");
        }
    }

    #[test]
    fn stale_revision_and_no_change_are_refused() {
        let app = live();
        let err = amend(AmendInput {
            app: &app,
            open: &[],
            actor: &olive(),
            rev: 4,
            set: &set(&[("controls.dlp", json!(true))]),
            new_request_id: "x".into(),
            policy: Policy::builtin(),
            now: now(),
        })
        .unwrap_err();
        assert_eq!(err, AmendError::StaleRevision { given: 4, current: 5 });
        assert_eq!(run(&app, &[], &olive(), &[("controls.otel", json!(true))]).unwrap_err(), AmendError::NoChange);
    }

    fn pending_with_request() -> (App, Approval) {
        let app = App::from_manifest("app-2".into(), "olive".into(), live_manifest(), Policy::builtin(), now());
        let request = Approval::new(
            "apr-1".into(),
            &app,
            ApprovalKind::NewApp,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            now(),
        );
        (app, request)
    }

    fn live_manifest() -> Manifest {
        manifest_of(&live())
    }

    #[test]
    fn a_pending_app_is_amended_in_place_and_its_request_rescored() {
        let (app, request) = pending_with_request();
        let riley = Actor::new("riley", [Role::Reviewer]);
        let approved_once = decide(&request, &riley, DecisionKind::Approve, "", 0, Policy::builtin(), now()).unwrap();
        assert_eq!(approved_once.approvers().count(), 1);
        let Amendment::InPlace { app: amended, request: Some(rescored), resubmitted, .. } =
            run(&app, std::slice::from_ref(&approved_once), &olive(), &[("data_classification", json!("pii"))])
                .unwrap()
        else {
            panic!("in place")
        };
        assert!(!resubmitted);
        assert_eq!(amended.data_classification, DataClass::Pii);
        assert_eq!(amended.state, AppState::Pending);
        assert_eq!((rescored.risk_score_at_time, rescored.review_tier), (70, Tier::High));
        assert_eq!(rescored.due_at, request.due_at, "the SLA runs on while pending");
        assert_eq!(rescored.approvers().count(), 0, "an approval of the old manifest no longer counts");
    }

    #[test]
    fn amending_a_request_awaiting_changes_resubmits_it_with_a_new_sla() {
        let (app, request) = pending_with_request();
        let riley = Actor::new("riley", [Role::Reviewer]);
        let asked =
            decide(&request, &riley, DecisionKind::RequestChanges, "add an SBOM", 0, Policy::builtin(), now()).unwrap();
        assert_eq!(asked.status, ApprovalStatus::ChangesRequested);
        assert_eq!(asked.changes_asked().unwrap().comment, "add an SBOM");
        let Amendment::InPlace { request: Some(back), resubmitted, .. } =
            run(&app, &[asked], &olive(), &[("controls.sbom", json!(true))]).unwrap()
        else {
            panic!("in place")
        };
        assert!(resubmitted);
        assert_eq!(back.status, ApprovalStatus::Pending);
        assert_eq!(back.due_at, now() + Duration::hours(1) + Duration::hours(72));
    }

    #[test]
    fn a_change_request_awaiting_changes_is_revised_on_top_of_its_changes() {
        let app = live();
        let Amendment::Held { request, .. } =
            run(&app, &[], &olive(), &[("data_classification", json!("pii"))]).unwrap()
        else {
            panic!("held")
        };
        let mut request = *request;
        request.rev = 9;
        let riley = Actor::new("riley", [Role::Reviewer]);
        let asked =
            decide(&request, &riley, DecisionKind::RequestChanges, "PII needs DLP", 9, Policy::builtin(), now())
                .unwrap();
        let Amendment::Revised { request: revised, changes } =
            run(&app, &[asked], &olive(), &[("controls.dlp", json!(true))]).unwrap()
        else {
            panic!("revised")
        };
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["data_classification", "controls.dlp"]);
        assert_eq!(revised.status, ApprovalStatus::Pending);
        assert_eq!(revised.changes, changes);
    }

    #[test]
    fn an_approved_change_applies_its_fields_over_the_app_as_it_is_now() {
        let app = live();
        let Amendment::Held { request, .. } =
            run(&app, &[], &olive(), &[("data_classification", json!("pii"))]).unwrap()
        else {
            panic!("held")
        };
        // A small change came in meanwhile.
        let Amendment::Applied { app: meanwhile, .. } =
            run(&app, &[(*request).clone()], &olive(), &[("controls.dlp", json!(true))]).unwrap()
        else {
            panic!("applied")
        };
        let mut applied = (*meanwhile).clone();
        let changes = apply_held(&mut applied, &request, Policy::builtin(), now()).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(applied.data_classification, DataClass::Pii);
        assert!(applied.controls.dlp, "the change made meanwhile is kept");
        assert_eq!(applied.version, meanwhile.version + 1);
        assert_eq!(applied.risk.score, 70);
    }

    #[test]
    fn manifest_text_is_read_as_toml_or_json() {
        let text = to_toml(&manifest());
        assert_eq!(parse_manifest(&text, false).unwrap(), manifest());
        let json_text = serde_json::to_string(&manifest()).unwrap();
        assert_eq!(parse_manifest(&json_text, true).unwrap(), manifest());
        let bad = text.replace("expected_users = 250", "expected_users = \"many\"");
        let problems = parse_manifest(&bad, false).unwrap_err();
        assert!(problems[0].contains("expected_users") && problems[0].contains("u32"), "{problems:?}");
        let empty_name = text.replace("name = \"sales-quoting\"", "name = \"\"");
        assert_eq!(parse_manifest(&empty_name, false).unwrap_err(), ["name: must not be empty"]);
    }

    #[test]
    fn a_renewal_sent_back_for_changes_returns_when_the_owner_amends() {
        let mut app = live();
        app.state = AppState::ReadOnly;
        let mut renewal = Approval::new(
            "apr-r".into(),
            &app,
            ApprovalKind::Renewal,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            now(),
        );
        renewal.rev = 3;
        let riley = Actor::new("riley", [Role::Reviewer]);
        let asked =
            decide(&renewal, &riley, DecisionKind::RequestChanges, "add backups", 3, Policy::builtin(), now()).unwrap();
        let Amendment::Applied { resubmitted, .. } =
            run(&app, std::slice::from_ref(&asked), &olive(), &[("controls.dlp", json!(true))]).unwrap()
        else {
            panic!("applied")
        };
        let [back] = resubmitted.as_slice() else { panic!("{resubmitted:?}") };
        assert_eq!(back.status, ApprovalStatus::Pending);
        assert_eq!(back.due_at, now() + Duration::hours(1) + Duration::hours(72));
        // A pending one is left as it is.
        let Amendment::Applied { resubmitted, .. } =
            run(&app, &[renewal], &olive(), &[("controls.dlp", json!(true))]).unwrap()
        else {
            panic!("applied")
        };
        assert!(resubmitted.is_empty());
    }
}
