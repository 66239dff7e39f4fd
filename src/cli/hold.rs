//! `govdeck quarantine`, `release` and `retire`: the app is found in the
//! cache by id or exact name, the rule of [`crate::domain::hold`] is checked
//! against the cached record (so a refusal that the server would give is
//! said at once, offline too), and the action goes through the outbox: sent
//! now, or queued (exit 5) and sent once on the next `govdeck sync`.
//!
//! `retire` needs the three answers of the exit checklist. In a terminal,
//! any not given as flags are asked one by one; from a pipe a missing
//! answer is a usage error (exit 2) naming the flags, so a script never
//! hangs on a question nobody sees.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use chrono::Utc;

use super::client::{self, Context, context, open_cache};
use super::lookup;
use super::{ClientArgs, EXIT_AUTH, EXIT_CONFLICT, EXIT_ERROR, EXIT_USAGE};
use crate::cache::outbox::ActionKind;
use crate::domain::hold::{self, DataDisposition, ExitChecklist, HoldError, MAX_REASON_CHARS};
use crate::domain::{App, AppState};
use crate::sanitize::sanitize;

/// The app `key` names in the cache, or the exit code after saying why not.
fn cached_app(ctx: &Context, key: &str) -> color_eyre::Result<Result<(App, crate::domain::Actor), ExitCode>> {
    let cache = open_cache(ctx)?;
    let state = lookup::sync_state(cache.conn())?;
    let app = match lookup::app_by_key(cache.conn(), key)? {
        lookup::Found::One(app) => *app,
        _ => {
            let now = Utc::now();
            let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                Some((reason, code)) => (format!("no app {:?} yet: {reason}", sanitize(key)), code),
                None => (lookup::no_app(cache.conn(), key, &state, now)?, ExitCode::from(EXIT_ERROR)),
            };
            eprintln!("govdeck: {reason}");
            return Ok(Err(code));
        }
    };
    Ok(Ok((app, client::cached_me(&cache)?)))
}

/// A reason given on the command line, checked before anything is read.
fn check_reason(reason: &str) -> Option<ExitCode> {
    if reason.trim().is_empty() {
        eprintln!("govdeck: a reason is required: --reason \"…\"");
        return Some(ExitCode::from(EXIT_USAGE));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        eprintln!("govdeck: the reason is longer than {MAX_REASON_CHARS} characters");
        return Some(ExitCode::from(EXIT_USAGE));
    }
    None
}

/// The exit code of a rule the cached record already breaks; nothing is sent or queued.
fn refused(app: &App, err: &HoldError) -> ExitCode {
    eprintln!("govdeck: {} was not changed: {err}; nothing was sent or queued", sanitize(&app.name));
    ExitCode::from(match err {
        HoldError::QuarantineRole | HoldError::ReleaseRole | HoldError::RetireRole => EXIT_AUTH,
        HoldError::ReasonRequired | HoldError::ReasonTooLong(_) | HoldError::Checklist(_) => EXIT_USAGE,
        HoldError::NotLive(_) | HoldError::AlreadyHeld { .. } | HoldError::NotHeld | HoldError::Decommissioned => {
            EXIT_CONFLICT
        }
    })
}

/// `govdeck quarantine APP --reason …`.
pub fn quarantine(args: &ClientArgs, key: &str, reason: &str) -> color_eyre::Result<ExitCode> {
    if let Some(code) = check_reason(reason) {
        return Ok(code);
    }
    let ctx = context(args)?;
    let (app, me) = match cached_app(&ctx, key)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    if let Err(err) = hold::quarantine(&app, &me, reason, Utc::now()) {
        return Ok(refused(&app, &err));
    }
    let body = serde_json::json!({"reason": reason});
    client::queue_and_send(&ctx, ActionKind::Quarantine, &app.id, body, Some(app.rev))
}

