//! The five panes — inventory, approvals, audit timeline, KPIs, renewals —
//! one per file, each with its state, its `on_action` and its `render`.
//!
//! Panes read a shared [`Context`] (the data snapshot, the user, the theme,
//! the keymap and the clock) and answer actions with [`Intent`]s: a toast,
//! or a request the app turns into a dialog or an effect. They never do IO
//! and never see the app state, the cache or the network.

pub mod approvals;
pub mod audit;
pub mod data;
pub mod filters;
pub mod hold_keys;
pub mod inventory;
pub mod kpis;
pub mod list_filter;
pub mod renewals;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::config::keymap::{Action, Keymap, Section};
use crate::config::theme::Theme;
use crate::domain::{Actor, App, AppSummary, Approval, AuditEvent};
use crate::widgets::toast::Toast;
use data::{AppDetail, ConsoleData, QueuedStatus};

/// The tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaneId {
    Inventory,
    Approvals,
    Audit,
    Kpis,
    Renewals,
}

impl PaneId {
    pub const ALL: [PaneId; 5] = [PaneId::Inventory, PaneId::Approvals, PaneId::Audit, PaneId::Kpis, PaneId::Renewals];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Inventory => "Inventory",
            PaneId::Approvals => "Approvals",
            PaneId::Audit => "Audit",
            PaneId::Kpis => "KPIs",
            PaneId::Renewals => "Renewals",
        }
    }

    /// Its keymap section.
    pub fn section(self) -> Section {
        match self {
            PaneId::Inventory => Section::Inventory,
            PaneId::Approvals => Section::Approvals,
            PaneId::Audit => Section::Audit,
            PaneId::Kpis => Section::Kpis,
            PaneId::Renewals => Section::Renewals,
        }
    }

    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn from_name(name: &str) -> Option<PaneId> {
        let name = name.to_ascii_lowercase();
        PaneId::ALL.into_iter().find(|p| p.title().to_ascii_lowercase() == name).or(match name.as_str() {
            "1" | "inv" => Some(PaneId::Inventory),
            "2" | "approval" => Some(PaneId::Approvals),
            "3" | "timeline" => Some(PaneId::Audit),
            "4" | "kpi" => Some(PaneId::Kpis),
            "5" | "renewal" => Some(PaneId::Renewals),
            _ => None,
        })
    }
}

/// What every pane reads: the snapshot and what is derived from it once per
/// snapshot, the theme, the keymap and the clock.
#[derive(Debug, Clone)]
pub struct Context {
    pub data: ConsoleData,
    /// The user as the governance rules see them.
    pub actor: Actor,
    /// Positions in `data.apps` ordered by app id ([`data::order_by_id`]).
    apps_by_id: Arc<[u32]>,
    /// Targets of actions sent but not yet in the outbox or answered.
    pub in_flight: BTreeSet<String>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub now: DateTime<Utc>,
    /// Bumped with every snapshot, so panes can skip work when it did not change.
    pub version: u64,
    /// The detail the runtime read for the app a detail view shows.
    pub loaded_detail: Option<Box<AppDetail>>,
    /// The server refused the token on the last try (until a sync succeeds):
    /// an empty pane says so instead of looking like an empty catalog.
    pub token_refused: bool,
    /// The server's words when it refused the token as expired.
    pub token_expired: Option<String>,
}

/// One app's detail as a view draws it.
pub struct DetailView<'a> {
    pub app: &'a App,
    /// Oldest first.
    pub requests: Vec<&'a Approval>,
    /// Newest first.
    pub events: Vec<&'a AuditEvent>,
}

impl Context {
    pub fn new(data: ConsoleData, theme: Theme, keymap: Keymap, now: DateTime<Utc>) -> Context {
        let mut ctx = Context {
            actor: Actor::new("", []),
            apps_by_id: Arc::new([]),
            in_flight: BTreeSet::new(),
            data,
            theme,
            keymap,
            now,
            version: 0,
            loaded_detail: None,
            token_refused: false,
            token_expired: None,
        };
        ctx.index();
        ctx
    }

