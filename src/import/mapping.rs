//! From a Backstage entity to a govdeck catalog entry: pure, no IO, no clock
//! reads. The rules (the module doc of [`crate::import`] says why):
//!
//! * key: `kind:namespace/name`, kind and namespace lowercased, namespace
//!   `default` when absent (never `metadata.uid`, which Backstage does not
//!   keep stable across re-registration);
//! * owner: the `ownedBy` relation's `targetRef`, else `spec.owner` (a short
//!   ref, kind `group` and the entity's namespace by default); the app's
//!   owner is the ref's name, the full ref is kept in `upstream.owner_ref`;
//! * team: `govdeck.io/team`, else the owning group's name; sponsor and cost
//!   centre: `govdeck.io/sponsor`, `govdeck.io/cost-center`;
//! * purpose: `metadata.description`; type, lifecycle and system (the
//!   `partOf` relation, else `spec.system`) go to `upstream`;
//! * risk inputs from govdeck's annotations ([`ANNOTATION_DATA_CLASSIFICATION`]
//!   and the others); one that is absent or unreadable is set to its most
//!   conservative value ([`conservative`]) and listed in `upstream.assumed`;
//! * lifecycle tier: `govdeck.io/lifecycle-tier`, else from `spec.lifecycle`
//!   (`production` → standard, anything else → tactical);
//! * the entry is `manifest_incomplete` while anything is assumed or any of
//!   purpose, owner, team, sponsor and cost centre is empty.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::app::{FLAG_MANIFEST_INCOMPLETE, FLAG_ORPHANED, MAX_PURPOSE_CHARS, MAX_SHORT_FIELD_CHARS, Upstream};
use crate::domain::{App, AppState, Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, Manifest, TtlClass};

pub const ANNOTATION_DATA_CLASSIFICATION: &str = "govdeck.io/data-classification";
pub const ANNOTATION_EXPECTED_USERS: &str = "govdeck.io/expected-users";
pub const ANNOTATION_CONNECTIVITY: &str = "govdeck.io/external-connectivity";
pub const ANNOTATION_ENVIRONMENT: &str = "govdeck.io/execution-environment";
pub const ANNOTATION_TTL_CLASS: &str = "govdeck.io/ttl-class";
pub const ANNOTATION_LIFECYCLE_TIER: &str = "govdeck.io/lifecycle-tier";
pub const ANNOTATION_TEAM: &str = "govdeck.io/team";
pub const ANNOTATION_SPONSOR: &str = "govdeck.io/sponsor";
pub const ANNOTATION_COST_CENTER: &str = "govdeck.io/cost-center";
pub const ANNOTATION_MANAGED_BY: &str = "backstage.io/managed-by-location";
pub const ANNOTATION_SOURCE_LOCATION: &str = "backstage.io/source-location";

/// The kind imported when the filter names none.
pub const DEFAULT_KIND: &str = "component";
/// Longest upstream reference or location kept in `upstream`.
const MAX_REF_CHARS: usize = 500;

/// The values an unknown risk or TTL input is assumed to have: the ones that
/// score highest and live shortest, so an app nobody has described can never
/// look safer than it is (pii, more than 100 users, an external API, a
/// desktop agent: 100 points, high risk; a prototype's 30-day TTL).
pub mod conservative {
    use crate::domain::{Connectivity, DataClass, ExecEnv, TtlClass};

    pub const DATA_CLASSIFICATION: DataClass = DataClass::Pii;
    /// The smallest count in the top band of the rubric (more than 100 users).
    pub const EXPECTED_USERS: u32 = 101;
    pub const CONNECTIVITY: Connectivity = Connectivity::ExternalApi;
    pub const ENVIRONMENT: ExecEnv = ExecEnv::DesktopAgent;
    pub const TTL_CLASS: TtlClass = TtlClass::Prototype;
}

