//! The command line: clap definitions and the dispatch to each layer.
//! Exit codes: 0 success, 1 error, 2 usage error, 3 authentication error,
//! 4 conflict (someone decided first, or the state forbids it), 5 the
//! action was queued offline, 6 the audit chain failed verification.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::domain::Role;
use crate::server::{self, ServerState};
use crate::store::{self, Store};

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_AUTH: u8 = 3;
pub const EXIT_CONFLICT: u8 = 4;
pub const EXIT_QUEUED: u8 = 5;
pub const EXIT_TAMPERED: u8 = 6;

/// The default address `govdeck serve` listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

#[derive(Debug, Parser)]
#[command(name = "govdeck", version, about = "Govern micro-apps: a terminal console and its catalog server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the catalog server (the system of record).
    Serve(ServeArgs),
    /// Manage the server's users and their bearer tokens.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Fill an empty server database with deterministic demo data at scale.
    Seed(SeedArgs),
    /// Read or verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server database (created on first start).
    #[arg(long, env = "GOVDECK_DB")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Seed the demo catalog and demo users on first start.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints its bearer token once, alone on stdout.
    Add {
        name: String,
        /// reviewer, lead, owner, ingest or admin; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
    /// List users, their roles and whether they are revoked.
    List {
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
    /// Revoke a user's token at once.
    Revoke {
        name: String,
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[arg(long, env = "GOVDECK_DB")]
    pub db: PathBuf,
    /// Number of apps.
    #[arg(long, default_value_t = 1000)]
    pub apps: usize,
    /// Number of audit events.
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Seed of the generator: the same seed gives the same catalog.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain end to end and name the first bad seq.
    Verify {
        /// A server database.
        #[arg(long)]
        db: PathBuf,
    },
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("govdeck: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn dispatch(cli: Cli) -> color_eyre::Result<ExitCode> {
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Users(command)) => users(command),
        Some(Command::Seed(args)) => seed(args),
        Some(Command::Audit(AuditCommand::Verify { db })) => verify_server_db(&db),
        None => {
            eprintln!("govdeck: the console is not built yet; see `govdeck --help`");
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOVDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
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

fn serve(args: ServeArgs) -> color_eyre::Result<ExitCode> {
    init_logging("info");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if args.demo {
        let mut store = Store::open(&args.db)?;
        if store::apps::count(store.conn())? == 0 {
            let tokens: Vec<(String, String)> = color_eyre::eyre::bail!("SEED-PENDING");
            println!("demo catalog seeded into {}; demo users and their tokens:", args.db.display());
            for (user, token) in tokens {
                println!("  {user:<12} {token}");
            }
        }
    }
    let state = ServerState::open(&args.db, clock)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        tracing::info!("govdeck catalog server listening on http://{}", listener.local_addr()?);
        server::serve(listener, state, Duration::from_secs(server::LIFECYCLE_INTERVAL_SECS), shutdown_signal()).await?;
        tracing::info!("stopped cleanly");
        color_eyre::Result::<()>::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn users(command: UsersCommand) -> color_eyre::Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        UsersCommand::Add { name, roles, db } => {
            let mut store = Store::open(&db)?;
            let token = store.write(|conn| store::users::add(conn, &name, &roles, now))?;
            println!("{token}");
        }
        UsersCommand::List { db } => {
            let store = Store::open(&db)?;
            let users = store::users::list(store.conn())?;
            println!("{:<24} {:<28} {:<28} STATUS", "NAME", "ROLES", "CREATED");
            for user in users {
                let roles = user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                let status = user.revoked_at.map_or("active".to_string(), |at| format!("revoked {at}"));
                println!("{:<24} {:<28} {:<28} {status}", user.name, roles, user.created_at);
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

fn seed(args: SeedArgs) -> color_eyre::Result<ExitCode> {
    let mut store = Store::open(&args.db)?;
    let _ = &mut store;
    let report: SeedReportPending = color_eyre::eyre::bail!("SEED-PENDING {}", args.seed);
    let secs = report.elapsed.as_secs_f64();
    println!(
        "seeded {} apps, {} approval requests and {} audit events into {} in {secs:.1} s",
        report.apps,
        report.approvals,
        report.events,
        args.db.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_server_db(db: &Path) -> color_eyre::Result<ExitCode> {
    if !db.exists() {
        color_eyre::eyre::bail!("{} does not exist", db.display());
    }
    let store = Store::open_read_only(db)?;
    let report = store::audit::verify(store.conn())?;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { report.verified as f64 / secs } else { 0.0 };
    match report.result {
        Ok(()) => {
            println!(
                "audit chain ok: {} events verified in {secs:.2} s ({rate:.0} events/s); head seq {} {}",
                report.verified, report.head.seq, report.head.hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!("audit chain BROKEN at seq {}: {broken}", broken.seq());
            println!("{} events verified before it in {secs:.2} s", report.verified);
            Ok(ExitCode::from(EXIT_TAMPERED))
        }
    }
}

struct SeedReportPending { elapsed: Duration, apps: usize, approvals: usize, events: usize }
