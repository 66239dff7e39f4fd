//! The audit event and its hash chain:
//! `hash = SHA-256(prev_hash ‖ canonical event)`, hex encoded, where the
//! canonical event is the JSON of every field but the two hashes, in a fixed
//! order, with timestamps at microsecond precision. The first event chains
//! onto [`GENESIS_HASH`].
//!
//! # The canonical form
//!
//! [`CanonicalParts::write`] writes, with no whitespace:
//!
//! ```text
//! {"event_id":S,"seq":N,"timestamp":T,"actor_id":S,"actor_role":S,
//!  "app_id":S?,"version":N?,"environment":S?,"action_type":S,
//!  "resource_type":S,"resource_id":S?,"data_classification":S?,
//!  "outcome":S,"error_code":S?,"ip_address":S?,"user_agent":S?,
//!  "request_context":J,"risk_score_at_time":N?,"approval_id":S?
//!  [,"reported_by":S][,"recorded_at":T]}
//! ```
//!
//! `S` is a JSON string as `serde_json` escapes it (`"`, `\` and the control
//! characters escaped, everything else as its UTF-8 bytes); `S?` and `N?` are
//! that or `null`; `N` a decimal integer; `T` RFC 3339 UTC with six digits of
//! microseconds and `Z` ([`format_timestamp`]); `J` the request context as
//! compact `serde_json` with object keys sorted.
//!
//! The two bracketed members are the event's provenance ([`provenance`]):
//! `reported_by`, the principal that wrote it, and `recorded_at`, the
//! server's clock when it did. They are written only when the event has
//! them, never as `null`: an event from before they existed (a legacy row,
//! both columns NULL) hashes to exactly the bytes it was sealed with, and
//! every event sealed since has both, so they are as covered by the hash as
//! any other field (removing or editing either breaks the chain).

pub mod provenance;
pub mod view;

pub use provenance::{GOVERNANCE_FAMILIES, NotRuntime, POLICY_ACTOR, check_runtime_event, is_governance_action};
pub use view::{EventView, HashScratch, Run, RunChecker, write_timestamp};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Blocked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Blocked => "blocked",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Outcome::Success),
            "failure" => Ok(Outcome::Failure),
            "blocked" => Ok(Outcome::Blocked),
            other => Err(format!("unknown outcome {other:?} (expected success, failure or blocked)")),
        }
    }
}

/// An event before the log gives it a place: what happened, not where in the chain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuditEvent {
    #[serde(default)]
    pub actor_id: String,
    #[serde(default)]
    pub actor_role: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub environment: Option<String>,
    pub action_type: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub data_classification: Option<String>,
    /// `success` unless stated.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub request_context: serde_json::Value,
    #[serde(default)]
    pub risk_score_at_time: Option<u32>,
    #[serde(default)]
    pub approval_id: Option<String>,
    /// When it happened; the server's clock when not given (ingest may backdate).
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub event_id: String,
    pub seq: u64,
    /// When it happened: the server's clock, or what an ingesting platform
    /// claims (which may be earlier than `recorded_at`).
    pub timestamp: DateTime<Utc>,
    /// When the server recorded it; absent on events from before it was kept.
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Who it was done by, as its writer tells it (for an ingested runtime
    /// event, the platform's claim).
    pub actor_id: String,
    pub actor_role: String,
    /// The authenticated principal that wrote the event (the ingest token's
    /// user, the deciding user, `policy` for the lifecycle job); absent on
    /// events from before it was kept.
    #[serde(default)]
    pub reported_by: Option<String>,
    pub app_id: Option<String>,
    pub version: Option<u32>,
    pub environment: Option<String>,
    pub action_type: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub data_classification: Option<String>,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub request_context: serde_json::Value,
    pub risk_score_at_time: Option<u32>,
    pub approval_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields the hash covers, borrowed, in the order they are hashed:
/// the timestamp already in [`format_timestamp`]'s form and the request
/// context as compact JSON (`serde_json`'s, keys sorted). [`Self::write`] is
/// the one writer of the canonical bytes, so an event read from a page, a
/// row or a struct hashes the same way.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalParts<'a> {
    pub event_id: &'a str,
    pub seq: u64,
    pub timestamp: &'a str,
    pub actor_id: &'a str,
    pub actor_role: &'a str,
    pub app_id: Option<&'a str>,
    pub version: Option<u32>,
    pub environment: Option<&'a str>,
    pub action_type: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<&'a str>,
    pub data_classification: Option<&'a str>,
    pub outcome: Outcome,
    pub error_code: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_context: &'a [u8],
    pub risk_score_at_time: Option<u32>,
    pub approval_id: Option<&'a str>,
    /// Written only when present (see the module doc).
    pub reported_by: Option<&'a str>,
    /// In [`format_timestamp`]'s form; written only when present.
    pub recorded_at: Option<&'a str>,
}

