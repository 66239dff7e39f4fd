//! The console's local SQLite cache: one database per server and user,
//! created on first use. It holds what the user may read of the catalog,
//! the audit events with their hashes, the sync cursors and the verified
//! audit head, and the outbox of actions not yet confirmed by the server.
//! The console and the scriptable commands read only this.

pub mod audit;
pub mod catalog;
pub mod checkpoints;
pub mod outbox;
mod schema;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[error("the cache did not go back to its write-ahead log (journal mode {0})")]
    JournalMode(String),
    #[error("cannot create the cache directory {path}")]
    Dir { path: String, source: std::io::Error },
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// Cursor keys in `meta`.
pub const CHANGES_CURSOR: &str = "changes_next";
pub const LAST_SYNC_AT: &str = "last_sync_at";
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
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Only a new, empty database takes it (before its first table); an
        // existing cache keeps the size it was made with.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        // A first load running in another process keeps its rollback
        // journal (see [`FirstLoad`]): this connection reads and writes
        // through it, waiting on each page's lock, and leaves the indexes
        // to the loader, which builds them at its end.
        let loading_elsewhere = journal_mode(&conn)? != "wal" && conn.path().is_some_and(first_load_running);
        if !loading_elsewhere {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A 64 MiB page cache: sync writes large pages, the console reads them.
        conn.pragma_update(None, "cache_size", -65536)?;
        schema::migrate(&mut conn)?;
        let tx = conn.transaction()?;
        catalog::backfill_summaries(&tx)?;
        tx.commit()?;
        if !loading_elsewhere {
            catalog::create_secondary_indexes(&conn)?;
            audit::create_secondary_indexes(&conn)?;
        }
        Ok(Cache { conn })
    }

    /// Starts a first load written once: the cache leaves its write-ahead
    /// log (every page of which is written twice, to the log and then into
    /// the database) for a rollback journal, which holds only the pages a
    /// transaction changes that existed before it, so an append is written
    /// once. `None` when it cannot: an in-memory cache, another connection
    /// open on it (SQLite leaves WAL only for the last one), or another load
    /// running; the load then goes through the log as before.
    ///
    /// Each transaction still commits whole (a kill leaves a hot journal
    /// the next open rolls back). Another process that opens the cache
    /// meanwhile sees the lock of [`first_load_path`] and keeps the journal;
    /// its reads and writes wait for the page being written (the busy
    /// timeout), as a reader and a writer wait for each other there.
    pub fn begin_first_load(&mut self) -> Result<Option<FirstLoad>> {
        let Some(path) = self.conn.path().filter(|path| !path.is_empty()).map(first_load_path) else {
            return Ok(None);
        };
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&path);
        let Ok(lock) = lock else { return Ok(None) };
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) | Err(TryLockError::Error(_)) => return Ok(None),
        }
        // Leaving WAL waits for no one: another connection means no.
        self.conn.busy_timeout(Duration::ZERO)?;
        let mode: rusqlite::Result<String> = self.conn.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0));
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        match mode {
            Ok(mode) if mode == "delete" => Ok(Some(FirstLoad { lock })),
            Ok(_) => Ok(None),
            Err(err) if is_busy(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Ends [`Self::begin_first_load`]: the cache goes back to its
    /// write-ahead log (waiting for readers, as a commit does).
    pub fn end_first_load(&mut self, load: FirstLoad) -> Result<()> {
        let mode = journal_mode_set(&self.conn, "WAL");
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        drop(load.lock);
        match mode? {
            mode if mode == "wal" => Ok(()),
            mode => Err(CacheError::JournalMode(mode)),
        }
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

/// How long a connection waits for another's lock on the cache.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A first load written through a rollback journal; see
/// [`Cache::begin_first_load`]. Holds the lock of [`first_load_path`].
pub struct FirstLoad {
    lock: File,
}

/// The file a first load holds locked beside the cache at `db`.
pub fn first_load_path(db: &str) -> PathBuf {
    PathBuf::from(format!("{db}-load"))
}

/// Whether another process holds the first-load lock of the cache at `db`.
fn first_load_running(db: &str) -> bool {
    let Ok(file) = File::open(first_load_path(db)) else { return false };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}

fn journal_mode(conn: &Connection) -> Result<String> {
    Ok(conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?)
}

fn journal_mode_set(conn: &Connection, mode: &str) -> Result<String> {
    Ok(conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |row| row.get(0))?)
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
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
