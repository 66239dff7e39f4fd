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

/// `govdeck export … | head -2`: the export stops where the reader did, with
/// exit 0 and nothing on stderr, in both formats.
#[test]
fn an_export_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let bin = env!("CARGO_BIN_EXE_govdeck");
    // Far more than a pipe buffer holds, so the writer is still writing when the reader goes.
    let seeded = Command::new(bin).args(["seed", "--apps", "600", "--events", "10", "--db"]).arg(&db).output().unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));

    for format in ["csv", "json"] {
        let mut child = Command::new(bin)
            .args(["export", "--format", format, "--db"])
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..2 {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "{format}: two lines");
        }
        drop(reader);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.is_empty(), "{format}: nothing on stderr, got {stderr:?}");
        assert_eq!(output.status.code(), Some(0), "{format}: {stderr}");
    }
}
