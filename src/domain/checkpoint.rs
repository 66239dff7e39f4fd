//! Signed checkpoints of the audit chain: the server signs the `(seq, hash)`
//! of its head with an Ed25519 key kept outside its database, so a chain
//! that was cut short or rewritten wholesale (every hash recomputed, the
//! head moved to match) no longer agrees with what the server once signed.
//!
//! The signed message is this exact byte string (UTF-8, `\n` separated, no
//! trailing newline):
//!
//! ```text
//! govdeck-checkpoint-v1
//! {seq}
//! {hash}
//! {signed_at}
//! ```
//!
//! where `seq` is decimal, `hash` the chain's lowercase hex SHA-256 at that
//! seq, and `signed_at` RFC 3339 UTC at microsecond precision with a `Z`
//! (as [`format_timestamp`] writes it, e.g. `2026-03-02T09:00:00.000000Z`).
//! A key is named by its id: the first 16 hex digits of SHA-256 of the
//! 32-byte public key.
//!
//! Pure: signing takes the key, checking takes the public key and what the
//! chain holds; no IO, no clock.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::audit::{format_timestamp, truncate_to_micros};
use super::merkle::Hash;
use super::note::{self, TreeHead};

/// The only algorithm there is, as `GET /v1/audit/key` names it.
pub const ALGORITHM: &str = "ed25519";
/// The first line of every signed message; a new format gets a new version.
pub const MESSAGE_VERSION: &str = "govdeck-checkpoint-v1";

/// A signed `(seq, hash)` of the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub seq: u64,
    /// The hash of the event at `seq`.
    pub hash: String,
    pub signed_at: DateTime<Utc>,
    /// Ed25519 signature of the checkpoint message, hex (128 digits); for a
    /// signed tree head, the signature of its note's body.
    pub signature: String,
    /// A signed tree head's Merkle tree size (always `seq`); absent on a
    /// `govdeck-checkpoint-v1` checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    /// The Merkle root of the first `tree_size` events, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_hash: Option<String>,
    /// The whole C2SP signed note (see `domain::note`), which the signature
    /// covers; what standard tools read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `GET /v1/audit/checkpoints`: checkpoints after `after`, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointPage {
    pub checkpoints: Vec<Checkpoint>,
    pub more: bool,
}

/// `GET /v1/audit/key`: the key the server signs checkpoints with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServerKey {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, hex.
    pub public_key: String,
    /// The first 16 hex digits of SHA-256 of the public key.
    pub key_id: String,
    /// The key name of the signed-note checkpoints: the log's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_key_name: Option<String>,
    /// The signed-note verifier key, `<name>+<hex key hash>+<base64(0x01 ‖ key)>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_vkey: Option<String>,
}

/// The message a checkpoint signs; see the module doc.
pub fn message(seq: u64, hash: &str, signed_at: DateTime<Utc>) -> Vec<u8> {
    format!("{MESSAGE_VERSION}\n{seq}\n{hash}\n{}", format_timestamp(signed_at)).into_bytes()
}

/// The id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

/// Signs `(seq, hash)` at `signed_at` (cut to the microsecond, so the
/// message survives a round trip through its text).
pub fn sign(key: &SigningKey, seq: u64, hash: &str, signed_at: DateTime<Utc>) -> Checkpoint {
    let signed_at = truncate_to_micros(signed_at);
    let signature = key.sign(&message(seq, hash, signed_at));
    Checkpoint {
        seq,
        hash: hash.to_string(),
        signed_at,
        signature: hex::encode(signature.to_bytes()),
        tree_size: None,
        root_hash: None,
        note: None,
    }
}

/// Signs a tree head: the Merkle `root` of the first `seq` events and the
/// chain's `hash` at `seq`, as a C2SP checkpoint note of `origin`.
pub fn sign_tree_head(
    key: &SigningKey,
    origin: &str,
    seq: u64,
    hash: &str,
    root: &Hash,
    signed_at: DateTime<Utc>,
) -> Checkpoint {
    let signed_at = truncate_to_micros(signed_at);
    let head =
        TreeHead { origin: origin.to_string(), tree_size: seq, root: *root, seq, hash: hash.to_string(), signed_at };
    let (note, signature) = note::sign(key, &head);
    Checkpoint {
        seq,
        hash: hash.to_string(),
        signed_at,
        signature: hex::encode(signature),
        tree_size: Some(seq),
        root_hash: Some(hex::encode(root)),
        note: Some(note),
    }
}

