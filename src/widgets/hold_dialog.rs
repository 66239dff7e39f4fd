//! The dialogs of quarantine now (`Q`) and retirement (`R`), one flow each:
//! a reason box (the [`CommentBox`]), then for a retirement the exit
//! checklist one question at a time (credentials revoked? data archived or
//! deleted, with the app's retention days? dependents told?), then a
//! confirmation that says what will happen. A "no" on the checklist ends the
//! flow with the reason it cannot go ahead: the checklist exists so nothing
//! is left behind, and the server refuses an unticked item too.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::comment::CommentBox;
use super::confirm::{DialogReply, render_dialog};
use crate::config::theme::Theme;
use crate::domain::hold::{DataDisposition, ExitChecklist};
use crate::sanitize::fit;

/// Which verb the flow ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    Quarantine,
    Retire,
}

/// Where the flow is.
#[derive(Debug, Clone)]
enum Step {
    Reason(Box<CommentBox>),
    Credentials,
    Data,
    Dependents,
    Confirm,
}

/// What a key did to the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowReply {
    Pending,
    Cancel,
    /// The checklist was answered "no": nothing is sent, and this says why.
    Refused(String),
    Quarantine {
        app_id: String,
        reason: String,
    },
    Retire {
        app_id: String,
        reason: String,
        checklist: ExitChecklist,
    },
}

/// One quarantine or retirement being asked for.
#[derive(Debug, Clone)]
pub struct HoldFlow {
    pub kind: FlowKind,
    pub app_id: String,
    /// The app's name, sanitized by the caller.
    name: String,
    /// The app's retention days, once its full record is read.
    retention_days: Option<u32>,
    /// Pending requests of the app, which a retirement closes.
    pending_requests: usize,
    step: Step,
    reason: String,
    credentials_revoked: bool,
    data: Option<DataDisposition>,
}

impl HoldFlow {
    /// `name` is already sanitized.
    pub fn quarantine(app_id: String, name: String, theme: &Theme) -> HoldFlow {
        let lines = vec![Line::from(Span::styled(
            format!("Why must {} stop now? The owner sees the reason.", fit(&name, 40)),
            theme.text,
        ))];
        let reason = CommentBox::new("Quarantine now", lines, "Reason (required)", true, "next", theme);
        HoldFlow::new(FlowKind::Quarantine, app_id, name, None, 0, reason)
    }

    /// `name` is already sanitized.
    pub fn retire(
        app_id: String,
        name: String,
        retention_days: Option<u32>,
        pending_requests: usize,
        theme: &Theme,
    ) -> HoldFlow {
        let lines = vec![Line::from(Span::styled(
            format!("Why is {} being retired? It is recorded with the exit checklist.", fit(&name, 40)),
            theme.text,
        ))];
        let reason = CommentBox::new("Retire app", lines, "Reason (required)", true, "next: exit checklist", theme);
        HoldFlow::new(FlowKind::Retire, app_id, name, retention_days, pending_requests, reason)
    }

    fn new(
        kind: FlowKind,
        app_id: String,
        name: String,
        retention_days: Option<u32>,
        pending_requests: usize,
        reason: CommentBox,
    ) -> HoldFlow {
        HoldFlow {
            kind,
            app_id,
            name,
            retention_days,
            pending_requests,
            step: Step::Reason(Box::new(reason)),
            reason: String::new(),
            credentials_revoked: false,
            data: None,
        }
    }

    /// The app's retention days, read after the flow opened.
    pub fn set_retention_days(&mut self, days: u32) {
        self.retention_days = Some(days);
    }

    fn retention(&self) -> String {
        self.retention_days.map_or_else(|| "… (reading its record)".to_string(), |days| format!("{days} days"))
    }

