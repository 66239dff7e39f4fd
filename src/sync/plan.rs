//! Pure checks that decide whether what the server sent may be applied:
//! every audit page must chain onto the head the cache last verified, and
//! the server's head may never fall behind it. A failure means the
//! server's history was rewritten under the cache; sync stops loudly.

use crate::domain::AuditEvent;
use crate::domain::api::AuditHead;
use crate::domain::audit::{ChainVerifier, EventView, HashScratch};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "the server's audit history was rewritten: its head is seq {server_seq} but this cache verified up to seq {local_seq}"
    )]
    HeadBehind { server_seq: u64, local_seq: u64 },
    #[error(
        "the server's audit history was rewritten: seq {seq} has hash {server_hash:.16}… but this cache verified {local_hash:.16}…"
    )]
    HeadChanged { seq: u64, server_hash: String, local_hash: String },
    #[error("the server's audit history was rewritten: {0}")]
    Broken(String),
}

/// Compares the server's head with the head the cache verified.
pub fn check_server_head(local: &AuditHead, server: &AuditHead, full_chain: bool) -> Result<(), HistoryError> {
    if server.seq < local.seq {
        return Err(HistoryError::HeadBehind { server_seq: server.seq, local_seq: local.seq });
    }
    if full_chain && server.seq == local.seq && server.hash != local.hash {
        return Err(HistoryError::HeadChanged {
            seq: local.seq,
            server_hash: server.hash.clone(),
            local_hash: local.hash.clone(),
        });
    }
    Ok(())
}

/// Checks that the server still holds the event the cache verified last:
/// `at_head` is the first event the server lists after `local.seq - 1`.
/// Run before anything is sent or written, this catches a history
/// rewritten at or before the head even when newer events hide it (the
/// heads then differ in seq, so [`check_server_head`] cannot compare
/// hashes, and the first new audit page would only be checked after the
/// catalog was already applied). An owner's cache may no longer see its
/// newest event (its app changed hands); then there is nothing to compare.
pub fn check_anchor(local: &AuditHead, at_head: Option<&AuditEvent>, full_chain: bool) -> Result<(), HistoryError> {
    if local.seq == 0 {
        return Ok(());
    }
    match at_head {
        Some(event) if event.seq == local.seq => {
            if event.hash == local.hash {
                Ok(())
            } else {
                Err(HistoryError::HeadChanged {
                    seq: local.seq,
                    server_hash: event.hash.clone(),
                    local_hash: local.hash.clone(),
                })
            }
        }
        _ if !full_chain => Ok(()),
        _ => Err(HistoryError::Broken(format!("seq {} that this cache verified is gone from the server", local.seq))),
    }
}

/// Checks pages of events against the verified head, carrying the chain
/// from one page to the next. For a full chain every event must link onto
/// the one before; an owner's pages skip the events they may not read, so
/// each event's own hash is checked and links where neighbours are present.
#[derive(Debug)]
pub struct PageCheck {
    full_chain: bool,
    verifier: ChainVerifier,
    scratch: HashScratch,
}

impl PageCheck {
    pub fn new(head: &AuditHead, full_chain: bool) -> PageCheck {
        PageCheck {
            full_chain,
            verifier: ChainVerifier::resume(head.seq, head.hash.clone()),
            scratch: HashScratch::default(),
        }
    }

