//! A running provider on a temporary data directory, and a cookie-holding browser that drives
//! its HTML forms, for end-to-end tests over real HTTP.
#![allow(dead_code)]

use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::pkce::s256_challenge;
use bankid_oidc_server::Provider;
use bankid_oidc_server::clock::OffsetClock;
use bankid_oidc_server::config::Config;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::{new_client, test_users};
use bankid_oidc_server::store::{ClientStore, MemoryFlows, SqliteStore, Store, User};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use scraper::{Html, Selector};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "shop";
pub const CLIENT_SECRET: &str = "shop-secret-0123456789-abcdefghijklmnop";
pub const REDIRECT_URI: &str = "https://shop.example/callback";
pub const OTHER_CLIENT_ID: &str = "other-shop";
pub const OTHER_SECRET: &str = "other-secret-0123456789-abcdefghijklmnop";
pub const OTHER_REDIRECT_URI: &str = "https://other.example/callback";
pub const POST_LOGOUT_URI: &str = "https://shop.example/logged-out";
/// A machine client (client credentials) for the eSign and permissions APIs.
pub const MACHINE_CLIENT_ID: &str = "machine";
pub const MACHINE_SECRET: &str = "machine-secret-0123456789-abcdefghijklmn";
pub const MACHINE_SCOPES: &str = "esign/csc esign permissions/client permissions/iframe";

pub struct TestProvider {
    pub base: String,
    pub issuer: String,
    pub meta: ProviderMetadata,
    pub clock: Arc<OffsetClock>,
    /// The logins in progress (to bound them in a test).
    pub flows: Arc<MemoryFlows>,
    pub store: Arc<SqliteStore>,
    pub users: Vec<User>,
    pub provider: bankid_oidc_server::AppState,
    pub dir: Option<tempfile::TempDir>,
    server: JoinHandle<()>,
}

impl TestProvider {
    /// A provider on a new temporary data directory with two clients and three test users.
    pub async fn start() -> TestProvider {
        let dir = tempfile::tempdir().unwrap();
        let mut tp = TestProvider::start_in(dir.path()).await;
        tp.dir = Some(dir);
        tp
    }

    /// A provider on a new temporary data directory, its configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestProvider {
        let dir = tempfile::tempdir().unwrap();
        let mut tp = TestProvider::start_configured(dir.path(), configure).await;
        tp.dir = Some(dir);
        tp
    }

    /// A provider on `dir`; seeds clients and users only if the store is new.
    pub async fn start_in(dir: &Path) -> TestProvider {
        TestProvider::start_configured(dir, |_| {}).await
    }

    async fn start_configured(dir: &Path, configure: impl FnOnce(&mut Config)) -> TestProvider {
        let store = Arc::new(
            SqliteStore::open(&dir.join("bankid-oidc.db"))
                .await
                .unwrap(),
        );
        let clock = Arc::new(OffsetClock::default());
        let now = bankid_oidc_server::clock::Clock::now(clock.as_ref());
        let scopes = "openid profile nnin_altsub email phone".parse_scopes();
        let mut shop = new_client(
            CLIENT_ID,
            CLIENT_SECRET,
            vec![REDIRECT_URI.into(), "https://shop.example/cb2?x=1".into()],
            "openid profile nnin_altsub email phone offline_access".parse_scopes(),
            now,
        );
        shop.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        shop.post_logout_redirect_uris = vec![POST_LOGOUT_URI.into()];
        // The tests' clients meet the rules every registration meets.
        check_client(&shop).unwrap();
        store.add_client(&shop).await.unwrap();
        let mut machine = new_client(
            MACHINE_CLIENT_ID,
            MACHINE_SECRET,
            Vec::new(),
            MACHINE_SCOPES.parse_scopes(),
            now,
        );
        machine.grant_types = vec![GrantType::ClientCredentials];
        check_client(&machine).unwrap();
        store.add_client(&machine).await.unwrap();
        let other = new_client(
            OTHER_CLIENT_ID,
            OTHER_SECRET,
            vec![OTHER_REDIRECT_URI.into()],
            scopes,
            now,
        );
        check_client(&other).unwrap();
        store.add_client(&other).await.unwrap();
        test_users(store.as_ref(), now).await.unwrap();
        let users = bankid_oidc_server::store::UserStore::users(store.as_ref())
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::new(&base).unwrap();
        configure(&mut config);
        let flows = Arc::new(MemoryFlows::default());
        let provider = Provider::start_with_flows(
            store.clone() as Arc<dyn Store>,
            flows.clone(),
            clock.clone(),
            config,
        )
        .await
        .unwrap();
        let issuer = provider.issuers.primary().issuer.clone();
        let app = bankid_oidc_server::http::router(provider.clone());
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        let meta: ProviderMetadata =
            reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        TestProvider {
            base,
            issuer,
            meta,
            clock,
            store,
            flows,
            users,
            provider,
            dir: None,
            server,
        }
    }

    pub async fn stop(self) -> Option<tempfile::TempDir> {
        self.server.abort();
        let _ = self.server.await;
        self.dir
    }

    pub fn user(&self, given_name: &str) -> &User {
        self.users
            .iter()
            .find(|u| u.given_name == given_name)
            .unwrap()
    }

    /// Rotates the signing key now; returns the new kid.
    pub async fn rotate_keys(&self) -> String {
        self.provider.rotate_keys_now().await.unwrap()
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// The provider's clock.
    pub fn now(&self) -> i64 {
        bankid_oidc_server::clock::Clock::now(self.clock.as_ref())
    }

    pub fn authorization_endpoint(&self) -> &str {
        self.meta.authorization_endpoint.as_deref().unwrap()
    }

    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint.as_deref().unwrap()
    }

    pub fn userinfo_endpoint(&self) -> &str {
        self.meta.userinfo_endpoint.as_deref().unwrap()
    }
}

