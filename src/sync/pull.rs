//! Pulling the catalog and the audit log into the cache, the bulk of a
//! sync. The catalog comes page by page, each page applied (with its cursor,
//! in one transaction) while the next is fetched.
//!
//! The audit log is a pipeline over both cores: this task fetches page after
//! page; a blocking thread decodes each page (borrowed from its bytes) and
//! checks every event against the verified head, carrying the chain from
//! page to page; the writer appends each checked page, in order, in one
//! transaction with the head it moves to. A page is never written before it
//! was checked, and a kill at any moment leaves the cache at the end of a
//! checked page.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::client::ClientError;
use super::engine::{
    AUDIT_PAGE, BULK_AUDIT_EVENTS, CHANGES_PAGE, Phase, Progress, SyncError, SyncReport, Syncer, timed, with_cache,
};
use super::plan::PageCheck;
use super::wal::{self, WalCopier};
use crate::cache;
use crate::cache::audit::{self, AuditBatch, ValueCounts};
use crate::cache::audit_search;
use crate::cache::catalog::{self, DecodedChanges};
use crate::domain::api::{AuditHead, ChangeKind, ChangeOp};
use crate::domain::audit::EventView;

/// A `/v1/audit` page, borrowed from its bytes.
#[derive(Deserialize)]
struct PageView<'a> {
    #[serde(borrow)]
    events: Vec<EventView<'a>>,
    more: bool,
}

/// What the audit phase did.
#[derive(Debug, Clone)]
pub(super) struct Pulled {
    pub events: u64,
    pub head: AuditHead,
    pub fetch: Duration,
    pub check: Duration,
    pub write: Duration,
}

/// The cache connection's page cache during a long write, in KiB. A bulk
/// load appends (its indexes are built at the end), so it needs few pages
/// at hand; the index builds sort in runs of this size. Measured on a
/// 100k-app / 1M-event first sync: 16 MiB took the same time as 64 MiB
/// with half the peak memory (96 against 172-194 MiB). A connection that
/// keeps less (the console's 8 MiB) keeps its own.
pub const BULK_PAGE_CACHE_KIB: i64 = 16 * 1024;

fn conn_page_size(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "page_size", |row| row.get(0))
}

/// What a long write changed on the cache's connection, to be put back.
pub(super) struct BulkWrite {
    copier: Option<WalCopier>,
    cache_size: i64,
}

/// A `/v1/changes` entry, borrowed from its page's bytes.
#[derive(Deserialize)]
struct ChangeView<'a> {
    kind: ChangeKind,
    op: ChangeOp,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A `/v1/changes` page, borrowed from its bytes.
#[derive(Deserialize)]
struct ChangesView<'a> {
    #[serde(borrow)]
    items: Vec<ChangeView<'a>>,
    next: u64,
    more: bool,
}

/// A decoded `/v1/changes` page on its way to the writer.
struct Decoded {
    changes: DecodedChanges,
    next: u64,
    more: bool,
    took: Duration,
}

/// The catalog's decoding thread: reads each page, tells the fetcher where
/// the next one starts (`None`: stop), decodes every entry into its row and
/// hands the page to the writer. A page that does not decode is handed on
/// as the error, after the pages before it.
fn decode_changes(
    mut pages: mpsc::Receiver<Vec<u8>>,
    replies: mpsc::Sender<Option<u64>>,
    decoded: mpsc::Sender<Result<Decoded, SyncError>>,
) {
    while let Some(bytes) = pages.blocking_recv() {
        let started = Instant::now();
        let page: ChangesView<'_> = match serde_json::from_slice(&bytes) {
            Ok(page) => page,
            Err(err) => {
                let _ = replies.blocking_send(None);
                let malformed = ClientError::Malformed { what: "/v1/changes".into(), reason: err.to_string() };
                let _ = decoded.blocking_send(Err(malformed.into()));
                return;
            }
        };
        let _ = replies.blocking_send(page.more.then_some(page.next));
        let mut changes = DecodedChanges::with_capacity(page.items.len());
        let result = page.items.iter().try_for_each(|item| changes.push(item.kind, item.op, &item.id, item.data));
        let failed = result.is_err();
        let (next, more) = (page.next, page.more);
        drop(page);
        drop(bytes);
        let item = result.map(|()| Decoded { changes, next, more, took: started.elapsed() }).map_err(SyncError::from);
        if decoded.blocking_send(item).is_err() || failed || !more {
            return;
        }
    }
}

