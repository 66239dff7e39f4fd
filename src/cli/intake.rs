//! `govdeck intake`: register an app from a manifest file (TOML or JSON, by
//! its extension), check one first (`--dry-run`), take a discovered app
//! through review (`--adopt APP`), or print the template (`--template`).
//!
//! Exit codes: 0 registered (or, for `--dry-run`, it would pass); 1 the
//! manifest has problems (every one printed, with its field and line, and
//! nothing sent), the file cannot be read, or a dry run cannot reach the
//! server (a dry run is not queued: it says so); 2 usage (no file, a file
//! whose extension is neither .toml nor .json); 3 the role or the owner
//! rule forbids it; 4 a conflict (the name is taken, the app to adopt is
//! not discovered); 5 queued offline, sent once on the next `govdeck sync`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::Args;

use super::client::{self, Context, cached_me, enqueue_and_send, open_cache, outcome_exit, print_json, runtime};
use super::lookup;
use super::{ClientArgs, EXIT_AUTH, EXIT_CONFLICT, EXIT_ERROR, UsageError};
use crate::cache::outbox::{self, ActionKind};
use crate::domain::intake::{self, IntakePreview};
use crate::domain::manifest_file::{self, Format, Problem};
use crate::domain::{AppState, Manifest};
use crate::sanitize::sanitize;
use crate::sync::client::ClientError;
use crate::sync::engine::ActionOutcome;

#[derive(Debug, Args)]
pub struct IntakeArgs {
    /// The manifest: a .toml or .json file (`govdeck intake --template` writes one to start from).
    #[arg(required_unless_present = "template")]
    pub file: Option<PathBuf>,
    /// Print a commented TOML template of every field with its allowed values, and exit.
    #[arg(long, conflicts_with_all = ["file", "dry_run", "adopt", "json"])]
    pub template: bool,
    /// Ask the server what would happen (risk score and breakdown, tier, review, every problem) without
    /// registering anything. Exit 0 when it would pass, 1 when it has problems.
    #[arg(long)]
    pub dry_run: bool,
    /// Take this discovered app (its id or exact name) through review under its own id, instead of registering a
    /// new app. Only its owner as imported, or a lead, may.
    #[arg(long, value_name = "APP")]
    pub adopt: Option<String>,
    /// JSON output: the server's answer (or the problems found in the file).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn intake(args: &ClientArgs, intake: &IntakeArgs) -> color_eyre::Result<ExitCode> {
    if intake.template {
        return client::print_out(&manifest_file::template(crate::domain::policy::Policy::builtin()));
    }
    let file = intake.file.as_ref().ok_or_else(|| UsageError("which manifest? `govdeck intake FILE`".into()))?;
    let format = Format::of_path(file).map_err(|err| UsageError(err.to_string()))?;
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("govdeck: cannot read {}: {err}; nothing was sent", file.display());
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let manifest = match manifest_file::parse(&text, format) {
        Ok(manifest) => manifest,
        Err(problems) => return report_problems(&file.display().to_string(), &problems, intake.json),
    };
    let ctx = client::context(args)?;
    let adopting = match &intake.adopt {
        None => None,
        Some(key) => match adoptable(&ctx, key)? {
            Ok(app) => Some(app),
            Err(code) => return Ok(code),
        },
    };
    let body = serde_json::to_value(&manifest)?;
    if intake.dry_run {
        return dry_run(&ctx, &manifest, adopting.as_ref().map(|(id, _)| id.as_str()), &body, intake.json);
    }
    let (kind, target, rev) = match &adopting {
        Some((id, rev)) => (ActionKind::Adopt, id.clone(), Some(*rev)),
        None => (ActionKind::Intake, outbox::intake_target(&manifest.name), None),
    };
    let (outcome, action_id) = match enqueue_and_send(&ctx, kind, &target, body, rev)? {
        Ok(sent) => sent,
        Err(code) => return Ok(code),
    };
    if intake.json
        && let ActionOutcome::Done(_) = &outcome
    {
        let cache = open_cache(&ctx)?;
        let answer = outbox::get(cache.conn(), action_id)?.response.unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&answer)?;
        return print_json(&value);
    }
    Ok(outcome_exit(outcome))
}

