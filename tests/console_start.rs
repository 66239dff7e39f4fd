//! Bare `govdeck` (the console) with no server configured: the real binary
//! says how to configure one and suggests `govdeck demo`, exit 2, without
//! touching the terminal.

use std::process::Command;

#[test]
fn bare_govdeck_without_a_server_says_how_to_configure_one_and_suggests_the_demo() {
    let config = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .env("GOVDECK_CONFIG_DIR", config.path())
        .env("GOVDECK_CACHE_DIR", cache.path())
        .env_remove("GOVDECK_SERVER")
        .env_remove("GOVDECK_TOKEN")
        .output()
        .expect("run govdeck");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing drawn: {:?}", String::from_utf8_lossy(&output.stdout));
    let config_file = config.path().join("config.toml");
    for needed in ["--server", "GOVDECK_SERVER", &config_file.display().to_string(), "GOVDECK_TOKEN", "govdeck demo"] {
        assert!(stderr.contains(needed), "{needed:?} missing from:\n{stderr}");
    }
}
