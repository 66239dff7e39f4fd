//! The command line as a new user reads it: each command's help shows only
//! the options it uses, every option and argument says what it is, and the
//! exit codes tell a script what went wrong (2 usage, 3 authentication).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command as Process, Output, Stdio};

use clap::CommandFactory;
use govdeck::cli::Cli;

const CONSOLE_OPTIONS: [&str; 5] = ["--server", "--token-file", "--ca-file", "--theme", "--keymap"];

/// Runs the binary with a clean environment of its own (no server, token or
/// config of the machine's user); returns its output.
fn govdeck(args: &[&str], dir: &std::path::Path) -> Output {
    Process::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(args)
        .env("GOVDECK_CONFIG_DIR", dir.join("config"))
        .env("GOVDECK_CACHE_DIR", dir.join("cache"))
        .env("NO_COLOR", "1")
        .env_remove("GOVDECK_SERVER")
        .env_remove("GOVDECK_TOKEN")
        .env_remove("GOVDECK_CA_FILE")
        .env_remove("GOVDECK_DB")
        .stdin(Stdio::null())
        .output()
        .expect("run govdeck")
}

/// The help text with its wrapping undone: words joined by single spaces.
fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = govdeck(args, dir.path());
    assert_eq!(output.status.code(), Some(0), "govdeck {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The long option names a help text lists.
fn options(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter(|word| word.starts_with("--"))
        .map(|word| word.trim_end_matches([',', '=']).split('=').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn server_side_commands_show_none_of_the_console_options() {
    for args in [
        &["serve", "--help"][..],
        &["seed", "--help"],
        &["export", "--help"],
        &["users", "add", "--help"],
        &["users", "list", "--help"],
        &["users", "revoke", "--help"],
        &["users", "rotate", "--help"],
        &["users", "roles", "--help"],
        &["demo", "--help"],
    ] {
        let listed = options(&help(args));
        for option in CONSOLE_OPTIONS {
            let allowed = args[0] == "demo" && matches!(option, "--theme" | "--keymap");
            assert_eq!(listed.iter().any(|o| o == option), allowed, "govdeck {args:?} lists {option}: {listed:?}");
        }
    }
}

#[test]
fn client_commands_show_the_client_options_and_not_the_console_look() {
    for command in ["sync", "apps", "approvals", "approve", "reject", "renew", "audit", "kpi"] {
        let listed = options(&help(&[command, "--help"]));
        for option in ["--server", "--token-file", "--ca-file"] {
            assert!(listed.iter().any(|o| o == option), "govdeck {command} lacks {option}: {listed:?}");
        }
        for option in ["--theme", "--keymap"] {
            assert!(!listed.iter().any(|o| o == option), "govdeck {command} lists {option}: {listed:?}");
        }
    }
    let verify = options(&help(&["audit", "verify", "--help"]));
    assert!(verify.iter().any(|o| o == "--server") && verify.iter().any(|o| o == "--json"), "{verify:?}");
    // The console itself takes all five.
    let top = options(&help(&["--help"]));
    for option in CONSOLE_OPTIONS {
        assert!(top.iter().any(|o| o == option), "govdeck --help lacks {option}: {top:?}");
    }
}

#[test]
fn every_option_and_argument_of_every_command_has_help() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if command.get_about().is_none() && !path.is_empty() {
            missing.push(format!("`{path}` (the command itself)"));
        }
        for arg in command.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("`{path}` {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()).trim(), missing);
        }
    }
    let mut command = Cli::command();
    command.build();
    let mut missing = Vec::new();
    walk(&command, "", &mut missing);
    assert!(missing.is_empty(), "without help: {missing:#?}");
}

#[test]
fn state_and_role_list_their_values_and_reject_says_its_comment_is_the_reason() {
    let apps = help(&["apps", "--help"]);
    assert!(apps.contains("possible values: discovered, pending"), "{apps}");
    assert!(apps.contains("read_only, decommissioned"), "{apps}");
    let add = help(&["users", "add", "--help"]);
    assert!(add.contains("possible values: reviewer, lead, owner, ingest, admin, auditor, platform"), "{add}");
    assert!(add.contains("--expires-in <DURATION>"), "{add}");
    let reject = help(&["reject", "--help"]);
    assert!(reject.contains("--comment <REASON> The reason for the rejection (required)"), "{reject}");

    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = govdeck(&["apps", "--state", "asleep"], dir.path());
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("decommissioned"), "lists the values");
}

