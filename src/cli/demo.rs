//! `govdeck demo`: the catalog server in-process on a loopback port, over a
//! temporary database seeded with the demo catalog, and the console against
//! it over real HTTP as a chosen demo user. Everything lives in a temporary
//! directory that is removed on exit.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::eyre;
use tokio::sync::oneshot;

use crate::clock::{Clock, SystemClock};
use crate::config::settings::Token;
use crate::server::{self, ServerState};
use crate::store::{Store, users};

/// Who the demo console runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoRole {
    /// riley, a security reviewer.
    Reviewer,
    /// pat, a platform lead.
    Lead,
    /// olive, an app owner.
    Owner,
}

impl DemoRole {
    pub fn user(self) -> &'static str {
        match self {
            DemoRole::Reviewer => "riley",
            DemoRole::Lead => "pat",
            DemoRole::Owner => "olive",
        }
    }
}

/// A running demo server; dropping it stops the server and removes its files.
pub struct DemoServer {
    pub url: String,
    pub token: Token,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl DemoServer {
    /// Seeds a temporary database and serves it on `127.0.0.1:0`; `apps`
    /// asks for a catalog of that many apps (ten audit events each) instead
    /// of the demo's own.
    pub async fn start(role: DemoRole, apps: Option<usize>) -> color_eyre::Result<DemoServer> {
        let dir = tempfile::Builder::new().prefix("govdeck-demo-").tempdir()?;
        let db = dir.path().join("catalog.sqlite");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let now = clock.now();
        let db_path = db.clone();
        let tokens = tokio::task::spawn_blocking(move || -> color_eyre::Result<Vec<(String, String)>> {
            let mut store = Store::open(&db_path)?;
            match apps {
                None => Ok(crate::seed::seed_demo(&mut store, now)?),
                Some(apps) => {
                    let options = crate::seed::SeedOptions { apps, events: apps * 10, seed: 42, now };
                    crate::seed::seed(&mut store, &options)?;
                    let mut tokens = Vec::new();
                    for user in crate::seed::DEMO_USERS {
                        let token = store.write(|conn| users::add(conn, user.name, user.roles, now))?;
                        tokens.push((user.name.to_string(), token));
                    }
                    Ok(tokens)
                }
            }
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
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let every = Duration::from_secs(server::LIFECYCLE_INTERVAL_SECS);
        let task = tokio::spawn(server::serve(listener, state, every, shutdown));
        Ok(DemoServer { url, token, dir, stop: Some(stop), task: Some(task) })
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
