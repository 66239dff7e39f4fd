//! `govdeck audit export`: the audit events of a time window, read from the
//! server page by page (not from the cache, which an owner's token fills
//! only in part and which may lag), written one JSON object per line for a
//! SIEM to ingest.
//!
//! Each line is an event exactly as the server sent it, so its hashes
//! still verify against the canonical form (docs/governance.md). Beside the
//! events goes a small JSON record (`FILE.checkpoint.json`, or
//! `--checkpoint-file`): the window, the first and last seq written, the
//! server's signing key and the first signed checkpoint at or after the
//! last event, so an ingested copy can be checked against what the server
//! signed, later and without trusting the SIEM. When no checkpoint covers
//! the last event yet, the record says so (`covered: false`) and so does
//! stderr: exporting again after the next checkpoint covers it.
//!
//! A file given with `-o` is written beside itself and renamed into place
//! when complete, so a failed export leaves no half file behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use color_eyre::eyre::WrapErr;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::client::{Context, context};
use super::{ClientArgs, EXIT_AUTH, EXIT_ERROR, UsageError};
use crate::domain::api::MAX_PAGE;
use crate::domain::audit::format_timestamp;
use crate::domain::audit_query::TimeRange;
use crate::domain::checkpoint::{Checkpoint, ServerKey};
use crate::sanitize::{escape_json, sanitize};
use crate::sync::client::{Client, ClientError};

/// Output formats of `audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One event per line, as the server sends it (JSON Lines).
    Jsonl,
}

/// A time given on the command line: RFC 3339 (`2026-11-01T08:00:00Z`) or a
/// date (`2026-11-01`, midnight UTC at its start).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    Err(format!("{text:?} is not a time: use a date (2026-11-01, midnight UTC) or RFC 3339 (2026-11-01T08:00:00Z)"))
}

/// What the record beside the events says.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportRecord {
    pub server: String,
    pub exported_at: DateTime<Utc>,
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    pub events: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The key the checkpoint is signed with (`GET /v1/audit/key`).
    pub key: Option<ServerKey>,
    /// The first checkpoint at or after `last_seq`, if the server signed one yet.
    pub checkpoint: Option<Checkpoint>,
    /// Whether `checkpoint` covers every event written.
    pub covered: bool,
}

/// Where the export goes.
pub struct Target {
    pub output: Option<PathBuf>,
    pub checkpoint_file: Option<PathBuf>,
}

impl Target {
    /// The record's path: `--checkpoint-file`, else `FILE.checkpoint.json` beside `-o FILE`.
    fn record_path(&self) -> Option<PathBuf> {
        self.checkpoint_file.clone().or_else(|| {
            self.output.as_ref().map(|output| {
                let mut name = output.as_os_str().to_owned();
                name.push(".checkpoint.json");
                PathBuf::from(name)
            })
        })
    }
}

/// The `seq` of one event line, to page on.
#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    more: bool,
}

pub fn export(args: &ClientArgs, range: TimeRange, target: &Target) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    if let (Some(output), Some(record)) = (&target.output, &target.record_path())
        && output == record
    {
        return Err(UsageError("--checkpoint-file must differ from -o".into()).into());
    }
    let client = ctx.client()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match runtime.block_on(run(&ctx, &client, range, target)) {
        Ok(code) => Ok(code),
        Err(Failure::Client(err)) => {
            eprintln!("govdeck: {}; nothing was written", sanitize(&err.to_string()));
            Ok(ExitCode::from(if matches!(err.status(), Some(401 | 403)) { EXIT_AUTH } else { EXIT_ERROR }))
        }
        Err(Failure::Other(err)) => Err(err),
    }
}

enum Failure {
    Client(ClientError),
    Other(color_eyre::Report),
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        Failure::Client(err)
    }
}

/// A file written beside its final path and renamed into place on [`Self::commit`].
struct Staged {
    path: PathBuf,
    file: tempfile::NamedTempFile,
}

impl Staged {
    fn create(path: &Path) -> color_eyre::Result<Staged> {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let file =
            tempfile::NamedTempFile::new_in(dir).wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
        Ok(Staged { path: path.to_path_buf(), file })
    }