#[test]
fn apps_filter_help_names_the_extended_search_syntax() {
    let text = help(&["apps", "--help"]);
    for term in ["'exact", "^prefix", "suffix$", "!not", "a | b"] {
        assert!(text.contains(term), "{term} in:\n{text}");
    }
}

#[test]
fn the_backstage_token_is_named_for_backstage_and_the_old_name_still_works() {
    let import = help(&["import", "backstage", "--help"]);
    assert!(import.contains("--backstage-token-file <FILE> File holding the Backstage token"), "{import}");
    assert!(import.contains("[alias: --token-file]"), "the old name is shown as an alias: {import}");
    let dir = tempfile::tempdir().expect("temp dir");
    // Both names parse: the run then fails on the missing file, not on the flag.
    for flag in ["--backstage-token-file", "--token-file"] {
        let missing = dir.path().join("no-such-token");
        let db = dir.path().join("g.db");
        let output = govdeck(
            &[
                "import",
                "backstage",
                "--url",
                "http://127.0.0.1:9",
                flag,
                missing.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
            ],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no-such-token"), "{flag}: {stderr}");
    }
}

#[test]
fn console_options_given_to_a_command_that_ignores_them_are_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    let db = db.to_str().unwrap();
    // `users list` first: before the fix, `serve` would have started serving.
    for args in
        [&["--server", "http://x:1", "users", "list", "--db", db][..], &["--theme", "light", "serve", "--db", db]]
    {
        let output = govdeck(args, dir.path());
        assert_eq!(output.status.code(), Some(2), "govdeck {args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("not `"), "says which command: {stderr}");
    }
    assert!(!std::path::Path::new(db).exists(), "nothing was run: the database was not even created");
    // `audit verify --db` checks a server database on its own: no server to talk to.
    let output = govdeck(&["audit", "verify", "--db", db, "--server", "http://x:1"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_missing_token_exits_3_and_a_malformed_server_url_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["sync", "--server", "http://127.0.0.1:9"][..], &["--server", "http://127.0.0.1:9", "apps"]] {
        let output = govdeck(args, dir.path());
        assert_eq!(output.status.code(), Some(3), "govdeck {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stderr).contains("no token"));
    }
    for url in ["not a url", "ftp://catalog:8470", "http://"] {
        let output = govdeck(&["apps", "--server", url], dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url:?}: {stderr}");
        assert!(stderr.contains("invalid server URL"), "{stderr}");
    }
    // No server at all is a usage error too.
    let output = govdeck(&["sync"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn adding_a_user_that_exists_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    let db = db.to_str().unwrap();
    assert_eq!(govdeck(&["users", "add", "x", "--role", "owner", "--db", db], dir.path()).status.code(), Some(0));
    let again = govdeck(&["users", "add", "x", "--role", "owner", "--db", db], dir.path());
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("user \"x\" already exists"), "{stderr}");
    assert!(!stderr.contains("stored value"), "{stderr}");
}

#[test]
fn the_server_log_has_no_colour_codes_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("g.db");
    let mut child = Process::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env_remove("NO_COLOR")
        .env_remove("GOVDECK_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start govdeck serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let mut log = String::new();
    while stderr.read_line(&mut line).expect("read the log") > 0 {
        log.push_str(&line);
        if line.contains("listening on") {
            break;
        }
        line.clear();
    }
    let _ = child.kill();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let _ = child.wait();
    assert!(log.contains("listening on"), "{log}");
    assert!(!log.contains('\x1b'), "escape codes in a piped log: {log:?}");
}
