//! The async layer against a tiny local provider (an axum router on 127.0.0.1:0): discovery
//! caching and the issuer check, JWKS refetch on key rotation and its rate limit, the code flow
//! through `handle_callback`, signed userinfo, and client-credentials caching.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bankid_oidc_client::{
    CallbackParams, Client, ClientAssertionSigner, Clock, Error, Expected, ManualClock,
    PrivateKeyJwtSigner,
};
use bankid_oidc_testkit::id_token::{ACCESS_TOKEN, NONCE, bankid_claims, with};
use bankid_oidc_testkit::test_key::{TestKey, jwks};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "s3cret:with+special/chars";

struct Provider {
    issuer: String,
    /// The issuer the discovery document claims (differs in the mix-up test).
    published_issuer: Mutex<String>,
    keys: Mutex<Vec<Arc<TestKey>>>,
    signer: Mutex<Arc<TestKey>>,
    discovery_fetches: AtomicUsize,
    jwks_fetches: AtomicUsize,
    enc_jwks_fetches: AtomicUsize,
    /// The status `jwks_uri_enc` answers with (200 but for the failed-refresh test).
    enc_jwks_status: Mutex<StatusCode>,
    /// Whether `jwks_uri_enc` publishes a key too long for a 1 KiB body cap.
    long_enc_key: AtomicBool,
    token_requests: AtomicUsize,
    /// The nonce of the current authorization request, put into the next ID token.
    nonce: Mutex<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Provider {
    fn claims(&self) -> Value {
        let claims = bankid_claims();
        let claims = with(claims, "iss", json!(self.issuer));
        let claims = with(claims, "iat", json!(now()));
        let claims = with(claims, "exp", json!(now() + 300));
        with(claims, "nonce", json!(self.nonce.lock().unwrap().clone()))
    }

    fn sign(&self, claims: &Value) -> String {
        self.signer.lock().unwrap().sign_claims(claims)
    }

    fn rotate_to(&self, key: TestKey) {
        let key = Arc::new(key);
        self.keys.lock().unwrap().push(key.clone());
        *self.signer.lock().unwrap() = key;
    }
}

async fn discovery(State(p): State<Arc<Provider>>) -> Json<Value> {
    p.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = p.published_issuer.lock().unwrap().clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/auth", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "userinfo_endpoint": format!("{}/userinfo", p.issuer),
        "jwks_uri": format!("{}/certs", p.issuer),
        "jwks_uri_enc": format!("{}/certs-enc", p.issuer),
        "id_token_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn certs(State(p): State<Arc<Provider>>) -> Json<Value> {
    p.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = p.keys.lock().unwrap().clone();
    let refs: Vec<&TestKey> = keys.iter().map(|k| k.as_ref()).collect();
    Json(serde_json::to_value(jwks(&refs)).unwrap())
}

async fn certs_enc(State(p): State<Arc<Provider>>) -> Response {
    let fetch = p.enc_jwks_fetches.fetch_add(1, Ordering::SeqCst) + 1;
    let status = *p.enc_jwks_status.lock().unwrap();
    if status != StatusCode::OK {
        return status.into_response();
    }
    let n = if p.long_enc_key.load(Ordering::SeqCst) {
        "A".repeat(4096)
    } else {
        "sXch".into()
    };
    // Each fetch publishes a key named after it, so a test sees which fetch it holds.
    Json(json!({"keys": [{
        "kty": "RSA", "use": "enc", "alg": "RSA-OAEP-256", "kid": format!("enc-{fetch}"),
        "n": n, "e": "AQAB",
    }]}))
    .into_response()
}

async fn token(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    p.token_requests.fetch_add(1, Ordering::SeqCst);
    let expected = bankid_oidc_client::client_auth::basic_authorization("merchant", SECRET);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "bad credentials"})),
        )
            .into_response();
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            if form.get("code").map(String::as_str) != Some("the-code")
                || form.get("code_verifier").is_none_or(|v| v.len() < 43)
            {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                )
                    .into_response();
            }
            Json(json!({
                "access_token": ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": p.sign(&p.claims()),
            }))
            .into_response()
        }
        Some("client_credentials") => Json(json!({
            "access_token": format!("machine-{}", p.token_requests.load(Ordering::SeqCst)),
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": form.get("scope"),
        }))
        .into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn userinfo(State(p): State<Arc<Provider>>) -> Response {
    let claims = json!({
        "iss": p.issuer, "aud": "merchant", "sub": bankid_claims()["sub"],
        "email": "kari@example.no", "nnin": "01817199946",
    });
    ([(header::CONTENT_TYPE, "application/jwt")], p.sign(&claims)).into_response()
}