impl CanonicalParts<'_> {
    /// Appends the canonical bytes to `out`: the compact JSON object of the
    /// fields above, as `serde_json` writes a struct of them, the two
    /// provenance fields skipped when `None` (the module doc has the form).
    pub fn write(&self, out: &mut Vec<u8>) {
        fn text(out: &mut Vec<u8>, key: &str, value: &str) {
            out.push(b',');
            out.extend_from_slice(key.as_bytes());
            // Writing a `&str` into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, value);
        }
        fn optional_text(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
            match value {
                Some(value) => text(out, key, value),
                None => {
                    out.push(b',');
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(b"null");
                }
            }
        }
        fn number(out: &mut Vec<u8>, key: &str, value: Option<u64>) {
            out.push(b',');
            out.extend_from_slice(key.as_bytes());
            match value {
                Some(value) => {
                    let _ = serde_json::to_writer(&mut *out, &value);
                }
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"{\"event_id\":");
        let _ = serde_json::to_writer(&mut *out, self.event_id);
        number(out, "\"seq\":", Some(self.seq));
        text(out, "\"timestamp\":", self.timestamp);
        text(out, "\"actor_id\":", self.actor_id);
        text(out, "\"actor_role\":", self.actor_role);
        optional_text(out, "\"app_id\":", self.app_id);
        number(out, "\"version\":", self.version.map(u64::from));
        optional_text(out, "\"environment\":", self.environment);
        text(out, "\"action_type\":", self.action_type);
        text(out, "\"resource_type\":", self.resource_type);
        optional_text(out, "\"resource_id\":", self.resource_id);
        optional_text(out, "\"data_classification\":", self.data_classification);
        text(out, "\"outcome\":", self.outcome.as_str());
        optional_text(out, "\"error_code\":", self.error_code);
        optional_text(out, "\"ip_address\":", self.ip_address);
        optional_text(out, "\"user_agent\":", self.user_agent);
        out.extend_from_slice(b",\"request_context\":");
        out.extend_from_slice(self.request_context);
        number(out, "\"risk_score_at_time\":", self.risk_score_at_time.map(u64::from));
        optional_text(out, "\"approval_id\":", self.approval_id);
        if let Some(reported_by) = self.reported_by {
            text(out, "\"reported_by\":", reported_by);
        }
        if let Some(recorded_at) = self.recorded_at {
            text(out, "\"recorded_at\":", recorded_at);
        }
        out.push(b'}');
    }
}

/// `SHA-256(prev_hash ‖ canonical)`, hex encoded (lower case).
pub fn chain_hash(prev_hash: &str, canonical: &[u8]) -> HexHash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical);
    let digest: [u8; 32] = hasher.finalize().into();
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(digest, &mut hex);
    HexHash(hex)
}

/// A SHA-256 in hex, without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexHash([u8; 64]);

