//! The status API's rule: whether an enforcement point (a gateway, a
//! sidecar, an `ext_authz`-style check) should let traffic reach an app, and
//! how a request's URL is matched to the endpoints its manifest declares.
//! Pure: the server reads what it needs of the app ([`StatusEntry`]) and
//! passes `now`, so the time-dependent part of the answer (an expiry
//! passing) is always worked out at the moment of asking.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{App, AppState};

/// What the caller is about to let through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Reading the app's data (the default).
    #[default]
    Read,
    /// Changing it: refused for read-only apps.
    Write,
}

/// Why the answer is what it is: one word per case, stable for callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    /// Active or expiring and not past its expiry: allowed.
    Live,
    /// Read-only, asked for reading: allowed.
    ReadOnly,
    /// Read-only, asked for writing: refused.
    ReadOnlyWrite,
    /// Live by state, but its expiry has passed (the lifecycle job has not
    /// run yet): refused.
    Expired,
    /// Not yet approved.
    Pending,
    /// Found by discovery, never registered.
    Discovered,
    Rejected,
    Quarantined,
    Decommissioned,
    /// No app of this id or endpoint the caller may ask about.
    UnknownApp,
}

impl StatusReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusReason::Live => "live",
            StatusReason::ReadOnly => "read_only",
            StatusReason::ReadOnlyWrite => "read_only_write",
            StatusReason::Expired => "expired",
            StatusReason::Pending => "pending",
            StatusReason::Discovered => "discovered",
            StatusReason::Rejected => "rejected",
            StatusReason::Quarantined => "quarantined",
            StatusReason::Decommissioned => "decommissioned",
            StatusReason::UnknownApp => "unknown_app",
        }
    }
}

/// The answer for one app (or for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: StatusReason,
}

/// Whether `access` to an app in `state`, expiring at `expires_at`, is
/// allowed at `now`. `None` is an unknown app: never allowed. Live apps are
/// allowed until the instant of their expiry (that instant is refused).
pub fn verdict(app: Option<(AppState, Option<DateTime<Utc>>)>, access: Access, now: DateTime<Utc>) -> Verdict {
    let refuse = |reason| Verdict { allowed: false, reason };
    let Some((state, expires_at)) = app else {
        return refuse(StatusReason::UnknownApp);
    };
    match state {
        AppState::Active | AppState::Expiring => {
            if expires_at.is_some_and(|at| now >= at) {
                refuse(StatusReason::Expired)
            } else {
                Verdict { allowed: true, reason: StatusReason::Live }
            }
        }
        AppState::ReadOnly => match access {
            Access::Read => Verdict { allowed: true, reason: StatusReason::ReadOnly },
            Access::Write => refuse(StatusReason::ReadOnlyWrite),
        },
        AppState::Pending => refuse(StatusReason::Pending),
        AppState::Discovered => refuse(StatusReason::Discovered),
        AppState::Rejected => refuse(StatusReason::Rejected),
        AppState::Quarantined => refuse(StatusReason::Quarantined),
        AppState::Decommissioned => refuse(StatusReason::Decommissioned),
    }
}

/// Why an `endpoint` query could not be matched at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint {0:?}: give an absolute URL such as https://quotes.internal/api")]
pub struct BadEndpoint(pub String);

