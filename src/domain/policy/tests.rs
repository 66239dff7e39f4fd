use chrono::TimeZone;

use super::*;
use crate::domain::app::tests::manifest;

fn p() -> &'static Policy {
    Policy::builtin()
}

/// The default policy with `edit` applied to its `policy.toml` text.
fn custom(edit: impl Fn(String) -> String) -> Result<Policy, PolicyProblems> {
    let toml = edit(p().bundle().file("policy.toml").unwrap().text.clone());
    let mut files: Vec<BundleFile> = p().bundle().files.iter().filter(|f| f.name != "policy.toml").cloned().collect();
    files.push(BundleFile::new("policy.toml", toml));
    Policy::from_bundle(Bundle::new(files))
}

fn replaced(from: &str, to: &str) -> Policy {
    custom(|text| {
        assert!(text.contains(from), "the default policy has no {from:?}");
        text.replacen(from, to, 1)
    })
    .unwrap()
}

fn score(policy: &Policy, data: DataClass, users: u32, conn: Connectivity, env: ExecEnv) -> Risk {
    policy.assess(data, users, conn, env)
}

#[test]
fn tier_edges_are_29_30_50_51() {
    for (score, tier) in [(0, Tier::Low), (29, Tier::Low), (30, Tier::Medium), (50, Tier::Medium), (51, Tier::High)] {
        assert_eq!(p().tier_of(score), tier, "score {score}");
    }
    assert_eq!(p().tier_of(100), Tier::High);
}

#[test]
fn user_count_edges() {
    let rubric = &p().rules.rubric;
    assert_eq!(rubric.user_points(0), 0);
    assert_eq!(rubric.user_points(9), 0);
    assert_eq!(rubric.user_points(10), 10);
    assert_eq!(rubric.user_points(100), 10);
    assert_eq!(rubric.user_points(101), 20);
    assert_eq!(rubric.user_points(u32::MAX), 20);
}

#[test]
fn factors_add_up_to_the_documented_example() {
    let risk = score(p(), DataClass::Pii, 250, Connectivity::ExternalApi, ExecEnv::Sandboxed);
    assert_eq!(risk.factors, RiskFactors { data: 50, users: 20, connectivity: 20, environment: 0 });
    assert_eq!((risk.score, risk.tier), (90, Tier::High));
}

#[test]
fn realistic_scores_land_on_each_edge() {
    let at = |data, users, conn, env| {
        let risk = score(p(), data, users, conn, env);
        (risk.score, risk.tier)
    };
    use Connectivity::*;
    use DataClass::*;
    assert_eq!(at(Internal, 10, SaasConnector, ExecEnv::Sandboxed), (30, Tier::Medium));
    assert_eq!(at(Sensitive, 10, SaasConnector, ExecEnv::Sandboxed), (50, Tier::Medium));
    assert_eq!(at(Pii, 1, None, ExecEnv::DesktopAgent), (60, Tier::High));
    assert_eq!(at(Internal, 9, SaasConnector, ExecEnv::Sandboxed), (20, Tier::Low));
}

#[test]
fn low_risk_is_auto_approved_only_with_vault_and_otel() {
    let low = score(p(), DataClass::Public, 5, Connectivity::None, ExecEnv::Sandboxed);
    let mut controls = Controls { otel: true, secrets_in_vault: true, ..Controls::default() };
    assert_eq!(p().intake_review(&low, &controls, ExecEnv::Sandboxed), IntakeReview::AutoApproved);
    controls.otel = false;
    assert_eq!(p().intake_review(&low, &controls, ExecEnv::Sandboxed), IntakeReview::Review(Tier::Medium));
    controls.otel = true;
    controls.secrets_in_vault = false;
    assert_eq!(p().intake_review(&low, &controls, ExecEnv::Sandboxed), IntakeReview::Review(Tier::Medium));
}

#[test]
fn medium_and_high_always_need_review() {
    let all = Controls { otel: true, backups: true, sbom: true, secrets_in_vault: true, dlp: true };
    let medium = score(p(), DataClass::Sensitive, 1, Connectivity::None, ExecEnv::Sandboxed);
    assert_eq!(p().intake_review(&medium, &all, ExecEnv::Sandboxed), IntakeReview::Review(Tier::Medium));
    let high = score(p(), DataClass::Pii, 500, Connectivity::None, ExecEnv::Sandboxed);
    assert_eq!(p().intake_review(&high, &all, ExecEnv::Sandboxed), IntakeReview::Review(Tier::High));
}

