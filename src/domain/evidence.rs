//! Per-app evidence: one self-contained JSON file an auditor can take away
//! and check with no server. It holds the app as the catalog holds it, every
//! approval request of the app with every decision (who, role, when,
//! comment) and the risk and tier it was filed at, every audit event of the
//! app in a time window, each with its inclusion proof in the Merkle tree
//! of one signed tree head that covers those events (RFC 9162), that tree
//! head (a C2SP signed note), and the server's public key; and the server's
//! signature over all of it.
//!
//! The file is `{"bundle": {…}, "signature": "<128 hex>"}`. The signature is
//! Ed25519, with the key that signs the audit checkpoints, over the bytes
//!
//! ```text
//! govdeck-evidence-v2
//! {sha256 of the bundle's canonical JSON, 64 lowercase hex}
//! ```
//!
//! (one `\n` between, none at the end), where the canonical JSON of the
//! bundle is its JSON with every object's keys sorted by their bytes and no
//! whitespace, strings and numbers as `serde_json` writes them. The message
//! cannot be read as a checkpoint, whose second line is a decimal seq.
//!
//! [`verify`] checks, in this order, and names the first failure: the
//! format; the key (against the one given, if any); the checkpoint's
//! signature, and that it is a signed tree head; each event's hash against
//! its content, that it belongs to the app and the window, that the
//! checkpoint is at or after it, and its inclusion proof from its leaf to
//! the signed root (so an event edited in the log, or one the server never
//! logged, cannot be in the bundle even when its hash is recomputed); that
//! every decision of every request has its audit event with the same
//! person, time and comment; and last the signature over the whole bundle,
//! which catches anything added, dropped or edited that the other checks
//! cannot see (an event left out with every trace of it, say).
//!
//! Pure: building takes what the store read, checking takes the file's
//! bytes; no IO, no clock.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::audit::{format_timestamp, truncate_to_micros};
use super::audit_query::TimeRange;
use super::checkpoint::{Checkpoint, PublicKey, ServerKey};
use super::merkle::{self, Hash};
use super::{App, Approval, AuditEvent, DecisionKind};

/// The `format` of every bundle this build writes.
pub const FORMAT: &str = "govdeck-evidence-v2";
/// Most events one bundle holds; a longer history is asked for in windows.
pub const MAX_EVENTS: usize = 50_000;

/// What the server vouches for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    pub generated_at: DateTime<Utc>,
    /// Who asked for it.
    pub generated_for: String,
    /// The window of event time: at or after `since`, before `until`.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// When the log's first event was written: decisions before it (from
    /// history imported when the log began) have no event to check against.
    pub log_starts_at: Option<DateTime<Utc>>,
    /// The app as the catalog holds it now.
    pub app: App,
    /// Every approval request of the app, oldest first, with its decisions.
    pub requests: Vec<Approval>,
    /// Every audit event of the app in the window, oldest first.
    pub events: Vec<AuditEvent>,
    /// The inclusion proof of each event, in the same order, in the tree of
    /// `checkpoint`.
    pub proofs: Vec<EventProof>,
    /// A signed tree head at or after the newest event.
    pub checkpoint: Checkpoint,
    /// The key that signed the checkpoint and the bundle.
    pub key: ServerKey,
}

/// The audit path of one event's leaf (index `seq - 1`) to the root of the
/// bundle's signed tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventProof {
    pub seq: u64,
    /// The sibling hashes, leaf to root, lower-case hex.
    pub proof: Vec<String>,
}

/// The file: the bundle and the server's signature over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedBundle {
    pub bundle: Bundle,
    /// Ed25519 over the message of the module doc, hex.
    pub signature: String,
}

/// `JSON` with every object's keys sorted by their bytes and no whitespace.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    fn write(out: &mut Vec<u8>, value: &Value) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'{');
                for (index, (key, value)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    // Writing a string or a number into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut *out, key);
                    out.push(b':');
                    write(out, value);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    write(out, item);
                }
                out.push(b']');
            }
            scalar => {
                let _ = serde_json::to_writer(&mut *out, scalar);
            }
        }
    }
    let mut out = Vec::new();
    write(&mut out, value);
    out
}

