//! How the state changes: keys (through the keymap, or straight to an open
//! dialog or a filter being typed), actions, the panes' intents (a dialog to
//! open, an effect to send, a toast), and the runtime's events.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::text::{Line, Span};

use super::{App, Effect, Event, Overlay};
use crate::config::keymap::{Action, Key};
use crate::domain::{AppState, Approval, DecisionKind, Tier};
use crate::panes::approvals::refusal;
use crate::panes::{Context, Intent, Pane, PaneId};
use crate::sanitize::{fit, sanitize};
use crate::widgets::app_detail::kind_label;
use crate::widgets::comment::CommentBox;
use crate::widgets::confirm::{ConfirmDialog, DialogReply};
use crate::widgets::help::HelpOverlay;
use crate::widgets::line_input::InputReply;
use crate::widgets::toast::Toast;

/// Requests listed by name in a bulk confirm dialog; the rest are counted.
const CONFIRM_LIST_MAX: usize = 6;

/// One request as a dialog line.
fn request_summary(approval: &Approval, ctx: &Context) -> Line<'static> {
    let theme = &ctx.theme;
    Line::from(vec![
        Span::styled(format!("{} ", fit(&approval.app_name, 28)), theme.title),
        Span::styled(
            format!("{} {}", approval.risk.tier.as_str(), approval.risk_score_at_time),
            theme.risk(approval.risk.tier),
        ),
        Span::styled(
            format!(" · {} · by {} · {}", kind_label(approval), fit(&approval.requested_by, 16), fit(&approval.id, 20)),
            theme.text,
        ),
    ])
}

