//! Who and what each seeded app is: owner, team, name, purpose, risk inputs,
//! connectors, controls and budget, and the lifecycle state it is aimed at.
//! The first apps follow [`SCRIPTS`], so the demo users always find the
//! same cases; the rest are drawn from the word lists. [`super::story`]
//! then gives each app the history that explains its state.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::names::{self, TEAMS, Team, pick, pick_weighted};
use super::story::{self, Happening};
use crate::domain::app::FLAG_MANIFEST_INCOMPLETE;
use crate::domain::{
    App, Approval, Connectivity, Controls, DataClass, ExecEnv, LifecycleTier, Manifest, Tier, TtlClass,
};

/// The state an app is aimed at, with the detail its history needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Active,
    /// Live, unused for 90 to 179 days: flagged `inactive_90d`.
    ActiveIdle,
    /// Live outside production, with a production access request pending.
    ProductionRequested,
    Expiring,
    /// Unused for 180 days: retirement scheduled, so expiring.
    RetiringUnused,
    Quarantined,
    ReadOnly,
    /// Read-only, with the owner's renewal request pending.
    ReadOnlyRenewalRequested,
    Decommissioned,
    /// Found running by a platform scan, never registered.
    Discovered,
    Pending,
    PendingOverdue,
    /// High risk, one reviewer's approval in, waiting for a second.
    PendingHalfApproved,
    Rejected,
    /// Live, with a material amendment of its manifest held for review.
    ChangeHeld,
    /// Pending, its review sent back to the owner for changes.
    ChangesRequested,
    /// Live; its owner asked for production access, then withdrew the request.
    AccessWithdrawn,
    /// Live; a lead moved it from its first owner to the scripted one.
    Transferred,
    /// Live, then quarantined now by a reviewer (a hold), still held.
    Held,
    /// Live, held by a reviewer, then released by another: live again.
    Released,
    /// Live with a production access request, then retired early by its
    /// owner through the exit checklist (the request closed).
    Retired,
}

/// How often each target is drawn for the apps after the scripts, in permille.
const TARGET_WEIGHTS: &[(Target, u32)] = &[
    (Target::Active, 520),
    (Target::ActiveIdle, 20),
    (Target::ProductionRequested, 15),
    (Target::Expiring, 70),
    (Target::RetiringUnused, 10),
    (Target::Quarantined, 40),
    (Target::ReadOnly, 30),
    (Target::ReadOnlyRenewalRequested, 15),
    (Target::Decommissioned, 60),
    (Target::Discovered, 60),
    (Target::Pending, 70),
    (Target::PendingOverdue, 30),
    (Target::PendingHalfApproved, 20),
    (Target::Rejected, 40),
];

/// An app the demo relies on.
pub struct Script {
    pub owner: &'static str,
    pub team: &'static str,
    pub name: &'static str,
    pub target: Target,
    pub tier: Tier,
    /// For expiring and quarantined targets: hours from now to `expires_at`.
    pub expires_in_hours: Option<i64>,
    /// Who filed the request, when not the owner.
    pub requested_by: Option<&'static str>,
    /// For [`Target::Transferred`]: who owned it before the lead moved it.
    pub previous_owner: Option<&'static str>,
}

const fn script(owner: &'static str, team: &'static str, name: &'static str, target: Target, tier: Tier) -> Script {
    Script { owner, team, name, target, tier, expires_in_hours: None, requested_by: None, previous_owner: None }
}