/// The bytes the bundle's signature covers, given the bundle as JSON.
pub fn message(bundle: &Value) -> Vec<u8> {
    let digest = Sha256::digest(canonical_json(bundle));
    let mut text = String::from(FORMAT);
    text.push('\n');
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text.into_bytes()
}

/// Why a bundle cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(
        "the app has {found} audit events in this window; one bundle holds at most {max}: narrow it with since and until"
    )]
    TooManyEvents { found: usize, max: usize },
}

/// What the store read for a bundle.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub app: App,
    pub requests: Vec<Approval>,
    /// The app's events in the window, oldest first.
    pub events: Vec<AuditEvent>,
    /// Each event's audit path in the tree of `checkpoint`, in the same order.
    pub proofs: Vec<Vec<Hash>>,
    /// A signed tree head at or after the newest event.
    pub checkpoint: Checkpoint,
    pub key: ServerKey,
    pub log_starts_at: Option<DateTime<Utc>>,
}

/// The bundle (unsigned) of what was gathered for `generated_for`.
pub fn build(
    gathered: Gathered,
    range: TimeRange,
    generated_for: &str,
    now: DateTime<Utc>,
) -> Result<Bundle, BuildError> {
    let Gathered { app, mut requests, events, proofs, checkpoint, key, log_starts_at } = gathered;
    if events.len() > MAX_EVENTS {
        return Err(BuildError::TooManyEvents { found: events.len(), max: MAX_EVENTS });
    }
    let proofs = events
        .iter()
        .zip(proofs)
        .map(|(event, path)| EventProof { seq: event.seq, proof: path.iter().map(hex::encode).collect() })
        .collect();
    requests.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(Bundle {
        format: FORMAT.into(),
        generated_at: truncate_to_micros(now),
        generated_for: generated_for.into(),
        since: range.since,
        until: range.until,
        log_starts_at,
        app,
        requests,
        events,
        proofs,
        checkpoint,
        key,
    })
}

/// What a checked bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub app_id: String,
    pub app_name: String,
    pub events: usize,
    pub requests: usize,
    /// Decisions checked against their audit events.
    pub decisions: usize,
    /// Decisions from before the log began, which no event can vouch for.
    pub unlogged_decisions: usize,
    pub checkpoint_seq: u64,
    /// The size of the signed tree every event was proved in.
    pub tree_size: u64,
    pub key_id: String,
    /// Whether the key was the one given to check with (else only the bundle's own).
    pub key_given: bool,
}

/// The first thing that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("not a complete evidence bundle: {0}")]
    Unreadable(String),
    #[error("not a govdeck evidence bundle (format {0:?}, expected {FORMAT:?})")]
    Format(String),
    #[error("the bundle's key is unusable: {0}")]
    Key(String),
    #[error("the bundle is signed by key {found}, not by the key given ({given})")]
    OtherKey { found: String, given: String },
    #[error("the checkpoint at seq {seq} does not verify with key {key_id} (altered, or signed by another key)")]
    Checkpoint { seq: u64, key_id: String },
    #[error("event seq {seq}: its hash does not match its content (the event was edited)")]
    EventEdited { seq: u64 },
    #[error("event seq {seq} is about another app ({found:?}), not {app}")]
    OtherApp { seq: u64, found: Option<String>, app: String },
    #[error("event seq {seq} at {at} is outside the bundle's window")]
    OutsideWindow { seq: u64, at: String },
    #[error("event seq {seq} comes after seq {previous} (events out of order or repeated)")]
    OutOfOrder { seq: u64, previous: u64 },
    #[error("event seq {seq} is newer than the checkpoint (seq {checkpoint}), which cannot vouch for it")]
    AfterCheckpoint { seq: u64, checkpoint: u64 },
    #[error("the checkpoint at seq {seq} is not a signed tree head, so no event can be proved in it")]
    NotTreeHead { seq: u64 },
    #[error("event seq {seq} has no inclusion proof beside it (the bundle has {proofs} proofs for {events} events)")]
    MissingProof { seq: u64, proofs: usize, events: usize },
    #[error(
        "event seq {seq}: its inclusion proof in the signed tree of {tree_size} events fails: {reason} (the event or its proof was altered, or the log never held it)"
    )]
    Proof { seq: u64, tree_size: u64, reason: String },
    #[error("request {request} is about another app ({found})")]
    RequestOfOtherApp { request: String, found: String },
    #[error(
        "request {request}: the {decision} by {by} at {at} has no audit event with that person, time and comment (edited or dropped)"
    )]
    Decision { request: String, decision: &'static str, by: String, at: String },
    #[error(
        "the bundle differs from what the server signed: something in it was added, dropped or edited after it was made"
    )]
    Signature,
}