/// A parsed entity reference, `kind:namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Parses `[kind:][namespace/]name`, filling what is missing from the defaults.
pub fn parse_ref(text: &str, default_kind: Option<&str>, default_namespace: &str) -> Option<EntityRef> {
    let text = text.trim();
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (namespace, name),
        None => (default_namespace, rest),
    };
    let kind = kind.or(default_kind)?;
    if kind.is_empty() || namespace.is_empty() || name.is_empty() || name.contains(['/', ':']) {
        return None;
    }
    Some(EntityRef { kind: kind.to_lowercase(), namespace: namespace.to_lowercase(), name: name.to_string() })
}

/// What the import makes of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// `kind:namespace/name`.
    pub key: String,
    /// Lowercased kind.
    pub kind: String,
    /// `metadata.etag`, else a digest of the entity.
    pub fingerprint: String,
    pub fields: Fields,
    pub upstream: Upstream,
    /// Annotations that were present but could not be read.
    pub warnings: Vec<String>,
}

/// The manifest fields an import owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
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
    pub lifecycle_tier: LifecycleTier,
    pub ttl_class: TtlClass,
}

/// Why an entity cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

fn str_at<'a>(entity: &'a Value, pointer: &str) -> Option<&'a str> {
    entity.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn annotation<'a>(entity: &'a Value, name: &str) -> Option<&'a str> {
    entity.get("metadata")?.get("annotations")?.get(name)?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// The lowercased kind of an entity, if it has one.
pub fn kind_of(entity: &Value) -> Option<String> {
    str_at(entity, "/kind").map(str::to_lowercase)
}

/// The entity's key, `kind:namespace/name`.
pub fn key_of(entity: &Value) -> Result<String, Unusable> {
    let kind = kind_of(entity).ok_or_else(|| Unusable("it has no kind".into()))?;
    let name = str_at(entity, "/metadata/name").ok_or_else(|| Unusable("it has no metadata.name".into()))?;
    let namespace = str_at(entity, "/metadata/namespace").unwrap_or("default").to_lowercase();
    if name.chars().count() > MAX_SHORT_FIELD_CHARS || namespace.chars().count() > MAX_SHORT_FIELD_CHARS {
        return Err(Unusable(format!("its name or namespace is longer than {MAX_SHORT_FIELD_CHARS} characters")));
    }
    Ok(format!("{kind}:{namespace}/{name}"))
}