/// `govdeck release APP --reason …`.
pub fn release(args: &ClientArgs, key: &str, reason: &str) -> color_eyre::Result<ExitCode> {
    if let Some(code) = check_reason(reason) {
        return Ok(code);
    }
    let ctx = context(args)?;
    let (app, me) = match cached_app(&ctx, key)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    if let Err(err) = hold::release(&app, &me, reason, crate::domain::policy::Policy::builtin(), Utc::now()) {
        return Ok(refused(&app, &err));
    }
    let body = serde_json::json!({"reason": reason});
    client::queue_and_send(&ctx, ActionKind::Release, &app.id, body, Some(app.rev))
}

/// The exit checklist as given on the command line; `None` where not given.
#[derive(Debug, Clone, Default)]
pub struct ChecklistFlags {
    pub credentials_revoked: bool,
    pub data: Option<DataDisposition>,
    pub dependents_notified: bool,
}

const CHECKLIST_FLAGS: &str = "--credentials-revoked, --data archived|deleted and --dependents-notified";

fn ask(question: &str) -> std::io::Result<String> {
    let mut err = std::io::stderr().lock();
    write!(err, "{question} ")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_ascii_lowercase())
}

fn ask_yes(question: &str) -> std::io::Result<bool> {
    Ok(matches!(ask(&format!("{question} [y/N]"))?.as_str(), "y" | "yes"))
}

/// The checklist, the missing answers asked in a terminal; `Err` with the
/// exit code when they cannot be had.
fn complete_checklist(app: &App, flags: &ChecklistFlags) -> color_eyre::Result<Result<ExitChecklist, ExitCode>> {
    let complete = flags.credentials_revoked && flags.dependents_notified && flags.data.is_some();
    if let (true, Some(data)) = (complete, flags.data) {
        return Ok(Ok(ExitChecklist { credentials_revoked: true, data, dependents_notified: true }));
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "govdeck: retiring needs the exit checklist answered: pass {CHECKLIST_FLAGS} \
             (standard input is not a terminal, so nothing is asked); nothing was sent or queued"
        );
        return Ok(Err(ExitCode::from(EXIT_USAGE)));
    }
    eprintln!("Exit checklist for {} (retention: {} days)", sanitize(&app.name), app.retention_days);
    let credentials_revoked = flags.credentials_revoked || ask_yes("Are its credentials and secrets revoked?")?;
    let data = match flags.data {
        Some(data) => data,
        None => loop {
            let answer = ask(&format!(
                "Was its data archived or deleted (its retention is {} days)? [archived/deleted]",
                app.retention_days
            ))?;
            match answer.parse::<DataDisposition>() {
                Ok(data) => break data,
                Err(_) if answer.is_empty() => {
                    eprintln!("govdeck: not retired: the data question was not answered");
                    return Ok(Err(ExitCode::from(EXIT_USAGE)));
                }
                Err(err) => eprintln!("{err}"),
            }
        },
    };
    let dependents_notified = flags.dependents_notified || ask_yes("Were its dependents told?")?;
    Ok(Ok(ExitChecklist { credentials_revoked, data, dependents_notified }))
}

/// `govdeck retire APP --reason … --credentials-revoked --data … --dependents-notified`.
pub fn retire(args: &ClientArgs, key: &str, reason: &str, flags: &ChecklistFlags) -> color_eyre::Result<ExitCode> {
    if let Some(code) = check_reason(reason) {
        return Ok(code);
    }
    let ctx = context(args)?;
    let (app, me) = match cached_app(&ctx, key)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    if app.state == AppState::Decommissioned {
        return Ok(refused(&app, &HoldError::Decommissioned));
    }
    if let Err(err) = hold::may_retire(&me, &app.owner) {
        return Ok(refused(&app, &err));
    }
    let checklist = match complete_checklist(&app, flags)? {
        Ok(checklist) => checklist,
        Err(code) => return Ok(code),
    };
    if let Err(err) = hold::retire(&app, &me, reason, &checklist, Utc::now()) {
        return Ok(refused(&app, &err));
    }
    let body = serde_json::json!({"reason": reason, "checklist": checklist});
    client::queue_and_send(&ctx, ActionKind::Retire, &app.id, body, Some(app.rev))
}
