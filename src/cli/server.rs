//! The server-side commands: `serve`, `users`, `seed` and `audit verify --db`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{EXIT_ERROR, EXIT_TAMPERED, SeedArgs, ServeArgs, UsersCommand};
use crate::clock::{Clock, SystemClock};
use crate::domain::checkpoint::PublicKey;
use crate::server::signing::{self, KeyFileError};
use crate::server::{self, ServerOptions, ServerState};
use crate::store::checkpoints::CheckpointReport;
use crate::store::{self, Store};

pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOVDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

pub fn serve(args: ServeArgs) -> color_eyre::Result<ExitCode> {
    init_logging("info");
    // Checked first: a bad certificate or key stops here, before the
    // database is opened or the port bound.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls::load(cert, key)?),
        _ => None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if args.demo {
        let mut store = Store::open(&args.db)?;
        if store::apps::count(store.conn())? == 0 {
            let tokens = crate::seed::seed_demo(&mut store, clock.now())?;
            outln!("demo catalog seeded into {}; demo users and their tokens:", args.db.display());
            for (user, token) in tokens {
                outln!("  {user:<12} {token}");
            }
        }
    }
    let options = ServerOptions { key_file: args.key_file.clone(), ..ServerOptions::default() };
    let state = ServerState::open_with(&args.db, clock, &options)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let every = Duration::from_secs(server::LIFECYCLE_INTERVAL_SECS);
        match tls {
            Some(tls) => {
                tracing::info!("govdeck catalog server listening on https://{}", listener.local_addr()?);
                server::serve_tls(listener, tls, state, every, shutdown_signal()).await?;
            }
            None => {
                tracing::info!("govdeck catalog server listening on http://{}", listener.local_addr()?);
                server::serve(listener, state, every, shutdown_signal()).await?;
            }
        }
        tracing::info!("stopped cleanly");
        color_eyre::Result::<()>::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn users(command: UsersCommand) -> color_eyre::Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        UsersCommand::Add { name, roles, db } => {
            let mut store = Store::open(&db)?;
            let token = store.write(|conn| store::users::add(conn, &name, &roles, now))?;
            outln!("{token}");
        }
        UsersCommand::List { db, no_headers } => {
            let store = Store::open(&db)?;
            let users = store::users::list(store.conn())?;
            if !no_headers {
                outln!("{:<24} {:<28} {:<28} STATUS", "NAME", "ROLES", "CREATED");
            }
            for user in users {
                let roles = user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                let status = user.revoked_at.map_or("active".to_string(), |at| format!("revoked {at}"));
                outln!("{:<24} {:<28} {:<28} {status}", user.name, roles, user.created_at);
            }
        }
        UsersCommand::Revoke { name, db } => {
            let mut store = Store::open(&db)?;
            if store.write(|conn| store::users::revoke(conn, &name, now))? {
                eprintln!("revoked {name}");
            } else {
                eprintln!("govdeck: no active user named {name:?}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn seed(args: SeedArgs) -> color_eyre::Result<ExitCode> {
    let mut store = Store::open(&args.db)?;
    let options =
        crate::seed::SeedOptions { apps: args.apps, events: args.events, seed: args.seed, now: SystemClock.now() };
    let report = crate::seed::seed(&mut store, &options)?;
    let secs = report.elapsed.as_secs_f64();
    outln!(
        "seeded {} apps, {} approval requests and {} audit events into {} in {secs:.1} s",
        report.apps,
        report.approvals,
        report.events,
        args.db.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `audit verify --db`: the hash chain, then the signed checkpoints, with
/// the keys of `key_files` (`<db>.key` when none is named).
pub fn verify_server_db(db: &Path, key_files: &[PathBuf]) -> color_eyre::Result<ExitCode> {
    if !db.exists() {
        color_eyre::eyre::bail!("{} does not exist", db.display());
    }
    let store = Store::open_read_only(db)?;
    let report = store::audit::verify(store.conn())?;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { report.verified as f64 / secs } else { 0.0 };
    let chain_ok = match &report.result {
        Ok(()) => {
            outln!(
                "audit chain ok: {} events verified in {secs:.2} s ({rate:.0} events/s); head seq {} {}",
                report.verified,
                report.head.seq,
                report.head.hash
            );
            true
        }
        Err(broken) => {
            outln!("audit chain BROKEN at seq {}: {broken}", broken.seq());
            outln!("{} events verified before it in {secs:.2} s", report.verified);
            false
        }
    };

    let default_key = signing::default_key_path(db);
    let (keys, source) = if key_files.is_empty() {
        match signing::read_public(&default_key) {
            Ok(key) => (vec![key], default_key.display().to_string()),
            Err(KeyFileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                (Vec::new(), format!("no key file at {} (pass --key-file)", default_key.display()))
            }
            Err(err) => return Err(err.into()),
        }
    } else {
        let keys = key_files.iter().map(|path| signing::read_public(path)).collect::<Result<Vec<_>, _>>()?;
        (keys, key_files.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "))
    };
    let checkpoints = store::checkpoints::verify(store.conn(), &keys, false)?;
    let every = store::checkpoints::every(store.conn())?;
    let checkpoints_ok = print_checkpoints(&checkpoints, &keys, &source, every);
    Ok(if chain_ok && checkpoints_ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_TAMPERED) })
}

/// Prints what checking the checkpoints found; `source` says where `keys`
/// came from (or why there are none). True when nothing is wrong.
pub(super) fn print_checkpoints(
    report: &CheckpointReport,
    keys: &[PublicKey],
    source: &str,
    every: Option<u64>,
) -> bool {
    if keys.is_empty() && report.checkpoints > 0 {
        outln!(
            "WARNING: {source}: checkpoint signatures NOT checked; only their (seq, hash) were compared with the chain"
        );
    }
    if let Err(broken) = &report.result {
        outln!("checkpoints BROKEN at seq {}: {broken}", broken.seq());
        return false;
    }
    let ids = keys.iter().map(|key| key.id()).collect::<Vec<_>>().join(", ");
    match &report.newest {
        None => outln!("checkpoints: none signed yet"),
        Some(newest) => outln!(
            "checkpoints ok: {} {} the chain{}; newest seq {} signed {}",
            report.checkpoints,
            if report.checkpoints == 1 { "checkpoint matches" } else { "checkpoints match" },
            if keys.is_empty() { String::new() } else { format!("; signatures valid for key {ids} ({source})") },
            newest.seq,
            crate::domain::audit::format_timestamp(newest.signed_at)
        ),
    }
    let tail = report.unsigned_tail();
    if tail > 0 {
        let from = report.chain_end - tail + 1;
        outln!(
            "note: the newest {tail} events (seq {from}-{}) are not covered by a signed checkpoint yet",
            report.chain_end
        );
        if let Some(every) = every.filter(|every| tail >= *every) {
            outln!(
                "WARNING: the server signs one every {every} events and hourly: checkpoints may have been deleted, \
                 or these events were written while it was not running (seed, import)"
            );
        }
    }
    true
}
