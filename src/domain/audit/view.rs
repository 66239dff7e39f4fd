//! Audit events read without building an [`AuditEvent`](super::AuditEvent):
//! borrowed from a page's JSON or a database row and hashed through
//! [`CanonicalParts`] with buffers reused from one event to the next. This is
//! the path a million events take in a full sync and in `audit verify`.
//!
//! Also the [`Run`]s that let a long chain be checked in pieces on several
//! threads: each piece is walked on its own from its first row, and
//! [`ChainVerifier::join`] links the pieces in seq order, so the answer, and
//! the first bad seq it names, are those of one walk from the start.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{CanonicalParts, ChainBreak, ChainVerifier, HexHash, Outcome, chain_hash, format_timestamp};

/// A string borrowed from the text it was read from when it can be (no
/// escapes in its JSON), else owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Text<'a> {
        Text(Cow::Borrowed(text))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

fn raw_json<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
    let raw: &'de RawValue = Deserialize::deserialize(deserializer)?;
    Ok(Text(Cow::Borrowed(raw.get())))
}

/// An audit event as borrowed text; deserializes from the JSON of an
/// [`AuditEvent`](super::AuditEvent) (the same fields, required and optional
/// alike). `request_context` is the JSON text of the value as it was given.
#[derive(Debug, Clone, Deserialize)]
pub struct EventView<'a> {
    #[serde(borrow)]
    pub event_id: Text<'a>,
    pub seq: u64,
    pub timestamp: DateTime<Utc>,
    /// Absent from the pages of a server from before it was kept.
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    #[serde(borrow)]
    pub actor_id: Text<'a>,
    #[serde(borrow)]
    pub actor_role: Text<'a>,
    #[serde(borrow, default)]
    pub reported_by: Option<Text<'a>>,
    #[serde(borrow)]
    pub app_id: Option<Text<'a>>,
    pub version: Option<u32>,
    #[serde(borrow)]
    pub environment: Option<Text<'a>>,
    #[serde(borrow)]
    pub action_type: Text<'a>,
    #[serde(borrow)]
    pub resource_type: Text<'a>,
    #[serde(borrow)]
    pub resource_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub data_classification: Option<Text<'a>>,
    pub outcome: Outcome,
    #[serde(borrow)]
    pub error_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub ip_address: Option<Text<'a>>,
    #[serde(borrow)]
    pub user_agent: Option<Text<'a>>,
    #[serde(borrow, deserialize_with = "raw_json")]
    pub request_context: Text<'a>,
    pub risk_score_at_time: Option<u32>,
    #[serde(borrow)]
    pub approval_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub prev_hash: Text<'a>,
    #[serde(borrow)]
    pub hash: Text<'a>,
}

/// Buffers reused from one event to the next while hashing; after
/// [`EventView::content_hash`] they hold the event's timestamp and request
/// context in the form they are hashed (and stored) in.
#[derive(Debug, Default)]
pub struct HashScratch {
    canonical: Vec<u8>,
    timestamp: String,
    /// Empty when the event has no `recorded_at`.
    recorded_at: String,
    context: Vec<u8>,
}

impl HashScratch {
    /// The timestamp as [`super::format_timestamp`] writes it.
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }

    /// The recording time as [`super::format_timestamp`] writes it, when the event has one.
    pub fn recorded_at(&self) -> Option<&str> {
        Some(self.recorded_at.as_str()).filter(|text| !text.is_empty())
    }

    /// The canonical bytes the last [`EventView::content_hash`] hashed (a
    /// Merkle leaf is made from them: `domain::merkle`).
    pub fn canonical(&self) -> &[u8] {
        &self.canonical
    }

    /// The request context as compact JSON with sorted keys.
    pub fn context(&self) -> &str {
        // Written by serde_json, which writes UTF-8 only.
        std::str::from_utf8(&self.context).unwrap_or_default()
    }
}

fn text<'a>(value: &'a Option<Text<'_>>) -> Option<&'a str> {
    value.as_deref()
}

