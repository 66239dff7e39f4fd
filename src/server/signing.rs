//! The server's audit signing key and the checkpoints it signs.
//!
//! The key lives in a file outside the database (by default `<db>.key`
//! beside it), created on first start with mode 600 and refused when group
//! or others may read it, as ssh does. It is a small TOML file:
//!
//! ```toml
//! secret_key = "<64 hex: the ed25519 seed>"
//! public_key = "<64 hex>"
//! key_id = "<16 hex>"
//! ```
//!
//! A file with only `public_key` (for an auditor) serves `audit verify`.
//!
//! [`AuditSigner`] signs the audit head inside the write transaction that
//! made a checkpoint due, so the events and their checkpoint commit
//! together: when the head crossed a multiple of `every` since the newest
//! checkpoint; and, from the checkpoint job (run once as the server starts,
//! before it serves, then with the lifecycle job), when there is no
//! checkpoint yet, or the head moved and the newest is an hour old.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::domain::api::AuditHead;
use crate::domain::checkpoint::{self, Checkpoint, KeyError, PublicKey};
use crate::store::{Result, audit, checkpoints, merkle};

/// The server signs its head whenever it passes a multiple of this many events.
pub const CHECKPOINT_EVERY_EVENTS: u64 = 1000;
/// ... and, when the head moved, at least this often (checked by the background job).
pub const CHECKPOINT_INTERVAL_SECS: i64 = 3600;

/// The origin a server names its log by when `--origin` names none:
/// `<host name>/govdeck`.
pub fn default_origin() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length, which is passed.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let host = if status == 0 { String::from_utf8_lossy(&buffer[..end]).into_owned() } else { String::new() };
    checkpoint_origin(&host)
}

fn checkpoint_origin(host: &str) -> String {
    crate::domain::note::default_origin(host)
}

/// The key file of a database: `<db>.key` beside it.
pub fn default_key_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push(".key");
    db.with_file_name(name)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key file {path}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot create the key file {path}")]
    Write { path: String, source: std::io::Error },
    #[error("the key file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("the key file {path}: {source}")]
    Key { path: String, source: KeyError },
    #[error("the key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error("the key file {path} holds no secret_key; the server needs the secret key to sign")]
    NoSecret { path: String },
    #[error("the key file {path}: public_key does not belong to secret_key")]
    Mismatch { path: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    secret_key: Option<String>,
    public_key: Option<String>,
    key_id: Option<String>,
}

const HEADER: &str = "# govdeck audit checkpoint signing key (ed25519).\n\
# Keep it secret and apart from the database and its backups: whoever holds\n\
# it can sign a rewritten audit history. Clients pin the public key.\n";

fn parse_key_file(path: &Path) -> Result<KeyFile, KeyFileError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read { path: display.clone(), source })?;
    toml::from_str(&text).map_err(|err| KeyFileError::Parse { path: display, message: err.to_string() })
}

fn secret_from(file: &KeyFile, path: &Path) -> Result<SigningKey, KeyFileError> {
    let display = path.display().to_string();
    let secret = file.secret_key.as_deref().ok_or_else(|| KeyFileError::NoSecret { path: display.clone() })?;
    let seed: [u8; 32] =
        hex::decode(secret.trim()).ok().and_then(|bytes| bytes.try_into().ok()).ok_or(KeyFileError::Key {
            path: display.clone(),
            source: KeyError::BadHex { expected: 64, what: "secret key" },
        })?;
    let key = SigningKey::from_bytes(&seed);
    let public = PublicKey::of(&key);
    if file.public_key.as_deref().is_some_and(|stated| stated.trim() != public.to_hex())
        || file.key_id.as_deref().is_some_and(|stated| stated.trim() != public.id())
    {
        return Err(KeyFileError::Mismatch { path: display });
    }
    Ok(key)
}

/// Reads the signing key at `path`, creating it (mode 600) when there is no
/// file yet; also says whether it was created.
pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    let display = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(metadata) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyFileError::TooOpen { path: display, mode });
                }
            }
            #[cfg(not(unix))]
            let _ = metadata;
            Ok((secret_from(&parse_key_file(path)?, path)?, false))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => match create(path) {
            Ok(key) => Ok((key, true)),
            // Another process created it first: use theirs.
            Err(KeyFileError::Write { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((secret_from(&parse_key_file(path)?, path)?, false))
            }
            Err(err) => Err(err),
        },
        Err(source) => Err(KeyFileError::Read { path: display, source }),
    }
}

fn create(path: &Path) -> Result<SigningKey, KeyFileError> {
    let write_err = |source| KeyFileError::Write { path: path.display().to_string(), source };
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let public = PublicKey::of(&key);
    let file = KeyFile {
        secret_key: Some(hex::encode(key.to_bytes())),
        public_key: Some(public.to_hex()),
        key_id: Some(public.id().to_string()),
    };
    let body = toml::to_string(&file).map_err(|err| write_err(std::io::Error::other(err)))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(path).map_err(write_err)?;
    out.write_all(format!("{HEADER}{body}").as_bytes()).and_then(|()| out.sync_all()).map_err(write_err)?;
    Ok(key)
}

/// The public key of a key file (secret or public-only), for `audit verify`.
pub fn read_public(path: &Path) -> Result<PublicKey, KeyFileError> {
    let file = parse_key_file(path)?;
    if file.secret_key.is_some() {
        return Ok(PublicKey::of(&secret_from(&file, path)?));
    }
    let display = path.display().to_string();
    let public = file.public_key.as_deref().ok_or_else(|| KeyFileError::Parse {
        path: display.clone(),
        message: "it holds neither secret_key nor public_key".into(),
    })?;
    let key = PublicKey::from_hex(public).map_err(|source| KeyFileError::Key { path: display.clone(), source })?;
    if file.key_id.as_deref().is_some_and(|stated| stated.trim() != key.id()) {
        return Err(KeyFileError::Mismatch { path: display });
    }
    Ok(key)
}