#[test]
fn a_desktop_agent_is_never_approved_by_policy_alone() {
    let all = Controls { otel: true, secrets_in_vault: true, ..Controls::default() };
    let low = score(p(), DataClass::Public, 1, Connectivity::None, ExecEnv::DesktopAgent);
    assert_eq!(low.tier, Tier::Low);
    assert_eq!(p().intake_review(&low, &all, ExecEnv::DesktopAgent), IntakeReview::Review(Tier::Medium));
    let high = replaced("review_at_least = \"medium\"", "review_at_least = \"high\"");
    assert_eq!(high.intake_review(&low, &all, ExecEnv::DesktopAgent), IntakeReview::Review(Tier::High));
    let none = replaced("review_at_least = \"medium\"\n", "");
    assert_eq!(none.intake_review(&low, &all, ExecEnv::DesktopAgent), IntakeReview::AutoApproved);
}

#[test]
fn sla_hours_and_due_times() {
    let at = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    assert_eq!(p().review(Tier::High).sla_hours, 48);
    assert_eq!(p().review(Tier::Medium).sla_hours, 72);
    assert_eq!(p().review(Tier::Low), p().review(Tier::Medium), "low risk is reviewed as medium");
    assert_eq!(p().due_at(Tier::High, at), at + Duration::hours(48));
    assert_eq!(p().due_at(Tier::Low, at), at + Duration::hours(72));
}

#[test]
fn the_default_ttl_classes_and_ladder() {
    assert_eq!(p().ttl_days(TtlClass::Prototype), 30);
    assert_eq!(p().ttl_days(TtlClass::Supported), 365);
    assert_eq!(p().expiring_within(), Duration::days(14));
    assert_eq!(p().read_only_after(), Duration::days(7));
    assert_eq!(p().decommissioned_after(), Duration::days(30));
    let inactivity = p().rules.inactivity;
    assert_eq!(
        (inactivity.flag_after_days, inactivity.retire_after_days, inactivity.retirement_notice_days),
        (90, 180, 14)
    );
    let recert = p().rules.recertification;
    assert_eq!((recert.period_days(Tier::High), recert.period_days(Tier::Medium)), (Some(30), Some(90)));
    assert_eq!(recert.period_days(Tier::Low), None);
}

#[test]
fn a_custom_policy_changes_each_rule() {
    let strict = replaced("high_from = 51", "high_from = 41");
    assert_eq!((strict.tier_of(40), strict.tier_of(41)), (Tier::Medium, Tier::High));
    let pii = replaced("pii = 50", "pii = 70");
    assert_eq!(score(&pii, DataClass::Pii, 1, Connectivity::None, ExecEnv::Sandboxed).score, 70);
    let bands = replaced("from = 101", "from = 1001");
    assert_eq!(bands.rules.rubric.user_points(1000), 10);
    let sla = replaced("sla_hours = 48", "sla_hours = 24");
    assert_eq!(sla.review(Tier::High).sla_hours, 24);
    let ttl = replaced("prototype = 30", "prototype = 14");
    assert_eq!(ttl.ttl_days(TtlClass::Prototype), 14);
    let ladder = replaced("read_only_after_days = 7", "read_only_after_days = 3");
    assert_eq!(ladder.read_only_after(), Duration::days(3));
    let auto = replaced("controls = [\"secrets_in_vault\", \"otel\"]", "controls = [\"secrets_in_vault\"]");
    let low = score(&auto, DataClass::Public, 1, Connectivity::None, ExecEnv::Sandboxed);
    let vault_only = Controls { secrets_in_vault: true, ..Controls::default() };
    assert_eq!(auto.intake_review(&low, &vault_only, ExecEnv::Sandboxed), IntakeReview::AutoApproved);
    assert_eq!(p().intake_review(&low, &vault_only, ExecEnv::Sandboxed), IntakeReview::Review(Tier::Medium));
}

#[test]
fn the_version_is_the_hash_of_the_files_and_changes_with_any_byte() {
    assert_eq!(p().version().len(), 64);
    assert_eq!(p().version(), p().bundle().version());
    let same = custom(|text| text.replace('\n', "\r\n")).unwrap();
    assert_eq!(same.version(), p().version(), "line endings are canonical");
    let commented = custom(|text| format!("{text}# one more comment\n")).unwrap();
    assert_ne!(commented.version(), p().version());
    assert_eq!(p().short_version().len(), 12);
}