    fn commit(self) -> color_eyre::Result<()> {
        let path = self.path;
        self.file
            .persist(&path)
            .map_err(|err| err.error)
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

async fn run(ctx: &Context, client: &Client, range: TimeRange, target: &Target) -> Result<ExitCode, Failure> {
    let mut staged = target.output.as_deref().map(Staged::create).transpose().map_err(Failure::Other)?;
    let stdout = std::io::stdout();
    let mut out: Box<dyn Write> = match &mut staged {
        Some(staged) => Box::new(std::io::BufWriter::new(staged.file.as_file_mut())),
        None => Box::new(std::io::BufWriter::new(stdout.lock())),
    };
    let (mut after, mut written, mut first_seq) = (0u64, 0u64, None);
    loop {
        let bytes = client.audit_range_bytes(after, MAX_PAGE, &range).await?;
        let page: RawPage<'_> = serde_json::from_slice(&bytes)
            .map_err(|err| ClientError::Malformed { what: "/v1/audit".into(), reason: err.to_string() })?;
        for event in &page.events {
            let Seq { seq } = serde_json::from_str(event.get())
                .map_err(|err| ClientError::Malformed { what: "/v1/audit".into(), reason: err.to_string() })?;
            if seq <= after {
                return Err(Failure::Client(ClientError::Malformed {
                    what: "/v1/audit".into(),
                    reason: format!("seq {seq} came after seq {after}: the pages are out of order"),
                }));
            }
            first_seq.get_or_insert(seq);
            after = seq;
            written += 1;
            if let Err(err) = out.write_all(escape_json(event.get()).as_bytes()).and_then(|()| out.write_all(b"\n")) {
                return quiet_or(err);
            }
        }
        if !page.more || page.events.is_empty() {
            break;
        }
    }
    if let Err(err) = out.flush() {
        return quiet_or(err);
    }
    drop(out);
    let last_seq = (written > 0).then_some(after);
    let key = client.server_key().await?;
    let checkpoint = match last_seq {
        Some(last) => client.checkpoints(last - 1, 1).await?.checkpoints.into_iter().next(),
        None => None,
    };
    let covered = last_seq.is_none() || checkpoint.is_some();
    let record = ExportRecord {
        server: ctx.server.clone(),
        exported_at: Utc::now(),
        since: range.since,
        until: range.until,
        events: written,
        first_seq,
        last_seq,
        key,
        checkpoint,
        covered,
    };
    if let Some(staged) = staged {
        staged.commit().map_err(Failure::Other)?;
    }
    let window = describe(&range);
    match target.record_path() {
        Some(path) => {
            let record_file = Staged::create(&path).map_err(Failure::Other)?;
            serde_json::to_writer_pretty(record_file.file.as_file(), &record)
                .map_err(|err| Failure::Other(err.into()))?;
            record_file.commit().map_err(Failure::Other)?;
            eprintln!("exported {written} {} ({window}); checkpoint record in {}", plural(written), path.display());
        }
        None => eprintln!(
            "exported {written} {} ({window}); the checkpoint record was not saved: pass --checkpoint-file FILE \
             (or -o FILE) to keep it beside the events",
            plural(written)
        ),
    }
    if !covered && let Some(last) = last_seq {
        eprintln!(
            "warning: no signed checkpoint covers seq {last} yet (the server signs one every few thousand events and \
             hourly); export again later to get one"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A reader that closed the pipe ends the export quietly; any other write error is one.
fn quiet_or(err: std::io::Error) -> Result<ExitCode, Failure> {
    if err.kind() == std::io::ErrorKind::BrokenPipe { Ok(ExitCode::SUCCESS) } else { Err(Failure::Other(err.into())) }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "event" } else { "events" }
}

fn describe(range: &TimeRange) -> String {
    match (range.since, range.until) {
        (None, None) => "the whole log".into(),
        (Some(since), None) => format!("from {}", format_timestamp(since)),
        (None, Some(until)) => format!("before {}", format_timestamp(until)),
        (Some(since), Some(until)) => format!("from {} to before {}", format_timestamp(since), format_timestamp(until)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_dates_or_rfc3339() {
        assert_eq!(format_timestamp(parse_time("2026-11-01").unwrap()), "2026-11-01T00:00:00.000000Z");
        assert_eq!(format_timestamp(parse_time("2026-11-01T08:30:00+01:00").unwrap()), "2026-11-01T07:30:00.000000Z");
        let err = parse_time("yesterday").unwrap_err();
        assert!(err.contains("2026-11-01"), "{err}");
        assert!(parse_time("2026-13-01").is_err());
    }

    #[test]
    fn the_record_sits_beside_the_output_unless_named() {
        let target = Target { output: Some("out/audit.jsonl".into()), checkpoint_file: None };
        assert_eq!(target.record_path(), Some(PathBuf::from("out/audit.jsonl.checkpoint.json")));
        let named = Target { output: None, checkpoint_file: Some("cp.json".into()) };
        assert_eq!(named.record_path(), Some(PathBuf::from("cp.json")));
        assert_eq!(Target { output: None, checkpoint_file: None }.record_path(), None);
    }
}
