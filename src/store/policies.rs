//! The policies the server has decided under (`policies`, one row per
//! activation, the newest active) and the one it decides under now.
//!
//! A row keeps the whole bundle as JSON, so every version a request,
//! decision or lifecycle event names can be read back as it was.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError};
use crate::domain::audit::format_timestamp;
use crate::domain::policy::{Bundle, Policy};

/// Who a database's first policy is recorded as applied by: the server
/// itself, when it started on a database that had none.
pub const BUILTIN_APPLIER: &str = "govdeck (built-in default)";

/// Step 10 of the server schema.
pub const TABLE_SQL: &str = "
    CREATE TABLE policies (
        seq           INTEGER PRIMARY KEY,
        version       TEXT NOT NULL,
        bundle        TEXT NOT NULL,
        active_since  TEXT NOT NULL,
        applied_by    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX policies_by_version ON policies(version);
    ";

/// One activation of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPolicy {
    pub version: String,
    pub bundle: Bundle,
    pub active_since: DateTime<Utc>,
    pub applied_by: String,
}

/// The version active now, without reading its bundle (cheap: the last row).
pub fn active_version(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT version FROM policies ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?)
}

/// The policy active now, if one was ever recorded.
pub fn active(conn: &Connection) -> Result<Option<StoredPolicy>> {
    let row: Option<(String, String, String, String)> = conn
        .prepare_cached("SELECT version, bundle, active_since, applied_by FROM policies ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .optional()?;
    let Some((version, bundle, active_since, applied_by)) = row else { return Ok(None) };
    let bundle: Bundle = serde_json::from_str(&bundle)?;
    let active_since = DateTime::parse_from_rfc3339(&active_since)
        .map_err(|err| StoreError::Invalid(format!("policy {version}: active_since {active_since:?}: {err}")))?
        .with_timezone(&Utc);
    Ok(Some(StoredPolicy { version, bundle, active_since, applied_by }))
}

/// Records `policy` as the active one from `at`, applied by `by`.
pub fn activate(conn: &Connection, policy: &Policy, by: &str, at: DateTime<Utc>) -> Result<StoredPolicy> {
    let bundle = serde_json::to_string(policy.bundle())?;
    conn.prepare_cached("INSERT INTO policies(version, bundle, active_since, applied_by) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![policy.version(), bundle, format_timestamp(at), by])?;
    Ok(StoredPolicy {
        version: policy.version().to_string(),
        bundle: policy.bundle().clone(),
        active_since: crate::domain::audit::truncate_to_micros(at),
        applied_by: by.to_string(),
    })
}

/// The active policy, parsed; a database with none records `default` as
/// active from `at` (by [`BUILTIN_APPLIER`]). A stored policy this build
/// cannot read is an error: the server must not decide under another one.
pub fn load_or_init(conn: &Connection, default: &Policy, at: DateTime<Utc>) -> Result<(Policy, StoredPolicy)> {
    if let Some(stored) = active(conn)? {
        let policy = Policy::from_bundle(stored.bundle.clone())
            .map_err(|problems| StoreError::Invalid(format!("the active policy {}: {problems}", stored.version)))?;
        return Ok((policy, stored));
    }
    let stored = activate(conn, default, BUILTIN_APPLIER, at)?;
    Ok((default.clone(), stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::BundleFile;
    use crate::store::Store;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    fn stricter() -> Policy {
        let text =
            Policy::builtin().bundle().file("policy.toml").unwrap().text.replace("high_from = 51", "high_from = 41");
        Policy::from_bundle(Bundle::new(vec![BundleFile::new("policy.toml", text)])).unwrap()
    }

    #[test]
    fn a_database_without_policies_records_the_default_once() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        assert_eq!(active_version(conn).unwrap(), None);
        let (policy, stored) = load_or_init(conn, Policy::builtin(), at(0)).unwrap();
        assert_eq!(policy.version(), Policy::builtin().version());
        assert_eq!((stored.applied_by.as_str(), stored.active_since), (BUILTIN_APPLIER, at(0)));
        // Opened again later: the same row, not a second one.
        let (_, again) = load_or_init(conn, Policy::builtin(), at(60)).unwrap();
        assert_eq!(again, stored);
        let rows: i64 = conn.query_row("SELECT count(*) FROM policies", [], |row| row.get(0)).unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn the_newest_activation_is_active_and_is_loaded_back_whole() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        load_or_init(conn, Policy::builtin(), at(0)).unwrap();
        let new = stricter();
        activate(conn, &new, "ada", at(10)).unwrap();
        assert_eq!(active_version(conn).unwrap().as_deref(), Some(new.version()));
        let (loaded, stored) = load_or_init(conn, Policy::builtin(), at(20)).unwrap();
        assert_eq!(loaded, new, "the bundle round-trips to the same policy");
        assert_eq!((stored.applied_by.as_str(), stored.active_since), ("ada", at(10)));
        // Going back to an older version is one more activation.
        activate(conn, Policy::builtin(), "ada", at(30)).unwrap();
        assert_eq!(active_version(conn).unwrap().as_deref(), Some(Policy::builtin().version()));
    }

    #[test]
    fn a_stored_policy_that_does_not_parse_is_refused_not_replaced() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let broken = serde_json::json!({"files": [{"name": "policy.toml", "text": "[tiers]\nhigh_from = \"x\"\n"}]});
        conn.execute(
            "INSERT INTO policies(version, bundle, active_since, applied_by) VALUES ('v', ?1, ?2, 'ada')",
            params![broken.to_string(), format_timestamp(at(0))],
        )
        .unwrap();
        let err = load_or_init(conn, Policy::builtin(), at(1)).unwrap_err();
        assert!(err.to_string().contains("the active policy v"), "{err}");
        assert_eq!(active_version(conn).unwrap().as_deref(), Some("v"));
    }
}
