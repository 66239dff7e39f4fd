//! The audit hash chain under tampering. The input seeds a short chain
//! (field values, count) and then a list of edits: change a field, a seq, a
//! hash or a link, swap, drop or truncate events, or edit one event and
//! re-seal everything after it as a forger would. `ChainVerifier` and the
//! sync client's `check_audit_page` never panic; the untouched chain
//! verifies; and any edit that changed the chain is detected, either on the
//! way or against the head recorded before the edits.

#![no_main]

use chrono::{Duration, TimeZone, Utc};
use govdeck::domain::api::AuditHead;
use govdeck::domain::audit::{ChainVerifier, GENESIS_HASH};
use govdeck::domain::{AuditEvent, NewAuditEvent, Outcome};
use govdeck::sync::plan::check_audit_page;
use libfuzzer_sys::fuzz_target;

/// Reads the input a little at a time; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | u64::from(self.byte()))
    }

    fn text(&mut self) -> String {
        let len = usize::from(self.byte() % 16).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn seal_all(events: &mut [AuditEvent], from: usize) {
    for i in from..events.len() {
        let prev = if i == 0 { GENESIS_HASH.to_string() } else { events[i - 1].hash.clone() };
        events[i].prev_hash = prev;
        events[i].hash = events[i].compute_hash();
    }
}

/// Verifies `events` from genesis and against `head`: `Ok` only when every
/// link and hash holds and the end is the recorded head.
fn verify(events: &[AuditEvent], head: &AuditHead) -> bool {
    let mut verifier = ChainVerifier::new();
    events.iter().all(|event| verifier.push(event).is_ok()) && verifier.finish(head.seq, &head.hash).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let count = usize::from(input.byte() % 6) + 1;
    let mut prev = GENESIS_HASH.to_string();
    let mut events = Vec::with_capacity(count);
    for seq in 1..=count as u64 {
        let event = NewAuditEvent {
            actor_id: input.text(),
            actor_role: input.text(),
            app_id: Some(input.text()),
            action_type: input.text(),
            error_code: Some(input.text()),
            request_context: serde_json::json!({ "note": input.text(), "n": input.byte() }),
            ..NewAuditEvent::default()
        };
        let reporter = input.text();
        let sealed =
            AuditEvent::seal(event, &reporter, format!("evt_{seq}"), seq, at + Duration::seconds(seq as i64), &prev);
        prev.clone_from(&sealed.hash);
        events.push(sealed);
    }
    let original = events.clone();
    let head = AuditHead { seq: count as u64, hash: prev };
    assert!(verify(&events, &head), "an untouched chain verifies");
    let genesis = AuditHead { seq: 0, hash: GENESIS_HASH.to_string() };
    assert_eq!(check_audit_page(&genesis, &events, true), Ok(()));
    assert_eq!(check_audit_page(&genesis, &events, false), Ok(()));

    let mut resume_at = None;
    while !input.is_empty() && !events.is_empty() {
        let op = input.byte() % 12;
        let i = usize::from(input.byte()) % events.len();
        match op {
            0 => events[i].actor_id.push_str(&input.text()),
            1 => events[i].action_type = input.text(),
            2 => events[i].seq = input.u64(),
            3 => events[i].prev_hash = input.text(),
            4 => events[i].hash = input.text(),
            5 => {
                let j = usize::from(input.byte()) % events.len();
                events.swap(i, j);
            }
            6 => {
                events.remove(i);
            }
            7 => events.truncate(i),
            8 => events[i].timestamp += Duration::seconds(i64::from(input.byte()) + 1),
            9 => {
                events[i].outcome =
                    [Outcome::Success, Outcome::Failure, Outcome::Blocked][usize::from(input.byte() % 3)]
            }
            10 => {
                // A forger edits one event and re-seals the rest of the chain.
                events[i].request_context = serde_json::json!({ "forged": input.text() });
                seal_all(&mut events, i);
            }
            _ => resume_at = Some((input.u64(), input.text())),
        }
    }

    // Never a panic, whatever the chain now holds.
    let _ = check_audit_page(&genesis, &events, true);
    let _ = check_audit_page(&genesis, &events, false);
    if let Some((seq, hash)) = resume_at {
        let mut verifier = ChainVerifier::resume(seq, hash.clone());
        for event in &events {
            if verifier.push(event).is_err() {
                break;
            }
        }
        let _ = verifier.finish(seq, &hash);
        let resumed = AuditHead { seq, hash };
        let _ = check_audit_page(&resumed, &events, true);
        let _ = check_audit_page(&resumed, &events, false);
    }

    // Tamper evidence: a changed chain never verifies against the old head.
    if events != original {
        assert!(!verify(&events, &head), "an edited chain verified against the recorded head");
    }
});
