//! `govdeck amend APP FILE` and `govdeck amend APP --set FIELD=VALUE…`: the
//! changed fields of an app's manifest, worked out against the cache's
//! record of the app, previewed (what changes, the risk change, and whether
//! it applies at once or is held for review), then sent through the outbox.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::client::{self, Context, cached_me, context, queue_and_send};
use super::lookup;
use super::{ClientArgs, EXIT_AUTH, EXIT_ERROR, EXIT_USAGE, UsageError};
use crate::cache::outbox::ActionKind;
use crate::domain::amend::{self, FieldChange};
use crate::domain::{App, AppState, Manifest};
use crate::sanitize::sanitize;

/// What an amendment would do, worked out before it is sent: the server
/// decides, with the same rule, on the app as it is then.
pub struct Preview {
    pub changes: Vec<FieldChange>,
    pub before: crate::domain::Risk,
    pub after: crate::domain::Risk,
    /// Held for review at this tier, or `None` when it applies at once.
    pub held_at: Option<crate::domain::Tier>,
}

/// The preview of `next` as the new manifest of `app`.
pub fn preview(app: &App, next: &Manifest) -> Preview {
    let changes = amend::diff(&amend::manifest_of(app), next);
    let after = next.risk(crate::domain::policy::Policy::builtin());
    let held = app.state != AppState::Pending && amend::is_material(&app.risk, &after, &changes);
    Preview {
        changes,
        before: app.risk,
        after,
        held_at: held.then(|| amend::review_tier(crate::domain::policy::Policy::builtin(), &after, next)),
    }
}

impl Preview {
    /// The lines a person reads before confirming.
    pub fn lines(&self, app: &App) -> Vec<String> {
        let mut lines: Vec<String> =
            self.changes.iter().map(|change| format!("  {}", sanitize(&change.to_string()))).collect();
        lines.push(format!(
            "risk: {} {} → {} {}",
            self.before.score,
            self.before.tier.as_str(),
            self.after.score,
            self.after.tier.as_str()
        ));
        lines.push(match (self.held_at, app.state) {
            (_, AppState::Pending) => {
                "the app is under review: its manifest changes and its request is re-scored".into()
            }
            (Some(tier), _) => format!(
                "held for review at {}: the app keeps running on its approved manifest until it is decided",
                tier.as_str()
            ),
            (None, _) => "applies at once".into(),
        });
        lines
    }
}

/// What an amendment does to the app's `change` request that a reviewer sent
/// back: the fields go on top of its held changes and the request returns to
/// review (the server's rule, [`amend::amend`]); the app itself is unchanged.
/// `None` when the held changes no longer apply to the cached app.
fn revision_lines(app: &App, request: &crate::domain::Approval, preview: &Preview) -> Option<Vec<String>> {
    let proposed = amend::apply_set(&amend::manifest_of(app), &amend::as_set(&request.changes)).ok()?;
    let revised = amend::apply_set(&proposed, &amend::as_set(&preview.changes)).ok()?;
    let risk = revised.risk(crate::domain::policy::Policy::builtin());
    let mut lines: Vec<String> =
        preview.changes.iter().map(|change| format!("  {}", sanitize(&change.to_string()))).collect();
    lines.push(format!(
        "risk of the held change: {} {} → {} {}",
        request.risk.score,
        request.risk.tier.as_str(),
        risk.score,
        risk.tier.as_str()
    ));
    lines.push(format!(
        "revises request {} (sent back for changes): these go on top of its held changes and it returns to review \
         at {}; the app keeps running on its approved manifest until it is decided",
        sanitize(&request.id),
        amend::review_tier(crate::domain::policy::Policy::builtin(), &risk, &revised).as_str()
    ));
    Some(lines)
}

