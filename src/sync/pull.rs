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

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::mpsc;

use super::client::ClientError;
use super::engine::{
    AUDIT_PAGE, BULK_AUDIT_EVENTS, CHANGES_PAGE, Phase, Progress, SyncError, SyncReport, Syncer, timed, with_cache,
};
use super::plan::PageCheck;
use super::wal::{self, WalCopier};
use crate::cache::audit::{self, AuditBatch};
use crate::cache::{self, catalog};
use crate::domain::api::AuditHead;
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
    /// Starts copying the cache's log on a thread of its own (see
    /// [`super::wal`]); the writer's automatic checkpoints stop meanwhile.
    pub(super) async fn start_wal_copier(&self) -> Result<Option<WalCopier>, SyncError> {
        with_cache(&self.cache, |cache| {
            let Some(copier) = cache.conn().path().and_then(WalCopier::start) else { return Ok(None) };
            if let Err(err) = wal::set_autocheckpoint(cache.conn(), 0) {
                copier.stop();
                return Err(err.into());
            }
            Ok(Some(copier))
        })
        .await
    }

    pub(super) async fn stop_wal_copier(&self, copier: WalCopier) -> Result<(), SyncError> {
        with_cache(&self.cache, move |cache| {
            copier.stop();
            Ok(wal::set_autocheckpoint(cache.conn(), wal::DEFAULT_AUTOCHECKPOINT_PAGES)?)
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
        // The catalog, page by page, each page with its cursor in one transaction.
        // Each page is applied on the blocking pool while the next one is
        // fetched and decoded here, so the two cores share the work.
        let catalog_started = Instant::now();
        let (page, took) = timed(self.backoff.run(|| self.client.changes(since, CHANGES_PAGE))).await;
        let mut page = page?;
        report.stages.catalog_fetch += took;
        loop {
            let count = page.items.len() as u64;
            let next = page.next;
            let more = page.more;
            let items = page.items;
            let apply = with_cache(&self.cache, move |cache| {
                let started = Instant::now();
                cache.write(|conn| {
                    catalog::apply_changes(conn, &items)?;
                    cache::meta_set(conn, cache::CHANGES_CURSOR, &next.to_string())
                })?;
                Ok(started.elapsed())
            });
            let following = if more {
                let (applied, (fetched, took)) =
                    tokio::join!(apply, timed(self.backoff.run(|| self.client.changes(next, CHANGES_PAGE))));
                report.stages.catalog_apply += applied?;
                report.stages.catalog_fetch += took;
                Some(fetched?)
            } else {
                report.stages.catalog_apply += apply.await?;
                None
            };
            report.changes += count;
            progress(Progress { phase: Phase::Catalog, done: report.changes, total: None });
            match following {
                Some(following) => page = following,
                None => break,
            }
        }
        report.stages.catalog_wall = catalog_started.elapsed();

        // The audit log, each page checked against the verified head before
        // it is written; on a first sync of a long log the secondary indexes
        // are built once at the end instead of row by row.
        let head = local_head;
        let audit_total = full.then(|| server_head.seq.saturating_sub(head.seq));
        let bulk = audit_total.is_some_and(|total| total >= BULK_AUDIT_EVENTS) && head.seq == 0;
        let audit_started = Instant::now();
        if bulk {
            with_cache(&self.cache, |cache| audit::drop_secondary_indexes(cache.conn())).await?;
        }
        let expect_up_to = full.then_some(server_head.seq);
        let pulled = self.pull_audit(head, full, expect_up_to, audit_total, progress).await?;
        report.events = pulled.events;
        report.stages.audit_fetch = pulled.fetch;
        report.stages.audit_check = pulled.check;
        report.stages.audit_write = pulled.write;
        let head = pulled.head;
        if bulk {
            let started = Instant::now();
            with_cache(&self.cache, |cache| audit::create_secondary_indexes(cache.conn())).await?;
            report.stages.audit_index = started.elapsed();
        }
        report.stages.audit_wall = audit_started.elapsed();
        Ok(head)
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
                    cache.write(|conn| audit::append_batch(conn, &batch))?;
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
