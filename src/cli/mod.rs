//! The command line: clap definitions and the dispatch to each layer.
//!
//! Exit codes: 0 success, 1 error (also a sync that cannot reach the server
//! with nothing queued), 2 usage error (a bad flag, no server configured, a
//! server URL no client can use, a console option given to a command that
//! does not take it), 3 authentication or permission error (no token, an
//! unreadable token file, a token the server refused), 4 conflict (someone
//! decided first, or the state forbids it), 5 the action was queued offline
//! (or `sync` could not reach the server and actions are still queued), 6 the
//! audit chain failed verification, 7 the server's audit history was
//! rewritten under the cache.

/// `println!` for the commands' output: a reader that stops early
/// (`govdeck audit verify | head -1`) ends the command quietly instead of
/// panicking on the broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}

mod amend;
mod audit_export;
mod audit_log;
mod client;
mod console;
mod custody;
mod demo;
mod evidence;
mod hold;
mod import;
mod intake;
mod lookup;
mod policy;
mod server;
mod table;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::domain::{AppState, Role};
use crate::sync::client::ClientError;

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_AUTH: u8 = 3;
pub const EXIT_CONFLICT: u8 = 4;
pub const EXIT_QUEUED: u8 = 5;
pub const EXIT_TAMPERED: u8 = 6;
pub const EXIT_HISTORY_REWRITTEN: u8 = 7;

/// The default address `govdeck serve` listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

/// The command line. The options before a subcommand are the console's
/// (`govdeck --server URL`); a command that talks to the server takes the
/// same client options after its name too, and the later ones win. A
/// command never shows, nor accepts, an option it does not use.
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

/// How the console and the scriptable commands reach the server. The
/// environment is read in [`ClientArgs::with_env`], not by clap, so that a
/// flag before the subcommand is not overridden by the environment after it.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// Catalog server URL (else GOVDECK_SERVER, else `server` in config.toml).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// File holding the bearer token, mode 600 (GOVDECK_TOKEN wins when set).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM bundle for https:// servers
    /// (else GOVDECK_CA_FILE, else `ca_file` in config.toml, else the system's trust store).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

impl ClientArgs {
    /// These options, each one not given taken from `outer` (the options
    /// given before the subcommand's name).
    pub fn or(self, outer: ClientArgs) -> ClientArgs {
        ClientArgs {
            server: self.server.or(outer.server),
            token_file: self.token_file.or(outer.token_file),
            ca_file: self.ca_file.or(outer.ca_file),
        }
    }

    /// Fills what was not given on the command line from GOVDECK_SERVER and
    /// GOVDECK_CA_FILE (an empty variable counts as unset).
    pub fn with_env(self) -> ClientArgs {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        ClientArgs {
            server: self.server.or_else(|| var("GOVDECK_SERVER").map(|value| value.to_string_lossy().into_owned())),
            token_file: self.token_file,
            ca_file: self.ca_file.or_else(|| var("GOVDECK_CA_FILE").map(PathBuf::from)),
        }
    }

    fn given(&self) -> bool {
        self.server.is_some() || self.token_file.is_some() || self.ca_file.is_some()
    }
}

/// How the console looks and which keys it takes.
#[derive(Debug, Clone, Default, Args)]
pub struct UiArgs {
    /// Theme: dark, light, ansi16, or a file NAME.toml in the config's themes/ directory.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: default, vim, or a file NAME.toml in the config's keymaps/ directory.
    #[arg(long, value_name = "NAME")]
    pub keymap: Option<String>,
}

impl UiArgs {
    fn or(self, outer: UiArgs) -> UiArgs {
        UiArgs { theme: self.theme.or(outer.theme), keymap: self.keymap.or(outer.keymap) }
    }