impl HexHash {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for HexHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Timestamps are hashed, stored and compared in this one format.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `at` cut to the microsecond, so it survives a round trip through its text.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

impl AuditEvent {
    /// Places `event`, written by the principal `reported_by` and recorded
    /// at `at`, at `seq` after `prev_hash` and computes its hash. The event
    /// happened at its own `timestamp` when it gives one, else at `at`.
    pub fn seal(
        event: NewAuditEvent,
        reported_by: &str,
        event_id: String,
        seq: u64,
        at: DateTime<Utc>,
        prev_hash: &str,
    ) -> AuditEvent {
        let recorded_at = truncate_to_micros(at);
        let mut sealed = AuditEvent {
            event_id,
            seq,
            timestamp: event.timestamp.map_or(recorded_at, truncate_to_micros),
            recorded_at: Some(recorded_at),
            actor_id: event.actor_id,
            actor_role: event.actor_role,
            reported_by: Some(reported_by.to_string()),
            app_id: event.app_id,
            version: event.version,
            environment: event.environment,
            action_type: event.action_type,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            data_classification: event.data_classification,
            outcome: event.outcome.unwrap_or(Outcome::Success),
            error_code: event.error_code,
            ip_address: event.ip_address,
            user_agent: event.user_agent,
            request_context: event.request_context,
            risk_score_at_time: event.risk_score_at_time,
            approval_id: event.approval_id,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        sealed.hash = sealed.compute_hash();
        sealed
    }

    /// The canonical bytes the hash covers.
    pub fn canonical(&self) -> Vec<u8> {
        let timestamp = format_timestamp(self.timestamp);
        let recorded_at = self.recorded_at.map(format_timestamp);
        let context = serde_json::to_vec(&self.request_context).unwrap_or_default();
        let mut out = Vec::with_capacity(256 + context.len());
        self.parts(&timestamp, recorded_at.as_deref(), &context).write(&mut out);
        out
    }

    fn parts<'a>(&'a self, timestamp: &'a str, recorded_at: Option<&'a str>, context: &'a [u8]) -> CanonicalParts<'a> {
        CanonicalParts {
            event_id: &self.event_id,
            seq: self.seq,
            timestamp,
            actor_id: &self.actor_id,
            actor_role: &self.actor_role,
            app_id: self.app_id.as_deref(),
            version: self.version,
            environment: self.environment.as_deref(),
            action_type: &self.action_type,
            resource_type: &self.resource_type,
            resource_id: self.resource_id.as_deref(),
            data_classification: self.data_classification.as_deref(),
            outcome: self.outcome,
            error_code: self.error_code.as_deref(),
            ip_address: self.ip_address.as_deref(),
            user_agent: self.user_agent.as_deref(),
            request_context: context,
            risk_score_at_time: self.risk_score_at_time,
            approval_id: self.approval_id.as_deref(),
            reported_by: self.reported_by.as_deref(),
            recorded_at,
        }
    }

    /// Whether the principal that wrote the event is someone other than its
    /// actor (a runtime event reported by an ingest token, say): the name to
    /// show as "reported by", if so.
    pub fn reported_by_other(&self) -> Option<&str> {
        self.reported_by.as_deref().filter(|by| *by != self.actor_id)
    }

    /// `SHA-256(prev_hash ‖ canonical event)`, hex encoded.
    pub fn compute_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical()).as_str().to_string()
    }
}

/// Where a chain first goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("seq {seq}: expected seq {expected} (an event is missing or out of order)")]
    Gap { seq: u64, expected: u64 },
    #[error("seq {seq}: prev_hash does not match the hash of seq {previous} (an event was removed or reordered)")]
    Link { seq: u64, previous: u64 },
    #[error("seq {seq}: the hash does not match the event's content (the event was edited)")]
    Content { seq: u64 },
    #[error("seq {seq}: the log ends at seq {last} but its recorded head is seq {head_seq} (the tail was cut)")]
    Truncated { seq: u64, last: u64, head_seq: u64 },
    #[error("seq {seq}: the newest event's hash differs from the recorded head (the tail was rewritten)")]
    HeadMismatch { seq: u64 },
}

impl ChainBreak {
    /// The first `seq` that cannot be trusted.
    pub fn seq(&self) -> u64 {
        match self {
            ChainBreak::Gap { seq, .. }
            | ChainBreak::Link { seq, .. }
            | ChainBreak::Content { seq }
            | ChainBreak::Truncated { seq, .. }
            | ChainBreak::HeadMismatch { seq } => *seq,
        }
    }
}

/// Checks events one at a time, in `seq` order, without holding them.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_seq: u64,
    last_hash: String,
    verified: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    /// A verifier for a chain that starts at seq 1.
    pub fn new() -> ChainVerifier {
        ChainVerifier::resume(0, GENESIS_HASH.to_string())
    }

    /// A verifier that continues after an event already trusted.
    pub fn resume(last_seq: u64, last_hash: String) -> ChainVerifier {
        ChainVerifier { last_seq, last_hash, verified: 0 }
    }

    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        self.push_parts(event.seq, &event.prev_hash, &event.hash, || {
            Some(chain_hash(&event.prev_hash, &event.canonical()))
        })
    }

    /// Checks the next event, given by its place, its two hashes and
    /// `content`, which hashes what it holds (`None` when that cannot be
    /// read). The checks and their order are those of [`Self::push`]: the
    /// seq, then the link, then the content.
    pub fn push_parts(
        &mut self,
        seq: u64,
        prev_hash: &str,
        hash: &str,
        content: impl FnOnce() -> Option<HexHash>,
    ) -> Result<(), ChainBreak> {
        let Some(expected) = self.last_seq.checked_add(1) else {
            return Err(ChainBreak::Gap { seq, expected: u64::MAX });
        };
        if seq != expected {
            return Err(ChainBreak::Gap { seq: seq.min(expected), expected });
        }
        if prev_hash != self.last_hash {
            return Err(ChainBreak::Link { seq, previous: self.last_seq });
        }
        if content().is_none_or(|computed| computed.as_str() != hash) {
            return Err(ChainBreak::Content { seq });
        }
        self.last_seq = seq;
        self.last_hash.clear();
        self.last_hash.push_str(hash);
        self.verified += 1;
        Ok(())
    }

    /// Compares the end of the chain with the head recorded beside it.
    pub fn finish(&self, head_seq: u64, head_hash: &str) -> Result<(), ChainBreak> {
        if head_seq > self.last_seq {
            return Err(ChainBreak::Truncated { seq: self.last_seq + 1, last: self.last_seq, head_seq });
        }
        if head_seq == self.last_seq && head_hash != self.last_hash {
            return Err(ChainBreak::HeadMismatch { seq: self.last_seq });
        }
        Ok(())
    }

    pub fn verified(&self) -> u64 {
        self.verified
    }

    pub fn last(&self) -> (u64, &str) {
        (self.last_seq, &self.last_hash)
    }
}

