//! The console's local SQLite cache: one database per server and user,
//! created on first use. It holds what the user may read of the catalog,
//! the audit events with their hashes, the sync cursors and the verified
//! audit head, and the outbox of actions not yet confirmed by the server.
//! The console and the scriptable commands read only this.

pub mod audit;
pub mod audit_search;
pub mod catalog;
pub mod checkpoints;
pub mod outbox;
pub mod proofs;
mod schema;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cached JSON does not decode")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{kind} {id:?} is not in the cache; run `govdeck sync` first")]
    NotFound { kind: &'static str, id: String },
    #[error("cannot create the cache directory {path}")]
    Dir { path: String, source: std::io::Error },
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// Cursor keys in `meta`.
pub const CHANGES_CURSOR: &str = "changes_next";
pub const LAST_SYNC_AT: &str = "last_sync_at";
/// When the server last refused this cache's token (401 or 403 on `/v1/me`),
/// RFC 3339; removed as soon as the server accepts it again.
pub const TOKEN_REFUSED_AT: &str = "token_refused_at";
pub const ME: &str = "me";
pub const SERVER: &str = "server";
/// `all` when the user reads the whole catalog (and so the whole chain), `owner` otherwise.
pub const VISIBILITY: &str = "visibility";
/// The last checkpoint seq pulled from the server.
pub const CHECKPOINTS_CURSOR: &str = "checkpoints_after";
/// The public key (hex) the cached checkpoints were checked with.
pub const SERVER_KEY: &str = "server_key";

/// The page size of a new cache, in bytes. An app's row (its manifest
/// JSON and summary columns, ~1.4 KB) fits twice in a 4 KiB page with a
/// third of the page left empty; 16 KiB pages hold eleven. Measured on a
/// 100k-app / 1M-event cache: 770 MB at 4 KiB, 706 MB at 16 KiB.
pub const PAGE_SIZE: u32 = 16384;

pub struct Cache {
    conn: Connection,
}

impl Cache {
    pub fn open(path: &Path) -> Result<Cache> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| CacheError::Dir { path: dir.display().to_string(), source })?;
        }
        Cache::init(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<Cache> {
        Cache::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Cache> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Only a new, empty database takes it (before its first table); an
        // existing cache keeps the size it was made with.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A 64 MiB page cache: sync writes large pages, the console reads them.
        conn.pragma_update(None, "cache_size", -65536)?;
        schema::migrate(&mut conn)?;
        let tx = conn.transaction()?;
        catalog::backfill_summaries(&tx)?;
        tx.commit()?;
        catalog::create_secondary_indexes(&conn)?;
        audit::create_secondary_indexes(&conn)?;
        Ok(Cache { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one write transaction; commits when it returns `Ok`.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<CacheError>,
    {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(CacheError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(CacheError::from)?;
        Ok(value)
    }

    /// Runs `f` over one consistent snapshot.
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<CacheError>,
    {
        let tx = self.conn.transaction().map_err(CacheError::from)?;
        let value = f(&tx)?;
        tx.finish().map_err(CacheError::from)?;
        Ok(value)
    }
}

/// Page cache for reads of the whole cache (every app, every request). Each
/// row is read once, so a large cache buys nothing there and stays resident
/// (it was 60 of the console's MiB at 100k apps), and filling and freeing it
/// took a tenth of `govdeck apps`; sync writes keep the cache's own size.
const READ_PAGE_CACHE_KIB: i64 = 2048;

/// Runs `read` with a small page cache, then gives the pages back and
/// restores the connection's size.
pub fn with_small_page_cache<T, E: From<CacheError>>(
    conn: &Connection,
    read: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let size: i64 = conn.pragma_query_value(None, "cache_size", |row| row.get(0)).map_err(CacheError::from)?;
    conn.pragma_update(None, "cache_size", -READ_PAGE_CACHE_KIB).map_err(CacheError::from)?;
    conn.execute_batch("PRAGMA shrink_memory").map_err(CacheError::from)?;
    let result = read();
    conn.pragma_update(None, "cache_size", size).map_err(CacheError::from)?;
    result
}

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |row| row.get(0)).optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

pub fn meta_delete(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([key])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "page_size", |row| row.get(0)).unwrap()
    }

    #[test]
    fn a_new_cache_has_large_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let new = Cache::open(&dir.path().join("new.sqlite")).unwrap();
        assert_eq!(page_size(new.conn()), i64::from(PAGE_SIZE));

        // A cache made before: 4 KiB pages, with a row in it.
        let old_path = dir.path().join("old.sqlite");
        {
            let mut conn = Connection::open(&old_path).unwrap();
            conn.pragma_update(None, "page_size", 4096).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            schema::migrate(&mut conn).unwrap();
            meta_set(&conn, ME, "{\"user\":\"riley\"}").unwrap();
        }
        let old = Cache::open(&old_path).unwrap();
        assert_eq!(page_size(old.conn()), 4096);
        assert_eq!(meta_get(old.conn(), ME).unwrap().as_deref(), Some("{\"user\":\"riley\"}"));
        let check: String = old.conn().query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
}
