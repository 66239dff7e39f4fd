//! What the cache can truthfully say about itself and about an id or a name
//! typed on the command line: whether it ever completed a sync (and whether
//! the server refused the token on the last try), and, when a lookup finds
//! nothing, why. "Run `govdeck sync` first" is said only when syncing could
//! help: a cache that never synced. Otherwise the message says what is true
//! (no such request; it is an app, with its pending requests; not visible to
//! you; two apps share that name, with their ids). Every name and id in a
//! message came from the server, so each is sanitized.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{EXIT_AUTH, EXIT_ERROR};
use crate::cache::{self, CacheError, audit, catalog};
use crate::domain::{App, ApprovalStatus};
use crate::sanitize::sanitize;

/// What the cache records about its syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// The end of the last sync that completed.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When the server last refused the token, if it has not accepted it since.
    pub token_refused_at: Option<DateTime<Utc>>,
    /// The user reads the whole catalog (reviewer, lead); else only their own apps.
    pub sees_everything: bool,
}

fn time(conn: &Connection, key: &str) -> Result<Option<DateTime<Utc>>, CacheError> {
    Ok(cache::meta_get(conn, key)?
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|at| at.with_timezone(&Utc)))
}

pub fn sync_state(conn: &Connection) -> Result<SyncState, CacheError> {
    Ok(SyncState {
        last_sync_at: time(conn, cache::LAST_SYNC_AT)?,
        token_refused_at: time(conn, cache::TOKEN_REFUSED_AT)?,
        sees_everything: cache::meta_get(conn, cache::VISIBILITY)?.as_deref() == Some("all"),
    })
}

/// `3 min ago`, in the largest unit that is at least one; `just now` under a second.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0 => "just now".to_string(),
        1..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..172_800 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// Whether a command may print what the cache holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Readiness {
    /// It completed a sync: print, exit 0.
    Ready,
    /// It never completed a sync but holds what a first sync loaded so far
    /// (one under way, or interrupted): print that, then exit with this code.
    Partial(ExitCode),
    /// It never completed a sync and holds nothing: print nothing, exit with this code.
    Empty(ExitCode),
}

/// The exit code for a cache that never completed a sync: 3 when the server
/// refused the token on the last try, else 1.
fn unsynced_code(state: &SyncState) -> ExitCode {
    ExitCode::from(if state.token_refused_at.is_some() { EXIT_AUTH } else { EXIT_ERROR })
}

/// Why a cache that never completed a sync cannot answer, and what to do.
fn unsynced_reason(state: &SyncState, server: &str, now: DateTime<Utc>) -> String {
    match state.token_refused_at {
        Some(refused) => format!(
            "the server {server} refused this token on the last sync ({}), and this cache has never completed a \
             sync. Check GOVDECK_TOKEN or the token file, then run `govdeck sync`",
            ago(refused, now)
        ),
        None => format!("this cache of {server} has never completed a sync; run `govdeck sync` first"),
    }
}

/// Before a command reads the cache: a cache that never completed a sync
/// says so on stderr, with the exit code the command ends with. A cache that
/// synced once but whose token was refused since is read, with a warning.
pub fn readiness(state: &SyncState, loaded: bool, server: &str, now: DateTime<Utc>) -> Readiness {
    match (state.last_sync_at, state.token_refused_at) {
        (None, _) if loaded => {
            eprintln!(
                "govdeck: {}. What follows is only what the first sync loaded so far",
                unsynced_reason(state, server, now)
            );
            Readiness::Partial(unsynced_code(state))
        }
        (None, _) => {
            eprintln!("govdeck: nothing to show yet: {}", unsynced_reason(state, server, now));
            Readiness::Empty(unsynced_code(state))
        }
        (Some(synced), Some(refused)) => {
            eprintln!(
                "govdeck: warning: the server {server} refused this token on the last sync ({}); this is the cache \
                 as of its last completed sync ({})",
                ago(refused, now),
                ago(synced, now)
            );
            Readiness::Ready
        }
        (Some(_), None) => Readiness::Ready,
    }
}

/// When a lookup found nothing in a cache that never completed a sync:
/// the message (syncing is what helps) and the exit code.
pub fn not_synced_yet(state: &SyncState, server: &str, now: DateTime<Utc>) -> Option<(String, ExitCode)> {
    state.last_sync_at.is_none().then(|| (unsynced_reason(state, server, now), unsynced_code(state)))
}

/// How fresh the cache is, for a "not found" message.
fn synced_note(state: &SyncState, now: DateTime<Utc>) -> String {
    state.last_sync_at.map_or_else(String::new, |at| format!("; the cache was synced {}", ago(at, now)))
}

