//! The app manifest as submitted at intake, and the catalog entry the server
//! keeps for it (manifest + risk + lifecycle state).

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::policy::Policy;
use super::risk::Risk;

/// Longest accepted name, owner, team, sponsor or cost centre.
pub const MAX_SHORT_FIELD_CHARS: usize = 120;
/// Longest accepted purpose.
pub const MAX_PURPOSE_CHARS: usize = 2000;
/// Most entries in one list (connectors, endpoints, secrets, environments).
pub const MAX_LIST_ITEMS: usize = 64;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {:?} (expected one of: {})",
                        stringify!($name),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

wire_enum!(
    /// How sensitive the data an app touches is.
    DataClass { Public => "public", Internal => "internal", Sensitive => "sensitive", Pii => "pii" }
);
wire_enum!(
    /// What an app talks to outside the platform.
    Connectivity { None => "none", SaasConnector => "saas_connector", ExternalApi => "external_api" }
);
wire_enum!(
    /// Where an app runs.
    ExecEnv { Sandboxed => "sandboxed", DesktopAgent => "desktop_agent" }
);
wire_enum!(
    /// How much the business leans on an app.
    LifecycleTier {
        Ephemeral => "ephemeral",
        Tactical => "tactical",
        Standard => "standard",
        BusinessCritical => "business_critical",
    }
);
wire_enum!(
    /// How long one approval or renewal keeps an app alive.
    TtlClass { Prototype => "prototype", Supported => "supported" }
);
wire_enum!(
    /// Where an app is in its life. `expiring` is `active` with under 14 days left.
    AppState {
        Discovered => "discovered",
        Pending => "pending",
        Rejected => "rejected",
        Active => "active",
        Expiring => "expiring",
        Quarantined => "quarantined",
        ReadOnly => "read_only",
        Decommissioned => "decommissioned",
    }
);

impl AppState {
    /// Active or expiring: the app may run and touch production data.
    pub fn is_live(self) -> bool {
        matches!(self, AppState::Active | AppState::Expiring)
    }
}

/// The controls a compliance review looks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Controls {
    #[serde(default)]
    pub otel: bool,
    #[serde(default)]
    pub backups: bool,
    #[serde(default)]
    pub sbom: bool,
    #[serde(default)]
    pub secrets_in_vault: bool,
    #[serde(default)]
    pub dlp: bool,
}

/// What an intake form submits. `owner` defaults to the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub team: String,
    #[serde(default)]
    pub sponsor: String,
    #[serde(default)]
    pub cost_center: String,
    pub data_classification: DataClass,
    pub expected_users: u32,
    pub external_connectivity: Connectivity,
    pub execution_environment: ExecEnv,
    #[serde(default)]
    pub connectors: Vec<String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Names of the secrets used, never their values.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    pub lifecycle_tier: LifecycleTier,
    pub ttl_class: TtlClass,
    #[serde(default)]
    pub retention_days: u32,
    #[serde(default)]
    pub monthly_budget: f64,
    #[serde(default)]
    pub controls: Controls,
}

/// A manifest field that breaks a rule, named so the caller can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

fn check_text(field: &'static str, value: &str, max_chars: usize, required: bool) -> Result<(), InvalidField> {
    if required && value.trim().is_empty() {
        return Err(InvalidField { field, problem: "must not be empty".into() });
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(InvalidField {
            field,
            problem: format!("is {chars} characters long, at most {max_chars} are allowed"),
        });
    }
    Ok(())
}

fn check_list(field: &'static str, items: &[String]) -> Result<(), InvalidField> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(InvalidField {
            field,
            problem: format!("has {} entries, at most {MAX_LIST_ITEMS} are allowed", items.len()),
        });
    }
    for item in items {
        check_text(field, item, MAX_SHORT_FIELD_CHARS * 4, true)?;
    }
    Ok(())
}

