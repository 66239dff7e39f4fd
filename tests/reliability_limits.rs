//! Limits under hostile input, beyond the per-route checks of the server
//! tests: bodies over 2 MiB refused whether or not they announce their
//! length, `/v1/changes` pages cut to 5000, comments counted in characters
//! not bytes, and a flood of 200 concurrent oversized or garbage requests
//! that leaves a normal client served.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DB_FILE, TestServer, medium_manifest};
use futures_util::future::join_all;
use govdeck::clock::Clock;
use govdeck::seed::{SeedOptions, seed};
use govdeck::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
/// The server's body limit.
const LIMIT_BYTES: usize = 2 * MIB;
const FLOOD: usize = 200;

/// Sends a raw HTTP/1.1 request (head, then the body in 64 KiB writes) and
/// returns the status of the answer, or `None` when the server closed the
/// connection before answering. Writes that fail because the server already
/// answered and closed are expected.
async fn raw_request(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(head.as_bytes()).await.ok()?;
    for chunk in body.chunks(64 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The status line is all we need; stop reading once it is in.
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok())
}

/// A chunked body of `size` bytes of JSON-ish filler.
fn chunked(size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + size / 1000);
    let piece = vec![b'x'; 8 * 1024];
    let mut sent = 0;
    while sent < size {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(&piece);
        body.extend_from_slice(b"\r\n");
        sent += piece.len();
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_with_or_without_a_length() {
    let server = TestServer::start().await;
    let head = server.head().await;
    let token = server.token("olive");

    // A stream with no Content-Length that runs past 2 MiB.
    let request = format!(
        "POST /v1/intake HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.addr
    );
    assert_eq!(raw_request(server.addr, &request, &chunked(3 * MIB)).await, Some(413), "chunked over the limit");

    // Announced lengths: one byte over is 413 with the error body; exactly at
    // the limit is read and judged on its content (a 400, not a 413).
    let over = vec![b' '; LIMIT_BYTES + 1];
    server.post_raw("olive", "/v1/intake", over).await.expect_code(413, "payload_too_large");
    let mut at_limit = medium_manifest("at-limit").to_string().into_bytes();
    at_limit.resize(LIMIT_BYTES, b' ');
    let resp = server.post_raw("olive", "/v1/intake", at_limit).await;
    assert_ne!(resp.status.as_u16(), 413, "exactly 2 MiB is within the limit: {}", resp.text);
    // Garbage bytes over the limit, not JSON, not UTF-8.
    let garbage: Vec<u8> = (0..LIMIT_BYTES + 4096).map(|n| (n * 131 % 251) as u8).collect();
    server.post_raw("ingo", "/v1/audit/events", garbage).await.expect_code(413, "payload_too_large");

    assert_eq!(server.head().await.0, head.0 + 2, "only the at-limit intake (padded valid JSON) was written");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_pages_are_cut_to_five_thousand() {
    let server = TestServer::start().await;
    {
        let mut store = Store::open(&server.dir().join(DB_FILE)).unwrap();
        let now = server.clock.now();
        seed(&mut store, &SeedOptions { apps: 4000, events: 100, seed: 1, now }).unwrap();
    }
    let total = server.all_changes("riley").await.len();
    assert!(total > 5000, "enough changes for the test: {total}");
    for limit in ["5001", "100000", "4294967295"] {
        let page = server.get("riley", &format!("/v1/changes?limit={limit}")).await.expect(200);
        assert_eq!(page["items"].as_array().unwrap().len(), 5000, "limit={limit}");
        assert_eq!(page["more"], true);
    }
    let page = server.get("riley", "/v1/changes?limit=4294967296").await;
    page.expect_error(400);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_limited_in_characters_not_bytes() {
    let server = TestServer::start().await;
    let (_, first) = server.intake("olive", &medium_manifest("first")).await;
    let (_, second) = server.intake("olive", &medium_manifest("second")).await;
    // 2001 two-byte characters: refused.
    let long = "é".repeat(2001);
    let resp =
        server.decide_at("riley", first["id"].as_str().unwrap(), "reject", &long, first["rev"].as_u64().unwrap());
    resp.await.expect_code(400, "comment_too_long");
    // 2000 four-byte characters (8000 bytes): within the limit, and stored whole.
    let full = "🛡".repeat(2000);
    let decided = server.decide("riley", &first, "reject", &full).await.expect(200);
    assert_eq!(decided["approval"]["decisions"][0]["comment"], full.as_str());
    // A comment of control and bidi characters is data like any other.
    let odd = "\u{202e}\u{1b}[2J\0";
    server.decide("rosa", &second, "approve", odd).await.expect(200);
    server.stop().await;
}

/// One hostile request of kind `n % 7`; returns the status, or `None` when
/// the connection was closed without an answer.
async fn hostile(server: &TestServer, client: &reqwest::Client, n: usize) -> (usize, Option<u16>) {
    let kind = n % 7;
    let token = server.token("olive");
    let url = |path: &str| server.url(path);
    let sent = match kind {
        // Announced oversize.
        0 => client.post(url("/v1/intake")).bearer_auth(&token).body(vec![b'{'; 3 * MIB]).send().await,
        // Garbage bytes.
        1 => {
            let garbage: Vec<u8> = (0..64 * 1024).map(|i| ((i + n) * 97 % 256) as u8).collect();
            client.post(url("/v1/audit/events")).bearer_auth(&token).body(garbage).send().await
        }
        // Deeply nested JSON.
        2 => {
            let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            client.post(url("/v1/intake")).bearer_auth(&token).body(nested).send().await
        }
        // A bad token with a big body.
        3 => client.post(url("/v1/intake")).bearer_auth("nope").body(vec![b' '; MIB]).send().await,
        // A 128 KiB header: within hyper's buffer, so served (or refused with a 431).
        4 => client.get(url("/v1/me")).header("x-filler", "h".repeat(128 * 1024)).bearer_auth(&token).send().await,
        // An absurd query.
        5 => client.get(url(&format!("/v1/audit?after={}", "9".repeat(50_000)))).bearer_auth(&token).send().await,
        // A chunked stream past the limit, written by hand.
        _ => {
            let request = format!(
                "POST /v1/audit/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
                 Transfer-Encoding: chunked\r\n\r\n",
                server.addr
            );
            return (kind, raw_request(server.addr, &request, &chunked(3 * MIB)).await);
        }
    };
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            (kind, Some(status))
        }
        Err(err) => {
            eprintln!("kind {kind}: no answer: {err:?}");
            (kind, None)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_hostile_requests_leaves_normal_clients_served() {
    let server = Arc::new(TestServer::start().await);
    let head = server.head().await;
    // A connection per request: a refused oversized body closes its
    // connection, and a pooled client could race a request onto it.
    let flood_client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // The normal client: health and me, back to back, until the flood is over.
    let normal = {
        let (server, done) = (Arc::clone(&server), Arc::clone(&done));
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut round = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || round < 20 {
                round += 1;
                for path in ["/v1/health", "/v1/me"] {
                    let started = Instant::now();
                    let resp = server.get("riley", path).await;
                    latencies.push(started.elapsed());
                    assert_eq!(resp.status.as_u16(), 200, "{path} during the flood: {}", resp.text);
                }
            }
            latencies
        })
    };

    let started = Instant::now();
    let flood = (0..FLOOD).map(|n| {
        let (server, client) = (Arc::clone(&server), flood_client.clone());
        tokio::spawn(async move { hostile(&server, &client, n).await })
    });
    let answers: Vec<(usize, Option<u16>)> = join_all(flood).await.into_iter().map(Result::unwrap).collect();
    let flooded = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let latencies = normal.await.expect("the normal client was served throughout");

    let mut by_kind = std::collections::BTreeMap::<(usize, Option<u16>), usize>::new();
    for answer in &answers {
        *by_kind.entry(*answer).or_default() += 1;
    }
    let max = latencies.iter().max().copied().unwrap_or_default();
    let mut sorted = latencies.clone();
    sorted.sort_unstable();
    eprintln!(
        "flood of {FLOOD} in {:.2} s; answers (kind, status) -> count: {by_kind:?}; normal client: {} calls, \
         p50 {:.2} ms, max {:.1} ms",
        flooded.as_secs_f64(),
        latencies.len(),
        sorted[sorted.len() / 2].as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
    for (kind, status) in &answers {
        match status {
            Some(200) if *kind == 4 => {}
            Some(status) => assert!((400..500).contains(status), "kind {kind}: a 4xx, never a 5xx: {status}"),
            // Only a request still sending its body may see the connection
            // closed after the server refused it.
            None => assert!([0, 3].contains(kind), "kind {kind} got no answer at all"),
        }
    }
    assert!(max < Duration::from_secs(10), "the normal client waited {max:?}");

    // Still up, still consistent, nothing written.
    server.get("riley", "/v1/health").await.expect(200);
    assert_eq!(server.head().await, head);
    let server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("no task still holds the server"));
    server.stop().await;
}