impl App {
    /// A key from the terminal.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut effects = self.key_effects(key);
        effects.extend(self.detail_effects());
        effects
    }

    fn key_effects(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.update(Action::Quit);
        }
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, key);
        }
        if self.pane_is_typing() {
            let ctx = &self.ctx;
            let intents = match self.active {
                PaneId::Inventory => self.inventory.on_typing_key(key, ctx),
                PaneId::Audit => self.audit.on_typing_key(key, ctx),
                _ => Vec::new(),
            };
            return self.apply(intents);
        }
        match self.ctx.keymap.lookup(self.active.section(), Key::from_event(key)) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// The app whose full record the visible detail view needs and the
    /// snapshot does not carry.
    fn wanted_detail(&self) -> Option<String> {
        let ctx = &self.ctx;
        let id = match self.active {
            PaneId::Inventory => self.inventory.detail_app_id().map(str::to_string),
            PaneId::Renewals => self.renewals.detail_app_id().map(str::to_string),
            PaneId::Approvals => self
                .approvals
                .detail_id()
                .and_then(|id| ctx.data.approvals.iter().find(|a| a.id == id))
                .map(|a| a.app_id.clone()),
            PaneId::Audit | PaneId::Kpis => None,
        }?;
        (!ctx.data.full_apps.contains_key(&id)).then_some(id)
    }

    /// Asks the runtime for the detail a view just opened (or one whose
    /// data changed underneath it), once; and for the audit pane's newest
    /// query of the whole cache, when it has one.
    pub fn detail_effects(&mut self) -> Vec<Effect> {
        // The audit pane's newest query of the whole cache, if it has one to send.
        let mut effects: Vec<Effect> = self.audit.take_query().map(Effect::QueryAudit).into_iter().collect();
        effects.extend(self.wanted_detail_effect());
        effects
    }

    fn wanted_detail_effect(&mut self) -> Vec<Effect> {
        let wanted = self.wanted_detail();
        if wanted == self.detail_requested {
            return Vec::new();
        }
        self.detail_requested = wanted.clone();
        wanted.map(|app_id| vec![Effect::LoadDetail { app_id }]).unwrap_or_default()
    }

    /// Several keys in a row, as a test or a paste would send them.
    pub fn handle_keys(&mut self, keys: impl IntoIterator<Item = KeyEvent>) -> Vec<Effect> {
        keys.into_iter().flat_map(|key| self.handle_key(key)).collect()
    }

    /// Shows a pane.
    pub fn show(&mut self, pane: PaneId) {
        self.active = pane;
    }

    /// What an action does.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Noop => Vec::new(),
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help(HelpOverlay::default()));
                Vec::new()
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(Default::default()));
                Vec::new()
            }
            Action::NextPane | Action::PrevPane => {
                let step = if action == Action::NextPane { 1 } else { PaneId::ALL.len() - 1 };
                self.active = PaneId::ALL[(self.active.index() + step) % PaneId::ALL.len()];
                Vec::new()
            }
            Action::ShowInventory => self.switch(PaneId::Inventory),
            Action::ShowApprovals => self.switch(PaneId::Approvals),
            Action::ShowAudit => self.switch(PaneId::Audit),
            Action::ShowKpis => self.switch(PaneId::Kpis),
            Action::ShowRenewals => self.switch(PaneId::Renewals),
            Action::Sync => {
                self.notify(Toast::info("syncing…", self.ctx.now));
                vec![Effect::SyncNow]
            }
            Action::Redraw => {
                self.redraw_requested = true;
                Vec::new()
            }
            other => {
                let ctx = &self.ctx;
                let intents = match self.active {
                    PaneId::Inventory => self.inventory.on_action(other, ctx),
                    PaneId::Approvals => self.approvals.on_action(other, ctx),
                    PaneId::Audit => self.audit.on_action(other, ctx),
                    PaneId::Kpis => self.kpis.on_action(other, ctx),
                    PaneId::Renewals => self.renewals.on_action(other, ctx),
                };
                self.apply(intents)
            }
        }
    }

    fn switch(&mut self, pane: PaneId) -> Vec<Effect> {
        self.active = pane;
        Vec::new()
    }

    /// Turns the panes' intents into dialogs, effects and toasts.
    pub(crate) fn apply(&mut self, intents: Vec<Intent>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for intent in intents {
            match intent {
                Intent::Toast(toast) => self.notify(toast),
                Intent::Approve(ids) => self.open_approve(ids),
                Intent::Reject(id) => self.open_reject(id),
                Intent::Renew(app_id) => effects.extend(self.renew(app_id)),
                Intent::Verify => {
                    self.audit.verifying = true;
                    self.notify(Toast::info("verifying the audit chain…", self.ctx.now));
                    effects.push(Effect::VerifyAudit);
                }
            }
        }
        effects
    }

    fn open_approve(&mut self, ids: Vec<String>) {
        let approvals: Vec<&Approval> =
            ids.iter().filter_map(|id| self.ctx.data.approvals.iter().find(|a| &a.id == id)).collect();
        if approvals.is_empty() {
            return;
        }
        let mut lines: Vec<Line<'static>> =
            approvals.iter().take(CONFIRM_LIST_MAX).map(|a| request_summary(a, &self.ctx)).collect();
        if approvals.len() > CONFIRM_LIST_MAX {
            lines.push(Line::from(Span::styled(
                format!("… and {} more", approvals.len() - CONFIRM_LIST_MAX),
                self.ctx.theme.muted,
            )));
        }
        if let [single] = approvals.as_slice()
            && single.review_tier == Tier::High
            && single.decisions.is_empty()
        {
            lines.push(Line::from(Span::styled(
                "high risk: yours is the first of two approvals; a second person must approve too",
                self.ctx.theme.warning,
            )));
        }
        let (title, label) = match approvals.len() {
            1 => ("Approve request".to_string(), "approve".to_string()),
            n => (format!("Approve {n} requests"), format!("approve all {n}")),
        };
        let dialog = ConfirmDialog::new(title, lines, label).with_comment(&self.ctx.theme);
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), ids));
    }

    fn open_reject(&mut self, id: String) {
        let Some(approval) = self.ctx.data.approvals.iter().find(|a| a.id == id) else { return };
        let lines = vec![request_summary(approval, &self.ctx)];
        let dialog = CommentBox::new("Reject request", lines, "Reason (required)", true, "reject", &self.ctx.theme);
        self.overlay = Some(Overlay::Comment(Box::new(dialog), id));
    }

    fn renew(&mut self, app_id: String) -> Vec<Effect> {
        let Some(app) = self.ctx.app(&app_id) else { return Vec::new() };
        let text = if app.state == AppState::ReadOnly {
            format!("filing a re-approval request for {}…", sanitize(&app.name))
        } else {
            format!("renewing {}…", sanitize(&app.name))
        };
        self.ctx.in_flight.insert(app_id.clone());
        self.notify(Toast::info(text, self.ctx.now));
        vec![Effect::Renew { app_id, days: None }]
    }

    /// Decisions for `ids`, each on the revision the user saw.
    fn decide(&mut self, ids: &[String], decision: DecisionKind, comment: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut refused = Vec::new();
        for id in ids {
            let Some(approval) = self.ctx.data.approvals.iter().find(|a| &a.id == id) else { continue };
            if let Some(reason) = refusal(approval, &self.ctx, decision) {
                refused.push(format!("{}: {reason}", approval.app_name));
                continue;
            }
            effects.push(Effect::Decide {
                approval_id: id.clone(),
                decision,
                comment: comment.to_string(),
                rev: approval.rev,
            });
        }
        for effect in &effects {
            if let Effect::Decide { approval_id, .. } = effect {
                self.ctx.in_flight.insert(approval_id.clone());
                self.approvals.selection.remove(approval_id);
            }
        }
        let verb = if decision == DecisionKind::Approve { "approving" } else { "rejecting" };
        let now = self.ctx.now;
        match (effects.len(), refused.first()) {
            (_, Some(first)) => self.notify(Toast::error(format!("not sent: {first}"), now)),
            (1, None) => self.notify(Toast::info(format!("{verb} the request…"), now)),
            (n, None) => self.notify(Toast::info(format!("{verb} {n} requests…"), now)),
        }
        effects
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Vec<Effect> {
        match overlay {
            Overlay::Help(mut help) => {
                if help.handle(key, &self.ctx.keymap, self.active.section()) {
                    self.overlay = Some(Overlay::Help(help));
                }
                Vec::new()
            }
            Overlay::Confirm(mut dialog, ids) => match dialog.handle(key) {
                DialogReply::Pending => {
                    self.overlay = Some(Overlay::Confirm(dialog, ids));
                    Vec::new()
                }
                DialogReply::Cancel => {
                    self.notify(Toast::info("cancelled: nothing was sent", self.ctx.now));
                    Vec::new()
                }
                DialogReply::Confirm(comment) => self.decide(&ids, DecisionKind::Approve, &comment),
            },
            Overlay::Comment(mut dialog, id) => match dialog.handle(key) {
                DialogReply::Pending => {
                    self.overlay = Some(Overlay::Comment(dialog, id));
                    Vec::new()
                }
                DialogReply::Cancel => {
                    self.notify(Toast::info("cancelled: nothing was sent", self.ctx.now));
                    Vec::new()
                }
                DialogReply::Confirm(reason) => self.decide(&[id], DecisionKind::Reject, &reason),
            },
            Overlay::Command(mut line) => match line.handle(key) {
                InputReply::Submit => {
                    let text = line.input.text().to_string();
                    self.run_command(&text)
                }
                InputReply::Cancel => Vec::new(),
                InputReply::Changed | InputReply::Moved | InputReply::Ignored => {
                    self.overlay = Some(Overlay::Command(line));
                    Vec::new()
                }
            },
        }
    }

    /// A message from the runtime.
    pub fn handle_event(&mut self, event: Event) {
        let now = self.ctx.now;
        match event {
            Event::Data(data) => {
                self.inventory.before_data(&self.ctx);
                self.approvals.before_data(&self.ctx);
                self.audit.before_data(&self.ctx);
                self.renewals.before_data(&self.ctx);
                self.ctx.set_data(*data);
                self.refresh_panes();
                // The replaced snapshot and its rows are freed: give them back.
                crate::memory::release_freed();
                // The open detail may have changed too: read it again.
                self.detail_requested = None;
            }
            Event::Detail(detail) => self.ctx.loaded_detail = Some(detail),
            Event::AuditPage(page) => self.audit.on_page(*page, &self.ctx),
            Event::Kpis(kpis) => {
                self.ctx.data.kpis = Some(*kpis);
                self.kpis.refresh(&self.ctx);
            }
            Event::Sync(status) => {
                if status.error.is_some() && status.error != self.sync.error {
                    let error = status.error.clone().unwrap_or_default();
                    self.notify(Toast::error(format!("sync: {error}"), now));
                }
                self.syncing_since = match (status.syncing, self.syncing_since) {
                    (false, _) => None,
                    (true, since) => since.or(Some(now)),
                };
                self.sync = status;
            }
            Event::ActionResult { target_id, outcome } => {
                self.ctx.in_flight.remove(&target_id);
                let name =
                    self.ctx.app(&target_id).map(|a| a.name.to_string()).or_else(|| {
                        self.ctx.data.approvals.iter().find(|a| a.id == target_id).map(|a| a.app_name.clone())
                    });
                let prefix = name.map(|n| format!("{}: ", sanitize(&n))).unwrap_or_default();
                match outcome {
                    Ok(message) => self.notify(Toast::success(format!("{prefix}{message}"), now)),
                    Err(message) => self.notify(Toast::error(format!("{prefix}{message}"), now)),
                }
                // The outbox may have changed what is allowed.
                self.refresh_panes();
            }
            Event::Verified(result) => {
                let toast = match &result {
                    Ok(message) => Toast::success(message.clone(), now),
                    Err(message) => Toast::error(message.clone(), now),
                };
                self.audit.set_verified(result);
                self.notify(toast);
            }
        }
    }
}
