//! `govdeck request-access`, `govdeck withdraw` and `govdeck transfer`: each
//! checks what it can from the cache (the app or request by id or exact
//! name, the caller's roles, the reason), then goes through the outbox like
//! `approve` and `renew`: queued first, sent under its idempotency key, and
//! left queued (exit 5) when the server cannot be reached.

use std::process::ExitCode;

use chrono::Utc;

use super::client::{self, Context, cached_me, open_cache, queue_and_send};
use super::lookup;
use super::{ClientArgs, EXIT_AUTH, EXIT_ERROR, EXIT_USAGE};
use crate::cache::outbox::ActionKind;
use crate::cache::{CacheError, catalog};
use crate::domain::custody::{self, AccessError, ReasonError};
use crate::domain::{Actor, App, Approval, Role};
use crate::sanitize::sanitize;

/// The app `key` names (its id or exact name) in the cache, and who the
/// caller is; or the exit code after saying why there is none.
fn app_and_me(ctx: &Context, key: &str) -> color_eyre::Result<Result<(App, Actor), ExitCode>> {
    let cache = open_cache(ctx)?;
    let state = lookup::sync_state(cache.conn())?;
    match lookup::app_by_key(cache.conn(), key)? {
        lookup::Found::One(app) => Ok(Ok((*app, cached_me(&cache)?))),
        _ => {
            let now = Utc::now();
            let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                Some((reason, code)) => (format!("no app {:?} yet: {reason}", sanitize(key)), code),
                None => (lookup::no_app(cache.conn(), key, &state, now)?, ExitCode::from(EXIT_ERROR)),
            };
            eprintln!("govdeck: {reason}");
            Ok(Err(code))
        }
    }
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("govdeck: {message}; nothing was sent or queued");
    ExitCode::from(EXIT_USAGE)
}

fn check_reason(reason: &str, required: bool) -> Result<(), ExitCode> {
    custody::check_reason(reason, required).map_err(|err| match err {
        ReasonError::Required => usage("a reason is required: --reason \"…\""),
        err => usage(err),
    })
}

/// `govdeck request-access APP --env ENV --reason …`.
pub fn request_access(args: &ClientArgs, key: &str, environment: &str, reason: &str) -> color_eyre::Result<ExitCode> {
    if let Err(code) = check_reason(reason, true) {
        return Ok(code);
    }
    if let Err(err) = custody::check_environment(environment) {
        return Ok(usage(err));
    }
    let ctx = client::context(args)?;
    let (app, me) = match app_and_me(&ctx, key)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    if let Err(err @ AccessError::NotOwner) = custody::may_request_access(&app, &me) {
        eprintln!("govdeck: you may not request access for {}: {err}", sanitize(&app.name));
        return Ok(ExitCode::from(EXIT_AUTH));
    }
    // The state, environments and pending requests are the server's to check
    // against its newest version of the app.
    let body = serde_json::json!({"environment": environment, "reason": reason});
    queue_and_send(&ctx, ActionKind::RequestAccess, &app.id, body, Some(app.rev))
}

/// `govdeck withdraw REQUEST [--reason …]`.
pub fn withdraw(args: &ClientArgs, id: &str, reason: &str) -> color_eyre::Result<ExitCode> {
    if let Err(code) = check_reason(reason, false) {
        return Ok(code);
    }
    let ctx = client::context(args)?;
    let (request, me): (Approval, Actor) = {
        let cache = open_cache(&ctx)?;
        let state = lookup::sync_state(cache.conn())?;
        match catalog::approval(cache.conn(), id) {
            Ok(request) => (request, cached_me(&cache)?),
            Err(CacheError::NotFound { .. }) => {
                let now = Utc::now();
                let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                    Some((reason, code)) => (format!("no request {:?} yet: {reason}", sanitize(id)), code),
                    None => (lookup::no_request(cache.conn(), id, &state, now)?, ExitCode::from(EXIT_ERROR)),
                };
                eprintln!("govdeck: {reason}");
                return Ok(code);
            }
            Err(err) => return Err(err.into()),
        }
    };
    if let Err(err) = custody::may_withdraw(&request, &me) {
        eprintln!("govdeck: you may not withdraw {}: {err}", sanitize(id));
        return Ok(ExitCode::from(EXIT_AUTH));
    }
    let body = if reason.is_empty() { serde_json::json!({}) } else { serde_json::json!({"reason": reason}) };
    queue_and_send(&ctx, ActionKind::Withdraw, &request.id, body, Some(request.rev))
}

/// `govdeck transfer APP --to USER --reason …`. An admin's cache holds no
/// catalog, so an admin names the app by its id, which is sent as given.
pub fn transfer(args: &ClientArgs, key: &str, to: &str, reason: &str) -> color_eyre::Result<ExitCode> {
    if let Err(code) = check_reason(reason, true) {
        return Ok(code);
    }
    if to.trim().is_empty() {
        return Ok(usage("name the new owner: --to USER"));
    }
    let ctx = client::context(args)?;
    let (target, rev) = {
        let cache = open_cache(&ctx)?;
        let state = lookup::sync_state(cache.conn())?;
        let me = cached_me(&cache)?;
        if let Err(err) = custody::may_transfer(&me) {
            eprintln!("govdeck: you may not transfer apps: {err}");
            return Ok(ExitCode::from(EXIT_AUTH));
        }
        match lookup::app_by_key(cache.conn(), key)? {
            lookup::Found::One(app) => {
                if app.owner == to {
                    eprintln!(
                        "govdeck: {} already owns {}; nothing was sent or queued",
                        sanitize(to),
                        sanitize(&app.name)
                    );
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
                (app.id.clone(), Some(app.rev))
            }
            // An admin reads no catalog: the id goes to the server as given.
            lookup::Found::None if !state.sees_everything && me.has(Role::Admin) => (key.to_string(), None),
            _ => {
                drop(cache);
                return Ok(match app_and_me(&ctx, key)? {
                    Ok(_) => ExitCode::from(EXIT_ERROR),
                    Err(code) => code,
                });
            }
        }
    };
    let body = serde_json::json!({"to": to, "reason": reason});
    queue_and_send(&ctx, ActionKind::Transfer, &target, body, rev)
}