impl Manifest {
    /// Checks lengths and values that serde cannot: a manifest that passes is
    /// safe to store. The first of [`Manifest::problems`].
    pub fn validate(&self) -> Result<(), InvalidField> {
        match self.problems().into_iter().next() {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// Every rule of [`Manifest::validate`] this manifest breaks, one per
    /// field, in the order of the fields: all of them at once, so an author
    /// fixes a manifest in one round.
    pub fn problems(&self) -> Vec<InvalidField> {
        let mut checks = vec![
            check_text("name", &self.name, MAX_SHORT_FIELD_CHARS, true),
            check_text("purpose", &self.purpose, MAX_PURPOSE_CHARS, true),
        ];
        if let Some(owner) = &self.owner {
            checks.push(check_text("owner", owner, MAX_SHORT_FIELD_CHARS, true));
        }
        checks.extend([
            check_text("team", &self.team, MAX_SHORT_FIELD_CHARS, true),
            check_text("sponsor", &self.sponsor, MAX_SHORT_FIELD_CHARS, false),
            check_text("cost_center", &self.cost_center, MAX_SHORT_FIELD_CHARS, false),
            check_list("connectors", &self.connectors),
            check_list("endpoints", &self.endpoints),
            check_list("secrets", &self.secrets),
            check_list("environments", &self.environments),
        ]);
        if !self.monthly_budget.is_finite() || self.monthly_budget < 0.0 {
            checks.push(Err(InvalidField {
                field: "monthly_budget",
                problem: "must be a number of zero or more".into(),
            }));
        }
        checks.into_iter().filter_map(Result::err).collect()
    }

    /// The risk of this manifest under `policy`.
    pub fn risk(&self, policy: &Policy) -> Risk {
        policy.risk_of(self)
    }
}

/// A catalog entry: the manifest, its risk, and where it is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct App {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub owner: String,
    pub team: String,
    pub sponsor: String,
    pub cost_center: String,
    pub data_classification: DataClass,
    pub expected_users: u32,
    pub external_connectivity: Connectivity,
    pub execution_environment: ExecEnv,
    pub connectors: Vec<String>,
    pub endpoints: Vec<String>,
    pub secrets: Vec<String>,
    pub environments: Vec<String>,
    pub lifecycle_tier: LifecycleTier,
    pub ttl_class: TtlClass,
    pub retention_days: u32,
    pub monthly_budget: f64,
    #[serde(default)]
    pub monthly_spend: f64,
    pub controls: Controls,
    pub risk: Risk,
    pub state: AppState,
    /// When `state` last changed: the lifecycle counts its 7 and 30 days from here.
    pub state_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Unset until the app is first approved.
    pub expires_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Policy flags: `inactive_90d`, `retirement_scheduled`, `manifest_incomplete`,
    /// `orphaned` for an imported entry that vanished upstream, and
    /// `owner_revoked` for a live app whose owner's account was revoked.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Manifest version, bumped on every manifest change.
    pub version: u32,
    /// Global revision of the last change to this entry.
    pub rev: u64,
    /// Where the entry was imported from, for entries an importer created
    /// (absent for apps registered through intake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Box<Upstream>>,
    /// Set while a reviewer or a lead holds the app in quarantine
    /// ([`super::hold`]): the TTL ladder and renewals leave it alone until
    /// a reviewer releases it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<super::hold::Hold>,
}

/// What the lists, filters, sort orders, renewals and KPIs need of an app:
/// the console holds one per app (100k of them at scale) and reads the full
/// [`App`] from its cache only for a detail view.
///
/// Its text is [`CompactString`]: up to 24 bytes are held in place of the
/// pointer, so an id, a name, an owner and a team cost no allocation of
/// their own (a quarter of the console's memory at 100k apps went to them).
#[derive(Debug, Clone, PartialEq)]
pub struct AppSummary {
    pub id: CompactString,
    pub name: CompactString,
    pub owner: CompactString,
    pub team: CompactString,
    pub purpose: CompactString,
    pub data_classification: DataClass,
    pub expected_users: u32,
    pub ttl_class: TtlClass,
    pub risk: super::risk::RiskLevel,
    pub controls: Controls,
    pub state: AppState,
    pub state_since: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub monthly_budget: f64,
    pub monthly_spend: f64,
    /// [`App::manifest_complete`] when the summary was taken.
    pub complete: bool,
    pub rev: u64,
    /// Flagged [`FLAG_OWNER_REVOKED`]: the owner's account was revoked.
    pub owner_revoked: bool,
}

impl AppSummary {
    pub fn manifest_complete(&self) -> bool {
        self.complete
    }
}

impl From<&App> for AppSummary {
    fn from(app: &App) -> AppSummary {
        AppSummary {
            id: app.id.as_str().into(),
            name: app.name.as_str().into(),
            owner: app.owner.as_str().into(),
            team: app.team.as_str().into(),
            purpose: app.purpose.as_str().into(),
            data_classification: app.data_classification,
            expected_users: app.expected_users,
            ttl_class: app.ttl_class,
            risk: app.risk.into(),
            controls: app.controls,
            state: app.state,
            state_since: app.state_since,
            expires_at: app.expires_at,
            monthly_budget: app.monthly_budget,
            monthly_spend: app.monthly_spend,
            complete: app.manifest_complete(),
            rev: app.rev,
            owner_revoked: app.has_flag(FLAG_OWNER_REVOKED),
        }
    }
}

/// Where an imported catalog entry came from. The full upstream record
/// (labels, tags, annotations, spec) is kept beside the app by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upstream {
    /// The catalog it was imported from, e.g. `backstage`.
    pub source: String,
    /// Its key there, e.g. `component:default/quote-tool`.
    pub key: String,
    /// The owner as the upstream catalog names it, e.g. `group:default/sales-ops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_ref: Option<String>,
    /// The upstream type, e.g. `service` or `website`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// The upstream lifecycle, e.g. `production` or `experimental`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The system the entity is part of, as an entity ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The location that manages the entity (its provenance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    /// Where the entity's source lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_location: Option<String>,
    /// Risk and TTL inputs the upstream record did not state, which the
    /// importer set to their most conservative value until a human confirms them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
}