/// The first apps of every seed: olive's renewals demo (an app in every
/// interesting state), omar's, and the separation-of-duties cases (an app
/// riley owns, requests pat filed).
pub const SCRIPTS: &[Script] = &[
    script("olive", "sales-ops", "sales-quoting", Target::Active, Tier::High),
    script("olive", "sales-ops", "pipeline-digest", Target::Active, Tier::Low),
    script("olive", "sales-ops", "territory-planner", Target::ChangeHeld, Tier::Medium),
    script("olive", "sales-ops", "lead-scorer", Target::ActiveIdle, Tier::Medium),
    Script {
        expires_in_hours: Some(3 * 24 + 3),
        ..script("olive", "finance", "invoice-reconciler", Target::Expiring, Tier::Medium)
    },
    Script {
        expires_in_hours: Some(9 * 24 + 5),
        ..script("olive", "sales-ops", "commission-calculator", Target::Expiring, Tier::High)
    },
    script("olive", "sales-ops", "win-loss-report", Target::RetiringUnused, Tier::Low),
    Script {
        expires_in_hours: Some(-2 * 24 - 4),
        ..script("olive", "sales-ops", "partner-portal-sync", Target::Quarantined, Tier::Medium)
    },
    script("olive", "sales-ops", "quote-approver", Target::ReadOnly, Tier::Medium),
    script("olive", "sales-ops", "crm-dedupe-bot", Target::ReadOnlyRenewalRequested, Tier::High),
    script("olive", "sales-ops", "deal-desk-intake", Target::PendingHalfApproved, Tier::High),
    script("olive", "sales-ops", "forecast-rollup", Target::ChangesRequested, Tier::Medium),
    script("olive", "sales-ops", "renewal-reminder", Target::Rejected, Tier::Medium),
    script("olive", "sales-ops", "legacy-quote-exporter", Target::Decommissioned, Tier::Low),
    script("olive", "sales-ops", "contract-notifier", Target::Held, Tier::Medium),
    script("olive", "sales-ops", "discount-checker", Target::Released, Tier::Low),
    script("omar", "finance", "expense-reconciler", Target::Active, Tier::Medium),
    Script {
        expires_in_hours: Some(5 * 24 + 2),
        ..script("omar", "finance", "vendor-payment-tracker", Target::Expiring, Tier::High)
    },
    script("omar", "finance", "budget-forecaster", Target::PendingOverdue, Tier::High),
    script("omar", "finance", "tax-report", Target::Quarantined, Tier::Medium),
    script("omar", "finance", "cash-dashboard", Target::ProductionRequested, Tier::Medium),
    script("omar", "finance", "ledger-exporter", Target::Discovered, Tier::Medium),
    script("omar", "finance", "receipt-router", Target::Retired, Tier::Medium),
    Script {
        requested_by: Some("pat"),
        ..script("riley", "it-ops", "access-review-bot", Target::Pending, Tier::Medium)
    },
    Script { requested_by: Some("pat"), ..script("priya", "hr", "hiring-intake", Target::Pending, Tier::High) },
    script("olive", "sales-ops", "discount-approver", Target::AccessWithdrawn, Tier::Medium),
    Script {
        previous_owner: Some("olive"),
        ..script("omar", "finance", "quota-tracker", Target::Transferred, Tier::Medium)
    },
];

/// People who appear only in [`SCRIPTS`] and the demo users, never drawn as owners.
const RESERVED_PEOPLE: &[&str] = &["olive", "omar", "riley", "rosa", "pat"];

/// Draws apps one at a time; names stay unique across the catalog.
pub struct Catalog {
    now: DateTime<Utc>,
    owners: Vec<String>,
    names_taken: HashSet<String>,
}

/// One generated app: the catalog entry, its requests and its history.
pub struct SeededApp {
    pub app: App,
    pub approvals: Vec<Approval>,
    pub history: Vec<Happening>,
    /// When runtime events may have come from it (none for apps that never ran).
    pub runtime: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Who owned it until when, for an app a lead transferred.
    pub owner_before: Option<(String, DateTime<Utc>)>,
}

impl Catalog {
    /// A catalog of about `apps` apps as of `now`.
    pub fn new(apps: usize, now: DateTime<Utc>) -> Catalog {
        let owners = names::people((apps / 25).max(40))
            .into_iter()
            .filter(|person| !RESERVED_PEOPLE.contains(&person.as_str()))
            .collect();
        let names_taken = SCRIPTS.iter().map(|script| script.name.to_string()).collect();
        Catalog { now, owners, names_taken }
    }

