//! Checkpoints as signed tree heads in the C2SP `tlog-checkpoint` format: a
//! C2SP `signed-note` whose body is the log's origin, the tree size, the
//! base64 root hash, and then govdeck's extension lines, so standard
//! transparency-log tools read the first three lines and check the
//! signature:
//!
//! ```text
//! govdeck.example.org/govdeck
//! 1000
//! <base64 of the 32-byte Merkle root of the first 1000 events>
//! govdeck-chain 1000 <hex hash of the event at seq 1000>
//! govdeck-signed-at 2026-03-02T09:00:00.000000Z
//!
//! — govdeck.example.org/govdeck <base64(4-byte key hash ‖ 64-byte Ed25519 signature)>
//! ```
//!
//! Every line ends in `\n`; the signature covers the body up to and
//! including the newline of its last line (not the blank line). The key
//! name is the origin; the key hash is the first 4 bytes of
//! `SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)` (0x01 names
//! Ed25519), and the verifier key, as Go's `note` package reads it, is
//! `<name>+<8 hex of the key hash>+<base64(0x01 ‖ public key)>`.
//!
//! The chain head rides in an extension line so one signature covers both
//! the tree and the hash chain; tree size and chain seq are always equal.
//!
//! `base64` (the standard crate) writes the RFC 4648 §4 encoding the format
//! names. Pure: no IO, no clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::audit::format_timestamp;
use super::merkle::Hash;

/// The signature type byte C2SP signed-note gives Ed25519.
const ED25519_TYPE: u8 = 0x01;
/// The em dash (U+2014) and space that open a signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
const CHAIN_EXTENSION: &str = "govdeck-chain ";
const TIME_EXTENSION: &str = "govdeck-signed-at ";

/// What a checkpoint note says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub origin: String,
    pub tree_size: u64,
    pub root: Hash,
    /// The chain head: its seq (equal to `tree_size`) and hex hash.
    pub seq: u64,
    pub hash: String,
    pub signed_at: DateTime<Utc>,
}

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the note is not a signed note (body, blank line, signature lines): {0}")]
    Shape(&'static str),
    #[error("the checkpoint body is not origin, size, base64 root and govdeck's lines: {0}")]
    Body(&'static str),
    #[error("no signature line of the note is by the given key")]
    NoSignature,
    #[error("the note's signature does not verify")]
    BadSignature,
}

/// The 4-byte key hash of an Ed25519 key named `name`.
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ED25519_TYPE]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The verifier key text: `<name>+<hex key hash>+<base64(0x01 ‖ key)>`.
pub fn verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let mut typed = Vec::with_capacity(33);
    typed.push(ED25519_TYPE);
    typed.extend_from_slice(public_key);
    format!("{name}+{}+{}", hex::encode(key_hash(name, public_key)), BASE64.encode(typed))
}

/// The note body of `head` (every line ending in `\n`).
pub fn body(head: &TreeHead) -> String {
    format!(
        "{}\n{}\n{}\n{CHAIN_EXTENSION}{} {}\n{TIME_EXTENSION}{}\n",
        head.origin,
        head.tree_size,
        BASE64.encode(head.root),
        head.seq,
        head.hash,
        format_timestamp(head.signed_at)
    )
}

/// Signs `head` with `key` (named by the origin); returns the whole note
/// and the raw signature.
pub fn sign(key: &SigningKey, head: &TreeHead) -> (String, [u8; 64]) {
    let body = body(head);
    let signature = key.sign(body.as_bytes()).to_bytes();
    let mut blob = Vec::with_capacity(68);
    blob.extend_from_slice(&key_hash(&head.origin, key.verifying_key().as_bytes()));
    blob.extend_from_slice(&signature);
    let note = format!("{body}\n{SIGNATURE_PREFIX}{} {}\n", head.origin, BASE64.encode(blob));
    (note, signature)
}

fn parse_body(body: &str) -> Result<TreeHead, NoteError> {
    let mut lines = body.strip_suffix('\n').ok_or(NoteError::Body("no final newline"))?.split('\n');
    let origin = lines.next().filter(|line| !line.is_empty()).ok_or(NoteError::Body("no origin"))?;
    let size = lines.next().ok_or(NoteError::Body("no tree size"))?;
    // Decimal without a sign or leading zeros, as the format asks.
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
        return Err(NoteError::Body("the tree size is not a decimal number"));
    }
    let tree_size: u64 = size.parse().map_err(|_| NoteError::Body("the tree size is too large"))?;
    let root: Hash = BASE64
        .decode(lines.next().ok_or(NoteError::Body("no root hash"))?)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(NoteError::Body("the root hash is not 32 bytes of base64"))?;
    let (mut chain, mut signed_at) = (None, None);
    for line in lines {
        if line.is_empty() {
            return Err(NoteError::Body("an empty extension line"));
        }
        if let Some(rest) = line.strip_prefix(CHAIN_EXTENSION) {
            let (seq, hash) = rest.split_once(' ').ok_or(NoteError::Body("the chain line is not seq and hash"))?;
            let seq: u64 = seq.parse().map_err(|_| NoteError::Body("the chain seq is not a number"))?;
            if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(NoteError::Body("the chain hash is not 64 lower-case hex digits"));
            }
            chain = Some((seq, hash.to_string()));
        } else if let Some(rest) = line.strip_prefix(TIME_EXTENSION) {
            let at = DateTime::parse_from_rfc3339(rest).map_err(|_| NoteError::Body("the time is not RFC 3339"))?;
            signed_at = Some(at.to_utc());
        }
        // Other extension lines are carried, not read.
    }
    let (seq, hash) = chain.ok_or(NoteError::Body("no govdeck-chain line"))?;
    let signed_at = signed_at.ok_or(NoteError::Body("no govdeck-signed-at line"))?;
    Ok(TreeHead { origin: origin.to_string(), tree_size, root, seq, hash, signed_at })
}

