//! `known_servers` in the config directory: the audit signing key pinned for
//! each server, like ssh's `known_hosts`. The console and `govdeck sync`
//! pin a server's key the first time they see it; afterwards a different
//! key stops sync until the user deletes the server's line on purpose.
//!
//! One line per server: URL, algorithm, public key (hex), key id.
//!
//! ```text
//! http://127.0.0.1:8470 ed25519 3b6a27bc…(64 hex) 5f1c0a9e3d2b7a44
//! ```
//!
//! Blank lines and lines starting with `#` are ignored. Parsing is a pure
//! function over the text; [`load`] and [`add`] do the file IO.

use std::path::{Path, PathBuf};

use crate::domain::checkpoint::{ALGORITHM, PublicKey};

pub const FILE_NAME: &str = "known_servers";

const HEADER: &str = "# govdeck: the audit signing key pinned for each server (like ssh's known_hosts).\n\
# One line per server: URL, algorithm, public key (hex), key id. If a server's\n\
# key was replaced on purpose, delete its line and sync again to pin the new one.\n";

/// `known_servers` in `config_dir`.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// Servers are compared without a trailing `/`.
pub fn normalize(server: &str) -> &str {
    server.trim_end_matches('/')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub server: String,
    pub key: PublicKey,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    entries: Vec<Pin>,
}

impl Pins {
    /// The key pinned for `server`.
    pub fn get(&self, server: &str) -> Option<&PublicKey> {
        let server = normalize(server);
        self.entries.iter().find(|pin| pin.server == server).map(|pin| &pin.key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error("{path}:{line}: {message}")]
    Parse { path: String, line: usize, message: String },
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}")]
    Write { path: String, source: std::io::Error },
}

/// The line that pins `key` for `server`.
pub fn line(server: &str, key: &PublicKey) -> String {
    format!("{} {ALGORITHM} {} {}", normalize(server), key.to_hex(), key.id())
}

pub fn parse(text: &str, path: &Path) -> Result<Pins, PinsError> {
    let mut pins = Pins::default();
    for (index, raw) in text.lines().enumerate() {
        let error = |message: String| PinsError::Parse { path: path.display().to_string(), line: index + 1, message };
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        let [server, algorithm, public_key, rest @ ..] = fields.as_slice() else {
            return Err(error("expected `URL ed25519 PUBLIC_KEY_HEX [KEY_ID]`".into()));
        };
        if *algorithm != ALGORITHM {
            return Err(error(format!("unsupported algorithm {algorithm:?} (expected {ALGORITHM})")));
        }
        let key = PublicKey::from_hex(public_key).map_err(|err| error(err.to_string()))?;
        match rest {
            [] => {}
            [key_id] if *key_id == key.id() => {}
            [key_id] => {
                return Err(error(format!("key id {key_id} does not belong to the key (its id is {})", key.id())));
            }
            _ => return Err(error("too many fields".into())),
        }
        let server = normalize(server).to_string();
        if pins.get(&server).is_some() {
            return Err(error(format!("{server} is listed twice; keep one line per server")));
        }
        pins.entries.push(Pin { server, key });
    }
    Ok(pins)
}

/// Reads the pins; no file means none pinned yet.
pub fn load(path: &Path) -> Result<Pins, PinsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Pins::default()),
        Err(source) => Err(PinsError::Read { path: path.display().to_string(), source }),
    }
}

/// Pins `key` for `server`: appends its line (creating the file and its
/// directory when needed), written whole to a temporary file and renamed
/// over the old one, so a crash never leaves half a file.
pub fn add(path: &Path, server: &str, key: &PublicKey) -> Result<(), PinsError> {
    let write_err = |source| PinsError::Write { path: path.display().to_string(), source };
    let mut text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => HEADER.to_string(),
        Err(source) => return Err(PinsError::Read { path: path.display().to_string(), source }),
    };
    if parse(&text, path)?.get(server).is_some() {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line(server, key));
    text.push('\n');
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    std::fs::write(&temp, &text).map_err(write_err)?;
    std::fs::rename(&temp, path).map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        write_err(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(byte: u8) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&[byte; 32]))
    }

    #[test]
    fn lines_round_trip_and_trailing_slashes_do_not_matter() {
        let text = format!("# comment\n\n{}\n", line("http://a:1/", &key(1)));
        let pins = parse(&text, Path::new("known_servers")).unwrap();
        assert_eq!(pins.get("http://a:1"), Some(&key(1)));
        assert_eq!(pins.get("http://a:1/"), Some(&key(1)));
        assert_eq!(pins.get("http://b:1"), None);
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_line() {
        let wrong_id = format!("http://a:1 ed25519 {} 0000000000000000", key(1).to_hex());
        for text in ["http://a:1 ed25519", "http://a:1 rsa abcd", "http://a:1 ed25519 xyz", wrong_id.as_str()] {
            let err = parse(&format!("# c\n{text}\n"), Path::new("/c/known_servers")).unwrap_err().to_string();
            assert!(err.starts_with("/c/known_servers:2: "), "{err}");
        }
        let twice = format!("{}\n{}\n", line("http://a:1", &key(1)), line("http://a:1", &key(2)));
        assert!(parse(&twice, Path::new("k")).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn add_appends_once_and_keeps_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        add(&path, "http://a:1", &key(1)).unwrap();
        add(&path, "http://b:2/", &key(2)).unwrap();
        add(&path, "http://a:1", &key(3)).unwrap();
        let pins = load(&path).unwrap();
        assert_eq!(pins.len(), 2);
        assert_eq!(pins.get("http://a:1"), Some(&key(1)), "an existing pin is never replaced by add");
        assert_eq!(pins.get("http://b:2"), Some(&key(2)));
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("# govdeck"));
        assert!(load(&dir.path().join("none")).unwrap().is_empty());
    }
}
