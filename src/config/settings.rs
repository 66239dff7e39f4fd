//! Settings: `config.toml` in the config directory, then environment and
//! flags on top; and the bearer token, from `GOVDECK_TOKEN` or a token file
//! that only its owner may read (as ssh insists for keys). The token is a
//! [`Token`], whose `Debug` and `Display` never show it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `config.toml`; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub server: Option<String>,
    pub token_file: Option<PathBuf>,
    /// A PEM bundle of the CA certificates to trust for an https server.
    pub ca_file: Option<PathBuf>,
    pub theme: Option<String>,
    pub keymap: Option<String>,
    pub sync_interval_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
}

pub fn parse(text: &str, path: &Path) -> Result<FileSettings, SettingsError> {
    toml::from_str(text)
        .map_err(|err| SettingsError::Parse { path: path.display().to_string(), message: err.to_string() })
}

/// Reads `config.toml` from `config_dir`; no file means default settings.
pub fn load(config_dir: &Path) -> Result<FileSettings, SettingsError> {
    let path = config_dir.join("config.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(FileSettings::default()),
        Err(source) => Err(SettingsError::Read { path: path.display().to_string(), source }),
    }
}

/// A bearer token. Printing it prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The secret itself, for the Authorization header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no token: set GOVDECK_TOKEN, pass --token-file, or put it in {default} (mode 600)")]
    Missing { default: String },
    #[error("cannot read the token file {path}")]
    Read { path: String, source: std::io::Error },
    #[error("the token file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error("the token file {path} is empty")]
    Empty { path: String },
}

/// Reads a token file, refusing one that group or others may read.
pub fn read_token_file(path: &Path) -> Result<Token, TokenError> {
    let display = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|source| TokenError::Read { path: display.clone(), source })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::TooOpen { path: display, mode });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read { path: display.clone(), source })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty { path: display });
    }
    Ok(Token::new(token))
}

/// The token: `GOVDECK_TOKEN` when set, else the token file named by flag or
/// settings, else `token` in the config directory.
pub fn resolve_token(
    env_token: Option<String>,
    token_file: Option<&Path>,
    config_dir: &Path,
) -> Result<Token, TokenError> {
    if let Some(token) = env_token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        return Ok(Token::new(token));
    }
    let default = config_dir.join("token");
    let path = token_file.unwrap_or(&default);
    if token_file.is_none() && !path.exists() {
        return Err(TokenError::Missing { default: default.display().to_string() });
    }
    read_token_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_unknown_keys_are_errors() {
        assert_eq!(parse("", Path::new("c.toml")).unwrap(), FileSettings::default());
        let err = parse("sever = \"x\"", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:"), "{err}");
        let settings = parse("server = \"http://127.0.0.1:1\"\ntheme = \"light\"", Path::new("c.toml")).unwrap();
        assert_eq!(settings.theme.as_deref(), Some("light"));
    }

    #[test]
    fn token_never_prints() {
        let token = Token::new("gd_supersecret");
        assert!(!format!("{token:?} {token}").contains("supersecret"));
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "gd_abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_token_file(&path).unwrap_err();
        assert!(matches!(err, TokenError::TooOpen { mode: 0o644, .. }), "{err}");
        assert!(!err.to_string().contains("gd_abc"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&path).unwrap().expose(), "gd_abc");
    }

    #[test]
    fn env_token_wins_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let token = resolve_token(Some("gd_env".into()), None, dir.path()).unwrap();
        assert_eq!(token.expose(), "gd_env");
        assert!(matches!(resolve_token(None, None, dir.path()), Err(TokenError::Missing { .. })));
    }
}
