//! Applying a policy: who may, what the server answers, and what changed
//! between two versions, said the way the audit event records it
//! (`tiers.high_from: 51 → 41`, `rego added: deny.rego`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{BundleFile, Policy, file::POLICY_TOML};
use crate::domain::role::{Actor, Role};

/// Why a caller may not apply a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("only an admin may apply a policy")]
    NotAdmin,
}

/// Only an admin changes the rules everyone is decided under.
pub fn may_apply(actor: &Actor) -> Result<(), ApplyError> {
    if actor.has(Role::Admin) { Ok(()) } else { Err(ApplyError::NotAdmin) }
}

/// `GET /v1/policy`: the active policy, its files and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyResponse {
    /// The SHA-256 of the canonical bundle, in hex.
    pub version: String,
    /// Its files, sorted by name.
    pub files: Vec<BundleFile>,
    pub active_since: DateTime<Utc>,
    /// The admin who applied it (the server itself for the built-in default
    /// it recorded on its first start).
    pub applied_by: String,
}

/// `PUT /v1/policy`: what applying a policy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyApplied {
    pub previous_version: String,
    pub version: String,
    /// False when the policy sent was already the active one (nothing recorded).
    pub changed: bool,
    /// What differs from the previous version, one line each.
    pub changes: Vec<String>,
}

/// What differs between `old` and `new`: each `policy.toml` key whose value
/// differs (`tiers.high_from: 51 → 41`; a key only one side has shows
/// `(unset)` on the other), keys in key order, then the Rego files added,
/// removed and changed, in name order. Empty for the same rules.
pub fn changes(old: &Policy, new: &Policy) -> Vec<String> {
    let mut lines = Vec::new();
    let old_keys = flat_keys(old);
    let new_keys = flat_keys(new);
    let mut keys: Vec<&String> = old_keys.keys().chain(new_keys.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (before, after) = (old_keys.get(key), new_keys.get(key));
        if before != after {
            lines.push(format!("{key}: {} → {}", shown(before), shown(after)));
        }
    }
    let old_rego: Vec<&BundleFile> = old.bundle().rego_files().collect();
    let new_rego: Vec<&BundleFile> = new.bundle().rego_files().collect();
    for file in &new_rego {
        match old_rego.iter().find(|other| other.name == file.name) {
            None => lines.push(format!("rego added: {}", file.name)),
            Some(other) if other.text != file.text => lines.push(format!("rego changed: {}", file.name)),
            Some(_) => {}
        }
    }
    for file in &old_rego {
        if !new_rego.iter().any(|other| other.name == file.name) {
            lines.push(format!("rego removed: {}", file.name));
        }
    }
    lines
}

fn shown(value: Option<&toml::Value>) -> String {
    value.map_or_else(|| "(unset)".to_string(), ToString::to_string)
}

/// Every leaf of `policy.toml` by its dotted path; an array of tables by
/// index (`rubric.expected_users[1].points`), any other array whole.
fn flat_keys(policy: &Policy) -> std::collections::BTreeMap<String, toml::Value> {
    let mut keys = std::collections::BTreeMap::new();
    let text = policy.bundle().file(POLICY_TOML).map_or("", |file| file.text.as_str());
    // A checked policy's policy.toml always parses.
    if let Ok(table) = text.parse::<toml::Table>() {
        flatten("", &toml::Value::Table(table), &mut keys);
    }
    keys
}

fn flatten(path: &str, value: &toml::Value, into: &mut std::collections::BTreeMap<String, toml::Value>) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                flatten(&join(key), value, into);
            }
        }
        toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{path}[{index}]"), item, into);
            }
        }
        other => {
            into.insert(path.to_string(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Bundle;

    fn toml() -> String {
        Policy::builtin().bundle().file(POLICY_TOML).unwrap().text.clone()
    }

    fn policy(toml: &str, rego: &[(&str, &str)]) -> Policy {
        let mut files = vec![BundleFile::new(POLICY_TOML, toml)];
        files.extend(rego.iter().map(|(name, text)| BundleFile::new(*name, *text)));
        Policy::from_bundle(Bundle::new(files)).unwrap()
    }

    #[test]
    fn the_same_rules_change_nothing_even_reformatted() {
        let base = policy(&toml(), &[]);
        assert!(changes(&base, &base).is_empty());
        let commented = policy(&format!("# a comment\n{}\n\n", toml()), &[]);
        assert_ne!(commented.version(), base.version(), "another version…");
        assert!(changes(&base, &commented).is_empty(), "…but the same rules");
    }

    #[test]
    fn a_changed_value_is_named_by_its_dotted_key() {
        let base = policy(&toml(), &[]);
        let stricter = policy(&toml().replace("high_from = 51", "high_from = 41"), &[]);
        assert_eq!(changes(&base, &stricter), ["tiers.high_from: 51 → 41"]);
        assert_eq!(changes(&stricter, &base), ["tiers.high_from: 41 → 51"]);
    }

    #[test]
    fn a_band_of_an_array_of_tables_is_named_by_its_index() {
        let base = policy(&toml(), &[]);
        let bands = &base.rules.rubric.expected_users;
        assert!(bands.len() >= 2);
        let text = toml();
        let needle = format!("from = {}", bands[1].from);
        assert!(text.contains(&needle), "the default spells its second band {needle:?}");
        let changed = policy(&text.replacen(&needle, &format!("from = {}", bands[1].from + 1), 1), &[]);
        assert_eq!(
            changes(&base, &changed),
            [format!("rubric.expected_users[1].from: {} → {}", bands[1].from, bands[1].from + 1)]
        );
    }

    #[test]
    fn rego_files_added_removed_and_changed_are_listed_by_name() {
        let before = policy(&toml(), &[("keep.rego", "package a\n"), ("edit.rego", "package b\n"), ("gone.rego", "x")]);
        let after = policy(&toml(), &[("keep.rego", "package a\n"), ("edit.rego", "package c\n"), ("new.rego", "y")]);
        assert_eq!(
            changes(&before, &after),
            ["rego changed: edit.rego", "rego added: new.rego", "rego removed: gone.rego"]
        );
    }

    #[test]
    fn only_admins_apply() {
        assert_eq!(may_apply(&Actor::new("ada", [Role::Admin])), Ok(()));
        for role in Role::ALL.into_iter().filter(|role| *role != Role::Admin) {
            assert_eq!(may_apply(&Actor::new("x", [role])), Err(ApplyError::NotAdmin), "{role}");
        }
    }
}
