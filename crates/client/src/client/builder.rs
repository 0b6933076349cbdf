//! [`ClientBuilder`]: a client's settings with their defaults, checked at start-up by
//! [`ClientBuilder::discover`] with a message a person can act on.

use super::provider::fetch_provider;
use super::{Client, Inner};
use crate::Error;
use crate::client_auth::ClientAuth;
use crate::clock::{Clock, SystemClock};
use crate::http::DEFAULT_MAX_RESPONSE_SIZE;
use crate::id_token::DEFAULT_CLOCK_SKEW;
use crate::jwks::{DEFAULT_MAX_AGE, DEFAULT_MIN_REFETCH_INTERVAL};
use crate::machine_token::MachineTokenCache;
use crate::private_key_jwt::PrivateKeyJwtSigner;
use crate::request_object::{DEFAULT_LIFETIME, RequestObjectSigner};
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a discovery document is used before it is fetched again, unless configured.
pub const DEFAULT_DISCOVERY_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long before its expiry a cached machine token is replaced, unless configured.
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// The key that signs request objects, if the client has one.
#[derive(Clone, Default)]
pub(super) struct RequestSigner(pub(super) Option<Arc<dyn RequestObjectSigner>>);

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

/// Configures a [`Client`]; [`ClientBuilder::discover`] fetches the provider's configuration and
/// checks the settings against it.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(super) issuer: String,
    pub(super) client_id: String,
    pub(super) auth: ClientAuth,
    pub(super) request_signer: RequestSigner,
    pub(super) request_object_lifetime: Duration,
    pub(super) redirect_uri: Option<String>,
    pub(super) http: Option<reqwest::Client>,
    pub(super) discovery_lifetime: Duration,
    pub(super) jwks_min_refetch_interval: Duration,
    pub(super) jwks_max_age: Duration,
    pub(super) clock_skew: Duration,
    pub(super) min_loa: Option<u8>,
    pub(super) require_at_hash: bool,
    pub(super) allowed_algs: Option<Vec<String>>,
    pub(super) token_refresh_margin: Duration,
    pub(super) max_response_size: usize,
    pub(super) clock: Arc<dyn Clock>,
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