trait ParseScopes {
    fn parse_scopes(&self) -> bankid_oidc_core::scope::ScopeSet;
}

impl ParseScopes for str {
    fn parse_scopes(&self) -> bankid_oidc_core::scope::ScopeSet {
        bankid_oidc_core::scope::ScopeSet::parse(self).unwrap()
    }
}

/// What a merchant keeps between the authorization request and the callback.
#[derive(Debug, Clone)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub params: Vec<(String, String)>,
}

impl Pending {
    /// A valid API version 4 request for the test client, with `extra` parameters replacing or
    /// adding to the defaults and `without` removed.
    pub fn new(extra: &[(&str, &str)], without: &[&str]) -> Pending {
        let state = format!("state-{}", random_suffix());
        let nonce = format!("nonce-{}", random_suffix());
        let verifier = format!("verifier-{}-{}", random_suffix(), "x".repeat(30));
        let challenge = s256_challenge(&verifier);
        let defaults = [
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid profile nnin_altsub"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let mut params: Vec<(String, String)> = defaults
            .iter()
            .filter(|(k, _)| !without.contains(k) && !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Pending {
            state,
            nonce,
            verifier,
            params,
        }
    }

    pub fn url(&self, tp: &TestProvider) -> String {
        self.url_at(tp.authorization_endpoint())
    }

    pub fn url_at(&self, authorization_endpoint: &str) -> String {
        let query = serde_urlencoded::to_string(&self.params).unwrap();
        format!("{authorization_endpoint}?{query}")
    }
}

fn random_suffix() -> String {
    bankid_oidc_server::secret::random_token()[..12].to_owned()
}

/// A form on a page: where it posts and its fields.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub buttons: Vec<(String, String)>,
}

pub fn forms(html: &str) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let form_sel = Selector::parse("form").unwrap();
    let input_sel = Selector::parse("input").unwrap();
    let button_sel = Selector::parse("button").unwrap();
    doc.select(&form_sel)
        .map(|form| Form {
            action: form.value().attr("action").unwrap_or("").to_owned(),
            fields: form
                .select(&input_sel)
                .filter_map(|i| {
                    Some((
                        i.value().attr("name")?.to_owned(),
                        i.value().attr("value").unwrap_or("").to_owned(),
                    ))
                })
                .collect(),
            buttons: form
                .select(&button_sel)
                .filter_map(|b| {
                    Some((
                        b.value().attr("name")?.to_owned(),
                        b.value().attr("value").unwrap_or("").to_owned(),
                    ))
                })
                .collect(),
        })
        .collect()
}

/// The text of the element with this id.
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!("#{id}")).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// The answer that reached the client's redirect_uri, however it was delivered.
#[derive(Debug, Clone)]
pub struct Callback {
    pub params: HashMap<String, String>,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code in callback: {:?}", self.params))
    }

    pub fn error(&self) -> &str {
        self.get("error")
            .unwrap_or_else(|| panic!("no error in callback: {:?}", self.params))
    }
}

/// A browser: keeps cookies, follows nothing by itself.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

pub enum Step {
    /// A page of the provider (HTML) at this URL.
    Page {
        url: String,
        html: String,
        status: StatusCode,
    },
    /// The client's redirect_uri was reached.
    Callback(Callback),
}

impl Browser {
    pub fn new(tp: &TestProvider) -> Browser {
        Browser::with_base(&tp.base)
    }

