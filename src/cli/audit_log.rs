//! `govdeck audit`: the newest events of the cache's audit log, or of one
//! app (by its id or its exact name), each row naming the app and its whole
//! action, and, beside the actor, who reported the event when that is
//! someone else (`olive (reported by ingest-bot)`). Verifying the chain is `audit verify`, in the client module.

use std::process::ExitCode;

use chrono::Utc;

use super::client::{Reading, context, print_json, print_out, synced_cache};
use super::lookup;
use super::table::{Column, Style, render};
use super::{AuditArgs, ClientArgs, EXIT_ERROR};
use crate::cache::{audit, catalog};

pub fn audit(args: &ClientArgs, audit_args: &AuditArgs) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let Reading { cache, state, code } = match synced_cache(&ctx)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let events = match &audit_args.app {
        Some(key) => match lookup::audit_app(cache.conn(), key, &state, Utc::now())? {
            Ok(app_id) => audit::for_app(cache.conn(), &app_id, audit_args.limit)?,
            Err(reason) => {
                eprintln!("govdeck: {reason}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
        },
        None => audit::recent(cache.conn(), audit_args.limit)?,
    };
    if audit_args.json {
        return Ok(code.after(print_json(&events)?));
    }
    let columns = [
        Column::whole("SEQ", 0),
        Column::whole("TIME (UTC)", 16),
        Column::shrinks_to("ACTOR", 6),
        Column::whole("ACTION", 0),
        Column::whole("OUTCOME", 0),
        Column::shrinks_to("APP", 10),
    ];
    // The app's name where the cache knows it, else its whole id.
    let mut names = std::collections::HashMap::new();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(events.len());
    for e in &events {
        let app = match &e.app_id {
            Some(id) => match names.get(id) {
                Some(name) => String::clone(name),
                None => {
                    let name = catalog::app_name(cache.conn(), id)?.unwrap_or_else(|| id.clone());
                    names.insert(id.clone(), name.clone());
                    name
                }
            },
            None => String::new(),
        };
        rows.push(vec![
            e.seq.to_string(),
            e.timestamp.format("%Y-%m-%d %H:%M").to_string(),
            match e.reported_by_other() {
                Some(by) => format!("{} (reported by {by})", e.actor_id),
                None => e.actor_id.clone(),
            },
            e.action_type.clone(),
            e.outcome.as_str().into(),
            app,
        ]);
    }
    Ok(code.after(print_out(&render(&columns, &rows, Style::stdout(!audit_args.no_headers)))?))
}
