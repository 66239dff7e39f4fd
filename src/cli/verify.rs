//! `govdeck audit verify`: the hash chain, then the signed checkpoints, of
//! the local cache or (with `--db`) of a server database. Each fact is said
//! once: where the chain breaks, and what the checkpoints vouch for beside
//! it (up to which seq they match, and whether the break lies after that).
//! `--json` prints the same as one object.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::client::{Reading, context, print_json, synced_cache};
use super::{ClientArgs, EXIT_TAMPERED};
use crate::cache::proofs::ProofReport;
use crate::cache::{audit, checkpoints};
use crate::config::pins;
use crate::domain::checkpoint::PublicKey;
use crate::server::signing::{self, KeyFileError};
use crate::store::checkpoints::{CheckpointReport, RootsReport};
use crate::store::{self, Store};

pub fn verify_cache(args: &ClientArgs, json: bool) -> color_eyre::Result<ExitCode> {
    let ctx = context(args)?;
    let Reading { cache, code, .. } = match synced_cache(&ctx)? {
        Ok(read) => read,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let report = audit::verify(cache.conn())?;
    let secs = started.elapsed().as_secs_f64();
    let scope =
        if report.full_chain { "full chain" } else { "your events (each hash and every link between neighbours)" };
    let chain_ok = report.result.is_ok();
    let broken_at = report.result.as_ref().err().map(|broken| broken.seq());
    if !json {
        match &report.result {
            Ok(()) => outln!(
                "cache audit ok ({scope}): {} events verified in {secs:.2} s; head seq {} {}",
                report.verified,
                report.head.seq,
                report.head.hash
            ),
            Err(broken) => outln!(
                "cache audit chain BROKEN at seq {}: {}",
                broken.seq(),
                without_seq(&broken.to_string(), broken.seq())
            ),
        }
    }
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
    let checkpoints_ok =
        if json { checked.result.is_ok() } else { print_checkpoints(&checked, &keys, &source, None, broken_at) };
    let tree = report.roots.as_ref().map(|roots| TreeCheck { roots, stored: None });
    let tree_ok = match &tree {
        Some(tree) if !json => print_tree(tree),
        Some(tree) => tree.ok(),
        None => true,
    };
    // An owner's events, whose gaps the chain walk cannot vouch for: each
    // stored inclusion proof against the signed root of its tree head.
    let proofs = if report.full_chain { None } else { Some(crate::cache::proofs::verify(cache.conn())?) };
    let proofs_ok = if let Some(proofs) = &proofs {
        let ok = proofs.first_bad.is_none() && proofs.unproved == 0;
        if !json {
            match proofs.first_bad {
                None if proofs.unproved == 0 => outln!(
                    "proofs ok: {} events each proved in the Merkle tree of a signed tree head (through seq {}); \
                     the server showed you the history it signed for every reader",
                    proofs.proved,
                    proofs.through
                ),
                None => outln!(
                    "proofs MISSING: {} of your events through seq {} have no stored inclusion proof",
                    proofs.unproved,
                    proofs.through
                ),
                Some(seq) => outln!(
                    "proofs BROKEN at seq {seq}: its stored inclusion proof does not lead to the signed root of its tree"
                ),
            }
        }
        ok
    } else {
        true
    };
    if json {
        let chain = ChainJson {
            scope: if report.full_chain { "full_chain" } else { "own_events" },
            verified: report.verified,
            head: &report.head,
            broken: report.result.as_ref().err(),
            elapsed: secs,
        };
        print_json(&verify_json(&chain, &checked, &keys, &source, tree.as_ref(), proofs.as_ref()))?;
    }
    Ok(if chain_ok && checkpoints_ok && tree_ok && proofs_ok {
        code.after(ExitCode::SUCCESS)
    } else {
        ExitCode::from(EXIT_TAMPERED)
    })
}

/// `audit verify --db`: the hash chain, then the signed checkpoints, with
/// the keys of `key_files` (`<db>.key` when none is named).
pub fn verify_server_db(db: &Path, key_files: &[PathBuf], json: bool) -> color_eyre::Result<ExitCode> {
    if !db.exists() {
        color_eyre::eyre::bail!("{} does not exist", db.display());
    }
    let store = Store::open_read_only(db)?;
    // The walk also gives the rows' Merkle root at each signed tree head's
    // size and at the stored tree's, to hold against them below.
    let tree_size = store::merkle::size(store.conn())?;
    let mut sizes = store::checkpoints::tree_sizes(store.conn())?;
    sizes.push(tree_size);
    sizes.sort_unstable();
    let report = store::audit::verify_roots(store.conn(), &sizes)?;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { report.verified as f64 / secs } else { 0.0 };
    let chain_ok = report.result.is_ok();
    let broken_at = report.result.as_ref().err().map(|broken| broken.seq());
    if !json {
        match &report.result {
            Ok(()) => outln!(
                "audit chain ok: {} events verified in {secs:.2} s ({rate:.0} events/s); head seq {} {}",
                report.verified,
                report.head.seq,
                report.head.hash
            ),
            Err(broken) => {
                outln!(
                    "audit chain BROKEN at seq {}: {}",
                    broken.seq(),
                    without_seq(&broken.to_string(), broken.seq())
                );
                outln!("{} events verified before it in {secs:.2} s", report.verified);
            }
        }
    }

    let default_key = signing::default_key_path(db);
    let (keys, source) = if key_files.is_empty() {
        match signing::read_public(&default_key) {
            Ok(key) => (vec![key], default_key.display().to_string()),
            Err(KeyFileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                (Vec::new(), format!("no key file at {} (pass --key-file)", default_key.display()))
            }
            Err(err) => return Err(err.into()),
        }
    } else {
        let keys = key_files.iter().map(|path| signing::read_public(path)).collect::<Result<Vec<_>, _>>()?;
        (keys, key_files.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "))
    };
    let checkpoints = store::checkpoints::verify(store.conn(), &keys, false)?;
    let roots = store::checkpoints::check_roots(store.conn(), &report.roots)?;
    let rows_root = report.roots.iter().find(|(size, _)| *size == tree_size).map(|(_, root)| *root);
    let stored = Some(StoredTree {
        size: tree_size,
        chain: report.head.seq,
        matches: tree_size == report.head.seq
            && match rows_root {
                Some(rows) => store::merkle::root(store.conn(), tree_size)? == rows,
                None => tree_size == 0,
            },
    });
    let tree = chain_ok.then_some(TreeCheck { roots: &roots, stored });
    if json {
        let chain = ChainJson {
            scope: "full_chain",
            verified: report.verified,
            head: &report.head,
            broken: report.result.as_ref().err(),
            elapsed: secs,
        };
        // Escaped as every JSON output is: a tampered database may hold anything.
        print_json(&verify_json(&chain, &checkpoints, &keys, &source, tree.as_ref(), None))?;
        let ok = chain_ok && checkpoints.result.is_ok() && tree.as_ref().is_none_or(TreeCheck::ok);
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_TAMPERED) });
    }
    let every = store::checkpoints::every(store.conn())?;
    let checkpoints_ok = print_checkpoints(&checkpoints, &keys, &source, every, broken_at);
    let tree_ok = tree.as_ref().is_none_or(print_tree);
    Ok(if chain_ok && checkpoints_ok && tree_ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_TAMPERED) })
}