impl<'a> EventView<'a> {
    /// A view of `event`'s fields (its request context written out as JSON).
    pub fn of(event: &'a super::AuditEvent) -> EventView<'a> {
        let borrowed = |value: &'a Option<String>| value.as_deref().map(Text::from);
        EventView {
            event_id: Text::from(event.event_id.as_str()),
            seq: event.seq,
            timestamp: event.timestamp,
            recorded_at: event.recorded_at,
            actor_id: Text::from(event.actor_id.as_str()),
            actor_role: Text::from(event.actor_role.as_str()),
            reported_by: borrowed(&event.reported_by),
            app_id: borrowed(&event.app_id),
            version: event.version,
            environment: borrowed(&event.environment),
            action_type: Text::from(event.action_type.as_str()),
            resource_type: Text::from(event.resource_type.as_str()),
            resource_id: borrowed(&event.resource_id),
            data_classification: borrowed(&event.data_classification),
            outcome: event.outcome,
            error_code: borrowed(&event.error_code),
            ip_address: borrowed(&event.ip_address),
            user_agent: borrowed(&event.user_agent),
            request_context: Text(Cow::Owned(event.request_context.to_string())),
            risk_score_at_time: event.risk_score_at_time,
            approval_id: borrowed(&event.approval_id),
            prev_hash: Text::from(event.prev_hash.as_str()),
            hash: Text::from(event.hash.as_str()),
        }
    }

    /// `SHA-256(prev_hash ‖ canonical event)`, as
    /// [`AuditEvent::compute_hash`](super::AuditEvent::compute_hash) computes
    /// it; `None` when the request context is not JSON.
    pub fn content_hash(&self, scratch: &mut HashScratch) -> Option<HexHash> {
        let value: serde_json::Value = serde_json::from_str(&self.request_context).ok()?;
        scratch.context.clear();
        serde_json::to_writer(&mut scratch.context, &value).ok()?;
        scratch.timestamp.clear();
        write_timestamp(self.timestamp, &mut scratch.timestamp);
        scratch.recorded_at.clear();
        if let Some(recorded_at) = self.recorded_at {
            write_timestamp(recorded_at, &mut scratch.recorded_at);
        }
        let parts = CanonicalParts {
            event_id: &self.event_id,
            seq: self.seq,
            timestamp: &scratch.timestamp,
            actor_id: &self.actor_id,
            actor_role: &self.actor_role,
            app_id: text(&self.app_id),
            version: self.version,
            environment: text(&self.environment),
            action_type: &self.action_type,
            resource_type: &self.resource_type,
            resource_id: text(&self.resource_id),
            data_classification: text(&self.data_classification),
            outcome: self.outcome,
            error_code: text(&self.error_code),
            ip_address: text(&self.ip_address),
            user_agent: text(&self.user_agent),
            request_context: &scratch.context,
            risk_score_at_time: self.risk_score_at_time,
            approval_id: text(&self.approval_id),
            reported_by: text(&self.reported_by),
            recorded_at: self.recorded_at.map(|_| scratch.recorded_at.as_str()),
        };
        scratch.canonical.clear();
        parts.write(&mut scratch.canonical);
        Some(chain_hash(&self.prev_hash, &scratch.canonical))
    }
}

/// Appends `at` as [`format_timestamp`] writes it (RFC 3339, UTC,
/// microseconds, `Z`), without its allocation for the years 0 to 9999.
pub fn write_timestamp(at: DateTime<Utc>, out: &mut String) {
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&at.year()) || nanos >= 1_000_000_000 {
        // Years that need a sign or a fifth digit, and leap seconds: chrono's own form.
        out.push_str(&format_timestamp(at));
        return;
    }
    fn digits(out: &mut String, value: u32, width: usize) {
        let mut buf = [b'0'; 6];
        let mut rest = value;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        // ASCII digits only.
        out.push_str(std::str::from_utf8(&buf[..width]).unwrap_or_default());
    }
    digits(out, at.year() as u32, 4);
    out.push('-');
    digits(out, at.month(), 2);
    out.push('-');
    digits(out, at.day(), 2);
    out.push('T');
    digits(out, at.hour(), 2);
    out.push(':');
    digits(out, at.minute(), 2);
    out.push(':');
    digits(out, at.second(), 2);
    out.push('.');
    digits(out, nanos / 1000, 6);
    out.push('Z');
}

/// The first row of a [`Run`].
#[derive(Debug, Clone)]
enum First {
    Read {
        seq: u64,
        prev_hash: String,
        hash: String,
        computed: Option<HexHash>,
    },
    /// Its content could not be read (a bad value in the database).
    Unreadable {
        seq: u64,
    },
}

