//! The scriptable commands over the local cache: `sync`, `apps`,
//! `approvals`, `approve`, `reject`, `renew`, `audit`, `audit verify`.
//! They share the cache, the outbox and the sync engine with the console.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{WrapErr, eyre};

use super::table::{Column, Table, render};
use super::{
    AppsArgs, AuditArgs, ClientArgs, EXIT_AUTH, EXIT_CONFLICT, EXIT_ERROR, EXIT_HISTORY_REWRITTEN, EXIT_QUEUED,
    EXIT_TAMPERED, EXIT_USAGE,
};
use crate::cache::outbox::{self, ActionKind};
use crate::cache::{self, Cache, CacheError, audit, catalog, checkpoints};
use crate::config::paths::{self, Dirs};
use crate::config::pins;
use crate::config::settings::{self, FileSettings, Token};
use crate::domain::api::Me;
use crate::domain::approval::{self, MAX_COMMENT_CHARS};
use crate::domain::{Actor, App, AppState, ApprovalStatus, DataClass, DecisionKind, Tier};
use crate::sanitize::{escape_json, sanitize};
use crate::search::{self, IndexBuilder};
use crate::sync::client::Client;
use crate::sync::engine::{ActionOutcome, Progress, SyncError, Syncer};
use crate::tls::ClientTrust;

/// Everything a client command needs, resolved once.
pub struct Context {
    pub server: String,
    pub token: Token,
    pub cache_path: PathBuf,
    pub dirs: Dirs,
    pub settings: FileSettings,
    /// `--ca-file`, GOVDECK_CA_FILE or `ca_file` in config.toml; read when
    /// a command talks to the server.
    pub ca_file: Option<PathBuf>,
}

pub fn context(args: &ClientArgs) -> color_eyre::Result<Context> {
    let dirs = paths::from_env()?;
    let settings = settings::load(&dirs.config)?;
    let server = args.server.clone().or_else(|| settings.server.clone()).ok_or_else(|| {
        eyre!(
            "no server: pass --server URL, set GOVDECK_SERVER, or put `server = \"URL\"` in {}",
            dirs.config.join("config.toml").display()
        )
    })?;
    let token_file = args.token_file.clone().or_else(|| settings.token_file.clone());
    let token = settings::resolve_token(std::env::var("GOVDECK_TOKEN").ok(), token_file.as_deref(), &dirs.config)?;
    let cache_path = paths::cache_file(&dirs.cache, &server, token.expose());
    let ca_file = args.ca_file.clone().or_else(|| settings.ca_file.clone());
    Ok(Context { server, token, cache_path, dirs, settings, ca_file })
}

impl Context {
    /// The server's client, with the trust settings (the CA file read now).
    pub fn client(&self) -> color_eyre::Result<Client> {
        let trust = ClientTrust::from_option(self.ca_file.as_deref())?;
        Ok(Client::with_trust(&self.server, &self.token, &trust)?)
    }
}

fn open_cache(ctx: &Context) -> color_eyre::Result<Cache> {
    Cache::open(&ctx.cache_path).wrap_err_with(|| format!("cannot open the cache {}", ctx.cache_path.display()))
}

fn syncer(ctx: &Context) -> color_eyre::Result<Syncer> {
    let client = ctx.client()?;
    Ok(Syncer::new(client, Arc::new(Mutex::new(open_cache(ctx)?))).with_pins(pins::path(&ctx.dirs.config)))
}

fn runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// The exit code for a sync that failed.
fn sync_failure(err: &SyncError) -> ExitCode {
    // The message may quote the server's own words: untrusted text.
    eprintln!("govdeck: sync failed: {}", sanitize(&err.to_string()));
    ExitCode::from(match err {
        SyncError::History(_) | SyncError::KeyChanged { .. } | SyncError::Checkpoint(_) => EXIT_HISTORY_REWRITTEN,
        SyncError::Client(client) if matches!(client.status(), Some(401 | 403)) => EXIT_AUTH,
        _ => EXIT_ERROR,
    })
}

