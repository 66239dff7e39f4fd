//! `govdeck evidence APP` and `govdeck evidence verify FILE`: a bundle built
//! through the real binary from the real server verifies offline, reveals
//! nothing of other apps, and every kind of edit to it is caught (exit 6,
//! naming what failed).

mod sync_support;

use std::path::{Path, PathBuf};

use govdeck::domain::AuditEvent;
use govdeck::domain::checkpoint::{self, Checkpoint};
use serde_json::{Value, json};
use sync_support::{Cli, Server, manifest, runtime_event};

struct Fixture {
    server: Server,
    app_id: String,
    other_id: String,
    dir: tempfile::TempDir,
}

/// olive's app, filed, approved by riley with a comment, with runtime
/// events; and omar's app beside it.
async fn fixture() -> Fixture {
    let server = Server::start().await;
    let (app, request) = server.intake("olive", &manifest("holiday-tracker", None, "medium")).await;
    let app_id = app["id"].as_str().unwrap().to_string();
    server.decide("riley", &request, "approve", "Scoped to the HR share; DLP on").await;
    server.ingest(&[runtime_event(&app_id, "data.read"), runtime_event(&app_id, "dlp.block")]).await;
    let (other, _) = server.intake("omar", &manifest("launch-checklist", None, "medium")).await;
    let other_id = other["id"].as_str().unwrap().to_string();
    server.ingest(&[runtime_event(&other_id, "data.read")]).await;
    Fixture { server, app_id, other_id, dir: tempfile::tempdir().unwrap() }
}

