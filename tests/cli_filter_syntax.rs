//! `govdeck apps --filter` through the real binary against the real server
//! on a loopback port: fzf's extended search syntax (`'exact`, `^prefix`,
//! `suffix$`, `!not`, `a | b`, space = and) on top of the fuzzy match.

mod sync_support;

use serde_json::Value;
use sync_support::{Cli, Server, manifest};

async fn names(cli: &Cli, query: &str) -> Vec<String> {
    let run = cli.run(&["apps", "--filter", query, "--json"]).await;
    let mut names: Vec<String> = match serde_json::from_str::<Value>(run.expect(0)) {
        Ok(Value::Array(apps)) => apps.iter().filter_map(|app| app["name"].as_str().map(str::to_string)).collect(),
        other => panic!("not a JSON array ({other:?}): {}", run.stdout),
    };
    names.sort_unstable();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_filter_speaks_the_extended_search_syntax() {
    let server = Server::start().await;
    // Low-risk apps: owner olive, team facilities, purpose "Lunch menu", so
    // the names alone decide what matches.
    for name in ["crm-sync", "crm-export", "scrum-board", "care-manager", "badge-report", "lead-sync"] {
        server.intake("olive", &manifest(name, None, "low")).await;
    }
    let riley = Cli::new(&server.url(), &server.token("riley"));
    riley.run(&["sync"]).await.expect(0);

    assert_eq!(names(&riley, "crm").await, ["care-manager", "crm-export", "crm-sync", "scrum-board"], "fuzzy");
    assert_eq!(names(&riley, "'crm").await, ["crm-export", "crm-sync"], "exact only");
    assert_eq!(names(&riley, "!crm").await, ["badge-report", "care-manager", "lead-sync", "scrum-board"]);
    assert_eq!(names(&riley, "^crm").await, ["crm-export", "crm-sync"]);
    assert_eq!(names(&riley, "sync$").await, ["crm-sync", "lead-sync"]);
    assert_eq!(
        names(&riley, "crm | badge").await,
        ["badge-report", "care-manager", "crm-export", "crm-sync", "scrum-board"]
    );
    assert_eq!(names(&riley, "sync$ !^crm").await, ["lead-sync"], "space is and");

    // The table ranks the best match first, as the console does.
    let run = riley.run(&["apps", "--filter", "'crm | badge"]).await;
    let rows: Vec<&str> = run.expect(0).lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", run.stdout);
    assert!(!run.stdout.contains("scrum-board"), "{}", run.stdout);
}
