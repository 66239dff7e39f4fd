//! The scriptable commands over the local cache: `sync`, `apps`,
//! `approvals`, `approve`, `reject`, `renew`, `audit`, `kpi` (`audit verify` is in `verify`).
//! They share the cache, the outbox and the sync engine with the console.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{WrapErr, eyre};

use super::lookup::{self, Readiness, SyncState};
use super::table::{Column, Style, Table, render};
use super::{
    AppsArgs, ClientArgs, EXIT_AUTH, EXIT_CONFLICT, EXIT_ERROR, EXIT_HISTORY_REWRITTEN, EXIT_QUEUED, EXIT_USAGE,
    UsageError,
};
use crate::cache::outbox::{self, ActionKind};
use crate::cache::{self, Cache, CacheError, audit, catalog};
use crate::config::paths::{self, Dirs};
use crate::config::pins;
use crate::config::settings::{self, FileSettings, Token};
use crate::domain::api::Me;
use crate::domain::approval::{self, MAX_COMMENT_CHARS};
use crate::domain::ttl;
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
        UsageError(format!(
            "no server: pass --server URL, set GOVDECK_SERVER, or put `server = \"URL\"` in {}",
            dirs.config.join("config.toml").display()
        ))
    })?;
    // A URL no client could use is a usage error, found before any token is read.
    crate::sync::client::parse_server_url(&server)?;
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

pub(super) fn open_cache(ctx: &Context) -> color_eyre::Result<Cache> {
    Cache::open(&ctx.cache_path).wrap_err_with(|| format!("cannot open the cache {}", ctx.cache_path.display()))
}

/// A cache opened for a read command, what it records of its syncs, and
/// the code the command ends with once it printed.
pub(super) struct Reading {
    pub cache: Cache,
    pub state: SyncState,
    pub code: EndCode,
}

/// 0, or 1 or 3 when the first sync never completed (what was printed is
/// only what it loaded so far).
#[derive(Clone, Copy)]
pub(super) struct EndCode(Option<ExitCode>);

impl EndCode {
    /// The exit code after printing ended with `printed`.
    pub fn after(self, printed: ExitCode) -> ExitCode {
        match self.0 {
            Some(code) if printed == ExitCode::SUCCESS => code,
            _ => printed,
        }
    }
}

/// The cache, for a command that reads it; `Err` with the exit code when
/// it never completed a sync and holds nothing (said on stderr).
pub(super) fn synced_cache(ctx: &Context) -> color_eyre::Result<Result<Reading, ExitCode>> {
    let cache = open_cache(ctx)?;
    let state = lookup::sync_state(cache.conn())?;
    let loaded = !catalog::is_empty(cache.conn())?;
    Ok(match lookup::readiness(&state, loaded, &ctx.server, Utc::now()) {
        Readiness::Ready => Ok(Reading { cache, state, code: EndCode(None) }),
        Readiness::Partial(code) => Ok(Reading { cache, state, code: EndCode(Some(code)) }),
        Readiness::Empty(code) => Err(code),
    })
}

fn syncer(ctx: &Context) -> color_eyre::Result<Syncer> {
    let client = ctx.client()?;
    Ok(Syncer::new(client, Arc::new(Mutex::new(open_cache(ctx)?))).with_pins(pins::path(&ctx.dirs.config)))
}

pub(super) fn runtime() -> color_eyre::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// The exit code for a sync that failed.
fn sync_failure_code(err: &SyncError) -> u8 {
    match err {
        SyncError::History(_) | SyncError::KeyChanged { .. } | SyncError::Checkpoint(_) | SyncError::Proof(_) => {
            EXIT_HISTORY_REWRITTEN
        }
        SyncError::Client(client) if matches!(client.status(), Some(401 | 403)) => EXIT_AUTH,
        _ => EXIT_ERROR,
    }
}

/// Says that a sync failed; returns its exit code.
fn sync_failure(err: &SyncError) -> ExitCode {
    // The message may quote the server's own words: untrusted text.
    eprintln!("govdeck: sync failed: {}", sanitize(&err.to_string()));
    ExitCode::from(sync_failure_code(err))
}

/// The server could not be reached or was busy: queued actions wait for the next try.
fn server_unavailable(err: &SyncError) -> bool {
    matches!(err, SyncError::Client(client) if client.is_transient())
}

/// "1 queued action" / "3 queued actions".
fn actions(count: u64) -> String {
    if count == 1 { "1 queued action".into() } else { format!("{count} queued actions") }
}

