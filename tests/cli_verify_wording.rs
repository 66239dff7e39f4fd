//! What `govdeck audit verify` says of a broken chain: each fact once (the
//! seq of the break is not repeated), and what the signed checkpoints vouch
//! for beside it (up to which seq, and whether the break lies after it);
//! `--json` gives the same as one object.

mod checkpoints_support;

use checkpoints_support::{Setup, SignedServer, copy_db, tamper, verify_cli};
use serde_json::Value;

/// A server database with 23 events and checkpoints at 5, 10, 15 and 20.
async fn history() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let server = SignedServer::start(Setup::every(5)).await;
    for _ in 0..4 {
        server.ingest(5).await;
    }
    server.ingest(3).await;
    assert_eq!(server.checkpoints().await.iter().map(|c| c.seq).collect::<Vec<_>>(), [5, 10, 15, 20]);
    let key_path = server.key_path();
    let db = server.db_path.clone();
    let (dir, _, _) = server.stop().await;
    (dir, db, key_path)
}

fn edit(db: &std::path::Path, seq: u64) {
    tamper(db, |conn| {
        conn.execute("UPDATE audit SET actor_id = 'mallory' WHERE seq = ?1", [seq as i64]).unwrap();
    });
}

fn verify_json(db: &std::path::Path, key: &std::path::Path) -> (Option<i32>, Value) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["audit", "verify", "--json", "--db"])
        .arg(db)
        .arg("--key-file")
        .arg(key)
        .output()
        .expect("run govdeck audit verify --json");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"));
    (output.status.code(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_after_the_newest_checkpoint_is_said_once_with_what_the_checkpoints_vouch_for() {
    let (dir, db, key) = history().await;
    let edited = copy_db(&db, dir.path(), "edited-22.db");
    edit(&edited, 22);
    let (code, out) = verify_cli(&edited, &[&key]);
    assert_eq!(code, Some(6), "{out}");
    let broken = out.lines().find(|line| line.contains("BROKEN")).unwrap_or_default();
    assert!(broken.starts_with("audit chain BROKEN at seq 22: the hash"), "{out}");
    assert_eq!(broken.matches("seq 22").count(), 1, "the seq once: {broken}");
    assert!(!out.contains("checkpoints ok"), "no contradiction: {out}");
    let checkpoints = out.lines().find(|line| line.starts_with("checkpoints")).unwrap_or_default();
    assert!(checkpoints.contains("up to seq 20") && checkpoints.contains("events 1-20 are as signed"), "{out}");
    assert!(checkpoints.contains("break at seq 22 lies after"), "{out}");

    let (code, summary) = verify_json(&edited, &key);
    assert_eq!(code, Some(6), "{summary}");
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["chain"]["broken_at"], 22, "{summary}");
    assert_eq!(summary["chain"]["events_checked"], 21, "{summary}");
    assert!(!summary["chain"]["reason"].as_str().unwrap_or_default().contains("seq 22"), "{summary}");
    assert_eq!(summary["checkpoints"]["ok"], true, "{summary}");
    assert_eq!(summary["checkpoints"]["count"], 4, "{summary}");
    assert_eq!(summary["checkpoints"]["vouch_up_to_seq"], 20, "{summary}");
    assert_eq!(summary["checkpoints"]["signatures_checked"], true, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_before_the_newest_checkpoint_says_the_signed_events_were_altered() {
    let (dir, db, key) = history().await;
    let edited = copy_db(&db, dir.path(), "edited-7.db");
    edit(&edited, 7);
    let (code, out) = verify_cli(&edited, &[&key]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("audit chain BROKEN at seq 7: the hash"), "{out}");
    assert!(!out.contains("seq 7: seq 7"), "{out}");
    assert!(!out.contains("checkpoints ok"), "no contradiction: {out}");
    let checkpoints = out.lines().find(|line| line.starts_with("checkpoints")).unwrap_or_default();
    assert!(checkpoints.contains("break at seq 7 lies at or before seq 20"), "{out}");

    // The untouched database: one object that says all is well.
    let (code, summary) = verify_json(&db, &key);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["chain"]["events_checked"], 23, "{summary}");
    assert_eq!(summary["chain"]["head"]["seq"], 23, "{summary}");
    assert_eq!(summary["chain"]["broken_at"], Value::Null, "{summary}");
    assert_eq!(summary["checkpoints"]["newest_seq"], 20, "{summary}");
    assert_eq!(summary["checkpoints"]["unsigned_tail"], 3, "{summary}");
}
