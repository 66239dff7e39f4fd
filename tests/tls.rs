//! HTTPS end to end: the real server (in-process, and the real binary once)
//! serving certificates made at test time by rcgen, and the real `govdeck`
//! binary as the client. A CA-signed certificate is trusted with
//! `--ca-file` (or through the system store); an unknown issuer, a
//! self-signed, an expired and a wrong-host certificate are each refused with
//! their own message, exit code 1 (not 5: nothing is queued), and an action
//! queued before stays queued. `serve` refuses bad certificate files before it
//! binds its port.
//!
//! "The system store" is pinned for these tests with `SSL_CERT_FILE` (which
//! rustls-platform-verifier reads on Linux), so they do not depend on the
//! machine's CA bundle.

mod sync_support;

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use govdeck::app::{Effect, Event};
use govdeck::cache::Cache;
use govdeck::config::settings::Token;
use govdeck::domain::{DecisionKind, Role};
use govdeck::sync::client::Client;
use govdeck::sync::engine::Syncer;
use govdeck::tls::ClientTrust;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use sync_support::{Cli, Run, Server, Snapshot, manifest};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Certificates and keys made for one test, as PEM files in a temp dir.
struct Pki {
    dir: TempDir,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, written out.
struct Leaf {
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let (issuer, pem) = new_ca("govdeck test CA");
        std::fs::write(dir.path().join("ca.pem"), pem).unwrap();
        // Another CA, which nothing here is signed by: what "the system store"
        // holds unless a test says otherwise.
        let (_, other) = new_ca("an unrelated CA");
        std::fs::write(dir.path().join("other-ca.pem"), other).unwrap();
        Pki { dir, issuer }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A server certificate for `names`; signed by the CA unless `self_signed`,
    /// valid 2020-2021 only when `expired`.
    fn leaf(&self, name: &str, names: &[&str], self_signed: bool, expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = if self_signed { params.self_signed(&key) } else { params.signed_by(&key, &self.issuer) }.unwrap();
        let leaf = Leaf { cert: self.path(&format!("{name}.crt")), key: self.path(&format!("{name}.key")) };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }

    /// The certificate for `127.0.0.1` and `localhost`, signed by the CA.
    fn good(&self) -> Leaf {
        self.leaf("good", &["127.0.0.1", "localhost"], false, false)
    }

    fn trust(&self) -> ClientTrust {
        ClientTrust::ca_file(&self.ca()).expect("the test CA loads")
    }
}

fn new_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).unwrap();
    (Issuer::new(params, key), cert.pem())
}

