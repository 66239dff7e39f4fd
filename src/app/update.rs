//! How the state changes: keys (through the keymap, or straight to an open
//! dialog or a filter being typed), actions, the panes' intents (a dialog to
//! open, an effect to send, a toast), and the runtime's events.
//!
//! Keys: `esc` typed quickly before a letter reaches crossterm in one read
//! and is parsed as alt-letter; an alt-letter the keymap does not bind is
//! taken as the two keys (the comment box keeps the alt-letters its text
//! area edits with). While the terminal is too small only quitting works.
//! `q` (the keymap's quit) in a detail goes back to its list, as in help
//! and the other views; in a list it quits; `ctrl-c` quits from anywhere.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::text::{Line, Span};

use super::feedback::{Batch, sync_summary};
use super::{App, Confirmed, Effect, Event, Overlay};
use crate::config::keymap::{Action, Key};
use crate::domain::{AppState, Approval, DecisionKind, Tier, ttl};
use crate::panes::approvals::refusal;
use crate::panes::{Context, Intent, Pane, PaneId};
use crate::sanitize::{fit, sanitize};
use crate::widgets::app_detail::kind_label;
use crate::widgets::comment::CommentBox;
use crate::widgets::confirm::{ConfirmDialog, DialogReply};
use crate::widgets::help::HelpOverlay;
use crate::widgets::line_input::InputReply;
use crate::widgets::queue::QueueReply;
use crate::widgets::text::date;
use crate::widgets::toast::Toast;

/// Requests listed by name in a bulk confirm dialog; the rest are counted.
const CONFIRM_LIST_MAX: usize = 6;