/// The fingerprint that tells a changed entity: its etag, else a digest.
pub fn fingerprint_of(entity: &Value) -> String {
    match str_at(entity, "/metadata/etag") {
        Some(etag) => format!("etag:{etag}"),
        None => {
            // serde_json orders object keys, so equal entities give equal bytes.
            let bytes = serde_json::to_vec(entity).unwrap_or_default();
            format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
        }
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

fn relation_target<'a>(entity: &'a Value, relation: &'a str) -> impl Iterator<Item = &'a str> {
    entity
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |r| r.get("type").and_then(Value::as_str) == Some(relation))
        .filter_map(|r| r.get("targetRef").and_then(Value::as_str))
}

/// Reads an enum annotation leniently (`saas-connector` = `saas_connector`).
fn enum_annotation<T: std::str::FromStr<Err = String>>(
    entity: &Value,
    name: &'static str,
    warnings: &mut Vec<String>,
) -> Option<T> {
    let raw = annotation(entity, name)?;
    match raw.to_lowercase().replace('-', "_").parse::<T>() {
        Ok(value) => Some(value),
        Err(err) => {
            warnings.push(format!("{name}: {err}"));
            None
        }
    }
}

/// Maps an entity; `Err` when it has no usable key.
pub fn map_entity(entity: &Value) -> Result<Mapped, Unusable> {
    let key = key_of(entity)?;
    let kind = kind_of(entity).unwrap_or_default();
    let namespace = str_at(entity, "/metadata/namespace").unwrap_or("default").to_lowercase();
    let mut warnings = Vec::new();
    let mut assumed = Vec::new();

    let owner_ref = relation_target(entity, "ownedBy")
        .find_map(|target| parse_ref(target, None, &namespace))
        .or_else(|| str_at(entity, "/spec/owner").and_then(|owner| parse_ref(owner, Some("group"), &namespace)));
    let system = relation_target(entity, "partOf")
        .filter_map(|target| parse_ref(target, None, &namespace))
        .find(|target| target.kind == "system")
        .or_else(|| str_at(entity, "/spec/system").and_then(|system| parse_ref(system, Some("system"), &namespace)));

    let data_classification = enum_annotation(entity, ANNOTATION_DATA_CLASSIFICATION, &mut warnings);
    let expected_users = annotation(entity, ANNOTATION_EXPECTED_USERS).and_then(|raw| match raw.parse::<u32>() {
        Ok(users) => Some(users),
        Err(_) => {
            warnings.push(format!("{ANNOTATION_EXPECTED_USERS}: {raw:?} is not a whole number"));
            None
        }
    });
    let external_connectivity = enum_annotation(entity, ANNOTATION_CONNECTIVITY, &mut warnings);
    let execution_environment = enum_annotation(entity, ANNOTATION_ENVIRONMENT, &mut warnings);
    let ttl_class = enum_annotation(entity, ANNOTATION_TTL_CLASS, &mut warnings);
    let lifecycle_tier = enum_annotation(entity, ANNOTATION_LIFECYCLE_TIER, &mut warnings);
    let lifecycle = str_at(entity, "/spec/lifecycle");

    let mut assume = |field: &str, known: bool| {
        if !known {
            assumed.push(field.to_string());
        }
    };
    assume("data_classification", data_classification.is_some());
    assume("expected_users", expected_users.is_some());
    assume("external_connectivity", external_connectivity.is_some());
    assume("execution_environment", execution_environment.is_some());
    assume("ttl_class", ttl_class.is_some());

    let short = |text: Option<&str>| cut(text.unwrap_or_default(), MAX_SHORT_FIELD_CHARS);
    let owner = short(owner_ref.as_ref().map(|owner| owner.name.as_str()));
    let group_owner = owner_ref.as_ref().filter(|owner| owner.kind == "group").map(|owner| owner.name.as_str());
    let fields = Fields {
        name: short(str_at(entity, "/metadata/name")),
        purpose: cut(str_at(entity, "/metadata/description").unwrap_or_default(), MAX_PURPOSE_CHARS),
        owner,
        team: short(annotation(entity, ANNOTATION_TEAM).or(group_owner)),
        sponsor: short(annotation(entity, ANNOTATION_SPONSOR)),
        cost_center: short(annotation(entity, ANNOTATION_COST_CENTER)),
        data_classification: data_classification.unwrap_or(conservative::DATA_CLASSIFICATION),
        expected_users: expected_users.unwrap_or(conservative::EXPECTED_USERS),
        external_connectivity: external_connectivity.unwrap_or(conservative::CONNECTIVITY),
        execution_environment: execution_environment.unwrap_or(conservative::ENVIRONMENT),
        lifecycle_tier: lifecycle_tier.unwrap_or(match lifecycle.map(str::to_lowercase).as_deref() {
            Some("production") => LifecycleTier::Standard,
            _ => LifecycleTier::Tactical,
        }),
        ttl_class: ttl_class.unwrap_or(conservative::TTL_CLASS),
    };
    let reference = |text: Option<&str>| text.map(|text| cut(text, MAX_REF_CHARS));
    let upstream = Upstream {
        source: super::SOURCE_BACKSTAGE.to_string(),
        key: key.clone(),
        owner_ref: owner_ref.map(|owner| cut(&owner.to_string(), MAX_REF_CHARS)),
        entity_type: reference(str_at(entity, "/spec/type")),
        lifecycle: reference(lifecycle),
        system: system.map(|system| cut(&system.to_string(), MAX_REF_CHARS)),
        managed_by: reference(annotation(entity, ANNOTATION_MANAGED_BY)),
        source_location: reference(annotation(entity, ANNOTATION_SOURCE_LOCATION)),
        assumed,
    };
    Ok(Mapped { key, kind, fingerprint: fingerprint_of(entity), fields, upstream, warnings })
}

impl Mapped {
    /// Whether the manifest has everything a reviewer needs.
    pub fn complete(&self) -> bool {
        let f = &self.fields;
        self.upstream.assumed.is_empty()
            && [&f.purpose, &f.owner, &f.team, &f.sponsor, &f.cost_center].iter().all(|s| !s.trim().is_empty())
    }

    fn manifest(&self) -> Manifest {
        let f = self.fields.clone();
        Manifest {
            name: f.name,
            purpose: f.purpose,
            owner: Some(f.owner),
            team: f.team,
            sponsor: f.sponsor,
            cost_center: f.cost_center,
            data_classification: f.data_classification,
            expected_users: f.expected_users,
            external_connectivity: f.external_connectivity,
            execution_environment: f.execution_environment,
            connectors: Vec::new(),
            endpoints: Vec::new(),
            secrets: Vec::new(),
            environments: Vec::new(),
            lifecycle_tier: f.lifecycle_tier,
            ttl_class: f.ttl_class,
            retention_days: 0,
            monthly_budget: 0.0,
            controls: Controls::default(),
        }
    }

    /// A new entry: registered inventory awaiting governance (`discovered`).
    pub fn new_app(&self, id: String, now: DateTime<Utc>) -> App {
        let mut app = App::from_manifest(
            id,
            self.fields.owner.clone(),
            self.manifest(),
            crate::domain::policy::Policy::builtin(),
            now,
        );
        app.enter(AppState::Discovered, now);
        app.last_activity_at = None;
        app.upstream = Some(Box::new(self.upstream.clone()));
        app.set_flag(FLAG_MANIFEST_INCOMPLETE, !self.complete());
        app
    }

    /// `current` brought up to date with this entity, and the names of the
    /// fields that changed. An entry still `discovered` takes every imported
    /// field; one a human has taken further keeps its reviewed manifest and
    /// takes only the upstream record. Either way it stops being orphaned.
    pub fn update_app(&self, current: &App, now: DateTime<Utc>) -> (App, Vec<&'static str>) {
        let mut app = current.clone();
        let mut changed = Vec::new();
        if current.state == AppState::Discovered {
            let f = &self.fields;
            macro_rules! take {
                ($($field:ident),+) => {$(
                    if app.$field != f.$field {
                        app.$field = f.$field.clone();
                        changed.push(stringify!($field));
                    }
                )+};
            }
            take!(name, purpose, owner, team, sponsor, cost_center, data_classification, expected_users);
            take!(external_connectivity, execution_environment, lifecycle_tier, ttl_class);
            if !changed.is_empty() {
                app.risk = crate::domain::policy::Policy::builtin().assess(
                    app.data_classification,
                    app.expected_users,
                    app.external_connectivity,
                    app.execution_environment,
                );
                app.version += 1;
            }
            let incomplete = !self.complete();
            if app.has_flag(FLAG_MANIFEST_INCOMPLETE) != incomplete {
                app.set_flag(FLAG_MANIFEST_INCOMPLETE, incomplete);
                changed.push("flags");
            }
        }
        if app.has_flag(FLAG_ORPHANED) {
            app.set_flag(FLAG_ORPHANED, false);
            changed.push("orphaned");
        }
        if app.upstream.as_deref() != Some(&self.upstream) {
            app.upstream = Some(Box::new(self.upstream.clone()));
            changed.push("upstream");
        }
        if !changed.is_empty() {
            app.updated_at = now;
        }
        (app, changed)
    }
}

/// A filter checked, and the kinds it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    /// As given, trimmed: each one a `filter` parameter (OR between them).
    pub given: Vec<String>,
    /// The kinds that become apps: those the filters name, else [`DEFAULT_KIND`].
    pub kinds: Vec<String>,
    /// The filters in a canonical form: only a sweep of the same scope may
    /// orphan what an earlier sweep imported.
    pub scope: String,
}

