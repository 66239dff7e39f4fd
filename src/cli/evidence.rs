//! `govdeck evidence APP`: one app's signed evidence bundle from the server
//! (`GET /v1/apps/{id}/evidence`), checked before it is written, as the JSON
//! file an auditor keeps or as a Markdown report to read and file; and
//! `govdeck evidence verify FILE`, which checks a bundle offline, with no
//! server and no cache ([`crate::domain::evidence::verify`]).
//!
//! The key a bundle is checked with: `--key` (64 hex digits, or a key file
//! as `audit verify --db --key-file` takes), else the key pinned for the
//! server in `known_servers` (when fetching), else the bundle's own key,
//! which proves the file is whole but not whose it is; the report says which.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::eyre::WrapErr;

use super::client::{context, open_cache};
use super::lookup::{self, Found};
use super::{ClientArgs, EXIT_AUTH, EXIT_ERROR, EXIT_TAMPERED};
use crate::config::pins;
use crate::domain::audit::format_timestamp;
use crate::domain::audit_query::TimeRange;
use crate::domain::checkpoint::PublicKey;
use crate::domain::evidence::{self, SignedBundle, Verified};
use crate::sanitize::sanitize;
use crate::sync::client::ClientError;

/// What `govdeck evidence` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvidenceFormat {
    /// The signed bundle, checkable with `govdeck evidence verify`.
    Json,
    /// A report for people (not checkable: keep the JSON beside it).
    Md,
}

