//! `e` on an app: its manifest edited in `$EDITOR`, the diff and the risk
//! change shown, then the amendment sent.
//!
//! Back from the editor: text left as it was is a toast and nothing is
//! sent; text that does not parse or validate reopens the editor with the
//! problems as `#` comments at the top; anything else opens a confirmation
//! of each changed field (old → new), the risk change, and whether the
//! amendment applies at once or is held for review at its tier.

use ratatui::text::{Line, Span};
use serde_json::{Map, Value};

use super::edit::{EditPurpose, EditRequest};
use super::{App, Confirmed, Effect, Overlay};
use crate::domain::amend::{self, AmendError, FieldChange};
use crate::domain::{App as CatalogApp, AppState, Approval, ApprovalKind, ApprovalStatus, Manifest};
use crate::sanitize::sanitize;
use crate::widgets::confirm::ConfirmDialog;
use crate::widgets::toast::Toast;

/// How a problem line left in the editor's text starts; such lines are
/// dropped when the text comes back.
const PROBLEM_MARK: &str = "# ! ";

/// Most changed fields a confirmation lists; the rest are counted.
const DIFF_LIST_MAX: usize = 10;

/// The text the editor opens for `app`: its manifest as TOML under a few
/// comment lines.
pub fn manifest_text(app: &CatalogApp) -> String {
    format!(
        "# Amending {} ({}), manifest version {}.\n# Save and quit to see the changes and confirm them; quit \
         without saving to leave it as it is.\n# `owner` is not amended here: an app changes owner by transfer.\n\n{}",
        sanitize(&app.name),
        sanitize(&app.id),
        app.version,
        amend::to_toml(&amend::manifest_of(app))
    )
}

/// `problems` as comment lines on top of `text` (without earlier ones).
fn with_problems(text: &str, problems: &[String]) -> String {
    let mut out =
        String::from("# ! The manifest was not amended; fix these and save again (or quit without saving):\n");
    for problem in problems {
        for line in problem.lines() {
            out.push_str(PROBLEM_MARK);
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&without_problems(text));
    out
}

fn without_problems(text: &str) -> String {
    text.lines().filter(|line| !line.starts_with(PROBLEM_MARK.trim_end())).map(|line| format!("{line}\n")).collect()
}

/// The open `change` request of an app, if one is held.
pub fn held_change<'a>(requests: impl IntoIterator<Item = &'a Approval>) -> Option<&'a Approval> {
    requests.into_iter().find(|request| request.kind == ApprovalKind::Change && amend::is_open(request))
}

/// What the edited text asks for: the new manifest, or every problem.
fn read_edit(app: &CatalogApp, text: &str) -> Result<Manifest, Vec<String>> {
    let mut manifest = amend::parse_manifest(text, false)?;
    if let Some(owner) = manifest.owner.take()
        && owner != app.owner
    {
        return Err(vec![format!(
            "owner: {owner:?} is not {:?}; an amendment does not change the owner (an app changes owner by transfer)",
            app.owner
        )]);
    }
    Ok(manifest)
}

impl App {
    /// Why the user may not amend app `app_id`, if they may not.
    fn amend_refusal(&self, app_id: &str) -> Option<String> {
        let app = self.ctx.app(app_id)?;
        if let Err(refused) =
            amend::may_amend(&app.owner, &self.ctx.actor).and_then(|()| amend::may_amend_in(app.state))
        {
            return Some(refused.to_string());
        }
        if self.ctx.is_pending_action(app_id) {
            return Some("an action on this app is already waiting to be sent".into());
        }
        None
    }

    /// `e`: opens the editor on the app's manifest, once its full record is here.
    pub(super) fn amend(&mut self, app_id: String) -> Vec<Effect> {
        let now = self.ctx.now;
        if let Some(reason) = self.amend_refusal(&app_id) {
            self.notify(Toast::error(format!("cannot amend: {reason}"), now));
            return Vec::new();
        }
        if let Some(view) = self.ctx.detail(&app_id) {
            return vec![edit_effect(view.app)];
        }
        let name = self.ctx.app(&app_id).map(|app| sanitize(&app.name).into_owned()).unwrap_or_default();
        self.notify(Toast::info(format!("reading the manifest of {name}…"), now));
        self.amend_waiting = Some(app_id.clone());
        self.detail_requested = Some(app_id.clone());
        vec![Effect::LoadDetail { app_id }]
    }

    /// The editor for an amendment that waited for its app's record.
    pub(super) fn amend_when_loaded(&mut self) -> Vec<Effect> {
        let Some(app_id) = self.amend_waiting.as_deref() else { return Vec::new() };
        let Some(view) = self.ctx.detail(app_id) else { return Vec::new() };
        let effect = edit_effect(view.app);
        self.amend_waiting = None;
        vec![effect]
    }