impl App {
    /// A new catalog entry for a validated manifest, waiting for its review.
    pub fn from_manifest(id: String, owner: String, manifest: Manifest, policy: &Policy, now: DateTime<Utc>) -> App {
        let risk = manifest.risk(policy);
        App {
            id,
            name: manifest.name,
            purpose: manifest.purpose,
            owner,
            team: manifest.team,
            sponsor: manifest.sponsor,
            cost_center: manifest.cost_center,
            data_classification: manifest.data_classification,
            expected_users: manifest.expected_users,
            external_connectivity: manifest.external_connectivity,
            execution_environment: manifest.execution_environment,
            connectors: manifest.connectors,
            endpoints: manifest.endpoints,
            secrets: manifest.secrets,
            environments: manifest.environments,
            lifecycle_tier: manifest.lifecycle_tier,
            ttl_class: manifest.ttl_class,
            retention_days: manifest.retention_days,
            monthly_budget: manifest.monthly_budget,
            monthly_spend: 0.0,
            controls: manifest.controls,
            risk,
            state: AppState::Pending,
            state_since: now,
            created_at: now,
            updated_at: now,
            expires_at: None,
            last_activity_at: Some(now),
            flags: Vec::new(),
            version: 1,
            rev: 0,
            upstream: None,
            hold: None,
        }
    }

