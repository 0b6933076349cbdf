//! [`Client`]: the thin async layer. It fetches and caches what the sans-I/O functions need
//! (discovery, keys, machine tokens), sends their requests, and hands the answers back to them.

use crate::Error;
use crate::authorization::{
    AuthorizationParameters, AuthorizationRedirect, AuthorizationRequest, Channel, PendingLogin,
};
use crate::callback::{AuthorizationCode, CallbackParams, validate_callback};
use crate::client_auth::ClientAuth;
use crate::clock::{Clock, SystemClock, age, unix_seconds};
use crate::discovery::{discovery_url, process_discovery_response};
use crate::http::{self, DEFAULT_MAX_RESPONSE_SIZE};
use crate::id_token::{
    DEFAULT_CLOCK_SKEW, Expected, IdToken, IdTokenVerifier, check_requested_acr,
};
use crate::introspection::{Introspection, introspection_request, process_introspection_response};
use crate::jwks::{DEFAULT_MAX_AGE, DEFAULT_MIN_REFETCH_INTERVAL, JwksCache};
use crate::jws::KeySet;
use crate::logout::LogoutRequest;
use crate::machine_token::{AccessToken, MachineTokenCache};
use crate::par::{process_par_response, pushed_authorization_request};
use crate::payment::verify_permission_digest;
use crate::private_key_jwt::PrivateKeyJwtSigner;
use crate::refresh::{Refreshed, check_refreshed_claims};
use crate::request_encryption::{RequestEncryption, encrypt_request_object};
use crate::request_object::{DEFAULT_LIFETIME, RequestObjectSigner, request_object_claims};
use crate::revocation::{process_revocation_response, revocation_request};
use crate::token::{
    TokenTypeHint, Tokens, authorization_code_request, client_credentials_request,
    read_token_response, refresh_token_request,
};
use crate::userinfo::{UserInfo, process_userinfo_response};
use bankid_oidc_core::claims::IdTokenClaims;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::jwk::Jwk;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a discovery document is used before it is fetched again, unless configured.
pub const DEFAULT_DISCOVERY_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long before its expiry a cached machine token is replaced, unless configured.
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// The key that signs request objects, if the client has one.
#[derive(Clone, Default)]
struct RequestSigner(Option<Arc<dyn RequestObjectSigner>>);

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

/// Configures a [`Client`]; [`ClientBuilder::discover`] fetches the provider's configuration and
/// checks the settings against it.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    issuer: String,
    client_id: String,
    auth: ClientAuth,
    request_signer: RequestSigner,
    request_object_lifetime: Duration,
    redirect_uri: Option<String>,
    http: Option<reqwest::Client>,
    discovery_lifetime: Duration,
    jwks_min_refetch_interval: Duration,
    jwks_max_age: Duration,
    clock_skew: Duration,
    min_loa: Option<u8>,
    require_at_hash: bool,
    allowed_algs: Option<Vec<String>>,
    token_refresh_margin: Duration,
    max_response_size: usize,
    clock: Arc<dyn Clock>,
}

impl ClientBuilder {
    /// `issuer` exactly as the provider publishes it, e.g.
    /// `https://auth.current.bankid.no/auth/realms/current`.
    pub fn new(issuer: &str, client_id: &str) -> Self {
        ClientBuilder {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            auth: ClientAuth::None,
            request_signer: RequestSigner::default(),
            request_object_lifetime: DEFAULT_LIFETIME,
            redirect_uri: None,
            http: None,
            discovery_lifetime: DEFAULT_DISCOVERY_LIFETIME,
            jwks_min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            jwks_max_age: DEFAULT_MAX_AGE,
            clock_skew: DEFAULT_CLOCK_SKEW,
            min_loa: None,
            require_at_hash: false,
            allowed_algs: None,
            token_refresh_margin: DEFAULT_TOKEN_REFRESH_MARGIN,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            clock: Arc::new(SystemClock),
        }
    }

    /// The client secret, sent with HTTP Basic (`client_secret_basic`, BankID's default).
    pub fn client_secret(mut self, secret: &str) -> Self {
        self.auth = ClientAuth::SecretBasic {
            secret: secret.to_owned(),
        };
        self
    }