/// The server's own Merkle tree (what it serves proofs from) held against the rows.
struct StoredTree {
    size: u64,
    /// The chain's length.
    chain: u64,
    /// Of the chain's length, with the rows' root.
    matches: bool,
}

/// The signed tree heads' roots (and, for a server database, its stored
/// tree) held against the Merkle roots of the rows walked.
struct TreeCheck<'a> {
    roots: &'a RootsReport,
    stored: Option<StoredTree>,
}

impl TreeCheck<'_> {
    fn ok(&self) -> bool {
        self.roots.mismatch.is_none() && self.stored.as_ref().is_none_or(|stored| stored.matches)
    }
}

/// Says what holding the roots against the rows found; true when sound.
fn print_tree(tree: &TreeCheck<'_>) -> bool {
    let roots = tree.roots;
    match (&roots.mismatch, roots.newest) {
        (Some(bad), _) => outln!(
            "tree BROKEN at size {}: the signed tree head of {} events has root {:.16}…, the rows' tree {:.16}… \
             (the log was rewritten, or another history was signed)",
            bad.size,
            bad.size,
            bad.signed,
            bad.rows
        ),
        (None, Some(newest)) => outln!(
            "tree ok: the Merkle root of the rows matches {} (the newest of {newest} events){}",
            plural(roots.checked, "signed tree head"),
            if roots.unchecked > 0 {
                format!("; {} past the chain not checked", roots.unchecked)
            } else {
                String::new()
            }
        ),
        (None, None) => outln!("tree: no signed tree head to hold against the rows yet"),
    }
    if let Some(stored) = &tree.stored {
        if stored.size != stored.chain {
            outln!(
                "stored tree BROKEN: the server's Merkle tree holds {} events and the chain {}; events were cut or \
                 added behind the server's back",
                stored.size,
                stored.chain
            );
        } else if stored.matches {
            outln!(
                "stored tree ok: the root of the server's Merkle tree of {} events, which proofs are served from, is the \
                 rows'",
                stored.size
            );
        } else {
            outln!(
                "stored tree BROKEN: the root of the server's Merkle tree of {} events is not the rows'; the proofs it \
                 serves are of another history",
                stored.size
            );
        }
    }
    tree.ok()
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// What `audit verify --json` says of the chain.
struct ChainJson<'a> {
    /// `full_chain`, or `own_events` for an owner's cache.
    pub scope: &'static str,
    pub verified: u64,
    pub head: &'a crate::domain::api::AuditHead,
    pub broken: Option<&'a crate::domain::audit::ChainBreak>,
    pub elapsed: f64,
}

