//! `:intake`: a new manifest written in `$EDITOR`, previewed, then submitted.
//!
//! The editor opens on the template ([`manifest_file::template`]). When it
//! returns, the text is read with [`manifest_file`]: a manifest with
//! problems reopens the editor on the same text with every problem as a
//! `#!` comment at the top (as `git commit` keeps its comments), lines
//! counted in the file as shown; a text emptied, left as the template, or
//! saved unchanged after a reopen cancels. A valid one opens a preview (score and breakdown, tier, review
//! and its due time, worked out by [`intake::preview`], the code the
//! server's dry run uses) that asks to submit (`y`/enter) or not
//! (`n`/esc); submitted, it goes through the outbox as `govdeck intake` does.

use ratatui::text::{Line, Span};

use super::edit::{EditPurpose, EditRequest};
use super::{App, Confirmed, Effect, Overlay};
use crate::domain::intake::{self, IntakePreview};
use crate::domain::manifest_file::{self, Format, Problem};
use crate::domain::{App as CatalogApp, Manifest, naming};
use crate::sanitize::{fit, sanitize};
use crate::widgets::confirm::ConfirmDialog;
use crate::widgets::toast::Toast;

/// A manifest being written in the editor, for intake or an adoption.
pub(super) struct Draft {
    pub purpose: EditPurpose,
    /// What the cancel toast says was cancelled: "intake", "adoption".
    pub verb: &'static str,
    /// The text the editor opened on: saved as it is, nothing is sent.
    pub start: String,
    /// The discovered app an adoption is for.
    pub adopting: Option<CatalogApp>,
}

/// What the problem comments at the top of a reopened manifest start with.
pub const PROBLEM_MARK: &str = "#!";

/// The edit `:intake` starts with.
pub fn intake_request(text: String) -> EditRequest {
    EditRequest { purpose: EditPurpose::Intake, text, suffix: ".toml" }
}

/// The text without the problem comments a reopen put at its top.
fn without_problems(text: &str) -> &str {
    let mut rest = text;
    while let Some(line_end) = rest.find('\n').map(|at| at + 1).or((!rest.is_empty()).then_some(rest.len())) {
        if !rest.starts_with(PROBLEM_MARK) {
            break;
        }
        rest = &rest[line_end..];
    }
    rest
}

/// `body` with `problems` as `#!` comments on top; each line number is of
/// the file as it is shown (the comments included).
pub fn with_problems(body: &str, problems: &[Problem]) -> String {
    let count = if problems.len() == 1 { "1 problem".to_string() } else { format!("{} problems", problems.len()) };
    let header_lines = problems.len() + 2;
    let mut text =
        format!("{PROBLEM_MARK} This manifest has {count}; fix them and save, or empty the file to cancel.\n");
    for problem in problems {
        let shown = Problem { line: problem.line.map(|line| line + header_lines), ..problem.clone() };
        text.push_str(&format!("{PROBLEM_MARK}   {shown}\n"));
    }
    text.push_str(&format!("{PROBLEM_MARK}\n"));
    text.push_str(body);
    text
}

impl App {
    /// True, with a toast saying so, while the console does not know who the
    /// user is yet (the first sync has not brought the user's roles): a role
    /// check then would refuse what the user may do.
    pub(super) fn identity_pending(&mut self, what: &str) -> bool {
        if !self.ctx.actor.roles.is_empty() {
            return false;
        }
        self.notify(Toast::info(
            format!("{what}: the console learns your roles with its first sync; try again in a moment"),
            self.ctx.now,
        ));
        true
    }
}

/// Whether nothing but comments and blank lines is left.
fn is_blank(text: &str) -> bool {
    text.lines().map(str::trim).all(|line| line.is_empty() || line.starts_with('#'))
}

impl App {
    /// `:intake`: the template in the editor, for a user who may file intake.
    pub(super) fn start_intake(&mut self) -> Vec<Effect> {
        if self.identity_pending(":intake") {
            return Vec::new();
        }
        if !self.ctx.actor.may_submit_intake() {
            let text = format!(
                ":intake needs the owner, lead or admin role; {} holds {}",
                sanitize(&self.ctx.actor.user),
                self.ctx.actor.roles.iter().map(|role| role.as_str()).collect::<Vec<_>>().join(", ")
            );
            self.notify(Toast::error(text, self.ctx.now));
            return Vec::new();
        }
        vec![Effect::Edit(intake_request(manifest_file::template(crate::domain::policy::Policy::builtin())))]
    }

    /// The manifest text the editor left for `:intake`.
    pub(super) fn intake_edited(&mut self, text: String) -> Vec<Effect> {
        let draft = Draft {
            purpose: EditPurpose::Intake,
            verb: "intake",
            start: manifest_file::template(crate::domain::policy::Policy::builtin()),
            adopting: None,
        };
        let manifest = match self.read_draft(&draft, &text) {
            Ok(manifest) => manifest,
            Err(effects) => return effects,
        };
        let now = self.ctx.now;
        let preview = intake::preview(crate::domain::policy::Policy::builtin(), Some(&manifest), Vec::new(), now);
        let Ok(json) = serde_json::to_string(&manifest) else {
            self.notify(Toast::error("intake: the manifest cannot be written as JSON; nothing was sent", now));
            return Vec::new();
        };
        let owner = manifest.owner.clone().unwrap_or_else(|| self.ctx.actor.user.clone());
        let dialog = ConfirmDialog::new(
            "Submit this app for intake?",
            self.preview_lines(&manifest, &owner, &preview),
            "submit",
        );
        self.overlay =
            Some(Overlay::Confirm(Box::new(dialog), Confirmed::Intake { name: manifest.name.clone(), manifest: json }));
        Vec::new()
    }

