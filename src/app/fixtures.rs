//! Fixed console data for snapshot, key-sequence and hostile-text tests and
//! for benchmarks: 26 apps in every lifecycle state (olive owns one in each
//! renewal state), pending requests of every review tier — overdue ones, the
//! user's own request, one for the user's own app — decided requests over
//! the last 12 weeks, and 60 hash-chained audit events over four days
//! (DLP blocks and data exports among them). Deterministic: no randomness,
//! every time relative to the `now` passed in ([`fixture_now`] in tests).

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::ConsoleData;
use crate::domain::api::Me;
use crate::domain::audit::{GENESIS_HASH, is_governance_action};
use crate::domain::kpi::{self, compute};
use crate::domain::{
    Actor, App, AppState, AppSummary, Approval, ApprovalKind, ApprovalStatus, AuditEvent, Connectivity, Controls,
    DataClass, Decision, DecisionKind, ExecEnv, LifecycleTier, Manifest, NewAuditEvent, Outcome, Role, Tier, TtlClass,
};

/// The clock every snapshot uses: 2026-11-23T09:00:00Z.
pub fn fixture_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap_or_default()
}

/// The fixture's default user: a reviewer.
pub fn riley() -> Me {
    Me { user: "riley".into(), roles: vec![Role::Reviewer] }
}

/// An app owner over SSH.
pub fn olive() -> Me {
    Me { user: "olive".into(), roles: vec![Role::Owner] }
}

/// A platform lead.
pub fn pat() -> Me {
    Me { user: "pat".into(), roles: vec![Role::Lead] }
}

/// An auditor: reads everything, decides nothing.
pub fn audrey() -> Me {
    Me { user: "audrey".into(), roles: vec![Role::Auditor] }
}

/// One app of the fixture: name, owner, team, purpose, data class, users,
/// connectivity, environment, state, days to expiry, days in state, controls
/// (manifest complete? otel, backups, sbom, vault, dlp as bits 0..4).
#[rustfmt::skip]
type Spec = (&'static str, &'static str, &'static str, &'static str, DataClass, u32, Connectivity, ExecEnv, AppState, Option<i64>, i64, u8);