    /// Any authentication method, e.g. [`ClientAuth::SecretPost`] or
    /// [`ClientAuth::PrivateKeyJwt`].
    pub fn auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// `private_key_jwt` with this ES256 key for client authentication, and the same key for
    /// request objects. Register [`PrivateKeyJwtSigner::jwks_json`] with the provider.
    pub fn private_key_jwt(mut self, signer: Arc<PrivateKeyJwtSigner>) -> Self {
        self.auth = ClientAuth::PrivateKeyJwt(signer.clone());
        self.request_signer = RequestSigner(Some(signer));
        self
    }

    /// The key that signs request objects (RFC 9101); its public half must be in the JWKS the
    /// provider has registered for this client. Needed for
    /// [`Client::signed_authorization_request`] and [`Client::encrypted_authorization_request`].
    pub fn request_object_signer(mut self, signer: Arc<dyn RequestObjectSigner>) -> Self {
        self.request_signer = RequestSigner(Some(signer));
        self
    }

    /// How long a request object is valid (default 60 s, at most 600 s).
    pub fn request_object_lifetime(mut self, lifetime: Duration) -> Self {
        self.request_object_lifetime = lifetime;
        self
    }

    /// The registered redirect URI that logins return to.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uri = Some(uri.to_owned());
        self
    }

    /// A preconfigured HTTP client (proxies, timeouts, custom roots). Its redirect policy does
    /// not matter: the library refuses every redirect itself (see [`crate::http`]), so a client
    /// that follows redirects never re-sends a code, verifier, token or client credential to
    /// another address. Give it a timeout: the default client's is 30 seconds.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// How long the discovery document is cached (seed 004 asks merchants to cache it).
    pub fn discovery_lifetime(mut self, lifetime: Duration) -> Self {
        self.discovery_lifetime = lifetime;
        self
    }

    /// The shortest time between two JWKS fetches.
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refetch_interval = interval;
        self
    }

    /// How long JWKS keys are used before they are refetched anyway.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Clock skew tolerated on `exp` and `iat` (default 30 seconds).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The lowest acceptable level of assurance, e.g. 3 (seeds 002/004) or 4 (BankID high).
    pub fn min_loa(mut self, loa: u8) -> Self {
        self.min_loa = Some(loa);
        self
    }

    /// Refuse ID tokens without `at_hash` (BankID API version 4 always sends it).
    pub fn require_at_hash(mut self, required: bool) -> Self {
        self.require_at_hash = required;
        self
    }

    /// Accept only these ID token algorithms (intersected with discovery's list).
    pub fn allowed_algs(mut self, algs: &[&str]) -> Self {
        self.allowed_algs = Some(algs.iter().map(|a| a.to_string()).collect());
        self
    }

    /// How long before expiry a cached client-credentials token is replaced (default 30 s).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = margin;
        self
    }

    /// The largest response body read from the provider (default
    /// [`DEFAULT_MAX_RESPONSE_SIZE`], 256 KiB; at least 1 KiB). A longer answer fails with
    /// [`Error::ResponseTooLarge`] as soon as it passes the limit.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// The clock for every time the client reads (default: the system's): token times, request
    /// objects, machine-token expiry, and the age of cached discovery and keys. Tests pass a
    /// [`crate::ManualClock`] and advance it instead of sleeping; a [`PrivateKeyJwtSigner`] has
    /// its own [`PrivateKeyJwtSigner::clock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Fetches discovery, checks the issuer, and returns a ready client.
    pub async fn discover(self) -> Result<Client, Error> {
        if self.client_id.is_empty() {
            return Err(Error::Config("client_id must not be empty".into()));
        }
        if self.request_object_lifetime.is_zero()
            || self.request_object_lifetime > crate::request_object::MAX_LIFETIME
        {
            return Err(Error::Config(format!(
                "request_object_lifetime {:?}: must be 1 to 600 seconds (BankID's limit)",
                self.request_object_lifetime
            )));
        }
        if self.max_response_size < 1024 {
            return Err(Error::Config(format!(
                "max_response_size {}: must be at least 1024 bytes (a discovery document alone is larger)",
                self.max_response_size
            )));
        }
        if let Some(uri) = &self.redirect_uri {
            url::Url::parse(uri)
                .map_err(|e| Error::Config(format!("redirect_uri '{uri}' is not a URL: {e}")))?;
        }
        let http = match &self.http {
            Some(http) => http.clone(),
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Tokens must never follow a redirect to another host.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
        };
        let provider = fetch_provider(&http, &self, None).await?;
        Ok(Client {
            inner: Arc::new(Inner {
                machine_tokens: MachineTokenCache::new(
                    self.token_refresh_margin,
                    self.clock.clone(),
                ),
                config: self,
                http,
                provider: RwLock::new(Arc::new(provider)),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// Everything derived from one discovery document.
#[derive(Debug)]
struct Provider {
    metadata: Arc<ProviderMetadata>,
    verifier: IdTokenVerifier,
    jwks: Arc<JwksCache>,
    /// The provider's encryption keys (`jwks_uri_enc`), if it publishes any: the same cache as
    /// the signing keys, fetched on first use.
    enc_jwks: Option<Arc<JwksCache>>,
    fetched_at: Instant,
}

/// The cache for the key set at `uri`: the warm one from before a discovery refresh unless the
/// provider moved it, so that a new discovery document does not cost a key fetch.
fn key_cache(
    http: &reqwest::Client,
    config: &ClientBuilder,
    uri: &str,
    previous: Option<&Arc<JwksCache>>,
) -> Arc<JwksCache> {
    match previous {
        Some(cache) if cache.uri() == uri => cache.clone(),
        _ => Arc::new(
            JwksCache::new(http.clone(), uri)
                .min_refetch_interval(config.jwks_min_refetch_interval)
                .max_age(config.jwks_max_age)
                .max_response_size(config.max_response_size)
                .clock(config.clock.clone()),
        ),
    }
}

async fn fetch_provider(
    http: &reqwest::Client,
    config: &ClientBuilder,
    previous: Option<&Provider>,
) -> Result<Provider, Error> {
    let response = http::get(
        http,
        &discovery_url(&config.issuer),
        "application/json",
        None,
        config.max_response_size,
    )
    .await?;
    let metadata = process_discovery_response(&config.issuer, &response)?;
    let mut verifier = IdTokenVerifier::new(&metadata, &config.client_id)?
        .clock_skew(config.clock_skew)
        .require_at_hash(config.require_at_hash);
    if let Some(loa) = config.min_loa {
        verifier = verifier.min_loa(loa);
    }
    if let Some(algs) = &config.allowed_algs {
        let algs: Vec<&str> = algs.iter().map(String::as_str).collect();
        verifier = verifier.allowed_algs(&algs)?;
    }
    let previous_jwks = previous.map(|p| &p.jwks);
    let previous_enc = previous.and_then(|p| p.enc_jwks.as_ref());
    let jwks = key_cache(http, config, &metadata.jwks_uri, previous_jwks);
    let enc_jwks =
        (metadata.jwks_uri_enc.as_deref()).map(|uri| key_cache(http, config, uri, previous_enc));
    Ok(Provider {
        metadata: Arc::new(metadata),
        verifier,
        jwks,
        enc_jwks,
        fetched_at: config.clock.instant(),
    })
}

#[derive(Debug)]
struct Inner {
    config: ClientBuilder,
    http: reqwest::Client,
    provider: RwLock<Arc<Provider>>,
    refreshing: tokio::sync::Mutex<()>,
    machine_tokens: MachineTokenCache,
}

/// The result of a completed login: the validated ID token and the token response it came with.
#[derive(Debug, Clone)]
pub struct Login {
    pub id_token: IdToken,
    pub tokens: Tokens,
}

/// A relying party for one provider (a BankID OIDC realm issuer or the BIS issuer). Cheap to
/// clone; share one per provider across requests so that its caches stay warm.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    async fn post_form(&self, request: &http::FormRequest) -> Result<http::HttpResponse, Error> {
        http::post_form(
            &self.inner.http,
            request,
            self.inner.config.max_response_size,
        )
        .await
    }

    /// Seconds since the Unix epoch on the configured clock.
    fn unix_now(&self) -> i64 {
        unix_seconds(self.inner.config.clock.now())
    }

    /// How long ago `then` was on the configured clock.
    fn age(&self, then: Instant) -> Duration {
        age(self.inner.config.clock.as_ref(), then)
    }

    pub fn builder(issuer: &str, client_id: &str) -> ClientBuilder {
        ClientBuilder::new(issuer, client_id)
    }

    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    pub fn issuer(&self) -> &str {
        &self.inner.config.issuer
    }

    fn cached_provider(&self) -> Arc<Provider> {
        self.inner
            .provider
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The provider's configuration, refetched when older than the discovery lifetime. A failed
    /// refresh leaves the previous document in use and is reported.
    async fn provider(&self) -> Result<Arc<Provider>, Error> {
        let current = self.cached_provider();
        if self.age(current.fetched_at) < self.inner.config.discovery_lifetime {
            return Ok(current);
        }
        let _guard = self.inner.refreshing.lock().await;
        let current = self.cached_provider();
        if self.age(current.fetched_at) < self.inner.config.discovery_lifetime {
            return Ok(current);
        }
        let fresh =
            Arc::new(fetch_provider(&self.inner.http, &self.inner.config, Some(&current)).await?);
        *self
            .inner
            .provider
            .write()
            .unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    /// The provider's discovery document (cached).
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        Ok(self.provider().await?.metadata.clone())
    }

    /// The ID token verifier built from discovery and this client's settings.
    pub async fn id_token_verifier(&self) -> Result<IdTokenVerifier, Error> {
        Ok(self.provider().await?.verifier.clone())
    }

    /// Starts a login: set options on the returned builder, then `build()` it for the URL and the
    /// [`PendingLogin`] to keep in the user's session.
    pub async fn authorization_request(&self) -> Result<AuthorizationRequest, Error> {
        let redirect_uri = self.inner.config.redirect_uri.as_deref().ok_or_else(|| {
            Error::Config("no redirect_uri configured; set ClientBuilder::redirect_uri".into())
        })?;
        let provider = self.provider().await?;
        Ok(AuthorizationRequest::new(
            &provider.metadata,
            &self.inner.config.client_id,
            redirect_uri,
        ))
    }

    /// Sends `request` by PAR (RFC 9126): the parameters go to the provider from the backend,
    /// client-authenticated, and the returned URL carries only `client_id` and the single-use
    /// `request_uri`. The only way to send `authorization_details` (payments), and one of two for
    /// an NNIN in `login_hint`.
    pub async fn push_authorization_request(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::Pushed)?;
        self.push_parameters(params.params.clone(), params).await
    }

    async fn push_parameters(
        &self,
        form: Vec<(String, String)>,
        params: AuthorizationParameters,
    ) -> Result<AuthorizationRedirect, Error> {
        let provider = self.provider().await?;
        let request = pushed_authorization_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            &form,
        )?;
        let response = self.post_form(&request).await?;
        let pushed = process_par_response(&request.url, &response)?;
        params.into_request_uri_redirect(&pushed.request_uri)
    }

    /// Sends `request` as a signed request object (RFC 9101) in the URL, signed with the
    /// configured [`ClientBuilder::request_object_signer`]. The parameters cannot be changed on
    /// the way, but anyone can read them: no NNIN login_hint here (see
    /// [`Client::encrypted_authorization_request`]).
    pub async fn signed_authorization_request(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::SignedRequestObject)?;
        let signed = self.sign_request_object(&params).await?;
        params.into_request_object_redirect(&signed)
    }

    /// Sends `request` as a signed request object encrypted to one of the provider's keys at
    /// `jwks_uri_enc` (nested JWT), chosen by `encryption` (default: the first usable key,
    /// RSA-OAEP-256 or ECDH-ES, with A256GCM).
    pub async fn encrypted_authorization_request(
        &self,
        request: AuthorizationRequest,
        encryption: &RequestEncryption,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::EncryptedRequestObject)?;
        let signed = self.sign_request_object(&params).await?;
        let keys = self.encryption_keys().await?;
        let metadata = self.metadata().await?;
        let (key, options) = encryption.choose(&keys, &metadata)?;
        let encrypted = encrypt_request_object(&signed, key, &options)?;
        params.into_request_object_redirect(&encrypted)
    }

    async fn sign_request_object(&self, params: &AuthorizationParameters) -> Result<String, Error> {
        let signer = self
            .inner
            .config
            .request_signer
            .0
            .as_ref()
            .ok_or(Error::MissingRequestObjectSigner)?;
        let provider = self.provider().await?;
        let claims = request_object_claims(
            &params.params,
            &self.inner.config.client_id,
            &provider.metadata.issuer,
            self.unix_now(),
            self.inner.config.request_object_lifetime,
        )?;
        signer.sign_request_object(&claims)
    }

    /// The provider's encryption keys from discovery's `jwks_uri_enc`, cached by the same rules
    /// as the signing keys (refetched after the JWKS maximum age, spaced by the minimum refetch
    /// interval, the old keys kept when a refresh fails).
    pub async fn encryption_keys(&self) -> Result<Arc<Vec<Jwk>>, Error> {
        let provider = self.provider().await?;
        let cache = provider
            .enc_jwks
            .as_ref()
            .ok_or(Error::MissingMetadata("jwks_uri_enc"))?;
        cache.published_keys().await
    }

    /// Handles the callback end to end (seed 002): state, iss and error checks, the code
    /// exchange, and full ID token validation against the pending login's nonce and its
    /// requested `acr_values`; for a login with a payment, the ID token's `permission_digest`
    /// against the statement sent.
    pub async fn handle_callback(
        &self,
        pending: &PendingLogin,
        params: &CallbackParams,
    ) -> Result<Login, Error> {
        let provider = self.provider().await?;
        let code = validate_callback(pending, params, &provider.metadata)?;
        let tokens = self.exchange_code(pending, &code).await?;
        let id_token = tokens.id_token.as_deref().ok_or(Error::MissingIdToken)?;
        let id_token = self
            .verify_id_token(
                id_token,
                &Expected {
                    nonce: Some(&pending.nonce),
                    access_token: Some(&tokens.access_token),
                },
            )
            .await?;
        check_requested_acr(&id_token.claims, &pending.acr_values)?;
        if let Some(expected) = &pending.permission_digest {
            verify_permission_digest(&id_token.claims, expected)?;
        }
        Ok(Login { id_token, tokens })
    }

    /// Exchanges an authorization code for tokens (no ID token validation; see
    /// [`Client::handle_callback`]).
    pub async fn exchange_code(
        &self,
        pending: &PendingLogin,
        code: &AuthorizationCode,
    ) -> Result<Tokens, Error> {
        let provider = self.provider().await?;
        let request =
            authorization_code_request(&provider.metadata, &self.inner.config.auth, pending, code)?;
        let response = self.post_form(&request).await?;
        read_token_response(&request.url, &response)
    }

    /// Runs [`IdTokenVerifier::verify`] with the cached keys; on an unknown `kid`, refetches the
    /// JWKS once (subject to the minimum interval) and tries again.
    pub async fn verify_id_token(
        &self,
        token: &str,
        expected: &Expected<'_>,
    ) -> Result<IdToken, Error> {
        let provider = self.provider().await?;
        let now = self.unix_now();
        self.with_key_rotation(&provider, |keys| {
            provider.verifier.verify(token, keys, expected, now)
        })
        .await
    }

    async fn with_key_rotation<T>(
        &self,
        provider: &Provider,
        check: impl Fn(&KeySet) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let keys = provider.jwks.keys().await?;
        match check(&keys) {
            Err(Error::UnknownKey { kid }) => {
                match provider
                    .jwks
                    .refetch_for_unknown_kid(kid.as_deref())
                    .await?
                {
                    Some(fresh) => check(&fresh),
                    None => Err(Error::UnknownKey { kid }),
                }
            }
            other => other,
        }
    }

    /// Userinfo for an access token, checked to be about `expected_sub` (the ID token's `sub`).
    pub async fn userinfo(
        &self,
        access_token: &str,
        expected_sub: &str,
    ) -> Result<UserInfo, Error> {
        let provider = self.provider().await?;
        let url = provider
            .metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or(Error::MissingMetadata("userinfo_endpoint"))?;
        let response = http::get(
            &self.inner.http,
            url,
            "application/json, application/jwt",
            Some(access_token),
            self.inner.config.max_response_size,
        )
        .await?;
        if response.media_type().as_deref() == Some("application/jwt") {
            self.with_key_rotation(&provider, |keys| {
                process_userinfo_response(url, &response, &provider.verifier, keys, expected_sub)
            })
            .await
        } else {
            process_userinfo_response(
                url,
                &response,
                &provider.verifier,
                &KeySet::default(),
                expected_sub,
            )
        }
    }

    /// Exchanges a refresh token for fresh tokens (RFC 6749 section 6). `original` is the
    /// validated ID token of the login (its claims); a new ID token, if the provider sends one,
    /// passes every ID token check except the nonce (a refresh has none) and must be about the
    /// same login: same `iss`, `sub`, `aud` and `azp` (OpenID Connect Core 12.2). `scopes` may
    /// narrow the new access token's scope; `None` keeps the login's.
    ///
    /// **Store [`Refreshed::refresh_token`] in place of `refresh_token`.** Providers that rotate
    /// (BankID, RFC 9700) spend a refresh token on use: sending the old one again later is taken
    /// as theft and revokes every token of the login. Our provider lets a retry of the same
    /// token within a few seconds through (it answers with the same successor), so a request
    /// whose answer was lost can be repeated at once; concurrent refreshes of one session are
    /// still best serialised by the merchant.
    ///
    /// If the new ID token fails a check the error is returned and the rotated tokens are
    /// dropped: the provider answered with something that is not this login, so the session
    /// should end.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        original: &IdTokenClaims,
        scopes: Option<&[&str]>,
    ) -> Result<Refreshed, Error> {
        let provider = self.provider().await?;
        let request = refresh_token_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            refresh_token,
            scopes,
        )?;
        let response = self.post_form(&request).await?;
        let tokens = read_token_response(&request.url, &response)?;
        let id_token = match tokens.id_token.as_deref() {
            Some(raw) => {
                let expected = Expected {
                    nonce: None,
                    access_token: Some(&tokens.access_token),
                };
                let id_token = self.verify_id_token(raw, &expected).await?;
                check_refreshed_claims(original, &id_token.claims)?;
                Some(id_token)
            }
            None => None,
        };
        Ok(Refreshed::new(tokens, id_token, refresh_token))
    }

    /// Asks the provider about a token (RFC 7662), authenticated as this client. A provider
    /// answers [`Introspection::Inactive`] for tokens issued to other clients unless this client
    /// is registered as a resource server.
    pub async fn introspect(
        &self,
        token: &str,
        hint: Option<TokenTypeHint>,
    ) -> Result<Introspection, Error> {
        let provider = self.provider().await?;
        let request = introspection_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            token,
            hint,
        )?;
        let response = self.post_form(&request).await?;
        process_introspection_response(&request.url, &response)
    }

    /// Revokes a token (RFC 7009), authenticated as this client. A refresh token takes the whole
    /// login with it; an access token only itself. `Ok` also for tokens that were already
    /// invalid, as the RFC answers. A revoked client-credentials token leaves the cache, so
    /// [`Client::client_credentials`] fetches a new one.
    pub async fn revoke(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        let provider = self.provider().await?;
        let request = revocation_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            token,
            hint,
        )?;
        let response = self.post_form(&request).await?;
        process_revocation_response(&request.url, &response)?;
        self.inner.machine_tokens.forget(token).await;
        Ok(())
    }

    /// Starts a logout URL at the provider's `end_session_endpoint`: set the ID token hint, the
    /// post-logout redirect URI and a state on the returned builder, then `build()` it.
    pub async fn logout_request(&self) -> Result<LogoutRequest, Error> {
        let provider = self.provider().await?;
        LogoutRequest::new(&provider.metadata, &self.inner.config.client_id)
    }

    /// A machine access token (client credentials) for `scopes`, from the cache while it has
    /// more than the refresh margin left.
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<AccessToken, Error> {
        let provider = self.provider().await?;
        self.inner
            .machine_tokens
            .get_or_fetch(scopes, || async {
                let request = client_credentials_request(
                    &provider.metadata,
                    &self.inner.config.auth,
                    &self.inner.config.client_id,
                    scopes,
                )?;
                let response = self.post_form(&request).await?;
                read_token_response(&request.url, &response)
            })
            .await
    }
}