/// What walking one run of consecutive rows found, from its first row on:
/// joined to the runs before it by [`ChainVerifier::join`].
#[derive(Debug, Clone, Default)]
pub struct Run {
    first: Option<First>,
    /// The walk after the first row.
    rest: ChainVerifier,
    broken: Option<ChainBreak>,
}

impl Run {
    /// Rows checked in the run (the first one included).
    pub fn rows(&self) -> u64 {
        self.rest.verified() + u64::from(self.first.is_some())
    }
}

/// Walks one run of rows in seq order; see [`Run`].
#[derive(Debug, Default)]
pub struct RunChecker {
    run: Run,
}

impl RunChecker {
    pub fn new() -> RunChecker {
        RunChecker::default()
    }

    /// Feeds the next row, as [`ChainVerifier::push_parts`] takes it. False
    /// once the run is broken: what follows cannot change the answer.
    pub fn push_parts(
        &mut self,
        seq: u64,
        prev_hash: &str,
        hash: &str,
        content: impl FnOnce() -> Option<HexHash>,
    ) -> bool {
        if self.run.broken.is_some() {
            return false;
        }
        match &self.run.first {
            None => {
                let computed = content();
                self.run.first =
                    Some(First::Read { seq, prev_hash: prev_hash.to_string(), hash: hash.to_string(), computed });
                self.run.rest = ChainVerifier::resume(seq, hash.to_string());
                true
            }
            Some(First::Unreadable { .. }) => false,
            Some(First::Read { .. }) => match self.run.rest.push_parts(seq, prev_hash, hash, content) {
                Ok(()) => true,
                Err(broken) => {
                    self.run.broken = Some(broken);
                    false
                }
            },
        }
    }

    /// A row whose content cannot be read: the chain is broken at `seq`.
    pub fn unreadable(&mut self, seq: u64) {
        if self.run.broken.is_some() {
            return;
        }
        match self.run.first {
            None => self.run.first = Some(First::Unreadable { seq }),
            Some(_) => self.run.broken = Some(ChainBreak::Content { seq }),
        }
    }

    pub fn finish(self) -> Run {
        self.run
    }
}

