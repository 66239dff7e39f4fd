//! What the runtime hands the console: a full snapshot of the cache, the
//! sync status, and the outbox of actions not yet confirmed by the server.
//! Re-exported from [`crate::app`], which is where the runtime takes them
//! from; they live here, below the panes, because the panes draw them.

use chrono::{DateTime, Utc};

use crate::domain::api::Me;
use crate::domain::kpi::Kpis;
use crate::domain::{App, Approval, AuditEvent};

/// A full snapshot the runtime sends whenever the cache changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleData {
    /// The user and their roles.
    pub me: Me,
    /// Where the catalog server is, e.g. `http://127.0.0.1:41234`.
    pub server: String,
    pub apps: Vec<App>,
    /// Every request the user may read, pending and decided.
    pub approvals: Vec<Approval>,
    /// Newest first, at most a few thousand.
    pub audit: Vec<AuditEvent>,
    pub kpis: Kpis,
    /// Actions not yet confirmed by the server.
    pub outbox: Vec<QueuedAction>,
    /// Set while only the first page is loaded (the first frame of a large
    /// cache): how many apps the cache holds. Approvals are then only the
    /// pending ones and KPIs are not computed yet.
    pub loading: Option<usize>,
}

impl ConsoleData {
    /// No data yet: what the console shows before the cache is read.
    pub fn empty(me: Me, server: impl Into<String>) -> ConsoleData {
        ConsoleData {
            me,
            server: server.into(),
            apps: Vec::new(),
            approvals: Vec::new(),
            audit: Vec::new(),
            kpis: Kpis::default(),
            outbox: Vec::new(),
            loading: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueuedKind {
    Approve,
    Reject,
    Renew,
}

impl QueuedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueuedKind::Approve => "approve",
            QueuedKind::Reject => "reject",
            QueuedKind::Renew => "renew",
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
    /// The approval id (approve, reject) or app id (renew).
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