impl Checkpoint {
    /// The signed Merkle root, for a signed tree head.
    pub fn root(&self) -> Option<Hash> {
        super::merkle::hash_from_hex(self.root_hash.as_deref()?)
    }
}

/// A public key that checkpoints are checked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: String,
}

impl PublicKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPoint)?;
        Ok(PublicKey { key, id: key_id(bytes) })
    }

    /// From 64 hex digits.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(KeyError::BadHex { expected: 64, what: "public key" })?;
        PublicKey::from_bytes(&bytes)
    }

    /// From what `GET /v1/audit/key` answered, checking the algorithm and the id.
    pub fn from_wire(wire: &ServerKey) -> Result<PublicKey, KeyError> {
        if wire.algorithm != ALGORITHM {
            return Err(KeyError::Algorithm(wire.algorithm.clone()));
        }
        let key = PublicKey::from_hex(&wire.public_key)?;
        if key.id != wire.key_id {
            return Err(KeyError::IdMismatch { stated: wire.key_id.clone(), actual: key.id });
        }
        Ok(key)
    }

    pub fn of(signing: &SigningKey) -> PublicKey {
        let key = signing.verifying_key();
        PublicKey { id: key_id(key.as_bytes()), key }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    pub fn to_wire(&self) -> ServerKey {
        ServerKey {
            algorithm: ALGORITHM.into(),
            public_key: self.to_hex(),
            key_id: self.id.clone(),
            note_key_name: None,
            note_vkey: None,
        }
    }

    /// [`Self::to_wire`] with the signed-note key of `origin`.
    pub fn to_wire_for(&self, origin: &str) -> ServerKey {
        ServerKey {
            note_key_name: Some(origin.to_string()),
            note_vkey: Some(note::verifier_key(origin, self.key.as_bytes())),
            ..self.to_wire()
        }
    }

    /// Whether `signature` (128 hex digits) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = hex::decode(signature).ok().and_then(|bytes| <[u8; 64]>::try_from(bytes).ok()) else {
            return false;
        };
        self.key.verify_strict(message, &Signature::from_bytes(&bytes)).is_ok()
    }

    /// Checks the signature of `checkpoint` (not what it says about the chain).
    pub fn verify(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let bad = || CheckpointError::BadSignature { seq: checkpoint.seq, key_id: self.id.clone() };
        if let Some(text) = &checkpoint.note {
            // A signed tree head: the note is what is signed, and every
            // field beside it must say what the note says.
            let head = note::open(text, &self.key).map_err(|_| bad())?;
            let agrees = head.seq == checkpoint.seq
                && head.hash == checkpoint.hash
                && head.signed_at == checkpoint.signed_at
                && Some(head.tree_size) == checkpoint.tree_size
                && Some(head.root) == checkpoint.root()
                && hex::decode(&checkpoint.signature).ok().is_some_and(|sig| note_signature(text) == Some(sig));
            return if agrees { Ok(()) } else { Err(bad()) };
        }
        if checkpoint.tree_size.is_some() || checkpoint.root_hash.is_some() {
            // A tree head without its note vouches for nothing.
            return Err(bad());
        }
        let bytes: [u8; 64] =
            hex::decode(&checkpoint.signature).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(bad)?;
        let message = message(checkpoint.seq, &checkpoint.hash, checkpoint.signed_at);
        self.key.verify_strict(&message, &Signature::from_bytes(&bytes)).map_err(|_| bad())
    }
}