/// Checks `filters` (`key=value[,key=value…]` each); none means `kind=component`.
pub fn parse_filters(filters: &[String]) -> Result<Filters, String> {
    let given: Vec<String> = if filters.is_empty() {
        vec![format!("kind={DEFAULT_KIND}")]
    } else {
        filters.iter().map(|filter| filter.trim().to_string()).collect()
    };
    let mut kinds = Vec::new();
    let mut canonical = Vec::new();
    for filter in &given {
        let mut parts = Vec::new();
        for condition in filter.split(',') {
            let (key, value) = match condition.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value.trim())),
                None => (condition.trim(), None),
            };
            if key.is_empty() || value.is_some_and(str::is_empty) {
                return Err(format!("filter {filter:?}: write key=value conditions separated by commas"));
            }
            if key.eq_ignore_ascii_case("kind")
                && let Some(kind) = value
            {
                kinds.push(kind.to_lowercase());
            }
            parts.push(match value {
                Some(value) => format!("{}={}", key.to_lowercase(), value.to_lowercase()),
                None => key.to_lowercase(),
            });
        }
        parts.sort();
        canonical.push(parts.join(","));
    }
    if kinds.is_empty() {
        kinds.push(DEFAULT_KIND.to_string());
    }
    kinds.sort();
    kinds.dedup();
    canonical.sort();
    canonical.dedup();
    Ok(Filters { given, kinds, scope: canonical.join(" | ") })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entity() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "quote-tool", "namespace": "Sales", "uid": "u-1", "etag": "e1",
                "description": "Quotes from the CRM",
                "annotations": {
                    "govdeck.io/data-classification": "internal",
                    "govdeck.io/expected-users": "40",
                    "govdeck.io/external-connectivity": "saas-connector",
                    "govdeck.io/execution-environment": "sandboxed",
                    "govdeck.io/ttl-class": "supported",
                    "govdeck.io/sponsor": "vp-sales",
                    "govdeck.io/cost-center": "CC-1",
                    "backstage.io/managed-by-location": "url:https://git/x/catalog-info.yaml"
                }
            },
            "spec": {"type": "website", "lifecycle": "production", "owner": "someone-else", "system": "crm"},
            "relations": [
                {"type": "ownedBy", "targetRef": "group:sales/sales-ops"},
                {"type": "partOf", "targetRef": "system:sales/quoting"}
            ]
        })
    }

    #[test]
    fn refs_parse_with_defaults() {
        let full = parse_ref("group:default/sales-ops", None, "x").unwrap();
        assert_eq!(full.to_string(), "group:default/sales-ops");
        assert_eq!(parse_ref("olive", Some("group"), "ns").unwrap().to_string(), "group:ns/olive");
        assert_eq!(parse_ref("User:Olive", None, "default").unwrap().to_string(), "user:default/Olive");
        assert_eq!(parse_ref("olive", None, "default"), None);
        assert_eq!(parse_ref("group:a/b/c", None, "default"), None);
    }

    #[test]
    fn a_fully_annotated_component_maps_completely() {
        let mapped = map_entity(&entity()).unwrap();
        assert_eq!(mapped.key, "component:sales/quote-tool");
        assert_eq!(mapped.fingerprint, "etag:e1");
        assert_eq!(mapped.fields.owner, "sales-ops");
        assert_eq!(mapped.fields.team, "sales-ops");
        assert_eq!(mapped.upstream.owner_ref.as_deref(), Some("group:sales/sales-ops"));
        assert_eq!(mapped.upstream.system.as_deref(), Some("system:sales/quoting"));
        assert_eq!(mapped.fields.external_connectivity, Connectivity::SaasConnector);
        assert_eq!(mapped.fields.lifecycle_tier, LifecycleTier::Standard);
        assert!(mapped.upstream.assumed.is_empty() && mapped.warnings.is_empty());
        assert!(mapped.complete());
        let app = mapped.new_app("app_1".into(), Utc::now());
        assert_eq!((app.state, app.risk.score), (AppState::Discovered, 30));
        assert!(!app.has_flag(FLAG_MANIFEST_INCOMPLETE));
    }

    #[test]
    fn unknown_inputs_are_assumed_conservatively_and_flagged() {
        let mut bare = entity();
        bare["metadata"]["annotations"] = json!({"govdeck.io/expected-users": "lots"});
        bare["relations"] = json!([]);
        bare["metadata"].as_object_mut().unwrap().remove("etag");
        let mapped = map_entity(&bare).unwrap();
        assert_eq!(mapped.fields.owner, "someone-else", "spec.owner is the fallback");
        assert_eq!(mapped.upstream.owner_ref.as_deref(), Some("group:sales/someone-else"));
        assert_eq!(mapped.upstream.system.as_deref(), Some("system:sales/crm"));
        assert_eq!(mapped.upstream.assumed.len(), 5);
        assert_eq!(mapped.warnings.len(), 1, "{:?}", mapped.warnings);
        assert!(mapped.fingerprint.starts_with("sha256:"));
        let app = mapped.new_app("app_1".into(), Utc::now());
        assert_eq!(app.risk.score, 100);
        assert!(app.has_flag(FLAG_MANIFEST_INCOMPLETE));
        assert!(!app.manifest_complete());
    }

    #[test]
    fn updates_touch_a_reviewed_manifest_only_through_the_upstream_record() {
        let now = Utc::now();
        let mapped = map_entity(&entity()).unwrap();
        let app = mapped.new_app("app_1".into(), now);
        assert_eq!(mapped.update_app(&app, now).1, Vec::<&str>::new());
        let mut changed_entity = entity();
        changed_entity["metadata"]["description"] = json!("New purpose");
        changed_entity["spec"]["lifecycle"] = json!("experimental");
        let changed = map_entity(&changed_entity).unwrap();
        let (updated, fields) = changed.update_app(&app, now);
        assert_eq!(fields, ["purpose", "lifecycle_tier", "upstream"]);
        assert_eq!(updated.version, app.version + 1);
        let mut active = app.clone();
        active.state = AppState::Active;
        let (kept, fields) = changed.update_app(&active, now);
        assert_eq!(fields, ["upstream"]);
        assert_eq!(kept.purpose, app.purpose);
    }

    #[test]
    fn filters_name_the_kinds_and_a_canonical_scope() {
        let none = parse_filters(&[]).unwrap();
        assert_eq!(
            (none.given.clone(), none.kinds.clone()),
            (vec!["kind=component".to_string()], vec!["component".into()])
        );
        let two = parse_filters(&["spec.type=service, Kind=Component".into(), "kind=resource".into()]).unwrap();
        assert_eq!(two.kinds, ["component", "resource"]);
        assert_eq!(two.scope, "kind=component,spec.type=service | kind=resource");
        assert_eq!(parse_filters(&["spec.type=website".into()]).unwrap().kinds, ["component"]);
        assert!(parse_filters(&["".into()]).is_err());
        assert!(parse_filters(&["kind=".into()]).is_err());
    }

    #[test]
    fn entities_without_a_key_are_unusable() {
        assert!(map_entity(&json!({"kind": "Component", "metadata": {}})).is_err());
        assert!(map_entity(&json!({"metadata": {"name": "x"}})).is_err());
    }
}