/// Alt-letters the comment box's text area edits with (word moves and
/// deletes, top and bottom): not split into esc and the letter there.
const TEXTAREA_ALT_KEYS: &[char] = &['b', 'f', 'd', '<', '>'];

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
        let bound = self.ctx.keymap.lookup(self.active.section(), Key::from_event(key));
        if self.is_too_small() {
            // Nothing under the request to enlarge may take the key.
            return if bound == Some(Action::Quit) { self.update(Action::Quit) } else { Vec::new() };
        }
        if let Some(plain) = self.esc_then(key, bound) {
            let mut effects = self.key_effects(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            effects.extend(self.key_effects(plain));
            return effects;
        }
        if self.overlay.is_some() || self.pane_is_typing() || bound.is_some() {
            // The key does something: the last message has been seen.
            self.toast = None;
        }
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, key);
        }
        if self.pane_is_typing() {
            let ctx = &self.ctx;
            let intents = match self.active {
                PaneId::Inventory => self.inventory.on_typing_key(key, ctx),
                PaneId::Approvals => self.approvals.on_typing_key(key, ctx),
                PaneId::Audit => self.audit.on_typing_key(key, ctx),
                PaneId::Renewals => self.renewals.on_typing_key(key, ctx),
                PaneId::Kpis => Vec::new(),
            };
            return self.apply(intents);
        }
        match bound {
            Some(Action::Quit) if self.detail_open() => self.update(Action::Back),
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// An alt-letter that stands for `esc` and the letter typed at once (one
    /// terminal read): the letter alone, when nothing binds the alt-letter.
    fn esc_then(&self, key: KeyEvent, bound: Option<Action>) -> Option<KeyEvent> {
        let KeyCode::Char(c) = key.code else { return None };
        if !key.modifiers.contains(KeyModifiers::ALT) || key.modifiers.contains(KeyModifiers::CONTROL) {
            return None;
        }
        let in_text_area =
            matches!(self.overlay, Some(Overlay::Comment(..) | Overlay::Confirm(..) | Overlay::Hold(..)));
        if bound.is_some() && self.overlay.is_none() && !self.pane_is_typing() {
            return None;
        }
        if in_text_area && TEXTAREA_ALT_KEYS.contains(&c) {
            return None;
        }
        Some(KeyEvent::new(KeyCode::Char(c), key.modifiers - KeyModifiers::ALT))
    }

    /// Whether the active pane shows a detail (which `q` closes).
    fn detail_open(&self) -> bool {
        match self.active {
            PaneId::Inventory => self.inventory.detail_app_id().is_some(),
            PaneId::Approvals => self.approvals.detail_id().is_some(),
            PaneId::Renewals => self.renewals.detail_app_id().is_some(),
            PaneId::Audit => self.audit.has_detail(),
            PaneId::Kpis => false,
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
        effects.extend(self.amend_when_loaded());
        effects.extend(self.adopt_when_loaded());
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
                self.sync_requested = true;
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
                Intent::RequestChanges(id) => self.open_request_changes(id),
                Intent::Amend(app_id) => effects.extend(self.amend(app_id)),
                Intent::Renew(app_id) => effects.extend(self.renew(app_id)),
                Intent::Withdraw(approval_id) => self.open_withdraw(approval_id),
                Intent::Quarantine(app_id) => self.open_quarantine(app_id),
                Intent::Retire(app_id) => effects.extend(self.open_retire(app_id)),
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
                "high risk: yours is the first of two approvals; a second, different reviewer must approve too",
                self.ctx.theme.warning,
            )));
        }
        let (title, label) = match approvals.len() {
            1 => ("Approve request".to_string(), "approve".to_string()),
            n => (format!("Approve {n} requests"), format!("approve all {n}")),
        };
        let dialog = ConfirmDialog::new(title, lines, label).with_comment(&self.ctx.theme);
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), Confirmed::Approve(ids)));
    }

    fn open_reject(&mut self, id: String) {
        let Some(approval) = self.ctx.data.approvals.iter().find(|a| a.id == id) else { return };
        let lines = vec![request_summary(approval, &self.ctx)];
        let dialog = CommentBox::new("Reject request", lines, "Reason (required)", true, "reject", &self.ctx.theme);
        self.overlay = Some(Overlay::Comment(Box::new(dialog), id, DecisionKind::Reject));
    }

    fn open_request_changes(&mut self, id: String) {
        let Some(approval) = self.ctx.data.approvals.iter().find(|a| a.id == id) else { return };
        let owner = sanitize(&approval.app_owner).into_owned();
        let lines = vec![
            request_summary(approval, &self.ctx),
            Line::from(Span::styled(
                format!(
                    "It goes back to {owner} and leaves the queue; it returns, with its SLA restarted, once {owner} \
                     amends the manifest."
                ),
                self.ctx.theme.text,
            )),
        ];
        let dialog = CommentBox::new(
            "Request changes",
            lines,
            "What to change (required)",
            true,
            "send back to the owner",
            &self.ctx.theme,
        );
        self.overlay = Some(Overlay::Comment(Box::new(dialog), id, DecisionKind::RequestChanges));
    }

    /// A renewal: sent at once, or first confirmed when it files a
    /// re-approval request (read-only) or would shorten the time left.
    fn renew(&mut self, app_id: String) -> Vec<Effect> {
        let Some(app) = self.ctx.app(&app_id) else { return Vec::new() };
        let theme = &self.ctx.theme;
        let now = self.ctx.now;
        let name = sanitize(&app.name).into_owned();
        let days = crate::domain::policy::Policy::builtin().ttl_days(app.ttl_class);
        let new_expiry = now + chrono::Duration::days(days);
        let extends_now = matches!(app.state, AppState::Active | AppState::Expiring | AppState::Quarantined);
        let (title, lines, label) = if app.state == AppState::ReadOnly {
            let lines = vec![
                Line::from(Span::styled(format!("{} is read-only.", fit(&name, 40)), theme.title)),
                Line::from(Span::styled(
                    "Renewing it files a re-approval request for review; the app stays read-only until the \
                     request is approved.",
                    theme.text,
                )),
            ];
            ("File a re-approval request", lines, "file the request")
        } else if let Some(current) = app.expires_at.filter(|&at| extends_now && ttl::shortens(Some(at), new_expiry)) {
            let lines = vec![
                Line::from(Span::styled(format!("This renewal shortens {}:", fit(&name, 40)), theme.title)),
                Line::from(Span::styled(
                    format!(
                        "it expires {} ({} left) now; renewed for {days} days ({}) it would expire {} ({} left).",
                        date(current),
                        ttl::days_left_label(current, now),
                        app.ttl_class,
                        date(new_expiry),
                        ttl::days_left_label(new_expiry, now),
                    ),
                    theme.warning,
                )),
            ];
            ("Shorten the time left?", lines, "renew and shorten")
        } else {
            return self.send_renewal(app_id);
        };
        let dialog = ConfirmDialog::new(title, lines, label);
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), Confirmed::Renew(app_id)));
        Vec::new()
    }

    fn send_renewal(&mut self, app_id: String) -> Vec<Effect> {
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
        let verb = match decision {
            DecisionKind::Approve => "approving",
            DecisionKind::Reject => "rejecting",
            DecisionKind::RequestChanges => "sending back",
        };
        let now = self.ctx.now;
        if ids.len() > 1 {
            let waiting: BTreeSet<String> = effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Decide { approval_id, .. } => Some(approval_id.clone()),
                    _ => None,
                })
                .collect();
            for reason in &refused {
                self.log(Toast::error(format!("not sent: {reason}"), now));
            }
            let batch = Batch { decision, waiting, done: 0, queued: 0, refused };
            if batch.waiting.is_empty() {
                let (text, _) = batch.summary();
                self.notify(Toast::error(format!("not sent: {text}"), now));
            } else {
                self.notify(Toast::info(format!("{verb} {} requests…", batch.waiting.len()), now));
                self.batch = Some(batch);
            }
            return effects;
        }
        match (effects.len(), refused.first()) {
            (_, Some(first)) => self.notify(Toast::error(format!("not sent: {first}"), now)),
            (0, None) => {}
            (_, None) => self.notify(Toast::info(format!("{verb} the request…"), now)),
        }
        effects
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Vec<Effect> {
        match overlay {
            Overlay::Help(mut help) => {
                let section = self.active.section();
                let max =
                    crate::widgets::help::max_scroll(self.body_area(), &self.ctx.keymap, section, &self.ctx.theme);
                if help.handle(key, &self.ctx.keymap, section, max) {
                    self.overlay = Some(Overlay::Help(help));
                }
                Vec::new()
            }
            Overlay::Messages(mut log) => {
                let max = crate::widgets::messages::max_scroll(&self.messages, self.body_area(), &self.ctx.theme);
                let reply =
                    crate::widgets::scroll_key(key, &self.ctx.keymap, self.active.section(), &mut log.scroll, max);
                if reply == crate::widgets::ScrollKey::Kept {
                    self.overlay = Some(Overlay::Messages(log));
                }
                Vec::new()
            }
            Overlay::Queue(mut queue) => {
                let entries = self.queue_entries();
                match queue.handle(key, &self.ctx.keymap, self.active.section(), &entries) {
                    QueueReply::Close => Vec::new(),
                    QueueReply::Pending => {
                        self.overlay = Some(Overlay::Queue(queue));
                        Vec::new()
                    }
                    QueueReply::NotDismissable(why) => {
                        self.overlay = Some(Overlay::Queue(queue));
                        self.notify(Toast::error(why, self.ctx.now));
                        Vec::new()
                    }
                    QueueReply::Dismiss(action_id) => {
                        self.overlay = Some(Overlay::Queue(queue));
                        // Shown gone at once; the runtime removes it from the cache.
                        self.ctx.data.outbox.retain(|a| a.id != action_id);
                        let what = entries.iter().find(|e| e.id == action_id);
                        let text = what.map_or("dismissed".to_string(), |e| {
                            format!("dismissed the refused {} of {}", e.verb, sanitize(&e.target))
                        });
                        self.notify(Toast::success(text, self.ctx.now));
                        self.refresh_panes();
                        vec![Effect::Dismiss { action_id }]
                    }
                }
            }
            Overlay::Confirm(mut dialog, then) => match dialog.handle(key) {
                DialogReply::Pending => {
                    self.overlay = Some(Overlay::Confirm(dialog, then));
                    Vec::new()
                }
                DialogReply::Cancel => {
                    self.notify(Toast::info("cancelled: nothing was sent", self.ctx.now));
                    Vec::new()
                }
                DialogReply::Confirm(comment) => match then {
                    Confirmed::Approve(ids) => {
                        let effects = self.decide(&ids, DecisionKind::Approve, &comment);
                        self.back_to_queue_after(&effects);
                        effects
                    }
                    Confirmed::Renew(app_id) => self.send_renewal(app_id),
                    Confirmed::Intake { name, manifest } => self.submit_intake(name, manifest),
                    Confirmed::Adopt { app_id, rev, manifest } => self.send_adoption(app_id, rev, manifest),
                    Confirmed::Amend { app_id, rev, set } => self.send_amendment(app_id, rev, set),
                    other => self.send_custody(other, comment),
                },
            },
            Overlay::Comment(mut dialog, id, decision) => match dialog.handle(key) {
                DialogReply::Pending => {
                    self.overlay = Some(Overlay::Comment(dialog, id, decision));
                    Vec::new()
                }
                DialogReply::Cancel => {
                    self.notify(Toast::info("cancelled: nothing was sent", self.ctx.now));
                    Vec::new()
                }
                DialogReply::Confirm(reason) => {
                    let effects = self.decide(&[id], decision, &reason);
                    self.back_to_queue_after(&effects);
                    effects
                }
            },
            Overlay::Hold(flow) => self.hold_key(flow, key),
            Overlay::Command(mut line) => match self.command_key(&mut line, key) {
                InputReply::Submit => {
                    let text = line.input.text().to_string();
                    self.remember_command(&text);
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

    /// A decision sent from a request's detail returns to the queue, on the
    /// next request: the decided one is done with.
    fn back_to_queue_after(&mut self, effects: &[Effect]) {
        let sent =
            |id: &str| effects.iter().any(|e| matches!(e, Effect::Decide { approval_id, .. } if approval_id == id));
        if self.approvals.detail_id().is_some_and(sent) {
            self.approvals.close_detail_to_next(&self.ctx);
        }
    }

    /// The app's name for an app or request id the snapshot knows.
    pub(crate) fn name_of(&self, target_id: &str) -> Option<String> {
        self.ctx
            .app(target_id)
            .map(|a| a.name.to_string())
            .or_else(|| self.ctx.data.approvals.iter().find(|a| a.id == target_id).map(|a| a.app_name.clone()))
    }

    /// The outbox as the queue view lists it: waiting and refused actions.
    pub(crate) fn queue_entries(&self) -> Vec<crate::widgets::queue::QueueEntry> {
        use crate::panes::data::QueuedStatus;
        self.ctx
            .data
            .outbox
            .iter()
            .map(|action| crate::widgets::queue::QueueEntry {
                id: action.id,
                verb: action.kind.as_str(),
                target: self.name_of(&action.target_id).unwrap_or_else(|| action.target_id.clone()),
                queued_at: action.queued_at,
                refused: match &action.status {
                    QueuedStatus::Failed(message) => Some(message.clone()),
                    QueuedStatus::Queued | QueuedStatus::Sending => None,
                },
            })
            .collect()
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
            Event::Detail(detail) => {
                self.detail_for_flow(&detail.app);
                self.ctx.loaded_detail = Some(detail);
            }
            Event::AuditPage(page) => self.audit.on_page(*page, &self.ctx),
            Event::Kpis(kpis) => {
                self.ctx.data.kpis = Some(*kpis);
                self.kpis.refresh(&self.ctx);
            }
            Event::Sync(status) => {
                // A sync the user asked for is answered even when it fails
                // as the last one did.
                let asked = !status.syncing && status.error.is_some() && std::mem::take(&mut self.sync_requested);
                if status.error.is_some() && (status.error != self.sync.error || asked) {
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
                // The app's name in front, unless the answer starts with it already.
                let starts_with_name = |name: &str| outcome.as_ref().is_ok_and(|message| message.starts_with(name));
                let prefix = self
                    .name_of(&target_id)
                    .filter(|name| !starts_with_name(name))
                    .map(|n| format!("{}: ", sanitize(&n)))
                    .unwrap_or_default();
                let answer = outcome.clone().map(drop).map_err(|message| format!("{prefix}{message}"));
                if self.batch_answer(&target_id, answer, false) {
                    // Kept in the log one by one; the batch says the sum.
                    let toast = match outcome {
                        Ok(message) => Toast::success(format!("{prefix}{message}"), now),
                        Err(message) => Toast::error(format!("{prefix}{message}"), now),
                    };
                    self.log(toast);
                } else {
                    match outcome {
                        Ok(message) => self.notify(Toast::success(format!("{prefix}{message}"), now)),
                        Err(message) => self.notify(Toast::error(format!("{prefix}{message}"), now)),
                    }
                }
                // The outbox may have changed what is allowed.
                self.refresh_panes();
            }
            Event::ActionQueued { target_id, reason } => {
                self.ctx.in_flight.remove(&target_id);
                let prefix = self.name_of(&target_id).map(|n| format!("{}: ", sanitize(&n))).unwrap_or_default();
                let toast = Toast::info(
                    format!("{prefix}offline — queued, will be sent when the server is back ({reason})"),
                    now,
                );
                if self.batch_answer(&target_id, Ok(()), true) {
                    self.log(toast);
                } else {
                    self.notify(toast);
                }
                self.refresh_panes();
            }
            Event::Synced(summary) => {
                self.ctx.token_refused = false;
                self.ctx.token_expired = None;
                let asked = std::mem::take(&mut self.sync_requested);
                let sent = summary.sent > 0 || !summary.refused.is_empty();
                if asked || sent {
                    let (text, good) = sync_summary(&summary, |id| {
                        self.name_of(id).map_or_else(|| id.to_string(), |n| sanitize(&n).into_owned())
                    });
                    self.notify(if good { Toast::success(text, now) } else { Toast::error(text, now) });
                }
            }
            Event::TokenRefused => self.ctx.token_refused = true,
            Event::TokenExpired(message) => {
                self.ctx.token_refused = true;
                self.ctx.token_expired = Some(message);
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