impl Fixture {
    fn cli(&self, user: &str) -> Cli {
        Cli::new(&self.server.url(), &self.server.token(user))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The bundle of olive's app as riley writes it.
    async fn bundle(&self) -> PathBuf {
        let out = self.path("evidence.json");
        self.cli("riley").run(&["evidence", &self.app_id, "-o", out.to_str().unwrap()]).await.expect(0);
        out
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `evidence verify` of `value` written to a file: (exit code, stdout + stderr).
async fn verify(cli: &Cli, dir: &Path, name: &str, bytes: &[u8], extra: &[&str]) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec!["evidence", "verify", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = cli.run(&args).await;
    (run.code, format!("{}{}", run.stdout, run.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_from_the_real_binary_verifies_offline_and_holds_only_its_app() {
    let fx = fixture().await;
    let out = fx.bundle().await;
    let text = std::fs::read_to_string(&out).unwrap();
    let bundle = read(&out);
    let key = bundle["bundle"]["key"]["public_key"].as_str().unwrap().to_string();

    // Offline: the server is gone.
    let Fixture { server, app_id, other_id, dir } = fx;
    let riley = Cli::new(&server.url(), &server.token("riley"));
    let mut server = server;
    server.stop().await;
    let run = riley.run(&["evidence", "verify", out.to_str().unwrap(), "--key", &key]).await;
    let said = run.expect(0);
    assert!(said.contains("evidence ok: holiday-tracker"), "{said}");
    assert!(said.contains("1 decision checked against their audit events"), "{said}");
    let events = bundle["bundle"]["events"].as_array().unwrap().len();
    assert!(said.contains(&format!("{events} events each proved in the signed tree of")), "{said}");
    assert_eq!(bundle["bundle"]["proofs"].as_array().unwrap().len(), events, "a proof per event");
    assert!(bundle["bundle"]["checkpoint"]["note"].as_str().unwrap().contains("\n\n\u{2014} "), "a signed note");
    assert!(said.contains("the key given"), "{said}");

    let actions: Vec<&str> =
        bundle["bundle"]["events"].as_array().unwrap().iter().map(|e| e["action_type"].as_str().unwrap()).collect();
    for expected in ["app.registered", "approval.requested", "approval.approve", "data.read", "dlp.block"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert_eq!(bundle["bundle"]["requests"][0]["decisions"][0]["comment"], "Scoped to the HR share; DLP on");
    assert!(!text.contains(&other_id) && !text.contains("launch-checklist"), "nothing of another app");
    assert!(text.contains(&app_id));
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_edit_is_caught_and_named() {
    let fx = fixture().await;
    let out = fx.bundle().await;
    let original = read(&out);
    let riley = fx.cli("riley");
    let dir = fx.dir.path();
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut value = original.clone();
        edit(&mut value);
        serde_json::to_vec_pretty(&value).unwrap()
    };
    let events = original["bundle"]["events"].as_array().unwrap().clone();
    let position = |action: &str| events.iter().position(|e| e["action_type"] == action).unwrap();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an edited decision comment",
            edited(&|v| v["bundle"]["requests"][0]["decisions"][0]["comment"] = json!("Looks fine")),
            "has no audit event with that person, time and comment",
        ),
        (
            "an edited event",
            edited(&|v| {
                v["bundle"]["events"][position("approval.approve")]["request_context"]["comment"] = json!("Looks fine")
            }),
            "its hash does not match its content",
        ),
        (
            "a dropped event, with its proof",
            edited(&|v| {
                v["bundle"]["events"].as_array_mut().unwrap().remove(position("data.read"));
                v["bundle"]["proofs"].as_array_mut().unwrap().remove(position("data.read"));
            }),
            "differs from what the server signed",
        ),
        (
            "an event edited and its hash recomputed",
            edited(&|v| {
                let slot = &mut v["bundle"]["events"][position("dlp.block")];
                let mut event: AuditEvent = serde_json::from_value(slot.clone()).unwrap();
                event.action_type = "data.read".into();
                event.hash = event.compute_hash();
                *slot = serde_json::to_value(event).unwrap();
            }),
            "its inclusion proof in the signed tree",
        ),
        (
            "a swapped proof node",
            edited(&|v| {
                let proof = v["bundle"]["proofs"][position("approval.approve")]["proof"].as_array_mut().unwrap();
                assert!(proof.len() >= 2, "a tree of several events has paths of several nodes");
                proof.swap(0, 1);
            }),
            "its inclusion proof in the signed tree",
        ),
        (
            "a dropped proof",
            edited(&|v| {
                v["bundle"]["proofs"].as_array_mut().unwrap().remove(position("data.read"));
            }),
            "has no inclusion proof beside it",
        ),
        (
            "an edited app field",
            edited(&|v| v["bundle"]["app"]["owner"] = json!("mallory")),
            "differs from what the server signed",
        ),
        (
            "a checkpoint signed by another key",
            edited(&|v| {
                let signed: Checkpoint = serde_json::from_value(v["bundle"]["checkpoint"].clone()).unwrap();
                let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
                let forged = checkpoint::sign(&other, signed.seq, &signed.hash, signed.signed_at);
                v["bundle"]["checkpoint"] = serde_json::to_value(forged).unwrap();
            }),
            "does not verify with key",
        ),
        ("a truncated file", serde_json::to_vec(&original).unwrap()[..2000].to_vec(), "not a complete evidence bundle"),
        ("not a bundle", b"{\"hello\": 1}".to_vec(), "not a govdeck evidence bundle"),
    ];
    for (index, (what, bytes, expected)) in cases.iter().enumerate() {
        let (code, said) = verify(&riley, dir, &format!("case{index}.json"), bytes, &[]).await;
        assert_eq!(code, Some(6), "{what}: {said}");
        assert!(said.contains(expected), "{what}: expected {expected:?} in {said}");
    }

    // The untouched bundle, re-indented, still verifies: the signature is over its content, not its layout.
    let (code, said) = verify(&riley, dir, "pretty.json", &edited(&|_| {}), &[]).await;
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("pass --key"), "without --key it says what it could not check: {said}");

    // Another key given: refused before anything else.
    let other = govdeck::domain::checkpoint::PublicKey::of(&ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
    let (code, said) = verify(&riley, dir, "key.json", &edited(&|_| {}), &["--key", &other.to_hex()]).await;
    assert_eq!(code, Some(6), "{said}");
    assert!(said.contains("not by the key given"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_take_evidence_away() {
    let fx = fixture().await;
    let out = fx.path("olive.json");
    // The owner, of their own app: yes; of another's: not visible.
    fx.cli("olive").run(&["evidence", &fx.app_id, "-o", out.to_str().unwrap()]).await.expect(0);
    let run = fx.cli("olive").run(&["evidence", &fx.other_id, "-o", fx.path("x.json").to_str().unwrap()]).await;
    run.expect(1);
    assert!(run.stderr.contains("no app") && run.stderr.contains("visible"), "{}", run.stderr);
    assert!(!fx.path("x.json").exists());
    // A lead: yes. The ingest bot: refused.
    fx.cli("pat").run(&["evidence", &fx.other_id]).await.expect(0);
    fx.cli("ingo").run(&["evidence", &fx.app_id]).await.expect(3);
    // The export itself is on the record.
    let audit = fx.server.all_audit("riley").await;
    let exports: Vec<&Value> = audit.iter().filter(|e| e["action_type"] == "evidence.export").collect();
    assert_eq!(exports.len(), 2, "olive's and pat's: {exports:?}");
    assert_eq!(exports[0]["actor_id"], "olive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_keeps_only_its_events_and_a_report_reads_as_markdown() {
    let fx = fixture().await;
    let riley = fx.cli("riley");
    let run = riley.run(&["evidence", &fx.app_id, "--since", "2026-11-02", "--until", "2026-11-01"]).await;
    run.expect(2);
    let report = riley.run(&["evidence", &fx.app_id, "--format", "md"]).await;
    let md = report.expect(0);
    assert!(md.starts_with("# Evidence: holiday-tracker"), "{md}");
    assert!(md.contains("| riley | reviewer | approve | Scoped to the HR share; DLP on |"), "{md}");
    assert!(md.contains("govdeck evidence verify"), "{md}");

    // A window after everything: no events, and still a bundle that verifies.
    let out = fx.path("later.json");
    riley.run(&["evidence", &fx.app_id, "--since", "2999-01-01", "-o", out.to_str().unwrap()]).await.expect(0);
    assert_eq!(read(&out)["bundle"]["events"].as_array().unwrap().len(), 0);
    riley.run(&["evidence", "verify", out.to_str().unwrap()]).await.expect(0);
}

/// An app asked for by name before the cache ever synced: the server knows
/// no such id, and the message says that names need a synced cache; after a
/// sync the same name works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_before_the_first_sync_says_to_sync() {
    let fx = fixture().await;
    let riley = fx.cli("riley");
    let run = riley.run(&["evidence", "holiday-tracker"]).await;
    run.expect(1);
    assert!(run.stderr.contains("which has never synced: run `govdeck sync`"), "{}", run.stderr);
    riley.run(&["sync"]).await.expect(0);
    let run = riley.run(&["evidence", "holiday-trackr"]).await;
    run.expect(1);
    assert!(run.stderr.contains("no app of that name in the cache either"), "{}", run.stderr);
    riley.run(&["evidence", "holiday-tracker", "-o", fx.path("h.json").to_str().unwrap()]).await.expect(0);
}
