//! `govdeck demo`: the catalog server in-process on a loopback port, over a
//! temporary database seeded with the demo catalog, and the console against
//! it over real HTTP as a chosen demo user. Everything lives in a temporary
//! directory that is removed on exit, unless `--dir` names one to keep; a
//! kept directory is reused on the next start (its tokens are kept in
//! `tokens.json`, mode 600, beside the database).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::eyre;
use tokio::sync::oneshot;

use crate::clock::{Clock, SystemClock};
use crate::config::settings::Token;
use crate::server::{self, ServerState};
use crate::store::Store;

/// Who the demo console runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoRole {
    /// riley, a security reviewer.
    Reviewer,
    /// pat, a platform lead.
    Lead,
    /// olive, an app owner.
    Owner,
    /// ada, an auditor: reads everything, decides nothing.
    Auditor,
}

impl DemoRole {
    pub fn user(self) -> &'static str {
        match self {
            DemoRole::Reviewer => "riley",
            DemoRole::Lead => "pat",
            DemoRole::Owner => "olive",
            DemoRole::Auditor => "ada",
        }
    }
}

/// Where the demo keeps its files.
enum DemoDir {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

/// A running demo server; dropping it stops the server (and removes a temporary directory).
pub struct DemoServer {
    pub url: String,
    pub token: Token,
    dir: DemoDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl DemoServer {
    /// Seeds a database in `keep` (or a temporary directory) and serves it on
    /// `127.0.0.1:0`, writing its URL to `server.url` beside it; `apps` asks
    /// for a catalog of that many apps (ten audit events each) instead of
    /// the demo's own.
    pub async fn start(role: DemoRole, apps: Option<usize>, keep: Option<PathBuf>) -> color_eyre::Result<DemoServer> {
        let dir = match keep {
            Some(path) => {
                std::fs::create_dir_all(&path)?;
                DemoDir::Kept(path)
            }
            None => DemoDir::Temporary(tempfile::Builder::new().prefix("govdeck-demo-").tempdir()?),
        };
        let root = match &dir {
            DemoDir::Temporary(temp) => temp.path().to_path_buf(),
            DemoDir::Kept(path) => path.clone(),
        };
        let db = root.join("catalog.sqlite");
        let tokens_file = root.join("tokens.json");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let now = clock.now();
        let db_path = db.clone();
        let tokens = tokio::task::spawn_blocking(move || -> color_eyre::Result<Vec<(String, String)>> {
            if tokens_file.exists() {
                let text = std::fs::read_to_string(&tokens_file)?;
                return Ok(serde_json::from_str(&text)?);
            }
            let mut store = Store::open(&db_path)?;
            if crate::store::apps::count(store.conn())? > 0 {
                color_eyre::eyre::bail!(
                    "{} holds a catalog but no demo tokens; use an empty directory",
                    db_path.display()
                );
            }
            let tokens = seed_catalog(&mut store, apps, now)?;
            write_private(&tokens_file, &serde_json::to_string_pretty(&tokens)?)?;
            Ok(tokens)
        })
        .await??;
        let token = tokens
            .into_iter()
            .find(|(user, _)| user == role.user())
            .map(|(_, token)| Token::new(token))
            .ok_or_else(|| eyre!("the demo catalog has no user {}", role.user()))?;

        let state = ServerState::open(&db, clock)?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        // Scripts (and the end-to-end test) find the demo server here.
        std::fs::write(root.join("server.url"), &url)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let every = Duration::from_secs(server::LIFECYCLE_INTERVAL_SECS);
        let task = tokio::spawn(server::serve(listener, state, every, shutdown));
        Ok(DemoServer { url, token, dir, stop: Some(stop), task: Some(task) })
    }

    /// The directory holding the demo's database, tokens and cache.
    pub fn dir(&self) -> &Path {
        match &self.dir {
            DemoDir::Temporary(temp) => temp.path(),
            DemoDir::Kept(path) => path,
        }
    }

    /// Stops the server and waits for it to finish its requests.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Seeds the demo catalog (or `apps` apps at scale) and its users; returns
/// each user's token.
fn seed_catalog(
    store: &mut Store,
    apps: Option<usize>,
    now: chrono::DateTime<chrono::Utc>,
) -> color_eyre::Result<Vec<(String, String)>> {
    match apps {
        None => Ok(crate::seed::seed_demo(store, now)?),
        Some(apps) => {
            let options = crate::seed::SeedOptions { apps, events: apps * 10, seed: crate::seed::DEMO_SEED, now };
            crate::seed::seed(store, &options)?;
            Ok(crate::seed::add_demo_users(store, now)?)
        }
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}