#[rustfmt::skip]
const APPS: &[Spec] = {
    use AppState::*;
    use Connectivity::{ExternalApi as Ext, None as NoConn, SaasConnector as Saas};
    use DataClass::*;
    use ExecEnv::{DesktopAgent as Desk, Sandboxed as Box_};
    &[
        ("quote-builder", "olive", "sales-ops", "Builds customer quotes from CRM opportunities", Pii, 250, Ext, Box_, Expiring, Some(3), 11, 0b01011),
        ("crm-sync", "olive", "sales-ops", "Keeps the CRM and the billing system in step", Sensitive, 40, Saas, Box_, Active, Some(20), 345, 0b11111),
        ("lead-scorer", "olive", "sales-ops", "Scores inbound leads with a desktop agent", Internal, 5, NoConn, Desk, Quarantined, Some(-2), 2, 0b00001),
        ("legacy-forecast", "olive", "sales-ops", "Old quarterly forecast workbook", Internal, 12, Saas, Box_, ReadOnly, Some(-33), 26, 0b00011),
        ("pricing-sheet-bot", "olive", "sales-ops", "Publishes the public price sheet", Public, 3, NoConn, Box_, ReadOnly, Some(-12), 5, 0b01011),
        ("deal-desk-notes", "olive", "sales-ops", "Shared notes for the deal desk", Internal, 30, Saas, Box_, Active, Some(200), 165, 0b11111),
        ("renewal-reminder", "olive", "sales-ops", "Reminds customers of contract renewals", Internal, 20, Saas, Box_, Pending, None, 4, 0b00001),
        ("old-quote-archive", "olive", "sales-ops", "Archive of 2024 quotes", Internal, 8, NoConn, Box_, Decommissioned, Some(-47), 10, 0b00011),
        ("expense-bot", "omar", "finance", "Files expense reports from receipt photos", Sensitive, 150, Ext, Desk, Active, Some(120), 245, 0b11111),
        ("invoice-matcher", "omar", "finance", "Matches supplier invoices to purchase orders", Pii, 80, Saas, Box_, Pending, None, 3, 0b10111),
        ("travel-planner", "omar", "finance", "Books travel within policy", Internal, 200, Saas, Box_, Expiring, Some(10), 4, 0b00111),
        ("hr-onboarding-flow", "priya", "people", "Onboards new hires: accounts, laptops, payroll", Pii, 60, Saas, Box_, Active, Some(300), 65, 0b11111),
        ("interview-scheduler", "priya", "people", "Schedules interview loops", Internal, 25, Saas, Box_, Active, Some(45), 320, 0b01011),
        ("pto-tracker", "priya", "people", "Tracks paid time off balances", Pii, 400, NoConn, Box_, Active, Some(90), 275, 0b11011),
        ("販売ダッシュボード", "sam", "sales-apac", "APAC sales dashboard (日本語)", Internal, 20, Saas, Box_, Active, Some(150), 215, 0b00111),
        ("🚀 launch-checklist", "sam", "marketing", "Launch checklist with emoji 🚀✨", Public, 8, NoConn, Box_, Active, Some(25), 5, 0b00001),
        ("quarterly-sales-report-generator-with-an-unreasonably-long-name-for-a-table", "sam", "sales-ops", "Generates the quarterly sales report for the board, slide by slide, with charts and commentary", Sensitive, 120, Ext, Box_, Active, Some(60), 305, 0b01111),
        ("warehouse-picker", "sam", "operations", "Suggests pick routes in the warehouse", Internal, 150, Ext, Desk, Quarantined, Some(-1), 1, 0b00101),
        ("churn-predictor", "riley", "data-science", "Predicts churn from usage data", Sensitive, 15, Saas, Box_, Active, Some(33), 332, 0b11111),
        ("forecast-lab", "riley", "data-science", "Sandbox for demand forecasting experiments", Sensitive, 9, Saas, Box_, Pending, None, 2, 0b00111),
        ("shadow-spreadsheet", "sam", "finance", "Found by discovery: a macro workbook emailing payroll", Pii, 12, Ext, Desk, Discovered, None, 20, 0b00000),
        ("contract-redliner", "pat", "legal", "Suggests contract redlines", Pii, 30, Ext, Box_, Active, Some(150), 215, 0b10111),
        ("vendor-risk-survey", "priya", "procurement", "Sends vendor risk questionnaires", Sensitive, 50, NoConn, Box_, Rejected, None, 12, 0b00001),
        ("meeting-minutes-ai", "omar", "finance", "Writes meeting minutes from recordings", Internal, 500, Ext, Desk, Active, Some(15), 350, 0b01011),
        ("badge-printer", "priya", "facilities", "Prints visitor badges", Public, 40, NoConn, Box_, Active, Some(340), 25, 0b11011),
        ("kpi-snapshot", "pat", "platform", "Snapshots platform KPIs nightly", Internal, 9, NoConn, Box_, Active, Some(180), 185, 0b11111),
    ]
};

fn build_app(index: usize, spec: &Spec, now: DateTime<Utc>) -> App {
    let (name, owner, team, purpose, data, users, connectivity, environment, state, expires, since, controls) = *spec;
    let manifest = Manifest {
        name: name.into(),
        purpose: purpose.into(),
        owner: Some(owner.into()),
        team: team.into(),
        sponsor: if controls & 1 == 1 { format!("vp-{team}") } else { String::new() },
        cost_center: format!("CC-{}", 1000 + index * 7),
        data_classification: data,
        expected_users: users,
        external_connectivity: connectivity,
        execution_environment: environment,
        connectors: if connectivity == Connectivity::None { vec![] } else { vec!["salesforce".into(), "slack".into()] },
        endpoints: vec![format!("https://{}.apps.internal", index + 1)],
        secrets: if controls & 0b1000 != 0 { vec![format!("{team}-api-key")] } else { vec![] },
        environments: vec!["production".into()],
        lifecycle_tier: if users > 100 { LifecycleTier::BusinessCritical } else { LifecycleTier::Standard },
        ttl_class: if index % 5 == 4 { TtlClass::Prototype } else { TtlClass::Supported },
        retention_days: 365,
        monthly_budget: 100.0 + (index as f64) * 20.0,
        controls: Controls {
            otel: controls & 0b00010 != 0,
            backups: controls & 0b00100 != 0,
            sbom: controls & 0b10000 != 0,
            secrets_in_vault: controls & 0b01000 != 0,
            dlp: data == DataClass::Pii && controls & 0b10000 != 0,
        },
    };
    let created = now - Duration::days(400 - index as i64 * 3);
    let mut app = App::from_manifest(
        format!("app-{:02}", index + 1),
        owner.into(),
        manifest,
        crate::domain::policy::Policy::builtin(),
        created,
    );
    app.state = state;
    app.state_since = now - Duration::days(since) - Duration::hours(index as i64);
    app.expires_at = expires.map(|days| now + Duration::days(days) - Duration::hours(index as i64 % 5));
    app.last_activity_at = Some(now - Duration::hours(3 + index as i64 * 11));
    app.updated_at = app.state_since;
    app.monthly_spend = if index.is_multiple_of(6) { app.monthly_budget * 1.25 } else { app.monthly_budget * 0.6 };
    app.version = 1 + (index as u32 % 4);
    app.rev = 10 + index as u64;
    if index % 9 == 3 {
        app.set_flag(crate::domain::app::FLAG_INACTIVE, true);
    }
    app
}