    /// Replaces the snapshot and rebuilds what is derived from it.
    pub fn set_data(&mut self, mut data: ConsoleData) {
        // KPIs follow their snapshot: until they come, the last ones stay.
        if data.kpis.is_none() {
            data.kpis = self.data.kpis.take();
        }
        self.data = data;
        self.version += 1;
        self.index();
        let outbox = &self.data.outbox;
        self.in_flight.retain(|target| !outbox.iter().any(|a| &a.target_id == target));
    }

    fn index(&mut self) {
        self.actor = Actor::new(self.data.me.user.clone(), self.data.me.roles.iter().copied());
        self.apps_by_id = self.data.prepared.by_id.clone().unwrap_or_else(|| data::order_by_id(&self.data.apps).into());
    }

    /// The position in `data.apps` of app `id`.
    pub fn app_index(&self, id: &str) -> Option<usize> {
        let apps = &self.data.apps;
        let at = self.apps_by_id.binary_search_by(|&i| apps[i as usize].id.as_str().cmp(id)).ok()?;
        Some(self.apps_by_id[at] as usize)
    }

    pub fn app(&self, id: &str) -> Option<&AppSummary> {
        self.app_index(id).map(|i| &self.data.apps[i])
    }

    /// The full record of app `id` with its requests and newest events: from
    /// the snapshot when it carries full records, else from the detail the
    /// runtime read. `None` until that arrives.
    pub fn detail(&self, id: &str) -> Option<DetailView<'_>> {
        if let Some(app) = self.data.full_apps.get(id) {
            return Some(DetailView {
                app,
                requests: self.data.approvals.iter().filter(|a| a.app_id == id).collect(),
                events: self.data.audit.iter().filter(|e| e.app_id.as_deref() == Some(id)).collect(),
            });
        }
        let loaded = self.loaded_detail.as_ref().filter(|d| d.app.id == id)?;
        Some(DetailView {
            app: &loaded.app,
            requests: loaded.requests.iter().collect(),
            events: loaded.events.iter().collect(),
        })
    }

    /// Where an action on `target_id` stands: the newest outbox entry, or
    /// `Sending` for one just sent that the outbox does not show yet. A
    /// refused decision the request already records from this user (sent
    /// again after deciding elsewhere, answered 409) is not a failure.
    pub fn action_status(&self, target_id: &str) -> Option<QueuedStatus> {
        self.data
            .outbox
            .iter()
            .filter(|a| a.target_id == target_id)
            .max_by_key(|a| (a.queued_at, a.id))
            .filter(|a| !self.already_decided(a))
            .map(|a| a.status.clone())
            .or_else(|| self.in_flight.contains(target_id).then_some(QueuedStatus::Sending))
    }

    fn already_decided(&self, action: &data::QueuedAction) -> bool {
        let decision = match action.kind {
            data::QueuedKind::Approve => crate::domain::DecisionKind::Approve,
            data::QueuedKind::Reject => crate::domain::DecisionKind::Reject,
            data::QueuedKind::RequestChanges => crate::domain::DecisionKind::RequestChanges,
            data::QueuedKind::Renew
            | data::QueuedKind::Intake
            | data::QueuedKind::Adopt
            | data::QueuedKind::Amend
            | data::QueuedKind::RequestAccess
            | data::QueuedKind::Withdraw
            | data::QueuedKind::Transfer
            | data::QueuedKind::Quarantine
            | data::QueuedKind::Release
            | data::QueuedKind::Retire => return false,
        };
        matches!(action.status, QueuedStatus::Failed(_))
            && self.data.approvals.iter().any(|a| {
                a.id == action.target_id
                    && a.decisions.iter().any(|d| d.by == self.actor.user && d.decision == decision)
            })
    }

    /// Whether an action on `target_id` is waiting (queued or sending).
    pub fn is_pending_action(&self, target_id: &str) -> bool {
        matches!(self.action_status(target_id), Some(QueuedStatus::Queued | QueuedStatus::Sending))
    }

    /// The hold on app `id`, if a reviewer or a lead holds it in quarantine.
    pub fn hold(&self, id: &str) -> Option<&crate::domain::hold::Hold> {
        self.data.holds.get(id)
    }

    /// The key bound to `action` in `section`, as the keymap spells it.
    pub fn key(&self, section: Section, action: Action) -> Option<String> {
        self.keymap.key_for(section, action).map(|k| k.to_string())
    }
}