    fn given(&self) -> bool {
        self.theme.is_some() || self.keymap.is_some()
    }
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
        #[command(flatten)]
        ui: UiArgs,
    },
    /// Run the catalog server (the system of record).
    Serve(ServeArgs),
    /// Manage the server's users and their bearer tokens.
    #[command(subcommand)]
    Users(UsersCommand),
    /// The governance policy: apply a policy folder to the server.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Fill an empty server database with deterministic demo data at scale.
    Seed(SeedArgs),
    /// Bring the local cache up to date with the server (and send queued actions).
    Sync(SyncArgs),
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
        /// A comment recorded with the approval (optional).
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Reject a request; a reason is required.
    Reject {
        /// Approval request id.
        id: String,
        /// The reason for the rejection (required), recorded with it and shown to the requester.
        #[arg(long, value_name = "REASON")]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Renew an app (by id or exact name).
    Renew {
        /// The app's id or exact name.
        app: String,
        /// Days from now; the app's TTL class when absent.
        #[arg(long)]
        days: Option<i64>,
        /// Renew even if the new expiry is sooner than the current one (without it such a renewal is refused and
        /// nothing is sent).
        #[arg(long)]
        shorten: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Register an app from a manifest file (TOML or JSON), check one with --dry-run, adopt a discovered app
    /// with --adopt, or print the template with --template.
    Intake(intake::IntakeArgs),
    /// Amend an app's manifest (by id or exact name): from a full manifest file (TOML, or JSON by its `.json`
    /// extension) diffed against the app, or field by field with `--set`.
    ///
    /// A change that neither raises the risk tier nor touches the data class, connectivity or execution
    /// environment applies at once; any other is held as a `change` request for review at the new tier.
    Amend {
        /// The app's id or exact name.
        app: String,
        /// A full manifest file; the fields that differ from the app are sent.
        file: Option<std::path::PathBuf>,
        /// `FIELD=VALUE`, e.g. `controls.sbom=true` or `expected_users=400` (lists comma-separated); repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Show what would change and whether it would apply at once; send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send a request back to its owner to change the manifest; a comment saying what is required.
    RequestChanges {
        /// Approval request id.
        id: String,
        /// What to change (required), recorded with the request and shown to the owner.
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Ask for an environment (production access) for an app: a request reviewed at the app's tier.
    #[command(name = "request-access")]
    RequestAccess {
        /// The app's id or exact name.
        app: String,
        /// The environment asked for.
        #[arg(long = "env", value_name = "ENV", default_value = "production")]
        environment: String,
        /// Why the app needs it (required), shown to the reviewers.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Quarantine a live app now (reviewer or lead): it stops at once, and only a reviewer can release it; the
    /// owner's renewal does not lift the hold.
    Quarantine {
        /// The app's id or exact name.
        app: String,
        /// Why (required), recorded on the hold and shown to the owner.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Release a held app (reviewer): it returns to the state its TTL gives it now.
    Release {
        /// The app's id or exact name.
        app: String,
        /// Why it may run again (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Withdraw a pending request you filed or that concerns your app.
    ///
    /// A withdrawn intake (`new_app`) request decommissions its pending app, which frees its name.
    Withdraw {
        /// Approval request id.
        id: String,
        /// Why it is withdrawn (optional), recorded in the audit event.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Move an app and its requests to another owner (lead or admin).
    Transfer {
        /// The app's id or exact name (an admin, who reads no catalog, gives its id).
        app: String,
        /// The new owner: an active user with the owner or lead role.
        #[arg(long, value_name = "USER")]
        to: String,
        /// Why the app moves (required), recorded in the audit event both owners see.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Retire an app early (its owner or a lead): it becomes decommissioned and its pending requests close.
    ///
    /// The exit checklist must be done: credentials revoked, data archived or deleted (per its retention days),
    /// dependents told. Answers not given as flags are asked in a terminal; from a pipe they are required.
    Retire {
        /// The app's id or exact name.
        app: String,
        /// Why (required), recorded in the `app.retire` event.
        #[arg(long)]
        reason: String,
        /// The app's credentials and secrets are revoked.
        #[arg(long)]
        credentials_revoked: bool,
        /// What was done with its data.
        #[arg(long, value_name = "archived|deleted", value_parser = parse_disposition)]
        data: Option<crate::domain::hold::DataDisposition>,
        /// Everyone who depends on the app was told.
        #[arg(long)]
        dependents_notified: bool,
        #[command(flatten)]
        client: ClientArgs,
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
    /// One app's signed evidence bundle from the server (its requests, decisions
    /// and audit events, with the checkpoint that covers them), or `evidence
    /// verify FILE` to check one offline.
    Evidence(EvidenceArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub command: Option<EvidenceCommand>,
    /// The app: its id or its exact name (names are looked up in the cache).
    #[arg(required = true)]
    pub app: Option<String>,
    /// Only events at or after this time: a date (2026-11-01, midnight UTC) or RFC 3339.
    #[arg(long, value_parser = audit_export::parse_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time (exclusive): a date or RFC 3339.
    #[arg(long, value_parser = audit_export::parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// json: the signed bundle (check it with `evidence verify`); md: a report for people.
    #[arg(long, value_enum, default_value = "json")]
    pub format: evidence::EvidenceFormat,
    /// Write to this file (renamed into place when complete) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check a bundle offline: every event's hash, every decision against its
    /// event, the checkpoint's and the bundle's signatures. Exit 6 naming what failed.
    Verify {
        /// The bundle (JSON) `govdeck evidence APP` wrote.
        file: PathBuf,
        /// The server's public key (64 hex digits, or a key file); without it the
        /// bundle is checked with its own key, which proves it whole but not whose.
        #[arg(long, value_parser = evidence::parse_key)]
        key: Option<crate::domain::checkpoint::PublicKey>,
    },
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
    /// The log's name in its signed checkpoints (the first line of each C2SP
    /// checkpoint note and the key name); `<host name>/govdeck` when absent.
    /// Keep it stable: clients and auditors check notes against it.
    #[arg(long, env = "GOVDECK_ORIGIN")]
    pub origin: Option<String>,
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
    /// Create a user; prints its bearer token once, alone on stdout. Recorded in the audit log (`user.add`).
    Add {
        /// The user's name: 1-64 letters, digits, '-', '_', '.' or '@'.
        name: String,
        /// A role the user holds; repeat, or separate with commas, for several (platform is held alone).
        #[arg(long = "role", visible_alias = "roles", required = true, value_delimiter = ',', value_parser = role_parser())]
        roles: Vec<Role>,
        /// The token stops working this long from now: a whole number and d, h or m (90d, 12h, 30m). Never, when absent.
        #[arg(long, value_name = "DURATION", value_parser = lifetime_parser)]
        expires_in: Option<chrono::Duration>,
        /// The server database.
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
    /// List users, their roles, whether they are revoked and when their tokens expire.
    List {
        /// The server database.
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
        /// Leave out the header row (for scripts).
        #[arg(long)]
        no_headers: bool,
    },
    /// Revoke a user's token at once. Recorded in the audit log (`user.revoke`).
    Revoke {
        /// The user whose token stops working.
        name: String,
        /// The server database.
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
    /// Issue a user a new token; the old one stops working at once. Prints the new token once, alone on stdout.
    /// Recorded in the audit log (`user.rotate`).
    Rotate {
        /// The user whose token is replaced.
        name: String,
        /// The new token stops working this long from now (90d, 12h, 30m). When absent it keeps the old token's
        /// lifetime, counted from now (never, if the old one never expired).
        #[arg(long, value_name = "DURATION", value_parser = lifetime_parser)]
        expires_in: Option<chrono::Duration>,
        /// The server database.
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
    /// Replace a user's roles (its token stays). Recorded in the audit log (`user.roles`).
    Roles {
        /// The user whose roles change.
        name: String,
        /// A role the user holds from now on; repeat, or separate with commas, for several.
        #[arg(long = "role", visible_alias = "roles", required = true, value_delimiter = ',', value_parser = role_parser())]
        roles: Vec<Role>,
        /// The server database.
        #[arg(long, env = "GOVDECK_DB")]
        db: PathBuf,
    },
}

/// `--expires-in`: see [`crate::domain::token::parse_lifetime`].
fn lifetime_parser(text: &str) -> Result<chrono::Duration, crate::domain::token::DurationError> {
    crate::domain::token::parse_lifetime(text)
}

/// `--role`: one of the role names, listed in the help and in the error.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::as_str)).try_map(|text| text.parse::<Role>())
}

/// `--state`: one of the lifecycle states, listed in the help and in the error.
fn state_parser() -> impl TypedValueParser<Value = AppState> {
    clap::builder::PossibleValuesParser::new(AppState::ALL.iter().map(|state| state.as_str()))
        .try_map(|text| text.parse::<AppState>())
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The server database (it must hold no apps yet).
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
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print a summary object on stdout: changes, events, sent, refused,
    /// queued, the audit head; on failure the error and what is still queued.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// JSON output (stable; see README).
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct AppsArgs {
    /// Fuzzy filter over name, owner, team and purpose; best matches first. fzf's extended syntax:
    /// terms separated by spaces must all match; `'exact`, `^prefix`, `suffix$`, `!not`, `a | b`.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only apps in this lifecycle state.
    #[arg(long, value_parser = state_parser())]
    pub state: Option<AppState>,
    /// Only apps of this owner (user name).
    #[arg(long)]
    pub owner: Option<String>,
    /// JSON output: the full app records (stable; see README).
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
    #[command(flatten)]
    pub client: ClientArgs,
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
    /// JSON output: the events (stable; see README).
    #[arg(long)]
    pub json: bool,
    /// Leave out the header row (for scripts).
    #[arg(long)]
    pub no_headers: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the events of a time window from the server, one JSON object per
    /// line, with a record of the signed checkpoint that covers the last one
    /// (`FILE.checkpoint.json` beside -o FILE), for a SIEM to ingest and an
    /// auditor to check later.
    Export {
        /// Events at or after this time: a date (2026-11-01, midnight UTC) or RFC 3339.
        #[arg(long, value_parser = audit_export::parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Events before this time (exclusive): a date or RFC 3339.
        #[arg(long, value_parser = audit_export::parse_time)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// jsonl: one event per line, exactly as the server sent it.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: audit_export::ExportFormat,
        /// Write the events to this file (renamed into place when complete) instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Where to write the checkpoint record; FILE.checkpoint.json beside -o FILE when absent.
        #[arg(long, value_name = "FILE")]
        checkpoint_file: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Check the hash chain end to end and the signed checkpoints, and name
    /// the first bad seq: of a server database with --db, else of the local
    /// cache (with the key pinned for its server).
    Verify {
        /// Verify this server database instead of the local cache.
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: the key file to check checkpoint signatures with
        /// (`<db>.key` when absent); repeat it for keys used before a rotation.
        /// A file with only `public_key = "HEX"` will do.
        #[arg(long = "key-file", requires = "db")]
        key_files: Vec<PathBuf>,
        /// Print the result as one JSON object: ok, events checked, where the
        /// chain breaks, what the checkpoints vouch for.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
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
            ExitCode::from(exit_code_of(&err))
        }
    }
}

/// A mistake in the command line or the settings (no server, say): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for a command that failed with `err`: 3 when the token is
/// missing or unusable, 2 for a usage error or a server URL no client could
/// use, else 1.
pub fn exit_code_of(err: &color_eyre::Report) -> u8 {
    for cause in err.chain() {
        if cause.is::<crate::config::settings::TokenError>() {
            return EXIT_AUTH;
        }
        if cause.is::<UsageError>()
            || matches!(cause.downcast_ref::<crate::sync::client::ClientError>(), Some(ClientError::BadUrl { .. }))
        {
            return EXIT_USAGE;
        }
    }
    EXIT_ERROR
}

impl Command {
    /// Which of the console's options (given before the subcommand) this
    /// command uses: (client options, ui options).
    fn uses_options(&self) -> (bool, bool) {
        match self {
            Command::Demo { .. } => (false, true),
            Command::Serve(_) | Command::Users(_) | Command::Seed(_) | Command::Export(_) => (false, false),
            Command::Evidence(EvidenceArgs { command: Some(EvidenceCommand::Verify { .. }), .. }) => (false, false),
            // Only --ca-file, for an https Backstage: see check_outer_options.
            Command::Import(_) => (false, false),
            Command::Audit(AuditArgs { command: Some(AuditCommand::Verify { db: Some(_), .. }), .. }) => (false, false),
            _ => (true, false),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Command::Demo { .. } => "demo",
            Command::Serve(_) => "serve",
            Command::Users(_) => "users",
            Command::Policy(_) => "policy",
            Command::Seed(_) => "seed",
            Command::Sync(_) => "sync",
            Command::Apps(_) => "apps",
            Command::Approvals(_) => "approvals",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::Renew { .. } => "renew",
            Command::Intake(_) => "intake",
            Command::Amend { .. } => "amend",
            Command::RequestChanges { .. } => "request-changes",
            Command::RequestAccess { .. } => "request-access",
            Command::Withdraw { .. } => "withdraw",
            Command::Transfer { .. } => "transfer",
            Command::Quarantine { .. } => "quarantine",
            Command::Release { .. } => "release",
            Command::Retire { .. } => "retire",
            Command::Audit(AuditArgs { command: Some(AuditCommand::Verify { db: Some(_), .. }), .. }) => {
                "audit verify --db"
            }
            Command::Audit(AuditArgs { command: Some(AuditCommand::Export { .. }), .. }) => "audit export",
            Command::Audit(_) => "audit",
            Command::Kpi(_) => "kpi",
            Command::Import(_) => "import",
            Command::Export(_) => "export",
            Command::Evidence(EvidenceArgs { command: Some(EvidenceCommand::Verify { .. }), .. }) => "evidence verify",
            Command::Evidence(_) => "evidence",
        }
    }
}

/// Refuses the console's options before a subcommand that does not use them
/// (`govdeck --theme light serve`), instead of ignoring them.
fn check_outer_options(client: &ClientArgs, ui: &UiArgs, command: &Command) -> Result<(), UsageError> {
    let (uses_client, uses_ui) = command.uses_options();
    let name = command.name();
    if ui.given() && !uses_ui {
        return Err(UsageError(format!("--theme and --keymap are for the console and `demo`, not `{name}`")));
    }
    let ca_only = matches!(command, Command::Import(_)) && client.server.is_none() && client.token_file.is_none();
    if client.given() && !uses_client && !ca_only {
        return Err(UsageError(format!(
            "--server, --token-file and --ca-file are for the console and the commands that talk to it, not `{name}`"
        )));
    }
    Ok(())
}

fn dispatch(cli: Cli) -> color_eyre::Result<ExitCode> {
    let outer = cli.client;
    let ui = cli.ui;
    let Some(command) = cli.command else { return console::console(&outer.with_env(), &ui) };
    check_outer_options(&outer, &ui, &command)?;
    // The client options given after the subcommand win over those before it.
    let client = |inner: ClientArgs| inner.or(outer.clone()).with_env();
    match command {
        Command::Demo { role, apps, dir, ui: inner } => console::demo(role, apps, dir, &inner.or(ui)),
        Command::Serve(args) => server::serve(args),
        Command::Users(command) => server::users(command),
        Command::Policy(command) => policy::run(command, client),
        Command::Seed(args) => server::seed(args),
        Command::Audit(AuditArgs {
            command: Some(AuditCommand::Verify { db: Some(db), key_files, json, client: after_verify }),
            client: after_audit,
            ..
        }) => {
            if after_verify.given() || after_audit.given() {
                return Err(UsageError(
                    "--server, --token-file and --ca-file are for verifying the cache; --db verifies a server \
                     database on its own"
                        .into(),
                )
                .into());
            }
            verify::verify_server_db(&db, &key_files, json)
        }
        Command::Audit(AuditArgs {
            command: Some(AuditCommand::Verify { db: None, json, client: after_verify, .. }),
            client: after_audit,
            ..
        }) => verify::verify_cache(&client(after_verify.or(after_audit)), json),
        Command::Audit(AuditArgs {
            command:
                Some(AuditCommand::Export { since, until, format: _, output, checkpoint_file, client: after_export }),
            client: after_audit,
            app,
            json,
            no_headers,
            ..
        }) => {
            if app.is_some() || json || no_headers {
                return Err(UsageError(
                    "--app, --json and --no-headers are for listing the cache's events, not `audit export`".into(),
                )
                .into());
            }
            let range =
                crate::domain::audit_query::TimeRange::new(since, until).map_err(|err| UsageError(format!("{err}")))?;
            let target = audit_export::Target { output, checkpoint_file };
            audit_export::export(&client(after_export.or(after_audit)), range, &target)
        }
        Command::Audit(args) => audit_log::audit(&client(args.client.clone()), &args),
        Command::Sync(args) => client::sync(&client(args.client), args.json),
        Command::Apps(args) => client::apps(&client(args.client.clone()), &args),
        Command::Approvals(args) => client::approvals(&client(args.client), args.json, args.no_headers),
        Command::Approve { id, comment, client: inner } => {
            client::decide(&client(inner), &id, crate::domain::DecisionKind::Approve, &comment)
        }
        Command::Reject { id, comment, client: inner } => {
            client::decide(&client(inner), &id, crate::domain::DecisionKind::Reject, &comment)
        }
        Command::Renew { app, days, shorten, client: inner } => client::renew(&client(inner), &app, days, shorten),
        Command::Intake(args) => intake::intake(&client(args.client.clone()), &args),
        Command::Amend { app, file, set, dry_run, client: inner } => {
            amend::amend(&client(inner), &app, file.as_deref(), &set, dry_run)
        }
        Command::RequestChanges { id, comment, client: inner } => {
            client::decide(&client(inner), &id, crate::domain::DecisionKind::RequestChanges, &comment)
        }
        Command::RequestAccess { app, environment, reason, client: inner } => {
            custody::request_access(&client(inner), &app, &environment, &reason)
        }
        Command::Withdraw { id, reason, client: inner } => custody::withdraw(&client(inner), &id, &reason),
        Command::Transfer { app, to, reason, client: inner } => custody::transfer(&client(inner), &app, &to, &reason),
        Command::Quarantine { app, reason, client: inner } => hold::quarantine(&client(inner), &app, &reason),
        Command::Release { app, reason, client: inner } => hold::release(&client(inner), &app, &reason),
        Command::Retire { app, reason, credentials_revoked, data, dependents_notified, client: inner } => {
            let flags = hold::ChecklistFlags { credentials_revoked, data, dependents_notified };
            hold::retire(&client(inner), &app, &reason, &flags)
        }
        Command::Kpi(args) => client::kpi(&client(args.client), args.json),
        Command::Import(import::ImportCommand::Backstage(args)) => import::import_backstage(args, outer.ca_file),
        Command::Export(args) => import::export(args),
        Command::Evidence(EvidenceArgs { command: Some(EvidenceCommand::Verify { file, key }), .. }) => {
            evidence::verify_file(&file, key.as_ref())
        }
        Command::Evidence(EvidenceArgs { command: None, app, since, until, format, output, client: inner }) => {
            let range =
                crate::domain::audit_query::TimeRange::new(since, until).map_err(|err| UsageError(format!("{err}")))?;
            let app = app.ok_or_else(|| UsageError("which app? `govdeck evidence APP`".into()))?;
            evidence::fetch(&client(inner), &app, range, format, output.as_deref())
        }
    }
}

fn parse_disposition(text: &str) -> Result<crate::domain::hold::DataDisposition, String> {
    text.parse()
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