pub fn sync(args: &ClientArgs) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let syncer = syncer(&ctx)?;
    let interactive = std::io::stderr().is_terminal();
    let show = move |p: Progress| {
        if interactive {
            let total = p.total.map(|t| format!("/{t}")).unwrap_or_default();
            eprint!("\r\x1b[2Ksync: {} {}{total}", p.phase.label(), p.done);
            let _ = std::io::stderr().flush();
        }
    };
    let result = runtime()?.block_on(syncer.sync_once(&show));
    if interactive {
        eprint!("\r\x1b[2K");
    }
    match result {
        Ok(report) => {
            if let Some(key_id) = &report.pinned {
                eprintln!(
                    "pinned {} key {key_id} (in {}); a different key from this server will stop sync",
                    ctx.server,
                    pins::path(&ctx.dirs.config).display()
                );
            }
            eprintln!(
                "synced {} changes and {} audit events in {:.2} s; sent {} actions, {} refused, {} still queued",
                report.changes,
                report.events,
                report.elapsed.as_secs_f64(),
                report.sent,
                report.refused,
                report.still_queued
            );
            if std::env::var_os("GOVDECK_SYNC_TIMINGS").is_some() {
                eprintln!("sync stages: {}", report.stages);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Ok(sync_failure(&err)),
    }
}

fn expires_in(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match expires_at {
        None => "—".into(),
        Some(at) => {
            if at < now {
                format!("-{}d", (now - at).num_days())
            } else {
                format!("{}d", (at - now).num_days())
            }
        }
    }
}

/// Writes `text` to stdout. A reader that stopped early (`govdeck apps | head`)
/// is not an error: the rest of the output is simply not wanted.
fn print_out(text: &str) -> color_eyre::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    quiet_on_broken_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// Success, or the error of a write other than into a closed pipe.
fn quiet_on_broken_pipe(written: std::io::Result<()>) -> color_eyre::Result<ExitCode> {
    match written {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Pretty JSON with every character a terminal would act on or hide (C1
/// controls, bidi, zero-width) written as a `\uXXXX` escape.
fn print_json<T: serde::Serialize>(value: &T) -> color_eyre::Result<ExitCode> {
    let mut text = escape_json(&serde_json::to_string_pretty(value)?).into_owned();
    text.push('\n');
    print_out(&text)
}

/// What `govdeck apps` prints of an app besides the text its search index
/// holds (and the id, for `--json`).
struct Printed {
    id: Option<String>,
    tier: Tier,
    class: DataClass,
    state: AppState,
    expires_at: Option<DateTime<Utc>>,
    users: u32,
}

pub fn apps(args: &ClientArgs, apps_args: &AppsArgs) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let cache = open_cache(&ctx)?;
    // Rows streamed into the search index, which holds the text (sanitized
    // name, owner, team, purpose: what is searched and printed) end to end;
    // beside it the few values printed. No manifest is decoded, and nothing
    // is allocated per app. `--json` reads the full records it prints.
    // Under a filter, an app lacking a character the query needs cannot
    // match: it is not kept at all.
    let needs = apps_args.filter.as_deref().map_or(0, search::required_chars);
    let mut text = IndexBuilder::default();
    let mut listed = Vec::new();
    cache::with_small_page_cache(cache.conn(), || {
        catalog::for_each_listed(cache.conn(), |app| {
            if apps_args.state.is_some_and(|state| app.state != state)
                || apps_args.owner.as_deref().is_some_and(|owner| app.owner != owner)
            {
                return;
            }
            if !text.push_if_holds(&[app.name, app.owner, app.team, app.purpose].map(sanitize), needs) {
                return;
            }
            listed.push(Printed {
                id: apps_args.json.then(|| app.id.to_string()),
                tier: app.tier,
                class: app.data_classification,
                state: app.state,
                expires_at: app.expires_at,
                users: app.expected_users,
            });
        })
    })?;
    let text = text.finish();
    // Best match first, ranked as the console's `/` ranks; else by name.
    let order: Vec<usize> = match apps_args.filter.as_deref() {
        Some(query) => {
            let all: Vec<usize> = (0..listed.len()).collect();
            text.rank(query, &all).into_matches().into_iter().map(|m| m.index).collect()
        }
        None => (0..listed.len()).collect(),
    };
    if apps_args.json {
        // One scan for the full records, not a lookup per app printed.
        let mut full: std::collections::HashMap<String, App> =
            catalog::apps(cache.conn())?.into_iter().map(|app| (app.id.clone(), app)).collect();
        let full: Vec<App> = order.iter().filter_map(|&i| full.remove(listed[i].id.as_deref()?)).collect();
        return print_json(&full);
    }
    let columns = [
        Column { header: "NAME", width: 18 },
        Column { header: "OWNER", width: 9 },
        Column { header: "TIER", width: 6 },
        Column { header: "CLASS", width: 9 },
        Column { header: "STATE", width: 14 },
        Column { header: "EXPIRES", width: 7 },
        Column { header: "USERS", width: 5 },
    ];
    let now = Utc::now();
    // Written as it goes: 100k rows are never one string in memory.
    let mut table = Table::new(&columns, std::io::BufWriter::new(std::io::stdout().lock()));
    let written = table.header().and_then(|()| {
        order.iter().try_for_each(|&i| {
            let app = &listed[i];
            let mut fields = text.fields(i);
            let (name, owner) = (fields.next().unwrap_or_default(), fields.next().unwrap_or_default());
            table.row([
                name,
                owner,
                app.tier.as_str(),
                app.class.as_str(),
                app.state.as_str(),
                &expires_in(app.expires_at, now),
                &app.users.to_string(),
            ])
        })
    });
    quiet_on_broken_pipe(written.and_then(|()| table.finish().map(drop)))
}

fn due_label(due_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (prefix, span) = if due_at < now { ("overdue ", now - due_at) } else { ("in ", due_at - now) };
    if span.num_hours() >= 48 {
        format!("{prefix}{}d", span.num_days())
    } else {
        format!("{prefix}{}h", span.num_hours())
    }
}

pub fn approvals(args: &ClientArgs, json: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let cache = open_cache(&ctx)?;
    let now = Utc::now();
    let mut pending: Vec<_> = catalog::approvals(cache.conn())?
        .into_iter()
        .filter(|approval| approval.status == ApprovalStatus::Pending)
        .collect();
    // The same order as the console's approvals pane.
    pending.sort_by_key(|approval| approval::queue_key(approval, now));
    if json {
        return print_json(&pending);
    }
    let columns = [
        Column { header: "ID", width: 20 },
        Column { header: "APP", width: 17 },
        Column { header: "RISK", width: 9 },
        Column { header: "BY", width: 10 },
        Column { header: "DUE", width: 12 },
        Column { header: "OK", width: 2 },
    ];
    let rows: Vec<Vec<String>> = pending
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.app_name.clone(),
                format!("{} {}", a.review_tier.as_str(), a.risk_score_at_time),
                a.requested_by.clone(),
                due_label(a.due_at, now),
                a.decisions.len().to_string(),
            ]
        })
        .collect();
    print_out(&render(&columns, &rows))
}

