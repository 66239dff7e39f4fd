//! Connections for the server, and the order in which calls get them.
//!
//! SQLite takes one writer at a time and, in WAL mode, readers beside it.
//! Every call runs on tokio's blocking pool so a query never stalls the
//! async workers, in one of three lanes, so that a decision never queues
//! behind the page reads of many syncing clients:
//!
//! * **writes** (decisions, intake, renewals, ingest, the jobs): the one
//!   writer connection, behind a mutex; never behind a read;
//! * **lookups** (the bearer token of every call, the audit head): point
//!   queries of microseconds, on a connection of their own;
//! * **page reads** (`/v1/changes`, `/v1/audit`, checkpoints): at most one
//!   per core at a time. The others wait their turn in a fair queue as
//!   futures, not as threads, so they do not take the cores from the writer
//!   (with every read on a thread of its own, 50 clients made ~50 runnable
//!   threads on 2 cores and a decision got a small share of one).
//!
//! SQLite's automatic WAL checkpoint would run inside whichever commit
//! crossed its threshold, so a decision paid now and then for copying the
//! log into the database and syncing it. The writer leaves that to
//! [`Db::checkpoint_wal`], which the server runs every
//! [`WAL_CHECKPOINT_INTERVAL_MS`] on a connection of its own: a passive
//! checkpoint, which waits for no writer or reader. The log only starts
//! over at a write that finds it copied whole with no reader still in it,
//! and a passive checkpoint beside a busy writer and readers never copies
//! it whole; so once it holds [`WAL_RESTART_FRAMES`] frames the job holds
//! back the page reads, copies what came in meanwhile, and holds back the
//! writer too for a last pass over the few writes since. Writes wait for
//! that last pass (it syncs the database file: tens of milliseconds on a
//! busy machine) once per [`WAL_RESTART_FRAMES`] frames written, every
//! ~20 s under 50 clients (a restart checkpoint instead held the writer
//! while it waited for readers: decisions behind it waited up to 190 ms).

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::signing::AuditSigner;
use super::timings::{Stopwatch, Timings};
use crate::store::{Store, StoreError};

/// Most page reads run at once (fewer on a machine with fewer cores).
const MAX_READERS: usize = 4;
/// How often the server copies the write-ahead log into the database.
pub const WAL_CHECKPOINT_INTERVAL_MS: u64 = 250;
/// A log this long (~128 MB) is copied whole, so that it starts over.
const WAL_RESTART_FRAMES: i64 = 32_768;

