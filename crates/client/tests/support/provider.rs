//! A small provider on 127.0.0.1 that answers like a correct one until a test tells one of its
//! endpoints to misbehave: answer with other JSON, redirect elsewhere, or move to a
//! [`Firehose`] that streams a body without end. [`Elsewhere`] is the other origin a redirect
//! points to; it records whatever reaches it.

use super::{ACCESS_TOKEN, CLIENT_ID, NONCE, TestKey, bankid_claims, jwks, with};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const SECRET: &str = "s3cret:with+special/chars";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How one endpoint misbehaves.
#[derive(Clone)]
pub enum Answer {
    /// This status and JSON body instead of the correct answer.
    Json(StatusCode, Value),
    /// A redirect with this status to `location`.
    Redirect(StatusCode, String),
}

pub struct TestProvider {
    pub issuer: String,
    pub key: TestKey,
    /// Discovery members replaced or added (e.g. `token_endpoint` moved to a firehose).
    pub metadata: Mutex<serde_json::Map<String, Value>>,
    /// Endpoint (path after the issuer, e.g. `/token`) to its misbehaviour.
    answers: Mutex<HashMap<&'static str, Answer>>,
    /// Claims of the next ID token, on top of a valid BankID token issued now.
    pub id_token_overrides: Mutex<serde_json::Map<String, Value>>,
    /// Members of the next token response, on top of a valid one.
    pub token_overrides: Mutex<serde_json::Map<String, Value>>,
    /// The claims of signed userinfo; `None`: valid ones.
    pub userinfo_claims: Mutex<Option<Value>>,
    pub token_requests: AtomicUsize,
    /// The Content-Length header of each token request (`None`: sent chunked).
    pub token_content_lengths: Mutex<Vec<Option<String>>>,
}

impl TestProvider {
    pub async fn start() -> Arc<TestProvider> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let provider = Arc::new(TestProvider {
            issuer: format!("http://{}/realm", listener.local_addr().unwrap()),
            key: TestKey::es256("key-1"),
            metadata: Mutex::default(),
            answers: Mutex::default(),
            id_token_overrides: Mutex::default(),
            token_overrides: Mutex::default(),
            userinfo_claims: Mutex::default(),
            token_requests: AtomicUsize::new(0),
            token_content_lengths: Mutex::default(),
        });
        let app = Router::new()
            .route("/realm/.well-known/openid-configuration", get(discovery))
            .route("/realm/certs", get(certs))
            .route("/realm/token", post(token))
            .route("/realm/userinfo", get(userinfo))
            .route("/realm/introspect", post(introspect))
            .route("/realm/revoke", post(revoke))
            .route("/realm/par", post(par))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        provider
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Makes `path` (e.g. `/token`) answer `answer` from now on.
    pub fn misbehave(&self, path: &'static str, answer: Answer) {
        self.answers.lock().unwrap().insert(path, answer);
    }

    /// Replaces a discovery member, e.g. points `jwks_uri` at a [`Firehose`].
    pub fn publish(&self, member: &str, value: Value) {
        self.metadata
            .lock()
            .unwrap()
            .insert(member.to_owned(), value);
    }

    /// Sets (or with `Value::Null` removes) a claim of the ID tokens issued from now on.
    pub fn id_token_claim(&self, name: &str, value: Value) {
        self.id_token_overrides
            .lock()
            .unwrap()
            .insert(name.to_owned(), value);
    }

    /// Sets (or with `Value::Null` removes) a member of the token responses from now on.
    pub fn token_member(&self, name: &str, value: Value) {
        self.token_overrides
            .lock()
            .unwrap()
            .insert(name.to_owned(), value);
    }

    fn answer(&self, path: &str) -> Option<Response> {
        let answer = self.answers.lock().unwrap().get(path).cloned()?;
        Some(match answer {
            Answer::Json(status, body) => (status, axum::Json(body)).into_response(),
            Answer::Redirect(status, location) => {
                (status, [(header::LOCATION, location)]).into_response()
            }
        })
    }

    /// A BankID ID token issued now for `nonce`, with the test's overrides.
    pub fn id_token(&self, nonce: &str) -> String {
        let mut claims = bankid_claims();
        for (name, value) in [
            ("iss", json!(self.issuer)),
            ("iat", json!(now())),
            ("exp", json!(now() + 300)),
            ("nonce", json!(nonce)),
        ] {
            claims = with(claims, name, value);
        }
        for (name, value) in self.id_token_overrides.lock().unwrap().iter() {
            claims = with(claims, name, value.clone());
        }
        self.key.sign_claims(&claims)
    }
}

async fn discovery(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/.well-known/openid-configuration") {
        return answer;
    }
    let mut document = json!({
        "issuer": p.issuer,
        "authorization_endpoint": p.endpoint("/auth"),
        "token_endpoint": p.endpoint("/token"),
        "userinfo_endpoint": p.endpoint("/userinfo"),
        "jwks_uri": p.endpoint("/certs"),
        "introspection_endpoint": p.endpoint("/introspect"),
        "revocation_endpoint": p.endpoint("/revoke"),
        "pushed_authorization_request_endpoint": p.endpoint("/par"),
        "id_token_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
        "code_challenge_methods_supported": ["S256"],
    });
    for (member, value) in p.metadata.lock().unwrap().iter() {
        document[member] = value.clone();
    }
    axum::Json(document).into_response()
}

