//! The demo's adopted app: omar's `ledger-exporter`, found by discovery,
//! taken through review by its owner with a manifest of his own, by the
//! same call `govdeck intake FILE --adopt ledger-exporter` makes
//! ([`crate::server::intake::adopt_app`]): it is pending a medium review
//! under its discovered id, with its `app.adopted` and `approval.requested`
//! events.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::SeedError;
use crate::domain::{Actor, Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, Manifest, Role, TtlClass};
use crate::server::intake::adopt_app;
use crate::server::ops::Ctx;
use crate::server::request::Origin;

/// The discovered app of the seed's scripts that the demo adopts.
pub const ADOPTED_APP: &str = "ledger-exporter";
/// Who adopts it: its owner.
pub const ADOPTED_BY: &str = "omar";

/// The manifest omar wrote for it.
fn manifest() -> Manifest {
    Manifest {
        name: ADOPTED_APP.into(),
        purpose: "Exports the general ledger to the finance data warehouse every night".into(),
        owner: None,
        team: "finance".into(),
        sponsor: "cfo".into(),
        cost_center: "CC-2001".into(),
        data_classification: DataClass::Internal,
        expected_users: 25,
        external_connectivity: Connectivity::SaasConnector,
        execution_environment: ExecEnv::Sandboxed,
        connectors: vec!["netsuite".into()],
        endpoints: Vec::new(),
        secrets: vec!["netsuite-export-key".into()],
        environments: vec!["production".into()],
        lifecycle_tier: LifecycleTier::Standard,
        ttl_class: TtlClass::Supported,
        retention_days: 365,
        monthly_budget: 80.0,
        controls: Controls { otel: true, backups: true, sbom: false, secrets_in_vault: true, dlp: false },
    }
}

/// Adopts [`ADOPTED_APP`] when the seeded catalog holds it (a catalog of a
/// few apps has none of the scripted ones): `govdeck seed`'s adoption. True
/// when it was adopted.
pub fn adopt_if_present(conn: &Connection, now: DateTime<Utc>) -> Result<bool, SeedError> {
    let present: i64 = conn.query_row(
        "SELECT COUNT(*) FROM apps WHERE owner = ?1 AND state = 'discovered' AND json_extract(data, '$.name') = ?2",
        [ADOPTED_BY, ADOPTED_APP],
        |row| row.get(0),
    )?;
    if present == 0 {
        return Ok(false);
    }
    adopt(conn, now)?;
    Ok(true)
}

/// Adopts [`ADOPTED_APP`] as [`ADOPTED_BY`] at `now`, in one transaction.
pub fn adopt(conn: &Connection, now: DateTime<Utc>) -> Result<(), SeedError> {
    let id: String = conn.query_row(
        "SELECT id FROM apps WHERE owner = ?1 AND state = 'discovered' AND json_extract(data, '$.name') = ?2",
        [ADOPTED_BY, ADOPTED_APP],
        |row| row.get(0),
    )?;
    let actor = Actor::new(ADOPTED_BY, [Role::Owner]);
    let origin = Origin::default();
    adopt_app(conn, &Ctx { actor: &actor, origin: &origin, policy: super::policy(), now }, &id, manifest())
        .map_err(|refused| SeedError::Adoption(refused.message))?;
    Ok(())
}
