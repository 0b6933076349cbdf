//! The load generator's HTTP/1.1 client: one kept-alive connection to the provider per worker,
//! on hyper's connection API. reqwest's pool, its URL parsing per request and its connection
//! task cost more CPU per request than the scenarios' own work, on cores shared with the
//! server; here a request is a path and query with the origin's `Host`, and the connection is
//! driven inside the worker's own task.

use crate::origin::Origin;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::net::TcpStream;

/// A request that failed: `kind` is `timeout`, `connect` or `transport`.
#[derive(Debug)]
pub struct Error {
    pub kind: &'static str,
    pub detail: String,
}

impl Error {
    pub fn new(kind: &'static str, detail: impl fmt::Display) -> Self {
        Error {
            kind,
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for Error {}

/// An answer read to the end.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }
}

/// A form body as browsers and reqwest's `.form()` encode it.
pub fn form_body<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Bytes {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name.as_ref(), value.as_ref());
    }
    Bytes::from(serializer.finish())
}

type Driver = Pin<Box<Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

/// One connection: the handle that sends, and the state machine that does the I/O. The latter
/// is polled only while this worker waits for an answer (there is nothing else to do on an idle
/// HTTP/1.1 client connection); `None` once it has ended.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<Driver>,
}

enum Failed {
    /// The connection closed before the request went out: it may be sent again.
    NotSent(Box<Request<Full<Bytes>>>, hyper::Error),
    Other(hyper::Error),
}

