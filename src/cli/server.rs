//! The server-side commands: `serve`, `users` and `seed`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{EXIT_ERROR, SeedArgs, ServeArgs, UsersCommand};
use crate::clock::{Clock, SystemClock};
use crate::domain::audit::format_timestamp;
use crate::domain::token;
use crate::sanitize::sanitize;
use crate::server::{self, ServerOptions, ServerState};
use crate::store::admin::Admin;
use crate::store::{self, Store};

pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOVDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: a log file or a pipe gets plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
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
    let options =
        ServerOptions { key_file: args.key_file.clone(), origin: args.origin.clone(), ..ServerOptions::default() };
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

/// `govdeck users …` on the database file: every change is written with
/// its `user.*` audit event by `local-admin` ([`store::admin`]).
pub fn users(command: UsersCommand) -> color_eyre::Result<ExitCode> {
    let now = SystemClock.now();
    let admin = Admin::local();
    match command {
        UsersCommand::Add { name, roles, expires_in, db } => {
            let mut store = Store::open(&db)?;
            let expires_at = expires_in.map(|lifetime| now + lifetime);
            let token = store.write(|conn| store::admin::add_user(conn, &admin, &name, &roles, expires_at, now))?;
            outln!("{token}");
            if let Some(at) = expires_at {
                eprintln!("the token of {name} expires at {}", format_timestamp(at));
            }
        }
        UsersCommand::List { db, no_headers } => {
            let store = Store::open(&db)?;
            let users = store::users::list(store.conn())?;
            if !no_headers {
                outln!("{:<24} {:<28} {:<28} {:<28} STATUS", "NAME", "ROLES", "CREATED", "EXPIRES");
            }
            for user in users {
                let roles = user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                let expires = user.expires_at.map_or_else(|| "never".to_string(), format_timestamp);
                let status = match user.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None if token::is_expired(user.expires_at, now) => "expired".to_string(),
                    None => "active".to_string(),
                };
                outln!("{:<24} {:<28} {:<28} {expires:<28} {status}", user.name, roles, user.created_at);
            }
        }
        UsersCommand::Revoke { name, db } => {
            let mut store = Store::open(&db)?;
            if let Some(ownerless) = store.write(|conn| store::admin::revoke_user(conn, &admin, &name, now))? {
                eprintln!("revoked {name}");
                if !ownerless.is_empty() {
                    let listed: Vec<String> =
                        ownerless.iter().map(|app| format!("{} ({})", sanitize(&app.name), app.id)).collect();
                    let (apps, them) =
                        if ownerless.len() == 1 { ("live app now has", "it") } else { ("live apps now have", "them") };
                    outln!(
                        "{} {apps} no owner: {}; transfer {them} with `govdeck transfer APP --to USER --reason …`",
                        ownerless.len(),
                        listed.join(", ")
                    );
                }
            } else {
                eprintln!("govdeck: no active user named {name:?}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
        }
        UsersCommand::Rotate { name, expires_in, db } => {
            let mut store = Store::open(&db)?;
            let rotated = store.write(|conn| {
                let Some(user) = store::users::active(conn, &name)? else {
                    return Ok(None);
                };
                let lifetime = expires_in.or_else(|| token::carried_lifetime(user.token_issued_at, user.expires_at));
                let expires_at = lifetime.map(|lifetime| now + lifetime);
                let token = store::admin::rotate(conn, &admin, &name, expires_at, now)?;
                Ok::<_, store::StoreError>(Some((token, expires_at)))
            })?;
            let Some((token, expires_at)) = rotated else {
                eprintln!("govdeck: no active user named {name:?} (a revoked user gets a new token with `users add`)");
                return Ok(ExitCode::from(EXIT_ERROR));
            };
            outln!("{token}");
            match expires_at {
                Some(at) => eprintln!(
                    "the old token of {name} no longer works; the new one expires at {}",
                    format_timestamp(at)
                ),
                None => eprintln!("the old token of {name} no longer works; the new one does not expire"),
            }
        }
        UsersCommand::Roles { name, roles, db } => {
            let mut store = Store::open(&db)?;
            match store.write(|conn| store::admin::set_roles(conn, &admin, &name, &roles, now)) {
                Ok(()) => {
                    eprintln!("{name} now holds {}", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","))
                }
                Err(store::StoreError::NotFound { .. }) => {
                    eprintln!("govdeck: no active user named {name:?}");
                    return Ok(ExitCode::from(EXIT_ERROR));
                }
                Err(err) => return Err(err.into()),
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
    // As the demo does: one discovered app taken through review, by the
    // adoption call itself (its request and two events come on top).
    let at = crate::domain::audit::truncate_to_micros(options.now);
    let adopted = store.write(|conn| crate::seed::adopted::adopt_if_present(conn, at))?;
    let secs = report.elapsed.as_secs_f64();
    outln!(
        "seeded {} apps, {} approval requests and {} audit events into {} in {secs:.1} s{}",
        report.apps,
        report.approvals + usize::from(adopted),
        report.events + 2 * usize::from(adopted),
        args.db.display(),
        if adopted { " (with the adoption of a discovered app)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
