//! Copying the cache's write-ahead log into the database on a thread and
//! connection of its own while a long sync writes. SQLite's automatic
//! checkpoint runs inside the commit that crosses its threshold, on the
//! writer's thread: during a first sync that was about a sixth of the
//! writer's time, which is the sync's critical path. A passive checkpoint on
//! another connection copies the same frames beside the writer instead of
//! in front of it (SQLite lets one run while a writer appends). It changes
//! nothing about what a commit guarantees: a kill at any moment leaves the
//! database and its log consistent, as any checkpoint does.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the copier looks for new frames.
const COPY_EVERY_MS: u64 = 10;
/// SQLite's default automatic checkpoint threshold (pages), given back to the
/// writer's connection when the copier stops.
pub const DEFAULT_AUTOCHECKPOINT_PAGES: u32 = 1000;

/// A running copier; [`WalCopier::stop`] ends it.
pub struct WalCopier {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl WalCopier {
    /// Starts copying the log of the database at `path`; `None` when it
    /// cannot (an in-memory database, or no second connection), and then
    /// the writer's own checkpoints go on as before.
    pub fn start(path: &str) -> Option<WalCopier> {
        if path.is_empty() {
            return None;
        }
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(Duration::from_millis(100)).ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("govdeck-wal".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_millis(COPY_EVERY_MS)) {
                    // PASSIVE never waits for the writer; a busy or failed
                    // round is simply tried again on the next tick, and the
                    // writer's automatic checkpoint covers what is left.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(WalCopier { stop, thread })
    }

    /// Stops the copier and waits for its last round to finish.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Sets the writer connection's automatic checkpoint threshold (0: none).
pub fn set_autocheckpoint(conn: &Connection, pages: u32) -> rusqlite::Result<()> {
    conn.query_row(&format!("PRAGMA wal_autocheckpoint = {pages}"), [], |_| Ok(()))
}
