//! The console's state and its one loop, data flowing one way: a key
//! resolves through the keymap to an [`Action`]; [`App::update`] changes
//! state and returns [`Effect`]s for the runtime (send a decision, renew,
//! sync, verify, quit); the runtime answers with [`Event`]s
//! ([`App::handle_event`]). [`render`] draws the state and never does IO.
//!
//! The clock is injected: the loop in [`crate::tui`] calls [`App::set_now`],
//! tests and snapshots pass a fixed time.
//!
//! * [`update`]: keys, actions, events, dialogs; [`command`]: the `:` line
//!   (its commands, completion and history);
//! * [`edit`]: text handed to `$EDITOR` and what comes back;
//! * [`feedback`]: one line for a bulk approval's answers and for a sync;
//! * [`render`]: the screen layout; [`fixtures`]: fixed demo data for tests.
//!
//! What happened is always said: every command and action answers with a
//! toast, an error toast goes on the next key that does something (or after
//! a few seconds), and every toast is kept in the message log (`:messages`).

pub mod command;
pub mod custody;
pub mod edit;
mod edit_adopt;
mod edit_amend;
pub mod edit_intake;
pub mod feedback;
pub mod fixtures;
mod hold;
pub mod render;
pub mod update;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub use crate::config::keymap::Action;
use crate::config::keymap::{self, Keymap};
use crate::config::theme::{self, Theme};
use crate::domain::DecisionKind;
use crate::panes::approvals::ApprovalsPane;
use crate::panes::audit::AuditPane;
pub use crate::panes::data::{
    AppDetail, ConsoleData, Prepared, QueuedAction, QueuedKind, QueuedStatus, SyncStatus, order_by_id,
};
use crate::panes::inventory::InventoryPane;
use crate::panes::kpis::KpisPane;
use crate::panes::renewals::RenewalsPane;
pub use crate::panes::{Context, PaneId};
use crate::widgets::command_line::CommandLine;
use crate::widgets::comment::CommentBox;
use crate::widgets::confirm::ConfirmDialog;
use crate::widgets::help::HelpOverlay;
use crate::widgets::messages::MessagesOverlay;
use crate::widgets::queue::QueueOverlay;
use crate::widgets::toast::Toast;
pub use render::render;

/// From the runtime to the UI.
#[derive(Debug, Clone)]
pub enum Event {
    /// A fresh snapshot of the cache.
    Data(Box<ConsoleData>),
    Sync(SyncStatus),
    /// The server's answer to an action on `target_id` (an approval or app
    /// id): `Ok(message)`, e.g. "renewed until 2027-11-23", or the server's
    /// refusal.
    ActionResult {
        target_id: String,
        outcome: Result<String, String>,
    },
    /// The result of verifying the cache's audit chain, human readable.
    Verified(Result<String, String>),
    /// The detail asked for by [`Effect::LoadDetail`].
    Detail(Box<AppDetail>),
    /// The KPIs of the last snapshot, computed after it was sent.
    Kpis(Box<crate::domain::kpi::Kpis>),
    /// A sync finished: what came and what was sent.
    Synced(SyncSummary),
    /// The action on `target_id` could not reach the server: it waits in
    /// the outbox and is sent when the server is back.
    ActionQueued {
        target_id: String,
        reason: String,
    },
    /// The server refused the token (401): shown in the status bar until a
    /// sync succeeds.
    TokenRefused,
    /// The server refused the token because it expired: its message (which
    /// says when) is shown in the status bar instead, until a sync succeeds.
    TokenExpired(String),
    /// The answer to [`Effect::QueryAudit`].
    AuditPage(Box<crate::domain::audit_query::AuditPage>),
}

/// What one successful sync did, for the message line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Apps and requests that changed.
    pub changes: u64,
    /// Audit events that came.
    pub events: u64,
    /// Queued actions the server applied.
    pub sent: u64,
    /// Queued actions the server refused: the target id and its answer.
    pub refused: Vec<(String, String)>,
    /// Actions still waiting in the outbox.
    pub still_queued: u64,
}

