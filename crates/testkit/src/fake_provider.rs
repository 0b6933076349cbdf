//! A small provider on 127.0.0.1 that answers like a correct one until a test tells one of its
//! endpoints to misbehave: answer with other JSON, redirect elsewhere (to an
//! [`Elsewhere`](crate::elsewhere::Elsewhere)), or move to a
//! [`Firehose`](crate::firehose::Firehose) that streams a body without end.

use crate::id_token::{ACCESS_TOKEN, CLIENT_ID, NONCE, bankid_claims, with};
use crate::test_key::{TestKey, jwks};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
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

/// The permission id the fake's permissions endpoint registers.
pub const PERMISSION_ID: &str =
    "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0";

/// One answer of the grant endpoint, in the order a test scripts them.
#[derive(Clone)]
pub enum GrantStep {
    /// 404: not granted yet.
    NotYet,
    /// This status and JSON error.
    Json(StatusCode, Value),
    /// 200 `application/jwt`: these claims signed by the grant key.
    Grant(Value),
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
    /// BIS: the key that signs grants (published at `/grant-certs`).
    pub grant_key: TestKey,
    /// BIS: the answers of the grant endpoint still to give; 404 once they run out.
    pub grant_steps: Mutex<VecDeque<GrantStep>>,
    pub grant_polls: AtomicUsize,
    /// BIS: the bodies and `Authorization` headers of the permission registrations received.
    pub permission_requests: Mutex<Vec<(Value, Option<String>)>>,
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
            grant_key: TestKey::es256("grant-key-1"),
            grant_steps: Mutex::default(),
            grant_polls: AtomicUsize::new(0),
            permission_requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/realm/.well-known/openid-configuration", get(discovery))
            .route("/realm/certs", get(certs))
            .route("/realm/token", post(token))
            .route("/realm/userinfo", get(userinfo))
            .route("/realm/introspect", post(introspect))
            .route("/realm/revoke", post(revoke))
            .route("/realm/par", post(par))
            .route("/realm/permissions/", post(register_permission))
            .route("/realm/permissions/user-exists", post(user_exists))
            .route("/realm/permissions/{id}/grant", get(grant))
            .route("/realm/grant-certs", get(grant_certs))
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

    /// Publishes the BIS members (`permissions_endpoint`, `jwks_uri_grants`); without them the
    /// fake is a realm issuer.
    pub fn publish_bis(&self) {
        self.publish(
            "permissions_endpoint",
            json!(self.endpoint("/permissions/")),
        );
        self.publish("jwks_uri_grants", json!(self.endpoint("/grant-certs")));
    }

    /// Queues answers of the grant endpoint.
    pub fn script_grant(&self, steps: impl IntoIterator<Item = GrantStep>) {
        self.grant_steps.lock().unwrap().extend(steps);
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

async fn register_permission(
    State(p): State<Arc<TestProvider>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    p.permission_requests
        .lock()
        .unwrap()
        .push((body, authorization));
    if let Some(answer) = p.answer("/permissions/") {
        return answer;
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "id": PERMISSION_ID,
            "permissionToken": "permission.token.jwt",
            "bindingMessage": "Farlig frakk",
        })),
    )
        .into_response()
}

async fn user_exists(State(p): State<Arc<TestProvider>>) -> Response {
    if let Some(answer) = p.answer("/permissions/user-exists") {
        return answer;
    }
    axum::Json(json!({"exists": true})).into_response()
}

async fn grant(State(p): State<Arc<TestProvider>>, Path(id): Path<String>) -> Response {
    p.grant_polls.fetch_add(1, Ordering::SeqCst);
    if id != PERMISSION_ID {
        return StatusCode::NOT_FOUND.into_response();
    }
    let step = p.grant_steps.lock().unwrap().pop_front();
    match step.unwrap_or(GrantStep::NotYet) {
        GrantStep::NotYet => StatusCode::NOT_FOUND.into_response(),
        GrantStep::Json(status, body) => (status, axum::Json(body)).into_response(),
        GrantStep::Grant(claims) => (
            [(header::CONTENT_TYPE, "application/jwt")],
            p.grant_key.sign_claims(&claims),
        )
            .into_response(),
    }
}

async fn grant_certs(State(p): State<Arc<TestProvider>>) -> Response {
    axum::Json(serde_json::to_value(jwks(&[&p.grant_key])).unwrap()).into_response()
}