/// Checks a bundle file's bytes, with `key` if one is given (else with the
/// key the bundle names, which proves only that it is whole, not whose it is).
pub fn verify(bytes: &[u8], key: Option<&PublicKey>) -> Result<Verified, EvidenceError> {
    let file: Value = serde_json::from_slice(bytes).map_err(|err| EvidenceError::Unreadable(err.to_string()))?;
    let format = file.pointer("/bundle/format").and_then(Value::as_str).unwrap_or_default().to_string();
    if format != FORMAT {
        return Err(EvidenceError::Format(format));
    }
    let signed: SignedBundle =
        serde_json::from_value(file.clone()).map_err(|err| EvidenceError::Unreadable(err.to_string()))?;
    let bundle = &signed.bundle;
    let named = PublicKey::from_wire(&bundle.key).map_err(|err| EvidenceError::Key(err.to_string()))?;
    if let Some(given) = key
        && given.id() != named.id()
    {
        return Err(EvidenceError::OtherKey { found: named.id().into(), given: given.id().into() });
    }
    named
        .verify(&bundle.checkpoint)
        .map_err(|_| EvidenceError::Checkpoint { seq: bundle.checkpoint.seq, key_id: named.id().into() })?;
    let (Some(tree_size), Some(root)) = (bundle.checkpoint.tree_size, bundle.checkpoint.root()) else {
        return Err(EvidenceError::NotTreeHead { seq: bundle.checkpoint.seq });
    };
    let range = TimeRange { since: bundle.since, until: bundle.until };
    check_events(bundle, &range)?;
    check_proofs(bundle, tree_size, &root)?;
    let (decisions, unlogged_decisions) = check_decisions(bundle, &range)?;
    let body = file.get("bundle").cloned().unwrap_or(Value::Null);
    if !named.verifies(&message(&body), &signed.signature) {
        return Err(EvidenceError::Signature);
    }
    Ok(Verified {
        app_id: bundle.app.id.clone(),
        app_name: bundle.app.name.clone(),
        events: bundle.events.len(),
        requests: bundle.requests.len(),
        decisions,
        unlogged_decisions,
        checkpoint_seq: bundle.checkpoint.seq,
        tree_size,
        key_id: named.id().into(),
        key_given: key.is_some(),
    })
}

fn check_events(bundle: &Bundle, range: &TimeRange) -> Result<(), EvidenceError> {
    let mut previous = 0;
    for event in &bundle.events {
        if event.compute_hash() != event.hash {
            return Err(EvidenceError::EventEdited { seq: event.seq });
        }
        if event.app_id.as_deref() != Some(bundle.app.id.as_str()) {
            return Err(EvidenceError::OtherApp {
                seq: event.seq,
                found: event.app_id.clone(),
                app: bundle.app.id.clone(),
            });
        }
        if !range.contains(event.timestamp) {
            return Err(EvidenceError::OutsideWindow { seq: event.seq, at: format_timestamp(event.timestamp) });
        }
        if event.seq <= previous {
            return Err(EvidenceError::OutOfOrder { seq: event.seq, previous });
        }
        if event.seq > bundle.checkpoint.seq {
            return Err(EvidenceError::AfterCheckpoint { seq: event.seq, checkpoint: bundle.checkpoint.seq });
        }
        previous = event.seq;
    }
    Ok(())
}

