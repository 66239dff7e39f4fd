//! End to end, the real `govdeck demo` in a pseudo-terminal: `esc` and the
//! next key arriving in one write (fast typing over SSH) act as both keys,
//! and while the terminal is too small typed keys reach nothing hidden.

mod e2e_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e_support::Tui;

const STARTUP: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);

fn govdeck() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_govdeck"))
}

fn spawn_demo(home: &Path, dir: &str) -> Tui {
    let config = home.join("config");
    let cache = home.join("cache");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let (home_str, config_str, cache_str) = (home.to_str().unwrap(), config.to_str().unwrap(), cache.to_str().unwrap());
    Tui::spawn(
        &govdeck(),
        &["demo", "--dir", dir],
        24,
        80,
        &[
            ("TERM", "xterm-256color"),
            ("HOME", home_str),
            ("XDG_CONFIG_HOME", config_str),
            ("XDG_CACHE_HOME", cache_str),
            ("GOVDECK_CONFIG_DIR", config_str),
            ("GOVDECK_CACHE_DIR", cache_str),
        ],
        &["NO_COLOR", "GOVDECK_SERVER", "GOVDECK_TOKEN", "GOVDECK_DB", "RUST_LOG"],
        None,
    )
}

#[test]
fn esc_and_a_key_in_one_write_act_as_both_and_a_small_terminal_takes_only_quit() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo");
    let mut tui = spawn_demo(home.path(), dir.to_str().unwrap());
    tui.wait_until("the inventory, synced", STARTUP, |rows| {
        rows.iter().any(|r| r.contains(" Inventory · ")) && rows.iter().any(|r| r.contains("online"))
    });

    // A filter being typed, then esc and 2 in one write.
    tui.send("/zzzq");
    tui.wait_for_text("/ zzzq", STEP);
    tui.send("\x1b2");
    tui.wait_until("the filter cleared and the Approvals pane shown", STEP, |rows| {
        rows.iter().any(|r| r.contains(" Approvals · ")) && !rows.iter().any(|r| r.contains("zzzq"))
    });

    // Too small: the dialog under the message takes nothing typed.
    tui.send("1:");
    tui.wait_until("the command line", STEP, |rows| rows.last().is_some_and(|r| r.starts_with(':')));
    tui.resize(20, 60);
    tui.wait_for_text("enlarge the terminal", STEP);
    tui.send("theme light\r");
    std::thread::sleep(Duration::from_millis(500));
    tui.resize(24, 80);
    tui.wait_until("the console again", STEP, |rows| rows.iter().any(|r| r.contains(" Inventory · ")));
    let rows = tui.rows();
    let last = rows.last().cloned().unwrap_or_default();
    assert!(last.trim_end() == ":", "nothing typed while too small reached the command line: {last:?}\n{}", tui.dump());

    tui.send("\x1b");
    tui.resize(20, 60);
    tui.wait_for_text("enlarge the terminal", STEP);
    tui.send("q");
    let code = tui.wait_exit(Duration::from_secs(15));
    assert_eq!(code, 0, "{}", tui.dump());
}