/// What a pane asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Toast(Toast),
    /// Confirm, then approve these requests.
    Approve(Vec<String>),
    /// Ask for a reason, then reject this request.
    Reject(String),
    /// Renew this app now.
    Renew(String),
    /// Open this app's manifest in the editor, for an amendment.
    Amend(String),
    /// Ask what to change, then send this request back to its owner.
    RequestChanges(String),
    /// Confirm, then withdraw this request.
    Withdraw(String),
    /// Ask for a reason, confirm, then quarantine this app now.
    Quarantine(String),
    /// Ask for a reason, walk the exit checklist, confirm, then retire this app.
    Retire(String),
    /// Verify the audit chain.
    Verify,
}

/// The behaviour every pane has.
pub trait Pane {
    /// A new snapshot is about to replace the one in `ctx`: remember what is
    /// selected (by id), so [`Pane::refresh`] can find it again.
    fn before_data(&mut self, _ctx: &Context) {}
    /// The snapshot changed: rebuild rows, keep the selection on the same item.
    fn refresh(&mut self, ctx: &Context);
    fn on_action(&mut self, action: Action, ctx: &Context) -> Vec<Intent>;
    /// Whether the pane takes raw keys (a filter being typed).
    fn is_typing(&self) -> bool {
        false
    }
    /// A raw key while [`Pane::is_typing`].
    fn on_typing_key(&mut self, _key: KeyEvent, _ctx: &Context) -> Vec<Intent> {
        Vec::new()
    }
    /// Actions worth a hint on the message line, with a short label.
    fn hints(&self, ctx: &Context) -> Vec<(Action, &'static str)>;
    /// A count for the tab title, e.g. pending requests.
    fn badge(&self, _ctx: &Context) -> Option<usize> {
        None
    }
    fn render(&self, frame: &mut Frame, area: Rect, ctx: &Context);
}

/// A selection in a list that may be far longer than the screen. The scroll
/// offset is kept by `window` (called while drawing) so that moving up does
/// not jump; only the visible rows are ever built.
#[derive(Debug, Default, Clone)]
pub struct ListCursor {
    pub selected: usize,
    offset: Cell<usize>,
    /// Rows visible at the last draw, for page moves.
    page: Cell<usize>,
}

impl ListCursor {
    /// Applies a movement action; false when `action` is not one.
    pub fn apply(&mut self, action: Action, len: usize) -> bool {
        let page = self.page.get().max(1);
        let last = len.saturating_sub(1);
        self.selected = match action {
            Action::Up => self.selected.saturating_sub(1),
            Action::Down => (self.selected + 1).min(last),
            Action::PageUp => self.selected.saturating_sub(page),
            Action::PageDown => (self.selected + page).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        };
        true
    }

    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    /// The rows to draw in `height` lines, scrolled so the selection shows.
    pub fn window(&self, len: usize, height: usize) -> Range<usize> {
        self.page.set(height.max(1));
        let mut offset = self.offset.get().min(len.saturating_sub(height));
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        self.offset.set(offset);
        offset..(offset + height).min(len)
    }
}

/// A scroll position for a detail view; clamped when drawn.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DetailScroll {
    pub scroll: u16,
}

impl DetailScroll {
    pub fn apply(&mut self, action: Action) -> bool {
        self.scroll = match action {
            Action::Up => self.scroll.saturating_sub(1),
            Action::Down => self.scroll.saturating_add(1),
            Action::PageUp => self.scroll.saturating_sub(10),
            Action::PageDown => self.scroll.saturating_add(10),
            Action::Top => 0,
            _ => return false,
        };
        true
    }
}

