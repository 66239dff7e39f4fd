//! `:adopt`: a discovered app (found by an import) taken through review
//! under its own id, as `govdeck intake FILE --adopt APP` does.
//!
//! Refused with the reason before anything opens unless the selected app
//! (or the one whose detail is open) is `discovered` and the user may adopt
//! it ([`intake::may_adopt`]: its owner as imported, or a lead). The editor
//! opens on the manifest the import made of it ([`amend::manifest_of`] with
//! its owner, as TOML), headed by comments naming the app and the fields
//! the importer assumed ([`Upstream::assumed`]), which must be checked.
//! Back from the editor the text goes the way of `:intake`'s
//! ([`App::read_draft`]): problems reopen the editor with them on top, an
//! emptied or unchanged text cancels. A valid manifest opens a preview
//! (score and breakdown, tier, review and its due time) titled for the
//! adoption; `y` sends it through the outbox as [`ActionKind::Adopt`]
//! with the app's id as target and the body the CLI sends.
//!
//! [`Upstream::assumed`]: crate::domain::app::Upstream::assumed
//! [`ActionKind::Adopt`]: crate::cache::outbox::ActionKind::Adopt

use super::edit::{EditPurpose, EditRequest};
use super::edit_intake::Draft;
use super::{App, Confirmed, Effect, Overlay};
use crate::domain::App as CatalogApp;
use crate::domain::amend;
use crate::domain::intake;
use crate::sanitize::sanitize;
use crate::widgets::confirm::ConfirmDialog;
use crate::widgets::toast::Toast;

/// The text the editor opens for adopting `app`: its manifest as the
/// import had it (with its owner), under comments that say what saving
/// it does and which fields the importer assumed.
pub fn adopt_text(app: &CatalogApp) -> String {
    let mut manifest = amend::manifest_of(app);
    manifest.owner = Some(app.owner.clone());
    let found = match &app.upstream {
        Some(upstream) => {
            format!(", found by the {} import as {}", sanitize(&upstream.source), sanitize(&upstream.key))
        }
        None => String::new(),
    };
    let assumed: Vec<String> = app
        .upstream
        .iter()
        .flat_map(|upstream| upstream.assumed.iter())
        .map(|field| sanitize(field).into_owned())
        .collect();
    let check = if assumed.is_empty() {
        "# The importer assumed none of these fields; check each one all the same.".to_string()
    } else {
        format!(
            "# The importer assumed these fields at their most conservative; check each one:\n#   {}",
            assumed.join(", ")
        )
    };
    format!(
        "# Adopting {} ({}){found}.\n# Saving takes this discovered app through review under its own id, with this \
         manifest in place of the import's.\n{check}\n# Save and quit to preview the review; empty the file to \
         cancel.\n\n{}",
        sanitize(&app.name),
        sanitize(&app.id),
        amend::to_toml(&manifest)
    )
}

fn adopt_request(app: &CatalogApp) -> EditRequest {
    EditRequest { purpose: EditPurpose::Adopt { app_id: app.id.clone() }, text: adopt_text(app), suffix: ".toml" }
}

impl App {
    /// `:adopt`: the editor on the selected discovered app's manifest, for
    /// a user who may adopt it, once its full record is here.
    pub(super) fn start_adopt(&mut self) -> Vec<Effect> {
        if self.identity_pending(":adopt") {
            return Vec::new();
        }
        let Some(app) = self.command_app() else {
            return self.refuse(":adopt works on the app selected in Inventory (or whose detail is open)".into());
        };
        let (app_id, name) = (app.id.to_string(), sanitize(&app.name).into_owned());
        if let Err(refused) = intake::may_adopt_app_of(&app.owner, app.state, &self.ctx.actor) {
            return self.refuse(format!("cannot adopt {name}: {refused}"));
        }
        if self.ctx.is_pending_action(&app_id) {
            return self.refuse(format!("cannot adopt {name}: an action on it is already waiting to be sent"));
        }
        if let Some(view) = self.ctx.detail(&app_id) {
            return vec![Effect::Edit(adopt_request(view.app))];
        }
        self.notify(Toast::info(format!("reading the record of {name}…"), self.ctx.now));
        self.adopt_waiting = Some(app_id.clone());
        self.detail_requested = Some(app_id.clone());
        vec![Effect::LoadDetail { app_id }]
    }

    /// The editor for an adoption that waited for its app's record.
    pub(super) fn adopt_when_loaded(&mut self) -> Vec<Effect> {
        let Some(app_id) = self.adopt_waiting.as_deref() else { return Vec::new() };
        let Some(view) = self.ctx.detail(app_id) else { return Vec::new() };
        let checked = intake::may_adopt(view.app, &self.ctx.actor);
        let (request, name) = (adopt_request(view.app), sanitize(&view.app.name).into_owned());
        self.adopt_waiting = None;
        match checked {
            Ok(()) => vec![Effect::Edit(request)],
            Err(refused) => self.refuse(format!("cannot adopt {name}: {refused}")),
        }
    }

    /// The manifest text the editor left for adopting `app_id`.
    pub(super) fn adopt_edited(&mut self, app_id: String, text: String) -> Vec<Effect> {
        let now = self.ctx.now;
        let Some(app) = self.ctx.detail(&app_id).map(|view| view.app.clone()) else {
            self.notify(Toast::error("adoption: the app is no longer in the cache; nothing was sent", now));
            return Vec::new();
        };
        let name = sanitize(&app.name).into_owned();
        if let Err(refused) = intake::may_adopt(&app, &self.ctx.actor) {
            return self.refuse(format!("cannot adopt {name}: {refused}; nothing was sent"));
        }
        let start = adopt_text(&app);
        let draft = Draft { purpose: EditPurpose::Adopt { app_id }, verb: "adoption", start, adopting: Some(app) };
        let manifest = match self.read_draft(&draft, &text) {
            Ok(manifest) => manifest,
            Err(effects) => return effects,
        };
        let Some(app) = draft.adopting else { return Vec::new() };
        let Ok(body) = serde_json::to_value(&manifest) else {
            self.notify(Toast::error("adoption: the manifest cannot be written as JSON; nothing was sent", now));
            return Vec::new();
        };
        let preview = intake::preview(crate::domain::policy::Policy::builtin(), Some(&manifest), Vec::new(), now);
        let owner = intake::adopted_owner(&app, &manifest);
        let dialog = ConfirmDialog::new(
            format!("Adopt {name} ({}) through review?", sanitize(&app.id)),
            self.preview_lines(&manifest, &owner, &preview),
            "adopt",
        );
        let then = Confirmed::Adopt { app_id: app.id.clone(), rev: app.rev, manifest: body };
        self.overlay = Some(Overlay::Confirm(Box::new(dialog), then));
        Vec::new()
    }

    /// The previewed adoption, to the outbox.
    pub(super) fn send_adoption(&mut self, app_id: String, rev: u64, manifest: serde_json::Value) -> Vec<Effect> {
        let name = self.ctx.app(&app_id).map(|app| sanitize(&app.name).into_owned()).unwrap_or_default();
        self.ctx.in_flight.insert(app_id.clone());
        self.notify(Toast::info(format!("adopting {name}…"), self.ctx.now));
        vec![Effect::Adopt { app_id, rev, manifest }]
    }
}