/// The one object `audit verify --json` prints: the chain, then the checkpoints.
fn verify_json(
    chain: &ChainJson<'_>,
    checkpoints: &CheckpointReport,
    keys: &[PublicKey],
    source: &str,
    tree: Option<&TreeCheck<'_>>,
    proofs: Option<&ProofReport>,
) -> serde_json::Value {
    let newest = checkpoints.newest.as_ref();
    let vouched_to = newest.map(|newest| newest.seq).filter(|_| checkpoints.result.is_ok());
    let proofs_ok = proofs.is_none_or(|proofs| proofs.first_bad.is_none() && proofs.unproved == 0);
    serde_json::json!({
        "ok": chain.broken.is_none()
            && checkpoints.result.is_ok()
            && tree.is_none_or(TreeCheck::ok)
            && proofs_ok,
        "chain": {
            "ok": chain.broken.is_none(),
            "scope": chain.scope,
            "events_checked": chain.verified,
            "head": {"seq": chain.head.seq, "hash": chain.head.hash},
            "broken_at": chain.broken.map(|broken| broken.seq()),
            "reason": chain.broken.map(|broken| without_seq(&broken.to_string(), broken.seq()).to_string()),
            "elapsed_ms": (chain.elapsed * 1000.0).round() as u64,
        },
        "checkpoints": {
            "ok": checkpoints.result.is_ok(),
            "count": checkpoints.checkpoints,
            "signatures_checked": !keys.is_empty(),
            "keys": keys.iter().map(|key| key.id()).collect::<Vec<_>>(),
            "key_source": source,
            "newest_seq": newest.map(|newest| newest.seq),
            "newest_signed_at": newest.map(|newest| crate::domain::audit::format_timestamp(newest.signed_at)),
            "vouch_up_to_seq": vouched_to,
            "broken_at": checkpoints.result.as_ref().err().map(|broken| broken.seq()),
            "reason": checkpoints
                .result
                .as_ref()
                .err()
                .map(|broken| without_seq(&broken.to_string(), broken.seq()).to_string()),
            "unsigned_tail": checkpoints.unsigned_tail(),
        },
        // The signed roots against the rows' (null when the chain is not
        // whole, or an owner's cache, which has proofs instead).
        "tree": tree.map(|tree| serde_json::json!({
            "ok": tree.ok(),
            "heads_checked": tree.roots.checked,
            "heads_unchecked": tree.roots.unchecked,
            "newest_size": tree.roots.newest,
            "broken_at_size": tree.roots.mismatch.as_ref().map(|bad| bad.size),
            "signed_root": tree.roots.mismatch.as_ref().map(|bad| bad.signed.clone()),
            "rows_root": tree.roots.mismatch.as_ref().map(|bad| bad.rows.clone()),
            "stored_tree_size": tree.stored.as_ref().map(|stored| stored.size),
            "stored_tree_ok": tree.stored.as_ref().map(|stored| stored.matches),
        })),
        // An owner's cache: the stored inclusion proof of each event.
        "proofs": proofs.map(|proofs| serde_json::json!({
            "ok": proofs_ok,
            "proved": proofs.proved,
            "unproved": proofs.unproved,
            "through_seq": proofs.through,
            "broken_at": proofs.first_bad,
        })),
    })
}