/// From the UI to the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Decide {
        approval_id: String,
        decision: DecisionKind,
        comment: String,
        rev: u64,
    },
    Renew {
        app_id: String,
        days: Option<i64>,
    },
    /// Amend app `app_id`'s manifest, seen at `rev`: `set` holds the changed
    /// fields' new values (`PATCH /v1/apps/{id}`).
    Amend {
        app_id: String,
        rev: u64,
        set: serde_json::Map<String, serde_json::Value>,
    },
    /// Ask for an environment (production access) for an app.
    RequestAccess {
        app_id: String,
        environment: String,
        reason: String,
    },
    /// Withdraw a pending request.
    Withdraw {
        approval_id: String,
        reason: String,
    },
    /// Move an app to another owner.
    Transfer {
        app_id: String,
        to: String,
        reason: String,
    },
    SyncNow,
    VerifyAudit,
    /// Read one app's full record, requests and events for a detail view.
    LoadDetail {
        app_id: String,
    },
    /// Remove a refused action from the outbox (the user has read why).
    Dismiss {
        action_id: i64,
    },
    /// Read a page of the audit events a filter selects, from the whole cache.
    QueryAudit(crate::domain::audit_query::AuditQuery),
    /// Hand the terminal to the user's editor on this text; the loop in
    /// [`crate::tui`] answers with [`App::edited`].
    Edit(edit::EditRequest),
    /// Submit a manifest (JSON, checked) for intake, through the outbox.
    Intake {
        name: String,
        manifest: String,
    },
    /// Adopt this discovered app (seen at `rev`) under this manifest
    /// (the JSON body `govdeck intake --adopt` sends), through the outbox.
    Adopt {
        app_id: String,
        rev: u64,
        manifest: serde_json::Value,
    },
    /// Quarantine this app now, with the reason typed.
    Quarantine {
        app_id: String,
        reason: String,
    },
    /// Lift the hold on this app (`:release REASON…`).
    Release {
        app_id: String,
        reason: String,
    },
    /// Retire this app with the exit checklist answered.
    Retire {
        app_id: String,
        reason: String,
        checklist: crate::domain::hold::ExitChecklist,
    },
    Quit,
}

/// What the console looks like and how keys map, resolved once at start.
#[derive(Debug, Clone)]
pub struct UiSettings {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Where user themes and keymaps live, for `:theme NAME`.
    pub config_dir: Option<PathBuf>,
    /// `NO_COLOR`: themes loaded later drop their colours too.
    pub no_color: bool,
    /// Problems found while loading, shown as a toast at start.
    pub messages: Vec<String>,
}

impl UiSettings {
    /// Loads theme and keymap by name, collecting what went wrong.
    pub fn load(theme_name: &str, keymap_name: &str, config_dir: Option<&Path>, no_color: bool) -> UiSettings {
        let (theme, mut messages) = theme::load(theme_name, config_dir, no_color);
        let (keymap, keymap_messages) = keymap::load(keymap_name, config_dir);
        messages.extend(keymap_messages);
        UiSettings { theme, keymap, config_dir: config_dir.map(Path::to_path_buf), no_color, messages }
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings::load(theme::DEFAULT_THEME, keymap::DEFAULT_KEYMAP, None, false)
    }
}

/// What a confirm dialog does once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Approve these requests (with the comment typed).
    Approve(Vec<String>),
    /// Renew this app: a read-only one files a request, or the renewal
    /// shortens the time left.
    Renew(String),
    /// Submit this manifest (as JSON) for intake (`:intake`).
    Intake { name: String, manifest: String },
    /// Adopt this discovered app (seen at `rev`) under `manifest` (`:adopt`).
    Adopt { app_id: String, rev: u64, manifest: serde_json::Value },
    /// Amend this app (seen at `rev`) with these changed fields.
    Amend { app_id: String, rev: u64, set: serde_json::Map<String, serde_json::Value> },
    /// Ask for `environment` for this app, for `reason`.
    RequestAccess { app_id: String, environment: String, reason: String },
    /// Withdraw this request (with the reason typed, optional).
    Withdraw(String),
    /// Move this app to `to`, for `reason`.
    Transfer { app_id: String, to: String, reason: String },
}