impl ChainVerifier {
    /// Continues the chain with `run`, the rows that follow the ones pushed
    /// so far: the same answer as pushing them one by one.
    pub fn join(&mut self, run: &Run) -> Result<(), ChainBreak> {
        match &run.first {
            None => return Ok(()),
            Some(First::Unreadable { seq }) => return Err(ChainBreak::Content { seq: *seq }),
            Some(First::Read { seq, prev_hash, hash, computed }) => {
                self.push_parts(*seq, prev_hash, hash, || *computed)?;
            }
        }
        self.verified += run.rest.verified();
        if let Some(broken) = &run.broken {
            return Err(broken.clone());
        }
        let (last_seq, last_hash) = run.rest.last();
        self.last_seq = last_seq;
        self.last_hash.clear();
        self.last_hash.push_str(last_hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{AuditEvent, GENESIS_HASH, NewAuditEvent, sealed_chain};
    use chrono::TimeZone;

    /// The canonical form as it was first defined: serde's derive over the
    /// fields in hash order, with the two provenance fields appended when
    /// present. The hand-written [`CanonicalParts::write`] must match it
    /// byte for byte, or every hash in every log would change.
    #[derive(serde::Serialize)]
    struct Reference<'a> {
        event_id: &'a str,
        seq: u64,
        timestamp: &'a str,
        actor_id: &'a str,
        actor_role: &'a str,
        app_id: Option<&'a str>,
        version: Option<u32>,
        environment: Option<&'a str>,
        action_type: &'a str,
        resource_type: &'a str,
        resource_id: Option<&'a str>,
        data_classification: Option<&'a str>,
        outcome: &'a str,
        error_code: Option<&'a str>,
        ip_address: Option<&'a str>,
        user_agent: Option<&'a str>,
        request_context: &'a serde_json::Value,
        risk_score_at_time: Option<u32>,
        approval_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reported_by: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        recorded_at: Option<String>,
    }

    fn reference(event: &AuditEvent) -> Vec<u8> {
        let timestamp = format_timestamp(event.timestamp);
        serde_json::to_vec(&Reference {
            event_id: &event.event_id,
            seq: event.seq,
            timestamp: &timestamp,
            actor_id: &event.actor_id,
            actor_role: &event.actor_role,
            app_id: event.app_id.as_deref(),
            version: event.version,
            environment: event.environment.as_deref(),
            action_type: &event.action_type,
            resource_type: &event.resource_type,
            resource_id: event.resource_id.as_deref(),
            data_classification: event.data_classification.as_deref(),
            outcome: event.outcome.as_str(),
            error_code: event.error_code.as_deref(),
            ip_address: event.ip_address.as_deref(),
            user_agent: event.user_agent.as_deref(),
            request_context: &event.request_context,
            risk_score_at_time: event.risk_score_at_time,
            approval_id: event.approval_id.as_deref(),
            reported_by: event.reported_by.as_deref(),
            recorded_at: event.recorded_at.map(format_timestamp),
        })
        .unwrap()
    }

    fn events() -> Vec<AuditEvent> {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let hostile = "quote \" backslash \\ newline \n tab \t nul \0 esc \x1b bidi \u{202e} é 日本 \u{7f}";
        let mut prev = GENESIS_HASH.to_string();
        let shapes = [
            NewAuditEvent { action_type: "a".into(), ..NewAuditEvent::default() },
            NewAuditEvent {
                actor_id: hostile.into(),
                actor_role: "reviewer".into(),
                app_id: Some(hostile.into()),
                version: Some(u32::MAX),
                environment: Some("production".into()),
                action_type: hostile.into(),
                resource_type: "approval".into(),
                resource_id: Some("apr-1".into()),
                data_classification: Some("pii".into()),
                outcome: Some(Outcome::Blocked),
                error_code: Some("E1".into()),
                ip_address: Some("10.0.0.1".into()),
                user_agent: Some(hostile.into()),
                request_context: serde_json::json!({"z": [1, 2.5, -3, null, true], "a": {"y": hostile, "b": {}}, "": ""}),
                risk_score_at_time: Some(0),
                approval_id: Some(hostile.into()),
                timestamp: Some(Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap()),
            },
            NewAuditEvent {
                action_type: "b".into(),
                request_context: serde_json::json!("text"),
                timestamp: Some(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()),
                ..NewAuditEvent::default()
            },
            NewAuditEvent {
                action_type: "c".into(),
                request_context: serde_json::json!(1e300),
                timestamp: Some(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap()),
                ..NewAuditEvent::default()
            },
        ];
        shapes
            .into_iter()
            .enumerate()
            .map(|(index, event)| {
                let reporter = ["ingest-bot", hostile, "", "riley"][index % 4];
                let mut sealed = AuditEvent::seal(event, reporter, format!("ev-{index}"), index as u64 + 1, at, &prev);
                if index == 2 {
                    // A legacy event: no provenance.
                    (sealed.reported_by, sealed.recorded_at) = (None, None);
                    sealed.hash = sealed.compute_hash();
                }
                prev.clone_from(&sealed.hash);
                sealed
            })
            .collect()
    }

    #[test]
    fn the_canonical_writer_matches_serdes_derive() {
        for event in events() {
            assert_eq!(event.canonical(), reference(&event), "{}", String::from_utf8_lossy(&reference(&event)));
        }
    }

    #[test]
    fn a_view_decoded_from_the_wire_hashes_like_the_event() {
        let mut scratch = HashScratch::default();
        for event in events() {
            let json = serde_json::to_vec(&event).unwrap();
            let view: EventView<'_> = serde_json::from_slice(&json).unwrap();
            assert_eq!(view.content_hash(&mut scratch).unwrap().as_str(), event.hash);
            assert_eq!(scratch.timestamp(), format_timestamp(event.timestamp));
            assert_eq!(scratch.recorded_at(), event.recorded_at.map(format_timestamp).as_deref());
            assert_eq!(scratch.context(), serde_json::to_string(&event.request_context).unwrap());
        }
    }

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_owned() {
        let event = &events()[1];
        let json = serde_json::to_vec(event).unwrap();
        let view: EventView<'_> = serde_json::from_slice(&json).unwrap();
        assert!(matches!(view.event_id.0, Cow::Borrowed(_)));
        assert!(matches!(view.actor_id.0, Cow::Owned(_)));
        assert_eq!(&*view.actor_id, event.actor_id);
    }

    #[test]
    fn timestamps_are_written_as_format_timestamp_writes_them() {
        let samples = [
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 999).unwrap(),
            Utc.with_ymd_and_hms(1, 2, 3, 4, 5, 6).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            // A leap second.
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_micro_opt(23, 59, 59, 1_500_000)
                .unwrap()
                .and_utc(),
        ];
        for at in samples {
            let mut out = String::new();
            write_timestamp(at, &mut out);
            assert_eq!(out, format_timestamp(at));
        }
    }