/// Prints what checking the checkpoints found; `source` says where `keys`
/// came from (or why there are none); `chain_broken_at` is where the chain
/// check found the first bad seq, so the line says what the checkpoints
/// vouch for beside it. True when the checkpoints themselves are sound.
fn print_checkpoints(
    report: &CheckpointReport,
    keys: &[PublicKey],
    source: &str,
    every: Option<u64>,
    chain_broken_at: Option<u64>,
) -> bool {
    if keys.is_empty() && report.checkpoints > 0 {
        outln!(
            "WARNING: {source}: checkpoint signatures NOT checked; only their (seq, hash) were compared with the chain"
        );
    }
    if let Err(broken) = &report.result {
        outln!("checkpoints BROKEN at seq {}: {}", broken.seq(), without_seq(&broken.to_string(), broken.seq()));
        return false;
    }
    let ids = keys.iter().map(|key| key.id()).collect::<Vec<_>>().join(", ");
    let signed = if keys.is_empty() { String::new() } else { format!("; signatures valid for key {ids} ({source})") };
    let count = |n: u64| if n == 1 { "1 signed checkpoint".to_string() } else { format!("{n} signed checkpoints") };
    match (&report.newest, chain_broken_at) {
        (None, None) => outln!("checkpoints: none signed yet"),
        (None, Some(_)) => outln!("checkpoints: none signed yet, so no signature vouches for any event"),
        (Some(newest), None) => outln!(
            "checkpoints ok: {} {} the chain{signed}; newest seq {} signed {}",
            report.checkpoints,
            if report.checkpoints == 1 { "checkpoint matches" } else { "checkpoints match" },
            newest.seq,
            crate::domain::audit::format_timestamp(newest.signed_at)
        ),
        (Some(newest), Some(broken)) if broken > newest.seq => outln!(
            "checkpoints: {} match the chain up to seq {}{signed}: events 1-{} are as signed; the break at seq \
             {broken} lies after the newest checkpoint",
            count(report.checkpoints),
            newest.seq,
            newest.seq
        ),
        (Some(newest), Some(broken)) => outln!(
            "checkpoints: {} match the stored hashes up to seq {}{signed}, but the break at seq {broken} lies \
             at or before seq {}: the events there were altered after they were signed",
            count(report.checkpoints),
            newest.seq,
            newest.seq
        ),
    }
    let tail = report.unsigned_tail();
    if tail > 0 {
        let from = report.chain_end - tail + 1;
        outln!(
            "note: the newest {tail} events (seq {from}-{}) are not covered by a signed checkpoint yet",
            report.chain_end
        );
        if let Some(every) = every.filter(|every| tail >= *every) {
            outln!(
                "WARNING: the server signs one every {every} events and hourly: checkpoints may have been deleted, \
                 or these events were written while it was not running (seed, import)"
            );
        }
    }
    true
}

/// A problem's text without its leading `seq N: ` or `checkpoint at seq N: `,
/// for a line that names the seq first (`BROKEN at seq N: …`): each fact once.
fn without_seq(text: &str, seq: u64) -> &str {
    [format!("seq {seq}: "), format!("checkpoint at seq {seq}: ")]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix.as_str()))
        .unwrap_or(text)
}
