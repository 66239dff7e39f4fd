//! `govdeck policy …`: the policy folder on this machine and the server's.
//! `apply DIR` checks the folder here first (every problem, exit 2, nothing
//! sent), then an admin's token PUTs it to the server, which checks it again
//! and makes it the one every later call is decided under; it prints the
//! previous and the new version and what changed. `--dry-run` reads the
//! server's active policy and prints what applying would change, sending
//! nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::client::{context, runtime};
use super::{ClientArgs, EXIT_AUTH, EXIT_ERROR, EXIT_USAGE};
use crate::domain::policy::change::{self, PolicyApplied};
use crate::domain::policy::{Bundle, Policy, PolicyProblem, short_version};
use crate::sanitize::sanitize;
use crate::sync::client::ClientError;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy folder and make it the server's active policy (admin).
    ///
    /// The folder (policy.toml and any NAME.rego) is checked here first; a policy with problems is not sent (exit
    /// 2). Prints the previous and the new version and each change.
    Apply {
        /// The policy folder.
        dir: PathBuf,
        /// Print what applying would change, without applying it.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub fn run(command: PolicyCommand, client: impl Fn(ClientArgs) -> ClientArgs) -> color_eyre::Result<ExitCode> {
    match command {
        PolicyCommand::Apply { dir, dry_run, client: inner } => apply(&client(inner), &dir, dry_run),
    }
}

fn say_problems(dir: &Path, problems: &[PolicyProblem]) -> ExitCode {
    eprintln!(
        "govdeck: the policy in {} has {} problem(s); nothing was sent:",
        sanitize(&dir.display().to_string()),
        problems.len()
    );
    for problem in problems {
        eprintln!("  {}", sanitize(&problem.to_string()));
    }
    ExitCode::from(EXIT_USAGE)
}

/// `govdeck policy apply DIR [--dry-run]`.
pub fn apply(args: &ClientArgs, dir: &Path, dry_run: bool) -> color_eyre::Result<ExitCode> {
    let bundle = match Bundle::read_dir(dir) {
        Ok(bundle) => bundle,
        Err(problem) => return Ok(say_problems(dir, &[problem])),
    };
    let policy = match Policy::from_bundle(bundle) {
        Ok(policy) => policy,
        Err(problems) => return Ok(say_problems(dir, &problems.0)),
    };
    let ctx = context(args)?;
    let client = ctx.client()?;
    let runtime = runtime()?;
    if dry_run {
        let active = match runtime.block_on(client.policy()) {
            Ok(active) => active,
            Err(err) => return Ok(refused(&err)),
        };
        let active = Policy::from_bundle(Bundle::new(active.files)).map_err(|problems| {
            color_eyre::eyre::eyre!("the server's active policy does not check here: {problems}")
        })?;
        let changes = change::changes(&active, &policy);
        print_outcome(
            &PolicyApplied {
                previous_version: active.version().to_string(),
                version: policy.version().to_string(),
                changed: active.version() != policy.version(),
                changes,
            },
            true,
        );
        return Ok(ExitCode::SUCCESS);
    }
    let body = serde_json::to_string(policy.bundle())?;
    let key = uuid::Uuid::new_v4().to_string();
    let posted = match runtime.block_on(client.put("/v1/policy", &body, &key)) {
        Ok(posted) => posted,
        Err(err) => return Ok(refused(&err)),
    };
    let applied: PolicyApplied = serde_json::from_str(&posted.body)?;
    print_outcome(&applied, false);
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(outcome: &PolicyApplied, dry_run: bool) {
    let (previous, new) = (short_version(&outcome.previous_version), short_version(&outcome.version));
    if !outcome.changed {
        outln!("policy {new} is already active; nothing changed");
        return;
    }
    let verb = if dry_run { "would change" } else { "applied" };
    outln!("policy {verb}: {previous} → {new}");
    if outcome.changes.is_empty() {
        outln!("  (the same rules; only comments or layout differ)");
    }
    for line in &outcome.changes {
        outln!("  {}", sanitize(line));
    }
    if dry_run {
        outln!("dry run: nothing was sent");
    }
}

/// The exit code of a call the server refused or could not answer.
fn refused(err: &ClientError) -> ExitCode {
    eprintln!("govdeck: the policy was not applied: {}", sanitize(&err.to_string()));
    ExitCode::from(match err {
        ClientError::Status { status: 401 | 403, .. } => EXIT_AUTH,
        ClientError::Status { status: 422, code, .. } if code == "invalid_policy" => EXIT_USAGE,
        _ => EXIT_ERROR,
    })
}