/// Signs checkpoints of the audit head with the server's key.
pub struct AuditSigner {
    key: SigningKey,
    public: PublicKey,
    every: u64,
    clock: Arc<dyn Clock>,
    origin: String,
}

impl AuditSigner {
    /// A signer that checkpoints every `every` events (at least 1), as the
    /// log named `origin` (the first line and key name of its notes).
    pub fn new(key: SigningKey, every: u64, clock: Arc<dyn Clock>, origin: String) -> AuditSigner {
        let public = PublicKey::of(&key);
        AuditSigner { key, public, every: every.max(1), clock, origin }
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The log's origin: first line and key name of its checkpoint notes.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn every(&self) -> u64 {
        self.every
    }

    /// Run last in every write transaction: signs the head when it passed a
    /// multiple of `every` since this key's newest checkpoint.
    pub fn checkpoint_if_due(&self, conn: &Connection) -> Result<Option<Checkpoint>> {
        let head = audit::head(conn)?;
        let last = checkpoints::latest(conn, self.public.id())?;
        let last_seq = last.as_ref().map_or(0, |last| last.checkpoint.seq);
        if head.seq / self.every > last_seq / self.every {
            return self.sign_head(conn, head, last.map(|last| last.checkpoint));
        }
        Ok(None)
    }

    /// The checkpoint job: signs the head when this key has signed nothing
    /// yet (so events written while the server was not running, by a seed or
    /// an import, are signed as it starts), or when the head moved since its
    /// newest checkpoint and that one is an hour old.
    pub fn checkpoint_hourly(&self, conn: &Connection) -> Result<Option<Checkpoint>> {
        let head = audit::head(conn)?;
        let last = checkpoints::latest(conn, self.public.id())?.map(|last| last.checkpoint);
        let due = match &last {
            None => head.seq > 0,
            Some(last) => {
                head.seq > last.seq
                    && self.clock.now() - last.signed_at >= chrono::Duration::seconds(CHECKPOINT_INTERVAL_SECS)
            }
        };
        if due { self.sign_head(conn, head, last) } else { Ok(None) }
    }

    /// A signed tree head of this key at or after `seq`: the oldest stored
    /// one, else the head signed now (in the caller's transaction). `None`
    /// when the chain no longer holds what the newest checkpoint signed, or
    /// the Merkle tree does not hold every event (its backfill stopped).
    pub fn tree_head_covering(&self, conn: &Connection, seq: u64) -> Result<Option<Checkpoint>> {
        if let Some(stored) = checkpoints::first_tree_head_from(conn, self.public.id(), seq)? {
            return Ok(Some(stored));
        }
        let head = audit::head(conn)?;
        let last = checkpoints::latest(conn, self.public.id())?.map(|last| last.checkpoint);
        Ok(self.sign_head(conn, head, last)?.filter(|signed| signed.root().is_some()))
    }

    /// Signs an evidence bundle (its message: see [`crate::domain::evidence`]).
    pub fn sign_evidence(&self, message: &[u8]) -> String {
        hex::encode(self.key.sign(message).to_bytes())
    }

    /// Signs `head`, unless the chain no longer holds what the newest
    /// checkpoint signed: then the database was changed behind the server's
    /// back, and signing on would vouch for the change. That is logged and
    /// nothing is signed; `audit verify` names the seq.
    fn sign_head(&self, conn: &Connection, head: AuditHead, last: Option<Checkpoint>) -> Result<Option<Checkpoint>> {
        if let Some(last) = last {
            let at_last = checkpoints::chain_hash_at(conn, last.seq)?;
            if at_last.as_deref() != Some(last.hash.as_str()) {
                tracing::error!(
                    seq = last.seq,
                    "the audit chain no longer holds what checkpoint seq {} signed; not signing new checkpoints \
                     — run `govdeck audit verify --db` and investigate",
                    last.seq
                );
                return Ok(None);
            }
        }
        // A signed tree head when the Merkle tree holds every event; a
        // `govdeck-checkpoint-v1` one when its backfill stopped at a row it
        // could not read (the chain's break is then what `audit verify` names).
        let signed = if merkle::size(conn)? == head.seq {
            let root = merkle::root(conn, head.seq)?;
            checkpoint::sign_tree_head(&self.key, &self.origin, head.seq, &head.hash, &root, self.clock.now())
        } else {
            checkpoint::sign(&self.key, head.seq, &head.hash, self.clock.now())
        };
        checkpoints::insert(conn, &signed, self.public.id())?;
        Ok(Some(signed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_database() {
        assert_eq!(default_key_path(Path::new("/srv/govdeck.db")), Path::new("/srv/govdeck.db.key"));
    }

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let (first, created) = load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first.to_bytes(), again.to_bytes());
        assert_eq!(read_public(&path).unwrap(), PublicKey::of(&first));
        let public_only = dir.path().join("pub.key");
        std::fs::write(&public_only, format!("public_key = \"{}\"\n", PublicKey::of(&first).to_hex())).unwrap();
        assert_eq!(read_public(&public_only).unwrap(), PublicKey::of(&first));
        assert!(matches!(
            load_or_create(&public_only),
            Err(KeyFileError::TooOpen { .. } | KeyFileError::NoSecret { .. })
        ));
    }
}
