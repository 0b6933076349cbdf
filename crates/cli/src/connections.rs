//! How `serve` holds its connections: at most `max_connections` open, a deadline for each
//! request's header, and an idle timeout.
//!
//! hyper closes nothing by itself: without a timer its header timeout is off, so a client that
//! sends a header line every few seconds, or nothing at all, holds a connection (and a file
//! descriptor) for ever, and a thousand such clients stop everyone else. Here:
//! - the header of each request (the first, and each next one on a kept-alive connection) must
//!   arrive within `header_read_timeout`, however slowly it trickles;
//! - a connection on which no byte moves either way for `idle_timeout` is closed (a client that
//!   stops reading its answer, a body that stalls);
//! - at `max_connections` the server stops accepting: new connections wait in the kernel's
//!   queue instead of failing for want of a file descriptor, and are taken as others close.
//!
//! Over HTTPS the TLS handshake must end within `header_read_timeout` too; then ALPN picks
//! HTTP/2 or HTTP/1.1. HTTP/2 has no header deadline of its own in hyper: there the idle timeout
//! holds, and the router's limit on answering.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// File descriptors kept for what is not a connection: the store, its WAL, logs, the listener.
const RESERVED_FDS: u64 = 64;
/// How long answers in progress may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Raises the open-file limit to what the system allows (as Go's runtime and nginx do), then
/// returns `wanted`, lowered to fit that limit if it must be, with a warning naming the flag.
pub fn fit_to_open_file_limit(wanted: usize) -> usize {
    let Some(limit) = raise_open_file_limit() else {
        return wanted;
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
    if wanted > fits {
        tracing::warn!(
            max_connections = fits,
            open_file_limit = limit,
            "--max-connections {wanted} does not fit the open-file limit; using {fits} (raise `ulimit -n` to allow more)"
        );
        return fits;
    }
    wanted
}

/// The open-file limit after raising the soft limit to the hard one; None if unlimited or unknown.
#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "the open-file limit could not be raised");
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
}

/// Where `serve` listens: plain HTTP, or HTTPS with this rustls acceptor.
pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<Tls>,
}

/// HTTPS on a listener.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// Send `Strict-Transport-Security` with every answer (`--hsts`).
    pub hsts: bool,
}

/// The header size HTTP/2 accepts: as HTTP/1.1's (hyper's default read buffer, about 400 KiB),
/// since a request object may travel in the query; h2's own default, 16 KiB, would refuse it.
const H2_MAX_HEADER_LIST: u32 = 8192 + 4096 * 100;

/// What `--hsts` sends: a year, this host only (no `includeSubDomains`, no preload).
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Serves `app` on each listener within `limits` (one connection cap for all) until `shutdown`
/// completes; then lets answers in progress finish for a few seconds.
pub async fn serve(
    listeners: Vec<Listener>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop, stopped) = watch::channel(false);
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(accept_loop(
                listener,
                app.clone(),
                limits,
                permits.clone(),
                graceful.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    shutdown.await;
    let _ = stop.send(true);
    for accepting in loops {
        let _ = accepting.await;
    }
    let Some(graceful) = Arc::into_inner(graceful) else {
        return;
    };
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?} were closed");
        }
    }
}

async fn accept_loop(
    listener: Listener,
    app: Router,
    limits: Limits,
    permits: Arc<Semaphore>,
    graceful: Arc<GracefulShutdown>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        // At the cap, wait for a connection to close before accepting: a new one stays in the
        // kernel's queue meanwhile, rather than cost a file descriptor the server lacks.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = until_stopped(&mut stopped) => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = until_stopped(&mut stopped) => break,
        };
        // Answers are small: send each at once rather than wait for the previous one's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let activity = Activity::new();
        let tracked = Tracked {
            inner: tcp,
            activity: activity.clone(),
        };
        let watcher = graceful.watcher();
        let tls = listener.tls.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(tls) = tls else {
                let service = service(app, peer, false);
                let connection =
                    http1_builder(limits).serve_connection(TokioIo::new(tracked), service);
                return drive(
                    watcher.watch(connection),
                    &activity,
                    limits.idle_timeout,
                    peer,
                )
                .await;
            };
            // The handshake counts against the header deadline: a client that opens a connection
            // and trickles (or never sends) its hello holds a slot no longer than a plain one.
            let stream = match tokio::time::timeout(
                limits.header_read_timeout,
                tls.acceptor.accept(tracked),
            )
            .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake not done within the header read timeout");
                    return;
                }
            };
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let service = service(app, peer, tls.hsts);
            let io = TokioIo::new(stream);
            if h2 {
                let mut builder = http2::Builder::new(TokioExecutor::new());
                builder
                    .timer(TokioTimer::new())
                    .max_header_list_size(H2_MAX_HEADER_LIST);
                let connection = builder.serve_connection(io, service);
                drive(
                    watcher.watch(connection),
                    &activity,
                    limits.idle_timeout,
                    peer,
                )
                .await;
            } else {
                let connection = http1_builder(limits).serve_connection(io, service);
                drive(
                    watcher.watch(connection),
                    &activity,
                    limits.idle_timeout,
                    peer,
                )
                .await;
            }
        });
    }
}

async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn http1_builder(limits: Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
}

/// The app as a hyper service for one connection: the peer's address for `ConnectInfo`, and
/// HSTS on each answer if asked for.
fn service(
    app: Router,
    peer: SocketAddr,
    hsts: bool,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = app.clone().oneshot(request);
        async move {
            let mut response = answer.await?;
            if hsts {
                response
                    .headers_mut()
                    .insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
            }
            Ok(response)
        }
    })
}

/// Runs a connection until it ends, or until no byte has moved for `idle_timeout`.
async fn drive<E: std::fmt::Display>(
    connection: impl Future<Output = Result<(), E>>,
    activity: &Activity,
    idle_timeout: Duration,
    peer: SocketAddr,
) {
    let mut connection = pin!(connection);
    loop {
        let quiet = activity.quiet_for();
        if quiet >= idle_timeout {
            // Dropping the connection closes it.
            tracing::debug!(%peer, "closing a connection idle for {quiet:?}");
            return;
        }
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            () = tokio::time::sleep(idle_timeout - quiet) => {}
        }
    }
}

/// A failed accept: one client's trouble is skipped; anything else (out of file descriptors,
/// above all) is logged and waited out for a moment instead of spinning.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// When a byte last moved on a connection, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Instant::now().saturating_duration_since(last)
    }
}

/// A TCP stream that notes each read or write that moved bytes.
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