pub fn sync(args: &ClientArgs, json: bool) -> color_eyre::Result<ExitCode> {
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
    let (queued, head) = {
        let cache = syncer.cache.lock().map_err(|_| eyre!("cache lock poisoned"))?;
        (outbox::count_queued(cache.conn())?, audit::verified_head(cache.conn())?)
    };
    match result {
        Ok(report) => {
            if let Some(key_id) = &report.pinned {
                eprintln!(
                    "pinned {} key {key_id} (in {}); a different key from this server will stop sync",
                    ctx.server,
                    pins::path(&ctx.dirs.config).display()
                );
            }
            if json {
                return print_json(&serde_json::json!({
                    "ok": true,
                    "server": ctx.server,
                    "changes": report.changes,
                    "events": report.events,
                    "checkpoints": report.checkpoints,
                    "pinned_key": report.pinned,
                    "sent": report.sent,
                    "refused": report.refused,
                    "queued": report.still_queued,
                    "head": {"seq": head.seq, "hash": head.hash},
                    "elapsed_ms": report.elapsed.as_millis() as u64,
                }));
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
        Err(err) => {
            // Queued actions stay queued when the server is down or busy:
            // exit 5, as an action queued by `approve` does.
            let code = if server_unavailable(&err) && queued > 0 { EXIT_QUEUED } else { sync_failure_code(&err) };
            eprintln!("govdeck: sync failed: {}", sanitize(&err.to_string()));
            if queued > 0 {
                eprintln!(
                    "govdeck: {} still waiting; {} sent on the next `govdeck sync`",
                    actions(queued),
                    if queued == 1 { "it will be" } else { "they will be" }
                );
            }
            if json {
                print_json(&serde_json::json!({
                    "ok": false,
                    "server": ctx.server,
                    "error": sanitize(&err.to_string()),
                    "exit_code": code,
                    "queued": queued,
                    "head": {"seq": head.seq, "hash": head.hash},
                }))?;
            }
            Ok(ExitCode::from(code))
        }
    }
}

/// Days left, as the console's Expires column says them.
fn expires_in(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    expires_at.map_or_else(|| "—".into(), |at| ttl::days_left_label(at, now))
}

/// Writes `text` to stdout. A reader that stopped early (`govdeck apps | head`)
/// is not an error: the rest of the output is simply not wanted.
pub(super) fn print_out(text: &str) -> color_eyre::Result<ExitCode> {
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
pub(super) fn print_json<T: serde::Serialize>(value: &T) -> color_eyre::Result<ExitCode> {
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
    let Reading { cache, code, .. } = match synced_cache(&ctx)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
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
        return Ok(code.after(print_json(&full)?));
    }
    let columns = [
        Column::shrinks_to("NAME", 10),
        Column::shrinks_to("OWNER", 5),
        // The longest of each vocabulary: `medium`, `sensitive`, `decommissioned`.
        Column::whole("TIER", 6),
        Column::whole("CLASS", 9),
        Column::whole("STATE", 14),
        // `-9999d` at most; a count of users wider than five digits is the last column.
        Column::whole("EXPIRES", 7),
        Column::whole("USERS", 5),
    ];
    let now = Utc::now();
    // Written as it goes: 100k rows are never one string in memory. The
    // columns are measured first, so no name is cut into a pipe.
    let mut table =
        Table::new(&columns, Style::stdout(!apps_args.no_headers), std::io::BufWriter::new(std::io::stdout().lock()));
    for &i in &order {
        let mut fields = text.fields(i);
        table.measure([fields.next().unwrap_or_default(), fields.next().unwrap_or_default()]);
    }
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
    Ok(code.after(quiet_on_broken_pipe(written.and_then(|()| table.finish().map(drop)))?))
}

fn due_label(due_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (prefix, span) = if due_at < now { ("overdue ", now - due_at) } else { ("in ", due_at - now) };
    if span.num_hours() >= 48 {
        format!("{prefix}{}d", span.num_days())
    } else {
        format!("{prefix}{}h", span.num_hours())
    }
}

pub fn approvals(args: &ClientArgs, json: bool, no_headers: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let Reading { cache, code, .. } = match synced_cache(&ctx)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let now = Utc::now();
    let (mut pending, awaiting): (Vec<_>, Vec<_>) = catalog::approvals(cache.conn())?
        .into_iter()
        .filter(|approval| matches!(approval.status, ApprovalStatus::Pending | ApprovalStatus::ChangesRequested))
        .partition(|approval| approval.status == ApprovalStatus::Pending);
    // The same order as the console's approvals pane.
    pending.sort_by_key(|approval| approval::queue_key(approval, now));
    if json {
        return Ok(code.after(print_json(&pending)?));
    }
    let columns = [
        Column::whole("ID", 0),
        Column::shrinks_to("APP", 10),
        Column::whole("RISK", 0),
        Column::shrinks_to("BY", 6),
        Column::whole("DUE", 0),
        Column::whole("OK", 0),
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
                a.approvers().count().to_string(),
            ]
        })
        .collect();
    let mut text = render(&columns, &rows, Style::stdout(!no_headers));
    // Requests sent back to their owners are out of the queue, shown apart
    // (not in a script's table) so an owner sees what to change.
    if !no_headers && !awaiting.is_empty() {
        text.push_str("\nawaiting changes from the owner (amend the manifest to resubmit):\n");
        for request in &awaiting {
            let asked = request.changes_asked();
            text.push_str(&format!(
                "  {} {} — {} asked: {}\n",
                sanitize(&request.id),
                sanitize(&request.app_name),
                sanitize(asked.map_or("a reviewer", |d| d.by.as_str())),
                sanitize(asked.map_or("", |d| d.comment.as_str())),
            ));
        }
    }
    Ok(code.after(print_out(&text)?))
}

