//! Who wrote an audit event, and what an ingest token may report.
//!
//! Every event the log seals records `reported_by`, the authenticated
//! principal that wrote it, and `recorded_at`, the server's clock when it
//! did (see [`AuditEvent::seal`](super::AuditEvent::seal)); its `actor_id`,
//! `actor_role` and `timestamp` are what the writer says. For the server's
//! own governance events the two agree (the deciding user, `policy` for the
//! lifecycle job); for a runtime event a platform posts they are the
//! platform's claim, beside the ingest principal that made it.
//!
//! An ingest token reports runtime events only ([`check_runtime_event`]):
//! no action of a governance family (the server writes those itself, in the
//! transaction of the change they record) and no system actor (`policy`, the
//! importer), so a platform cannot put a decision, a lifecycle step or a
//! policy act in the log.

/// The action families the server itself writes; an action belongs to one
/// when the part before its first `.` (or the whole action, without a dot),
/// trimmed, is one of these, ignoring ASCII case. `approval.approve` is
/// governance, `approvals.x` and `approval_x` are not.
///
/// `approval`, `app`, `lifecycle`, `policy`, `user` and `checkpoint` are the
/// decisions, registrations, TTL steps, policy changes, user administration
/// and signed checkpoints; `evidence` who took an app's evidence away;
/// `import` the catalog importer's changes; `admin`,
/// `audit`, `role` and `token` are kept for the server's administration.
pub const GOVERNANCE_FAMILIES: &[&str] = &[
    "approval",
    "app",
    "lifecycle",
    "policy",
    "user",
    "checkpoint",
    "evidence",
    "import",
    "admin",
    "audit",
    "role",
    "token",
];

/// Actors only the server writes as: the TTL policy and the importer.
const SYSTEM_ACTORS: &[&str] = &[POLICY_ACTOR];
/// Actor ids starting with this are the importer's (`import:backstage`).
const IMPORTER_ACTOR_PREFIX: &str = "import:";
/// Roles only the server's own actors hold.
const SYSTEM_ROLES: &[&str] = &[POLICY_ACTOR, "import"];

/// The actor (and role) recorded for what the policy does on its own.
pub const POLICY_ACTOR: &str = "policy";

/// Whether `action_type` names a governance action (see [`GOVERNANCE_FAMILIES`]).
pub fn is_governance_action(action_type: &str) -> bool {
    let family = action_type.split_once('.').map_or(action_type, |(family, _)| family).trim();
    GOVERNANCE_FAMILIES.iter().any(|known| known.eq_ignore_ascii_case(family))
}

/// Whether `actor_id` or `actor_role` is one of the server's own actors.
fn is_system_actor(actor_id: &str, actor_role: &str) -> bool {
    let id = actor_id.trim();
    let role = actor_role.trim();
    SYSTEM_ACTORS.iter().any(|known| known.eq_ignore_ascii_case(id))
        || id.get(..IMPORTER_ACTOR_PREFIX.len()).is_some_and(|head| head.eq_ignore_ascii_case(IMPORTER_ACTOR_PREFIX))
        || SYSTEM_ROLES.iter().any(|known| known.eq_ignore_ascii_case(role))
}

/// Why an event is not a runtime event an ingest token may report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRuntime {
    #[error("action {0:?} is a governance action; the server records those itself, ingest reports runtime events only")]
    GovernanceAction(String),
    #[error("actor {actor:?} (role {role:?}) is one of the server's own actors; ingest may not report as it")]
    SystemActor { actor: String, role: String },
}

