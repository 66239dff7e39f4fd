//! The KPIs (docs/governance.md), computed from what the cache holds so they work
//! offline. Pure: the caller passes `now` and the DLP block counts per month
//! (which come from the audit log, not from apps or requests).
//!
//! Definitions (docs/governance.md states them too):
//! * *active* apps are `active` or `expiring`;
//! * the *governed* catalog is every registered app that is not rejected or
//!   decommissioned; compliance shares (manifest, OTel, backups, SBOM), the
//!   high-risk count and over-budget count are over it;
//! * *coverage* is registered apps over registered plus discovered ones;
//! * *time to approve* runs from a request's creation to its approval;
//! * *auto-approved share* is the share of apps that went live without any
//!   new-app request (policy approved them at intake);
//! * *TTL compliance* is the share of apps under the lifecycle (live,
//!   quarantined, read-only or decommissioned) that did not lapse: lapsed
//!   means quarantined, read-only, or still live past the expiry; an app a
//!   reviewer or a lead holds in quarantine (docs/governance.md, "Holds") is
//!   not a lapse of its TTL, so it counts as lapsed only once its expiry has
//!   passed (it is still counted in `quarantined`, and in `held`);
//! * trends are 12 buckets, oldest first: weeks of 7 days ending at `now`
//!   (approvals), weeks of 7 days starting at `now` (expiries), and calendar
//!   months `YYYY-MM` ending with the month of `now` (DLP blocks).

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{AppState, AppSummary, Approval, ApprovalKind, ApprovalStatus, AuditEvent, DataClass, Tier};

/// Buckets in every trend series.
pub const TREND_BUCKETS: usize = 12;
/// The audit `action_type` of a DLP block.
pub const DLP_BLOCK_ACTION: &str = "dlp.block";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCounts {
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataClassCounts {
    pub public: usize,
    pub internal: usize,
    pub sensitive: usize,
    pub pii: usize,
}

/// Every figure and trend the KPI pane shows. Shares are percentages
/// (0–100), `None` when there is nothing to divide by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub total_apps: usize,
    pub active_apps: usize,
    pub active_by_tier: TierCounts,
    pub active_by_data_class: DataClassCounts,
    pub registered_apps: usize,
    pub discovered_apps: usize,
    pub coverage_pct: Option<f64>,
    pub governed_apps: usize,
    pub manifest_complete_pct: Option<f64>,
    pub otel_pct: Option<f64>,
    pub backups_pct: Option<f64>,
    pub sbom_pct: Option<f64>,
    pub pending_approvals: usize,
    pub overdue_approvals: usize,
    pub median_hours_to_approve: Option<f64>,
    pub p90_hours_to_approve: Option<f64>,
    pub auto_approved_pct: Option<f64>,
    pub high_risk_apps: usize,
    pub ttl_compliance_pct: Option<f64>,
    pub expiring_7d: usize,
    pub expiring_30d: usize,
    pub quarantined: usize,
    /// Quarantined apps a reviewer or a lead holds (a subset of `quarantined`).
    #[serde(default)]
    pub held: usize,
    pub read_only: usize,
    pub over_budget: usize,
    /// Requests approved per week, the last 12 weeks, oldest first.
    pub approvals_per_week: Vec<u64>,
    /// Median hours from request to approval per week (same weeks).
    pub median_hours_to_approve_per_week: Vec<Option<u64>>,
    /// `("YYYY-MM", blocks)` for the last 12 months, oldest first.
    pub dlp_blocks_per_month: Vec<(String, u64)>,
    /// Live apps whose expiry falls in each of the next 12 weeks.
    pub expiring_per_week: Vec<u64>,
}