    /// Whether the manifest has what a reviewer needs: a purpose, an owner,
    /// a team, a sponsor and a cost centre.
    pub fn manifest_complete(&self) -> bool {
        [&self.purpose, &self.owner, &self.team, &self.sponsor, &self.cost_center]
            .iter()
            .all(|field| !field.trim().is_empty())
            && !self.flags.iter().any(|flag| flag == FLAG_MANIFEST_INCOMPLETE)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn set_flag(&mut self, flag: &str, on: bool) {
        let present = self.has_flag(flag);
        if on && !present {
            self.flags.push(flag.to_string());
        } else if !on && present {
            self.flags.retain(|f| f != flag);
        }
    }

    /// Moves to `state` at `at`, keeping the time the state began.
    pub fn enter(&mut self, state: AppState, at: DateTime<Utc>) {
        self.state = state;
        self.state_since = at;
    }
}

pub const FLAG_INACTIVE: &str = "inactive_90d";
pub const FLAG_RETIREMENT_SCHEDULED: &str = "retirement_scheduled";
pub const FLAG_MANIFEST_INCOMPLETE: &str = "manifest_incomplete";
/// An imported entry whose upstream record has vanished: kept, for a human to decide.
pub const FLAG_ORPHANED: &str = "orphaned";
/// A live app whose owner's account was revoked: it has nobody to renew or
/// answer for it until it is transferred (`govdeck transfer`), which clears the flag.
pub const FLAG_OWNER_REVOKED: &str = "owner_revoked";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn manifest() -> Manifest {
        serde_json::from_str(
            r#"{"name":"sales-quoting","purpose":"Quotes from the CRM","owner":"olive",
                "team":"sales-ops","sponsor":"vp-sales","cost_center":"CC-1042",
                "data_classification":"pii","expected_users":250,
                "external_connectivity":"external_api","execution_environment":"sandboxed",
                "connectors":["salesforce"],"endpoints":["https://quotes.internal"],
                "secrets":["crm-api-key"],"environments":["production"],
                "lifecycle_tier":"standard","ttl_class":"supported","retention_days":365,
                "monthly_budget":200,
                "controls":{"otel":true,"backups":true,"sbom":false,"secrets_in_vault":true,"dlp":false}}"#,
        )
        .expect("the documented intake example parses")
    }

    #[test]
    fn documented_intake_example_parses_and_scores_by_the_rubric() {
        let manifest = manifest();
        manifest.validate().unwrap();
        // The intake example of docs/api.md: its factors (50 + 20 + 20 + 0) and the
        // rubric add up to 90 (an older design note said 80): the rubric wins.
        assert_eq!(manifest.risk(Policy::builtin()).score, 90);
    }

    #[test]
    fn unknown_enum_value_is_refused_with_its_name() {
        let json = serde_json::to_string(&manifest()).unwrap().replace("\"pii\"", "\"secret\"");
        let err = serde_json::from_str::<Manifest>(&json).unwrap_err().to_string();
        assert!(err.contains("secret"), "{err}");
    }

    #[test]
    fn unknown_field_is_refused() {
        let json = serde_json::to_string(&manifest()).unwrap().replace("\"purpose\"", "\"porpose\"");
        assert!(serde_json::from_str::<Manifest>(&json).is_err());
    }

    #[test]
    fn empty_and_oversized_fields_are_refused() {
        let mut m = manifest();
        m.name = "  ".into();
        assert_eq!(m.validate().unwrap_err().field, "name");
        let mut m = manifest();
        m.purpose = "x".repeat(MAX_PURPOSE_CHARS + 1);
        assert_eq!(m.validate().unwrap_err().field, "purpose");
        let mut m = manifest();
        m.connectors = vec!["c".into(); MAX_LIST_ITEMS + 1];
        assert_eq!(m.validate().unwrap_err().field, "connectors");
        let mut m = manifest();
        m.monthly_budget = -1.0;
        assert_eq!(m.validate().unwrap_err().field, "monthly_budget");
    }

    #[test]
    fn problems_lists_every_broken_field_and_validate_is_the_first() {
        assert_eq!(manifest().problems(), Vec::new());
        let mut m = manifest();
        m.name = " ".into();
        m.team = String::new();
        m.sponsor = "s".repeat(MAX_SHORT_FIELD_CHARS + 1);
        m.secrets = vec![String::new()];
        m.monthly_budget = f64::NAN;
        let fields: Vec<&str> = m.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["name", "team", "sponsor", "secrets", "monthly_budget"]);
        assert_eq!(m.validate().unwrap_err().field, "name");
    }

    #[test]
    fn enums_round_trip_through_their_names() {
        for state in AppState::ALL {
            assert_eq!(state.as_str().parse::<AppState>().unwrap(), *state);
        }
        assert!("archived".parse::<AppState>().is_err());
    }
}