/// Why no request `id` was found, for `approve` and `reject`.
pub fn no_request(conn: &Connection, id: &str, state: &SyncState, now: DateTime<Utc>) -> Result<String, CacheError> {
    let shown = sanitize(id);
    match app_by_key(conn, id)? {
        Found::One(app) => {
            let pending: Vec<String> = catalog::approvals_for_app(conn, &app.id)?
                .into_iter()
                .filter(|request| request.status == ApprovalStatus::Pending)
                .map(|request| sanitize(&request.id).into_owned())
                .collect();
            let app_named =
                format!("{:?} is an app ({}), not an approval request", sanitize(&app.name), sanitize(&app.id));
            return Ok(match pending.as_slice() {
                [] => format!("{app_named}; it has no pending request"),
                [one] => format!("{app_named}; its pending request is {one}"),
                many => format!("{app_named}; its pending requests are {}", many.join(", ")),
            });
        }
        Found::Several(apps) => {
            return Ok(format!("{}; none of them is an approval request", several(&shown, &apps)));
        }
        Found::None => {}
    }
    Ok(if state.sees_everything {
        format!("no such request {shown:?}{}", synced_note(state, now))
    } else {
        format!(
            "no request {shown:?} among yours: an owner sees only the requests of their own apps, so another \
             owner's request is not visible to you{}",
            synced_note(state, now)
        )
    })
}

/// What an id or a name typed for an app found.
pub enum Found {
    One(Box<App>),
    /// Several apps share the name.
    Several(Vec<catalog::NamedApp>),
    None,
}

/// The app with id `key`, else the one app named `key`.
pub fn app_by_key(conn: &Connection, key: &str) -> Result<Found, CacheError> {
    match catalog::app(conn, key) {
        Ok(app) => return Ok(Found::One(Box::new(app))),
        Err(CacheError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }
    let mut named = catalog::apps_named(conn, key)?;
    Ok(match named.len() {
        0 => Found::None,
        1 => Found::One(Box::new(catalog::app(conn, &named.remove(0).id)?)),
        _ => Found::Several(named),
    })
}

/// "2 apps share the name "x": id (owner o, state s), …".
fn several(name: &str, apps: &[catalog::NamedApp]) -> String {
    let listed: Vec<String> = apps
        .iter()
        .map(|app| format!("{} (owner {}, {})", sanitize(&app.id), sanitize(&app.owner), sanitize(&app.state)))
        .collect();
    format!("{} apps share the name {name:?}: {}", apps.len(), listed.join(", "))
}

/// Why no app `key` can be acted on: several share the name, it is a
/// request, or no app by that id or name is visible.
pub fn no_app(conn: &Connection, key: &str, state: &SyncState, now: DateTime<Utc>) -> Result<String, CacheError> {
    let shown = sanitize(key);
    if let Found::Several(apps) = app_by_key(conn, key)? {
        return Ok(format!("{}; give the id of the one you mean", several(&shown, &apps)));
    }
    match catalog::approval(conn, key) {
        Ok(request) => {
            return Ok(format!(
                "{shown:?} is an approval request (for app {:?}, {}), not an app",
                sanitize(&request.app_name),
                sanitize(&request.app_id)
            ));
        }
        Err(CacheError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }
    Ok(if state.sees_everything {
        format!("no app has the id or name {shown:?}{}", synced_note(state, now))
    } else {
        format!(
            "no app {shown:?} among yours: an owner sees only their own apps, so another owner's app is not \
             visible to you{}",
            synced_note(state, now)
        )
    })
}

/// The app id `govdeck audit --app KEY` means: an app's id or its unique
/// name, or an id the audit log names (an app the cache no longer lists).
pub fn audit_app(
    conn: &Connection,
    key: &str,
    state: &SyncState,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, CacheError> {
    match app_by_key(conn, key)? {
        Found::One(app) => Ok(Ok(app.id)),
        Found::Several(apps) => Ok(Err(format!("{}; give the id of the one you mean", several(&sanitize(key), &apps)))),
        Found::None if !audit::for_app(conn, key, 1)?.is_empty() => Ok(Ok(key.to_string())),
        Found::None => Ok(Err(no_app(conn, key, state, now)?)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        assert_eq!(ago(now - chrono::Duration::seconds(5), now), "5 s ago");
        assert_eq!(ago(now - chrono::Duration::seconds(600), now), "10 min ago");
        assert_eq!(ago(now - chrono::Duration::hours(30), now), "30 h ago");
        assert_eq!(ago(now - chrono::Duration::days(9), now), "9 days ago");
        assert_eq!(ago(now + chrono::Duration::seconds(5), now), "just now", "a clock ahead is not negative");
    }

    #[test]
    fn a_cache_that_never_synced_shows_what_it_has_and_fails() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let state = |synced: bool, refused: bool| SyncState {
            last_sync_at: synced.then_some(now),
            token_refused_at: refused.then_some(now),
            sees_everything: true,
        };
        let auth = ExitCode::from(EXIT_AUTH);
        let error = ExitCode::from(EXIT_ERROR);
        assert_eq!(readiness(&state(false, true), false, "http://s", now), Readiness::Empty(auth));
        assert_eq!(readiness(&state(false, false), false, "http://s", now), Readiness::Empty(error));
        assert_eq!(readiness(&state(false, true), true, "http://s", now), Readiness::Partial(auth));
        assert_eq!(readiness(&state(false, false), true, "http://s", now), Readiness::Partial(error));
        assert_eq!(readiness(&state(true, true), true, "http://s", now), Readiness::Ready);
        assert_eq!(readiness(&state(true, false), false, "http://s", now), Readiness::Ready);
        assert!(not_synced_yet(&state(true, false), "http://s", now).is_none());
        let (said, code) = not_synced_yet(&state(false, false), "http://s", now).unwrap();
        assert!(said.contains("govdeck sync") && code == error, "{said}");
    }
}