/// Events 1..=`n` sealed into one chain from the genesis hash at `at`, each
/// made by `event(seq)` with id `e{seq}`: the chains the tests walk.
#[cfg(test)]
pub(crate) fn sealed_chain(n: u64, at: DateTime<Utc>, event: impl Fn(u64) -> NewAuditEvent) -> Vec<AuditEvent> {
    let mut prev = GENESIS_HASH.to_string();
    (1..=n)
        .map(|seq| {
            let sealed = AuditEvent::seal(event(seq), "tester", format!("e{seq}"), seq, at, &prev);
            prev.clone_from(&sealed.hash);
            sealed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let event = NewAuditEvent {
                    actor_id: "riley".into(),
                    actor_role: "reviewer".into(),
                    app_id: Some(format!("app-{seq}")),
                    action_type: "approval.approve".into(),
                    resource_type: "approval".into(),
                    request_context: serde_json::json!({"b": 1, "a": [seq]}),
                    ..NewAuditEvent::default()
                };
                let sealed = AuditEvent::seal(event, "riley", format!("ev-{seq}"), seq, at, &prev);
                prev.clone_from(&sealed.hash);
                sealed
            })
            .collect()
    }

    fn verify(events: &[AuditEvent], head: (u64, &str)) -> Result<u64, ChainBreak> {
        let mut verifier = ChainVerifier::new();
        for event in events {
            verifier.push(event)?;
        }
        verifier.finish(head.0, head.1)?;
        Ok(verifier.verified())
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let events = chain(5);
        let head = (5, events[4].hash.as_str());
        assert_eq!(verify(&events, head), Ok(5));
    }

    #[test]
    fn an_edited_field_is_named_by_seq() {
        let mut events = chain(5);
        let head = (5, events[4].hash.clone());
        events[2].actor_id = "mallory".into();
        assert_eq!(verify(&events, (head.0, &head.1)), Err(ChainBreak::Content { seq: 3 }));
    }

    #[test]
    fn a_deleted_event_is_a_gap() {
        let mut events = chain(5);
        let head = (5, events[4].hash.clone());
        events.remove(1);
        assert_eq!(verify(&events, (head.0, &head.1)).unwrap_err().seq(), 2);
    }

    #[test]
    fn swapped_contents_break_the_link() {
        let mut events = chain(5);
        let head = (5, events[4].hash.clone());
        let (a, b) = (events[1].clone(), events[2].clone());
        events[1] = AuditEvent { seq: 2, ..b };
        events[2] = AuditEvent { seq: 3, ..a };
        assert_eq!(verify(&events, (head.0, &head.1)).unwrap_err().seq(), 2);
    }

    #[test]
    fn a_cut_tail_is_caught_by_the_head() {
        let mut events = chain(5);
        let head = (5, events[4].hash.clone());
        events.truncate(3);
        assert_eq!(verify(&events, (head.0, &head.1)), Err(ChainBreak::Truncated { seq: 4, last: 3, head_seq: 5 }));
    }

    #[test]
    fn canonical_form_is_stable_across_a_json_round_trip() {
        let events = chain(2);
        let json = serde_json::to_string(&events[1]).unwrap();
        let back: AuditEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back.compute_hash(), events[1].hash);
    }

    #[test]
    fn timestamps_are_hashed_at_microsecond_precision() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(format_timestamp(truncate_to_micros(at)), "2023-11-14T22:13:20.123456Z");
    }
}
