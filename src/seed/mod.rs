//! Deterministic demo and scale data for the catalog server: apps in every
//! lifecycle state with the approval requests and the 90 days of hash-chained
//! audit history that explain them, written straight into an empty server
//! database. The same `seed` and `now` give the same rows, byte for byte
//! (only the demo users' tokens are random).
//!
//! * [`catalog`]: who and what each app is, and the state it is aimed at;
//! * [`story`]: the history that leads to that state, by the domain's rules;
//! * [`timeline`] and [`runtime`]: the audit log made of that history plus
//!   runtime events;
//! * [`bulk`]: the fast path that writes the same rows as the store's
//!   repositories, in one transaction;
//! * [`names`]: the word lists.

pub mod adopted;
mod bulk;
mod catalog;
mod names;
mod runtime;
mod story;
#[cfg(test)]
mod tests;
mod timeline;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, OptionalExtension};

use crate::domain::Role;
use crate::domain::api::ChangeKind;
use crate::domain::audit::truncate_to_micros;
use crate::store::{self, Store, StoreError};

/// The rules the seeded catalog's story is told under: the default policy,
/// so every score, review, date and step is one the server would make.
fn policy() -> &'static crate::domain::policy::Policy {
    crate::domain::policy::Policy::builtin()
}

/// How many apps the demo catalog holds.
pub const DEMO_APPS: usize = 400;
/// How many audit events the demo catalog holds.
pub const DEMO_EVENTS: usize = 20_000;
/// The demo catalog's seed.
pub const DEMO_SEED: u64 = 2026;
/// SQLite's page cache while the seed writes, in KiB (64 MiB).
const SEED_CACHE_KIB: i64 = 64 * 1024;
/// The audit log's index by app, rebuilt once after the bulk insert.
const AUDIT_APP_INDEX: &str = "audit_by_app";
/// Mixed into the seed for the audit log's random stream, so the catalog
/// does not change with the number of events.
const EVENT_STREAM: u64 = 0x5eed_a0d1_7e7e_0001;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub apps: usize,
    pub events: usize,
    pub seed: u64,
    /// The moment the catalog is seeded as of: states and history are relative to it.
    pub now: DateTime<Utc>,
}

/// What a seed wrote, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub apps: usize,
    pub approvals: usize,
    pub events: usize,
    pub elapsed: Duration,
}

/// A user the demo creates.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub name: &'static str,
    pub roles: &'static [Role],
}

/// The demo's users: two reviewers, a lead, two app owners, an auditor and the ingest bot.
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser { name: "riley", roles: &[Role::Reviewer] },
    DemoUser { name: "rosa", roles: &[Role::Reviewer] },
    DemoUser { name: "pat", roles: &[Role::Lead] },
    DemoUser { name: "olive", roles: &[Role::Owner] },
    DemoUser { name: "omar", roles: &[Role::Owner] },
    DemoUser { name: "ada", roles: &[Role::Auditor] },
    DemoUser { name: "ingest-bot", roles: &[Role::Ingest] },
];

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the database already holds {0} apps; seed only an empty database")]
    AlreadySeeded(usize),
    #[error("the database already holds {0} audit events; seed only an empty database")]
    AuditNotEmpty(u64),
    #[error("the demo's adoption of a discovered app was refused: {0}")]
    Adoption(String),
    #[error("writing the seed to the database failed")]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SeedError {
    fn from(err: rusqlite::Error) -> Self {
        SeedError::Store(StoreError::Sqlite(err))
    }
}

/// Fills an empty server database with `options.apps` apps, their requests
/// and `options.events` audit events, in one transaction. Refuses a
/// database that already holds apps or audit events.
pub fn seed(store: &mut Store, options: &SeedOptions) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let apps = store::apps::count(store.conn())?;
    if apps > 0 {
        return Err(SeedError::AlreadySeeded(apps as usize));
    }
    let head = store::audit::head(store.conn())?;
    if head.seq > 0 {
        return Err(SeedError::AuditNotEmpty(head.seq));
    }
    let tuning = FastWrites::start(store.conn())?;
    let written = store.write(|conn| write_all(conn, options));
    tuning.finish(store.conn())?;
    let (approvals, events) = written?;
    Ok(SeedReport { apps: options.apps, approvals, events, elapsed: started.elapsed() })
}