/// Checks that `note` carries a signature by `key` over its body and reads
/// the body. A line by another key is skipped, as the format allows.
pub fn open(note: &str, key: &VerifyingKey) -> Result<TreeHead, NoteError> {
    let split = note.find("\n\n").ok_or(NoteError::Shape("no blank line"))?;
    let (body, signatures) = (&note[..split + 1], &note[split + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(NoteError::Shape("no signature line"));
    }
    for line in signatures.strip_suffix('\n').unwrap_or(signatures).split('\n') {
        let rest =
            line.strip_prefix(SIGNATURE_PREFIX).ok_or(NoteError::Shape("a signature line without the em dash"))?;
        let (name, blob) = rest.rsplit_once(' ').ok_or(NoteError::Shape("a signature line without a signature"))?;
        let Ok(blob) = BASE64.decode(blob) else { continue };
        if blob.len() != 68 || blob[..4] != key_hash(name, key.as_bytes()) {
            continue;
        }
        let signature: [u8; 64] = blob[4..].try_into().map_err(|_| NoteError::BadSignature)?;
        key.verify_strict(body.as_bytes(), &Signature::from_bytes(&signature)).map_err(|_| NoteError::BadSignature)?;
        let head = parse_body(body)?;
        if head.origin != name {
            // The key is named by the log's origin.
            return Err(NoteError::Body("the key name is not the origin"));
        }
        return Ok(head);
    }
    Err(NoteError::NoSignature)
}

/// `<host name>/govdeck`: the origin when `govdeck serve --origin` names none.
pub fn default_origin(host: &str) -> String {
    let host = host.trim();
    format!("{}/govdeck", if host.is_empty() { "localhost" } else { host })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn head() -> TreeHead {
        TreeHead {
            origin: "deck.example.org/govdeck".into(),
            tree_size: 1000,
            root: [7u8; 32],
            seq: 1000,
            hash: "ab".repeat(32),
            signed_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_note_is_the_documented_text() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let (note, _) = sign(&key, &head());
        let root = BASE64.encode([7u8; 32]);
        let lines: Vec<&str> = note.split('\n').collect();
        assert_eq!(
            &lines[..6],
            &[
                "deck.example.org/govdeck",
                "1000",
                root.as_str(),
                &format!("govdeck-chain 1000 {}", "ab".repeat(32)),
                "govdeck-signed-at 2026-03-02T09:00:00.000000Z",
                "",
            ]
        );
        assert!(lines[6].starts_with("\u{2014} deck.example.org/govdeck "));
        assert_eq!(lines[7], "", "the note ends in a newline");
        let blob = BASE64.decode(lines[6].rsplit_once(' ').unwrap().1).unwrap();
        assert_eq!(blob.len(), 68);
        assert_eq!(blob[..4], key_hash("deck.example.org/govdeck", key.verifying_key().as_bytes()));
        assert_eq!(open(&note, &key.verifying_key()), Ok(head()));
    }

    #[test]
    fn the_key_hash_follows_the_signed_note_rule() {
        // SHA-256("name" ‖ 0x0A ‖ 0x01 ‖ key), first 4 bytes, by hand.
        let key = [3u8; 32];
        let mut input = b"name\n\x01".to_vec();
        input.extend_from_slice(&key);
        let digest = Sha256::digest(&input);
        assert_eq!(key_hash("name", &key), [digest[0], digest[1], digest[2], digest[3]]);
        let vkey = verifier_key("name", &key);
        assert!(vkey.starts_with(&format!("name+{}+", hex::encode(&digest[..4]))), "{vkey}");
    }

    #[test]
    fn any_change_to_the_note_or_another_key_is_refused() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let (note, _) = sign(&key, &head());
        let other = SigningKey::from_bytes(&[10u8; 32]);
        assert_eq!(open(&note, &other.verifying_key()), Err(NoteError::NoSignature));
        for (from, to) in
            [("\n1000\n", "\n1001\n"), ("govdeck-chain 1000", "govdeck-chain 999"), ("09:00:00", "09:00:01")]
        {
            let forged = note.replacen(from, to, 1);
            assert_eq!(open(&forged, &key.verifying_key()), Err(NoteError::BadSignature), "{from} -> {to}");
        }
        assert!(open(note.trim_end(), &key.verifying_key()).is_err());
        assert!(open(&note.replace("\n\n", "\n"), &key.verifying_key()).is_err());
        assert!(open(&note.replace('\u{2014}', "-"), &key.verifying_key()).is_err());
        // A second signature line by someone else is skipped.
        let cosigned = format!("{note}\u{2014} witness.example AAAAAAAA\n");
        assert_eq!(open(&cosigned, &key.verifying_key()), Ok(head()));
    }

    #[test]
    fn the_origin_defaults_to_the_host_name() {
        assert_eq!(default_origin("deck01\n"), "deck01/govdeck");
        assert_eq!(default_origin(""), "localhost/govdeck");
    }
}
