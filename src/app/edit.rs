//! Text the console hands to the user's editor ([`Effect::Edit`]) and what
//! it does with the text that comes back ([`App::edited`]). The loop in
//! [`crate::tui`] owns the terminal, so it runs the editor; tests call
//! [`App::edited`] with the text an editor would have left.

use super::{App, Effect};
use crate::widgets::toast::Toast;

/// What an edit is for, carried through the editor and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditPurpose {
    /// A new manifest for `:intake`.
    Intake,
    /// An amendment of the app `app_id`, whose manifest was at `rev`.
    Amend { app_id: String, rev: u64 },
    /// The manifest under which the discovered app `app_id` is adopted (`:adopt`).
    Adopt { app_id: String },
}

/// Text to edit: [`Effect::Edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    pub purpose: EditPurpose,
    pub text: String,
    /// The end of the temporary file's name, e.g. `.toml`.
    pub suffix: &'static str,
}

impl App {
    /// The editor's answer to an [`Effect::Edit`]: the edited text, or why
    /// there is none (the editor failed or could not start). Returns what
    /// the runtime must do next.
    pub fn edited(&mut self, purpose: EditPurpose, result: Result<String, String>) -> Vec<Effect> {
        let text = match result {
            Ok(text) => text,
            Err(reason) => {
                let now = self.ctx.now;
                self.notify(Toast::error(format!("{reason}; nothing was sent"), now));
                return Vec::new();
            }
        };
        match purpose {
            EditPurpose::Intake => self.intake_edited(text),
            EditPurpose::Amend { app_id, rev } => self.amend_edited(app_id, rev, text),
            EditPurpose::Adopt { app_id } => self.adopt_edited(app_id, text),
        }
    }
}
