//! What `Q` (quarantine now) and `R` (retire) do on the selected app in
//! every pane that lists apps (inventory, renewals), beside `n` (renew):
//! the dialog the app opens next, or a toast saying why the user may not,
//! by the same rules the server applies ([`crate::domain::hold`]).

use super::{Context, Intent};
use crate::config::keymap::Action;
use crate::domain::hold::{self, HoldError};
use crate::domain::{AppState, AppSummary};
use crate::sanitize::sanitize;
use crate::widgets::toast::Toast;

/// Why the user cannot quarantine `app` now, if they cannot.
pub fn quarantine_refusal(app: &AppSummary, ctx: &Context) -> Option<String> {
    if let Err(err) = hold::may_quarantine(&ctx.actor) {
        return Some(err.to_string());
    }
    if let Some(held) = ctx.hold(&app.id) {
        return Some(HoldError::AlreadyHeld { by: held.by.clone(), reason: held.reason.clone() }.to_string());
    }
    if !app.state.is_live() {
        return Some(HoldError::NotLive(app.state.as_str()).to_string());
    }
    ctx.is_pending_action(&app.id).then(|| "an action on this app is already waiting to be sent".to_string())
}

/// Why the user cannot retire `app` now, if they cannot.
pub fn retire_refusal(app: &AppSummary, ctx: &Context) -> Option<String> {
    if let Err(err) = hold::may_retire(&ctx.actor, &app.owner) {
        return Some(err.to_string());
    }
    if app.state == AppState::Decommissioned {
        return Some(HoldError::Decommissioned.to_string());
    }
    ctx.is_pending_action(&app.id).then(|| "an action on this app is already waiting to be sent".to_string())
}

/// Why the user cannot release `app` now, if they cannot (`:release`).
pub fn release_refusal(app: &AppSummary, ctx: &Context) -> Option<String> {
    if let Err(err) = hold::may_release(&ctx.actor) {
        return Some(err.to_string());
    }
    if ctx.hold(&app.id).is_none() {
        return Some(HoldError::NotHeld.to_string());
    }
    ctx.is_pending_action(&app.id).then(|| "an action on this app is already waiting to be sent".to_string())
}

/// `n`, `Q` or `R` on `app`: what the app does next, or a toast saying why not.
pub fn app_action(action: Action, app: &AppSummary, ctx: &Context) -> Option<Intent> {
    let refuse = |verb: &str, reason: String| {
        Intent::Toast(Toast::error(format!("cannot {verb} {}: {reason}", sanitize(&app.name)), ctx.now))
    };
    Some(match action {
        Action::Renew => super::renewals::renew_or_refuse(app, ctx),
        Action::Quarantine => match quarantine_refusal(app, ctx) {
            Some(reason) => refuse("quarantine", reason),
            None => Intent::Quarantine(app.id.to_string()),
        },
        Action::Retire => match retire_refusal(app, ctx) {
            Some(reason) => refuse("retire", reason),
            None => Intent::Retire(app.id.to_string()),
        },
        _ => return None,
    })
}