/// Every event's leaf is in the signed tree: its proof, beside it in the
/// same order, leads from the leaf to the signed root.
fn check_proofs(bundle: &Bundle, tree_size: u64, root: &Hash) -> Result<(), EvidenceError> {
    let missing = |seq| EvidenceError::MissingProof { seq, proofs: bundle.proofs.len(), events: bundle.events.len() };
    if let Some(extra) = bundle.proofs.get(bundle.events.len()) {
        return Err(EvidenceError::Proof {
            seq: extra.seq,
            tree_size,
            reason: "a proof of an event the bundle does not hold".into(),
        });
    }
    for (index, event) in bundle.events.iter().enumerate() {
        let proof =
            bundle.proofs.get(index).filter(|proof| proof.seq == event.seq).ok_or_else(|| missing(event.seq))?;
        let bad = |reason: String| EvidenceError::Proof { seq: event.seq, tree_size, reason };
        let path = proof
            .proof
            .iter()
            .map(|text| merkle::hash_from_hex(text))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| bad("a node is not 64 hex digits".into()))?;
        merkle::verify_inclusion(event.seq - 1, tree_size, &merkle::event_leaf(event), &path, root)
            .map_err(|err| bad(err.to_string()))?;
    }
    Ok(())
}

/// Every decision in the window has the event the server wrote with it;
/// returns how many decisions were checked, and how many predate the log.
fn check_decisions(bundle: &Bundle, range: &TimeRange) -> Result<(usize, usize), EvidenceError> {
    let (mut checked, mut unlogged) = (0, 0);
    for request in &bundle.requests {
        if request.app_id != bundle.app.id {
            return Err(EvidenceError::RequestOfOtherApp {
                request: request.id.clone(),
                found: request.app_id.clone(),
            });
        }
        for decision in &request.decisions {
            let at = truncate_to_micros(decision.at);
            if !range.contains(at) {
                continue;
            }
            if bundle.log_starts_at.is_none_or(|start| at < start) {
                unlogged += 1;
                continue;
            }
            let action = decision.decision.action();
            let recorded = bundle.events.iter().any(|event| {
                event.action_type == action
                    && event.approval_id.as_deref() == Some(request.id.as_str())
                    && event.actor_id == decision.by
                    && event.timestamp == at
                    && event.request_context.get("comment").and_then(Value::as_str).unwrap_or_default().trim()
                        == decision.comment.trim()
            });
            if !recorded {
                return Err(EvidenceError::Decision {
                    request: request.id.clone(),
                    decision: match decision.decision {
                        DecisionKind::Approve => "approval",
                        DecisionKind::Reject => "rejection",
                        DecisionKind::RequestChanges => "request for changes",
                    },
                    by: decision.by.clone(),
                    at: format_timestamp(at),
                });
            }
            checked += 1;
        }
    }
    Ok((checked, unlogged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_whitespace() {
        let value = json!({"b": 1, "a": {"z": [true, null, "x"], "é": 1.5, "A": -2}});
        assert_eq!(
            String::from_utf8(canonical_json(&value)).unwrap(),
            r#"{"a":{"A":-2,"z":[true,null,"x"],"é":1.5},"b":1}"#
        );
    }

    #[test]
    fn the_message_is_the_format_line_and_the_digest() {
        let message = String::from_utf8(message(&json!({}))).unwrap();
        // SHA-256 of "{}".
        assert_eq!(message, "govdeck-evidence-v2\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        let (first, second) = message.split_once('\n').unwrap();
        assert_eq!(first, FORMAT);
        assert!(second.parse::<u64>().is_err(), "never readable as a checkpoint's seq line");
    }

    #[test]
    fn a_bundle_of_too_many_events_is_refused_with_the_limit() {
        let err = BuildError::TooManyEvents { found: MAX_EVENTS + 1, max: MAX_EVENTS };
        assert!(err.to_string().contains("50000"), "{err}");
    }
}
