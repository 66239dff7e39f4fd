//! `govdeck import backstage` and `govdeck export`: the inventory in from a
//! Backstage catalog and back out as CSV or JSON, both straight on a server
//! database (`--db`), as `seed` and `users` work.
//!
//! Progress and warnings go to stderr; the summary, the dry run's planned
//! changes and the export go to stdout. Upstream text is sanitized before it
//! is printed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use color_eyre::eyre::{WrapErr, bail};

use super::{EXIT_AUTH, EXIT_ERROR};
use crate::clock::SystemClock;
use crate::config::settings;
use crate::import::export::{self, ExportError, Exported};
use crate::import::{self, ChangeKind, Options, Report, Summary};
use crate::sanitize::sanitize;
use crate::store::Store;
use crate::tls::ClientTrust;

/// Catalogs the inventory can be imported from.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import components from a Backstage software catalog into a server
    /// database, over http or https (trusting --ca-file when given). Re-running
    /// updates what changed, and resumes an interrupted sweep.
    Backstage(ImportBackstageArgs),
}

#[derive(Debug, Args)]
pub struct ImportBackstageArgs {
    /// Base URL of the Backstage backend, e.g. http://backstage.internal:7007
    /// or https://backstage.example.com.
    #[arg(long)]
    pub url: String,
    /// File holding the Backstage token (mode 600), sent to Backstage as
    /// `Authorization: Bearer` (not the catalog server's token).
    #[arg(long = "backstage-token-file", visible_alias = "token-file", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM bundle for an https
    /// Backstage (else GOVDECK_CA_FILE, else `ca_file` in config.toml, else
    /// the system's trust store).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Catalog filter sent to Backstage, e.g. `kind=component,spec.type=website`;
    /// repeat for OR. Only the kinds it names become apps. [default: kind=component]
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// The server database.
    #[arg(long, env = "GOVDECK_DB")]
    pub db: PathBuf,
    /// Print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Abandon an interrupted sweep and start again from the first page.
    #[arg(long)]
    pub restart: bool,
    /// Entities per page.
    #[arg(long, default_value_t = import::DEFAULT_PAGE_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(import::MAX_PAGE_LIMIT)))]
    pub page_size: u32,
    /// Print each create, update and orphan (a dry run always does).
    #[arg(long)]
    pub verbose: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// csv (RFC 4180, a header row) or json (an array of app objects).
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The server database.
    #[arg(long, env = "GOVDECK_DB")]
    pub db: PathBuf,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn summary_line(summary: &Summary) -> String {
    let skipped = if summary.skipped_by_kind.is_empty() {
        String::new()
    } else {
        let kinds: Vec<String> =
            summary.skipped_by_kind.iter().map(|(kind, n)| format!("{} {n}", sanitize(kind))).collect();
        format!(" ({})", kinds.join(", "))
    };
    format!(
        "{}created {}, updated {}, unchanged {}, orphaned {}, skipped {}{skipped}",
        if summary.dry_run { "would have " } else { "" },
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.orphaned,
        summary.skipped,
    )
}

/// The CA file for an https Backstage: `--ca-file` or GOVDECK_CA_FILE, else
/// `ca_file` in config.toml, as for the catalog server.
fn ca_file(flag: Option<PathBuf>) -> color_eyre::Result<Option<PathBuf>> {
    if let Some(path) =
        flag.or_else(|| std::env::var_os("GOVDECK_CA_FILE").filter(|v| !v.is_empty()).map(PathBuf::from))
    {
        return Ok(Some(path));
    }
    // No home directory to find config.toml in: no setting.
    let Ok(dirs) = crate::config::paths::from_env() else { return Ok(None) };
    Ok(settings::load(&dirs.config)?.ca_file)
}

/// `outer_ca_file`: a `--ca-file` given before the subcommand's name.
pub fn import_backstage(args: ImportBackstageArgs, outer_ca_file: Option<PathBuf>) -> color_eyre::Result<ExitCode> {
    let token = args.token_file.as_deref().map(settings::read_token_file).transpose()?;
    let trust = ClientTrust::from_option(ca_file(args.ca_file.clone().or(outer_ca_file))?.as_deref())?;
    let mut store = if !args.dry_run {
        Store::open(&args.db).wrap_err_with(|| format!("cannot open the server database {}", args.db.display()))?
    } else if args.db.exists() {
        Store::open_read_only(&args.db).wrap_err_with(|| format!("cannot open {}", args.db.display()))?
    } else {
        eprintln!("govdeck: {} does not exist yet; the dry run compares with an empty catalog", args.db.display());
        Store::open_in_memory()?
    };
    let options = Options {
        url: args.url.clone(),
        token,
        trust,
        filters: args.filters.clone(),
        page_limit: args.page_size,
        dry_run: args.dry_run,
        restart: args.restart,
    };
    let interactive = std::io::stderr().is_terminal();
    let print_changes = args.dry_run || args.verbose;
    let mut stdout = std::io::stdout().lock();
    let mut report = |report: Report<'_>| match report {
        Report::Resumed { sweep, pages } => {
            eprintln!("backstage: resuming sweep {sweep} after page {pages} (pass --restart to start over)");
        }
        Report::Restarted { reason } => {
            eprintln!("backstage: the stored cursor was refused ({reason}); starting a fresh sweep");
        }
        Report::Page { page, entities, total_items, summary } => {
            let total = total_items.map(|total| format!(" of {total}")).unwrap_or_default();
            let line = format!(
                "backstage: page {page}: {entities} entities ({}{total} so far); {}",
                summary.entities,
                summary_line(summary)
            );
            if interactive && !print_changes {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
        }
        Report::Change(change) => {
            if print_changes {
                let verb = match (args.dry_run, change.kind) {
                    (true, ChangeKind::Create) => "would create",
                    (true, ChangeKind::Update) => "would update",
                    (true, ChangeKind::Orphan) => "would orphan",
                    (false, kind) => kind.as_str(),
                };
                let id = change.app_id.as_deref().map(|id| format!(" {}", sanitize(id))).unwrap_or_default();
                let fields =
                    if change.fields.is_empty() { String::new() } else { format!(" ({})", change.fields.join(", ")) };
                let _ = writeln!(stdout, "{verb} {}{id}{fields}", sanitize(&change.key));
            }
        }
        Report::Warning(warning) => {
            if interactive && !print_changes {
                eprint!("\r\x1b[2K");
            }
            eprintln!("backstage: warning: {}", sanitize(&warning));
        }
    };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(import::run(&mut store, &SystemClock, &options, &mut report));
    if interactive && !print_changes {
        eprintln!();
    }
    match result {
        Ok(summary) => {
            if args.json {
                outln!("{}", serde_json::to_string(&summary)?);
            } else {
                outln!(
                    "{}import from {} ({}): {} pages, {} entities in {:.1} s; {}",
                    if summary.dry_run { "dry run: " } else { "" },
                    summary.instance,
                    sanitize(&summary.scope),
                    summary.pages,
                    summary.entities,
                    summary.elapsed.as_secs_f64(),
                    summary_line(&summary)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            let summary = &failure.summary;
            eprintln!("govdeck: import failed: {}", crate::errors::chain(&failure));
            if !args.dry_run && summary.pages > 0 {
                eprintln!(
                    "govdeck: the {} pages before it are written ({}); run the same command again to resume",
                    summary.pages,
                    summary_line(summary)
                );
            }
            Ok(ExitCode::from(if failure.is_auth() { EXIT_AUTH } else { EXIT_ERROR }))
        }
    }
}

pub fn export(args: ExportArgs) -> color_eyre::Result<ExitCode> {
    if !args.db.exists() {
        bail!("{} does not exist", args.db.display());
    }
    let mut store = Store::open_read_only(&args.db).wrap_err_with(|| format!("cannot open {}", args.db.display()))?;
    let format = args.format;
    let mut write = |out: &mut dyn Write| -> Result<Exported, ExportError> {
        let mut out = std::io::BufWriter::new(out);
        store.read(|conn| match format {
            ExportFormat::Csv => export::write_csv(conn, &mut out),
            ExportFormat::Json => export::write_json(conn, &mut out),
        })
    };
    let (exported, to_terminal) = match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path).wrap_err_with(|| format!("cannot create {}", path.display()))?;
            (write(&mut file)?, false)
        }
        None => {
            let to_terminal = std::io::stdout().is_terminal();
            match write(&mut std::io::stdout().lock()) {
                Ok(exported) => (exported, to_terminal),
                // A reader that stopped early (`| head -2`) did not want the
                // rest: the command ends quietly, as the others do.
                Err(err) if err.is_broken_pipe() => return Ok(ExitCode::SUCCESS),
                Err(err) => return Err(err.into()),
            }
        }
    };
    if exported.unsafe_cells > 0 {
        eprintln!(
            "govdeck: {} CSV cells hold control or bidi characters, written as they are (CSV keeps data faithful){}",
            exported.unsafe_cells,
            if to_terminal { "; do not read this export in a terminal" } else { "" }
        );
    }
    if let Some(path) = &args.output {
        eprintln!("exported {} apps to {}", exported.apps, path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// The wiring `cli/mod.rs` gives these commands, beside the global client flags.
    #[derive(Debug, Parser)]
    struct Wired {
        #[command(flatten)]
        client: super::super::ClientArgs,
        #[command(subcommand)]
        command: WiredCommand,
    }

    #[derive(Debug, clap::Subcommand)]
    enum WiredCommand {
        #[command(subcommand)]
        Import(ImportCommand),
        Export(ExportArgs),
    }

    #[test]
    fn the_commands_parse_beside_the_global_token_file() {
        Wired::command().debug_assert();
        let wired = Wired::try_parse_from([
            "govdeck",
            "import",
            "backstage",
            "--url",
            "http://b:7007",
            "--token-file",
            "/t",
            "--db",
            "g.db",
            "--filter",
            "kind=component",
            "--filter",
            "kind=resource",
            "--dry-run",
        ])
        .unwrap();
        let WiredCommand::Import(ImportCommand::Backstage(args)) = wired.command else { panic!("{wired:?}") };
        assert_eq!(args.token_file.as_deref(), Some(std::path::Path::new("/t")));
        assert_eq!(args.filters, ["kind=component", "kind=resource"]);
        assert_eq!(args.page_size, import::DEFAULT_PAGE_LIMIT);
        assert!(args.dry_run);
        let wired = Wired::try_parse_from(["govdeck", "export", "--format", "csv", "--db", "g.db"]).unwrap();
        assert!(matches!(wired.command, WiredCommand::Export(ExportArgs { format: ExportFormat::Csv, .. })));
        assert!(Wired::try_parse_from(["govdeck", "export", "--format", "xml", "--db", "g.db"]).is_err());
    }
}
