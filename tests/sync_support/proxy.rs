//! A fault-injecting HTTP proxy on `127.0.0.1:0` in front of the real
//! server: it forwards every request as it came and can instead answer 429
//! with `Retry-After`, or cut the body of an answer short. It logs when each
//! request arrived and what it answered, so a test can prove how the client
//! paced its retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the proxy does to the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything untouched.
    Pass,
    /// Answer the next `count` requests (whatever their path) with 429 and
    /// `Retry-After: retry_after_secs`, without forwarding them.
    Busy { count: u32, retry_after_secs: u64 },
    /// Answers to requests for exactly `path` (the query aside), after the
    /// first `skip` of them, carry the first half of the body only, with a
    /// `Content-Length` that matches: valid HTTP, cut JSON.
    HalfJson { path: &'static str, skip: u32 },
    /// Answers to requests for exactly `path`, after the first `skip`,
    /// announce the whole body's `Content-Length` but send half of it, then
    /// close the connection.
    ShortBody { path: &'static str, skip: u32 },
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The answer was made up or cut by the proxy.
    pub faulted: bool,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    fault: Mutex<Fault>,
    /// Requests for the fault's path seen since the fault was set.
    seen: Mutex<u32>,
    log: Mutex<Vec<Logged>>,
}

pub struct Proxy {
    shared: Arc<Shared>,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("client"),
            fault: Mutex::new(Fault::Pass),
            seen: Mutex::new(0),
            log: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Proxy { shared, url, stop: Some(stop), task: Some(task) }
    }

    pub fn set(&self, fault: Fault) {
        let mut current = self.shared.fault.lock().unwrap();
        *self.shared.seen.lock().unwrap() = 0;
        *current = fault;
    }

    pub fn log(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &HeaderName) -> bool {
    [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH, header::HOST, header::UPGRADE]
        .contains(name)
        || name.as_str() == "keep-alive"
}

fn record(shared: &Shared, at: Instant, method: &str, path: &str, status: u16, faulted: bool) {
    shared.log.lock().unwrap().push(Logged { at, method: method.to_string(), path: path.to_string(), status, faulted });
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let target = parts.uri.path_and_query().map_or(path.clone(), |pq| pq.as_str().to_string());

    let fault = {
        let mut fault = shared.fault.lock().unwrap();
        let current = fault.clone();
        if let Fault::Busy { count, retry_after_secs } = &mut *fault
            && *count > 0
        {
            *count -= 1;
            let after = *retry_after_secs;
            drop(fault);
            record(&shared, at, &method, &path, 429, true);
            return Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header(header::RETRY_AFTER, after.to_string())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"error":{"code":"rate_limited","message":"slow down"}}"#))
                .unwrap();
        }
        current
    };

    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut upstream = shared.http.request(parts.method.clone(), format!("{}{target}", shared.upstream));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(bytes).send().await {
        Ok(answer) => answer,
        Err(err) => {
            record(&shared, at, &method, &path, 502, true);
            return Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::from(err.to_string())).unwrap();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let full = answer.bytes().await.unwrap_or_default();

    let mut builder = Response::builder().status(status);
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            builder = builder.header(name, value);
        }
    }
    let half = Bytes::copy_from_slice(&full[..full.len() / 2]);
    let cut = match &fault {
        Fault::HalfJson { path: target, skip } | Fault::ShortBody { path: target, skip } if path == *target => {
            let mut seen = shared.seen.lock().unwrap();
            *seen += 1;
            *seen > *skip
        }
        _ => false,
    };
    let response = match fault {
        Fault::HalfJson { .. } if cut => {
            record(&shared, at, &method, &path, status.as_u16(), true);
            builder.header(header::CONTENT_LENGTH, half.len()).body(Body::from(half))
        }
        Fault::ShortBody { .. } if cut => {
            record(&shared, at, &method, &path, status.as_u16(), true);
            // A streamed body has no size of its own, so hyper trusts the
            // header. The stream yields half, pauses (so the headers and that
            // half are flushed to the client), then ends: hyper finds the
            // body short and closes the connection mid-message.
            let stream = futures_util::stream::unfold(Some(half), |half| async move {
                match half {
                    Some(half) => Some((Ok::<_, std::io::Error>(half), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        None
                    }
                }
            });
            builder.header(header::CONTENT_LENGTH, full.len()).body(Body::from_stream(stream))
        }
        _ => {
            record(&shared, at, &method, &path, status.as_u16(), false);
            builder.body(Body::from(full))
        }
    };
    response.unwrap()
}