/// Prints every problem of a manifest (on stderr, or as JSON on stdout); exit 1.
fn report_problems(source: &str, problems: &[Problem], json: bool) -> color_eyre::Result<ExitCode> {
    if json {
        print_json(&serde_json::json!({"ok": false, "file": source, "problems": problems}))?;
    } else {
        let count = if problems.len() == 1 { "1 problem".to_string() } else { format!("{} problems", problems.len()) };
        eprintln!("govdeck: {source} has {count}; nothing was sent:");
        for problem in problems {
            eprintln!("  {}", sanitize(&problem.to_string()));
        }
    }
    Ok(ExitCode::from(EXIT_ERROR))
}

/// The id and rev of the discovered app `key` (its id or exact name) the
/// caller may adopt, from the cache; else the exit code, said on stderr.
fn adoptable(ctx: &Context, key: &str) -> color_eyre::Result<Result<(String, u64), ExitCode>> {
    let cache = open_cache(ctx)?;
    let state = lookup::sync_state(cache.conn())?;
    let app = match lookup::app_by_key(cache.conn(), key)? {
        lookup::Found::One(app) => app,
        _ => {
            let now = Utc::now();
            let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                Some((reason, code)) => (format!("no app {:?} yet: {reason}", sanitize(key)), code),
                None => (lookup::no_app(cache.conn(), key, &state, now)?, ExitCode::from(EXIT_ERROR)),
            };
            eprintln!("govdeck: {reason}");
            return Ok(Err(code));
        }
    };
    let me = cached_me(&cache)?;
    if let Err(refused) = intake::may_adopt(&app, &me) {
        eprintln!("govdeck: you may not adopt {}: {refused}; nothing was sent", sanitize(&app.name));
        let code = if app.state == AppState::Discovered { EXIT_AUTH } else { EXIT_CONFLICT };
        return Ok(Err(ExitCode::from(code)));
    }
    Ok(Ok((app.id.clone(), app.rev)))
}

/// `--dry-run`: the server's evaluation, printed; never queued.
fn dry_run(
    ctx: &Context,
    manifest: &Manifest,
    adopting: Option<&str>,
    body: &serde_json::Value,
    json: bool,
) -> color_eyre::Result<ExitCode> {
    let path = match adopting {
        Some(id) => format!("/v1/apps/{id}/adoption?dry_run=true"),
        None => "/v1/intake?dry_run=true".to_string(),
    };
    let client = ctx.client()?;
    let key = uuid::Uuid::new_v4().to_string();
    let answer = runtime()?.block_on(client.post(&path, &body.to_string(), &key));
    let posted = match answer {
        Ok(posted) => posted,
        Err(err @ (ClientError::Offline { .. } | ClientError::Tls { .. })) => {
            eprintln!(
                "govdeck: a dry run needs the server, and it cannot be reached: {}; nothing was sent or queued",
                sanitize(&err.to_string())
            );
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        Err(ClientError::Status { status, code, message, .. }) => {
            return Ok(outcome_exit(ActionOutcome::Refused { status, code, message }));
        }
        Err(err) => return Err(err.into()),
    };
    let preview: IntakePreview = serde_json::from_str(&posted.body)?;
    let code = if preview.valid { ExitCode::SUCCESS } else { ExitCode::from(EXIT_ERROR) };
    if json {
        print_json(&preview)?;
        return Ok(code);
    }
    // Line by line: sanitizing takes the line breaks out too.
    for line in preview_text(&manifest.name, &preview).lines() {
        outln!("{}", sanitize(line));
    }
    Ok(code)
}

/// The dry run's answer for people: score and breakdown, tier, review, problems.
pub fn preview_text(name: &str, preview: &IntakePreview) -> String {
    let mut lines = vec![format!("{name}: {}", if preview.valid { "would be accepted" } else { "would be refused" })];
    match preview.risk {
        Some(risk) => {
            let f = risk.factors;
            lines.push(format!(
                "risk score {} ({}): data {} + users {} + connectivity {} + environment {}",
                risk.score,
                risk.tier.as_str(),
                f.data,
                f.users,
                f.connectivity,
                f.environment
            ));
        }
        None => lines.push("risk score: cannot be worked out until the risk fields are fixed".into()),
    }
    if let Some(review) = &preview.review {
        lines.push(format!("review: {}", review.summary));
    }
    match preview.problems.len() {
        0 => lines.push("problems: none".into()),
        n => {
            lines.push(format!("{n} problem{}:", if n == 1 { "" } else { "s" }));
            lines.extend(preview.problems.iter().map(|problem| format!("  {problem}")));
        }
    }
    lines.join("\n")
}