    /// A chain of `n` events, and the answer of one walk over `events` with head `head`.
    fn chain(n: u64) -> Vec<AuditEvent> {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        sealed_chain(n, at, |seq| NewAuditEvent { action_type: format!("a{seq}"), ..NewAuditEvent::default() })
    }

    /// `None` stands for a row that cannot be read.
    fn walk(rows: &[Option<AuditEvent>]) -> (Result<(), ChainBreak>, u64) {
        let mut verifier = ChainVerifier::new();
        for row in rows {
            let result = match row {
                Some(event) => verifier.push(event),
                None => Err(ChainBreak::Content { seq: verifier.last().0 + 1 }),
            };
            if let Err(broken) = result {
                return (Err(broken), verifier.verified());
            }
        }
        (Ok(()), verifier.verified())
    }

    fn joined(rows: &[Option<AuditEvent>], cuts: &[usize]) -> (Result<(), ChainBreak>, u64) {
        let mut verifier = ChainVerifier::new();
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(rows.len());
        for piece in bounds.windows(2) {
            let mut checker = RunChecker::new();
            let mut seq_before = None;
            for row in &rows[piece[0]..piece[1]] {
                let more = match row {
                    Some(event) => {
                        seq_before = Some(event.seq);
                        checker.push_parts(event.seq, &event.prev_hash, &event.hash, || {
                            Some(chain_hash(&event.prev_hash, &event.canonical()))
                        })
                    }
                    None => {
                        // Unreadable rows in these tests sit where seq_before + 1 is.
                        checker.unreadable(seq_before.map_or(piece[0] as u64 + 1, |seq| seq + 1));
                        false
                    }
                };
                if !more {
                    break;
                }
            }
            if let Err(broken) = verifier.join(&checker.finish()) {
                return (Err(broken), verifier.verified());
            }
        }
        (Ok(()), verifier.verified())
    }

    /// Every way to cut `rows` in two and three pieces gives the answer of one walk.
    fn assert_cuts_agree(rows: &[Option<AuditEvent>], what: &str) {
        let whole = walk(rows);
        for a in 0..=rows.len() {
            assert_eq!(joined(rows, &[a]), whole, "{what}: cut at {a}");
            for b in a..=rows.len() {
                assert_eq!(joined(rows, &[a, b]), whole, "{what}: cuts at {a}, {b}");
            }
        }
    }

    #[test]
    fn joined_runs_name_the_first_bad_seq_of_one_walk() {
        let clean: Vec<Option<AuditEvent>> = chain(12).into_iter().map(Some).collect();
        assert_cuts_agree(&clean, "clean");
        for at in [0, 5, 6, 11] {
            let mut edited = clean.clone();
            edited[at].as_mut().unwrap().actor_id = "mallory".into();
            assert_cuts_agree(&edited, &format!("edited at {at}"));

            let mut removed = clean.clone();
            removed.remove(at);
            assert_cuts_agree(&removed, &format!("removed at {at}"));

            let mut unreadable = clean.clone();
            unreadable[at] = None;
            assert_cuts_agree(&unreadable, &format!("unreadable at {at}"));

            let mut relinked = clean.clone();
            relinked[at].as_mut().unwrap().prev_hash = "f".repeat(64);
            assert_cuts_agree(&relinked, &format!("bad link at {at}"));
        }
        // Two faults: the earlier one is named whichever piece holds it.
        let mut two = clean.clone();
        two[3].as_mut().unwrap().actor_id = "mallory".into();
        two[8].as_mut().unwrap().prev_hash = "0".repeat(64);
        assert_cuts_agree(&two, "two faults");
        let mut swapped = clean.clone();
        swapped.swap(4, 5);
        assert_cuts_agree(&swapped, "swapped");
    }
}