    /// The `index`-th app.
    pub fn generate(&mut self, rng: &mut StdRng, index: usize) -> SeededApp {
        let script = SCRIPTS.get(index);
        let target = script.map_or_else(|| pick_weighted(rng, TARGET_WEIGHTS), |script| script.target);
        let (owner, team) = match script {
            Some(script) => (script.owner.to_string(), team_named(script.team)),
            None => self.draw_owner(rng),
        };
        let wanted_tier = script.map(|script| script.tier).or(match target {
            Target::PendingHalfApproved => Some(Tier::High),
            _ => None,
        });
        let needs_supported_ttl = matches!(target, Target::ActiveIdle | Target::RetiringUnused);
        let manifest = self.manifest(rng, team, target, wanted_tier, needs_supported_ttl, script.map(|s| s.name));
        let id = format!("app_{:016x}", rng.random::<u64>());
        let mut app = App::from_manifest(id, owner, manifest, super::policy(), self.now);
        app.monthly_spend = monthly_spend(rng, app.monthly_budget, target);
        app.version = version(rng, target);
        if app.sponsor.is_empty() || app.cost_center.is_empty() || app.purpose.is_empty() {
            app.set_flag(FLAG_MANIFEST_INCOMPLETE, true);
        }
        let requested_by = script.and_then(|script| script.requested_by);
        let expires_in_hours = script.and_then(|script| script.expires_in_hours);
        let previous_owner = script.and_then(|script| script.previous_owner);
        story::tell(rng, self.now, app, target, requested_by, expires_in_hours, previous_owner)
    }

    fn draw_owner(&self, rng: &mut StdRng) -> (String, &'static Team) {
        // Skewed towards the start of the list: a few people own many apps.
        let position = rng.random::<f64>().powf(1.3) * self.owners.len() as f64;
        let index = (position as usize).min(self.owners.len() - 1);
        let home_team = &TEAMS[index % TEAMS.len()];
        let team = if rng.random_bool(0.85) { home_team } else { pick(rng, TEAMS) };
        (self.owners[index].clone(), team)
    }

    fn manifest(
        &mut self,
        rng: &mut StdRng,
        team: &'static Team,
        target: Target,
        wanted_tier: Option<Tier>,
        needs_supported_ttl: bool,
        scripted_name: Option<&'static str>,
    ) -> Manifest {
        let (data_classification, expected_users, external_connectivity, execution_environment) =
            risk_inputs(rng, wanted_tier);
        let (lifecycle_tier, ttl_class) = lifecycle(rng, needs_supported_ttl);
        let scripted = scripted_name.and_then(|name| Some((name, names::split_name(name)?)));
        let (name, topic, template) = match scripted {
            Some((name, (topic, _, template))) => (name.to_string(), topic, template),
            None => {
                let topic = *pick(rng, team.topics);
                let (action, template) = *pick(rng, names::ACTIONS);
                (self.unique_name(rng, topic, action), topic, template)
            }
        };
        let connectors = connectors(rng, team, external_connectivity);
        let from = connectors.first().map_or("a shared spreadsheet", String::as_str);
        let to = connectors.get(1).map_or("email", String::as_str);
        let mut purpose = names::purpose(template, topic, from, to);
        purpose.push_str(&format!(" for the {} team.", team.name));
        if rng.random_bool(0.2) {
            purpose.push_str(&format!(" Built with {}.", pick(rng, names::PLATFORMS)));
        }
        let mut endpoints = vec![format!("https://{name}.apps.corp.internal")];
        if external_connectivity == Connectivity::ExternalApi {
            endpoints.extend(connectors.iter().map(|connector| names::connector_endpoint(connector)));
        }
        let secrets = connectors
            .iter()
            .map(|connector| {
                let kind = if rng.random_bool(0.6) { "api-key" } else { "oauth-client" };
                format!("{connector}-{kind}")
            })
            .collect();
        let sensitive = matches!(data_classification, DataClass::Sensitive | DataClass::Pii);
        let mut controls = Controls {
            otel: rng.random_bool(0.7),
            backups: rng.random_bool(if lifecycle_tier == LifecycleTier::BusinessCritical { 0.95 } else { 0.6 }),
            sbom: rng.random_bool(0.35),
            secrets_in_vault: rng.random_bool(0.7),
            dlp: rng.random_bool(if sensitive { 0.7 } else { 0.25 }),
        };
        let discovered = target == Target::Discovered;
        if discovered {
            controls = Controls { otel: rng.random_bool(0.1), ..Controls::default() };
        }
        let monthly_budget =
            if discovered { 0.0 } else { *pick(rng, &[0.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2500.0]) };
        let mut manifest = Manifest {
            name,
            purpose: if discovered { String::new() } else { purpose },
            owner: None,
            team: team.name.to_string(),
            sponsor: if discovered || (scripted_name.is_none() && rng.random_bool(0.04)) {
                String::new()
            } else {
                team.sponsor.to_string()
            },
            cost_center: if discovered || (scripted_name.is_none() && rng.random_bool(0.04)) {
                String::new()
            } else {
                format!("CC-{}", team.cost_center_base + rng.random_range(0..4))
            },
            data_classification,
            expected_users,
            external_connectivity,
            execution_environment,
            connectors,
            endpoints,
            secrets,
            environments: environments(rng, target),
            lifecycle_tier,
            ttl_class,
            retention_days: retention_days(rng, data_classification),
            monthly_budget,
            controls,
        };
        if manifest.risk(super::policy()).tier == Tier::Low && reviewed_at_intake(target) {
            // These apps went to a human, so intake must not have auto-approved them.
            manifest.controls.secrets_in_vault = false;
        }
        manifest
    }