/// A popup that takes every key while it is open.
#[derive(Debug)]
pub enum Overlay {
    Help(HelpOverlay),
    Confirm(Box<ConfirmDialog>, Confirmed),
    /// Reject this request (or request changes on it) with the text typed.
    Comment(Box<CommentBox>, String, DecisionKind),
    Command(CommandLine),
    /// The message log (`:messages`).
    Messages(MessagesOverlay),
    /// The outbox (`:queue`).
    Queue(QueueOverlay),
    /// Quarantine now or retirement: reason, checklist, confirmation.
    Hold(Box<crate::widgets::hold_dialog::HoldFlow>),
}

impl Overlay {
    pub fn name(&self) -> &'static str {
        match self {
            Overlay::Help(_) => "help",
            Overlay::Confirm(..) => "confirm",
            Overlay::Comment(..) => "comment",
            Overlay::Command(_) => "command",
            Overlay::Messages(_) => "messages",
            Overlay::Queue(_) => "queue",
            Overlay::Hold(flow) => match flow.kind {
                crate::widgets::hold_dialog::FlowKind::Quarantine => "quarantine",
                crate::widgets::hold_dialog::FlowKind::Retire => "retire",
            },
        }
    }
}

/// The console's state: the shared context, the five panes, what is open
/// on top of them, and the latest toast.
#[derive(Debug)]
pub struct App {
    pub(crate) ctx: Context,
    pub(crate) sync: SyncStatus,
    /// When the running sync started, by the console's clock.
    pub(crate) syncing_since: Option<DateTime<Utc>>,
    /// The app whose detail was last asked of the runtime.
    pub(crate) detail_requested: Option<String>,
    pub(crate) active: PaneId,
    pub(crate) inventory: InventoryPane,
    pub(crate) approvals: ApprovalsPane,
    pub(crate) audit: AuditPane,
    pub(crate) kpis: KpisPane,
    pub(crate) renewals: RenewalsPane,
    pub(crate) overlay: Option<Overlay>,
    pub(crate) toast: Option<Toast>,
    /// Every toast so far (the newest last), at most [`MESSAGE_HISTORY`].
    pub(crate) messages: Vec<Toast>,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) no_color: bool,
    pub(crate) quit: bool,
    pub(crate) redraw_requested: bool,
    /// The terminal's size, once the runtime said it (tests may leave it).
    pub(crate) size: Option<(u16, u16)>,
    /// Command lines run, oldest first, for ↑/↓ on the `:` line.
    pub(crate) command_history: Vec<String>,
    /// Decisions sent together, answered with one toast.
    pub(crate) batch: Option<feedback::Batch>,
    /// The user asked for the running sync (`ctrl-r`, `:sync`): its result is said.
    pub(crate) sync_requested: bool,
    /// `e` on an app whose full record is still being read: the editor
    /// opens on it once the detail arrives.
    pub(crate) amend_waiting: Option<String>,
    /// `:adopt` on an app whose full record is still being read: the editor
    /// opens on it once the detail arrives.
    pub(crate) adopt_waiting: Option<String>,
}

/// Command lines kept for ↑/↓.
pub const COMMAND_HISTORY: usize = 100;

/// Toasts kept for inspection.
pub const MESSAGE_HISTORY: usize = 100;

impl App {
    pub fn new(data: ConsoleData, settings: UiSettings, now: DateTime<Utc>) -> App {
        let mut app = App {
            ctx: Context::new(data, settings.theme, settings.keymap, now),
            sync: SyncStatus::default(),
            syncing_since: None,
            detail_requested: None,
            active: PaneId::Inventory,
            inventory: InventoryPane::new(),
            approvals: ApprovalsPane::new(),
            audit: AuditPane::new(),
            kpis: KpisPane::new(),
            renewals: RenewalsPane::new(),
            overlay: None,
            toast: None,
            messages: Vec::new(),
            config_dir: settings.config_dir,
            no_color: settings.no_color,
            quit: false,
            redraw_requested: false,
            size: None,
            command_history: Vec::new(),
            batch: None,
            sync_requested: false,
            amend_waiting: None,
            adopt_waiting: None,
        };
        app.refresh_panes();
        if let Some(first) = settings.messages.first() {
            let more = settings.messages.len() - 1;
            let text = match more {
                0 => first.clone(),
                1 => format!("{first} (and 1 more problem: see :messages)"),
                n => format!("{first} (and {n} more problems: see :messages)"),
            };
            for message in &settings.messages {
                app.log(Toast::error(message.clone(), now));
            }
            app.toast = Some(Toast::error(text, now));
        }
        app
    }

