//! The relying-party library (`bankid-oidc-client`) against this project's provider, over real
//! HTTP: the code flow, userinfo, key rotation, the refusals a merchant must see, and client
//! credentials as the provider supports them today.
//!
//! The library's requests go through a small counting HTTP proxy (the library's own
//! `http_client` hook with a `reqwest::Proxy`), so that the tests can say how many times it
//! fetched the JWKS or called the token endpoint, without any test-only code in the library.

use bankid_oidc_client::{
    AuthorizationRedirect, CallbackParams, Client, Error, Expected, KeySet, Login,
};
use bankid_oidc_core::ErrorCode;
use bankid_oidc_testkit::browser::{Browser, Callback};
use bankid_oidc_testkit::jwt::verify_with_jwks;
use bankid_oidc_testkit::provider::{
    CLIENT_ID, CLIENT_SECRET, MACHINE_CLIENT_ID, MACHINE_SECRET, REDIRECT_URI, TestProvider,
};
use counting_proxy::CountingProxy;
use std::time::Duration;

/// A forward HTTP proxy that relays every request to its destination and remembers the path of
/// each, so a test can count what the library asked the provider for.
mod counting_proxy {
    use axum::body::{Body, to_bytes};
    use axum::extract::{Request, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use std::sync::{Arc, Mutex};
    use tokio::task::JoinHandle;

    #[derive(Clone)]
    struct Relay {
        http: reqwest::Client,
        seen: Arc<Mutex<Vec<String>>>,
    }

    pub struct CountingProxy {
        url: String,
        seen: Arc<Mutex<Vec<String>>>,
        task: JoinHandle<()>,
    }

    impl CountingProxy {
        pub async fn start() -> CountingProxy {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let relay = Relay {
                http: reqwest::Client::builder()
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
                seen: seen.clone(),
            };
            let app = axum::Router::new().fallback(forward).with_state(relay);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let task = tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            CountingProxy { url, seen, task }
        }

        /// An HTTP client like the library's default (no redirects, a timeout) that sends every
        /// request through this proxy.
        pub fn http_client(&self) -> reqwest::Client {
            reqwest::Client::builder()
                .proxy(reqwest::Proxy::http(&self.url).unwrap())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap()
        }

        /// How many requests went to a URL with this path.
        pub fn count(&self, path: &str) -> usize {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .filter(|p| *p == path)
                .count()
        }

        /// Every path requested so far, in order (for failure messages).
        pub fn paths(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Drop for CountingProxy {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn forward(State(relay): State<Relay>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        // A proxied request carries the absolute URL (RFC 9112 section 3.2.2).
        let url = parts.uri.to_string();
        relay.seen.lock().unwrap().push(parts.uri.path().to_owned());
        let body = match to_bytes(body, 1 << 20).await {
            Ok(body) => body,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        let mut outgoing = relay.http.request(parts.method, &url).body(body);
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name.as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        let answer = match outgoing.send().await {
            Ok(answer) => answer,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !is_hop_by_hop(name.as_str()) && name != "content-length" {
                response = response.header(name, value);
            }
        }
        let body = answer.bytes().await.unwrap_or_default();
        response.body(Body::from(body)).unwrap()
    }

    fn is_hop_by_hop(name: &str) -> bool {
        matches!(
            name,
            "host"
                | "connection"
                | "proxy-connection"
                | "proxy-authorization"
                | "keep-alive"
                | "transfer-encoding"
                | "te"
                | "trailer"
                | "upgrade"
        )
    }
}

/// A provider, a counting proxy in front of it for the library, and the paths to count.
struct Setup {
    tp: TestProvider,
    proxy: CountingProxy,
    jwks_path: String,
    token_path: String,
}

impl Setup {
    async fn start() -> Setup {
        let tp = TestProvider::start().await;
        let proxy = CountingProxy::start().await;
        let jwks_path = url::Url::parse(&tp.meta.jwks_uri)
            .unwrap()
            .path()
            .to_owned();
        let token_path = url::Url::parse(tp.token_endpoint())
            .unwrap()
            .path()
            .to_owned();
        Setup {
            tp,
            proxy,
            jwks_path,
            token_path,
        }
    }

    /// The test shop as a relying party, configured as a BankID merchant would be.
    fn client(&self, min_loa: u8) -> bankid_oidc_client::ClientBuilder {
        Client::builder(&self.tp.issuer, CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .redirect_uri(REDIRECT_URI)
            .min_loa(min_loa)
            .require_at_hash(true)
            .allowed_algs(&["ES256"])
            .http_client(self.proxy.http_client())
    }

    fn jwks_fetches(&self) -> usize {
        self.proxy.count(&self.jwks_path)
    }

    fn token_requests(&self) -> usize {
        self.proxy.count(&self.token_path)
    }
}

/// A login request from the library, with the scopes the test shop may ask for.
async fn start_login(client: &Client, login_hint: &str) -> AuthorizationRedirect {
    client
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile", "nnin_altsub", "email", "phone"])
        .login_hint(login_hint)
        .api_version(4)
        .build()
        .unwrap()
}

/// What arrived at the redirect URI, as the merchant's callback handler would read it.
fn callback_params(callback: &Callback) -> CallbackParams {
    CallbackParams::parse(&serde_urlencoded::to_string(&callback.params).unwrap())
}

/// Netcentric BankID (NNIN, one-time code, password) in a new browser.
async fn log_in_bid(tp: &TestProvider, login: &AuthorizationRedirect, user: &str) -> Callback {
    let user = tp.user(user);
    Browser::with_base(&tp.base)
        .login_bid_at(login.url.as_str(), &user.nnin, &user.otp, &user.password)
        .await
}

/// BankID with biometrics: the NNIN, then approval in the app, in a new browser.
async fn log_in_bis(tp: &TestProvider, login: &AuthorizationRedirect, user: &str) -> Callback {
    let browser = Browser::with_base(&tp.base);
    let (_, html) = Browser::page(browser.get(login.url.as_str()).await);
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", &tp.user(user).nnin)], None)
            .await,
    );
    Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    )
}

/// A complete netcentric login through the library.
async fn complete_bid_login(s: &Setup, client: &Client, user: &str) -> Login {
    let login = start_login(client, "BID").await;
    let callback = log_in_bid(&s.tp, &login, user).await;
    client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_or_else(|e| panic!("login failed: {e}; requests: {:?}", s.proxy.paths()))
}

#[tokio::test]
async fn client_library_completes_the_code_flow_against_the_provider() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = start_login(&client, "BID").await;
    assert!(
        login
            .url
            .as_str()
            .starts_with(s.tp.authorization_endpoint()),
        "the login starts at the discovered authorization endpoint: {}",
        login.url
    );

    let callback = log_in_bid(&s.tp, &login, "Kari").await;
    assert_eq!(callback.get("iss"), Some(s.tp.issuer.as_str()));
    let result = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();

    let kari = s.tp.user("Kari");
    let claims = &result.id_token.claims;
    assert_eq!(claims.iss, s.tp.issuer);
    assert_eq!(claims.sub, kari.id);
    assert_eq!(claims.azp.as_deref(), Some(CLIENT_ID));
    assert_eq!(claims.bankid_altsub.as_deref(), Some(kari.pid.as_str()));
    assert_eq!(claims.nnin_altsub.as_deref(), Some(kari.nnin.as_str()));
    assert_eq!(claims.acr.as_deref(), Some("urn:bankid:bid;LOA=4"));
    assert_eq!(result.id_token.loa(), Some(4));
    assert_eq!(claims.amr, ["bid"]);
    assert_eq!(claims.nonce.as_deref(), Some(login.pending.nonce.as_str()));
    assert_eq!(claims.typ.as_deref(), Some("ID"));
    assert_eq!(claims.api_ver, Some(4));
    assert!(
        claims.at_hash.is_some(),
        "require_at_hash(true) passed, so at_hash was there and matched"
    );
    assert_eq!(claims.profile.given_name.as_deref(), Some("Kari"));
    assert_eq!(claims.profile.family_name.as_deref(), Some("Nordmann"));
    assert_eq!(claims.profile.name.as_deref(), Some("Kari Nordmann"));
    assert_eq!(claims.profile.birthdate.as_deref(), Some("1985-03-15"));
    assert!(claims.profile.updated_at.is_some());
    assert_eq!(result.tokens.token_type, "Bearer");
    assert_eq!(
        result.tokens.scope.as_deref(),
        Some("email nnin_altsub openid phone profile")
    );
    assert_eq!(result.id_token.raw, result.tokens.id_token.clone().unwrap());

    // One discovery, one JWKS fetch, one token request: nothing more for a login.
    assert_eq!(s.token_requests(), 1, "{:?}", s.proxy.paths());
    assert_eq!(s.jwks_fetches(), 1, "{:?}", s.proxy.paths());
    assert_eq!(s.proxy.paths().len(), 3, "{:?}", s.proxy.paths());
}

#[tokio::test]
async fn bis_login_is_accepted_at_loa3_and_refused_when_loa4_is_required() {
    let s = Setup::start().await;
    let ola = s.tp.user("Ola");

    let loa3 = s.client(3).discover().await.unwrap();
    let login = start_login(&loa3, "BIS").await;
    let callback = log_in_bis(&s.tp, &login, "Ola").await;
    let result = loa3
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    let claims = &result.id_token.claims;
    assert_eq!(claims.acr.as_deref(), Some("urn:bankid:bis;LOA=3"));
    assert_eq!(result.id_token.loa(), Some(3));
    assert_eq!(claims.amr, ["bis-mfa", "bis-hwk"]);
    assert_eq!(claims.sub, ola.id);
    assert_eq!(claims.bankid_altsub.as_deref(), Some(ola.pid.as_str()));

    let loa4 = s.client(4).discover().await.unwrap();
    let login = start_login(&loa4, "BIS").await;
    let callback = log_in_bis(&s.tp, &login, "Ola").await;
    let err = loa4
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    match err {
        Error::InsufficientLoa { acr, required } => {
            assert_eq!(acr, "urn:bankid:bis;LOA=3");
            assert_eq!(required, 4);
        }
        other => panic!("expected InsufficientLoa, got {other:?}"),
    }
}

#[tokio::test]
async fn userinfo_through_the_library_returns_the_profile_for_the_same_subject() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = complete_bid_login(&s, &client, "Kari").await;
    let kari = s.tp.user("Kari");

    let info = client
        .userinfo(&login.tokens.access_token, &login.id_token.claims.sub)
        .await
        .unwrap();
    assert_eq!(info.sub, login.id_token.claims.sub);
    assert_eq!(info.sub, kari.id);
    assert_eq!(info.email.as_deref(), Some("kari.nordmann@example.no"));
    assert_eq!(info.phone_number.as_deref(), Some("48000001"));
    let profile = info.profile();
    assert_eq!(profile.given_name.as_deref(), Some("Kari"));
    assert_eq!(profile.family_name.as_deref(), Some("Nordmann"));
    assert_eq!(profile.name.as_deref(), Some("Kari Nordmann"));
    assert_eq!(profile.birthdate.as_deref(), Some("1985-03-15"));

    // Userinfo about someone else than the ID token's subject is never attached to the login.
    let ola = s.tp.user("Ola");
    let err = client
        .userinfo(&login.tokens.access_token, &ola.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UserinfoSubjectMismatch { expected, found }
            if *expected == ola.id && *found == kari.id),
        "{err:?}"
    );
}

#[tokio::test]
async fn after_key_rotation_the_next_login_validates_with_exactly_one_jwks_refetch() {
    let s = Setup::start().await;
    // The rate limit on refetches counts from the first fetch, moments ago in this test; in
    // production a rotation comes long after it. Zero interval keeps the test fast; the count
    // below still shows that the library refetches once, not on every verification.
    let client = s
        .client(4)
        .jwks_min_refetch_interval(Duration::ZERO)
        .discover()
        .await
        .unwrap();

    let before = complete_bid_login(&s, &client, "Kari").await;
    assert_eq!(s.jwks_fetches(), 1);
    // A warm cache: another login with the same key fetches nothing.
    complete_bid_login(&s, &client, "Ola").await;
    assert_eq!(s.jwks_fetches(), 1, "{:?}", s.proxy.paths());

    let old_kid = jsonwebtoken::decode_header(&before.id_token.raw)
        .unwrap()
        .kid
        .unwrap();
    let new_kid = s.tp.rotate_keys().await;
    assert_ne!(old_kid, new_kid);

    let after = complete_bid_login(&s, &client, "Kari").await;
    let kid = jsonwebtoken::decode_header(&after.id_token.raw)
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, new_kid, "the provider signs with the new key at once");
    assert_eq!(
        s.jwks_fetches(),
        2,
        "exactly one refetch for the unknown kid: {:?}",
        s.proxy.paths()
    );

