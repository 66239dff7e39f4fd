//! The command line: clap definitions and the dispatch to each layer.
//!
//! Exit codes: 0 success, 1 error, 2 usage error, 3 authentication or
//! permission error, 4 conflict (someone decided first, or the state forbids
//! it), 5 the action was queued offline, 6 the audit chain failed
//! verification, 7 the server's audit history was rewritten under the cache.

/// `println!` for the commands' output: a reader that stops early
/// (`govdeck audit verify | head -1`) ends the command quietly instead of
/// panicking on the broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}

mod audit_log;
mod client;
mod console;
mod demo;
mod import;
mod lookup;
mod server;
mod table;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::domain::{AppState, Role};

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_AUTH: u8 = 3;
pub const EXIT_CONFLICT: u8 = 4;
pub const EXIT_QUEUED: u8 = 5;
pub const EXIT_TAMPERED: u8 = 6;
pub const EXIT_HISTORY_REWRITTEN: u8 = 7;

/// The default address `govdeck serve` listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

#[derive(Debug, Parser)]
#[command(name = "govdeck", version, about = "Govern micro-apps: a terminal console and its catalog server")]
pub struct Cli {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How the console and the scriptable commands reach the server.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Catalog server URL (else GOVDECK_SERVER, else `server` in config.toml).
    #[arg(long, global = true, env = "GOVDECK_SERVER")]
    pub server: Option<String>,
    /// File holding the bearer token, mode 600 (GOVDECK_TOKEN wins when set).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM bundle for https:// servers
    /// (else GOVDECK_CA_FILE, else `ca_file` in config.toml, else the system's trust store).
    #[arg(long, global = true, env = "GOVDECK_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// How the console looks and which keys it takes.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Theme: dark, light, ansi16, or a file NAME.toml in the config's themes/ directory.
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// Keymap: default, vim, or a file NAME.toml in the config's keymaps/ directory.
    #[arg(long, global = true)]
    pub keymap: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console on a seeded demo catalog served in-process on a loopback port.
    Demo {
        /// Which demo user to be.
        #[arg(long = "as", value_enum, default_value = "reviewer")]
        role: demo::DemoRole,
        /// Seed this many apps (ten audit events each) instead of the demo catalog.
        #[arg(long)]
        apps: Option<usize>,
        /// Keep the demo's database and cache in DIR (created empty if missing; reused when it
        /// already holds a demo) instead of a temporary directory removed on exit.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run the catalog server (the system of record).
    Serve(ServeArgs),
    /// Manage the server's users and their bearer tokens.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Fill an empty server database with deterministic demo data at scale.
    Seed(SeedArgs),
    /// Bring the local cache up to date with the server (and send queued actions).
    Sync,
    /// List apps from the cache.
    Apps(AppsArgs),
    /// List pending approval requests from the cache.
    Approvals(TableArgs),
    /// Approve a request.
    ///
    /// High risk is decided by reviewers only and needs two different reviewers' approvals; medium risk needs one
    /// approval from a reviewer or a lead.
    Approve {
        /// Approval request id.
        id: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a request; a reason is required.
    Reject {
        /// Approval request id.
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Renew an app (by id or exact name).
    Renew {
        app: String,
        /// Days from now; the app's TTL class when absent.
        #[arg(long)]
        days: Option<i64>,
        /// Renew even if the new expiry is sooner than the current one (without it such a renewal is refused and
        /// nothing is sent).
        #[arg(long)]
        shorten: bool,
    },
    /// Show the audit log from the cache, or verify a chain.
    Audit(AuditArgs),
    /// Governance KPIs computed from the cache.
    Kpi(JsonArgs),
    /// Import the inventory from another catalog into a server database.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Write the inventory of a server database out as CSV or JSON.
    Export(import::ExportArgs),
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
    /// The key that signs audit checkpoints (created, mode 600, on first
    /// start); `<db>.key` beside the database when absent. Keep it apart from
    /// the database's backups.
    #[arg(long, env = "GOVDECK_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate (PEM: the server's certificate first,
    /// then any intermediates); needs --tls-key.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
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
        /// Leave out the header row (for scripts).
        #[arg(long)]
        no_headers: bool,
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

fn parse_state(text: &str) -> Result<AppState, String> {
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

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// JSON output (stable; see README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// JSON output (stable; see README).
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args)]
pub struct AppsArgs {
    /// Fuzzy filter over name, owner, team and purpose; best matches first.
    #[arg(long)]
    pub filter: Option<String>,
    #[arg(long, value_parser = parse_state)]
    pub state: Option<AppState>,
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only events of this app (its id or its exact name).
    #[arg(long)]
    pub app: Option<String>,
    /// At most this many events, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain end to end and the signed checkpoints, and name
    /// the first bad seq: of a server database with --db, else of the local
    /// cache (with the key pinned for its server).
    Verify {
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: the key file to check checkpoint signatures with
        /// (`<db>.key` when absent); repeat it for keys used before a rotation.
        /// A file with only `public_key = "HEX"` will do.
        #[arg(long = "key-file", requires = "db")]
        key_files: Vec<PathBuf>,
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
    let client = cli.client;
    let ui = cli.ui;
    match cli.command {
        None => console::console(&client, &ui),
        Some(Command::Demo { role, apps, dir }) => console::demo(role, apps, dir, &ui),
        Some(Command::Serve(args)) => server::serve(args),
        Some(Command::Users(command)) => server::users(command),
        Some(Command::Seed(args)) => server::seed(args),
        Some(Command::Audit(AuditArgs { command: Some(AuditCommand::Verify { db: Some(db), key_files }), .. })) => {
            server::verify_server_db(&db, &key_files)
        }
        Some(Command::Audit(AuditArgs { command: Some(AuditCommand::Verify { db: None, .. }), .. })) => {
            client::verify_cache(&client)
        }
        Some(Command::Audit(args)) => audit_log::audit(&client, &args),
        Some(Command::Sync) => client::sync(&client),
        Some(Command::Apps(args)) => client::apps(&client, &args),
        Some(Command::Approvals(args)) => client::approvals(&client, args.json, args.no_headers),
        Some(Command::Approve { id, comment }) => {
            client::decide(&client, &id, crate::domain::DecisionKind::Approve, &comment)
        }
        Some(Command::Reject { id, comment }) => {
            client::decide(&client, &id, crate::domain::DecisionKind::Reject, &comment)
        }
        Some(Command::Renew { app, days, shorten }) => client::renew(&client, &app, days, shorten),
        Some(Command::Kpi(args)) => client::kpi(&client, args.json),
        Some(Command::Import(import::ImportCommand::Backstage(args))) => import::import_backstage(args, &client),
        Some(Command::Export(args)) => import::export(args),
    }
}

/// Writes one line of output; see `outln!`.
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => panic!("cannot write to standard output: {err}"),
    }
}