    /// The terminal's size: below 80x24 only a request to enlarge it is
    /// drawn, and keys other than quit do nothing.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = Some((width, height));
    }

    /// Whether the terminal is too small to lay the console out.
    pub fn is_too_small(&self) -> bool {
        self.size.is_some_and(|(w, h)| w < render::MIN_WIDTH || h < render::MIN_HEIGHT)
    }

    /// Where the panes and overlays are drawn (80x24 until the size is known).
    pub(crate) fn body_area(&self) -> ratatui::layout::Rect {
        let (width, height) = self.size.unwrap_or((render::MIN_WIDTH, render::MIN_HEIGHT));
        ratatui::layout::Rect::new(0, 1, width, height.saturating_sub(3))
    }

    /// Whether the server refused the token on the last sync.
    pub fn token_refused(&self) -> bool {
        self.ctx.token_refused
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    /// Moves the clock: relative times, SLA countdowns and toasts age.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.ctx.now = now;
        self.refresh_panes();
    }

    pub fn data(&self) -> &ConsoleData {
        &self.ctx.data
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    pub fn theme(&self) -> &Theme {
        &self.ctx.theme
    }

    pub fn keymap(&self) -> &Keymap {
        &self.ctx.keymap
    }

    pub fn sync_status(&self) -> &SyncStatus {
        &self.sync
    }

    pub fn active_pane(&self) -> PaneId {
        self.active
    }

    /// The toast on the message line, if it has not aged out.
    pub fn toast(&self) -> Option<&Toast> {
        self.toast.as_ref().filter(|t| t.is_live(self.ctx.now))
    }

    /// Every toast shown so far, oldest first.
    pub fn messages(&self) -> &[Toast] {
        &self.messages
    }

    /// `help`, `confirm`, `comment`, `command`, `messages` or `queue` while one is open.
    pub fn overlay_name(&self) -> Option<&'static str> {
        self.overlay.as_ref().map(Overlay::name)
    }

    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    pub fn inventory(&self) -> &InventoryPane {
        &self.inventory
    }

    pub fn approvals(&self) -> &ApprovalsPane {
        &self.approvals
    }

    pub fn audit(&self) -> &AuditPane {
        &self.audit
    }

    pub fn renewals(&self) -> &RenewalsPane {
        &self.renewals
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether `ctrl-l` asked for a full repaint since the last call.
    pub fn take_redraw_request(&mut self) -> bool {
        std::mem::take(&mut self.redraw_requested)
    }

    /// Whether a text input is active, so the terminal cursor is shown.
    pub fn is_typing(&self) -> bool {
        matches!(self.overlay, Some(Overlay::Command(_))) || self.pane_is_typing()
    }

    pub(crate) fn pane_is_typing(&self) -> bool {
        match self.active {
            PaneId::Inventory => crate::panes::Pane::is_typing(&self.inventory),
            PaneId::Approvals => crate::panes::Pane::is_typing(&self.approvals),
            PaneId::Audit => crate::panes::Pane::is_typing(&self.audit),
            PaneId::Renewals => crate::panes::Pane::is_typing(&self.renewals),
            PaneId::Kpis => false,
        }
    }

    pub(crate) fn log(&mut self, toast: Toast) {
        if self.messages.len() >= MESSAGE_HISTORY {
            self.messages.remove(0);
        }
        self.messages.push(toast);
    }

    /// Shows a toast and keeps it in the history.
    pub(crate) fn notify(&mut self, toast: Toast) {
        self.log(toast.clone());
        self.toast = Some(toast);
    }

    pub(crate) fn refresh_panes(&mut self) {
        use crate::panes::Pane;
        self.inventory.refresh(&self.ctx);
        self.approvals.refresh(&self.ctx);
        self.audit.refresh(&self.ctx);
        self.kpis.refresh(&self.ctx);
        self.renewals.refresh(&self.ctx);
    }
}