    // The refetched set is kept: later logins and the old key's tokens need no more fetches.
    complete_bid_login(&s, &client, "Ingrid").await;
    client
        .verify_id_token(
            &before.id_token.raw,
            &Expected {
                nonce: before.id_token.claims.nonce.as_deref(),
                access_token: Some(&before.tokens.access_token),
            },
        )
        .await
        .expect("the retired key is still published, so its tokens still verify");
    assert_eq!(s.jwks_fetches(), 2, "{:?}", s.proxy.paths());
}

#[tokio::test]
async fn a_rotation_right_after_a_jwks_fetch_waits_for_the_refetch_interval() {
    // The other side of the rate limit: with the default 30 s interval, a token with a new kid
    // moments after the keys were fetched is refused without a second fetch, so that made-up
    // kids cannot make a merchant hammer the provider.
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    complete_bid_login(&s, &client, "Kari").await;
    let new_kid = s.tp.rotate_keys().await;

    let login = start_login(&client, "BID").await;
    let callback = log_in_bid(&s.tp, &login, "Kari").await;
    let err = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKey { kid } if kid.as_deref() == Some(new_kid.as_str())),
        "{err:?}"
    );
    assert_eq!(s.jwks_fetches(), 1, "{:?}", s.proxy.paths());
}

#[tokio::test]
async fn a_tampered_state_is_refused_before_any_token_request() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = start_login(&client, "BID").await;
    let callback = log_in_bid(&s.tp, &login, "Kari").await;

    let mut tampered = callback_params(&callback);
    let mut state = tampered.state.clone().unwrap();
    state.push('x');
    tampered.state = Some(state);
    let err = client
        .handle_callback(&login.pending, &tampered)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StateMismatch), "{err:?}");
    assert_eq!(s.token_requests(), 0, "{:?}", s.proxy.paths());

    // The code was never sent, so the genuine callback still completes the login.
    client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test]