#[test]
fn a_syntax_error_names_its_line() {
    let err = custom(|text| text.replacen("pii = 50", "pii = fifty", 1)).unwrap_err();
    let line = p().bundle().file("policy.toml").unwrap().text.lines().position(|l| l == "pii = 50").unwrap() + 1;
    assert_eq!(err.0.len(), 1);
    assert_eq!((err.0[0].file.as_str(), err.0[0].line), ("policy.toml", Some(line)), "{err}");
}

#[test]
fn every_rule_problem_is_reported_at_once_with_its_line() {
    let err = custom(|text| {
        text.replacen("medium_from = 30", "medium_from = 60", 1)
            .replacen("approver_roles = [\"reviewer\"]", "approver_roles = [\"owner\"]", 1)
            .replacen("sla_hours = 72", "sla_hours = 0", 1)
            .replacen("prototype = 30", "prototype = -1", 1)
    })
    .unwrap_err();
    let messages: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert!(
        messages.iter().any(|m| m.contains("medium_from (60) must be above 0 and below high_from (51)")),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("owner may not approve")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("review.medium.sla_hours must be at least 1")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("ttl.prototype must be at least 1 day")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("required but not among the approver_roles")), "{messages:?}");
    assert!(err.0.iter().all(|problem| problem.line.is_some()), "{messages:?}");
}

#[test]
fn unknown_keys_are_refused() {
    let err = custom(|text| text.replacen("[tiers]\n", "[tiers]\nhigh_above = 50\n", 1)).unwrap_err();
    assert!(err.to_string().contains("high_above"), "{err}");
}

#[test]
fn required_roles_must_be_reachable() {
    let err = custom(|text| {
        text.replacen("approvals = 1\n", "approvals = 1\nrequired_roles = [\"reviewer\", \"lead\"]\n", 1)
    })
    .unwrap_err();
    assert!(err.to_string().contains("duplicate key") || err.to_string().contains("cannot be met"), "{err}");
}

#[test]
fn a_folder_without_policy_toml_is_refused() {
    let err = Policy::from_bundle(Bundle::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("needs a policy.toml"), "{err}");
}

#[test]
fn lifecycle_tier_rules_find_what_a_manifest_breaks() {
    let mut m = manifest();
    m.lifecycle_tier = LifecycleTier::Ephemeral;
    m.ttl_class = TtlClass::Supported;
    let findings = p().manifest_findings(&m);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule, "lifecycle_tier.ephemeral");
    assert!(findings[0].message.contains("only have the TTL class prototype"), "{findings:?}");
    m.ttl_class = TtlClass::Prototype;
    assert!(p().manifest_findings(&m).is_empty());

    m.lifecycle_tier = LifecycleTier::BusinessCritical;
    m.controls = Controls { otel: true, ..Controls::default() };
    let findings = p().manifest_findings(&m);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].message.contains("needs the controls: backups"), "{findings:?}");
    m.controls.backups = true;
    assert!(p().manifest_findings(&m).is_empty());

    m.lifecycle_tier = LifecycleTier::Standard;
    m.controls = Controls::default();
    assert!(p().manifest_findings(&m).is_empty(), "standard apps have no rule by default");
}

#[test]
fn needs_text_says_what_the_rules_ask() {
    assert_eq!(
        needs_text(p().review(Tier::High)),
        "two approvals from two different reviewers; one rejection rejects it"
    );
    assert_eq!(
        needs_text(p().review(Tier::Medium)),
        "one approval from a reviewer or a lead; one rejection rejects it"
    );
    let mixed = replaced("approver_roles = [\"reviewer\"]", "approver_roles = [\"reviewer\", \"lead\"]");
    assert_eq!(
        needs_text(mixed.review(Tier::High)),
        "two approvals from two different reviewers or leads, among them a reviewer; one rejection rejects it"
    );
    assert_eq!(approvers_text(p().review(Tier::High)), "two different reviewers");
    assert_eq!(approvers_text(p().review(Tier::Medium)), "one reviewer or lead");
    assert_eq!(approvers_text(mixed.review(Tier::High)), "two different reviewers or leads, among them a reviewer");
}
