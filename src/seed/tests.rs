//! Tests of the seed: a valid chain, repeatable rows, states the lifecycle
//! leaves alone, coverage of every class, the demo's cases, and rows equal
//! to what the store's repositories write. The scale benchmark is ignored
//! by default: `cargo test --release --lib seed -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::Connection;

use super::*;
use crate::domain::approval::may_decide;
use crate::domain::{
    Actor, App, AppState, Approval, ApprovalKind, ApprovalStatus, Connectivity, DataClass, ExecEnv, LifecycleTier,
    Tier, TtlClass, ttl,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::microseconds(123_456)
}

fn seeded(apps: usize, events: usize, seed_value: u64) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    seed(&mut store, &SeedOptions { apps, events, seed: seed_value, now: now() }).unwrap();
    store
}

fn all_apps(conn: &Connection) -> Vec<App> {
    let mut stmt = conn.prepare("SELECT data FROM apps ORDER BY rev").unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|json| serde_json::from_str(&json.unwrap()).unwrap())
        .collect()
}

fn all_approvals(conn: &Connection) -> Vec<Approval> {
    let mut stmt = conn.prepare("SELECT data FROM approvals ORDER BY rev").unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|json| serde_json::from_str(&json.unwrap()).unwrap())
        .collect()
}

/// Every row of `table` as text, in a fixed order.
fn rows(conn: &Connection, table: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        Ok((0..columns).map(|index| format!("{:?}", row.get_ref(index).unwrap())).collect::<Vec<_>>())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn expect_all<T: Ord + std::fmt::Debug>(label: &str, values: impl Iterator<Item = T>, all: &[T]) {
    let seen: BTreeSet<T> = values.collect();
    for value in all {
        assert!(seen.contains(value), "no app has {label} {value:?}");
    }
}

#[test]
fn seeded_audit_log_verifies() {
    let mut store = seeded(300, 5_000, 7);
    let report = store.read(store::audit::verify).unwrap();
    assert!(report.result.is_ok(), "{:?}", report.result);
    assert_eq!(report.verified, 5_000);
    assert_eq!(report.head.seq, 5_000);
}

/// Every seeded event names the principal that wrote it: the ingest user
/// for runtime events (each one ingest would accept), the actor for the
/// governance steps (the filer for an approval by policy at intake).
#[test]
fn seeded_events_record_who_reported_them() {
    let store = seeded(300, 5_000, 7);
    let (events, _) = store::audit::page(store.conn(), 0, 10_000, &crate::domain::Visibility::All).unwrap();
    let mut runtime = 0;
    for event in &events {
        let by = event.reported_by.as_deref().unwrap_or_else(|| panic!("seq {} has no reporter", event.seq));
        assert_eq!(event.recorded_at, Some(event.timestamp), "seq {}", event.seq);
        let governance = crate::domain::audit::is_governance_action(&event.action_type);
        if !governance {
            runtime += 1;
            assert_eq!(by, "ingest-bot", "seq {}", event.seq);
            let check =
                crate::domain::audit::check_runtime_event(&event.action_type, &event.actor_id, &event.actor_role);
            assert_eq!(check, Ok(()), "seq {}: ingest would accept it", event.seq);
        } else if event.action_type == "approval.auto_approved" {
            assert_eq!(event.actor_id, "policy");
            assert!(!by.is_empty() && by != "policy", "seq {}: the policy approves inside someone's intake", event.seq);
        } else if event.action_type != "app.discovered" {
            assert_eq!(by, event.actor_id, "seq {} ({})", event.seq, event.action_type);
        }
    }
    assert!(runtime > 1000, "{runtime} runtime events");
}

#[test]
fn seeds_are_deterministic() {
    let first = seeded(250, 3_000, 42);
    let second = seeded(250, 3_000, 42);
    let app_json = |store: &Store| rows(store.conn(), "apps");
    assert_eq!(app_json(&first), app_json(&second));
    for table in ["approvals", "changes", "audit", "meta"] {
        assert_eq!(rows(first.conn(), table), rows(second.conn(), table), "{table}");
    }
    let other = seeded(250, 3_000, 43);
    assert_ne!(app_json(&first), app_json(&other));
}

#[test]
fn the_catalog_does_not_depend_on_the_number_of_events() {
    let few = seeded(120, 500, 5);
    let many = seeded(120, 4_000, 5);
    assert_eq!(rows(few.conn(), "apps"), rows(many.conn(), "apps"));
}

#[test]
fn nothing_is_due_for_the_lifecycle_after_seeding() {
    let store = seeded(2_000, 0, 11);
    // Also a little later: the server's clock runs on after the seed's `now`.
    for at in [now(), now() + Duration::minutes(30)] {
        for app in all_apps(store.conn()) {
            assert_eq!(ttl::next_transition(&app, super::policy(), at), None, "{} ({}) at {at}", app.name, app.state);
            let mut copy = app.clone();
            assert!(
                ttl::run_policy(&mut copy, super::policy(), at).is_empty(),
                "{} ({}) has a policy step due",
                app.name,
                app.state
            );
        }
    }
}

#[test]
fn states_agree_with_their_dates_and_requests() {
    let store = seeded(2_000, 0, 12);
    let approvals = all_approvals(store.conn());
    let days = Duration::days;
    for app in all_apps(store.conn()) {
        let expires_at = app.expires_at;
        let since = app.state_since;
        assert!(app.created_at <= since && since <= now(), "{}: created, then in its state, before now", app.name);
        assert!(app.last_activity_at.is_some_and(|at| at <= now()), "{}", app.name);
        let requests: Vec<&Approval> = approvals.iter().filter(|a| a.app_id == app.id).collect();
        let ok = match app.state {
            AppState::Active => expires_at.is_some_and(|at| at >= now() + days(14)),
            AppState::Expiring => expires_at.is_some_and(|at| at > now() && at < now() + days(14)),
            // Held by a reviewer: quarantined before its expiry, kept there by a person.
            AppState::Quarantined if app.hold.is_some() => expires_at.is_some_and(|at| at > since),
            AppState::Quarantined => expires_at == Some(since) && since > now() - days(7),
            AppState::ReadOnly => expires_at == Some(since - days(7)) && since > now() - days(30),
            // Retired early by its owner (its open request closed), or by the ladder.
            AppState::Decommissioned if requests.iter().any(|a| a.status == ApprovalStatus::Closed) => {
                expires_at.is_some_and(|at| at > since)
            }
            AppState::Decommissioned => expires_at == Some(since - days(37)),
            AppState::Pending | AppState::Rejected | AppState::Discovered => expires_at.is_none(),
        };
        assert!(ok, "{} is {} since {since} and expires {expires_at:?}", app.name, app.state);
        let open = requests.iter().filter(|a| crate::domain::amend::is_open(a)).count();
        assert!(open <= 1, "{} has {open} open requests", app.name);
        match app.state {
            // Pending review, or sent back to its owner for changes.
            AppState::Pending => {
                assert!(requests.iter().any(|a| a.kind == ApprovalKind::NewApp && crate::domain::amend::is_open(a)))
            }
            AppState::Rejected => assert!(requests.iter().any(|a| a.status == ApprovalStatus::Rejected)),
            AppState::Discovered => assert!(requests.is_empty()),
            _ => {
                assert!(requests.iter().all(|a| a.kind != ApprovalKind::NewApp || a.status == ApprovalStatus::Approved))
            }
        }
    }
}

#[test]
fn seed_covers_every_state_tier_and_class() {
    let store = seeded(2_000, 30_000, 3);
    let apps = all_apps(store.conn());
    expect_all("state", apps.iter().map(|a| a.state), AppState::ALL);
    expect_all("data class", apps.iter().map(|a| a.data_classification), DataClass::ALL);
    expect_all("lifecycle tier", apps.iter().map(|a| a.lifecycle_tier), LifecycleTier::ALL);
    expect_all("TTL class", apps.iter().map(|a| a.ttl_class), TtlClass::ALL);
    expect_all("connectivity", apps.iter().map(|a| a.external_connectivity), Connectivity::ALL);
    expect_all("execution environment", apps.iter().map(|a| a.execution_environment), ExecEnv::ALL);
    expect_all("risk tier", apps.iter().map(|a| a.risk.tier), &[Tier::Low, Tier::Medium, Tier::High]);
    assert!(
        apps.iter().any(|a| !a.manifest_complete() && a.state != AppState::Discovered),
        "some registered manifests are incomplete"
    );
    assert!(apps.iter().any(|a| a.has_flag(crate::domain::app::FLAG_INACTIVE)));
    assert!(apps.iter().any(|a| a.has_flag(crate::domain::app::FLAG_RETIREMENT_SCHEDULED)));
    assert!(apps.iter().any(|a| a.monthly_spend > a.monthly_budget), "some apps run over budget");

    let approvals = all_approvals(store.conn());
    let pending: Vec<&Approval> = approvals.iter().filter(|a| a.status == ApprovalStatus::Pending).collect();
    for status in [ApprovalStatus::Pending, ApprovalStatus::Approved, ApprovalStatus::Rejected] {
        assert!(approvals.iter().any(|a| a.status == status), "no {status:?} request");
    }
    for kind in [ApprovalKind::NewApp, ApprovalKind::ProductionAccess, ApprovalKind::Renewal, ApprovalKind::Change] {
        assert!(pending.iter().any(|a| a.kind == kind), "no pending {kind:?} request");
    }
    // A held amendment carries its changes; a request sent back says why.
    let held = pending.iter().find(|a| a.kind == ApprovalKind::Change).expect("a held change");
    assert!(held.changes.iter().any(|c| c.field == "controls.dlp"), "{:?}", held.changes);
    let asked = approvals.iter().find(|a| a.status == ApprovalStatus::ChangesRequested).expect("changes asked");
    assert_eq!(asked.changes_asked().map(|d| d.by.as_str()), Some("riley"));
    for tier in [Tier::High, Tier::Medium] {
        assert!(pending.iter().any(|a| a.review_tier == tier && a.is_overdue(now())), "no overdue {tier:?} request");
        assert!(pending.iter().any(|a| a.review_tier == tier && !a.is_overdue(now())), "no {tier:?} request in time");
    }
    for risk in [Tier::Low, Tier::Medium, Tier::High] {
        assert!(pending.iter().any(|a| a.risk.tier == risk), "no pending request of {risk:?} risk");
    }
    assert!(pending.iter().any(|a| a.review_tier == Tier::High && a.decisions.len() == 1), "no half-approved request");
    let by_owner = pending.iter().filter(|a| a.requested_by == a.app_owner).count();
    assert!(by_owner * 10 >= pending.len() * 8, "requests are mostly filed by the owner");

    let actions: BTreeSet<String> = store
        .conn()
        .prepare("SELECT DISTINCT action_type FROM audit")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for action in [
        "app.registered",
        "approval.requested",
        "approval.approve",
        "approval.reject",
        "approval.auto_approved",
        "app.activated",
        "app.rejected",
        "app.renewed",
        "app.discovered",
        "lifecycle.expiring",
        "lifecycle.quarantined",
        "lifecycle.read_only",
        "lifecycle.decommissioned",
        "lifecycle.flag_inactive",
        "app.quarantine",
        "app.release",
        "app.retire",
        "approval.closed",
        "data.export",
        "dlp.block",
        "auth.login",
        "connector.call",
        "record.update",
    ] {
        assert!(actions.contains(action), "no {action} event");
    }
    let outcomes: BTreeMap<String, i64> = store
        .conn()
        .prepare("SELECT outcome, COUNT(*) FROM audit GROUP BY outcome")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(outcomes.len() == 3, "{outcomes:?}");
    let blocked_without_code: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM audit WHERE outcome != 'success' AND error_code IS NULL", [], |row| row.get(0))
        .unwrap();
    assert_eq!(blocked_without_code, 0, "every failure and block has an error code");
}

#[test]
fn events_reference_existing_apps_in_time_order_within_90_days() {
    let store = seeded(400, 8_000, 9);
    let conn = store.conn();
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE app_id IS NOT NULL AND app_id NOT IN (SELECT id FROM apps)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let stamps: Vec<String> = conn
        .prepare("SELECT timestamp FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]), "timestamps rise with seq");
    let format = crate::domain::audit::format_timestamp;
    assert!(stamps[0] >= format(now() - Duration::days(timeline::HISTORY_DAYS)));
    assert!(*stamps.last().unwrap() <= format(now()));
}

#[test]
fn demo_gives_riley_and_olive_their_cases() {
    let mut store = Store::open_in_memory().unwrap();
    let tokens = seed_demo(&mut store, now()).unwrap();
    assert_eq!(
        tokens.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
        ["riley", "rosa", "pat", "olive", "omar", "ada", "ingest-bot"]
    );
    let riley_token = &tokens[0].1;
    let store::users::TokenCheck::Valid(riley) = store::users::authenticate(store.conn(), riley_token, now()).unwrap()
    else {
        panic!("riley's demo token is refused");
    };

    let approvals = all_approvals(store.conn());
    let open = |a: &&Approval| a.status == ApprovalStatus::Pending;
    let decidable = approvals.iter().filter(open).filter(|a| may_decide(a, &riley, super::policy()).is_ok()).count();
    assert!(decidable >= 25, "riley may decide only {decidable} requests");
    assert!(
        approvals.iter().filter(open).any(|a| may_decide(a, &riley, super::policy()).is_err()),
        "riley sees a request they may not decide"
    );
    assert!(
        approvals
            .iter()
            .filter(open)
            .any(|a| a.decisions.iter().any(|d| d.by == "rosa") && may_decide(a, &riley, super::policy()).is_ok())
    );
    let pat = Actor::new("pat", [Role::Lead]);
    assert!(
        approvals.iter().filter(open).any(|a| a.requested_by == "pat" && may_decide(a, &pat, super::policy()).is_err())
    );

    let olive: Vec<App> = all_apps(store.conn()).into_iter().filter(|a| a.owner == "olive").collect();
    assert!((10..=20).contains(&olive.len()), "olive owns {} apps", olive.len());
    let in_state = |state| olive.iter().filter(move |a| a.state == state);
    let three_days = in_state(AppState::Expiring)
        .filter_map(|a| a.expires_at)
        .any(|at| at > now() + Duration::days(3) && at < now() + Duration::days(4));
    assert!(three_days, "olive has an app expiring in 3 days");
    for state in [AppState::Active, AppState::Quarantined, AppState::ReadOnly, AppState::Pending] {
        assert!(in_state(state).count() > 0, "olive has no {state} app");
    }
    // Quarantined now by a reviewer, and retired early by its owner.
    assert!(olive.iter().any(|a| a.hold.as_ref().is_some_and(|hold| hold.by == "riley")), "olive has no held app");
    let retired = all_apps(store.conn()).into_iter().find(|a| a.name == "receipt-router").expect("omar's retired app");
    assert_eq!((retired.owner.as_str(), retired.state), ("omar", AppState::Decommissioned));
    assert!(approvals.iter().any(|a| a.app_id == retired.id && a.status == ApprovalStatus::Closed));
}

#[test]
fn every_scripted_name_ends_in_an_action_with_a_purpose() {
    for script in catalog::SCRIPTS {
        assert!(names::split_name(script.name).is_some(), "{}", script.name);
    }
    assert_eq!(
        names::split_name("crm-dedupe-bot").map(|(topic, action, _)| (topic, action)),
        Some(("crm", "dedupe-bot"))
    );
}

#[test]
fn seeding_a_database_that_holds_apps_or_events_is_refused() {
    let options = SeedOptions { apps: 30, events: 100, seed: 1, now: now() };
    let mut store = seeded(30, 100, 1);
    let again = seed(&mut store, &options);
    assert!(matches!(again, Err(SeedError::AlreadySeeded(30))), "{again:?}");

    let mut store = Store::open_in_memory().unwrap();
    let event = crate::domain::NewAuditEvent { action_type: "app.login".into(), ..Default::default() };
    store.write(|conn| store::audit::append(conn, event, "ingest-bot", now())).unwrap();
    let refused = seed(&mut store, &options);
    assert!(matches!(refused, Err(SeedError::AuditNotEmpty(1))), "{refused:?}");
}

#[test]
fn seeding_leaves_the_schema_and_connection_settings_as_they_were() {
    let schema = |conn: &Connection| -> Vec<(String, Option<String>)> {
        conn.prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let settings = |conn: &Connection| -> (i64, i64) {
        let get = |name| conn.pragma_query_value(None, name, |row| row.get::<_, i64>(0)).unwrap();
        (get("synchronous"), get("cache_size"))
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("seeded.db")).unwrap();
    let (schema_before, settings_before) = (schema(store.conn()), settings(store.conn()));
    seed(&mut store, &SeedOptions { apps: 40, events: 400, seed: 2, now: now() }).unwrap();
    assert_eq!(schema(store.conn()), schema_before);
    assert!(schema_before.iter().any(|(name, _)| name == AUDIT_APP_INDEX));
    assert_eq!(settings(store.conn()), settings_before);
}

#[test]
fn bulk_rows_match_the_store_repositories() {
    let bulk = seeded(80, 0, 21);
    let mut replay = Store::open_in_memory().unwrap();
    let order: Vec<(String, String, String, String)> = bulk
        .conn()
        .prepare("SELECT kind, id, audience, op FROM changes ORDER BY rev")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(order.iter().any(|(_, _, _, op)| op == "delete"), "the seed transfers an app");
    replay
        .write(|conn| {
            // A delete is an entry saved for its first owner, then moved:
            // saved here for that owner, then for the new one by its upsert.
            for (kind, id, audience, op) in &order {
                let first_owner = (op == "delete").then_some(audience);
                if kind == "app" {
                    let mut app = store::apps::get(bulk.conn(), id)?;
                    if let Some(owner) = first_owner {
                        app.owner = owner.clone();
                    }
                    store::apps::save(conn, &mut app)?;
                } else {
                    let mut approval = store::approvals::get(bulk.conn(), id)?;
                    if let Some(owner) = first_owner {
                        approval.app_owner = owner.clone();
                    }
                    store::approvals::save(conn, &mut approval)?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    for table in ["apps", "approvals", "changes"] {
        assert_eq!(rows(bulk.conn(), table), rows(replay.conn(), table), "{table}");
    }
}

/// CPU seconds this process has used so far (user, system), where Linux tells.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index)?.parse::<f64>().ok().map(|ticks| ticks / 100.0);
    Some((ticks(11)?, ticks(12)?))
}

/// `cargo test --release --lib seed -- --ignored --nocapture`
#[test]
#[ignore = "scale benchmark: 100k apps and 1M events, run in release"]
fn seed_scale_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scale.db");
    let mut store = Store::open(&path).unwrap();
    let options = SeedOptions { apps: 100_000, events: 1_000_000, seed: 1, now: now() };
    let cpu_before = cpu_seconds();
    let report = seed(&mut store, &options).unwrap();
    if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
        println!("seed used {:.2} s user and {:.2} s system CPU", after.0 - before.0, after.1 - before.1);
    }
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let wal = path.with_extension("db-wal");
    println!(
        "seeded {} apps, {} approvals, {} events in {:.2?}; db {:.1} MiB, wal {:.1} MiB",
        report.apps,
        report.approvals,
        report.events,
        report.elapsed,
        size(&path) as f64 / 1048576.0,
        size(&wal) as f64 / 1048576.0
    );
    let verify = store.read(store::audit::verify).unwrap();
    println!("verified {} events in {:.2?}", verify.verified, verify.elapsed);
    assert!(verify.result.is_ok());
}

#[test]
fn the_demo_holds_a_discovered_app_taken_through_review() {
    let mut store = Store::open_in_memory().unwrap();
    seed_demo(&mut store, now()).unwrap();
    let apps = all_apps(store.conn());
    let adopted = apps.iter().find(|a| a.name == super::adopted::ADOPTED_APP).expect("the adopted app");
    assert_eq!((adopted.owner.as_str(), adopted.state), (super::adopted::ADOPTED_BY, AppState::Pending));
    assert_eq!(adopted.team, "finance");
    let requests: Vec<Approval> = all_approvals(store.conn()).into_iter().filter(|a| a.app_id == adopted.id).collect();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].kind, requests[0].status), (ApprovalKind::NewApp, ApprovalStatus::Pending));
    let adopted_events: i64 = store
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action_type = 'app.adopted' AND app_id = ?1 AND actor_id = 'omar'",
            [&adopted.id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(adopted_events, 1);
    // The demo still holds discovered apps for the coverage KPI to count.
    assert!(apps.iter().any(|a| a.state == AppState::Discovered));
    assert!(store::audit::verify(store.conn()).unwrap().result.is_ok());
}

#[test]
fn the_demo_has_a_production_access_request_a_withdrawn_one_and_a_transferred_app() {
    let store = seeded(DEMO_APPS, 4_000, DEMO_SEED);
    let approvals = all_approvals(store.conn());
    let access: Vec<&Approval> = approvals.iter().filter(|a| a.kind == ApprovalKind::ProductionAccess).collect();
    assert!(
        access.iter().all(|a| a.environment.as_deref() == Some("production") && !a.reason.is_empty()),
        "every access request names its environment and why"
    );
    assert!(access.iter().any(|a| a.status == ApprovalStatus::Pending), "a pending production access request");
    let withdrawn: Vec<&Approval> = approvals.iter().filter(|a| a.status == ApprovalStatus::Withdrawn).collect();
    assert_eq!(withdrawn.len(), 1, "{withdrawn:#?}");
    assert_eq!(
        (withdrawn[0].app_name.as_str(), withdrawn[0].withdrawn_by.as_deref()),
        ("discount-approver", Some("olive"))
    );

    let apps = all_apps(store.conn());
    let moved = apps.iter().find(|a| a.name == "quota-tracker").expect("the transferred app");
    assert_eq!((moved.owner.as_str(), moved.state), ("omar", AppState::Active));
    assert!(approvals.iter().filter(|a| a.app_id == moved.id).all(|a| a.app_owner == "omar"));
    // Both owners read the transfer; its history before it is olive's doing.
    for owner in ["olive", "omar"] {
        let visibility = crate::domain::Visibility::OwnedBy(owner.into());
        let (events, _) = store::audit::page(store.conn(), 0, 5_000, &visibility).unwrap();
        let transfers: Vec<_> = events.iter().filter(|e| e.action_type == "app.transfer").collect();
        assert_eq!(transfers.len(), 1, "{owner}");
        assert_eq!(transfers[0].request_context["from"], "olive");
        assert_eq!(transfers[0].request_context["to"], "omar");
        assert_eq!(transfers[0].actor_id, "pat");
    }
    let (events, _) = store::audit::page(store.conn(), 0, 5_000, &crate::domain::Visibility::All).unwrap();
    let of_moved: Vec<_> = events.iter().filter(|e| e.app_id.as_deref() == Some(moved.id.as_str())).collect();
    let transfer_at = of_moved.iter().find(|e| e.action_type == "app.transfer").unwrap().timestamp;
    for event in of_moved.iter().filter(|e| e.timestamp < transfer_at && e.actor_role == "owner") {
        assert_eq!(event.actor_id, "olive", "{event:?}");
    }
    let actions: BTreeSet<&str> = events.iter().map(|e| e.action_type.as_str()).collect();
    assert!(actions.contains("approval.withdrawn"));
}

#[test]
fn govdeck_seed_adopts_the_scripted_discovered_app_when_the_catalog_holds_it() {
    let mut store = seeded(2_000, 1_000, 12);
    assert!(store.write(|conn| super::adopted::adopt_if_present(conn, now())).unwrap());
    let adopted = all_apps(store.conn()).into_iter().find(|a| a.name == super::adopted::ADOPTED_APP).unwrap();
    assert_eq!(adopted.state, AppState::Pending, "taken through review under its discovered id");
    assert!(store::audit::verify(store.conn()).unwrap().result.is_ok());
    // A catalog too small for the scripted apps has nothing to adopt, and that is no error.
    let mut small = seeded(5, 10, 12);
    assert!(!small.write(|conn| super::adopted::adopt_if_present(conn, now())).unwrap());
}

/// The rules as they were compiled in before policies, frozen here so the
/// default policy can be held to them.
mod compiled_in {
    use super::*;

    pub fn score(app: &App) -> u32 {
        let data = match app.data_classification {
            DataClass::Public => 0,
            DataClass::Internal => 10,
            DataClass::Sensitive => 30,
            DataClass::Pii => 50,
        };
        let users = match app.expected_users {
            0..=9 => 0,
            10..=100 => 10,
            _ => 20,
        };
        let connectivity = match app.external_connectivity {
            Connectivity::None => 0,
            Connectivity::SaasConnector => 10,
            Connectivity::ExternalApi => 20,
        };
        let environment = if app.execution_environment == ExecEnv::DesktopAgent { 10 } else { 0 };
        data + users + connectivity + environment
    }

    pub fn tier(score: u32) -> Tier {
        if score > 50 {
            Tier::High
        } else if score >= 30 {
            Tier::Medium
        } else {
            Tier::Low
        }
    }

    /// `None`: approved by policy at intake.
    pub fn intake_review(app: &App) -> Option<Tier> {
        match tier(score(app)) {
            Tier::Low if app.controls.secrets_in_vault && app.controls.otel => None,
            Tier::Low | Tier::Medium => Some(Tier::Medium),
            Tier::High => Some(Tier::High),
        }
    }

    pub fn sla_hours(review_tier: Tier) -> i64 {
        if review_tier == Tier::High { 48 } else { 72 }
    }

    pub fn ttl_days(class: TtlClass) -> i64 {
        if class == TtlClass::Prototype { 30 } else { 365 }
    }

    /// The state the ladder gives a live app (not held) at `at`.
    pub fn ladder_state(expires_at: DateTime<Utc>, at: DateTime<Utc>) -> AppState {
        if at < expires_at - Duration::days(14) {
            AppState::Active
        } else if at < expires_at {
            AppState::Expiring
        } else if at < expires_at + Duration::days(7) {
            AppState::Quarantined
        } else if at < expires_at + Duration::days(37) {
            AppState::ReadOnly
        } else {
            AppState::Decommissioned
        }
    }
}

#[test]
fn the_default_policy_decides_the_seeded_catalog_as_the_compiled_in_rules_did() {
    let store = seeded(2_000, 2_000, 7);
    let conn = store.conn();
    let policy = super::policy();
    let apps = all_apps(conn);
    let mut desktop_agents_now_reviewed = 0;
    for app in &apps {
        let risk = policy.assess(
            app.data_classification,
            app.expected_users,
            app.external_connectivity,
            app.execution_environment,
        );
        assert_eq!(risk.score, compiled_in::score(app), "score of {}", app.name);
        assert_eq!(risk.tier, compiled_in::tier(risk.score), "tier of {}", app.name);
        assert_eq!(app.risk.score, risk.score, "the seeded score of {}", app.name);
        let review = match policy.intake_review(&risk, &app.controls, app.execution_environment) {
            crate::domain::risk::IntakeReview::AutoApproved => None,
            crate::domain::risk::IntakeReview::Review(tier) => Some(tier),
        };
        let before = compiled_in::intake_review(app);
        if review != before {
            // The one rule the default policy adds: a desktop agent is never
            // approved by policy alone (it gets at least a medium review).
            assert_eq!((before, review), (None, Some(Tier::Medium)), "review of {}", app.name);
            assert_eq!(app.execution_environment, ExecEnv::DesktopAgent, "review of {}", app.name);
            desktop_agents_now_reviewed += 1;
        }
        assert_eq!(policy.ttl_days(app.ttl_class), compiled_in::ttl_days(app.ttl_class));
        if app.state.is_live()
            && app.hold.is_none()
            && let Some(expires_at) = app.expires_at
        {
            // The ladder from the app's own start, at each day of its next 60.
            let mut walked = app.clone();
            walked.enter(AppState::Active, walked.state_since.min(expires_at - Duration::days(400)));
            for day in 0..60 {
                let at = now() + Duration::days(day);
                let mut probe = walked.clone();
                probe.last_activity_at = Some(at);
                while let Some(step) = ttl::next_transition(&probe, policy, at) {
                    probe.enter(step.to, step.at);
                }
                assert_eq!(probe.state, compiled_in::ladder_state(expires_at, at), "{} on day {day}", app.name);
            }
        }
    }
    let approvals = all_approvals(conn);
    assert!(approvals.len() > 100, "the seed filed {} requests", approvals.len());
    for request in approvals.iter().filter(|a| a.status == ApprovalStatus::Pending) {
        let filed = request.due_at - Duration::hours(compiled_in::sla_hours(request.review_tier));
        assert_eq!(policy.due_at(request.review_tier, filed), request.due_at, "due date of {}", request.id);
    }
    let counted = |tier| apps.iter().filter(|a| compiled_in::tier(a.risk.score) == tier).count();
    assert!(counted(Tier::Low) > 0 && counted(Tier::Medium) > 0 && counted(Tier::High) > 0);
    eprintln!("{} apps compared; {desktop_agents_now_reviewed} low-risk desktop agents are now reviewed", apps.len());
}