async fn certs(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/certs") {
        return answer;
    }
    axum::Json(serde_json::to_value(jwks(&[&p.key])).unwrap()).into_response()
}

async fn token(
    State(p): State<Arc<TestProvider>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    p.token_requests.fetch_add(1, Ordering::SeqCst);
    p.token_content_lengths.lock().unwrap().push(
        headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    if let Some(answer) = p.answer("/token") {
        return answer;
    }
    let mut response = json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
    });
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        response["id_token"] = json!(p.id_token(NONCE));
    }
    for (name, value) in p.token_overrides.lock().unwrap().iter() {
        response = with(response, name, value.clone());
    }
    axum::Json(response).into_response()
}

async fn userinfo(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/userinfo") {
        return answer;
    }
    let claims = p.userinfo_claims.lock().unwrap().clone().unwrap_or_else(|| {
        json!({"iss": p.issuer, "aud": CLIENT_ID, "sub": bankid_claims()["sub"], "email": "kari@example.no"})
    });
    (
        [(header::CONTENT_TYPE, "application/jwt")],
        p.key.sign_claims(&claims),
    )
        .into_response()
}

async fn introspect(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/introspect") {
        return answer;
    }
    axum::Json(json!({"active": true, "sub": bankid_claims()["sub"], "exp": now() + 300}))
        .into_response()
}

async fn revoke(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/revoke") {
        return answer;
    }
    StatusCode::OK.into_response()
}

async fn par(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/par") {
        return answer;
    }
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"request_uri": "urn:ietf:params:oauth:request_uri:r-1", "expires_in": 90}),
        ),
    )
        .into_response()
}

/// One request that reached [`Elsewhere`].
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub uri: Uri,
    pub authorization: Option<String>,
    pub body: String,
}

/// Another origin (another port), which a misbehaving provider redirects to. Answers 200 `{}`
/// to anything and keeps what it received.
pub struct Elsewhere {
    pub origin: String,
    pub received: Mutex<Vec<Recorded>>,
}

impl Elsewhere {
    pub async fn start() -> Arc<Elsewhere> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let elsewhere = Arc::new(Elsewhere {
            origin: format!("http://{}", listener.local_addr().unwrap()),
            received: Mutex::default(),
        });
        let app = Router::new()
            .fallback(any(record))
            .with_state(elsewhere.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        elsewhere
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State(e): State<Arc<Elsewhere>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    e.received.lock().unwrap().push(Recorded {
        method,
        uri,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    axum::Json(json!({})).into_response()
}

/// A raw HTTP/1.1 server that answers every request with 200 and an endless-looking JSON body:
/// `total` bytes in 64 KiB chunks with a pause between them, chunked or with a Content-Length
/// announcing the whole. It counts the bytes the kernel accepted, so a test can see how much the
/// client let through before it hung up.
pub struct Firehose {
    pub url: String,
    pub sent: Arc<AtomicU64>,
    /// Set when a write failed: the client closed the connection.
    pub hung_up: Arc<AtomicUsize>,
}

pub const FIREHOSE_CHUNK: usize = 64 * 1024;

impl Firehose {
    pub async fn start(total: u64, announce_length: bool, pause: Duration) -> Firehose {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/realm", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicU64::new(0));
        let hung_up = Arc::new(AtomicUsize::new(0));
        let (counter, hangups) = (sent.clone(), hung_up.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (counter, hangups) = (counter.clone(), hangups.clone());
                tokio::spawn(async move {
                    // The request head (and a small form body) arrive in one read on loopback.
                    let mut request = [0u8; 16 * 1024];
                    let _ = socket.read(&mut request).await;
                    let framing = if announce_length {
                        format!("Content-Length: {total}")
                    } else {
                        "Transfer-Encoding: chunked".to_owned()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
                    );
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    // A JSON string that never closes: `{"keys":"aaaa...`.
                    let mut first = true;
                    let mut left = total;
                    while left > 0 {
                        let size = left.min(FIREHOSE_CHUNK as u64) as usize;
                        let mut data = vec![b'a'; size];
                        if first {
                            data[..9].copy_from_slice(b"{\"keys\":\"");
                            first = false;
                        }
                        let framed = if announce_length {
                            data
                        } else {
                            let mut framed = format!("{size:x}\r\n").into_bytes();
                            framed.extend_from_slice(&data);
                            framed.extend_from_slice(b"\r\n");
                            framed
                        };
                        if socket.write_all(&framed).await.is_err() {
                            hangups.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        counter.fetch_add(size as u64, Ordering::SeqCst);
                        left -= size as u64;
                        tokio::time::sleep(pause).await;
                    }
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                });
            }
        });
        Firehose { url, sent, hung_up }
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}