impl Conn {
    /// Whether the connection can take a request: drives it to see a close by the server, and
    /// until it is ready for the next request.
    async fn ready(&mut self) -> bool {
        poll_fn(|cx| {
            if let Some(driver) = &mut self.driver
                && driver.as_mut().poll(cx).is_ready()
            {
                self.driver = None;
            }
            match self.sender.poll_ready(cx) {
                Poll::Ready(result) => Poll::Ready(result.is_ok()),
                Poll::Pending if self.driver.is_none() => Poll::Ready(false),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    async fn round_trip(&mut self, request: Request<Full<Bytes>>) -> Result<Response, Failed> {
        let Conn { sender, driver } = self;
        let mut exchange =
            pin!(async move {
                let response = sender.try_send_request(request).await.map_err(|mut e| {
                    match e.take_message() {
                        Some(request) => Failed::NotSent(Box::new(request), e.into_error()),
                        None => Failed::Other(e.into_error()),
                    }
                })?;
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map_err(Failed::Other)?.to_bytes();
                Ok(Response {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            });
        poll_fn(|cx| {
            // The I/O first, so that an answer that has arrived is read in the same poll. A
            // connection that ended is dropped, which fails a request it still holds.
            if let Some(d) = driver
                && d.as_mut().poll(cx).is_ready()
            {
                *driver = None;
            }
            exchange.as_mut().poll(cx)
        })
        .await
    }
}

/// A worker's connection to the provider: opened on first use, kept alive, opened again when
/// the server has closed it or a request failed on it.
pub struct Transport {
    origin: Arc<Origin>,
    timeout: Duration,
    conn: Option<Conn>,
}

impl Transport {
    pub fn new(origin: Arc<Origin>, timeout: Duration) -> Self {
        Transport {
            origin,
            timeout,
            conn: None,
        }
    }

    /// Opens the connection now (before the clock starts) rather than on the first request.
    pub async fn connect(&mut self) -> Result<(), Error> {
        let conn = tokio::time::timeout(self.timeout, self.open())
            .await
            .map_err(|_| Error::new("timeout", "connecting took too long"))??;
        self.conn = Some(conn);
        Ok(())
    }

    /// A request for `path_and_query` on the provider's origin.
    pub fn request(&self, method: Method, path_and_query: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.origin.host.clone())
    }

    /// Sends the request and reads the whole answer, all within the timeout.
    pub async fn send(
        &mut self,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<Response, Error> {
        let request = request
            .body(Full::new(body))
            .map_err(|e| Error::new("transport", format!("building the request: {e}")))?;
        // For an error message; cheap clones (the path is shared, not copied).
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let result = tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    "timeout",
                    format!("no complete answer within {:?}", self.timeout),
                ))
            });
        result.map_err(|e| {
            // Whatever the connection was in the middle of, it cannot carry the next request.
            self.conn = None;
            Error::new(e.kind, format!("{method} {uri}: {}", e.detail))
        })
    }

    async fn exchange(&mut self, mut request: Request<Full<Bytes>>) -> Result<Response, Error> {
        loop {
            let reused = match &mut self.conn {
                Some(conn) => conn.ready().await,
                None => false,
            };
            if !reused {
                self.conn = Some(self.open().await?);
            }
            let conn = self.conn.as_mut().expect("a connection was just opened");
            match conn.round_trip(request).await {
                Ok(response) => return Ok(response),
                // The server closed the kept-alive connection as the request went out: once
                // more, on a new connection, as a browser does.
                Err(Failed::NotSent(unsent, _)) if reused => {
                    self.conn = None;
                    request = *unsent;
                }
                Err(Failed::NotSent(_, e) | Failed::Other(e)) => {
                    return Err(Error::new("transport", e));
                }
            }
        }
    }

    async fn open(&self) -> Result<Conn, Error> {
        let addr = self.origin.addr;
        let connect_error = |e: &dyn fmt::Display| Error::new("connect", format!("{addr}: {e}"));
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| connect_error(&e))?;
        stream.set_nodelay(true).map_err(|e| connect_error(&e))?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect_error(&e))?;
        Ok(Conn {
            sender,
            driver: Some(Box::pin(driver)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// How the test server treats each connection after answering a request.
    #[derive(Clone, Copy)]
    enum After {
        KeepAlive,
        /// Answers with `Connection: close`, then closes.
        CloseHeader,
        /// Closes without saying so (an idle timeout).
        CloseSilently,
        /// Never answers the first connection's first request.
        HangFirst,
    }

    /// A server on a free port that answers every request with its request line and Host
    /// header as the body; returns the transport's origin and the count of connections.
    async fn server(after: After) -> (Arc<Origin>, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let n = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let Some(head) = read_request(&mut stream, &mut buf).await else {
                            return;
                        };
                        if matches!(after, After::HangFirst) && n == 0 {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        let close = matches!(after, After::CloseHeader);
                        let body = head;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{}\r\n{body}",
                            body.len(),
                            if close { "connection: close\r\n" } else { "" },
                        );
                        stream.write_all(response.as_bytes()).await.unwrap();
                        if !matches!(after, After::KeepAlive | After::HangFirst) {
                            return;
                        }
                    }
                });
            }
        });
        let origin = Origin::of(&format!("http://{addr}/issuer")).await.unwrap();
        (Arc::new(origin), accepted)
    }

    /// Reads one request (head and a content-length body); returns "METHOD PATH HOST BODY".
    async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(buf[..end].to_vec()).unwrap();
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                        .map(str::to_owned)
                };
                let length: usize = header("content-length").map_or(0, |l| l.parse().unwrap());
                while buf.len() < end + 4 + length {
                    read_more(stream, buf).await?;
                }
                let body = String::from_utf8(buf[end + 4..end + 4 + length].to_vec()).unwrap();
                buf.drain(..end + 4 + length);
                let line: Vec<&str> = head.lines().next().unwrap().split(' ').collect();
                return Some(format!(
                    "{} {} {} {body}",
                    line[0],
                    line[1],
                    header("host").unwrap_or_default()
                ));
            }
            read_more(stream, buf).await?;
        }
    }

    async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
        let mut chunk = [0; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    async fn get(transport: &mut Transport, path: &str) -> Result<String, Error> {
        let request = transport.request(Method::GET, path);
        let response = transport.send(request, Bytes::new()).await?;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.content_type(), Some("text/plain"));
        Ok(String::from_utf8(response.body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn keeps_one_connection_alive_and_sends_host_and_forms() {
        let (origin, accepted) = server(After::KeepAlive).await;
        let host = origin.host.to_str().unwrap().to_owned();
        let mut transport = Transport::new(origin, Duration::from_secs(5));
        transport.connect().await.unwrap();
        for i in 0..3 {
            let got = get(&mut transport, &format!("/a?i={i}")).await.unwrap();
            assert_eq!(got, format!("GET /a?i={i} {host} "));
        }
        let request = transport.request(Method::POST, "/form");
        let body = form_body(&[("a b", "c&d=é"), ("csrf", "q+/=")]);
        let response = transport.send(request, body).await.unwrap();
        assert_eq!(
            response.body,
            format!("POST /form {host} a+b=c%26d%3D%C3%A9&csrf=q%2B%2F%3D")
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn opens_a_new_connection_when_the_server_closes_it() {
        for after in [After::CloseHeader, After::CloseSilently] {
            let (origin, accepted) = server(after).await;
            let mut transport = Transport::new(origin, Duration::from_secs(5));
            for i in 0..3 {
                get(&mut transport, &format!("/{i}")).await.unwrap();
                // Give a silent close time to arrive, as an idle timeout would.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(accepted.load(Ordering::SeqCst), 3);
        }
    }

    #[tokio::test]
    async fn a_timeout_is_reported_and_the_next_request_gets_a_new_connection() {
        let (origin, accepted) = server(After::HangFirst).await;
        let mut transport = Transport::new(origin, Duration::from_millis(200));
        let failure = get(&mut transport, "/slow").await.unwrap_err();
        assert_eq!(failure.kind, "timeout");
        get(&mut transport, "/fast").await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let origin = Origin::of(&format!("http://{addr}")).await.unwrap();
        let mut transport = Transport::new(Arc::new(origin), Duration::from_secs(5));
        assert_eq!(get(&mut transport, "/").await.unwrap_err().kind, "connect");
        assert_eq!(transport.connect().await.unwrap_err().kind, "connect");
    }
}
