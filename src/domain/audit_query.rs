//! The audit timeline's filter, as the console and the cache both read it:
//! whitespace-separated terms that must all match; `app:`, `actor:`,
//! `action:` and `outcome:` pick one field, a plain term matches any of
//! them or the error code. A term matches a field that contains it, ignoring
//! case; `app` is the app's id or its name, `actor` the actor's id or role.
//!
//! Also what the console asks the cache and what it gets back: a page of
//! matches, newest first, below a sequence number (older events are paged
//! in), tagged with the query's id so only the newest answer is used.

use chrono::{DateTime, Utc};

use super::audit::format_timestamp;
use super::{AuditEvent, Outcome};

/// Which field a term looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    App,
    Actor,
    Action,
    Outcome,
    /// A plain term: any of the above, or the error code.
    Any,
}

/// One filter term, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: Field,
    pub text: String,
}

/// The terms of `query`; `app:` with nothing after it is no term.
pub fn terms(query: &str) -> Vec<Term> {
    query
        .split_whitespace()
        .filter_map(|word| {
            let word = word.to_lowercase();
            let (field, text) = match word.split_once(':') {
                Some(("app", v)) => (Field::App, v.to_string()),
                Some(("actor", v)) => (Field::Actor, v.to_string()),
                Some(("action", v)) => (Field::Action, v.to_string()),
                Some(("outcome", v)) => (Field::Outcome, v.to_string()),
                _ => (Field::Any, word.clone()),
            };
            (!text.is_empty()).then_some(Term { field, text })
        })
        .collect()
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
}

/// Whether `event` (of the app named `app_name`, if known) matches every term.
pub fn matches(event: &AuditEvent, app_name: Option<&str>, terms: &[Term]) -> bool {
    let app = |t: &str| {
        event.app_id.as_deref().is_some_and(|id| contains(id, t)) || app_name.is_some_and(|name| contains(name, t))
    };
    let actor = |t: &str| contains(&event.actor_id, t) || contains(&event.actor_role, t);
    let action = |t: &str| contains(&event.action_type, t);
    let outcome = |t: &str| event.outcome.as_str().contains(t);
    terms.iter().all(|term| {
        let t = term.text.as_str();
        match term.field {
            Field::App => app(t),
            Field::Actor => actor(t),
            Field::Action => action(t),
            Field::Outcome => outcome(t),
            Field::Any => {
                app(t)
                    || actor(t)
                    || action(t)
                    || outcome(t)
                    || event.error_code.as_deref().is_some_and(|code| contains(code, t))
            }
        }
    })
}

/// What the console asks the cache for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Increases with every query the console sends; answers carry it back.
    pub id: u64,
    /// The filter text (see the module docs); empty for every event.
    pub text: String,
    pub outcome: Option<Outcome>,
    /// Only events older than this one (the next page), or the newest.
    pub before_seq: Option<u64>,
    /// At most this many events.
    pub limit: u32,
}

impl AuditQuery {
    /// Whether the query selects every event (no text, no outcome).
    pub fn is_everything(&self) -> bool {
        terms(&self.text).is_empty() && self.outcome.is_none()
    }
}

/// The cache's answer: matches newest first, and whether older ones may
/// exist. A rare filter is answered in steps (each reads a bounded part of
/// the cache): a step may bring few matches or none and still say `more`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub query: AuditQuery,
    pub events: Vec<AuditEvent>,
    pub more: bool,
    /// Where the next page starts (its `before_seq`) when `more`.
    pub next_before: Option<u64>,
}

/// A window of event time for reading the log (`/v1/audit?since=&until=`,
/// `govdeck audit export`): `since` inclusive, `until` exclusive, either
/// open. The timestamp compared is the event's own (`timestamp`), so a
/// window exported today and again next year holds the same events, less
/// none and more none, whatever was appended between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Why a [`TimeRange`] cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("`since` ({since}) must be before `until` ({until}): the range is empty")]
    Empty { since: String, until: String },
}

impl TimeRange {
    /// The range, refused when it can hold no event (`since` not before `until`).
    pub fn new(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<TimeRange, RangeError> {
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(RangeError::Empty { since: format_timestamp(since), until: format_timestamp(until) });
        }
        Ok(TimeRange { since, until })
    }