/// An endpoint URL in the form two URLs are compared in: the scheme and the
/// host (with its port) lower-cased, one trailing `/` of the path dropped
/// (so `https://Quotes.Internal/` and `https://quotes.internal` are one
/// endpoint), everything else (path, query) compared exactly as written.
pub fn normalise_endpoint(url: &str) -> Result<String, BadEndpoint> {
    let bad = || BadEndpoint(url.to_string());
    let trimmed = url.trim();
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(bad)?;
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if !scheme_ok || authority.is_empty() || authority.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    Ok(format!("{}://{}{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase(), path))
}

/// Whether `declared` (from a manifest) names the same endpoint as the
/// already normalised `asked`. A declared entry that is not a URL matches
/// nothing.
pub fn endpoint_matches(declared: &str, asked: &str) -> bool {
    normalise_endpoint(declared).is_ok_and(|declared| declared == asked)
}

/// What the status API reads of an app: its answer's fields, the owner (who
/// may ask about it) and when it was registered (which of several apps
/// declaring one endpoint answers for it). A few columns of one row, so an
/// ask does not decode the whole catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub state: AppState,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl StatusEntry {
    pub fn of(app: &App) -> StatusEntry {
        StatusEntry {
            id: app.id.clone(),
            name: app.name.clone(),
            owner: app.owner.clone(),
            state: app.state,
            expires_at: app.expires_at,
            created_at: app.created_at,
        }
    }
}

/// Which of several apps declaring one endpoint answers for it: the newest
/// registered one still in the running (not decommissioned or rejected), or
/// else the newest. The first of equals wins, so the answer is stable.
pub fn pick_for_endpoint<'a>(apps: &'a [StatusEntry]) -> Option<&'a StatusEntry> {
    let newest = |candidates: &mut dyn Iterator<Item = &'a StatusEntry>| {
        candidates.fold(None::<&'a StatusEntry>, |best, app| match best {
            Some(best) if best.created_at >= app.created_at => Some(best),
            _ => Some(app),
        })
    };
    let in_running = |app: &&StatusEntry| !matches!(app.state, AppState::Decommissioned | AppState::Rejected);
    newest(&mut apps.iter().filter(in_running)).or_else(|| newest(&mut apps.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Policy;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    fn ask(state: AppState, expires_at: Option<DateTime<Utc>>, access: Access) -> (bool, &'static str) {
        let verdict = verdict(Some((state, expires_at)), access, now());
        (verdict.allowed, verdict.reason.as_str())
    }

    #[test]
    fn every_state_has_an_answer_for_reading_and_writing() {
        let later = Some(now() + Duration::days(30));
        for access in [Access::Read, Access::Write] {
            assert_eq!(ask(AppState::Active, later, access), (true, "live"));
            assert_eq!(ask(AppState::Expiring, later, access), (true, "live"));
            assert_eq!(ask(AppState::Pending, None, access), (false, "pending"));
            assert_eq!(ask(AppState::Discovered, None, access), (false, "discovered"));
            assert_eq!(ask(AppState::Rejected, None, access), (false, "rejected"));
            assert_eq!(ask(AppState::Quarantined, None, access), (false, "quarantined"));
            assert_eq!(ask(AppState::Decommissioned, None, access), (false, "decommissioned"));
            let unknown = verdict(None, access, now());
            assert_eq!((unknown.allowed, unknown.reason), (false, StatusReason::UnknownApp));
        }
        assert_eq!(ask(AppState::ReadOnly, None, Access::Read), (true, "read_only"));
        assert_eq!(ask(AppState::ReadOnly, None, Access::Write), (false, "read_only_write"));
        assert_eq!(ask(AppState::Active, None, Access::Write), (true, "live"), "no expiry: live");
    }

    #[test]
    fn a_live_app_is_refused_from_the_instant_it_expires() {
        let just_before = Some(now() + Duration::microseconds(1));
        assert_eq!(ask(AppState::Expiring, just_before, Access::Read), (true, "live"));
        assert_eq!(ask(AppState::Expiring, Some(now()), Access::Read), (false, "expired"));
        assert_eq!(ask(AppState::Active, Some(now() - Duration::days(1)), Access::Write), (false, "expired"));
    }

    #[test]
    fn endpoints_compare_without_scheme_host_case_or_a_trailing_slash() {
        let asked = normalise_endpoint("HTTPS://Quotes.Internal:8443/api/").unwrap();
        assert_eq!(asked, "https://quotes.internal:8443/api");
        assert!(endpoint_matches("https://quotes.internal:8443/api", &asked));
        assert!(endpoint_matches("https://QUOTES.internal:8443/api/", &asked));
        assert!(!endpoint_matches("https://quotes.internal:8443/API", &asked), "paths are compared exactly");
        assert!(!endpoint_matches("https://quotes.internal:8443/api/v2", &asked), "no prefix matching");
        assert!(!endpoint_matches("http://quotes.internal:8443/api", &asked), "the scheme counts");
        assert!(!endpoint_matches("https://quotes.internal/api", &asked), "the port counts");
        assert!(!endpoint_matches("quotes.internal", &asked), "a declared non-URL matches nothing");
        assert_eq!(normalise_endpoint("https://quotes.internal/").unwrap(), "https://quotes.internal");
        assert_eq!(normalise_endpoint("https://quotes.internal").unwrap(), "https://quotes.internal");
        assert_eq!(normalise_endpoint("https://q.internal/a?X=1").unwrap(), "https://q.internal/a?X=1");
    }

    fn registered(id: &str, state: AppState, days_ago: i64) -> StatusEntry {
        let manifest = crate::domain::app::tests::manifest();
        let mut app = App::from_manifest(
            id.into(),
            "olive".into(),
            manifest,
            Policy::builtin(),
            now() - Duration::days(days_ago),
        );
        app.state = state;
        StatusEntry::of(&app)
    }

    #[test]
    fn the_newest_app_in_the_running_answers_for_a_shared_endpoint() {
        let old = registered("app_old", AppState::Decommissioned, 300);
        let live = registered("app_live", AppState::Active, 100);
        let rejected = registered("app_rej", AppState::Rejected, 10);
        let apps = [old.clone(), live.clone(), rejected.clone()];
        assert_eq!(pick_for_endpoint(&apps).map(|a| a.id.as_str()), Some("app_live"));
        let finals = [old, rejected];
        assert_eq!(pick_for_endpoint(&finals).map(|a| a.id.as_str()), Some("app_rej"), "else the newest");
        let twins = [registered("app_a", AppState::Pending, 5), registered("app_b", AppState::Active, 5)];
        assert_eq!(pick_for_endpoint(&twins).map(|a| a.id.as_str()), Some("app_a"), "the first of equals");
        assert!(pick_for_endpoint(&[]).is_none());
    }

    #[test]
    fn what_is_not_an_absolute_url_is_refused() {
        for bad in ["", "quotes.internal", "://quotes", "https://", "https:///path", "1http://x", "https://a b/"] {
            assert_eq!(normalise_endpoint(bad), Err(BadEndpoint(bad.to_string())), "{bad:?}");
        }
    }
}
