//! The console's side of three steps of an app's life: `:request-access ENV
//! REASON…` and `:transfer USER REASON…` on the app selected in the
//! Inventory, and `w` (withdraw) on the request selected in Approvals. Each
//! opens a confirmation that says what will happen, and is refused with the
//! reason when the user may not do it; once confirmed it goes through the
//! outbox as decisions and renewals do.

use ratatui::text::{Line, Span};

use super::{App, Confirmed, Effect, Overlay};
use crate::domain::custody::{self, AccessError};
use crate::domain::{AppState, AppSummary, ApprovalKind};
use crate::sanitize::{fit, sanitize};
use crate::widgets::app_detail::kind_label;
use crate::widgets::confirm::ConfirmDialog;
use crate::widgets::text::date_time;
use crate::widgets::toast::Toast;

/// Splits `WORD REASON…` into the word and the rest, trimmed.
fn word_and_rest(args: &str) -> (&str, &str) {
    args.trim().split_once(char::is_whitespace).map_or((args.trim(), ""), |(word, rest)| (word, rest.trim()))
}

impl App {
    /// The app a `:` command on the Inventory acts on: the open detail's, else the selected row's.
    pub(super) fn command_app(&self) -> Option<&AppSummary> {
        match self.inventory.detail_app_id() {
            Some(id) => self.ctx.app(id),
            None => self.inventory.selected_app(&self.ctx),
        }
    }

    pub(super) fn refuse(&mut self, text: String) -> Vec<Effect> {
        self.notify(Toast::error(text, self.ctx.now));
        Vec::new()
    }