/// A pending request: app index, kind, requested by, review tier, hours ago.
type Pending = (usize, ApprovalKind, &'static str, Tier, i64);

#[rustfmt::skip]
const PENDING: &[Pending] = {
    use ApprovalKind::*;
    use Tier::*;
    &[
        (9, NewApp, "omar", High, 72),
        (21, ProductionAccess, "pat", High, 24),
        (8, ProductionAccess, "omar", High, 5),
        (11, ProductionAccess, "priya", High, 60),
        (13, ProductionAccess, "priya", High, 2),
        (0, ProductionAccess, "olive", High, 10),
        (16, ProductionAccess, "sam", High, 30),
        (23, ProductionAccess, "omar", High, 47),
        (17, ProductionAccess, "sam", High, 70),
        (6, NewApp, "olive", Medium, 96),
        (10, ProductionAccess, "omar", Medium, 24),
        (12, ProductionAccess, "priya", Medium, 80),
        (1, ProductionAccess, "olive", Medium, 6),
        (18, ProductionAccess, "riley", Medium, 20),
        (19, NewApp, "pat", Medium, 48),
        (3, Renewal, "olive", Medium, 26),
        (14, ProductionAccess, "sam", Medium, 12),
        (5, ProductionAccess, "olive", Medium, 30),
        (4, Renewal, "olive", Medium, 50),
        (15, ProductionAccess, "sam", Medium, 3),
        (24, ProductionAccess, "priya", Medium, 120),
        (25, ProductionAccess, "pat", Medium, 1),
    ]
};

fn decision(by: &str, role: Role, kind: DecisionKind, comment: &str, at: DateTime<Utc>) -> Decision {
    Decision { by: by.into(), role, decision: kind, comment: comment.into(), at, policy_version: None }
}

fn build_approvals(apps: &[App], now: DateTime<Utc>) -> Vec<Approval> {
    let mut approvals = Vec::new();
    for (i, &(app, kind, by, tier, hours)) in PENDING.iter().enumerate() {
        let mut approval = Approval::new(
            format!("apr-{:03}", i + 1),
            &apps[app],
            kind,
            by.into(),
            tier,
            crate::domain::policy::Policy::builtin(),
            now - Duration::hours(hours),
        );
        approval.rev = 100 + i as u64;
        if i == 3 {
            approval.decisions.push(decision(
                "rosa",
                Role::Reviewer,
                DecisionKind::Approve,
                "controls look fine",
                now - Duration::hours(20),
            ));
        }
        approvals.push(approval);
    }
    // Decided requests over the last 12 weeks, for the trends.
    for i in 0..34usize {
        let app = &apps[(i * 7) % apps.len()];
        let created = now - Duration::hours(20 + (i as i64) * 57);
        let took = Duration::hours(4 + ((i * 13) % 70) as i64);
        let tier = if app.risk.tier == Tier::High { Tier::High } else { Tier::Medium };
        let kind = if i % 3 == 0 { ApprovalKind::ProductionAccess } else { ApprovalKind::NewApp };
        let mut approval = Approval::new(
            format!("apr-h{:02}", i + 1),
            app,
            kind,
            app.owner.clone(),
            tier,
            crate::domain::policy::Policy::builtin(),
            created,
        );
        approval.rev = 40 + i as u64;
        let at = created + took;
        if i % 9 == 5 {
            approval.status = ApprovalStatus::Rejected;
            approval.decisions.push(decision("rosa", Role::Reviewer, DecisionKind::Reject, "no DLP on PII data", at));
        } else {
            approval.status = ApprovalStatus::Approved;
            approval.decisions.push(decision(
                "riley",
                Role::Reviewer,
                DecisionKind::Approve,
                "",
                at - Duration::hours(1),
            ));
            if tier == Tier::High {
                approval.decisions.push(decision("rosa", Role::Reviewer, DecisionKind::Approve, "", at));
            }
        }
        approval.decided_at = Some(at);
        approvals.push(approval);
    }
    approvals
}

/// One audit event of the fixture: actor, role, action, app index, outcome, error code.
type Ev = (&'static str, &'static str, &'static str, Option<usize>, Outcome, Option<&'static str>);

#[rustfmt::skip]
const EVENT_KINDS: &[Ev] = {
    use Outcome::*;
    &[
        ("riley", "reviewer", "approval.approve", Some(1), Success, None),
        ("dlp-gateway", "ingest", "dlp.block", Some(0), Blocked, Some("DLP-PII-EXPORT")),
        ("olive", "owner", "data.export", Some(0), Success, None),
        ("policy", "policy", "lifecycle.expiring", Some(10), Success, None),
        ("omar", "owner", "auth.login", Some(8), Success, None),
        ("rosa", "reviewer", "approval.reject", Some(22), Success, None),
        ("priya", "owner", "data.export", Some(13), Failure, Some("EXPORT-TOO-LARGE")),
        ("policy", "policy", "lifecycle.quarantined", Some(2), Success, None),
        ("sam", "owner", "connector.call", Some(16), Success, None),
        ("dlp-gateway", "ingest", "dlp.block", Some(11), Blocked, Some("DLP-PII-UPLOAD")),
        ("olive", "owner", "app.renew", Some(5), Success, None),
        ("pat", "lead", "app.intake", Some(19), Success, None),
    ]
};

fn build_audit(apps: &[App], now: DateTime<Utc>) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    let mut prev = GENESIS_HASH.to_string();
    let count = 60;
    for seq in 1..=count {
        let (actor, role, action, app, outcome, error) = EVENT_KINDS[(seq as usize * 5) % EVENT_KINDS.len()];
        let app = app.map(|i| &apps[i]);
        let at = now - Duration::minutes(((count - seq) * 97 + 13) as i64);
        let event = NewAuditEvent {
            actor_id: actor.into(),
            actor_role: role.into(),
            app_id: app.map(|a| a.id.clone()),
            version: app.map(|a| a.version),
            environment: Some("production".into()),
            action_type: action.into(),
            resource_type: if action.starts_with("approval") { "approval".into() } else { "app".into() },
            resource_id: app.map(|a| a.id.clone()),
            data_classification: app.map(|a| a.data_classification.to_string()),
            outcome: Some(outcome),
            error_code: error.map(str::to_string),
            ip_address: Some(format!("10.0.{}.{}", seq % 7, seq)),
            user_agent: Some("govdeck-fixture/1".into()),
            request_context: serde_json::json!({ "fixture": true }),
            risk_score_at_time: app.map(|a| a.risk.score),
            approval_id: None,
            timestamp: Some(at),
        };
        // Runtime events are a platform's report, recorded a little after they
        // happened; governance events are the server's own, by their actor.
        let (reported_by, recorded_at) =
            if is_governance_action(action) { (actor, at) } else { ("ingest-bot", at + Duration::seconds(42)) };
        let sealed = AuditEvent::seal(event, reported_by, format!("ev-{seq:03}"), seq, recorded_at, &prev);
        prev = sealed.hash.clone();
        events.push(sealed);
    }
    events.reverse();
    events
}

