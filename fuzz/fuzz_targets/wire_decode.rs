//! Every wire type the server or the sync client decodes from the network,
//! from arbitrary bytes: decoding never panics, and what decodes is used the
//! way the server and the client use it (manifest validation and risk, the
//! app a manifest becomes, change items decoded to apps and approvals,
//! audit hashes, the page check the sync client runs) without panicking.

#![no_main]

use chrono::{TimeZone, Utc};
use govdeck::domain::api::{
    AppResponse, ApprovalResponse, AuditHead, AuditPage, ChangesPage, DecisionRequest, ErrorBody, IngestRequest,
    IntakeResponse, Me, RenewalRequest,
};
use govdeck::domain::audit::GENESIS_HASH;
use govdeck::domain::{App, Manifest};
use govdeck::sync::plan::check_audit_page;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();

    if let Ok(page) = serde_json::from_slice::<ChangesPage>(data) {
        for item in &page.items {
            if let Some(Ok(app)) = item.app() {
                let _ = app.manifest_complete();
                let _ = serde_json::to_vec(&app);
            }
            if let Some(Ok(approval)) = item.approval() {
                let _ = approval.is_overdue(now);
                let _ = serde_json::to_vec(&approval);
            }
        }
        let _ = serde_json::to_vec(&page);
    }

    if let Ok(page) = serde_json::from_slice::<AuditPage>(data) {
        for event in &page.events {
            let _ = event.compute_hash();
        }
        let genesis = AuditHead { seq: 0, hash: GENESIS_HASH.to_string() };
        let _ = check_audit_page(&genesis, &page.events, true);
        let _ = check_audit_page(&genesis, &page.events, false);
        if let Some(first) = page.events.first() {
            // Resuming just before the page, as a later sync does.
            let head = AuditHead { seq: first.seq.saturating_sub(1), hash: first.prev_hash.clone() };
            let _ = check_audit_page(&head, &page.events, true);
            let _ = check_audit_page(&head, &page.events, false);
        }
    }

    if let Ok(manifest) = serde_json::from_slice::<Manifest>(data) {
        let _ = manifest.risk();
        if manifest.validate().is_ok() {
            let app = App::from_manifest("app_fuzz".into(), "olive".into(), manifest, now);
            let _ = app.manifest_complete();
            let _ = serde_json::to_vec(&app);
        }
    }

    if let Ok(request) = serde_json::from_slice::<IngestRequest>(data) {
        for event in request.events {
            let sealed = govdeck::domain::AuditEvent::seal(event, "ingest-bot", "evt_fuzz".into(), 1, now, GENESIS_HASH);
            assert_eq!(sealed.compute_hash(), sealed.hash, "a sealed event verifies");
        }
    }

    let _ = serde_json::from_slice::<DecisionRequest>(data);
    let _ = serde_json::from_slice::<RenewalRequest>(data);
    let _ = serde_json::from_slice::<IntakeResponse>(data);
    let _ = serde_json::from_slice::<ApprovalResponse>(data);
    let _ = serde_json::from_slice::<AppResponse>(data);
    let _ = serde_json::from_slice::<ErrorBody>(data);
    let _ = serde_json::from_slice::<AuditHead>(data);
    let _ = serde_json::from_slice::<Me>(data);
});