    /// Checks `events`, the next page, handing each one that passed to
    /// `passed` with the scratch that holds its stored timestamp and context.
    pub fn check(
        &mut self,
        events: &[EventView<'_>],
        mut passed: impl FnMut(&EventView<'_>, &HashScratch),
    ) -> Result<(), HistoryError> {
        for event in events {
            if !self.full_chain {
                let (last_seq, last_hash) = self.verifier.last();
                if event.seq <= last_seq {
                    return Err(HistoryError::Broken(format!("seq {} came after seq {last_seq}", event.seq)));
                }
                let prev = if event.seq == last_seq + 1 { last_hash.to_string() } else { event.prev_hash.to_string() };
                self.verifier = ChainVerifier::resume(event.seq - 1, prev);
            }
            let scratch = &mut self.scratch;
            self.verifier
                .push_parts(event.seq, &event.prev_hash, &event.hash, || event.content_hash(scratch))
                .map_err(|broken| HistoryError::Broken(broken.to_string()))?;
            passed(event, &self.scratch);
        }
        Ok(())
    }

    /// The last event checked (the head it started from before any).
    pub fn head(&self) -> AuditHead {
        let (seq, hash) = self.verifier.last();
        AuditHead { seq, hash: hash.to_string() }
    }
}

/// Checks one page of events against the verified head; see [`PageCheck`].
pub fn check_audit_page(head: &AuditHead, events: &[AuditEvent], full_chain: bool) -> Result<(), HistoryError> {
    let views: Vec<EventView<'_>> = events.iter().map(EventView::of).collect();
    PageCheck::new(head, full_chain).check(&views, |_, _| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewAuditEvent;
    use crate::domain::audit::{GENESIS_HASH, sealed_chain};
    use chrono::TimeZone;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        sealed_chain(n, at, |seq| NewAuditEvent { action_type: format!("a{seq}"), ..NewAuditEvent::default() })
    }

    fn head_of(event: &AuditEvent) -> AuditHead {
        AuditHead { seq: event.seq, hash: event.hash.clone() }
    }

    #[test]
    fn a_page_that_chains_on_is_accepted() {
        let events = chain(6);
        assert_eq!(check_audit_page(&head_of(&events[2]), &events[3..], true), Ok(()));
    }

    #[test]
    fn a_page_from_a_rewritten_history_is_refused() {
        let events = chain(6);
        // A consistent rewrite from seq 3 on: every hash recomputed, so each
        // event is self-consistent, but seq 4 no longer chains onto the seq 3
        // this cache verified.
        let mut rewritten = chain(6);
        rewritten[2].action_type = "forged".into();
        rewritten[2].hash = rewritten[2].compute_hash();
        rewritten[3].prev_hash = rewritten[2].hash.clone();
        rewritten[3].hash = rewritten[3].compute_hash();
        let err = check_audit_page(&head_of(&events[2]), &rewritten[3..], true).unwrap_err();
        assert!(err.to_string().contains("rewritten"), "{err}");
    }

    #[test]
    fn a_head_behind_or_changed_is_refused() {
        let events = chain(4);
        assert!(matches!(
            check_server_head(&head_of(&events[3]), &head_of(&events[1]), true),
            Err(HistoryError::HeadBehind { server_seq: 2, local_seq: 4 })
        ));
        let forged = AuditHead { seq: 4, hash: "f".repeat(64) };
        assert!(matches!(
            check_server_head(&head_of(&events[3]), &forged, true),
            Err(HistoryError::HeadChanged { .. })
        ));
        assert_eq!(check_server_head(&head_of(&events[1]), &head_of(&events[3]), true), Ok(()));
    }

    #[test]
    fn the_event_at_the_verified_head_must_be_unchanged() {
        let events = chain(6);
        let mut rewritten = chain(6);
        rewritten[1].actor_id = "mallory".into();
        for index in 1..6 {
            if index > 1 {
                rewritten[index].prev_hash = rewritten[index - 1].hash.clone();
            }
            rewritten[index].hash = rewritten[index].compute_hash();
        }
        let head = head_of(&events[3]);
        assert_eq!(check_anchor(&head, Some(&events[3]), true), Ok(()));
        // The server's head moved on (seq 6 > 4), so only the anchor sees it.
        assert_eq!(check_server_head(&head, &head_of(&rewritten[5]), true), Ok(()));
        assert!(matches!(
            check_anchor(&head, Some(&rewritten[3]), false),
            Err(HistoryError::HeadChanged { seq: 4, .. })
        ));
        assert!(matches!(check_anchor(&head, Some(&events[4]), true), Err(HistoryError::Broken(_))));
        assert!(matches!(check_anchor(&head, None, true), Err(HistoryError::Broken(_))));
        assert_eq!(check_anchor(&head, None, false), Ok(()), "an owner may no longer see it");
        let start = AuditHead { seq: 0, hash: GENESIS_HASH.into() };
        assert_eq!(check_anchor(&start, None, true), Ok(()));
    }

    #[test]
    fn pages_carry_the_chain_from_one_to_the_next() {
        let events = chain(9);
        let views: Vec<EventView<'_>> = events.iter().map(EventView::of).collect();
        let start = AuditHead { seq: 0, hash: GENESIS_HASH.into() };
        let mut check = PageCheck::new(&start, true);
        let mut passed = Vec::new();
        for page in views.chunks(4) {
            check.check(page, |event, scratch| passed.push((event.seq, scratch.timestamp().to_string()))).unwrap();
        }
        assert_eq!(check.head(), head_of(&events[8]));
        assert_eq!(passed.len(), 9);
        assert_eq!(passed[0].1, crate::domain::audit::format_timestamp(events[0].timestamp));

        // A next page that skips an event does not link on.
        let mut check = PageCheck::new(&start, true);
        check.check(&views[..3], |_, _| {}).unwrap();
        let err = check.check(&views[4..], |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("seq 4"), "{err}");
        // An owner's next page may skip it: each event is still checked.
        let mut owner = PageCheck::new(&start, false);
        owner.check(&views[..3], |_, _| {}).unwrap();
        owner.check(&views[4..], |_, _| {}).unwrap();
        let err = owner.check(&[EventView::of(&events[5])], |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("came after"), "an owner page going back: {err}");
    }

    #[test]
    fn an_owner_page_with_gaps_checks_each_event() {
        let events = chain(8);
        let visible = vec![events[1].clone(), events[4].clone(), events[5].clone()];
        let start = AuditHead { seq: 0, hash: GENESIS_HASH.into() };
        assert_eq!(check_audit_page(&start, &visible, false), Ok(()));
        let mut edited = visible.clone();
        edited[1].actor_id = "mallory".into();
        assert!(check_audit_page(&start, &edited, false).is_err());
    }
}
