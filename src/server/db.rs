//! Connections for the server: one writer (SQLite takes one at a time) and a
//! few readers (WAL lets them read beside it), each used on tokio's blocking
//! pool so a query never stalls the async workers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::error::ApiError;
use super::signing::AuditSigner;
use crate::store::{Store, StoreError};

/// Readers beside the writer; a handful covers many clients since reads are short.
const READERS: usize = 4;

pub struct Db {
    writer: Mutex<Store>,
    readers: Vec<Mutex<Store>>,
    next_reader: AtomicUsize,
    /// Signs a checkpoint in any write transaction that made one due.
    signer: Option<Arc<AuditSigner>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        let writer = Store::open(path)?;
        let readers = (0..READERS).map(|_| Store::open(path).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(Db { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0), signer: None })
    }

    /// Like [`Db::open`], and every write transaction ends by letting
    /// `signer` checkpoint the audit head when one is due, so events and
    /// their checkpoint commit together.
    pub fn open_signed(path: &Path, signer: Arc<AuditSigner>) -> Result<Db, StoreError> {
        Ok(Db { signer: Some(signer), ..Db::open(path)? })
    }

    /// Runs `f` in one write transaction on the blocking pool.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = db.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            store.write(|conn| {
                let value = f(conn)?;
                if let Some(signer) = &db.signer {
                    signer.checkpoint_if_due(conn)?;
                }
                Ok(value)
            })
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on the blocking pool.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let start = db.next_reader.fetch_add(1, Ordering::Relaxed);
            // Take a free reader if there is one, else wait for the next in turn.
            let mut store = (0..db.readers.len())
                .find_map(|offset| db.readers[(start + offset) % db.readers.len()].try_lock().ok())
                .unwrap_or_else(|| {
                    db.readers[start % db.readers.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
                });
            store.read(f)
        })
        .await
        .map_err(ApiError::internal)?
    }
}