/// Accepts an event an ingest token may report: a runtime action by anyone
/// but the server's own actors.
pub fn check_runtime_event(action_type: &str, actor_id: &str, actor_role: &str) -> Result<(), NotRuntime> {
    if is_governance_action(action_type) {
        return Err(NotRuntime::GovernanceAction(action_type.to_string()));
    }
    if is_system_actor(actor_id, actor_role) {
        return Err(NotRuntime::SystemActor { actor: actor_id.to_string(), role: actor_role.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{
        AuditEvent, ChainBreak, ChainVerifier, EventView, GENESIS_HASH, HashScratch, NewAuditEvent, Outcome,
        chain_hash, format_timestamp,
    };
    use chrono::{TimeZone, Utc};

    #[test]
    fn governance_actions_are_told_by_their_family() {
        for action in [
            "approval.approve",
            "approval.auto_approved",
            "app.registered",
            "app.login",
            "lifecycle.quarantine",
            "evidence.export",
            "lifecycle.decommissioned",
            "policy.changed",
            "user.created",
            "checkpoint.signed",
            "import.create",
            "admin.token_revoked",
            "approval",
            "Approval.Approve",
            "LIFECYCLE.quarantined",
            " approval.approve",
            "approval .approve",
            "app.",
            "token.expired",
        ] {
            assert!(is_governance_action(action), "{action:?} is governance");
        }
        for action in [
            "",
            " ",
            ".approve",
            "approvals.x",
            "approval_x",
            "apps.login",
            "application.start",
            "auth.login",
            "data.export",
            "dlp.block",
            "connector.call",
            "export",
            "platform.heartbeat",
            "x.approval.approve",
            "appr.oval",
            "lifecycles.x",
        ] {
            assert!(!is_governance_action(action), "{action:?} is runtime");
        }
    }

    #[test]
    fn the_servers_own_actors_are_refused_whatever_the_action() {
        assert_eq!(check_runtime_event("data.export", "ana", "user"), Ok(()));
        assert_eq!(check_runtime_event("data.export", "", ""), Ok(()));
        assert_eq!(check_runtime_event("data.export", "policy-bot", "service"), Ok(()));
        assert_eq!(check_runtime_event("data.export", "importer", "service"), Ok(()));
        for (actor, role) in [
            ("policy", "ingest"),
            ("Policy", ""),
            (" policy ", "user"),
            ("ana", "policy"),
            ("ana", "POLICY"),
            ("import:backstage", "ingest"),
            ("IMPORT:other", "user"),
            ("ana", "import"),
        ] {
            assert!(
                matches!(check_runtime_event("data.export", actor, role), Err(NotRuntime::SystemActor { .. })),
                "{actor:?} / {role:?}"
            );
        }
        let refused = check_runtime_event("approval.approve", "policy", "policy").unwrap_err();
        assert_eq!(refused, NotRuntime::GovernanceAction("approval.approve".into()), "the action is named first");
        assert!(refused.to_string().contains("runtime events only"), "{refused}");
    }

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap()
    }

    /// The canonical bytes as the code before provenance wrote them, built
    /// here by hand with `serde_json`'s derive (not by [`CanonicalParts`]).
    #[derive(serde::Serialize)]
    struct Legacy<'a> {
        event_id: &'a str,
        seq: u64,
        timestamp: &'a str,
        actor_id: &'a str,
        actor_role: &'a str,
        app_id: Option<&'a str>,
        version: Option<u32>,
        environment: Option<&'a str>,
        action_type: &'a str,
        resource_type: &'a str,
        resource_id: Option<&'a str>,
        data_classification: Option<&'a str>,
        outcome: &'a str,
        error_code: Option<&'a str>,
        ip_address: Option<&'a str>,
        user_agent: Option<&'a str>,
        request_context: serde_json::Value,
        risk_score_at_time: Option<u32>,
        approval_id: Option<&'a str>,
    }

    /// A chain of `n` events sealed the old way: no provenance, the hash over
    /// the legacy bytes.
    fn legacy_chain(n: u64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let event_id = format!("old-{seq}");
                let timestamp = format_timestamp(at() + chrono::Duration::seconds(seq as i64));
                let context = serde_json::json!({"comment": format!("line \"{seq}\"\n"), "rev": seq});
                let actor = if seq % 2 == 0 { "olive" } else { "policy" };
                let legacy = Legacy {
                    event_id: &event_id,
                    seq,
                    timestamp: &timestamp,
                    actor_id: actor,
                    actor_role: actor,
                    app_id: Some("app_1"),
                    version: Some(2),
                    environment: None,
                    action_type: "approval.approve",
                    resource_type: "approval",
                    resource_id: Some("apr_1"),
                    data_classification: Some("pii"),
                    outcome: "success",
                    error_code: None,
                    ip_address: Some("10.0.0.1"),
                    user_agent: None,
                    request_context: context.clone(),
                    risk_score_at_time: Some(70),
                    approval_id: Some("apr_1"),
                };
                let bytes = serde_json::to_vec(&legacy).unwrap();
                let hash = chain_hash(&prev, &bytes).as_str().to_string();
                let event = AuditEvent {
                    event_id: event_id.clone(),
                    seq,
                    timestamp: chrono::DateTime::parse_from_rfc3339(&timestamp).unwrap().to_utc(),
                    recorded_at: None,
                    actor_id: actor.into(),
                    actor_role: actor.into(),
                    reported_by: None,
                    app_id: Some("app_1".into()),
                    version: Some(2),
                    environment: None,
                    action_type: "approval.approve".into(),
                    resource_type: "approval".into(),
                    resource_id: Some("apr_1".into()),
                    data_classification: Some("pii".into()),
                    outcome: Outcome::Success,
                    error_code: None,
                    ip_address: Some("10.0.0.1".into()),
                    user_agent: None,
                    request_context: context,
                    risk_score_at_time: Some(70),
                    approval_id: Some("apr_1".into()),
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                };
                assert_eq!(event.canonical(), bytes, "a legacy event's canonical bytes are as they were");
                event
            })
            .collect()
    }

    /// `legacy` continued with `n` events sealed now, reported by `ingest-bot`.
    fn continued(mut events: Vec<AuditEvent>, n: u64) -> Vec<AuditEvent> {
        for _ in 0..n {
            let (seq, prev) = events.last().map_or((0, GENESIS_HASH.to_string()), |e| (e.seq, e.hash.clone()));
            let event = NewAuditEvent {
                actor_id: "ana".into(),
                actor_role: "user".into(),
                action_type: "data.export".into(),
                timestamp: Some(at()),
                ..NewAuditEvent::default()
            };
            let recorded = at() + chrono::Duration::hours(1);
            events.push(AuditEvent::seal(event, "ingest-bot", format!("new-{seq}"), seq + 1, recorded, &prev));
        }
        events
    }

    fn walk(events: &[AuditEvent]) -> Result<u64, ChainBreak> {
        let mut verifier = ChainVerifier::new();
        let mut scratch = HashScratch::default();
        for event in events {
            verifier.push(event)?;
            // The borrowed path, from the wire JSON, agrees.
            let json = serde_json::to_vec(event).unwrap();
            let view: EventView<'_> = serde_json::from_slice(&json).unwrap();
            assert_eq!(view.content_hash(&mut scratch).unwrap().as_str(), event.compute_hash());
        }
        let (seq, hash) = verifier.last();
        verifier.finish(seq, hash)?;
        Ok(verifier.verified())
    }

    #[test]
    fn a_chain_sealed_before_provenance_still_verifies_and_continues() {
        let legacy = legacy_chain(4);
        assert_eq!(walk(&legacy), Ok(4));
        let mixed = continued(legacy, 3);
        assert_eq!(walk(&mixed), Ok(7));
        let new = &mixed[5];
        assert_eq!(new.reported_by.as_deref(), Some("ingest-bot"));
        assert_eq!(new.recorded_at, Some(at() + chrono::Duration::hours(1)));
        assert_eq!(new.timestamp, at(), "the claimed time is kept");
        let canonical = String::from_utf8(new.canonical()).unwrap();
        assert!(
            canonical.ends_with(
                r#","approval_id":null,"reported_by":"ingest-bot","recorded_at":"2026-11-01T09:00:00.000000Z"}"#
            ),
            "{canonical}"
        );
        // A legacy event read back from JSON (the new fields null or absent) hashes as before.
        let json = serde_json::to_value(&mixed[1]).unwrap();
        assert!(json["reported_by"].is_null() && json["recorded_at"].is_null(), "{json}");
        let mut without = json.clone();
        without.as_object_mut().unwrap().retain(|key, _| key != "reported_by" && key != "recorded_at");
        for value in [json, without] {
            let back: AuditEvent = serde_json::from_value(value).unwrap();
            assert_eq!(back.compute_hash(), mixed[1].hash);
        }
    }

    #[test]
    fn the_provenance_of_a_new_event_is_hashed() {
        let events = continued(legacy_chain(2), 3);
        type Edit = fn(&mut AuditEvent);
        let edits: [(&str, Edit); 4] = [
            ("reported_by edited", |e| e.reported_by = Some("olive".into())),
            ("reported_by removed", |e| e.reported_by = None),
            ("recorded_at edited", |e| e.recorded_at = Some(at())),
            ("both removed, as if legacy", |e| (e.reported_by, e.recorded_at) = (None, None)),
        ];
        for (what, edit) in edits {
            let mut edited = events.clone();
            edit(&mut edited[3]);
            let mut verifier = ChainVerifier::new();
            let result = edited.iter().try_for_each(|event| verifier.push(event));
            assert_eq!(result, Err(ChainBreak::Content { seq: 4 }), "{what}");
        }
        // Adding provenance to a legacy event breaks it too.
        let mut forged = events.clone();
        forged[0].reported_by = Some("riley".into());
        let mut verifier = ChainVerifier::new();
        assert_eq!(forged.iter().try_for_each(|event| verifier.push(event)), Err(ChainBreak::Content { seq: 1 }));
    }

    #[test]
    fn reported_by_is_shown_only_when_it_is_not_the_actor() {
        let events = continued(legacy_chain(2), 1);
        assert_eq!(events[0].reported_by_other(), None, "a legacy event has no reporter");
        assert_eq!(events[2].reported_by_other(), Some("ingest-bot"));
        let own = AuditEvent::seal(
            NewAuditEvent { actor_id: "riley".into(), action_type: "approval.approve".into(), ..Default::default() },
            "riley",
            "e".into(),
            1,
            at(),
            GENESIS_HASH,
        );
        assert_eq!(own.reported_by_other(), None);
        assert_eq!(own.recorded_at, Some(own.timestamp), "an event of the server's own happens when it is recorded");
    }
}
