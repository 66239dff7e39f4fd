//! `govdeck` (no subcommand) and `govdeck demo`: open the console. The
//! first frame comes from the cache; the runtime task syncs behind it.
//! Bare `govdeck` with no server configured says how to configure one and
//! suggests `govdeck demo`, exit 2, before the terminal is touched.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::WrapErr;
use tokio::sync::mpsc;

use super::client::context;
use super::demo::{DemoRole, DemoServer};
use super::{ClientArgs, UiArgs};
use crate::app::{App, UiSettings};
use crate::cache::Cache;
use crate::config::settings::{FileSettings, Token};
use crate::config::theme;
use crate::console::{SYNC_INTERVAL_SECS, load_first_page, run_runtime};
use crate::sync::client::Client;
use crate::sync::engine::Syncer;
use crate::tls::ClientTrust;

/// The console's SQLite page cache, in KiB (`govdeck sync` keeps 64 MiB).
const CONSOLE_PAGE_CACHE_KIB: i64 = 8192;

/// Everything the console needs to start.
struct Session<'a> {
    server: &'a str,
    token: &'a Token,
    cache_path: &'a Path,
    config_dir: Option<&'a Path>,
    settings: &'a FileSettings,
    /// `known_servers`, where the server's audit key is pinned (not for the
    /// demo, whose in-process server gets a new port every run).
    pins: Option<std::path::PathBuf>,
    /// Which certificates an https server may present.
    trust: ClientTrust,
}

async fn run(session: Session<'_>, ui: &UiArgs) -> color_eyre::Result<()> {
    let mut cache = Cache::open(session.cache_path)
        .wrap_err_with(|| format!("cannot open the cache {}", session.cache_path.display()))?;
    // A long-running console keeps its page cache small: what it shows is
    // decoded in memory already, and its periodic syncs write little.
    cache.conn().pragma_update(None, "cache_size", -CONSOLE_PAGE_CACHE_KIB)?;
    let data = cache.read(|conn| load_first_page(conn, session.server))?;
    let theme_name = ui.theme.as_deref().or(session.settings.theme.as_deref()).unwrap_or(theme::DEFAULT_THEME);
    let keymap_name =
        ui.keymap.as_deref().or(session.settings.keymap.as_deref()).unwrap_or(crate::config::keymap::DEFAULT_KEYMAP);
    let settings = UiSettings::load(theme_name, keymap_name, session.config_dir, theme::no_color_from_env());
    let app = App::new(data, settings, Utc::now());

    let client = Client::with_trust(session.server, session.token, &session.trust)?;
    let mut syncer = Syncer::new(client, Arc::new(Mutex::new(cache)));
    if let Some(pins) = session.pins.clone() {
        syncer = syncer.with_pins(pins);
    }
    let (effects_tx, effects_rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let interval = Duration::from_secs(session.settings.sync_interval_secs.unwrap_or(SYNC_INTERVAL_SECS).max(1));
    let runtime = tokio::spawn(run_runtime(syncer, effects_rx, events_tx, interval));
    let result = crate::tui::run(app, events_rx, effects_tx).await;
    runtime.abort();
    let _ = runtime.await;
    result?;
    Ok(())
}

fn tokio_runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// What bare `govdeck` says when no server is configured.
fn no_server_help(config_file: &Path) -> String {
    format!(
        "govdeck: no catalog server is configured, so the console has nothing to show.\n\
         Tell it which server to use, in any of these ways:\n  \
         govdeck --server https://catalog.example.com\n  \
         export GOVDECK_SERVER=https://catalog.example.com\n  \
         server = \"https://catalog.example.com\"   (a line in {})\n\
         and give it your token in GOVDECK_TOKEN or with --token-file.\n\
         To try govdeck without a server, run: govdeck demo",
        config_file.display()
    )
}

/// `govdeck`: the console against the configured server.
pub fn console(client: &ClientArgs, ui: &UiArgs) -> color_eyre::Result<ExitCode> {
    if client.server.is_none() {
        let dirs = crate::config::paths::from_env()?;
        let settings = crate::config::settings::load(&dirs.config)?;
        if settings.server.is_none() {
            eprintln!("{}", no_server_help(&dirs.config.join("config.toml")));
            return Ok(ExitCode::from(super::EXIT_USAGE));
        }
    }
    let ctx = context(client)?;
    let session = Session {
        server: &ctx.server,
        token: &ctx.token,
        cache_path: &ctx.cache_path,
        config_dir: Some(&ctx.dirs.config),
        settings: &ctx.settings,
        pins: Some(crate::config::pins::path(&ctx.dirs.config)),
        // Read before the terminal is taken over, so a bad file is a plain error.
        trust: ClientTrust::from_option(ctx.ca_file.as_deref())?,
    };
    tokio_runtime()?.block_on(run(session, ui))?;
    Ok(ExitCode::SUCCESS)
}

/// `govdeck demo`: the console against an in-process demo server.
pub fn demo(
    role: DemoRole,
    apps: Option<usize>,
    dir: Option<std::path::PathBuf>,
    ui: &UiArgs,
) -> color_eyre::Result<ExitCode> {
    let dirs = crate::config::paths::from_env().ok();
    let settings = dirs.as_ref().and_then(|dirs| crate::config::settings::load(&dirs.config).ok()).unwrap_or_default();
    let rt = tokio_runtime()?;
    rt.block_on(async {
        let server = DemoServer::start(role, apps, dir).await?;
        let cache_path = server.dir().join("cache.sqlite");
        let session = Session {
            server: &server.url,
            token: &server.token,
            cache_path: &cache_path,
            config_dir: dirs.as_ref().map(|dirs| dirs.config.as_path()),
            settings: &settings,
            pins: None,
            // The demo server is plain http on loopback.
            trust: ClientTrust::system(),
        };
        let result = run(session, ui).await;
        server.stop().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}
