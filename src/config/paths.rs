//! Where govdeck keeps its files: the XDG config directory (settings,
//! themes, keymaps, token, pinned keys) and the XDG cache directory (one
//! database per server and user). `GOVDECK_CONFIG_DIR` and
//! `GOVDECK_CACHE_DIR` override them (tests and unusual setups).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub cache: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot tell where the home directory is; set GOVDECK_CONFIG_DIR and GOVDECK_CACHE_DIR")]
pub struct NoHome;

/// The directories, from the overrides when set, else the platform's XDG ones.
pub fn dirs(config_override: Option<PathBuf>, cache_override: Option<PathBuf>) -> Result<Dirs, NoHome> {
    let project = directories::ProjectDirs::from("", "", "govdeck");
    let config = config_override.or_else(|| project.as_ref().map(|p| p.config_dir().to_path_buf())).ok_or(NoHome)?;
    let cache = cache_override.or_else(|| project.as_ref().map(|p| p.cache_dir().to_path_buf())).ok_or(NoHome)?;
    Ok(Dirs { config, cache })
}

/// From the environment: `GOVDECK_CONFIG_DIR`, `GOVDECK_CACHE_DIR`, else XDG.
pub fn from_env() -> Result<Dirs, NoHome> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    dirs(var("GOVDECK_CONFIG_DIR"), var("GOVDECK_CACHE_DIR"))
}

/// The cache database for one server and one token (so one user): a
/// readable server part and a short hash that tells users apart without
/// putting the token in a file name.
pub fn cache_file(cache_dir: &Path, server_url: &str, token: &str) -> PathBuf {
    let server: String = server_url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .take(80)
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(server_url.trim_end_matches('/').as_bytes());
    hasher.update([0]);
    hasher.update(token.as_bytes());
    let user = hex::encode(&hasher.finalize()[..8]);
    cache_dir.join(format!("{server}-{user}.sqlite"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win() {
        let dirs = dirs(Some("/c".into()), Some("/k".into())).unwrap();
        assert_eq!(dirs, Dirs { config: "/c".into(), cache: "/k".into() });
    }

    #[test]
    fn one_cache_per_server_and_token_without_the_token_in_the_name() {
        let a = cache_file(Path::new("/k"), "http://127.0.0.1:8470", "gd_secret1");
        let b = cache_file(Path::new("/k"), "http://127.0.0.1:8470/", "gd_secret2");
        let c = cache_file(Path::new("/k"), "http://127.0.0.1:9000", "gd_secret1");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.to_string_lossy().starts_with("/k/127.0.0.1_8470-"));
        assert!(!a.to_string_lossy().contains("secret"));
    }
}
