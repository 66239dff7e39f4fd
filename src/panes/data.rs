//! What the runtime hands the console: a full snapshot of the cache, the
//! sync status, and the outbox of actions not yet confirmed by the server.
//! Re-exported from [`crate::app`], which is where the runtime takes them
//! from; they live here, below the panes, because the panes draw them.

use chrono::{DateTime, Utc};

use crate::domain::api::Me;
use crate::domain::kpi::Kpis;
use crate::search::Index;
use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::hold::Hold;
use crate::domain::{App, AppSummary, Approval, AuditEvent};

/// A full snapshot the runtime sends whenever the cache changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleData {
    /// The user and their roles.
    pub me: Me,
    /// Where the catalog server is, e.g. `http://127.0.0.1:41234`.
    pub server: String,
    /// What lists need of every app the user may read.
    pub apps: Vec<AppSummary>,
    /// Full records by id when the snapshot carries them (fixtures); the
    /// runtime leaves this empty and answers [`crate::app::Effect::LoadDetail`]
    /// for the one app a detail view shows.
    pub full_apps: HashMap<String, App>,
    /// The requests the user may read: the pending ones from the runtime
    /// (decided ones come with an app's detail), every one in fixtures.
    pub approvals: Vec<Approval>,
    /// Newest first, at most a few thousand.
    pub audit: Vec<AuditEvent>,
    /// How many events the cache holds (`audit` is the newest of them).
    pub audit_total: u64,
    /// `None` until computed: the runtime sends the lists first and the
    /// KPIs ([`crate::app::Event::Kpis`]) when it has streamed the cache.
    pub kpis: Option<Kpis>,
    /// Actions not yet confirmed by the server.
    pub outbox: Vec<QueuedAction>,
    /// Set while only the first page is loaded (the first frame of a large
    /// cache): how many apps the cache holds. Approvals are then only the
    /// pending ones and KPIs are not computed yet.
    pub loading: Option<usize>,
    /// What the console derives from `apps`, when the runtime built it
    /// beside the snapshot.
    pub prepared: Prepared,
    /// The holds of the apps held in quarantine, by app id (summaries do
    /// not carry them; there are few).
    pub holds: HashMap<String, Hold>,
}

/// What the console derives from a snapshot's apps before it can look one
/// up or filter them: built by the runtime with the snapshot (on the other
/// core, while it reads the requests) so the list arrives ready; else by
/// the console, when the snapshot comes or on the first search. Derived
/// from the apps alone, so it takes no part in comparing snapshots.
#[derive(Clone, Default)]
pub struct Prepared {
    /// [`Index::of_apps`].
    pub search: Option<Arc<Index>>,
    /// [`order_by_id`].
    pub by_id: Option<Arc<[u32]>>,
}

impl Prepared {
    pub fn of(apps: &[AppSummary]) -> Prepared {
        Prepared { search: Some(Arc::new(Index::of_apps(apps))), by_id: Some(order_by_id(apps).into()) }
    }
}

impl PartialEq for Prepared {
    fn eq(&self, _: &Prepared) -> bool {
        true
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("search", &self.search.as_ref().map(|index| index.len()))
            .field("by_id", &self.by_id.as_ref().map(|order| order.len()))
            .finish()
    }
}

/// Positions in `apps` ordered by app id, for finding an app by id with a
/// binary search: 4 bytes an app where a map of id copies took 60.
pub fn order_by_id(apps: &[AppSummary]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..apps.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| apps[a as usize].id.cmp(&apps[b as usize].id));
    order
}

impl ConsoleData {
    /// Sets the apps from full records, kept whole beside their summaries
    /// (for fixtures and tests: detail views then need no runtime).
    pub fn set_full_apps(&mut self, apps: Vec<App>) {
        self.apps = apps.iter().map(AppSummary::from).collect();
        self.holds = apps.iter().filter_map(|app| Some((app.id.clone(), app.hold.clone()?))).collect();
        self.full_apps = apps.into_iter().map(|app| (app.id.clone(), app)).collect();
    }

    /// The full records, in the order of `apps`, where the snapshot has them.
    pub fn full_apps_in_order(&self) -> Vec<App> {
        self.apps.iter().filter_map(|a| self.full_apps.get(a.id.as_str()).cloned()).collect()
    }

    /// No data yet: what the console shows before the cache is read.
    pub fn empty(me: Me, server: impl Into<String>) -> ConsoleData {
        ConsoleData {
            me,
            server: server.into(),
            apps: Vec::new(),
            full_apps: HashMap::new(),
            approvals: Vec::new(),
            audit: Vec::new(),
            audit_total: 0,
            kpis: None,
            outbox: Vec::new(),
            loading: None,
            prepared: Prepared::default(),
            holds: HashMap::new(),
        }
    }
}

/// Everything a detail view shows of one app, read from the cache when the
/// view opens: the full record, its requests and its newest events.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDetail {
    pub app: App,
    /// Oldest first.
    pub requests: Vec<Approval>,
    /// Newest first.
    pub events: Vec<AuditEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueuedKind {
    Approve,
    Reject,
    Renew,
    Intake,
    Adopt,
    RequestChanges,
    Amend,
    RequestAccess,
    Withdraw,
    Transfer,
    Quarantine,
    Release,
    Retire,
}

impl QueuedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueuedKind::Approve => "approve",
            QueuedKind::Reject => "reject",
            QueuedKind::Renew => "renew",
            QueuedKind::Intake => "intake",
            QueuedKind::Adopt => "adopt",
            QueuedKind::RequestChanges => "request changes",
            QueuedKind::Amend => "amend",
            QueuedKind::RequestAccess => "request access",
            QueuedKind::Withdraw => "withdraw",
            QueuedKind::Transfer => "transfer",
            QueuedKind::Quarantine => "quarantine",
            QueuedKind::Release => "release",
            QueuedKind::Retire => "retire",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueuedStatus {
    /// Waiting for the server (offline, or not sent yet).
    Queued,
    /// On its way.
    Sending,
    /// The server refused it; the message says why.
    Failed(String),
}

/// An action in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedAction {
    pub id: i64,
    pub kind: QueuedKind,
    /// The approval id (approve, reject, withdraw) or app id (renew,
    /// request access, transfer).
    pub target_id: String,
    pub status: QueuedStatus,
    pub queued_at: DateTime<Utc>,
}

/// The sync worker's state, for the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    pub online: bool,
    pub syncing: bool,
    pub last_sync: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// The server's TLS certificate was refused: it answers, but is not trusted.
    pub tls_refused: bool,
}