/// `--key`: 64 hex digits, or a key file.
pub fn parse_key(text: &str) -> Result<PublicKey, String> {
    if let Ok(key) = PublicKey::from_hex(text) {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.exists() {
        return crate::server::signing::read_public(path).map_err(|err| err.to_string());
    }
    Err(format!("{text:?} is neither a public key (64 hex digits) nor a key file"))
}

pub fn fetch(
    args: &ClientArgs,
    app: &str,
    range: TimeRange,
    format: EvidenceFormat,
    output: Option<&Path>,
) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    // A name is looked up in the cache; anything else is asked as an id.
    let cache = open_cache(&ctx).ok();
    let looked_up = match &cache {
        Some(cache) => lookup::app_by_key(cache.conn(), app).ok(),
        None => None,
    };
    let (app_id, known) = match looked_up {
        Some(Found::One(found)) => (found.id, true),
        Some(Found::Several(_)) => {
            eprintln!("govdeck: several apps share the name {:?}; give the id of the one you mean", sanitize(app));
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        Some(Found::None) | None => (app.to_string(), false),
    };
    // What to say when the server knows no such id either: a name can only
    // be found in a cache that has synced.
    let never_synced = cache
        .as_ref()
        .and_then(|cache| lookup::sync_state(cache.conn()).ok())
        .is_none_or(|state| state.last_sync_at.is_none());
    let hint = match (known, never_synced) {
        (true, _) => "",
        (false, true) => {
            " (names are looked up in the cache, which has never synced: run `govdeck sync`, or give the app's id)"
        }
        (false, false) => " (no app of that name in the cache either)",
    };
    let client = ctx.client()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let bytes = match runtime.block_on(client.evidence_bytes(&app_id, &range)) {
        Ok(bytes) => bytes,
        Err(err) => {
            let said = match &err {
                ClientError::Status { status: 404, .. } => {
                    format!("no app {:?} is visible to you on {}{hint}", sanitize(app), sanitize(&ctx.server))
                }
                other => sanitize(&other.to_string()).into_owned(),
            };
            eprintln!("govdeck: {said}; nothing was written");
            return Ok(ExitCode::from(if matches!(err.status(), Some(401 | 403)) { EXIT_AUTH } else { EXIT_ERROR }));
        }
    };
    let pinned = pins::load(&pins::path(&ctx.dirs.config)).ok().and_then(|pins| pins.get(&ctx.server).cloned());
    let verified = match evidence::verify(&bytes, pinned.as_ref()) {
        Ok(verified) => verified,
        Err(err) => {
            eprintln!("govdeck: the server's bundle does not verify: {err}; nothing was written");
            return Ok(ExitCode::from(EXIT_TAMPERED));
        }
    };
    let text = match format {
        EvidenceFormat::Json => {
            let mut text = String::from_utf8(bytes).wrap_err("the bundle is not UTF-8")?;
            text.push('\n');
            text
        }
        EvidenceFormat::Md => {
            let signed: SignedBundle = serde_json::from_slice(&bytes)?;
            report(&signed, &verified)
        }
    };
    match output {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            eprintln!(
                "wrote the evidence of {} ({}): {}, {}, checkpoint seq {}, to {}",
                sanitize(&verified.app_name),
                sanitize(&verified.app_id),
                count(verified.events, "event"),
                count(verified.requests, "request"),
                verified.checkpoint_seq,
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => super::client::print_out(&text),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> color_eyre::Result<()> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|err| err.error).wrap_err_with(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn verify_file(file: &PathBuf, key: Option<&PublicKey>) -> color_eyre::Result<ExitCode> {
    let bytes = std::fs::read(file).wrap_err_with(|| format!("cannot read {}", file.display()))?;
    match evidence::verify(&bytes, key) {
        Ok(verified) => {
            outln!(
                "evidence ok: {} ({}), {} each proved in the signed tree of {} events, {}, {} checked against \
                 their audit events, checkpoint seq {}",
                sanitize(&verified.app_name),
                sanitize(&verified.app_id),
                count(verified.events, "event"),
                verified.tree_size,
                count(verified.requests, "request"),
                count(verified.decisions, "decision"),
                verified.checkpoint_seq
            );
            if verified.unlogged_decisions > 0 {
                outln!(
                    "{} from before the audit log began: the server's signature vouches for them, no event does",
                    count(verified.unlogged_decisions, "decision")
                );
            }
            if verified.key_given {
                outln!("signed by key {}, the key given", verified.key_id);
            } else {
                outln!(
                    "signed by key {}, the bundle's own: it is whole, but pass --key to check whose it is",
                    verified.key_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("evidence FAILED: {}: {err}", file.display());
            Ok(ExitCode::from(EXIT_TAMPERED))
        }
    }
}

/// `1 event`, `2 events`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// An enum's name on the wire (`new_app`, `approve`).
fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default()
}

/// The bundle as a Markdown report.
pub fn report(signed: &SignedBundle, verified: &Verified) -> String {
    let bundle = &signed.bundle;
    let app = &bundle.app;
    // Table cells: no pipe or newline may break a row.
    let cell = |text: &str| sanitize(text).replace('|', "\\|").replace('\n', " ");
    let time = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = String::new();
    let _ = writeln!(out, "# Evidence: {} ({})\n", cell(&app.name), cell(&app.id));
    let window = match (bundle.since, bundle.until) {
        (None, None) => "the whole history".to_string(),
        (Some(since), None) => format!("from {}", time(&since)),
        (None, Some(until)) => format!("before {}", time(&until)),
        (Some(since), Some(until)) => format!("from {} to before {}", time(&since), time(&until)),
    };
    let _ = writeln!(
        out,
        "Generated {} for {}; events {window}.\n",
        time(&bundle.generated_at),
        cell(&bundle.generated_for)
    );
    let _ = writeln!(out, "## The app\n");
    let _ = writeln!(out, "| field | value |\n|---|---|");
    let controls = serde_json::to_value(app.controls).map(|value| value.to_string()).unwrap_or_default();
    for (field, value) in [
        ("owner", app.owner.clone()),
        ("team", app.team.clone()),
        ("sponsor", app.sponsor.clone()),
        ("purpose", app.purpose.clone()),
        ("state", app.state.as_str().to_string()),
        ("data classification", app.data_classification.as_str().to_string()),
        ("expected users", app.expected_users.to_string()),
        ("risk", format!("{} ({})", app.risk.score, app.risk.tier.as_str())),
        ("connectors", app.connectors.join(", ")),
        ("endpoints", app.endpoints.join(", ")),
        ("controls", controls),
        ("registered", time(&app.created_at)),
        ("expires", app.expires_at.as_ref().map_or_else(|| "—".to_string(), time)),
    ] {
        let _ = writeln!(out, "| {field} | {} |", cell(&value));
    }
    let _ = writeln!(out, "\n## Approval requests\n");
    if bundle.requests.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for request in &bundle.requests {
        let _ = writeln!(
            out,
            "### {} — {} ({})\n\nFiled by {} on {}, risk {} at filing, reviewed under the {} rules, due {}.\n",
            cell(&request.id),
            wire(&request.kind),
            cell(request.status.as_str()),
            cell(&request.requested_by),
            time(&request.created_at),
            request.risk_score_at_time,
            request.review_tier.as_str(),
            time(&request.due_at),
        );
        if request.decisions.is_empty() {
            let _ = writeln!(out, "No decisions.\n");
            continue;
        }
        let _ = writeln!(out, "| when | who | role | decision | comment |\n|---|---|---|---|---|");
        for decision in &request.decisions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                time(&decision.at),
                cell(&decision.by),
                decision.role.as_str(),
                wire(&decision.decision),
                cell(&decision.comment)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Audit events ({})\n", bundle.events.len());
    let _ = writeln!(out, "| seq | when | actor | action | outcome |\n|---|---|---|---|---|");
    for event in &bundle.events {
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {} | {} |",
            event.seq,
            time(&event.timestamp),
            match event.reported_by_other() {
                Some(by) => format!("{}, reported by {}", cell(&event.actor_id), cell(by)),
                None => cell(&event.actor_id),
            },
            cell(&event.actor_role),
            cell(&event.action_type),
            event.outcome.as_str()
        );
    }
    let _ = writeln!(
        out,
        "\n## Integrity\n\nChecked when written: every event's hash, every event's inclusion proof in the signed \
         tree, every decision against its audit event, the checkpoint's signature and the server's signature over \
         the bundle, with key `{}` ({}).\n\n\
         Checkpoint: a signed tree head of {} events, root `{}`; the chain's hash at seq {} is `{}`; signed {}.\n\n\
         This report cannot be checked on its own: keep the JSON bundle (`govdeck evidence {} --format json`) \
         beside it and check that with `govdeck evidence verify FILE --key {}`.",
        verified.key_id,
        if verified.key_given { "the key pinned for the server" } else { "the bundle's own key" },
        verified.tree_size,
        bundle.checkpoint.root_hash.as_deref().unwrap_or_default(),
        bundle.checkpoint.seq,
        bundle.checkpoint.hash,
        format_timestamp(bundle.checkpoint.signed_at),
        cell(&app.id),
        bundle.key.public_key,
    );
    out
}
