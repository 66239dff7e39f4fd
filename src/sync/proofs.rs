//! The Merkle checks of a sync (see docs/sync.md): each signed tree head
//! fetched must extend the one before it, the first the one the cache pinned
//! last, and the server's current tree the newest (a consistency proof per
//! step), and every event stored in an owner's cache, whose gaps the chain
//! walk cannot vouch for, must be in a signed tree (an inclusion proof per
//! event, fetched a thousand to a request). Any failure is a
//! [`SyncError::Proof`]: sync stops, exit 7.

use super::engine::{SyncError, Syncer, with_cache};
use crate::cache::proofs;
use crate::domain::checkpoint::Checkpoint;
use crate::domain::merkle::{self, Hash};
use crate::sync::client::ClientError;

fn unhex(text: &str) -> Option<Hash> {
    merkle::hash_from_hex(text)
}

fn unhex_all(texts: &[String]) -> Option<Vec<Hash>> {
    texts.iter().map(|text| unhex(text)).collect()
}

/// A server that will not prove what it signed is refusing to show its log.
fn refused(what: &str, err: ClientError) -> SyncError {
    match err {
        ClientError::Status { status: 400 | 404, message, .. } => {
            SyncError::Proof(format!("the server refused {what}: {message}"))
        }
        other => SyncError::Client(other),
    }
}

impl Syncer {
    /// Checks that the server's tree only ever grew: from `pinned` (the
    /// newest signed tree head the cache holds) to the first signed head
    /// just fetched, from each fetched head to the next, and from the last
    /// of them to the server's current tree of `server_size` events (or from
    /// `pinned` to it when nothing new was signed; at an equal size, that it
    /// still holds the same tree). A first sync, with
    /// nothing pinned, starts from the first head it fetched.
    pub(crate) async fn check_consistency(
        &self,
        pinned: Option<&Checkpoint>,
        fetched: &[Checkpoint],
        server_size: u64,
    ) -> Result<(), SyncError> {
        let head = |c: &Checkpoint| Some((c.tree_size?, c.root()?));
        let mut heads = pinned.and_then(head).into_iter().chain(fetched.iter().filter_map(head));
        let Some(mut from) = heads.next() else { return Ok(()) };
        for to in heads {
            if to.0 > from.0 {
                self.prove_extends(from, to.0, Some(to.1)).await?;
                from = to;
            } else if to.0 == from.0 && to.1 != from.1 {
                return Err(SyncError::Proof(format!(
                    "the server signed two different trees of {} events: its history was forked",
                    to.0
                )));
            }
        }
        if server_size < from.0 {
            return Err(SyncError::Proof(format!(
                "the server's log holds {server_size} events, but it signed a tree of {} (the log shrank)",
                from.0
            )));
        }
        // Asked at an equal size too: the server must still hold that tree.
        self.prove_extends(from, server_size, None).await
    }

    /// Fetches and checks the proof that the tree of `to` events (whose
    /// root is `signed`, when a signed head names it) extends the signed
    /// tree `(size, root)` of `from`.
    async fn prove_extends(&self, from: (u64, Hash), to: u64, signed: Option<Hash>) -> Result<(), SyncError> {
        let (old_size, old_root) = from;
        let answer = self.backoff.run(|| self.client.consistency(old_size, to)).await;
        let answer = answer.map_err(|err| refused("a consistency proof", err))?;
        let (Some(from_root), Some(to_root), Some(proof)) =
            (unhex(&answer.from_root), unhex(&answer.to_root), unhex_all(&answer.proof))
        else {
            return Err(SyncError::Proof("the server's consistency proof is not hex hashes".into()));
        };
        if answer.from != old_size || answer.to != to || from_root != old_root {
            return Err(SyncError::Proof(format!(
                "the server's tree of {old_size} events is not the one it signed (its history was rewritten)"
            )));
        }
        if signed.is_some_and(|signed| signed != to_root) {
            return Err(SyncError::Proof(format!("the server's tree of {to} events is not the one it signed")));
        }
        let to_root = signed.unwrap_or(to_root);
        merkle::verify_consistency(old_size, to, &old_root, &to_root, &proof).map_err(|err| {
            SyncError::Proof(format!(
                "the server's tree of {to} events does not extend the tree of {old_size} it signed ({err}): its \
                 history was rewritten or forked"
            ))
        })
    }

    /// For an owner's cache: fetches and checks the inclusion proof of every
    /// cached event after the last proved seq, up to the newest cached signed
    /// tree head, against its root, and stores them. Returns how many.
    pub(crate) async fn prove_cached_events(&self) -> Result<u64, SyncError> {
        let (head, after) = with_cache(&self.cache, |cache| {
            Ok((proofs::latest_tree_head(cache.conn())?, proofs::proved_through(cache.conn())?))
        })
        .await?;
        let Some((size, root)) = head.and_then(|c| Some((c.tree_size?, c.root()?))) else { return Ok(0) };
        if size <= after {
            return Ok(0);
        }
        let leaves = with_cache(&self.cache, move |cache| proofs::leaves(cache.conn(), after, size)).await?;
        let mut wanted = leaves.iter().peekable();
        let mut checked: Vec<(u64, Vec<Hash>)> = Vec::with_capacity(leaves.len());
        let mut cursor = after;
        loop {
            let answer = self.backoff.run(|| self.client.inclusions(cursor, size, size)).await;
            let answer = answer.map_err(|err| refused("inclusion proofs", err))?;
            if answer.tree_size != size || unhex(&answer.root_hash) != Some(root) {
                return Err(SyncError::Proof(format!("the server's tree of {size} events is not the one it signed")));
            }
            for proof in &answer.proofs {
                let Some(&(seq, leaf)) = wanted.next_if(|(seq, _)| *seq <= proof.seq) else {
                    return Err(SyncError::Proof(format!(
                        "the server proves one of your events at seq {} that its audit pages did not give you \
                         (it hid an event from you)",
                        proof.seq
                    )));
                };
                if seq != proof.seq {
                    return Err(SyncError::Proof(format!(
                        "the server has no proof for your event at seq {seq}: it is not in the tree it signed"
                    )));
                }
                let path = unhex_all(&proof.proof)
                    .ok_or_else(|| SyncError::Proof("the server's inclusion proof is not hex hashes".into()))?;
                merkle::verify_inclusion(seq - 1, size, &leaf, &path, &root).map_err(|err| {
                    SyncError::Proof(format!(
                        "your event at seq {seq} is not in the tree of {size} events the server signed ({err})"
                    ))
                })?;
                checked.push((seq, path));
            }
            match answer.proofs.last() {
                Some(last) if answer.more => cursor = last.seq,
                _ => break,
            }
        }
        if let Some(&(seq, _)) = wanted.next() {
            return Err(SyncError::Proof(format!(
                "the server has no proof for your event at seq {seq}: it is not in the tree it signed"
            )));
        }
        let proved = checked.len() as u64;
        with_cache(&self.cache, move |cache| cache.write(|conn| proofs::store(conn, size, &checked, size))).await?;
        Ok(proved)
    }
}