fn cached_me(cache: &Cache) -> color_eyre::Result<Actor> {
    let me: Me = cache::meta_get(cache.conn(), cache::ME)?
        .map(|json| serde_json::from_str(&json))
        .transpose()?
        .ok_or_else(|| eyre!("the cache does not know who you are yet; run `govdeck sync` first"))?;
    Ok(Actor::new(me.user, me.roles))
}

fn outcome_exit(outcome: ActionOutcome) -> ExitCode {
    match outcome {
        ActionOutcome::Done(message) => {
            outln!("{}", sanitize(&message));
            ExitCode::SUCCESS
        }
        ActionOutcome::Queued(reason) => {
            eprintln!("queued: {}; it will be sent on the next `govdeck sync`", sanitize(&reason));
            ExitCode::from(EXIT_QUEUED)
        }
        ActionOutcome::Refused { status, code, message } => {
            eprintln!("govdeck: the server refused it: {} (HTTP {status}, {})", sanitize(&message), sanitize(&code));
            ExitCode::from(match status {
                401 | 403 => EXIT_AUTH,
                409 | 412 => EXIT_CONFLICT,
                _ => EXIT_ERROR,
            })
        }
    }
}

/// Writes the action to the outbox, then sends it.
fn queue_and_send(
    ctx: &Context,
    kind: ActionKind,
    target: &str,
    body: serde_json::Value,
    rev: Option<u64>,
) -> color_eyre::Result<ExitCode> {
    let syncer = syncer(ctx)?;
    let action = {
        let mut cache = syncer.cache.lock().map_err(|_| eyre!("cache lock poisoned"))?;
        if let Some(existing) = outbox::queued_for(cache.conn(), target)? {
            eprintln!("govdeck: action #{} on {target} is already queued; run `govdeck sync` to send it", existing.id);
            return Ok(ExitCode::from(EXIT_QUEUED));
        }
        cache.write(|conn| outbox::enqueue(conn, kind, target, &body, rev, Utc::now()))?
    };
    match runtime()?.block_on(syncer.send(&action)) {
        Ok(outcome) => Ok(outcome_exit(outcome)),
        Err(err) if err.is_tls() => {
            // The handshake failed, so the server never saw it: not queued,
            // or it would go out later behind the user's back.
            let mut cache = syncer.cache.lock().map_err(|_| eyre!("cache lock poisoned"))?;
            cache.write(|conn| outbox::withdraw(conn, action.id))?;
            eprintln!("govdeck: {}; nothing was sent or queued", sanitize(&err.to_string()));
            Ok(ExitCode::from(EXIT_ERROR))
        }
        Err(err) => Ok(sync_failure(&err)),
    }
}