async fn start() -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/realm", listener.local_addr().unwrap());
    let key = Arc::new(TestKey::es256("key-1"));
    let provider = Arc::new(Provider {
        published_issuer: Mutex::new(issuer.clone()),
        issuer,
        keys: Mutex::new(vec![key.clone()]),
        signer: Mutex::new(key),
        discovery_fetches: AtomicUsize::new(0),
        jwks_fetches: AtomicUsize::new(0),
        enc_jwks_fetches: AtomicUsize::new(0),
        enc_jwks_status: Mutex::new(StatusCode::OK),
        long_enc_key: AtomicBool::new(false),
        token_requests: AtomicUsize::new(0),
        nonce: Mutex::new(NONCE.into()),
    });
    let app = Router::new()
        .route("/realm/.well-known/openid-configuration", get(discovery))
        .route("/realm/certs", get(certs))
        .route("/realm/certs-enc", get(certs_enc))
        .route("/realm/token", post(token))
        .route("/realm/userinfo", get(userinfo))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
}

async fn client(p: &Provider, min_refetch: Duration) -> Client {
    client_on(p, min_refetch, Arc::new(ManualClock::new())).await
}

/// A client whose time passes only when the test advances `clock`.
async fn client_on(p: &Provider, min_refetch: Duration, clock: Arc<ManualClock>) -> Client {
    Client::builder(&p.issuer, "merchant")
        .client_secret(SECRET)
        .redirect_uri("http://127.0.0.1/cb")
        .jwks_min_refetch_interval(min_refetch)
        .min_loa(3)
        .clock(clock)
        .discover()
        .await
        .unwrap()
}

fn expected() -> Expected<'static> {
    Expected {
        nonce: Some(NONCE),
        access_token: None,
    }
}

#[tokio::test]
async fn key_rotation_costs_exactly_one_jwks_refetch() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = client_on(&p, Duration::from_secs(30), clock.clone()).await;
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), 1, "keys are cached");

    clock.advance(Duration::from_secs(31));
    p.rotate_to(TestKey::es256("key-2"));
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), 2);
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tokens_with_made_up_kids_cannot_make_us_hammer_the_jwks_endpoint() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = client_on(&p, Duration::from_secs(30), clock.clone()).await;
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(31));
    for i in 0..10 {
        let forged = TestKey::es256(&format!("attacker-{i}")).sign_claims(&p.claims());
        let err = client
            .verify_id_token(&forged, &expected())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnknownKey { .. }), "{err}");
    }
    assert_eq!(
        p.jwks_fetches.load(Ordering::SeqCst),
        2,
        "one refetch for ten unknown kids"
    );
    clock.advance(Duration::from_secs(29));
    let forged = TestKey::es256("attacker-early").sign_claims(&p.claims());
    assert!(client.verify_id_token(&forged, &expected()).await.is_err());
    assert_eq!(
        p.jwks_fetches.load(Ordering::SeqCst),
        2,
        "29 s after the refetch: still held back"
    );
    clock.advance(Duration::from_secs(2));
    let forged = TestKey::es256("attacker-late").sign_claims(&p.claims());
    assert!(client.verify_id_token(&forged, &expected()).await.is_err());
    assert_eq!(
        p.jwks_fetches.load(Ordering::SeqCst),
        3,
        "the interval has passed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_after_a_rotation_share_one_refetch() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = client_on(&p, Duration::from_secs(30), clock.clone()).await;
    client
        .verify_id_token(&p.sign(&p.claims()), &expected())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(31));
    p.rotate_to(TestKey::es256("key-2"));
    let token = p.sign(&p.claims());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let token = token.clone();
            tokio::spawn(async move { client.verify_id_token(&token, &expected()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), 2);
}

/// The `kid` of the one key `jwks_uri_enc` published when `keys` were fetched.
fn enc_kid(keys: &[bankid_oidc_core::jwk::Jwk]) -> &str {
    keys[0].kid.as_deref().unwrap()
}