/// The raw signature of a note's first signature line.
fn note_signature(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let line = text.split_once("\n\n")?.1.lines().next()?;
    let blob = base64::engine::general_purpose::STANDARD.decode(line.rsplit_once(' ')?.1).ok()?;
    (blob.len() == 68).then(|| blob[4..].to_vec())
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the {what} is not {expected} hex digits")]
    BadHex { expected: usize, what: &'static str },
    #[error("the public key is not a valid ed25519 key")]
    NotAPoint,
    #[error("unsupported signature algorithm {0:?} (expected ed25519)")]
    Algorithm(String),
    #[error("the key id {stated} does not belong to the public key (its id is {actual})")]
    IdMismatch { stated: String, actual: String },
}

/// Where a checkpoint and the chain (or the key) disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoint at seq {seq}: the signature does not verify with key {key_id} (forged, altered, or signed by another key)"
    )]
    BadSignature { seq: u64, key_id: String },
    #[error(
        "checkpoint at seq {seq}: signed hash {signed:.16}… but the chain holds {chain:.16}… there (the chain was rewritten at or before seq {seq})"
    )]
    HashMismatch { seq: u64, signed: String, chain: String },
    #[error("checkpoint at seq {seq}: the chain has no event at seq {seq} (events were removed)")]
    Missing { seq: u64 },
    #[error("seq {first_missing}: the chain ends at seq {end} but seq {seq} was signed (the tail was cut)")]
    BeyondEnd { seq: u64, end: u64, first_missing: u64 },
    #[error("checkpoint at seq {seq} came after seq {previous} (checkpoints out of order)")]
    OutOfOrder { seq: u64, previous: u64 },
    #[error("checkpoint at seq {seq} is signed by key {key_id}, which is not a key given to check it with")]
    UnknownKey { seq: u64, key_id: String },
}

impl CheckpointError {
    /// The seq the problem is about (for a cut tail, the first missing one).
    pub fn seq(&self) -> u64 {
        match self {
            CheckpointError::BadSignature { seq, .. }
            | CheckpointError::HashMismatch { seq, .. }
            | CheckpointError::Missing { seq }
            | CheckpointError::OutOfOrder { seq, .. }
            | CheckpointError::UnknownKey { seq, .. } => *seq,
            CheckpointError::BeyondEnd { first_missing, .. } => *first_missing,
        }
    }
}

/// Compares a checkpoint with the chain: `chain_hash` is the hash of the
/// chain's event at the checkpoint's seq (`None` when there is none), and
/// `chain_end` the chain's last seq. `partial` is for an owner's cache,
/// which holds only some events: an event it does not hold, or one past its
/// end, is not evidence of anything.
pub fn check_against_chain(
    checkpoint: &Checkpoint,
    chain_hash: Option<&str>,
    chain_end: u64,
    partial: bool,
) -> Result<(), CheckpointError> {
    let seq = checkpoint.seq;
    match chain_hash {
        Some(hash) if hash == checkpoint.hash => Ok(()),
        Some(hash) => {
            Err(CheckpointError::HashMismatch { seq, signed: checkpoint.hash.clone(), chain: hash.to_string() })
        }
        None if partial => Ok(()),
        None if seq > chain_end => {
            Err(CheckpointError::BeyondEnd { seq, end: chain_end, first_missing: chain_end + 1 })
        }
        None => Err(CheckpointError::Missing { seq }),
    }
}