    /// A browser for the provider at `base` (scheme, host and port).
    pub fn with_base(base: &str) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = base.trim_end_matches('/').to_owned();
        Browser { http, base }
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        }
    }

    /// Follows redirects within the provider until a page or the client's redirect_uri.
    pub async fn follow(&self, mut response: Response) -> Step {
        loop {
            let status = response.status();
            if status.is_redirection() {
                let location = self.absolute(response.headers()[LOCATION].to_str().unwrap());
                if location.starts_with(&self.base) {
                    response = self.http.get(&location).send().await.unwrap();
                    continue;
                }
                return Step::Callback(parse_callback(&location));
            }
            let url = response.url().to_string();
            let html = response.text().await.unwrap();
            // form_post: an auto-submitting form to the client.
            if let Some(form) = forms(&html)
                .into_iter()
                .find(|f| !f.action.starts_with('/') && !f.action.starts_with(&self.base))
            {
                return Step::Callback(Callback {
                    params: form.fields.into_iter().collect(),
                });
            }
            return Step::Page { url, html, status };
        }
    }

    pub async fn get(&self, url: &str) -> Step {
        let response = self.http.get(url).send().await.unwrap();
        self.follow(response).await
    }

    /// Submits the page's first form with `values` filled in and `button` pressed.
    pub async fn submit(
        &self,
        html: &str,
        values: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Step {
        let response = self.submit_response(html, values, button).await;
        self.follow(response).await
    }

    /// Like [`Browser::submit`], returning the provider's response without following it.
    pub async fn submit_response(
        &self,
        html: &str,
        values: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Response {
        let form = forms(html).into_iter().next().expect("the page has a form");
        let mut fields: Vec<(String, String)> = form
            .fields
            .into_iter()
            .filter(|(k, _)| !values.iter().any(|(n, _)| n == k))
            .collect();
        fields.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some((name, value)) = button {
            fields.push((name.to_owned(), value.to_owned()));
        }
        self.http
            .post(self.absolute(&form.action))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    pub fn page(step: Step) -> (String, String) {
        match step {
            Step::Page { url, html, .. } => (url, html),
            Step::Callback(c) => panic!("expected a page, got a callback {:?}", c.params),
        }
    }

    pub fn callback(step: Step) -> Callback {
        match step {
            Step::Callback(c) => c,
            Step::Page { html, .. } => panic!("expected a callback, got a page: {html}"),
        }
    }

    /// Netcentric BankID: NNIN, one-time code, password.
    pub async fn login_bid(&self, tp: &TestProvider, pending: &Pending, user: &User) -> Callback {
        self.login_bid_at(&pending.url(tp), &user.nnin, &user.otp, &user.password)
            .await
    }

    pub async fn login_bid_at(&self, url: &str, nnin: &str, otp: &str, password: &str) -> Callback {
        let (_, html) = Browser::page(self.get(url).await);
        let method = Some(("method", "BID"));
        let (_, html) = Browser::page(self.submit(&html, &[("nnin", nnin)], method).await);
        let (_, html) = Browser::page(self.submit(&html, &[("otp", otp)], None).await);
        Browser::callback(self.submit(&html, &[("password", password)], None).await)
    }
}

pub fn parse_callback(location: &str) -> Callback {
    let url = url::Url::parse(location).unwrap();
    let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    Callback { params }
}

/// A token request with client_secret_basic.
pub async fn redeem(tp: &TestProvider, code: &str, verifier: &str) -> Response {
    redeem_as(tp, CLIENT_ID, CLIENT_SECRET, code, verifier, REDIRECT_URI).await
}

pub async fn redeem_as(
    tp: &TestProvider,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Response {
    redeem_with_endpoint(
        tp.token_endpoint(),
        client_id,
        secret,
        code,
        verifier,
        redirect_uri,
    )
    .await
}

pub async fn redeem_with_endpoint(
    token_endpoint: &str,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
    ];
    reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The OAuth error of a JSON error response, asserting its status.
pub async fn oauth_error(response: Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

/// Verifies a token with jsonwebtoken (an implementation independent of the provider's) against
/// the published JWKS.
pub async fn verify_with_jwks(tp: &TestProvider, token: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(&tp.meta.jwks_uri)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims
}

/// A complete login and code exchange; returns the token response.
pub async fn login_and_redeem(
    tp: &TestProvider,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (Pending, serde_json::Value) {
    let pending = Pending::new(extra, &[]);
    let user = tp.user("Kari").clone();
    let callback = browser.login_bid(tp, &pending, &user).await;
    let response = redeem(tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    (pending, response.json().await.unwrap())
}

/// A client's P-256 key pair, to sign client assertions and request objects.
pub struct ClientKey {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub jwk: bankid_oidc_core::jwk::Jwk,
}

impl ClientKey {
    pub fn new(kid: &str) -> ClientKey {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let jwk = bankid_oidc_core::jwk::Jwk::p256_from_uncompressed_point(
            kid,
            pair.public_key().as_ref(),
        )
        .unwrap();
        ClientKey {
            kid: kid.into(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
        }
    }

    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}
