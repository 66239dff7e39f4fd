//! A reader that stops early (`govdeck audit verify | head -1`) ends the
//! command quietly: no panic, no "Broken pipe" message.

use std::process::{Command, Stdio};

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let bin = env!("CARGO_BIN_EXE_govdeck");
    let seeded = Command::new(bin).args(["seed", "--apps", "20", "--events", "200", "--db"]).arg(&db).output().unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));

    // Every write to this pipe fails: its reading end is already closed.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let verify = Command::new(bin)
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(verify.status.code(), Some(0), "{stderr}");
}