/// The fields to send: from a full manifest `file` (diffed against the
/// app), or from `--set` pairs. Every problem is reported at once.
fn wanted(app: &App, file: Option<&Path>, pairs: &[String]) -> Result<Manifest, Vec<String>> {
    let current = amend::manifest_of(app);
    match (file, pairs) {
        (Some(_), [_, ..]) => Err(vec!["give a manifest FILE or --set FIELD=VALUE, not both".into()]),
        (None, []) => Err(vec!["what to change? give a manifest FILE or --set FIELD=VALUE".into()]),
        (Some(path), []) => {
            let text =
                std::fs::read_to_string(path).map_err(|err| vec![format!("cannot read {}: {err}", path.display())])?;
            let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
            let mut manifest = amend::parse_manifest(&text, is_json)?;
            if let Some(owner) = manifest.owner.take()
                && owner != app.owner
            {
                return Err(vec![format!(
                    "owner: {owner:?} is not {:?}; an amendment does not change the owner (an app changes owner by transfer)",
                    app.owner
                )]);
            }
            Ok(manifest)
        }
        (None, pairs) => {
            let mut set = Map::new();
            let mut problems = Vec::new();
            for pair in pairs {
                let Some((field, text)) = pair.split_once('=') else {
                    problems.push(format!("--set {pair:?}: expected FIELD=VALUE"));
                    continue;
                };
                match amend::parse_value(field.trim(), text) {
                    Ok(value) => {
                        set.insert(field.trim().to_string(), value);
                    }
                    Err(problem) => problems.push(problem.to_string()),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            amend::apply_set(&current, &set).map_err(|problems| problems.iter().map(ToString::to_string).collect())
        }
    }
}

type Found = (App, crate::domain::Actor, Vec<crate::domain::Approval>);

fn find_app(ctx: &Context, key: &str) -> color_eyre::Result<Result<Found, ExitCode>> {
    let cache = client::open_cache(ctx)?;
    let state = lookup::sync_state(cache.conn())?;
    match lookup::app_by_key(cache.conn(), key)? {
        lookup::Found::One(app) => {
            let requests = crate::cache::catalog::approvals_for_app(cache.conn(), &app.id)?;
            Ok(Ok((*app, cached_me(&cache)?, requests)))
        }
        _ => {
            let now = Utc::now();
            let (reason, code) = match lookup::not_synced_yet(&state, &ctx.server, now) {
                Some((reason, code)) => (format!("no app {:?} yet: {reason}", sanitize(key)), code),
                None => (lookup::no_app(cache.conn(), key, &state, now)?, ExitCode::from(EXIT_ERROR)),
            };
            eprintln!("govdeck: {reason}");
            Ok(Err(code))
        }
    }
}

pub fn amend(
    args: &ClientArgs,
    key: &str,
    file: Option<&Path>,
    pairs: &[String],
    dry_run: bool,
) -> color_eyre::Result<ExitCode> {
    if file.is_some() && !pairs.is_empty() {
        return Err(UsageError("give a manifest FILE or --set FIELD=VALUE, not both".into()).into());
    }
    let ctx = context(args)?;
    let (app, me, requests) = match find_app(&ctx, key)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let next = match wanted(&app, file, pairs) {
        Ok(next) => next,
        Err(problems) => {
            for problem in problems {
                eprintln!("govdeck: {}", sanitize(&problem));
            }
            eprintln!("govdeck: nothing was sent or queued");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Err(refused) = amend::may_amend(&app.owner, &me).and_then(|()| amend::may_amend_in(app.state)) {
        eprintln!("govdeck: you may not amend {}: {refused}", sanitize(&app.name));
        let code = if refused == amend::AmendError::NotAllowed { EXIT_AUTH } else { super::EXIT_CONFLICT };
        return Ok(ExitCode::from(code));
    }
    let preview = preview(&app, &next);
    if preview.changes.is_empty() {
        outln!("nothing changes: {} already has these values; nothing was sent", sanitize(&app.name));
        return Ok(ExitCode::SUCCESS);
    }
    // One held change per app: a second material one would be refused.
    let pending_change = requests
        .iter()
        .find(|r| r.kind == crate::domain::ApprovalKind::Change && r.status == crate::domain::ApprovalStatus::Pending);
    if let (Some(_), Some(pending)) = (preview.held_at, pending_change) {
        eprintln!(
            "govdeck: not amended: {}; a change that needs no review still applies. Nothing was sent or queued",
            amend::AmendError::ChangePending(sanitize(&pending.id).into_owned())
        );
        return Ok(ExitCode::from(super::EXIT_CONFLICT));
    }
    let heading = if dry_run { "would amend" } else { "amending" };
    outln!("{heading} {} ({}):", sanitize(&app.name), sanitize(&app.id));
    let sent_back = requests.iter().find(|r| {
        r.kind == crate::domain::ApprovalKind::Change && r.status == crate::domain::ApprovalStatus::ChangesRequested
    });
    match sent_back.and_then(|request| revision_lines(&app, request, &preview)) {
        Some(lines) => lines.iter().for_each(|line| outln!("{line}")),
        None => preview.lines(&app).iter().for_each(|line| outln!("{line}")),
    }
    if dry_run {
        outln!("dry run: nothing was sent");
        return Ok(ExitCode::SUCCESS);
    }
    let set: Map<String, Value> = amend::as_set(&preview.changes);
    let body = json!({"rev": app.rev, "set": set});
    queue_and_send(&ctx, ActionKind::Amend, &app.id, body, Some(app.rev))
}