/// A checked page on its way to the writer.
struct Checked {
    batch: AuditBatch,
    took: Duration,
}

/// The checking thread: decodes each page, tells the fetcher where the next
/// one starts (`None`: stop), checks it and hands it to the writer. A page
/// that does not decode or check is handed on as the error, after the pages
/// before it.
fn check_pages(
    mut checker: PageCheck,
    mut pages: mpsc::Receiver<Vec<u8>>,
    replies: mpsc::Sender<Option<(u64, bool)>>,
    checked: mpsc::Sender<Result<Checked, SyncError>>,
) {
    while let Some(bytes) = pages.blocking_recv() {
        let started = Instant::now();
        let page: PageView<'_> = match serde_json::from_slice(&bytes) {
            Ok(page) => page,
            Err(err) => {
                let _ = replies.blocking_send(None);
                let malformed = ClientError::Malformed { what: "/v1/audit".into(), reason: err.to_string() };
                let _ = checked.blocking_send(Err(malformed.into()));
                return;
            }
        };
        let next = page.events.last().map(|last| (last.seq, page.more));
        let _ = replies.blocking_send(next.filter(|(_, more)| *more));
        if page.events.is_empty() {
            return;
        }
        let mut batch = AuditBatch::with_capacity(page.events.len());
        let result = checker.check(&page.events, |event, scratch| batch.push(event, scratch));
        let failed = result.is_err();
        let item = result.map(|()| Checked { batch, took: started.elapsed() }).map_err(SyncError::from);
        if checked.blocking_send(item).is_err() || failed {
            return;
        }
    }
}

impl Syncer {
    /// Prepares the cache's connection for a long write (a first sync, or
    /// one far behind): its log is copied on a thread of its own (see
    /// [`super::wal`]), the writer's automatic checkpoints stop meanwhile,
    /// and its page cache is set to [`BULK_PAGE_CACHE_KIB`].
    pub(super) async fn start_bulk_write(&self) -> Result<BulkWrite, SyncError> {
        with_cache(&self.cache, |cache| {
            let conn = cache.conn();
            let cache_size: i64 = conn.pragma_query_value(None, "cache_size", |row| row.get(0))?;
            // Never more than the connection had (the console keeps 8 MiB).
            let kib = if cache_size < 0 { -cache_size } else { cache_size * conn_page_size(conn)? / 1024 };
            conn.pragma_update(None, "cache_size", -kib.min(BULK_PAGE_CACHE_KIB))?;
            let copier = conn.path().and_then(WalCopier::start);
            if let Some(copier) = copier {
                if let Err(err) = wal::set_autocheckpoint(conn, 0) {
                    copier.stop();
                    conn.pragma_update(None, "cache_size", cache_size)?;
                    return Err(err.into());
                }
                return Ok(BulkWrite { copier: Some(copier), cache_size });
            }
            Ok(BulkWrite { copier: None, cache_size })
        })
        .await
    }

    /// Undoes [`Self::start_bulk_write`].
    pub(super) async fn end_bulk_write(&self, bulk: BulkWrite) -> Result<(), SyncError> {
        with_cache(&self.cache, move |cache| {
            let conn = cache.conn();
            // What the load and its index builds held goes back now, not
            // when the pages are next needed.
            conn.execute_batch("PRAGMA shrink_memory")?;
            conn.pragma_update(None, "cache_size", bulk.cache_size)?;
            if let Some(copier) = bulk.copier {
                copier.stop();
                wal::set_autocheckpoint(conn, wal::DEFAULT_AUTOCHECKPOINT_PAGES)?;
            }
            Ok(())
        })
        .await
    }

