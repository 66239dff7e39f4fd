//! A fault-injecting HTTP proxy on `127.0.0.1:0` in front of the real
//! server: it forwards every request as it came and can instead answer 429
//! with `Retry-After`, cut the body of an answer short, hold a request back,
//! answer a made-up status (500, 503, with or without `Retry-After`), or
//! reset the TCP connection without an answer, before or after forwarding
//! the request. It logs when each request arrived, when it was answered and
//! what with, so a test can prove how the client paced its retries.
//!
//! A connection reset: an axum handler cannot drop its own socket, so the
//! proxy serves through a listener of its own ([`FaultListener`]) whose
//! sockets ([`FaultIo`]) each carry a reset flag that the handler reaches
//! through [`ConnectInfo`]. The handler sets the flag and returns a dummy
//! answer; the socket then refuses to write it (and any further read),
//! which makes hyper drop the connection, and with `SO_LINGER` 0 set just
//! before, the kernel sends an RST rather than a FIN. Nothing of the answer
//! reaches the client: it sees "connection reset" / "closed before message
//! completed", as from a proxy or server that died mid-request.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
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
    /// `effect` on the requests `route` matches: after the first `skip` of
    /// them are forwarded, the next `count` (`None`: all the rest); the
    /// requests after those are forwarded again.
    Inject { route: Route, skip: u32, count: Option<u32>, effect: Effect },
}

impl Fault {
    /// `effect` on the first `count` requests `route` matches (`None`: on all).
    pub fn inject(route: Route, count: Option<u32>, effect: Effect) -> Fault {
        Fault::Inject { route, skip: 0, count, effect }
    }
}

/// Which requests a [`Fault::Inject`] applies to (by path, the query aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Any,
    /// Paths that start with this (`/v1/audit` also matches `/v1/audit/head`).
    Prefix(&'static str),
    /// Exactly this path.
    Exact(&'static str),
    /// Any path, this method (`"POST"`).
    Method(&'static str),
}

impl Route {
    fn matches(self, method: &str, path: &str) -> bool {
        match self {
            Route::Any => true,
            Route::Prefix(prefix) => path.starts_with(prefix),
            Route::Exact(exact) => path == exact,
            Route::Method(wanted) => method == wanted,
        }
    }
}

/// What a [`Fault::Inject`] does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Wait this many milliseconds, then forward it.
    Delay(u64),
    /// Close the connection (RST) without forwarding it or answering.
    Reset,
    /// Forward it (the server acts on it), then close the connection (RST)
    /// instead of passing the answer on: the answer is lost.
    ResetAfterForward,
    /// Answer `status` with a JSON error body (and `Retry-After` when
    /// given), without forwarding it.
    Status { status: u16, retry_after_secs: Option<u64> },
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// When the request arrived.
    pub at: Instant,
    /// When the proxy answered it (or reset the connection).
    pub answered: Instant,
    pub method: String,
    pub path: String,
    /// What the client got; 0 for a reset connection.
    pub status: u16,
    /// The answer was made up, cut, delayed or reset by the proxy.
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

/// The proxy's listener: plain TCP, each socket wrapped in a [`FaultIo`].
pub struct FaultListener(TcpListener);

impl axum::serve::Listener for FaultListener {
    type Io = FaultIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FaultIo, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => return (FaultIo { stream, reset: Arc::new(AtomicBool::new(false)) }, addr),
                // Out of file descriptors and the like: wait, as axum's own listener does.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A proxy socket that can be told to reset its connection.
pub struct FaultIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl FaultIo {
    /// Once reset: linger 0 (so the close is an RST) and an error for hyper.
    fn check(&self) -> Option<io::Error> {
        if !self.reset.load(Ordering::SeqCst) {
            return None;
        }
        let _ = self.stream.set_zero_linger();
        Some(io::Error::new(io::ErrorKind::ConnectionReset, "reset by the fault proxy"))
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The reset flag of the connection a request came on.
#[derive(Clone)]
struct Conn(Arc<AtomicBool>);

impl Connected<IncomingStream<'_, FaultListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Conn {
        Conn(stream.io().reset.clone())
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        govdeck::tls::install_default_provider();
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
            let _ = axum::serve(FaultListener(listener), app.into_make_service_with_connect_info::<Conn>())
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
    let answered = Instant::now();
    shared.log.lock().unwrap().push(Logged {
        at,
        answered,
        method: method.to_string(),
        path: path.to_string(),
        status,
        faulted,
    });
}

/// The effect of a [`Fault::Inject`] on this request, if it has one (and
/// counts the request when the route matches).
fn injected(shared: &Shared, method: &str, path: &str) -> Option<Effect> {
    let fault = shared.fault.lock().unwrap();
    let Fault::Inject { route, skip, count, effect } = &*fault else { return None };
    if !route.matches(method, path) {
        return None;
    }
    let mut seen = shared.seen.lock().unwrap();
    *seen += 1;
    let nth = *seen;
    (nth > *skip && count.is_none_or(|count| nth - skip <= count)).then_some(*effect)
}

/// A dummy answer to a request whose connection is being reset: the socket
/// refuses to write it.
fn reset(conn: &Conn) -> Response {
    conn.0.store(true, Ordering::SeqCst);
    Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body(Body::from("reset")).unwrap()
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    request: Request,
) -> Response {
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

    let effect = injected(&shared, &method, &path);
    match effect {
        Some(Effect::Status { status, retry_after_secs }) => {
            record(&shared, at, &method, &path, status, true);
            let mut builder = Response::builder().status(status).header(header::CONTENT_TYPE, "application/json");
            if let Some(after) = retry_after_secs {
                builder = builder.header(header::RETRY_AFTER, after.to_string());
            }
            let body = format!(r#"{{"error":{{"code":"injected","message":"injected HTTP {status}"}}}}"#);
            return builder.body(Body::from(body)).unwrap();
        }
        Some(Effect::Reset) => {
            record(&shared, at, &method, &path, 0, true);
            return reset(&conn);
        }
        Some(Effect::Delay(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Effect::ResetAfterForward) | None => {}
    }

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
    if effect == Some(Effect::ResetAfterForward) {
        record(&shared, at, &method, &path, 0, true);
        return reset(&conn);
    }
    let delayed = effect.is_some();

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
            record(&shared, at, &method, &path, status.as_u16(), delayed);
            builder.body(Body::from(full))
        }
    };
    response.unwrap()
}