    /// The step's name, for tests and the status line: `reason`,
    /// `credentials`, `data`, `dependents` or `confirm`.
    pub fn step_name(&self) -> &'static str {
        match self.step {
            Step::Reason(_) => "reason",
            Step::Credentials => "credentials",
            Step::Data => "data",
            Step::Dependents => "dependents",
            Step::Confirm => "confirm",
        }
    }

    fn finish(&self, dependents_notified: bool) -> FlowReply {
        match (self.kind, self.data) {
            (FlowKind::Retire, Some(data)) => FlowReply::Retire {
                app_id: self.app_id.clone(),
                reason: self.reason.clone(),
                checklist: ExitChecklist { credentials_revoked: self.credentials_revoked, data, dependents_notified },
            },
            _ => FlowReply::Quarantine { app_id: self.app_id.clone(), reason: self.reason.clone() },
        }
    }

    pub fn handle(&mut self, key: KeyEvent) -> FlowReply {
        let yes = matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'));
        let no = matches!(key.code, KeyCode::Char('n') | KeyCode::Char('N'));
        if key.code == KeyCode::Esc {
            return FlowReply::Cancel;
        }
        match &mut self.step {
            Step::Reason(dialog) => match dialog.handle(key) {
                DialogReply::Pending => FlowReply::Pending,
                DialogReply::Cancel => FlowReply::Cancel,
                DialogReply::Confirm(reason) => {
                    self.reason = reason;
                    self.step = match self.kind {
                        FlowKind::Quarantine => Step::Confirm,
                        FlowKind::Retire => Step::Credentials,
                    };
                    FlowReply::Pending
                }
            },
            Step::Credentials if yes => {
                self.credentials_revoked = true;
                self.step = Step::Data;
                FlowReply::Pending
            }
            Step::Credentials if no => FlowReply::Refused(format!(
                "not retired: revoke the credentials and secrets of {} first; the exit checklist leaves nothing behind",
                self.name
            )),
            Step::Data => {
                self.data = match key.code {
                    KeyCode::Char('a') | KeyCode::Char('A') => Some(DataDisposition::Archived),
                    KeyCode::Char('d') | KeyCode::Char('D') => Some(DataDisposition::Deleted),
                    _ => return FlowReply::Pending,
                };
                self.step = Step::Dependents;
                FlowReply::Pending
            }
            Step::Dependents if yes => {
                self.step = Step::Confirm;
                FlowReply::Pending
            }
            Step::Dependents if no => FlowReply::Refused(format!(
                "not retired: tell the dependents of {} first; the exit checklist leaves nothing behind",
                self.name
            )),
            Step::Confirm if yes || key.code == KeyCode::Enter => self.finish(true),
            Step::Confirm if no => FlowReply::Cancel,
            Step::Credentials | Step::Dependents | Step::Confirm => FlowReply::Pending,
        }
    }

    fn question(&self, theme: &Theme) -> (String, Vec<Line<'static>>, Vec<(&'static str, &'static str)>) {
        let name = fit(&self.name, 40);
        let text = |text: String| Line::from(Span::styled(text, theme.text));
        let reason =
            Line::from(vec![Span::styled("Reason: ", theme.muted), Span::styled(self.reason.clone(), theme.text)]);
        match (&self.step, self.kind) {
            (Step::Credentials, _) => (
                "Exit checklist 1/3".into(),
                vec![text(format!("Are the credentials and secrets of {name} revoked?")), reason],
                vec![("y", "yes"), ("n", "no")],
            ),
            (Step::Data, _) => (
                "Exit checklist 2/3".into(),
                vec![
                    text(format!("Was the data of {name} archived or deleted?")),
                    Line::from(Span::styled(
                        format!("Its retention is {}: keep what it says, delete the rest.", self.retention()),
                        theme.warning,
                    )),
                ],
                vec![("a", "archived"), ("d", "deleted")],
            ),
            (Step::Dependents, _) => (
                "Exit checklist 3/3".into(),
                vec![text(format!("Were the dependents of {name} told it is going away?"))],
                vec![("y", "yes"), ("n", "no")],
            ),
            (_, FlowKind::Quarantine) => (
                "Quarantine now".into(),
                vec![
                    Line::from(Span::styled(
                        format!("Quarantine {name} now: it stops at once; only a reviewer can release it."),
                        theme.danger,
                    )),
                    text("The owner's renewal does not lift the hold, and the TTL lifecycle waits for it.".into()),
                    reason,
                ],
                vec![("enter/y", "quarantine now")],
            ),
            (_, FlowKind::Retire) => {
                let data = self.data.map_or("—", DataDisposition::as_str);
                let closes = match self.pending_requests {
                    0 => "It has no pending request.".to_string(),
                    1 => "Its pending request closes.".to_string(),
                    n => format!("Its {n} pending requests close."),
                };
                (
                    "Retire app".into(),
                    vec![
                        Line::from(Span::styled(
                            format!("Retire {name} now: it becomes decommissioned, which is final. {closes}"),
                            theme.danger,
                        )),
                        text(format!(
                            "Checklist: credentials revoked · data {data} (retention {}) · dependents told",
                            self.retention()
                        )),
                        reason,
                    ],
                    vec![("enter/y", "retire")],
                )
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if let Step::Reason(dialog) = &self.step {
            return dialog.render(frame, area, theme);
        }
        let (title, lines, keys) = self.question(theme);
        let mut hint = Vec::new();
        for (key, label) in keys {
            hint.push(Span::styled(key, theme.key));
            hint.push(Span::styled(format!(" {label}   "), theme.text));
        }
        hint.push(Span::styled("esc", theme.key));
        hint.push(Span::styled(" cancel", theme.text));
        render_dialog(frame, area, theme, &title, &lines, None, None, Line::from(hint));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(flow: &mut HoldFlow, keys: &str) -> FlowReply {
        let mut reply = FlowReply::Pending;
        for c in keys.chars() {
            let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
            reply = flow.handle(KeyEvent::new(code, KeyModifiers::NONE));
        }
        reply
    }

    #[test]
    fn a_quarantine_asks_a_reason_then_confirms() {
        let theme = Theme::default();
        let mut flow = HoldFlow::quarantine("a1".into(), "menu".into(), &theme);
        assert_eq!(press(&mut flow, "\n"), FlowReply::Pending, "a reason is required");
        assert_eq!(flow.step_name(), "reason");
        assert_eq!(press(&mut flow, "leak\n"), FlowReply::Pending);
        assert_eq!(flow.step_name(), "confirm");
        assert_eq!(press(&mut flow, "y"), FlowReply::Quarantine { app_id: "a1".into(), reason: "leak".into() });
    }

    #[test]
    fn a_retirement_walks_the_checklist_and_a_no_refuses() {
        let theme = Theme::default();
        let mut flow = HoldFlow::retire("a1".into(), "menu".into(), Some(90), 1, &theme);
        press(&mut flow, "done\n");
        assert_eq!(flow.step_name(), "credentials");
        assert_eq!(press(&mut flow, "yx"), FlowReply::Pending, "other keys wait");
        assert_eq!(flow.step_name(), "data");
        press(&mut flow, "d");
        assert_eq!(flow.step_name(), "dependents");
        press(&mut flow, "y");
        let checklist =
            ExitChecklist { credentials_revoked: true, data: DataDisposition::Deleted, dependents_notified: true };
        assert_eq!(press(&mut flow, "\n"), FlowReply::Retire { app_id: "a1".into(), reason: "done".into(), checklist });

        let mut flow = HoldFlow::retire("a1".into(), "menu".into(), Some(90), 0, &theme);
        assert!(matches!(press(&mut flow, "done\nn"), FlowReply::Refused(why) if why.contains("credentials")));
        let mut flow = HoldFlow::retire("a1".into(), "menu".into(), Some(90), 0, &theme);
        assert!(matches!(press(&mut flow, "done\nyan"), FlowReply::Refused(why) if why.contains("dependents")));
    }
}