pub fn decide(args: &ClientArgs, id: &str, decision: DecisionKind, comment: &str) -> color_eyre::Result<ExitCode> {
    if decision == DecisionKind::Reject && comment.trim().is_empty() {
        eprintln!("govdeck: a rejection needs a reason: --comment \"…\"");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if comment.chars().count() > MAX_COMMENT_CHARS {
        eprintln!("govdeck: the comment is longer than {MAX_COMMENT_CHARS} characters");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let ctx = context(args)?;
    let (request, me) = {
        let cache = open_cache(&ctx)?;
        let request = match catalog::approval(cache.conn(), id) {
            Ok(request) => request,
            Err(err @ CacheError::NotFound { .. }) => {
                eprintln!("govdeck: {err}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
            Err(err) => return Err(err.into()),
        };
        (request, cached_me(&cache)?)
    };
    if let Err(reason) = approval::may_decide(&request, &me) {
        eprintln!("govdeck: you may not decide {id}: {reason}");
        return Ok(ExitCode::from(EXIT_AUTH));
    }
    let kind = match decision {
        DecisionKind::Approve => ActionKind::Approve,
        DecisionKind::Reject => ActionKind::Reject,
    };
    let body = serde_json::json!({"decision": decision, "comment": comment, "rev": request.rev});
    queue_and_send(&ctx, kind, id, body, Some(request.rev))
}

pub fn renew(args: &ClientArgs, key: &str, days: Option<i64>) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let app = {
        let cache = open_cache(&ctx)?;
        match catalog::app_by_id_or_name(cache.conn(), key) {
            Ok(app) => app,
            Err(err @ CacheError::NotFound { .. }) => {
                eprintln!("govdeck: {err}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
            Err(err) => return Err(err.into()),
        }
    };
    let body = match days {
        Some(days) => serde_json::json!({"days": days}),
        None => serde_json::json!({}),
    };
    queue_and_send(&ctx, ActionKind::Renew, &app.id, body, Some(app.rev))
}

pub fn audit(args: &ClientArgs, audit_args: &AuditArgs) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let cache = open_cache(&ctx)?;
    let events = match &audit_args.app {
        Some(app) => audit::for_app(cache.conn(), app, audit_args.limit)?,
        None => audit::recent(cache.conn(), audit_args.limit)?,
    };
    if audit_args.json {
        return print_json(&events);
    }
    let columns = [
        Column { header: "SEQ", width: 7 },
        Column { header: "TIME (UTC)", width: 16 },
        Column { header: "ACTOR", width: 10 },
        Column { header: "ACTION", width: 18 },
        Column { header: "OUTCOME", width: 7 },
        Column { header: "APP", width: 10 },
    ];
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                e.actor_id.clone(),
                e.action_type.clone(),
                e.outcome.as_str().into(),
                e.app_id.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let text = render(&columns, &rows);
    print_out(&text)
}

pub fn verify_cache(args: &ClientArgs) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let cache = open_cache(&ctx)?;
    let started = std::time::Instant::now();
    let report = audit::verify(cache.conn())?;
    let secs = started.elapsed().as_secs_f64();
    let scope =
        if report.full_chain { "full chain" } else { "your events (each hash and every link between neighbours)" };
    let chain_ok = match report.result {
        Ok(()) => {
            outln!(
                "cache audit ok ({scope}): {} events verified in {secs:.2} s; head seq {} {}",
                report.verified,
                report.head.seq,
                report.head.hash
            );
            true
        }
        Err(broken) => {
            outln!("cache audit chain BROKEN at seq {}: {broken}", broken.seq());
            false
        }
    };
    // The checkpoints, with the key pinned for the server (else the one the
    // cache recorded when it stored them).
    let pins_path = pins::path(&ctx.dirs.config);
    let (key, source) = match pins::load(&pins_path)?.get(&ctx.server) {
        Some(key) => (Some(key.clone()), format!("pinned in {}", pins_path.display())),
        None => match checkpoints::recorded_key(cache.conn())? {
            Some(key) => {
                (Some(key), format!("recorded in the cache; no pin for {} in {}", ctx.server, pins_path.display()))
            }
            None => (None, format!("no key pinned for {} in {}", ctx.server, pins_path.display())),
        },
    };
    let checked = checkpoints::verify(cache.conn(), key.as_ref())?;
    let keys: Vec<_> = key.into_iter().collect();
    let checkpoints_ok = super::server::print_checkpoints(&checked, &keys, &source, None);
    Ok(if chain_ok && checkpoints_ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_TAMPERED) })
}

fn share(pct: Option<f64>) -> String {
    pct.map_or("—".to_string(), |pct| format!("{pct:.0}%"))
}

fn hours(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |h| if h >= 48.0 { format!("{:.1} d", h / 24.0) } else { format!("{h:.1} h") })
}