pub(super) fn cached_me(cache: &Cache) -> color_eyre::Result<Actor> {
    let me: Me = cache::meta_get(cache.conn(), cache::ME)?
        .map(|json| serde_json::from_str(&json))
        .transpose()?
        .ok_or_else(|| eyre!("the cache does not know who you are yet; run `govdeck sync` first"))?;
    Ok(Actor::new(me.user, me.roles))
}

pub(super) fn outcome_exit(outcome: ActionOutcome) -> ExitCode {
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
pub(super) fn queue_and_send(
    ctx: &Context,
    kind: ActionKind,
    target: &str,
    body: serde_json::Value,
    rev: Option<u64>,
) -> color_eyre::Result<ExitCode> {
    Ok(match enqueue_and_send(ctx, kind, target, body, rev)? {
        Ok((outcome, _)) => outcome_exit(outcome),
        Err(code) => code,
    })
}

/// [`queue_and_send`] with the outcome and the outbox action id (whose
/// `response` holds the server's answer once done), or the exit code when
/// it was not sent (already queued, or the TLS handshake failed).
pub(super) fn enqueue_and_send(
    ctx: &Context,
    kind: ActionKind,
    target: &str,
    body: serde_json::Value,
    rev: Option<u64>,
) -> color_eyre::Result<Result<(ActionOutcome, i64), ExitCode>> {
    let syncer = syncer(ctx)?;
    let action = {
        let mut cache = syncer.cache.lock().map_err(|_| eyre!("cache lock poisoned"))?;
        if let Some(existing) = outbox::queued_for(cache.conn(), target)? {
            eprintln!("govdeck: action #{} on {target} is already queued; run `govdeck sync` to send it", existing.id);
            return Ok(Err(ExitCode::from(EXIT_QUEUED)));
        }
        cache.write(|conn| outbox::enqueue(conn, kind, target, &body, rev, Utc::now()))?
    };
    match runtime()?.block_on(syncer.send(&action)) {
        Ok(outcome) => Ok(Ok((outcome, action.id))),
        Err(err) if err.is_tls() => {
            // The handshake failed, so the server never saw it: not queued,
            // or it would go out later behind the user's back.
            let mut cache = syncer.cache.lock().map_err(|_| eyre!("cache lock poisoned"))?;
            cache.write(|conn| outbox::withdraw(conn, action.id))?;
            eprintln!("govdeck: {}; nothing was sent or queued", sanitize(&err.to_string()));
            Ok(Err(ExitCode::from(EXIT_ERROR)))
        }
        Err(err) => Ok(Err(sync_failure(&err))),
    }
}

pub fn decide(args: &ClientArgs, id: &str, decision: DecisionKind, comment: &str) -> color_eyre::Result<ExitCode> {
    if decision == DecisionKind::Reject && comment.trim().is_empty() {
        eprintln!("govdeck: a rejection needs a reason: --comment \"…\"");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if decision == DecisionKind::RequestChanges && comment.trim().is_empty() {
        eprintln!("govdeck: a request for changes needs a comment saying what to change: --comment \"…\"");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if comment.chars().count() > MAX_COMMENT_CHARS {
        eprintln!("govdeck: the comment is longer than {MAX_COMMENT_CHARS} characters");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let ctx = context(args)?;
    let (request, me) = {
        let (cache, state) = {
            let cache = open_cache(&ctx)?;
            let state = lookup::sync_state(cache.conn())?;
            (cache, state)
        };
        let request = match catalog::approval(cache.conn(), id) {
            Ok(request) => request,
            Err(CacheError::NotFound { .. }) => {
                let now = Utc::now();
                let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                    Some((reason, code)) => (format!("no request {:?} yet: {reason}", sanitize(id)), code),
                    None => (lookup::no_request(cache.conn(), id, &state, now)?, ExitCode::from(EXIT_ERROR)),
                };
                eprintln!("govdeck: {reason}");
                return Ok(code);
            }
            Err(err) => return Err(err.into()),
        };
        (request, cached_me(&cache)?)
    };
    if let Err(reason) = approval::may_decide(&request, &me, crate::domain::policy::Policy::builtin()) {
        eprintln!("govdeck: you may not decide {id}: {reason}");
        return Ok(ExitCode::from(EXIT_AUTH));
    }
    let kind = match decision {
        DecisionKind::Approve => ActionKind::Approve,
        DecisionKind::Reject => ActionKind::Reject,
        DecisionKind::RequestChanges => ActionKind::RequestChanges,
    };
    let body = serde_json::json!({"decision": decision, "comment": comment, "rev": request.rev});
    queue_and_send(&ctx, kind, id, body, Some(request.rev))
}

/// Renews an app from the cache's record of it. A renewal that would leave
/// less time than the app has now is refused (exit 2, nothing sent or
/// queued) unless `shorten` is set.
pub fn renew(args: &ClientArgs, key: &str, days: Option<i64>, shorten: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let app = {
        let (cache, state) = {
            let cache = open_cache(&ctx)?;
            let state = lookup::sync_state(cache.conn())?;
            (cache, state)
        };
        match lookup::app_by_key(cache.conn(), key)? {
            lookup::Found::One(app) => app,
            _ => {
                let now = Utc::now();
                let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                    Some((reason, code)) => (format!("no app {:?} yet: {reason}", sanitize(key)), code),
                    None => (lookup::no_app(cache.conn(), key, &state, now)?, ExitCode::from(EXIT_ERROR)),
                };
                eprintln!("govdeck: {reason}");
                return Ok(code);
            }
        }
    };
    if let Some(hold) = &app.hold {
        eprintln!(
            "govdeck: not renewed: {} is held in quarantine by {}: {}; a renewal does not lift a hold, a reviewer \
             must release it (`govdeck release APP --reason …`); nothing was sent or queued",
            sanitize(&app.name),
            sanitize(&hold.by),
            sanitize(&hold.reason),
        );
        return Ok(ExitCode::from(EXIT_CONFLICT));
    }
    let now = Utc::now();
    let renew_days = days.unwrap_or(crate::domain::policy::Policy::builtin().ttl_days(app.ttl_class));
    // Days out of range are the server's to refuse, with its own words.
    let extends_now = matches!(app.state, AppState::Active | AppState::Expiring | AppState::Quarantined)
        && (1..=crate::domain::policy::Policy::builtin().ttl_days(app.ttl_class)).contains(&renew_days);
    let new_expiry = now
        + chrono::Duration::days(renew_days.clamp(1, crate::domain::policy::Policy::builtin().ttl_days(app.ttl_class)));
    if extends_now
        && !shorten
        && let Some(current) = app.expires_at.filter(|_| ttl::shortens(app.expires_at, new_expiry))
    {
        eprintln!(
            "govdeck: not renewed: {} expires {} ({} left); this renewal would end it sooner, on {} ({} left). \
             Pass --shorten to do it anyway; nothing was sent or queued",
            sanitize(&app.name),
            current.format("%Y-%m-%d"),
            ttl::days_left_label(current, now),
            new_expiry.format("%Y-%m-%d"),
            ttl::days_left_label(new_expiry, now),
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let body = match days {
        Some(days) => serde_json::json!({"days": days}),
        None => serde_json::json!({}),
    };
    queue_and_send(&ctx, ActionKind::Renew, &app.id, body, Some(app.rev))
}

fn share(pct: Option<f64>) -> String {
    pct.map_or("—".to_string(), |pct| format!("{pct:.0}%"))
}

fn hours(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |h| if h >= 48.0 { format!("{:.1} d", h / 24.0) } else { format!("{h:.1} h") })
}

pub fn kpi(args: &ClientArgs, json: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let Reading { cache, code, .. } = match synced_cache(&ctx)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let apps = catalog::summaries(cache.conn())?;
    let approvals = catalog::approvals(cache.conn())?;
    let dlp = audit::dlp_blocks_by_month(cache.conn())?;
    let holds = catalog::holds(cache.conn())?;
    let held = holds.keys().map(String::as_str);
    let kpis = crate::domain::kpi::compute_with_holds(&apps, &approvals, held, &dlp, Utc::now());
    if json {
        return Ok(code.after(print_json(&kpis)?));
    }
    Ok(code.after(print_out(&kpi_text(&kpis))?))
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