/// Draws detail lines in a bordered block, wrapped and scrolled.
pub fn render_detail(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<ratatui::text::Line<'static>>,
    scroll: u16,
    ctx: &Context,
) {
    use ratatui::text::{Line, Span};
    use ratatui::widgets::{Block, Paragraph, Wrap};
    let theme = &ctx.theme;
    let back = ctx.key(Section::Global, Action::Back).unwrap_or_else(|| "esc".into());
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .title_bottom(Line::from(Span::styled(format!(" {back} back · ↑↓ scroll "), theme.muted)).right_aligned())
        .border_style(theme.border);
    let inner = block.inner(area);
    // Rows after wrapping, estimated (word wrapping may waste a little of
    // each row): enough to stop scrolling far past the end.
    let width = usize::from(inner.width.max(1));
    let total: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1) + usize::from(l.width() > width)).sum();
    let scroll = scroll.min((total as u16).saturating_sub(inner.height));
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    frame.render_widget(paragraph.block(block).scroll((scroll, 0)), area);
}

/// The detail view of app `id` (inventory and renewals): its full record
/// once read, "loading" for the moment before, or why it is gone.
pub fn render_app_detail(frame: &mut Frame, area: Rect, id: &str, scroll: u16, ctx: &Context) {
    use ratatui::text::{Line, Span};
    let muted = |text: &str| vec![Line::from(Span::styled(text.to_string(), ctx.theme.muted))];
    let name = |app_name: &str| format!("{} · detail", crate::sanitize::fit(app_name, 40));
    match (ctx.detail(id), ctx.app(id)) {
        (Some(view), _) => {
            let lines = crate::widgets::app_detail::app_lines(
                view.app,
                view.requests.into_iter(),
                view.events.into_iter(),
                &ctx.theme,
                ctx.now,
            );
            render_detail(frame, area, &name(&view.app.name), lines, scroll, ctx);
        }
        (None, Some(app)) => render_detail(frame, area, &name(&app.name), muted("loading…"), 0, ctx),
        (None, None) => render_detail(frame, area, "detail", muted("this app is no longer in the cache"), 0, ctx),
    }
}

/// What a pane that needs the whole cache shows while only the first page
/// is loaded (see [`ConsoleData::loading`]), or the KPIs are computed.
pub fn render_loading(frame: &mut Frame, area: Rect, title: &str, text: &str, ctx: &Context) {
    use ratatui::text::Span;
    use ratatui::widgets::{Block, Paragraph};
    let theme = &ctx.theme;
    let block = Block::bordered().title(Span::styled(format!(" {title} "), theme.title)).border_style(theme.border);
    frame.render_widget(Paragraph::new(Span::styled(text.to_string(), theme.muted)).block(block), area);
}

/// The text of [`render_loading`] for `total` apps.
pub fn loading_text(total: usize) -> String {
    format!("Loading {total} apps from the local cache…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_scrolls_only_as_far_as_needed() {
        let mut cursor = ListCursor::default();
        assert_eq!(cursor.window(100, 10), 0..10);
        for _ in 0..12 {
            cursor.apply(Action::Down, 100);
        }
        assert_eq!(cursor.window(100, 10), 3..13);
        cursor.apply(Action::Up, 100);
        assert_eq!(cursor.window(100, 10), 3..13, "moving up inside the window does not scroll");
        cursor.apply(Action::PageDown, 100);
        assert_eq!(cursor.selected, 21);
        cursor.apply(Action::Bottom, 100);
        assert_eq!(cursor.window(100, 10), 90..100);
        cursor.apply(Action::Top, 100);
        assert_eq!(cursor.window(100, 10), 0..10);
        assert_eq!(cursor.window(3, 10), 0..3);
        assert!(!cursor.apply(Action::Approve, 100));
    }
}