fn pct(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn governed(app: &AppSummary) -> bool {
    !matches!(app.state, AppState::Discovered | AppState::Rejected | AppState::Decommissioned)
}

fn under_lifecycle(state: AppState) -> bool {
    matches!(
        state,
        AppState::Active | AppState::Expiring | AppState::Quarantined | AppState::ReadOnly | AppState::Decommissioned
    )
}

/// Median of sorted values: the mean of the two middle ones for an even count.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], pct: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `YYYY-MM` of `at`, and of the months before it.
fn month_labels(now: DateTime<Utc>, count: usize) -> Vec<String> {
    let mut year = now.year();
    let mut month = now.month() as i32;
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        labels.push(format!("{year:04}-{month:02}"));
        month -= 1;
        if month == 0 {
            month = 12;
            year -= 1;
        }
    }
    labels.reverse();
    labels
}

/// Counts DLP blocks per `YYYY-MM` in `events`, for callers that hold the
/// events rather than a per-month query.
pub fn dlp_blocks_per_month<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Vec<(String, u64)> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for event in events.into_iter().filter(|e| e.action_type == DLP_BLOCK_ACTION) {
        *counts.entry(event.timestamp.format("%Y-%m").to_string()).or_default() += 1;
    }
    counts.into_iter().collect()
}

pub fn compute(
    apps: &[AppSummary],
    approvals: &[Approval],
    monthly_dlp_blocks: &[(String, u64)],
    now: DateTime<Utc>,
) -> Kpis {
    compute_with_holds(apps, approvals, std::iter::empty(), monthly_dlp_blocks, now)
}

/// [`compute`] knowing which apps are held in quarantine (by id): summaries
/// do not carry holds.
pub fn compute_with_holds<'a>(
    apps: &[AppSummary],
    approvals: &[Approval],
    held: impl IntoIterator<Item = &'a str>,
    monthly_dlp_blocks: &[(String, u64)],
    now: DateTime<Utc>,
) -> Kpis {
    let mut builder = KpiBuilder::new(now);
    held.into_iter().for_each(|id| builder.hold(id));
    approvals.iter().for_each(|approval| builder.add_request(approval));
    apps.iter().for_each(|app| builder.add_app(app));
    builder.finish(monthly_dlp_blocks)
}

/// [`compute`] one record at a time, so the console can stream 100k apps
/// and their requests from its cache without holding them: every request
/// first, then every app.
pub struct KpiBuilder {
    now: DateTime<Utc>,
    kpis: Kpis,
    /// Apps with a new-app request (the others were approved by policy).
    with_request: std::collections::HashSet<String>,
    hours_to_approve: Vec<f64>,
    per_week: Vec<Vec<f64>>,
    lifecycle: usize,
    lapsed: usize,
    went_live: usize,
    auto_approved: usize,
    complete: usize,
    otel: usize,
    backups: usize,
    sbom: usize,
    /// Apps held in quarantine by a person, not by their TTL.
    held: std::collections::HashSet<String>,
}

impl KpiBuilder {
    pub fn new(now: DateTime<Utc>) -> KpiBuilder {
        KpiBuilder {
            now,
            kpis: Kpis { expiring_per_week: vec![0; TREND_BUCKETS], ..Kpis::default() },
            with_request: Default::default(),
            hours_to_approve: Vec::new(),
            per_week: vec![Vec::new(); TREND_BUCKETS],
            lifecycle: 0,
            lapsed: 0,
            went_live: 0,
            auto_approved: 0,
            complete: 0,
            otel: 0,
            backups: 0,
            sbom: 0,
            held: Default::default(),
        }
    }

    /// Marks app `id` as held in quarantine; call before [`KpiBuilder::add_app`].
    pub fn hold(&mut self, id: &str) {
        self.held.insert(id.to_string());
    }

    pub fn add_request(&mut self, approval: &Approval) {
        let (now, week) = (self.now, Duration::days(7));
        if approval.kind == ApprovalKind::NewApp && !self.with_request.contains(&approval.app_id) {
            self.with_request.insert(approval.app_id.clone());
        }
        if approval.status == ApprovalStatus::Pending {
            self.kpis.pending_approvals += 1;
            self.kpis.overdue_approvals += usize::from(approval.is_overdue(now));
        }
        if approval.status != ApprovalStatus::Approved {
            return;
        }
        let Some(decided_at) = approval.decided_at else { return };
        let hours = (decided_at - approval.created_at).num_seconds().max(0) as f64 / 3600.0;
        self.hours_to_approve.push(hours);
        let trend_start = now - week * TREND_BUCKETS as i32;
        if decided_at >= trend_start && decided_at < now {
            let bucket = ((decided_at - trend_start).num_seconds() / week.num_seconds()) as usize;
            if let Some(slot) = self.per_week.get_mut(bucket) {
                slot.push(hours);
            }
        }
    }