    fn unique_name(&mut self, rng: &mut StdRng, topic: &str, action: &str) -> String {
        let mut name = format!("{topic}-{action}");
        for _ in 0..4 {
            if !self.names_taken.contains(&name) {
                break;
            }
            name = format!("{}-{topic}-{action}", pick(rng, names::NAME_PREFIXES));
        }
        let mut suffix = 2;
        let base = name.clone();
        while self.names_taken.contains(&name) {
            name = format!("{base}-{suffix}");
            suffix += 1;
        }
        self.names_taken.insert(name.clone());
        name
    }
}

/// Targets whose app sits in, or went through, a human review at intake
/// even when low risk.
fn reviewed_at_intake(target: Target) -> bool {
    matches!(
        target,
        Target::Pending
            | Target::PendingOverdue
            | Target::PendingHalfApproved
            | Target::ChangesRequested
            | Target::Rejected
    )
}

fn team_named(name: &str) -> &'static Team {
    TEAMS.iter().find(|team| team.name == name).unwrap_or(&TEAMS[0])
}

/// Data class, expected users, connectivity and execution environment,
/// drawn until they score in `wanted` (when given).
fn risk_inputs(rng: &mut StdRng, wanted: Option<Tier>) -> (DataClass, u32, Connectivity, ExecEnv) {
    loop {
        let data = pick_weighted(
            rng,
            &[(DataClass::Public, 20), (DataClass::Internal, 35), (DataClass::Sensitive, 25), (DataClass::Pii, 20)],
        );
        let users = match pick_weighted(rng, &[(0, 30), (1, 45), (2, 25)]) {
            0 => rng.random_range(1..10),
            1 => rng.random_range(10..=100),
            _ => rng.random_range(101..=2500),
        };
        let connectivity = pick_weighted(
            rng,
            &[(Connectivity::None, 30), (Connectivity::SaasConnector, 50), (Connectivity::ExternalApi, 20)],
        );
        let environment = pick_weighted(rng, &[(ExecEnv::Sandboxed, 80), (ExecEnv::DesktopAgent, 20)]);
        let tier = super::policy().assess(data, users, connectivity, environment).tier;
        if wanted.is_none_or(|wanted| wanted == tier) {
            return (data, users, connectivity, environment);
        }
    }
}