async fn a_cancelled_login_surfaces_access_denied_as_the_typed_provider_error() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = start_login(&client, "BID").await;
    let browser = Browser::with_base(&s.tp.base);
    let (_, html) = Browser::page(browser.get(login.url.as_str()).await);
    let callback = Browser::callback(browser.submit(&html, &[], Some(("action", "cancel"))).await);

    let err = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    match &err {
        Error::Authorization(e) => {
            assert_eq!(e.code, "access_denied");
            assert_eq!(e.known_code(), Some(ErrorCode::AccessDenied));
        }
        other => panic!("expected Error::Authorization, got {other:?}"),
    }
    assert_eq!(
        err.provider_error().map(|e| e.code.as_str()),
        Some("access_denied")
    );
    assert_eq!(s.token_requests(), 0, "{:?}", s.proxy.paths());
}

#[tokio::test]
async fn an_id_token_checked_against_another_logins_nonce_is_refused() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = complete_bid_login(&s, &client, "Kari").await;

    // The pure verifier, with keys fetched independently of the client's cache.
    let verifier = client.id_token_verifier().await.unwrap();
    let jwks = reqwest::get(&s.tp.meta.jwks_uri)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let keys = KeySet::from_json(&jwks).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let access_token = Some(login.tokens.access_token.as_str());

    let right = Expected {
        nonce: login.id_token.claims.nonce.as_deref(),
        access_token,
    };
    assert_eq!(
        verifier
            .verify(&login.id_token.raw, &keys, &right, now)
            .unwrap(),
        login.id_token
    );

    let another = start_login(&client, "BID").await;
    let wrong = Expected {
        nonce: Some(&another.pending.nonce),
        access_token,
    };
    let err = verifier
        .verify(&login.id_token.raw, &keys, &wrong, now)
        .unwrap_err();
    assert!(matches!(err, Error::NonceMismatch), "{err:?}");
    let err = client
        .verify_id_token(&login.id_token.raw, &wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NonceMismatch), "{err:?}");
}