    pub fn add_app(&mut self, app: &AppSummary) {
        let (now, week) = (self.now, Duration::days(7));
        let kpis = &mut self.kpis;
        kpis.total_apps += 1;
        if app.state == AppState::Discovered {
            kpis.discovered_apps += 1;
        } else {
            kpis.registered_apps += 1;
        }
        if app.state.is_live() {
            kpis.active_apps += 1;
            match app.risk.tier {
                Tier::High => kpis.active_by_tier.high += 1,
                Tier::Medium => kpis.active_by_tier.medium += 1,
                Tier::Low => kpis.active_by_tier.low += 1,
            }
            match app.data_classification {
                DataClass::Public => kpis.active_by_data_class.public += 1,
                DataClass::Internal => kpis.active_by_data_class.internal += 1,
                DataClass::Sensitive => kpis.active_by_data_class.sensitive += 1,
                DataClass::Pii => kpis.active_by_data_class.pii += 1,
            }
            if let Some(expires_at) = app.expires_at {
                let left = expires_at - now;
                if left >= Duration::zero() {
                    // The renewals pane's buckets, by the same rounding rule.
                    let days = super::ttl::days_left(expires_at, now);
                    if days <= 7 {
                        kpis.expiring_7d += 1;
                    }
                    if days <= 30 {
                        kpis.expiring_30d += 1;
                    }
                    let bucket = (left.num_seconds() / week.num_seconds()) as usize;
                    if let Some(slot) = kpis.expiring_per_week.get_mut(bucket) {
                        *slot += 1;
                    }
                }
            }
        }
        if governed(app) {
            kpis.governed_apps += 1;
            self.complete += usize::from(app.manifest_complete());
            self.otel += usize::from(app.controls.otel);
            self.backups += usize::from(app.controls.backups);
            self.sbom += usize::from(app.controls.sbom);
            kpis.high_risk_apps += usize::from(app.risk.tier == Tier::High);
            kpis.over_budget += usize::from(app.monthly_budget > 0.0 && app.monthly_spend > app.monthly_budget);
        }
        let held = app.state == AppState::Quarantined && self.held.contains(app.id.as_str());
        kpis.held += usize::from(held);
        match app.state {
            AppState::Quarantined => kpis.quarantined += 1,
            AppState::ReadOnly => kpis.read_only += 1,
            _ => {}
        }
        if under_lifecycle(app.state) {
            self.lifecycle += 1;
            self.went_live += 1;
            self.auto_approved += usize::from(!self.with_request.contains(app.id.as_str()));
            let expired = app.expires_at.is_some_and(|e| e <= now);
            let past_expiry = (app.state.is_live() || held) && expired;
            if (matches!(app.state, AppState::Quarantined | AppState::ReadOnly) && !held) || past_expiry {
                self.lapsed += 1;
            }
        }
    }

