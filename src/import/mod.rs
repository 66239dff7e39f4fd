//! Importing the inventory from another catalog (Backstage), and exporting
//! it back out ([`export`]), so govdeck is neither a re-typing job to adopt
//! nor a dead end to leave.
//!
//! `import backstage` sweeps `GET {BASE}/api/catalog/entities/by-query`
//! page by page ([`backstage`]), maps each entity to a catalog entry
//! ([`mapping`]) and writes each page in one transaction of the server
//! database: the apps, their audit events, their upstream records and the
//! sweep's progress together, so a page lands whole or not at all.
//!
//! Decisions where the issue left a choice:
//!
//! * **Which entities become apps.** The filter (`--filter`, repeatable, OR
//!   between them) is sent to Backstage as given and defaults to
//!   `kind=component`. Only entities of a kind the filter names (component
//!   when it names none) become apps; any other kind in an answer (a
//!   Location, a Template, a Group…) is skipped and counted by kind. A Group
//!   or a User is an owner, not an app.
//! * **Unknown risk inputs** are assumed at their most conservative
//!   ([`mapping::conservative`]: pii, >100 users, external API, desktop
//!   agent, prototype TTL; score 100, high), listed in `upstream.assumed`,
//!   and the entry is flagged `manifest_incomplete`. An entry nobody has
//!   described can never look safer than it is.
//! * **State.** Imported entries are registered inventory awaiting
//!   governance: `discovered`, which a human takes through review with
//!   `govdeck intake FILE --adopt APP` (see [`crate::domain::intake`]). The
//!   importer never changes the state of an entry; once an entry has left
//!   `discovered`, its reviewed manifest is no longer overwritten from
//!   upstream, only its upstream record is.
//! * **Change detection** is by `metadata.etag` (a digest of the entity when
//!   it has none). An unchanged entity writes no app and no audit event; only
//!   the upstream row's "seen by sweep N" mark moves, which is what makes an
//!   interrupted sweep resumable. A changed one is one `import.update` event
//!   (with the changed fields), a new one `import.create`; actor
//!   `import:backstage`, role `import`.
//! * **Vanished entities** are never deleted: after a complete sweep, an
//!   entity of the same scope (same filters) that the sweep did not see is
//!   flagged `orphaned` (it stays `discovered` when it was) with an
//!   `import.orphan` event; if it comes back it is un-flagged by an update.
//!   A complete sweep that saw nothing orphans nothing (an emptied or
//!   misconfigured catalog should not flag the whole inventory): it warns.
//!   An entity belongs to the scope of the sweep that last saw it, so after
//!   a narrower sweep has seen it, only that narrower scope may orphan it.
//!   Sweeps are numbered, and an entity is orphaned only when no sweep
//!   numbered at or after this one has seen it, so two imports running at
//!   once cannot orphan what the other saw.
//! * **Resuming.** The sweep's cursor is stored with each page. A run finds
//!   the unfinished sweep of the same Backstage and filters and continues
//!   from its cursor (`--restart` starts over); if Backstage no longer
//!   accepts the stored cursor, a fresh sweep starts. Re-running is also
//!   idempotent, so resuming and re-running give the same catalog.
//! * **Dry run** reads the database (read-only; an absent one counts as
//!   empty) and writes nothing, not even the sweep's progress.
//! * **Ids and owners.** Imported apps get fresh random ids like intake's;
//!   the upstream key is the identity. The owner is the name part of the
//!   owner's entity ref whether it is a user or a group, so it matches a
//!   govdeck user of that name (who then sees the app); an owner-less
//!   entity gets an empty owner, which only readers of everything see.
//!
//! Not done: importing through a running server with an admin token (the
//! importer writes the server database directly, as `seed` does).

pub mod backstage;
pub mod export;
pub mod mapping;
mod sweep;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use self::backstage::FetchError;
use crate::clock::Clock;
use crate::config::settings::Token;
use crate::store::{Store, StoreError};
use crate::tls::ClientTrust;