#[tokio::test]
async fn an_expired_code_comes_back_as_the_providers_invalid_grant() {
    let s = Setup::start().await;
    let client = s.client(4).discover().await.unwrap();
    let login = start_login(&client, "BID").await;
    let callback = log_in_bid(&s.tp, &login, "Kari").await;
    s.tp.advance(61);

    let err = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    match &err {
        Error::Endpoint {
            endpoint: "token",
            status: 400,
            error,
        } => assert_eq!(error.known_code(), Some(ErrorCode::InvalidGrant), "{error}"),
        other => panic!("expected a token endpoint invalid_grant, got {other:?}"),
    }
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test]
async fn client_credentials_give_a_cached_machine_token_within_the_clients_scopes() {
    let s = Setup::start().await;
    assert!(
        s.tp.meta
            .grant_types_supported
            .iter()
            .any(|g| g == "client_credentials")
    );
    let machine = Client::builder(&s.tp.issuer, MACHINE_CLIENT_ID)
        .client_secret(MACHINE_SECRET)
        .http_client(s.proxy.http_client())
        .discover()
        .await
        .unwrap();
    let token = machine.client_credentials(&["esign/csc"]).await.unwrap();
    let again = machine.client_credentials(&["esign/csc"]).await.unwrap();
    assert_eq!(
        token.token, again.token,
        "cached until shortly before it expires"
    );
    assert_eq!(s.token_requests(), 1);
    let claims = verify_with_jwks(&s.tp, &token.token).await;
    assert_eq!(claims["client_id"], MACHINE_CLIENT_ID);
    assert_eq!(claims["scope"], "esign/csc");

    // A scope outside the client's registration is the provider's invalid_scope, not cached.
    for attempt in 1..=2 {
        let err = machine
            .client_credentials(&["esign/nnin"])
            .await
            .unwrap_err();
        match &err {
            Error::Endpoint {
                endpoint: "token",
                error,
                ..
            } => {
                assert_eq!(error.known_code(), Some(ErrorCode::InvalidScope), "{error}")
            }
            other => panic!("expected invalid_scope, got {other:?}"),
        }
        assert_eq!(s.token_requests(), 1 + attempt);
    }
    // A person-login client is not registered for client credentials.
    let shop = s.client(4).discover().await.unwrap();
    match shop.client_credentials(&["esign/csc"]).await.unwrap_err() {
        Error::Endpoint { error, .. } => {
            assert_eq!(error.known_code(), Some(ErrorCode::UnauthorizedClient))
        }
        other => panic!("expected unauthorized_client, got {other:?}"),
    }
}
