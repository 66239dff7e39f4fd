//! The server's SQLite store: schema and migrations, and one small
//! repository module per table. Every function takes a `&Connection` so the
//! caller decides the transaction; a state change and its audit event are
//! written in one.

pub mod admin;
pub mod approvals;
pub mod apps;
pub mod audit;
pub mod changes;
pub mod checkpoints;
pub mod idempotency;
pub mod merkle;
pub mod policies;
pub mod schema;
pub mod upstream;
pub mod users;

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id:?} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON does not decode")]
    Json(#[from] serde_json::Error),
    #[error("stored value is invalid: {0}")]
    Invalid(String),
    /// A new entry whose name is taken, e.g. `user "x" already exists`.
    #[error("{kind} {name:?} already exists{hint}")]
    AlreadyExists { kind: &'static str, name: String, hint: &'static str },
    #[error("the database was written by a newer govdeck (schema {found}, this build knows {known})")]
    SchemaTooNew { found: i64, known: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One connection to the server database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating and migrating when needed) the database at `path` in WAL mode.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        Store::init(conn)
    }

    /// Opens an existing database for reading only (used by `audit verify`).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store { conn })
    }

    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // One plan per statement, whatever the bound values. Without this,
        // SQLite (3.54) marks every `LIMIT ?` statement to be re-prepared
        // whenever its parameters are bound again, so each cached page query
        // was parsed and planned anew on every call (12 % of the server's CPU
        // under load). We keep no sqlite_stat tables, so no plan depended on
        // the values anyway.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one write transaction (taken at once, so two writers never
    /// deadlock on an upgrade); commits when it returns `Ok`.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so everything it reads is one snapshot.
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.finish().map_err(StoreError::from)?;
        Ok(value)
    }
}

/// Reads one value of the `meta` table.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |row| row.get(0)).optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A cached page query keeps its plan when it runs again with other
    /// values: nothing is parsed and planned twice.
    #[test]
    fn cached_limit_queries_are_not_prepared_again() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let sql = "SELECT seq FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        for (after, limit) in [(0, 10), (5, 11), (7, 501)] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let rows: Vec<i64> =
                stmt.query_map([after, limit], |row| row.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
            assert!(rows.is_empty());
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "LIMIT {limit}");
        }
    }
}