pub fn kpi(args: &ClientArgs, json: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let cache = open_cache(&ctx)?;
    let apps = catalog::summaries(cache.conn())?;
    let approvals = catalog::approvals(cache.conn())?;
    let dlp = audit::dlp_blocks_by_month(cache.conn())?;
    let kpis = crate::domain::kpi::compute(&apps, &approvals, &dlp, Utc::now());
    if json {
        return print_json(&kpis);
    }
    print_out(&kpi_text(&kpis))
}

/// The figures of `govdeck kpi`, one `label value` line each; each figure
/// on its own line (quarantined and read-only apps are counted apart).
fn kpi_text(kpis: &crate::domain::kpi::Kpis) -> String {
    let t = &kpis.active_by_tier;
    let d = &kpis.active_by_data_class;
    let lines = [
        ("active apps", format!("{} (high {}, medium {}, low {})", kpis.active_apps, t.high, t.medium, t.low)),
        (
            "by data class",
            format!("pii {}, sensitive {}, internal {}, public {}", d.pii, d.sensitive, d.internal, d.public),
        ),
        (
            "inventory coverage",
            format!(
                "{} ({} registered, {} discovered)",
                share(kpis.coverage_pct),
                kpis.registered_apps,
                kpis.discovered_apps
            ),
        ),
        (
            "compliance",
            format!(
                "manifest {}, OTel {}, backups {}, SBOM {}",
                share(kpis.manifest_complete_pct),
                share(kpis.otel_pct),
                share(kpis.backups_pct),
                share(kpis.sbom_pct)
            ),
        ),
        ("pending approvals", format!("{} ({} overdue)", kpis.pending_approvals, kpis.overdue_approvals)),
        (
            "time to approve",
            format!("median {}, p90 {}", hours(kpis.median_hours_to_approve), hours(kpis.p90_hours_to_approve)),
        ),
        ("auto-approved", share(kpis.auto_approved_pct)),
        ("high-risk apps", kpis.high_risk_apps.to_string()),
        ("TTL compliance", share(kpis.ttl_compliance_pct)),
        ("expiring", format!("{} in 7 days, {} in 30 days", kpis.expiring_7d, kpis.expiring_30d)),
        ("quarantined", kpis.quarantined.to_string()),
        ("read-only", kpis.read_only.to_string()),
        ("over budget", kpis.over_budget.to_string()),
        (
            "DLP blocks / month",
            kpis.dlp_blocks_per_month.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>().join(" "),
        ),
    ];
    lines.iter().map(|(label, value)| format!("{label:<20} {value}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_prints_quarantined_and_read_only_as_separate_figures() {
        let kpis = crate::domain::kpi::Kpis { quarantined: 17, read_only: 16, ..Default::default() };
        let text = kpi_text(&kpis);
        let line = |label: &str| text.lines().find(|l| l.starts_with(label)).map(str::to_string);
        assert_eq!(line("quarantined ").as_deref(), Some(format!("{:<20} 17", "quarantined").as_str()), "{text}");
        assert_eq!(line("read-only ").as_deref(), Some(format!("{:<20} 16", "read-only").as_str()), "{text}");
    }
}