    pub fn finish(mut self, monthly_dlp_blocks: &[(String, u64)]) -> Kpis {
        let mut kpis = self.kpis;
        kpis.coverage_pct = pct(kpis.registered_apps, kpis.registered_apps + kpis.discovered_apps);
        kpis.manifest_complete_pct = pct(self.complete, kpis.governed_apps);
        kpis.otel_pct = pct(self.otel, kpis.governed_apps);
        kpis.backups_pct = pct(self.backups, kpis.governed_apps);
        kpis.sbom_pct = pct(self.sbom, kpis.governed_apps);
        kpis.ttl_compliance_pct = pct(self.lifecycle - self.lapsed, self.lifecycle);
        kpis.auto_approved_pct = pct(self.auto_approved, self.went_live);
        self.hours_to_approve.sort_by(f64::total_cmp);
        kpis.median_hours_to_approve = median(&self.hours_to_approve);
        kpis.p90_hours_to_approve = percentile(&self.hours_to_approve, 90.0);
        kpis.approvals_per_week = self.per_week.iter().map(|hours| hours.len() as u64).collect();
        kpis.median_hours_to_approve_per_week = self
            .per_week
            .iter_mut()
            .map(|hours| {
                hours.sort_by(f64::total_cmp);
                median(hours).map(|h| h.round() as u64)
            })
            .collect();
        kpis.dlp_blocks_per_month = month_labels(self.now, TREND_BUCKETS)
            .into_iter()
            .map(|label| {
                let blocks = monthly_dlp_blocks.iter().filter(|(month, _)| *month == label).map(|(_, n)| n).sum();
                (label, blocks)
            })
            .collect();
        kpis
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::app::tests::manifest;
    use crate::domain::policy::Policy;
    use crate::domain::{App, Decision, DecisionKind, Role};
    use chrono::TimeZone;

    fn summaries(apps: &[App]) -> Vec<AppSummary> {
        apps.iter().map(AppSummary::from).collect()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn app(id: &str, state: AppState, expires_in_days: Option<i64>) -> App {
        let mut app =
            App::from_manifest(id.into(), "olive".into(), manifest(), Policy::builtin(), now() - Duration::days(100));
        app.state = state;
        app.expires_at = expires_in_days.map(|d| now() + Duration::days(d));
        app
    }

    fn approved(app: &App, created_days_ago: i64, took_hours: i64) -> Approval {
        let created = now() - Duration::days(created_days_ago);
        let mut approval = Approval::new(
            format!("apr-{}", app.id),
            app,
            ApprovalKind::NewApp,
            "olive".into(),
            Tier::High,
            Policy::builtin(),
            created,
        );
        approval.status = ApprovalStatus::Approved;
        approval.decided_at = Some(created + Duration::hours(took_hours));
        approval.decisions.push(Decision {
            by: "riley".into(),
            role: Role::Reviewer,
            decision: DecisionKind::Approve,
            comment: String::new(),
            at: created + Duration::hours(took_hours),
            policy_version: None,
        });
        approval
    }

    #[test]
    fn counts_states_tiers_and_expiries() {
        let apps = vec![
            app("a1", AppState::Active, Some(5)),
            app("a2", AppState::Expiring, Some(20)),
            app("a3", AppState::Active, Some(200)),
            app("a4", AppState::Quarantined, Some(-3)),
            app("a5", AppState::ReadOnly, Some(-10)),
            app("a6", AppState::Decommissioned, Some(-60)),
            app("a7", AppState::Discovered, None),
            app("a8", AppState::Pending, None),
        ];
        let k = compute(&summaries(&apps), &[], &[], now());
        assert_eq!(k.total_apps, 8);
        assert_eq!(k.active_apps, 3);
        assert_eq!(k.active_by_tier, TierCounts { high: 3, medium: 0, low: 0 });
        assert_eq!(k.active_by_data_class.pii, 3);
        assert_eq!((k.registered_apps, k.discovered_apps), (7, 1));
        assert_eq!(k.coverage_pct, Some(700.0 / 8.0));
        assert_eq!((k.expiring_7d, k.expiring_30d), (1, 2));
        assert_eq!((k.quarantined, k.read_only), (1, 1));
        // Under the lifecycle: a1 a2 a3 a4 a5 a6; lapsed: a4 a5.
        assert_eq!(k.ttl_compliance_pct, Some(400.0 / 6.0));
        // Governed: a1..a5 and a8 (not discovered, rejected or decommissioned).
        assert_eq!(k.governed_apps, 6);
        assert_eq!(k.high_risk_apps, 6);
        assert_eq!(k.otel_pct, Some(100.0));
        assert_eq!(k.sbom_pct, Some(0.0));
        assert_eq!(k.expiring_per_week.len(), TREND_BUCKETS);
        assert_eq!(k.expiring_per_week[0], 1);
        assert_eq!(k.expiring_per_week[2], 1);
        assert_eq!(k.expiring_per_week.iter().sum::<u64>(), 2, "200 days out is beyond 12 weeks");
    }

    #[test]
    fn a_held_app_is_not_a_ttl_lapse_until_its_expiry_passes_and_closed_requests_are_not_overdue() {
        let apps = vec![
            app("h1", AppState::Quarantined, Some(100)),
            app("h2", AppState::Quarantined, Some(-1)),
            app("q1", AppState::Quarantined, Some(-3)),
            app("a1", AppState::Active, Some(100)),
        ];
        let plain = compute(&summaries(&apps), &[], &[], now());
        assert_eq!(plain.ttl_compliance_pct, Some(25.0), "without holds every quarantine is a lapse");
        let k = compute_with_holds(&summaries(&apps), &[], ["h1", "h2", "a1"], &[], now());
        assert_eq!((k.quarantined, k.held), (3, 2), "a hold on a live app is no hold");
        // Lapsed: h2 (expired meanwhile) and q1 (its TTL ran out); h1 is held, not lapsed.
        assert_eq!(k.ttl_compliance_pct, Some(50.0));

        let mut late = Approval::new(
            "r1".into(),
            &apps[0],
            ApprovalKind::Renewal,
            "olive".into(),
            Tier::Medium,
            Policy::builtin(),
            now(),
        );
        late.due_at = now() - Duration::days(3);
        let closed = crate::domain::hold::close_request(&late, "policy", "decommissioned", now()).unwrap();
        let k = compute(&summaries(&apps), &[late.clone(), closed], &[], now());
        assert_eq!((k.pending_approvals, k.overdue_approvals), (1, 1), "the closed one counts in neither");
    }

    #[test]
    fn approval_times_and_trends() {
        let apps: Vec<App> = (0..4).map(|i| app(&format!("a{i}"), AppState::Active, Some(100))).collect();
        let approvals = vec![approved(&apps[0], 3, 10), approved(&apps[1], 3, 30), approved(&apps[2], 20, 50), {
            let mut pending = Approval::new(
                "p1".into(),
                &apps[3],
                ApprovalKind::ProductionAccess,
                "omar".into(),
                Tier::High,
                Policy::builtin(),
                now() - Duration::days(3),
            );
            pending.rev = 1;
            pending
        }];
        let k = compute(&summaries(&apps), &approvals, &[], now());
        assert_eq!((k.pending_approvals, k.overdue_approvals), (1, 1));
        assert_eq!(k.median_hours_to_approve, Some(30.0));
        assert_eq!(k.p90_hours_to_approve, Some(50.0));
        assert_eq!(k.approvals_per_week.len(), TREND_BUCKETS);
        assert_eq!(k.approvals_per_week[11], 2, "{:?}", k.approvals_per_week);
        assert_eq!(k.approvals_per_week[9], 1, "{:?}", k.approvals_per_week);
        assert_eq!(k.median_hours_to_approve_per_week[11], Some(20));
        assert_eq!(k.median_hours_to_approve_per_week[0], None);
        // a3 has no new-app request: approved by policy at intake.
        assert_eq!(k.auto_approved_pct, Some(25.0));
    }

    #[test]
    fn dlp_months_are_the_last_twelve_with_gaps_filled() {
        let blocks = vec![("2026-11".to_string(), 4), ("2026-01".to_string(), 2), ("2025-11".to_string(), 9)];
        let k = compute(&[], &[], &blocks, now());
        assert_eq!(k.dlp_blocks_per_month.len(), 12);
        assert_eq!(k.dlp_blocks_per_month[0], ("2025-12".to_string(), 0));
        assert_eq!(k.dlp_blocks_per_month[1], ("2026-01".to_string(), 2));
        assert_eq!(k.dlp_blocks_per_month[11], ("2026-11".to_string(), 4));
        assert_eq!(k.coverage_pct, None);
        assert_eq!(k.median_hours_to_approve, None);
    }

    #[test]
    fn percentiles() {
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), Some(2.5));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90.0), Some(9.0));
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
    }
}