/// Checks one page of checkpoints as a client receives it: strictly
/// increasing seqs after `after`, each signed by `key`. Run on the whole
/// page before any of it is stored.
pub fn check_page(key: &PublicKey, after: u64, checkpoints: &[Checkpoint]) -> Result<(), CheckpointError> {
    let mut previous = after;
    for checkpoint in checkpoints {
        if checkpoint.seq <= previous {
            return Err(CheckpointError::OutOfOrder { seq: checkpoint.seq, previous });
        }
        key.verify(checkpoint)?;
        previous = checkpoint.seq;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789)
    }

    #[test]
    fn the_message_is_the_documented_byte_string() {
        let hash = "ab".repeat(32);
        let text = String::from_utf8(message(1000, &hash, truncate_to_micros(at()))).unwrap();
        assert_eq!(text, format!("govdeck-checkpoint-v1\n1000\n{hash}\n2026-03-02T09:00:00.123456Z"));
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_survives_json() {
        let signing = key(7);
        let public = PublicKey::of(&signing);
        let checkpoint = sign(&signing, 42, &"cd".repeat(32), at());
        assert_eq!(public.verify(&checkpoint), Ok(()));
        let back: Checkpoint = serde_json::from_str(&serde_json::to_string(&checkpoint).unwrap()).unwrap();
        assert_eq!(public.verify(&back), Ok(()));
        let wire: ServerKey = serde_json::from_str(&serde_json::to_string(&public.to_wire()).unwrap()).unwrap();
        assert_eq!(PublicKey::from_wire(&wire).unwrap(), public);
        assert_eq!(public.id().len(), 16);
    }

    #[test]
    fn any_change_or_another_key_fails_the_signature() {
        let signing = key(7);
        let checkpoint = sign(&signing, 42, &"cd".repeat(32), at());
        let public = PublicKey::of(&signing);
        for forged in [
            Checkpoint { seq: 43, ..checkpoint.clone() },
            Checkpoint { hash: "ce".repeat(32), ..checkpoint.clone() },
            Checkpoint { signed_at: checkpoint.signed_at + chrono::Duration::seconds(1), ..checkpoint.clone() },
            Checkpoint { signature: "00".repeat(64), ..checkpoint.clone() },
            Checkpoint { signature: "zz".into(), ..checkpoint.clone() },
        ] {
            assert!(matches!(public.verify(&forged), Err(CheckpointError::BadSignature { .. })), "{forged:?}");
        }
        let other = PublicKey::of(&key(8));
        assert!(matches!(other.verify(&checkpoint), Err(CheckpointError::BadSignature { seq: 42, .. })));
    }

    #[test]
    fn a_wire_key_with_the_wrong_id_or_algorithm_is_refused() {
        let mut wire = PublicKey::of(&key(1)).to_wire();
        wire.key_id = "0".repeat(16);
        assert!(matches!(PublicKey::from_wire(&wire), Err(KeyError::IdMismatch { .. })));
        let mut wire = PublicKey::of(&key(1)).to_wire();
        wire.algorithm = "rsa".into();
        assert!(matches!(PublicKey::from_wire(&wire), Err(KeyError::Algorithm(_))));
        assert!(PublicKey::from_hex("abc").is_err());
    }

    #[test]
    fn the_chain_must_agree_with_what_was_signed() {
        let checkpoint = sign(&key(3), 10, &"aa".repeat(32), at());
        let same = "aa".repeat(32);
        let other = "bb".repeat(32);
        assert_eq!(check_against_chain(&checkpoint, Some(&same), 12, false), Ok(()));
        assert!(matches!(
            check_against_chain(&checkpoint, Some(&other), 12, false),
            Err(CheckpointError::HashMismatch { seq: 10, .. })
        ));
        let cut = check_against_chain(&checkpoint, None, 7, false).unwrap_err();
        assert_eq!(cut, CheckpointError::BeyondEnd { seq: 10, end: 7, first_missing: 8 });
        assert_eq!(cut.seq(), 8);
        assert_eq!(check_against_chain(&checkpoint, None, 12, false), Err(CheckpointError::Missing { seq: 10 }));
        assert_eq!(check_against_chain(&checkpoint, None, 7, true), Ok(()), "an owner's cache holds only some");
    }

    #[test]
    fn a_page_must_be_ordered_and_signed() {
        let signing = key(5);
        let public = PublicKey::of(&signing);
        let page: Vec<Checkpoint> =
            [10, 20, 30].iter().map(|&seq| sign(&signing, seq, &"aa".repeat(32), at())).collect();
        assert_eq!(check_page(&public, 0, &page), Ok(()));
        assert!(matches!(check_page(&public, 10, &page), Err(CheckpointError::OutOfOrder { seq: 10, .. })));
        let mut forged = page.clone();
        forged[1].hash = "bb".repeat(32);
        assert!(matches!(check_page(&public, 0, &forged), Err(CheckpointError::BadSignature { seq: 20, .. })));
    }
}