    /// The manifest text the editor left for an amendment of `app_id` at `rev`.
    pub(super) fn amend_edited(&mut self, app_id: String, rev: u64, text: String) -> Vec<Effect> {
        let now = self.ctx.now;
        let Some(view) = self.ctx.detail(&app_id) else {
            self.notify(Toast::error("the app is no longer in the cache; nothing was sent", now));
            return Vec::new();
        };
        let app = view.app.clone();
        let held = held_change(view.requests.iter().copied()).cloned();
        if app.rev != rev {
            self.notify(Toast::error(
                format!(
                    "{} changed while you edited it; press e to start again from the new version",
                    sanitize(&app.name)
                ),
                now,
            ));
            return Vec::new();
        }
        let next = match read_edit(&app, &text) {
            Ok(next) => next,
            Err(problems) => {
                let text = with_problems(&text, &problems);
                return vec![Effect::Edit(EditRequest {
                    purpose: EditPurpose::Amend { app_id, rev },
                    text,
                    suffix: ".toml",
                })];
            }
        };
        let changes = amend::diff(&amend::manifest_of(&app), &next);
        if changes.is_empty() {
            self.notify(Toast::info(format!("no change to {}: nothing was sent", sanitize(&app.name)), now));
            return Vec::new();
        }
        let lines = self.amend_lines(&app, &next, &changes, held.as_ref());
        let set: Map<String, Value> = amend::as_set(&changes);
        let dialog = ConfirmDialog::new(format!("Amend {}", sanitize(&app.name)), lines, "send the amendment");
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), Confirmed::Amend { app_id, rev, set }));
        Vec::new()
    }

    /// The confirmation's lines: each change, the risk change, what happens.
    fn amend_lines(
        &self,
        app: &CatalogApp,
        next: &Manifest,
        changes: &[FieldChange],
        held: Option<&Approval>,
    ) -> Vec<Line<'static>> {
        let theme = &self.ctx.theme;
        let mut lines: Vec<Line<'static>> = changes
            .iter()
            .take(DIFF_LIST_MAX)
            .map(|change| {
                Line::from(vec![
                    Span::styled(format!("{}: ", sanitize(&change.field)), theme.title),
                    Span::styled(sanitize(&amend::show(&change.old)).into_owned(), theme.muted),
                    Span::styled(" → ", theme.text),
                    Span::styled(sanitize(&amend::show(&change.new)).into_owned(), theme.text),
                ])
            })
            .collect();
        if changes.len() > DIFF_LIST_MAX {
            lines.push(Line::from(Span::styled(
                format!("… and {} more fields", changes.len() - DIFF_LIST_MAX),
                theme.muted,
            )));
        }
        let after = next.risk(crate::domain::policy::Policy::builtin());
        lines.push(Line::from(vec![
            Span::styled("risk: ", theme.title),
            Span::styled(format!("{} {}", app.risk.score, app.risk.tier.as_str()), theme.risk(app.risk.tier)),
            Span::styled(" → ", theme.text),
            Span::styled(format!("{} {}", after.score, after.tier.as_str()), theme.risk(after.tier)),
        ]));
        let material = amend::is_material(&app.risk, &after, changes);
        let (text, style) = match (app.state, held) {
            (AppState::Pending, _) => {
                ("under review: the manifest changes and its request is re-scored".to_string(), theme.text)
            }
            (_, Some(request)) if request.status == ApprovalStatus::ChangesRequested => (
                format!("revises change request {} and sends it back for review", sanitize(&request.id)),
                theme.warning,
            ),
            (_, Some(request)) if material => {
                (format!("refused: {}", AmendError::ChangePending(sanitize(&request.id).into_owned())), theme.danger)
            }
            (_, _) if material => (
                format!(
                    "held for review at {}: the app keeps running on its approved manifest until it is decided",
                    amend::review_tier(crate::domain::policy::Policy::builtin(), &after, next).as_str()
                ),
                theme.warning,
            ),
            _ => ("applies at once".to_string(), theme.ok),
        };
        lines.push(Line::from(Span::styled(text, style)));
        lines
    }

    /// The confirmed amendment, to the outbox.
    pub(super) fn send_amendment(&mut self, app_id: String, rev: u64, set: Map<String, Value>) -> Vec<Effect> {
        let name = self.ctx.app(&app_id).map(|app| sanitize(&app.name).into_owned()).unwrap_or_default();
        self.ctx.in_flight.insert(app_id.clone());
        self.notify(Toast::info(format!("amending {name}…"), self.ctx.now));
        vec![Effect::Amend { app_id, rev, set }]
    }
}

fn edit_effect(app: &CatalogApp) -> Effect {
    Effect::Edit(EditRequest {
        purpose: EditPurpose::Amend { app_id: app.id.clone(), rev: app.rev },
        text: manifest_text(app),
        suffix: ".toml",
    })
}