/// Writes the catalog, then the audit log; returns (approvals, events).
fn write_all(conn: &Connection, options: &SeedOptions) -> Result<(usize, usize), SeedError> {
    let now = truncate_to_micros(options.now);
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut event_rng = StdRng::seed_from_u64(options.seed ^ EVENT_STREAM);
    let mut writer = bulk::CatalogWriter::start(conn)?;
    let mut catalog = catalog::Catalog::new(options.apps, now);
    let mut history = timeline::Timeline::new(now);
    let mut approvals = 0;
    for index in 0..options.apps {
        let mut seeded = catalog.generate(&mut rng, index);
        if let Some((previous, _)) = &seeded.owner_before {
            writer.left(ChangeKind::App, &seeded.app.id, previous)?;
        }
        writer.app(&mut seeded.app)?;
        for approval in &mut seeded.approvals {
            if let Some((previous, _)) = &seeded.owner_before {
                writer.left(ChangeKind::Approval, &approval.id, previous)?;
            }
            writer.approval(approval)?;
        }
        approvals += seeded.approvals.len();
        history.add(&mut event_rng, seeded);
    }
    drop(writer);
    let events = without_index(conn, AUDIT_APP_INDEX, || history.write(conn, &mut event_rng, options.events))?;
    Ok((approvals, events))
}

/// Runs `write` with the index `name` dropped, then builds it again from its
/// own stored definition: one sort at the end costs less than a million
/// inserts into random places of it.
fn without_index<T>(conn: &Connection, name: &str, write: impl FnOnce() -> store::Result<T>) -> store::Result<T> {
    let definition: Option<String> = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", [name], |row| row.get(0))
        .optional()?;
    let Some(definition) = definition else { return write() };
    conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    let value = write()?;
    conn.execute_batch(&definition)?;
    Ok(value)
}

/// Connection settings for one big write, put back afterwards: no fsync
/// (if the program stops, the transaction still rolls back; only a power
/// cut during the seed could damage the file, which held no catalog yet)
/// and a bigger page cache for the inserts into the tables' key indexes.
struct FastWrites {
    synchronous: i64,
    cache_size: i64,
}

impl FastWrites {
    fn start(conn: &Connection) -> Result<FastWrites, SeedError> {
        let synchronous = conn.pragma_query_value(None, "synchronous", |row| row.get(0))?;
        let cache_size = conn.pragma_query_value(None, "cache_size", |row| row.get(0))?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -SEED_CACHE_KIB)?;
        Ok(FastWrites { synchronous, cache_size })
    }

    fn finish(self, conn: &Connection) -> Result<(), SeedError> {
        conn.pragma_update(None, "synchronous", self.synchronous)?;
        conn.pragma_update(None, "cache_size", self.cache_size)?;
        // The log the seed left is as large as the database; copy it in and
        // give the space back now rather than when the last connection closes.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// The demo catalog ([`DEMO_APPS`] apps, [`DEMO_EVENTS`] events, then the
/// adoption of one discovered app: [`adopted`], two events more) and the
/// [`DEMO_USERS`]; returns each demo user's name and token.
pub fn seed_demo(store: &mut Store, now: DateTime<Utc>) -> Result<Vec<(String, String)>, SeedError> {
    seed(store, &SeedOptions { apps: DEMO_APPS, events: DEMO_EVENTS, seed: DEMO_SEED, now })?;
    let at = truncate_to_micros(now);
    store.write(|conn| adopted::adopt(conn, at))?;
    add_demo_users(store, now)
}

/// Creates the [`DEMO_USERS`] in one transaction; returns each one's name and token.
pub fn add_demo_users(store: &mut Store, now: DateTime<Utc>) -> Result<Vec<(String, String)>, SeedError> {
    store.write(|conn| {
        DEMO_USERS
            .iter()
            .map(|user| Ok((user.name.to_string(), store::users::add(conn, user.name, user.roles, now)?)))
            .collect()
    })
}