    /// `:request-access ENV REASON…`: confirms a production access request
    /// for the selected app, with the review it will get.
    pub(crate) fn open_request_access(&mut self, args: &str) -> Vec<Effect> {
        let (environment, reason) = word_and_rest(args);
        if environment.is_empty() || reason.is_empty() {
            return self
                .refuse(":request-access needs an environment and a reason: :request-access ENV REASON…".into());
        }
        let Some(app) = self.command_app() else { return self.refuse("no app selected".into()) };
        let name = sanitize(&app.name).into_owned();
        let check = custody::may_request_access_for(&app.owner, &self.ctx.actor)
            .and_then(|()| if app.state.is_live() { Ok(()) } else { Err(AccessError::NotLive(app.state)) })
            .and_then(|()| custody::check_environment(environment))
            .and_then(|()| custody::check_reason(reason, true).map_err(AccessError::from));
        if let Err(err) = check {
            return self.refuse(format!("cannot request access for {name}: {err}"));
        }
        if self.ctx.is_pending_action(&app.id) {
            return self.refuse(format!("cannot request access for {name}: an action on it is already waiting"));
        }
        if let Some(pending) = self.ctx.data.approvals.iter().find(|a| {
            a.app_id == app.id
                && a.status == crate::domain::ApprovalStatus::Pending
                && a.kind == ApprovalKind::ProductionAccess
                && a.requested_environment() == environment
        }) {
            let err = AccessError::AlreadyPending { id: pending.id.clone(), environment: environment.to_string() };
            return self.refuse(format!("cannot request access for {name}: {err}"));
        }
        let theme = &self.ctx.theme;
        // The tier the server will use, from the app's risk tier.
        let tier = if app.risk.tier == crate::domain::Tier::High {
            crate::domain::Tier::High
        } else {
            crate::domain::Tier::Medium
        };
        let due = crate::domain::policy::Policy::builtin().due_at(tier, self.ctx.now);
        let lines = vec![
            Line::from(Span::styled(
                format!(
                    "Ask for {} access for {} (owner {}).",
                    sanitize(environment),
                    fit(&name, 40),
                    fit(&app.owner, 20)
                ),
                theme.title,
            )),
            Line::from(Span::styled(format!("Reason: {}", sanitize(reason)), theme.text)),
            Line::from(Span::styled(
                format!(
                    "A production access request is filed, reviewed at the {} tier: {}, due by {} UTC. The app runs as \
                     it does until it is approved; then {} is added to its environments.",
                    tier.as_str(),
                    custody::who_must_approve(crate::domain::policy::Policy::builtin(), tier),
                    date_time(due),
                    sanitize(environment),
                ),
                theme.text,
            )),
        ];
        let then = Confirmed::RequestAccess {
            app_id: app.id.to_string(),
            environment: environment.into(),
            reason: reason.into(),
        };
        let dialog = ConfirmDialog::new("Request access", lines, "file the request");
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), then));
        Vec::new()
    }

    /// `:transfer USER REASON…`: confirms moving the selected app to `USER`.
    pub(crate) fn open_transfer(&mut self, args: &str) -> Vec<Effect> {
        let (to, reason) = word_and_rest(args);
        if to.is_empty() || reason.is_empty() {
            return self.refuse(":transfer needs the new owner and a reason: :transfer USER REASON…".into());
        }
        if let Err(err) = custody::may_transfer(&self.ctx.actor) {
            return self.refuse(format!("cannot transfer: {err}"));
        }
        let Some(app) = self.command_app() else { return self.refuse("no app selected".into()) };
        let name = sanitize(&app.name).into_owned();
        if let Err(err) = custody::check_reason(reason, true) {
            return self.refuse(format!("cannot transfer {name}: {err}"));
        }
        if matches!(app.state, AppState::Decommissioned | AppState::Rejected) {
            return self.refuse(format!("cannot transfer {name}: {}", custody::TransferError::Final(app.state)));
        }
        if app.owner == to {
            return self.refuse(format!("cannot transfer {name}: {}", custody::TransferError::SameOwner(to.into())));
        }
        if self.ctx.is_pending_action(&app.id) {
            return self.refuse(format!("cannot transfer {name}: an action on it is already waiting"));
        }
        let requests = self.ctx.data.approvals.iter().filter(|a| a.app_id == app.id).count();
        let theme = &self.ctx.theme;
        let (from, to_shown) = (sanitize(&app.owner).into_owned(), sanitize(to).into_owned());
        let moved = match requests {
            0 => "It has no requests.".to_string(),
            1 => "Its request moves with it.".to_string(),
            n => format!("Its {n} requests move with it."),
        };
        let lines = vec![
            Line::from(Span::styled(format!("Move {} from {from} to {to_shown}.", fit(&name, 40)), theme.title)),
            Line::from(Span::styled(format!("Reason: {}", sanitize(reason)), theme.text)),
            Line::from(Span::styled(
                format!(
                    "{moved} {from} no longer sees the app or its events after this (their next sync drops it); \
                     {to_shown} owns and renews it from now on. Both see the transfer in the audit log. {to_shown} \
                     must be an active user with the owner or lead role."
                ),
                theme.text,
            )),
        ];
        let then = Confirmed::Transfer { app_id: app.id.to_string(), to: to.into(), reason: reason.into() };
        let dialog = ConfirmDialog::new("Transfer ownership", lines, "transfer");
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), then));
        Vec::new()
    }

    /// `w` on a request: confirms the withdrawal, saying what becomes of the app.
    pub(crate) fn open_withdraw(&mut self, approval_id: String) {
        let Some(approval) = self.ctx.data.approvals.iter().find(|a| a.id == approval_id) else { return };
        let theme = &self.ctx.theme;
        let name = sanitize(&approval.app_name).into_owned();
        let app_state = self.ctx.app(&approval.app_id).map(|app| app.state);
        let what_happens = match (approval.kind, app_state) {
            (ApprovalKind::NewApp, Some(AppState::Pending)) => format!(
                "{name} is still pending: withdrawing its intake request decommissions it, and its name becomes free \
                 for a new intake."
            ),
            (ApprovalKind::ProductionAccess, _) => format!(
                "{name} stays as it is, without {} access; you may ask again later.",
                sanitize(approval.requested_environment())
            ),
            _ => format!("{name} stays as it is."),
        };
        let lines = vec![
            Line::from(Span::styled(
                format!(
                    "Withdraw {} request {} for {} (by {}).",
                    kind_label(approval),
                    fit(&approval.id, 20),
                    fit(&name, 40),
                    fit(&approval.requested_by, 20)
                ),
                theme.title,
            )),
            Line::from(Span::styled(
                format!("The reviewers stop seeing it in their queue. {what_happens}"),
                theme.text,
            )),
        ];
        let mut dialog = ConfirmDialog::new("Withdraw request", lines, "withdraw");
        dialog.comment = Some(crate::widgets::confirm::comment_area(
            "Reason (optional)",
            "why it is withdrawn, or just press enter",
            theme,
        ));
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), Confirmed::Withdraw(approval_id)));
    }

    /// Sends what a custody confirmation confirmed.
    pub(crate) fn send_custody(&mut self, confirmed: Confirmed, comment: String) -> Vec<Effect> {
        let now = self.ctx.now;
        let (target, text, effect) = match confirmed {
            Confirmed::RequestAccess { app_id, environment, reason } => {
                let name = self.name_of(&app_id).unwrap_or_else(|| app_id.clone());
                let text = format!("requesting {} access for {}…", sanitize(&environment), sanitize(&name));
                (app_id.clone(), text, Effect::RequestAccess { app_id, environment, reason })
            }
            Confirmed::Withdraw(approval_id) => {
                let text = format!("withdrawing request {}…", sanitize(&approval_id));
                (approval_id.clone(), text, Effect::Withdraw { approval_id, reason: comment })
            }
            Confirmed::Transfer { app_id, to, reason } => {
                let name = self.name_of(&app_id).unwrap_or_else(|| app_id.clone());
                let text = format!("transferring {} to {}…", sanitize(&name), sanitize(&to));
                (app_id.clone(), text, Effect::Transfer { app_id, to, reason })
            }
            Confirmed::Approve(_)
            | Confirmed::Renew(_)
            | Confirmed::Intake { .. }
            | Confirmed::Adopt { .. }
            | Confirmed::Amend { .. } => {
                return Vec::new();
            }
        };
        self.ctx.in_flight.insert(target);
        self.notify(Toast::info(text, now));
        vec![effect]
    }
}

#[cfg(test)]
mod tests {
    use super::word_and_rest;

    #[test]
    fn the_first_word_and_the_rest_of_the_line() {
        assert_eq!(word_and_rest("production  go live now "), ("production", "go live now"));
        assert_eq!(word_and_rest(" omar"), ("omar", ""));
        assert_eq!(word_and_rest(""), ("", ""));
    }
}
