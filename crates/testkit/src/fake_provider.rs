//! A small provider on 127.0.0.1 that answers like a correct one until a test tells one of its
//! endpoints to misbehave: answer with other JSON, redirect elsewhere (to an
//! [`Elsewhere`](crate::elsewhere::Elsewhere)), or move to a
//! [`Firehose`](crate::firehose::Firehose) that streams a body without end.

use crate::id_token::{ACCESS_TOKEN, CLIENT_ID, NONCE, bankid_claims, with};
use crate::test_key::{TestKey, jwks};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

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

    /// Replaces a discovery member, e.g. points `jwks_uri` at a
    /// [`Firehose`](crate::firehose::Firehose).
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