#[tokio::test]
async fn encryption_keys_are_cached_and_refetched_by_the_signing_keys_rules() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = Client::builder(&p.issuer, "merchant")
        .jwks_max_age(Duration::from_secs(3600))
        .jwks_min_refetch_interval(Duration::from_secs(30))
        // Discovery refreshes more often than keys age: the warm cache survives them.
        .discovery_lifetime(Duration::from_secs(600))
        .clock(clock.clone())
        .discover()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-1");
    }
    assert_eq!(p.enc_jwks_fetches.load(Ordering::SeqCst), 1, "cached");

    clock.advance(Duration::from_secs(3599));
    assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-1");
    assert_eq!(
        p.enc_jwks_fetches.load(Ordering::SeqCst),
        1,
        "younger than the max age"
    );
    assert!(
        p.discovery_fetches.load(Ordering::SeqCst) > 1,
        "discovery was refreshed"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-2");
    assert_eq!(
        p.enc_jwks_fetches.load(Ordering::SeqCst),
        2,
        "the max age has passed"
    );

    // A failed refresh keeps the old keys, and the next try waits for the minimum interval.
    *p.enc_jwks_status.lock().unwrap() = StatusCode::INTERNAL_SERVER_ERROR;
    clock.advance(Duration::from_secs(3600));
    assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-2");
    assert_eq!(p.enc_jwks_fetches.load(Ordering::SeqCst), 3);
    *p.enc_jwks_status.lock().unwrap() = StatusCode::OK;
    clock.advance(Duration::from_secs(29));
    assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-2");
    assert_eq!(
        p.enc_jwks_fetches.load(Ordering::SeqCst),
        3,
        "29 s after the failed refresh: still held back"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(enc_kid(&client.encryption_keys().await.unwrap()), "enc-4");
    assert_eq!(
        p.enc_jwks_fetches.load(Ordering::SeqCst),
        4,
        "the interval has passed"
    );

    // The signing keys are the other instance: none of this fetched them.
    assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn encryption_keys_are_read_under_the_body_cap() {
    let p = start().await;
    // The discovery document fits in 1 KiB; the key set with a long modulus does not.
    let client = Client::builder(&p.issuer, "merchant")
        .max_response_size(1024)
        .discover()
        .await
        .unwrap();
    p.long_enc_key.store(true, Ordering::SeqCst);
    let err = client.encryption_keys().await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn discovery_for_another_issuer_is_refused() {
    let p = start().await;
    *p.published_issuer.lock().unwrap() = "https://evil.example".into();
    let err = Client::builder(&p.issuer, "merchant")
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn discovery_is_cached_for_its_configured_lifetime() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = Client::builder(&p.issuer, "merchant")
        .discovery_lifetime(Duration::from_secs(3600))
        .clock(clock.clone())
        .discover()
        .await
        .unwrap();
    for _ in 0..5 {
        client.metadata().await.unwrap();
    }
    assert_eq!(p.discovery_fetches.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(3599));
    client.metadata().await.unwrap();
    assert_eq!(p.discovery_fetches.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(1));
    client.metadata().await.unwrap();
    assert_eq!(p.discovery_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn code_flow_callback_exchange_and_signed_userinfo() {
    let p = start().await;
    let client = client(&p, Duration::from_secs(30)).await;
    let redirect = client
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile"])
        .login_hint("BIS")
        .build()
        .unwrap();
    *p.nonce.lock().unwrap() = redirect.pending.nonce.clone();
    let iss: String = url::form_urlencoded::byte_serialize(p.issuer.as_bytes()).collect();
    let callback = CallbackParams::parse(&format!(
        "code=the-code&state={}&iss={iss}",
        redirect.pending.state
    ));
    let login = client
        .handle_callback(&redirect.pending, &callback)
        .await
        .unwrap();
    assert_eq!(login.id_token.loa(), Some(3));
    let info = client
        .userinfo(&login.tokens.access_token, &login.id_token.claims.sub)
        .await
        .unwrap();
    assert_eq!(info.nnin.as_deref(), Some("01817199946"));
    let err = client
        .userinfo(&login.tokens.access_token, "someone-else")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UserinfoSubjectMismatch { .. }));

    // A forged callback never reaches the token endpoint.
    let before = p.token_requests.load(Ordering::SeqCst);
    let forged = CallbackParams::parse(&format!("code=the-code&state=guess&iss={iss}"));
    assert!(matches!(
        client.handle_callback(&redirect.pending, &forged).await,
        Err(Error::StateMismatch)
    ));
    assert_eq!(p.token_requests.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn wrong_client_secret_surfaces_the_providers_error() {
    let p = start().await;
    let client = Client::builder(&p.issuer, "merchant")
        .client_secret("wrong")
        .discover()
        .await
        .unwrap();
    let err = client.client_credentials(&["esign"]).await.unwrap_err();
    assert_eq!(
        err.provider_error().map(|e| e.code.as_str()),
        Some("invalid_client")
    );
}

#[tokio::test]
async fn client_credentials_token_is_cached_per_scope_set() {
    let p = start().await;
    let client = client(&p, Duration::from_secs(30)).await;
    let first = client
        .client_credentials(&["permissions/client", "permissions/iframe"])
        .await
        .unwrap();
    let again = client
        .client_credentials(&["permissions/iframe", "permissions/client"])
        .await
        .unwrap();
    assert_eq!(first.token, again.token);
    let other = client.client_credentials(&["esign"]).await.unwrap();
    assert_ne!(first.token, other.token);
    assert_eq!(p.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_machine_token_is_replaced_when_the_clients_clock_nears_its_expiry() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    let client = client_on(&p, Duration::from_secs(30), clock.clone()).await;
    // expires_in 300, refresh margin 30 s: fresh until 270 s have passed.
    let first = client.client_credentials(&["esign"]).await.unwrap();
    clock.advance(Duration::from_secs(269));
    assert_eq!(client.client_credentials(&["esign"]).await.unwrap(), first);
    assert_eq!(p.token_requests.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(2));
    let second = client.client_credentials(&["esign"]).await.unwrap();
    assert_ne!(second.token, first.token);
    assert_eq!(p.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn id_tokens_are_checked_against_the_clients_clock() {
    let p = start().await;
    let claims = p.claims(); // exp: 300 s after iat
    // The client's clock starts at the token's iat, not a second boundary later.
    let iat = claims["iat"].as_u64().unwrap();
    let clock = Arc::new(ManualClock::starting_at(
        std::time::UNIX_EPOCH + Duration::from_secs(iat),
    ));
    let client = client_on(&p, Duration::from_secs(30), clock.clone()).await;
    let token = p.sign(&claims);
    client.verify_id_token(&token, &expected()).await.unwrap();
    clock.advance(Duration::from_secs(331));
    assert!(matches!(
        client.verify_id_token(&token, &expected()).await,
        Err(Error::Expired { skew: 30, .. })
    ));
}

#[tokio::test]
async fn request_objects_and_client_assertions_are_dated_by_the_injected_clock() {
    let p = start().await;
    let clock = Arc::new(ManualClock::new());
    clock.advance(Duration::from_secs(86_400)); // a day ahead of the machine's clock
    let day_ahead = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let signer = Arc::new(
        PrivateKeyJwtSigner::generate()
            .unwrap()
            .clock(clock.clone()),
    );
    let client = Client::builder(&p.issuer, "merchant")
        .private_key_jwt(signer.clone())
        .redirect_uri("http://127.0.0.1/cb")
        .clock(clock.clone())
        .discover()
        .await
        .unwrap();
    let payload = |jwt: &str| -> Value {
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&bankid_oidc_core::b64::decode(part).unwrap()).unwrap()
    };

    let request = client.authorization_request().await.unwrap();
    let redirect = client.signed_authorization_request(request).await.unwrap();
    let (_, object) = redirect
        .url
        .query_pairs()
        .find(|(k, _)| k == "request")
        .unwrap();
    let claims = payload(&object);
    assert_eq!(claims["iat"], day_ahead);
    assert_eq!(claims["nbf"], day_ahead);
    assert_eq!(claims["exp"], day_ahead + 60);

    let assertion = signer.client_assertion("merchant", &p.issuer).unwrap();
    assert_eq!(payload(&assertion)["iat"], day_ahead);
}