/// `upstream.source` of what this importer creates.
pub const SOURCE_BACKSTAGE: &str = "backstage";
/// The actor of the import's audit events.
pub const IMPORT_ACTOR: &str = "import:backstage";
/// The role recorded with them.
pub const IMPORT_ROLE: &str = "import";
/// Entities per page asked for.
pub const DEFAULT_PAGE_LIMIT: u32 = 500;
/// The most entities per page that may be asked for.
pub const MAX_PAGE_LIMIT: u32 = 10_000;

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Backstage backend's base URL (http or https).
    pub url: String,
    pub token: Option<Token>,
    /// Which certificates an https backend may present.
    pub trust: ClientTrust,
    /// Catalog filters, each one a `filter` parameter; none means `kind=component`.
    pub filters: Vec<String>,
    pub page_limit: u32,
    pub dry_run: bool,
    /// Abandon an interrupted sweep and start from the first page.
    pub restart: bool,
}

impl Options {
    pub fn new(url: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            token: None,
            trust: ClientTrust::system(),
            filters: Vec::new(),
            page_limit: DEFAULT_PAGE_LIMIT,
            dry_run: false,
            restart: false,
        }
    }
}

/// What happens (or, in a dry run, would happen) to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Update,
    Orphan,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Orphan => "orphan",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// `kind:namespace/name`.
    pub key: String,
    /// The app's id (`None` for a create in a dry run).
    pub app_id: Option<String>,
    /// The fields that change, for an update.
    pub fields: Vec<&'static str>,
}

/// What the import tells its caller as it goes.
#[derive(Debug, Clone)]
pub enum Report<'a> {
    /// An unfinished sweep is being continued after `pages` pages.
    Resumed {
        sweep: i64,
        pages: u32,
    },
    /// The stored cursor was refused; the sweep starts over.
    Restarted {
        reason: String,
    },
    /// A page was written (or, in a dry run, planned).
    Page {
        page: u32,
        entities: usize,
        total_items: Option<u64>,
        summary: &'a Summary,
    },
    Change(&'a Change),
    /// Something the user should know that does not stop the import.
    Warning(String),
}

/// The counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The normalized Backstage base URL.
    pub instance: String,
    /// The filters, canonical.
    pub scope: String,
    pub dry_run: bool,
    /// The sweep's id (in a dry run, the id it would get).
    pub sweep: i64,
    /// The page the run started at when it resumed a sweep.
    pub resumed_at_page: Option<u32>,
    /// Pages read by this run.
    pub pages: u32,
    /// Entities received by this run.
    pub entities: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub orphaned: u64,
    /// Entities not imported: other kinds, and entities without a usable key.
    pub skipped: u64,
    /// `skipped`, by kind (`invalid` for entities without a usable key).
    pub skipped_by_kind: BTreeMap<String, u64>,
    /// Whether the sweep reached its last page (and orphaning ran).
    pub complete: bool,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(elapsed: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(elapsed.as_millis() as u64)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the server database")]
    Store(#[from] StoreError),
}

/// An import that stopped: the error, and what was done before it (every
/// page before the failing one is written; nothing of the failing one is).
#[derive(Debug)]
pub struct ImportFailure {
    pub error: ImportError,
    pub summary: Summary,
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ImportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl ImportFailure {
    /// Whether Backstage refused the credentials.
    pub fn is_auth(&self) -> bool {
        matches!(self.error, ImportError::Fetch(FetchError::Unauthorized { .. }))
    }
}

/// Runs one import (or dry run) against `store`: see the module doc.
pub async fn run(
    store: &mut Store,
    clock: &dyn Clock,
    options: &Options,
    report: &mut dyn FnMut(Report<'_>),
) -> Result<Summary, ImportFailure> {
    let started = Instant::now();
    let (mut summary, result) = sweep::sweep(store, clock, options, report).await;
    summary.elapsed = started.elapsed();
    match result {
        Ok(()) => Ok(summary),
        Err(error) => Err(ImportFailure { error, summary }),
    }
}