    /// Whether an event at `at` falls in the range.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }

    /// The bounds in the stored text form, which orders as the times do
    /// (every stored timestamp is [`format_timestamp`]'s fixed-width UTC).
    pub fn stored_bounds(&self) -> (Option<String>, Option<String>) {
        (self.since.map(format_timestamp), self.until.map(format_timestamp))
    }

    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewAuditEvent;

    fn event(action: &str, actor: &str, app: &str, outcome: Outcome, error: Option<&str>) -> AuditEvent {
        let new = NewAuditEvent {
            actor_id: actor.into(),
            actor_role: "reviewer".into(),
            app_id: Some(app.into()),
            action_type: action.into(),
            outcome: Some(outcome),
            error_code: error.map(str::to_string),
            ..NewAuditEvent::default()
        };
        AuditEvent::seal(new, "ingest-bot", "e1".into(), 1, chrono::Utc::now(), crate::domain::audit::GENESIS_HASH)
    }

    #[test]
    fn terms_match_any_field_or_the_named_one() {
        let e = event("dlp.block", "bot", "app-7", Outcome::Blocked, Some("E_DLP"));
        let m = |q: &str| matches(&e, Some("crm-sync"), &terms(q));
        assert!(m("dlp"));
        assert!(m("crm blocked"));
        assert!(m("app:crm action:dlp"));
        assert!(m("e_dlp"), "a plain term looks at the error code");
        assert!(m("actor:review"), "actor: looks at the role too");
        assert!(!m("actor:crm"));
        assert!(!m("outcome:success"));
        assert!(!m("action:e_dlp"), "a named field does not look at the error code");
        assert!(matches(&e, None, &terms("APP-7")));
    }

    #[test]
    fn a_field_with_nothing_after_it_is_no_term() {
        assert_eq!(terms("app: crm"), vec![Term { field: Field::Any, text: "crm".into() }]);
        assert!(terms("  ").is_empty());
        assert_eq!(terms("Actor:Riley"), vec![Term { field: Field::Actor, text: "riley".into() }]);
    }

    fn at(hour: u32, micro: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap() + chrono::Duration::microseconds(i64::from(micro))
    }

    #[test]
    fn a_time_range_holds_since_and_not_until() {
        let range = TimeRange::new(Some(at(8, 0)), Some(at(9, 0))).unwrap();
        assert!(range.contains(at(8, 0)), "since is inclusive");
        assert!(range.contains(at(8, 999_999)));
        assert!(!range.contains(at(9, 0)), "until is exclusive");
        assert!(!range.contains(at(7, 999_999)));
    }

    #[test]
    fn an_empty_or_reversed_range_is_refused() {
        assert!(matches!(TimeRange::new(Some(at(9, 0)), Some(at(9, 0))), Err(RangeError::Empty { .. })));
        assert!(TimeRange::new(Some(at(9, 1)), Some(at(9, 0))).is_err());
        assert!(TimeRange::new(Some(at(9, 0)), Some(at(9, 1))).is_ok(), "one microsecond is a range");
    }

    #[test]
    fn open_ends_hold_everything_on_their_side() {
        let from = TimeRange::new(Some(at(8, 0)), None).unwrap();
        assert!(from.contains(at(23, 0)) && !from.contains(at(7, 0)));
        let to = TimeRange::new(None, Some(at(8, 0))).unwrap();
        assert!(to.contains(at(0, 0)) && !to.contains(at(8, 0)));
        assert!(TimeRange::default().is_open() && TimeRange::default().contains(at(0, 0)));
    }

    #[test]
    fn stored_bounds_order_as_the_times_do() {
        let range = TimeRange::new(Some(at(8, 5)), Some(at(10, 0))).unwrap();
        let (since, until) = range.stored_bounds();
        let (since, until) = (since.unwrap(), until.unwrap());
        assert_eq!(since, "2026-11-01T08:00:00.000005Z");
        let inside = format_timestamp(at(9, 0));
        assert!(since.as_str() <= inside.as_str() && inside.as_str() < until.as_str());
    }
}