    /// Pulls the catalog after `since`, then the audit events after
    /// `local_head`; returns the new verified head.
    pub(super) async fn pull(
        &self,
        since: u64,
        local_head: AuditHead,
        server_head: &AuditHead,
        full: bool,
        report: &mut SyncReport,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<AuditHead, SyncError> {
        self.pull_catalog(since, report, progress).await?;

        // The audit log, each page checked against the verified head before
        // it is written; on a first sync of a long log the secondary indexes
        // are built once at the end instead of row by row.
        let head = local_head;
        let audit_total = full.then(|| server_head.seq.saturating_sub(head.seq));
        let bulk = audit_total.is_some_and(|total| total >= BULK_AUDIT_EVENTS) && head.seq == 0;
        let audit_started = Instant::now();
        if !bulk {
            // A first load killed before its end left the counts owed.
            with_cache(&self.cache, |cache| {
                if audit_search::counts_deferred(cache.conn())? {
                    cache.write(audit_search::count_all)?;
                }
                Ok(())
            })
            .await?;
        }
        if bulk {
            with_cache(&self.cache, |cache| {
                cache.write(|conn| {
                    audit::drop_secondary_indexes(conn)?;
                    audit_search::defer_counts(conn)
                })
            })
            .await?;
        }
        let expect_up_to = full.then_some(server_head.seq);
        let counts = if bulk { ValueCounts::AtEnd } else { ValueCounts::PerBatch };
        let pulled = self.pull_audit(head, full, expect_up_to, audit_total, counts, progress).await;
        if bulk && pulled.is_err() {
            // Whatever was written is read through the indexes and counted;
            // the error is the one to report.
            let _ = with_cache(&self.cache, |cache| {
                cache.write(|conn| {
                    audit::create_secondary_indexes(conn)?;
                    audit_search::count_all(conn)
                })
            })
            .await;
        }
        let pulled = pulled?;
        report.events = pulled.events;
        report.stages.audit_fetch = pulled.fetch;
        report.stages.audit_check = pulled.check;
        report.stages.audit_write = pulled.write;
        let head = pulled.head;
        if bulk {
            let started = Instant::now();
            with_cache(&self.cache, |cache| {
                cache.write(|conn| {
                    audit::create_secondary_indexes(conn)?;
                    audit_search::count_all(conn)
                })
            })
            .await?;
            report.stages.audit_index = started.elapsed();
        }
        report.stages.audit_wall = audit_started.elapsed();
        Ok(head)
    }

    /// Pulls the catalog after `since`, page by page, each page applied with
    /// its cursor in one transaction: this task fetches, a blocking thread
    /// decodes each page whole (telling the fetcher where the next starts
    /// first) and the writer applies the decoded rows in order. On a first
    /// sync of more than a page the secondary indexes are built once at the
    /// end instead of entry by entry.
    async fn pull_catalog(
        &self,
        since: u64,
        report: &mut SyncReport,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(), SyncError> {
        let started = Instant::now();
        let (page_tx, page_rx) = mpsc::channel::<Vec<u8>>(1);
        let (reply_tx, mut reply_rx) = mpsc::channel(1);
        let (decoded_tx, mut decoded_rx) = mpsc::channel(1);
        let decoding = tokio::task::spawn_blocking(move || decode_changes(page_rx, reply_tx, decoded_tx));
        let syncer = self;

        let fetching = async move {
            let mut since = since;
            let mut took = Duration::ZERO;
            loop {
                let (bytes, again) =
                    timed(syncer.backoff.run(|| syncer.client.changes_bytes(since, CHANGES_PAGE))).await;
                took += again;
                if page_tx.send(bytes?).await.is_err() {
                    break;
                }
                match reply_rx.recv().await {
                    Some(Some(next)) => since = next,
                    _ => break,
                }
            }
            Ok::<_, SyncError>(took)
        };

        let stages = &mut report.stages;
        let changes = &mut report.changes;
        let mut bulk = false;
        let writing = async {
            let mut first = true;
            while let Some(item) = decoded_rx.recv().await {
                let Decoded { changes: page, next, more, took } = item?;
                stages.catalog_decode += took;
                if std::mem::take(&mut first) && since == 0 && more {
                    bulk = with_cache(&syncer.cache, |cache| {
                        let empty = catalog::is_empty(cache.conn())?;
                        if empty {
                            catalog::drop_secondary_indexes(cache.conn())?;
                        }
                        Ok(empty)
                    })
                    .await?;
                }
                let count = page.len() as u64;
                stages.catalog_apply += with_cache(&syncer.cache, move |cache| {
                    let started = Instant::now();
                    cache.write(|conn| {
                        catalog::apply_decoded(conn, &page)?;
                        cache::meta_set(conn, cache::CHANGES_CURSOR, &next.to_string())
                    })?;
                    Ok(started.elapsed())
                })
                .await?;
                *changes += count;
                progress(Progress { phase: Phase::Catalog, done: *changes, total: None });
            }
            Ok::<_, SyncError>(())
        };

        let (fetched, written) = tokio::join!(fetching, writing);
        decoding.await.map_err(|err| SyncError::Task(err.to_string()))?;
        if bulk {
            // Built whether or not every page came: the cache is read
            // through these indexes as soon as this sync returns.
            let started = Instant::now();
            let built = with_cache(&self.cache, |cache| catalog::create_secondary_indexes(cache.conn())).await;
            report.stages.catalog_index = started.elapsed();
            built?;
        }
        report.stages.catalog_wall = started.elapsed();
        // The writer's error is about the earliest page; then the fetcher's.
        written?;
        report.stages.catalog_fetch = fetched?;
        Ok(())
    }

    /// Pulls the audit events after `head` into the cache; see the module
    /// doc. `expect_up_to` is the server's head for a reader of the whole
    /// chain: pages before it are asked for ahead of time.
    pub(super) async fn pull_audit(
        &self,
        head: AuditHead,
        full: bool,
        expect_up_to: Option<u64>,
        total: Option<u64>,
        counts: ValueCounts,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pulled, SyncError> {
        let (page_tx, page_rx) = mpsc::channel::<Vec<u8>>(1);
        let (reply_tx, mut reply_rx) = mpsc::channel(1);
        let (checked_tx, mut checked_rx) = mpsc::channel(2);
        // Each stage owns its ends of the channels, so one that stops (done
        // or failed) lets the others see it and stop too.
        let syncer = self;
        let checker = PageCheck::new(&head, full);
        let checking = tokio::task::spawn_blocking(move || check_pages(checker, page_rx, reply_tx, checked_tx));

        let start = head.seq;
        let fetch = move |after: u64| async move {
            let started = Instant::now();
            let bytes = syncer.backoff.run(|| syncer.client.audit_bytes(after, AUDIT_PAGE)).await;
            (bytes, started.elapsed())
        };
        let fetching = async move {
            let mut after = start;
            let (bytes, mut took) = fetch(after).await;
            let mut bytes = bytes?;
            loop {
                if page_tx.send(bytes).await.is_err() {
                    break;
                }
                // A reader of the whole chain gets full pages of consecutive
                // seqs, so while this page is decoded the next one is asked
                // for where it should start, as long as the server's head
                // says there is one. The checker's answer decides whether
                // it is used; a guess that was wrong is fetched again.
                let guess = after + u64::from(AUDIT_PAGE);
                let (reply, ahead) = match expect_up_to {
                    Some(up_to) if guess < up_to => {
                        let (reply, ahead) = tokio::join!(reply_rx.recv(), fetch(guess));
                        (reply, Some(ahead))
                    }
                    _ => (reply_rx.recv().await, None),
                };
                let Some(Some((last, _more))) = reply else { break };
                bytes = match ahead {
                    Some((ahead, ahead_took)) if last == guess => {
                        took += ahead_took;
                        ahead?
                    }
                    _ => {
                        let (bytes, again) = fetch(last).await;
                        took += again;
                        bytes?
                    }
                };
                after = last;
            }
            drop(page_tx);
            Ok::<_, SyncError>(took)
        };

        let writing = async move {
            let mut pulled =
                Pulled { events: 0, head, fetch: Duration::ZERO, check: Duration::ZERO, write: Duration::ZERO };
            while let Some(item) = checked_rx.recv().await {
                let Checked { batch, took } = item?;
                pulled.check += took;
                let Some(last) = batch.last() else { continue };
                let count = batch.len() as u64;
                pulled.write += with_cache(&syncer.cache, move |cache| {
                    let started = Instant::now();
                    cache.write(|conn| audit::append_batch(conn, &batch, counts))?;
                    Ok(started.elapsed())
                })
                .await?;
                pulled.events += count;
                pulled.head = last;
                progress(Progress { phase: Phase::Audit, done: pulled.events, total });
            }
            Ok::<_, SyncError>(pulled)
        };

        let (fetched, written) = tokio::join!(fetching, writing);
        checking.await.map_err(|err| SyncError::Task(err.to_string()))?;
        // The writer's error is about the earliest page (a check failure
        // comes to it in order); then the fetcher's.
        let mut pulled = written?;
        pulled.fetch = fetched?;
        Ok(pulled)
    }
}