fn lifecycle(rng: &mut StdRng, needs_supported_ttl: bool) -> (LifecycleTier, TtlClass) {
    let tier = pick_weighted(
        rng,
        &[
            (LifecycleTier::Ephemeral, 15),
            (LifecycleTier::Tactical, 35),
            (LifecycleTier::Standard, 35),
            (LifecycleTier::BusinessCritical, 15),
        ],
    );
    let supported_share = match tier {
        LifecycleTier::Ephemeral => 0.1,
        LifecycleTier::Tactical => 0.5,
        LifecycleTier::Standard => 0.9,
        LifecycleTier::BusinessCritical => 1.0,
    };
    if needs_supported_ttl {
        let tier = if tier == LifecycleTier::Ephemeral { LifecycleTier::Tactical } else { tier };
        return (tier, TtlClass::Supported);
    }
    let ttl = if rng.random_bool(supported_share) { TtlClass::Supported } else { TtlClass::Prototype };
    (tier, ttl)
}

fn connectors(rng: &mut StdRng, team: &Team, connectivity: Connectivity) -> Vec<String> {
    let count = match connectivity {
        Connectivity::None => usize::from(rng.random_bool(0.5)),
        Connectivity::SaasConnector => rng.random_range(1..=3),
        Connectivity::ExternalApi => rng.random_range(1..=2),
    };
    let mut chosen: Vec<String> = Vec::with_capacity(count);
    while chosen.len() < count.min(team.connectors.len()) {
        let connector = if connectivity == Connectivity::None {
            *pick(rng, &["sharepoint", "excel-online", "outlook"])
        } else {
            *pick(rng, team.connectors)
        };
        if !chosen.iter().any(|c| c == connector) {
            chosen.push(connector.to_string());
        }
    }
    chosen
}

/// Where live apps run.
const LIVE_ENVIRONMENTS: &[&[&str]] = &[&["production"], &["staging", "production"], &["dev", "staging", "production"]];

fn environments(rng: &mut StdRng, target: Target) -> Vec<String> {
    let list: &[&str] = match target {
        Target::Pending
        | Target::PendingOverdue
        | Target::PendingHalfApproved
        | Target::ChangesRequested
        | Target::Rejected => {
            if rng.random_bool(0.5) {
                &["dev"]
            } else {
                &["dev", "staging"]
            }
        }
        Target::ProductionRequested | Target::Retired => &["dev", "staging"],
        Target::Discovered => &["production"],
        _ => pick::<&[&str]>(rng, LIVE_ENVIRONMENTS),
    };
    list.iter().map(|env| (*env).to_string()).collect()
}

fn retention_days(rng: &mut StdRng, class: DataClass) -> u32 {
    match class {
        DataClass::Public | DataClass::Internal => *pick(rng, &[30, 90, 180, 365]),
        DataClass::Sensitive => *pick(rng, &[90, 365, 730]),
        DataClass::Pii => *pick(rng, &[30, 365, 730, 2555]),
    }
}

fn monthly_spend(rng: &mut StdRng, budget: f64, target: Target) -> f64 {
    let share = match target {
        Target::Pending
        | Target::PendingOverdue
        | Target::PendingHalfApproved
        | Target::ChangesRequested
        | Target::Rejected => 0.0,
        Target::Decommissioned | Target::ReadOnly | Target::ReadOnlyRenewalRequested => rng.random_range(0.0..0.2),
        // About one live app in ten runs over its budget.
        _ => rng.random_range(0.05..1.3),
    };
    (budget * share * 100.0).round() / 100.0
}

fn version(rng: &mut StdRng, target: Target) -> u32 {
    match target {
        Target::Pending
        | Target::PendingOverdue
        | Target::PendingHalfApproved
        | Target::ChangesRequested
        | Target::Rejected
        | Target::Discovered => 1,
        _ => pick_weighted(rng, &[(1, 40), (2, 30), (3, 18), (4, 8), (5, 4)]),
    }
}