pub struct Db {
    writer: Mutex<Store>,
    lookups: Mutex<Store>,
    readers: Vec<Mutex<Store>>,
    /// One permit per reader connection: the fair queue of page reads.
    read_turns: Arc<Semaphore>,
    next_reader: AtomicUsize,
    checkpointer: Mutex<Store>,
    /// Write transactions committed, and the count the last checkpoint saw.
    commits: AtomicU64,
    checkpointed_at: AtomicU64,
    /// [`WAL_RESTART_FRAMES`], smaller in tests.
    wal_restart_frames: i64,
    /// Signs a checkpoint in any write transaction that made one due.
    signer: Option<Arc<AuditSigner>>,
    timings: Timings,
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Page reads that may run at once: one per core, at most [`MAX_READERS`].
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_READERS)
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        let writer = Store::open(path)?;
        writer.conn().pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = Store::open(path)?;
        let readers = (0..reader_count()).map(|_| Store::open(path).map(Mutex::new)).collect::<Result<Vec<_>, _>>()?;
        Ok(Db {
            writer: Mutex::new(writer),
            lookups: Mutex::new(Store::open(path)?),
            read_turns: Arc::new(Semaphore::new(readers.len())),
            readers,
            next_reader: AtomicUsize::new(0),
            checkpointer: Mutex::new(checkpointer),
            commits: AtomicU64::new(0),
            checkpointed_at: AtomicU64::new(0),
            wal_restart_frames: WAL_RESTART_FRAMES,
            signer: None,
            timings: Timings::from_env(),
        })
    }

    /// Like [`Db::open`], and every write transaction ends by letting
    /// `signer` checkpoint the audit head when one is due, so events and
    /// their checkpoint commit together.
    pub fn open_signed(path: &Path, signer: Arc<AuditSigner>) -> Result<Db, StoreError> {
        Ok(Db { signer: Some(signer), ..Db::open(path)? })
    }

    /// The timings of `GOVDECK_SERVER_TIMINGS` ([`super::timings`]).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// Runs `f` in one write transaction on the blocking pool.
    pub async fn write<T, F>(self: &Arc<Self>, name: &'static str, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        self.timed(name, Stopwatch::asked(&self.timings), move |db, stopwatch| {
            let mut store = lock(&db.writer);
            stopwatch.start();
            let result = store.write(|conn| {
                let value = f(conn)?;
                if let Some(signer) = &db.signer {
                    signer.checkpoint_if_due(conn)?;
                }
                Ok(value)
            });
            drop(store);
            if result.is_ok() {
                db.commits.fetch_add(1, Ordering::Relaxed);
            }
            result
        })
        .await
    }

    /// Runs the point query `f` in one read transaction on the lookup
    /// connection: for what every call needs first (its bearer token) and
    /// takes microseconds, so it never waits behind a page read.
    pub async fn lookup<T, F>(self: &Arc<Self>, name: &'static str, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        self.timed(name, Stopwatch::asked(&self.timings), move |db, stopwatch| {
            let mut store = lock(&db.lookups);
            stopwatch.start();
            store.read(f)
        })
        .await
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on a reader
    /// connection, once it is this call's turn (see the module doc).
    pub async fn read<T, F>(self: &Arc<Self>, name: &'static str, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        // Asked now: the wait for a turn counts as waiting.
        let stopwatch = Stopwatch::asked(&self.timings);
        // Never closed, so this only waits. The turn moves into the blocking
        // call: a caller that goes away does not free it before the read ends.
        let turn = Arc::clone(&self.read_turns).acquire_owned().await.map_err(ApiError::internal)?;
        self.timed(name, stopwatch, move |db, stopwatch| {
            let start = db.next_reader.fetch_add(1, Ordering::Relaxed);
            // With a turn there is always a free reader; should one still be
            // held, wait for the next in line.
            let mut store = (0..db.readers.len())
                .find_map(|offset| db.readers[(start + offset) % db.readers.len()].try_lock().ok())
                .unwrap_or_else(|| lock(&db.readers[start % db.readers.len()]));
            stopwatch.start();
            let result = store.read(f);
            drop(store);
            drop(turn);
            result
        })
        .await
    }

    /// Copies what the write-ahead log holds into the database, if anything
    /// was committed since the last time, without waiting for the writer or
    /// any reader (a passive checkpoint, on a connection of its own); when
    /// the log has grown to [`WAL_RESTART_FRAMES`], copies the rest with the
    /// page reads and the writer held back, so the next write starts it over.
    pub async fn checkpoint_wal(self: &Arc<Self>) -> Result<(), ApiError> {
        let commits = self.commits.load(Ordering::Relaxed);
        if self.checkpointed_at.swap(commits, Ordering::Relaxed) == commits {
            return Ok(());
        }
        let (frames, copied) = self.passive_checkpoint("wal_checkpoint", false).await?;
        if frames >= self.wal_restart_frames && copied < frames {
            let readers = u32::try_from(self.readers.len()).map_err(ApiError::internal)?;
            // Never closed, so this only waits.
            let turns = Arc::clone(&self.read_turns).acquire_many_owned(readers).await.map_err(ApiError::internal)?;
            let result = match self.passive_checkpoint("wal_checkpoint_more", false).await {
                // No write came in meanwhile: it is all copied already.
                Ok((frames, copied)) if copied == frames => Ok(()),
                Ok(_) => self.passive_checkpoint("wal_checkpoint_rest", true).await.map(|_| ()),
                Err(err) => Err(err),
            };
            drop(turns);
            result?;
        }
        Ok(())
    }

    /// `PRAGMA wal_checkpoint(PASSIVE)`, holding the writer back meanwhile
    /// if `hold_writer`: the frames in the log, and how many of them are now
    /// copied into the database.
    async fn passive_checkpoint(
        self: &Arc<Self>,
        name: &'static str,
        hold_writer: bool,
    ) -> Result<(i64, i64), ApiError> {
        self.timed(name, Stopwatch::asked(&self.timings), move |db, stopwatch| {
            let _writer = hold_writer.then(|| lock(&db.writer));
            let store = lock(&db.checkpointer);
            stopwatch.start();
            store
                .conn()
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)))
                .map_err(|err| ApiError::from(StoreError::from(err)))
        })
        .await
    }

    /// Runs `job` on the blocking pool as call `name`, asked when
    /// `stopwatch` was: `job` takes its connection and starts the stopwatch
    /// once it holds it, so the timings tell the wait from the run; the call
    /// is recorded when `job` has let go of everything it held.
    async fn timed<T, J>(self: &Arc<Self>, name: &'static str, mut stopwatch: Stopwatch, job: J) -> Result<T, ApiError>
    where
        T: Send + 'static,
        J: FnOnce(&Db, &mut Stopwatch) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let result = job(&db, &mut stopwatch);
            stopwatch.finish(&db.timings, name);
            result
        })
        .await
        .map_err(ApiError::internal)?
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn open(dir: &Path) -> Arc<Db> {
        Arc::new(Db { wal_restart_frames: 20, ..Db::open(&dir.join("db.sqlite")).unwrap() })
    }

    /// A write of a few pages.
    async fn write(db: &Arc<Db>, key: String) {
        db.write("test", move |conn| {
            conn.execute("INSERT INTO meta(key, value) VALUES (?1, ?2)", [key, "x".repeat(10_000)])
                .map_err(|err| ApiError::from(StoreError::from(err)))
        })
        .await
        .unwrap();
    }

    /// A page read that holds its snapshot for `hold`.
    fn slow_read(db: &Arc<Db>, hold: Duration) -> tokio::task::JoinHandle<()> {
        let db = Arc::clone(db);
        tokio::spawn(async move {
            db.read("test", move |conn| {
                conn.query_row("SELECT COUNT(*) FROM meta", [], |row| row.get::<_, i64>(0))
                    .map_err(|err| ApiError::from(StoreError::from(err)))?;
                std::thread::sleep(hold);
                Ok(())
            })
            .await
            .unwrap();
        })
    }

    fn wal_frames(dir: &Path) -> i64 {
        let conn = Connection::open(dir.join("db.sqlite")).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lookups_and_writes_do_not_wait_for_page_reads() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let reads: Vec<_> = (0..db.readers.len() * 3).map(|_| slow_read(&db, Duration::from_millis(400))).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let head = db.lookup("test", |conn| Ok(crate::store::audit::head(conn)?)).await.unwrap();
        assert_eq!(head.seq, 0);
        write(&db, "k".into()).await;
        assert!(started.elapsed() < Duration::from_millis(300), "waited {:?} behind page reads", started.elapsed());
        for read in reads {
            read.await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_log_starts_over_although_a_reader_held_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        write(&db, "first".into()).await;
        // A reader keeps the log from being copied past its snapshot while
        // the writes go on, as the readers of a busy server always do.
        let reader = slow_read(&db, Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(50)).await;
        for n in 0..20 {
            write(&db, format!("k{n}")).await;
        }
        let long = wal_frames(dir.path());
        assert!(long >= 40, "{long} frames");
        db.checkpoint_wal().await.unwrap();
        reader.await.unwrap();
        write(&db, "after".into()).await;
        let after = wal_frames(dir.path());
        assert!(after < long / 4, "the log did not start over: {long} frames, then {after}");
    }
}
