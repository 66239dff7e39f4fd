//! Quarantine now (`Q`), retirement (`R`) and `:release REASON…` in the
//! console: the pane's intent opens a [`HoldFlow`] (reason, checklist,
//! confirmation), whose answer becomes an [`Effect`] the runtime writes to
//! the outbox and sends, as a renewal is. `:release` works on the app the
//! active pane has selected.

use crossterm::event::KeyEvent;

use super::{App, Effect, Overlay};
use crate::domain::ApprovalStatus;
use crate::panes::PaneId;
use crate::panes::hold_keys::release_refusal;
use crate::sanitize::sanitize;
use crate::widgets::hold_dialog::{FlowReply, HoldFlow};
use crate::widgets::toast::Toast;

impl App {
    pub(crate) fn open_quarantine(&mut self, app_id: String) {
        let Some(app) = self.ctx.app(&app_id) else { return };
        let flow = HoldFlow::quarantine(app_id, sanitize(&app.name).into_owned(), &self.ctx.theme);
        self.overlay = Some(Overlay::Hold(Box::new(flow)));
    }

    /// Opens the retirement flow; asks the runtime for the app's full record
    /// when the snapshot does not carry it (for its retention days).
    pub(crate) fn open_retire(&mut self, app_id: String) -> Vec<Effect> {
        let Some(app) = self.ctx.app(&app_id) else { return Vec::new() };
        let retention = self.ctx.detail(&app_id).map(|detail| detail.app.retention_days);
        let pending = self
            .ctx
            .data
            .approvals
            .iter()
            .filter(|a| a.app_id == app_id && a.status == ApprovalStatus::Pending)
            .count();
        let flow =
            HoldFlow::retire(app_id.clone(), sanitize(&app.name).into_owned(), retention, pending, &self.ctx.theme);
        self.overlay = Some(Overlay::Hold(Box::new(flow)));
        match retention {
            Some(_) => Vec::new(),
            None => vec![Effect::LoadDetail { app_id }],
        }
    }

    /// A detail the runtime read: the open retirement flow takes its app's retention days.
    pub(crate) fn detail_for_flow(&mut self, app: &crate::domain::App) {
        if let Some(Overlay::Hold(flow)) = &mut self.overlay
            && flow.app_id == app.id
        {
            flow.set_retention_days(app.retention_days);
        }
    }

    pub(crate) fn hold_key(&mut self, mut flow: Box<HoldFlow>, key: KeyEvent) -> Vec<Effect> {
        let now = self.ctx.now;
        match flow.handle(key) {
            FlowReply::Pending => {
                self.overlay = Some(Overlay::Hold(flow));
                Vec::new()
            }
            FlowReply::Cancel => {
                self.notify(Toast::info("cancelled: nothing was sent", now));
                Vec::new()
            }
            FlowReply::Refused(why) => {
                self.notify(Toast::error(format!("{why}; nothing was sent"), now));
                Vec::new()
            }
            FlowReply::Quarantine { app_id, reason } => {
                self.sending(&app_id, "quarantining");
                vec![Effect::Quarantine { app_id, reason }]
            }
            FlowReply::Retire { app_id, reason, checklist } => {
                self.sending(&app_id, "retiring");
                vec![Effect::Retire { app_id, reason, checklist }]
            }
        }
    }

    fn sending(&mut self, app_id: &str, verb: &str) {
        let name = self.name_of(app_id).unwrap_or_default();
        self.ctx.in_flight.insert(app_id.to_string());
        self.notify(Toast::info(format!("{verb} {}…", sanitize(&name)), self.ctx.now));
    }

    /// The app the active pane has selected (or shows in its detail).
    fn selected_app_id(&self) -> Option<String> {
        let ctx = &self.ctx;
        match self.active {
            PaneId::Inventory => self
                .inventory
                .detail_app_id()
                .map(str::to_string)
                .or_else(|| self.inventory.selected_app(ctx).map(|a| a.id.to_string())),
            PaneId::Renewals => self.renewals.selected_id(ctx).map(str::to_string),
            PaneId::Approvals | PaneId::Audit | PaneId::Kpis => None,
        }
    }

    /// `:release REASON…`: lifts the hold on the selected app (reviewers).
    pub(crate) fn release_command(&mut self, reason: &str) -> Vec<Effect> {
        let now = self.ctx.now;
        let Some(app) = self.selected_app_id().and_then(|id| self.ctx.app(&id)) else {
            self.notify(Toast::error(":release works on the app selected in Inventory or Renewals", now));
            return Vec::new();
        };
        let (app_id, name) = (app.id.to_string(), sanitize(&app.name).into_owned());
        if let Some(why) = release_refusal(app, &self.ctx) {
            self.notify(Toast::error(format!("cannot release {name}: {why}"), now));
            return Vec::new();
        }
        if reason.trim().is_empty() {
            self.notify(Toast::error(format!(":release {name}: a reason is required (:release REASON…)"), now));
            return Vec::new();
        }
        if reason.chars().count() > crate::domain::hold::MAX_REASON_CHARS {
            self.notify(Toast::error(":release: the reason is too long", now));
            return Vec::new();
        }
        self.sending(&app_id, "releasing");
        vec![Effect::Release { app_id, reason: reason.trim().to_string() }]
    }
}