/// The fixture as riley (a reviewer) sees it.
pub fn fixture_data(now: DateTime<Utc>) -> ConsoleData {
    fixture_data_for(riley(), now)
}

/// The fixture's apps repeated to `count` as pat (a lead) sees them, each
/// with its own id, name and purpose: a catalog at scale for the filter.
pub fn scaled_fixture(count: usize) -> ConsoleData {
    let mut data = fixture_data_for(pat(), fixture_now());
    let base = std::mem::take(&mut data.apps);
    data.apps = (0..count)
        .map(|i| {
            let mut app = base[i % base.len()].clone();
            app.id = compact_str::format_compact!("app-{i:06}");
            app.name = compact_str::format_compact!("{}-{i}", app.name);
            app.purpose = compact_str::format_compact!("{} (copy {i} of the fixture, for scale)", app.purpose);
            app
        })
        .collect();
    data
}

/// The fixture as `me` sees it: an owner (without reviewer or lead) gets
/// only their own apps, requests and events, as the server would send.
pub fn fixture_data_for(me: Me, now: DateTime<Utc>) -> ConsoleData {
    let mut apps: Vec<App> = APPS.iter().enumerate().map(|(i, spec)| build_app(i, spec, now)).collect();
    let mut approvals = build_approvals(&apps, now);
    let mut audit = build_audit(&apps, now);
    let actor = Actor::new(me.user.clone(), me.roles.iter().copied());
    if !actor.reads_all() {
        let mine = |id: &str| apps.iter().any(|a| a.id == id && a.owner == me.user);
        approvals.retain(|a| a.app_owner == me.user || a.requested_by == me.user);
        audit.retain(|e| e.app_id.as_deref().is_some_and(&mine));
        apps.retain(|a| a.owner == me.user);
    }
    let mut dlp = vec![
        ("2025-12".to_string(), 3),
        ("2026-01".to_string(), 5),
        ("2026-02".to_string(), 4),
        ("2026-03".to_string(), 9),
        ("2026-04".to_string(), 6),
        ("2026-05".to_string(), 11),
        ("2026-06".to_string(), 8),
        ("2026-07".to_string(), 7),
        ("2026-08".to_string(), 12),
        ("2026-09".to_string(), 10),
        ("2026-10".to_string(), 14),
    ];
    dlp.extend(kpi::dlp_blocks_per_month(&audit));
    let summaries: Vec<AppSummary> = apps.iter().map(AppSummary::from).collect();
    let kpis = compute(&summaries, &approvals, &dlp, now);
    let mut data = ConsoleData {
        me,
        server: "http://127.0.0.1:41234".into(),
        apps: Vec::new(),
        full_apps: Default::default(),
        approvals,
        audit_total: audit.len() as u64,
        audit,
        kpis: Some(kpis),
        outbox: Vec::new(),
        loading: None,
        prepared: Default::default(),
        holds: Default::default(),
    };
    data.set_full_apps(apps);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::ChainVerifier;

    #[test]
    fn fixture_is_consistent() {
        let data = fixture_data(fixture_now());
        assert_eq!(data.apps.len(), 26);
        assert!(data.audit.len() == 60);
        assert!(data.audit.windows(2).all(|w| w[0].timestamp > w[1].timestamp), "newest first");
        let mut verifier = ChainVerifier::new();
        for event in data.audit.iter().rev() {
            verifier.push(event).unwrap();
        }
        let pending = data.approvals.iter().filter(|a| a.status == ApprovalStatus::Pending).count();
        assert_eq!(pending, PENDING.len());
        assert!(data.approvals.iter().any(|a| a.is_overdue(fixture_now())));
        assert!(data.approvals.iter().any(|a| a.requested_by == "riley" && a.status == ApprovalStatus::Pending));
        assert!(data.audit.iter().any(|e| e.action_type == "dlp.block"));
        assert!(data.kpis.as_ref().unwrap().dlp_blocks_per_month.iter().any(|(_, n)| *n > 0));
    }

    #[test]
    fn owners_see_only_their_own() {
        let data = fixture_data_for(olive(), fixture_now());
        assert!(data.apps.iter().all(|a| a.owner == "olive"));
        assert_eq!(data.apps.len(), 8);
        assert!(data.audit.iter().all(|e| e.app_id.as_deref().is_some_and(|id| data.apps.iter().any(|a| a.id == id))));
    }
}