/// The real server, in-process, serving HTTPS with `leaf`.
async fn https_server(pki: &Pki, leaf: &Leaf) -> Server {
    let tls = govdeck::server::tls::load(&leaf.cert, &leaf.key).expect("the test certificate loads");
    Server::start_tls(tls, &pki.trust()).await
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// `govdeck ARGS` with "the system store" holding only `store`.
async fn run_trusting(cli: &Cli, args: &[&str], store: &Path) -> Run {
    cli.run_with_env(args, &[("SSL_CERT_FILE", store.as_os_str()), ("SSL_CERT_DIR", OsStr::new(""))]).await
}

fn assert_refused(run: &Run, says: &str) {
    assert_eq!(run.code, Some(1), "a refused certificate exits 1\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.contains(says), "expected {says:?} in stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("queued:"), "{}", run.stderr);
}

fn queued(cache: &Path) -> Vec<(i64, String, i64, String)> {
    Snapshot::read(cache).outbox.into_iter().filter(|(_, status, _, _)| status == "queued").collect()
}

async fn approval_status(server: &Server, id: &str) -> String {
    server.view("riley").await.approvals[id]["status"].as_str().unwrap().to_string()
}

/// A medium-risk request by olive, pending.
async fn pending_request(server: &Server, name: &str) -> (String, Value) {
    let (app, approval) = server.intake("olive", &manifest(name, None, "medium")).await;
    assert_eq!(approval["status"], "pending");
    (approval["id"].as_str().unwrap().to_string(), app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_a_decision_over_https_with_the_ca_file() {
    let pki = Pki::new();
    let server = https_server(&pki, &pki.good()).await;
    assert!(server.url().starts_with("https://127.0.0.1:"), "{}", server.url());
    let (request, app) = pending_request(&server, "holiday-tracker").await;
    let cli = Cli::new(&server.url(), &server.token("riley"));
    let ca = path_str(&pki.ca()).to_string();

    let run = run_trusting(&cli, &["sync", "--ca-file", &ca], &pki.other_ca()).await;
    run.expect(0);
    let cached = sync_support::View::of_cache(&cli.cache_path());
    assert_eq!(cached, server.view("riley").await, "the cache holds what the server lets riley read");
    assert!(cached.apps.contains_key(app["id"].as_str().unwrap()));

    let run = run_trusting(&cli, &["approve", &request, "--ca-file", &ca], &pki.other_ca()).await;
    assert!(run.expect(0).contains("approved"), "{}", run.stdout);
    assert_eq!(approval_status(&server, &request).await, "approved");
    assert!(queued(&cli.cache_path()).is_empty());

    // The CA in the system store instead: trusted without --ca-file.
    let run = run_trusting(&cli, &["sync"], &pki.ca()).await;
    run.expect(0);
    // And from GOVDECK_CA_FILE, and from `ca_file` in config.toml.
    let run = cli.run_with_env(&["sync"], &[("GOVDECK_CA_FILE", pki.ca().as_os_str())]).await;
    run.expect(0);
    std::fs::write(cli.config_dir.join("config.toml"), format!("ca_file = {:?}\n", ca)).unwrap();
    let run = run_trusting(&cli, &["sync"], &pki.other_ca()).await;
    run.expect(0);
    // The flag wins over config.toml.
    let missing = pki.path("missing.pem");
    let run = run_trusting(&cli, &["sync", "--ca-file", path_str(&missing)], &pki.ca()).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains(&format!("cannot read the CA file {}", missing.display())), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_issuer_is_refused_nothing_is_queued_and_a_queued_action_stays() {
    let pki = Pki::new();
    let mut server = https_server(&pki, &pki.good()).await;
    let (first, _) = pending_request(&server, "holiday-tracker").await;
    let (second, _) = pending_request(&server, "desk-booking").await;
    let cli = Cli::new(&server.url(), &server.token("riley"));
    let ca = path_str(&pki.ca()).to_string();
    run_trusting(&cli, &["sync", "--ca-file", &ca], &pki.other_ca()).await.expect(0);
    let untrusted = format!(
        "TLS: the certificate of {} is not trusted (self-signed or issued by an unknown CA); \
         pass --ca-file with the CA that issued it",
        server.addr
    );

    // Without --ca-file, the system store does not know the CA.
    let run = run_trusting(&cli, &["sync"], &pki.other_ca()).await;
    assert_refused(&run, &untrusted);
    let run = run_trusting(&cli, &["approve", &first], &pki.other_ca()).await;
    assert_refused(&run, &untrusted);
    assert!(run.stderr.contains("nothing was sent or queued"), "{}", run.stderr);
    assert!(Snapshot::read(&cli.cache_path()).outbox.is_empty(), "the refused approval left nothing in the outbox");
    assert_eq!(approval_status(&server, &first).await, "pending");

    // An action queued while the server was down is kept through a refused sync.
    server.stop().await;
    let run = run_trusting(&cli, &["approve", &second, "--ca-file", &ca], &pki.other_ca()).await;
    run.expect(5);
    let before = queued(&cli.cache_path());
    assert_eq!(before.len(), 1, "{before:?}");
    server.run().await;
    let run = run_trusting(&cli, &["sync"], &pki.other_ca()).await;
    assert_refused(&run, &untrusted);
    let after = queued(&cli.cache_path());
    assert_eq!(after.len(), 1, "still queued after the refused sync: {after:?}");
    assert_eq!(after[0].3, before[0].3, "with the same idempotency key");
    let run = run_trusting(&cli, &["sync", "--ca-file", &ca], &pki.other_ca()).await;
    run.expect(0);
    assert!(run.stderr.contains("sent 1 actions"), "{}", run.stderr);
    assert_eq!(approval_status(&server, &second).await, "approved");
    assert!(queued(&cli.cache_path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_expired_and_wrong_host_certificates_are_refused_with_their_reason() {
    let pki = Pki::new();
    let ca = path_str(&pki.ca()).to_string();
    let cases = [
        (
            pki.leaf("self-signed", &["127.0.0.1", "localhost"], true, false),
            "is not trusted (self-signed or issued by an unknown CA); pass --ca-file with the CA that issued it",
        ),
        (pki.leaf("expired", &["127.0.0.1", "localhost"], false, true), "has expired (on 2021-01-01 00:00 UTC)"),
        (pki.leaf("wrong-host", &["example.invalid"], false, false), ""),
    ];
    for (leaf, says) in cases {
        let server = https_server(&pki, &leaf).await;
        let cli = Cli::new(&server.url(), &server.token("riley"));
        let expected = if says.is_empty() {
            "TLS: the certificate is not valid for 127.0.0.1 (only for example.invalid)".to_string()
        } else {
            format!("TLS: the certificate of {} {says}", server.addr)
        };
        let run = run_trusting(&cli, &["sync", "--ca-file", &ca], &pki.other_ca()).await;
        assert_refused(&run, &expected);
        assert!(!cli.cache_path().exists() || Snapshot::read(&cli.cache_path()).apps.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_file_is_a_clear_error() {
    let pki = Pki::new();
    let server = https_server(&pki, &pki.good()).await;
    let cli = Cli::new(&server.url(), &server.token("riley"));
    let missing = pki.path("nope.pem");
    let run = cli.run(&["sync", "--ca-file", path_str(&missing)]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("cannot read the CA file {}", missing.display())), "{}", run.stderr);

    let empty = pki.path("no-certs.pem");
    std::fs::write(&empty, "# no certificates in here\n").unwrap();
    let run = cli.run(&["sync", "--ca-file", path_str(&empty)]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("the CA file {} holds no certificate", empty.display())), "{}", run.stderr);
    // A key is not a certificate either.
    let leaf = pki.good();
    let run = cli.run(&["sync", "--ca-file", path_str(&leaf.key)]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("holds no certificate"), "{}", run.stderr);
}

/// `govdeck serve` with a port held by this test: an error about the
/// certificate rather than the address shows it stopped before binding.
async fn serve_fails(cert: &Path, key: &Path, db: &Path, says: &str) {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = held.local_addr().unwrap().to_string();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["serve", "--db", path_str(db), "--listen", &listen])
        .args(["--tls-cert", path_str(cert), "--tls-key", path_str(key)])
        .env("NO_COLOR", "1")
        .env_remove("GOVDECK_LOG")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in:\n{stderr}");
    assert!(!stderr.to_lowercase().contains("in use"), "{stderr}");
    assert!(!db.exists(), "the database is not created either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_bad_certificate_files_before_binding() {
    let pki = Pki::new();
    let good = pki.good();
    let other = pki.leaf("other", &["127.0.0.1"], false, false);
    let db = pki.path("server.db");
    let missing = pki.path("missing.crt");
    serve_fails(&missing, &good.key, &db, &format!("cannot read the TLS certificate file {}", missing.display())).await;
    serve_fails(&good.cert, &missing, &db, &format!("cannot read the TLS key file {}", missing.display())).await;

    let words = pki.path("words.pem");
    std::fs::write(&words, "this is not a certificate\n").unwrap();
    serve_fails(&words, &good.key, &db, &format!("the TLS certificate file {} holds no certificate", words.display()))
        .await;
    serve_fails(&good.cert, &words, &db, &format!("the TLS key file {} holds no private key", words.display())).await;
    let broken = pki.path("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n").unwrap();
    serve_fails(&broken, &good.key, &db, &format!("the TLS certificate file {} is not valid PEM", broken.display()))
        .await;
    let not_x509 = pki.path("not-x509.pem");
    std::fs::write(&not_x509, "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n").unwrap();
    serve_fails(&not_x509, &good.key, &db, &format!("{} does not hold a valid X.509 certificate", not_x509.display()))
        .await;
    serve_fails(
        &good.cert,
        &other.key,
        &db,
        &format!("the TLS key file {} does not match the certificate in {}", other.key.display(), good.cert.display()),
    )
    .await;

    // Both or neither.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["serve", "--db", path_str(&db), "--tls-cert", path_str(&good.cert)])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_serves_https_and_stops_cleanly() {
    let pki = Pki::new();
    let good = pki.good();
    let db = pki.path("server.db");
    let token = {
        let mut store = govdeck::store::Store::open(&db).unwrap();
        store.write(|conn| govdeck::store::users::add(conn, "riley", &[Role::Reviewer], chrono::Utc::now())).unwrap()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_govdeck"))
        .args(["serve", "--db", path_str(&db), "--listen", "127.0.0.1:0"])
        .args(["--tls-cert", path_str(&good.cert), "--tls-key", path_str(&good.key)])
        .env("NO_COLOR", "1")
        .env_remove("GOVDECK_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, url)) = line.split_once("listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("the server exited before it listened");
    })
    .await
    .expect("the server listens within 30 s");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let addr: SocketAddr = url.trim_start_matches("https://").parse().unwrap();

    let cli = Cli::new(&url, &token);
    let run = run_trusting(&cli, &["sync", "--ca-file", path_str(&pki.ca())], &pki.other_ca()).await;
    run.expect(0);
    assert!(run.stderr.contains("synced"), "{}", run.stderr);
    let run = run_trusting(&cli, &["sync"], &pki.other_ca()).await;
    assert_refused(&run, &format!("TLS: the certificate of {addr} is not trusted"));
    // Plain http to the https port is not mistaken for a working server.
    let plain = Cli::new(&format!("http://{addr}"), &token);
    let run = plain.run(&["sync"]).await;
    assert_ne!(run.code, Some(0), "{}", run.stderr);

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    })
    .await
    .expect("the server stops within 20 s");
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(rest.contains("stopped cleanly"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_refused_certificate_and_sends_nothing() {
    let pki = Pki::new();
    let server = https_server(&pki, &pki.good()).await;
    let (request, _) = pending_request(&server, "holiday-tracker").await;
    let caches = sync_support::Caches::new();
    let cache_path = caches.path("console");
    let token = Token::new(server.token("riley"));
    let trusted = Syncer::new(
        Client::with_trust(&server.url(), &token, &pki.trust()).unwrap(),
        Arc::new(Mutex::new(Cache::open(&cache_path).unwrap())),
    );
    sync_support::sync(&trusted).await.expect("a trusted sync");
    let rev = server.view("riley").await.approvals[&request]["rev"].as_u64().unwrap();
    drop(trusted);

    let untrusting = ClientTrust::ca_file(&pki.other_ca()).unwrap();
    let syncer = Syncer::new(
        Client::with_trust(&server.url(), &token, &untrusting).unwrap(),
        Arc::new(Mutex::new(Cache::open(&cache_path).unwrap())),
    );
    let (effects_tx, effects_rx) = tokio::sync::mpsc::unbounded_channel();
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let runtime = tokio::spawn(govdeck::console::run_runtime(syncer, effects_rx, events_tx, Duration::from_secs(3600)));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), events_rx.recv()).await.expect("an event").expect("open")
    };

    // The first sync (at start) is refused, once, and says why.
    let status = loop {
        if let Event::Sync(status) = next().await
            && !status.syncing
        {
            break status;
        }
    };
    assert!(status.tls_refused && !status.online, "{status:?}");
    let error = status.error.unwrap_or_default();
    assert!(error.starts_with(&format!("TLS: the certificate of {} is not trusted", server.addr)), "{error}");

    // An approval is not sent, and not left queued.
    effects_tx
        .send(Effect::Decide {
            approval_id: request.clone(),
            decision: DecisionKind::Approve,
            comment: String::new(),
            rev,
        })
        .unwrap();
    let outcome = loop {
        if let Event::ActionResult { outcome, .. } = next().await {
            break outcome;
        }
    };
    let message = outcome.unwrap_err();
    assert!(message.contains("is not trusted") && message.ends_with("not sent"), "{message}");
    effects_tx.send(Effect::Quit).unwrap();
    tokio::time::timeout(Duration::from_secs(20), runtime).await.expect("the runtime stops").unwrap();
    assert!(Snapshot::read(&cache_path).outbox.is_empty());
    assert_eq!(approval_status(&server, &request).await, "pending");
}

/// A Backstage catalog over HTTPS, answering one last page from the fixtures.
async fn https_backstage(leaf: &Leaf) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backstage/page-3.json")).unwrap();
    let app = axum::Router::new().route(
        "/api/catalog/entities/by-query",
        get(move || {
            let page = page.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], page) }
        }),
    );
    let tls = govdeck::server::tls::load(&leaf.cert, &leaf.key).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let server = axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(tls))
        .unwrap()
        .serve(app.into_make_service());
    (url, tokio::spawn(async move { server.await.unwrap() }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_backstage_accepts_https_with_the_same_trust() {
    let pki = Pki::new();
    let (url, backstage) = https_backstage(&pki.good()).await;
    let cli = Cli::new("http://127.0.0.1:9", "unused");
    let db = pki.path("imported.db");
    let import = ["import", "backstage", "--url", &url, "--db", path_str(&db)];

    let run = run_trusting(&cli, &import, &pki.other_ca()).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let authority = url.trim_start_matches("https://");
    assert!(run.stderr.contains(&format!("TLS: the certificate of {authority} is not trusted")), "{}", run.stderr);

    let mut with_ca = import.to_vec();
    let ca = path_str(&pki.ca()).to_string();
    with_ca.extend(["--ca-file", &ca]);
    let run = run_trusting(&cli, &with_ca, &pki.other_ca()).await;
    assert!(run.expect(0).contains("created 2"), "{}\n{}", run.stdout, run.stderr);
    backstage.abort();
}