    /// The manifest a draft's text holds, or what to do instead: a toast
    /// when it is cancelled (emptied, left as it started, saved unchanged
    /// with its problems), the editor again with the problems on top.
    pub(super) fn read_draft(&mut self, draft: &Draft, text: &str) -> Result<Manifest, Vec<Effect>> {
        let now = self.ctx.now;
        let verb = draft.verb;
        let body = without_problems(text);
        if is_blank(body) {
            self.notify(Toast::info(format!("{verb} cancelled: the manifest was emptied; nothing was sent"), now));
            return Err(Vec::new());
        }
        if body == draft.start {
            let what = if draft.adopting.is_some() { "manifest" } else { "template" };
            self.notify(Toast::info(format!("{verb} cancelled: the {what} was left unchanged; nothing was sent"), now));
            return Err(Vec::new());
        }
        let (manifest, problems) = match manifest_file::parse(body, Format::Toml) {
            Ok(manifest) => {
                let problems = self.intake_problems(&manifest, draft.adopting.as_ref());
                (Some(manifest), problems)
            }
            Err(problems) => (None, problems),
        };
        match manifest {
            Some(manifest) if problems.is_empty() => Ok(manifest),
            _ => {
                let reopened = with_problems(body, &problems);
                if reopened == text {
                    // Saved as it was reopened: the problems stand and the
                    // author did nothing about them.
                    let message = format!(
                        "{verb} cancelled: the manifest was saved unchanged with its problems; nothing was sent"
                    );
                    self.notify(Toast::info(message, now));
                    return Err(Vec::new());
                }
                Err(vec![Effect::Edit(EditRequest { purpose: draft.purpose.clone(), text: reopened, suffix: ".toml" })])
            }
        }
    }

    /// What the cache can tell of a manifest before the server sees it: a
    /// name another app holds, an owner the user may not name. `adopting`
    /// is the discovered app it is for, whose own name does not count and
    /// whose imported owner stands when the manifest names none.
    fn intake_problems(&self, manifest: &Manifest, adopting: Option<&CatalogApp>) -> Vec<Problem> {
        let mut problems = Vec::new();
        let me = &self.ctx.actor;
        let owner = match adopting {
            Some(app) => Some(intake::adopted_owner(app, manifest)),
            None => manifest.owner.clone(),
        };
        if owner.is_some_and(|owner| owner != me.user) && !me.may_file_for_others() {
            problems.push(Problem::new("owner", "only a lead or an admin may file intake for another owner"));
        }
        let adopting_id = adopting.map(|app| app.id.as_str());
        let carriers = self
            .ctx
            .data
            .apps
            .iter()
            .filter(|app| app.name == manifest.name.as_str() && Some(app.id.as_str()) != adopting_id);
        if let Err(taken) = naming::check_name_free(&manifest.name, carriers.map(|app| (app.id.as_str(), app.state))) {
            problems.push(Problem::new("name", taken.to_string()));
        }
        problems
    }

    /// The preview's lines: name, team and owner, the score and its
    /// breakdown with the tier, the review and its due time.
    pub(super) fn preview_lines(
        &self,
        manifest: &Manifest,
        owner: &str,
        preview: &IntakePreview,
    ) -> Vec<Line<'static>> {
        let theme = &self.ctx.theme;
        let mut lines = vec![Line::from(Span::styled(
            format!("{} · team {} · owner {}", fit(&manifest.name, 40), fit(&manifest.team, 24), fit(owner, 24)),
            theme.title,
        ))];
        if let Some(risk) = preview.risk {
            let f = risk.factors;
            lines.push(Line::from(Span::styled(
                format!(
                    "Risk {} ({}): data {} + users {} + connectivity {} + environment {}",
                    risk.score,
                    risk.tier.as_str(),
                    f.data,
                    f.users,
                    f.connectivity,
                    f.environment
                ),
                theme.text,
            )));
        }
        if let Some(review) = &preview.review {
            let style = if review.auto_approved { theme.ok } else { theme.warning };
            lines.push(Line::from(Span::styled(format!("Review: {}", review.summary), style)));
        }
        lines.push(Line::from(Span::styled(
            "Sent through the outbox: queued when the server cannot be reached.",
            theme.muted,
        )));
        lines
    }

    /// Submits a previewed manifest.
    pub(super) fn submit_intake(&mut self, name: String, manifest: String) -> Vec<Effect> {
        self.notify(Toast::info(format!("submitting {} for intake…", sanitize(&name)), self.ctx.now));
        vec![Effect::Intake { name, manifest }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_comments_come_off_again_and_count_lines_as_shown() {
        let body = "name = \"\"\n";
        let problems = vec![Problem { field: "name".into(), problem: "must not be empty".into(), line: Some(1) }];
        let shown = with_problems(body, &problems);
        assert_eq!(
            shown,
            "#! This manifest has 1 problem; fix them and save, or empty the file to cancel.\n\
             #!   line 4: name: must not be empty\n#!\nname = \"\"\n"
        );
        assert_eq!(shown.lines().nth(3), Some("name = \"\""), "line 4 is the line named");
        assert_eq!(without_problems(&shown), body);
        assert_eq!(without_problems(body), body);
        assert_eq!(without_problems("#!\n"), "");
        assert!(is_blank("# a comment\n\n   \n"));
        assert!(!is_blank("# a comment\nname = \"x\"\n"));
    }
}
