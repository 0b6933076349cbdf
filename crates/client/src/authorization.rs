//! The authorization request: fresh `state`, `nonce` and PKCE values, the URL to send the user to,
//! and the [`PendingLogin`] the merchant keeps in its session until the callback.
//!
//! The same parameters can reach the provider four ways ([`Channel`]): in the URL, in a signed
//! request object, in an encrypted request object, or pushed (PAR). Some parameters are allowed
//! only in the confidential ones, and [`AuthorizationRequest::prepare`] refuses them elsewhere
//! before anything is sent.

use crate::login_hint::{self, LoginHint};
use crate::payment::PaymentAuthorization;
use crate::{Error, random};
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::pkce::{check_verifier, s256_challenge};
use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// The PKCE verifier length used unless configured: 64 characters, 384 random bits.
pub const DEFAULT_VERIFIER_LENGTH: usize = 64;

/// How the provider returns the authorization response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// What the merchant stores between redirecting the user and handling the callback. Serializable
/// so that it fits any session store; it holds secrets (the PKCE verifier), so store it
/// server-side or encrypted, never in a plain cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    /// `max_age` as sent, for merchants that check `auth_time` themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// The digest of the payment statement sent, which the ID token's `permission_digest` must
    /// match ([`crate::payment::verify_permission_digest`]; `Client::handle_callback` checks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_digest: Option<String>,
    /// The `acr_values` sent (methods, perhaps with levels): `Client::handle_callback` refuses an
    /// ID token whose `acr` is none of them ([`crate::id_token::check_requested_acr`]). A pending
    /// login stored before this field existed has none, and is checked against `min_loa` only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The verifier is what makes a stolen code useless; keep it out of logs.
        f.debug_struct("PendingLogin")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("code_verifier", &"[redacted]")
            .field("max_age", &self.max_age)
            .field("permission_digest", &self.permission_digest)
            .field("acr_values", &self.acr_values)
            .finish()
    }
}

/// The URL to redirect the user to, and the login to remember.
#[derive(Debug, Clone)]
pub struct AuthorizationRedirect {
    pub url: Url,
    pub pending: PendingLogin,
}

/// How the authorization parameters travel to the provider. BankID (API version 4) allows an
/// NNIN in `login_hint` only in a confidential channel (pushed or encrypted), and
/// `authorization_details` only when pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// In the browser's URL.
    Query,
    /// In a signed request object in the URL: integrity, but readable by anyone on the way.
    SignedRequestObject,
    /// In a request object encrypted to the provider.
    EncryptedRequestObject,
    /// Pushed by the client's backend (RFC 9126), client-authenticated.
    Pushed,
}

impl Channel {
    fn is_confidential(self) -> bool {
        matches!(self, Channel::EncryptedRequestObject | Channel::Pushed)
    }
}

/// The parameters of one authorization request with their secrets drawn, checked for the
/// channel they will travel by, and the login to remember.
#[derive(Debug, Clone)]
pub struct AuthorizationParameters {
    /// Every parameter, `client_id` and `response_type` included.
    pub params: Vec<(String, String)>,
    pub pending: PendingLogin,
    authorization_endpoint: Option<String>,
}

impl AuthorizationParameters {
    fn endpoint(&self) -> Result<Url, Error> {
        let endpoint = self
            .authorization_endpoint
            .as_deref()
            .ok_or(Error::MissingMetadata("authorization_endpoint"))?;
        Url::parse(endpoint).map_err(|e| Error::MalformedResponse {
            what: "authorization_endpoint",
            detail: e.to_string(),
        })
    }

    fn redirect_with(self, pairs: &[(&str, &str)]) -> Result<AuthorizationRedirect, Error> {
        let mut url = self.endpoint()?;
        url.query_pairs_mut().extend_pairs(pairs);
        Ok(AuthorizationRedirect {
            url,
            pending: self.pending,
        })
    }

    /// The value of one parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter in the URL.
    pub fn into_query_redirect(self) -> Result<AuthorizationRedirect, Error> {
        let params = self.params.clone();
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.redirect_with(&pairs)
    }

    /// A pushed request: only `client_id` and the `request_uri` the provider returned (RFC 9126
    /// section 4).
    pub fn into_request_uri_redirect(
        self,
        request_uri: &str,
    ) -> Result<AuthorizationRedirect, Error> {
        let client_id = self.pending.client_id.clone();
        self.redirect_with(&[("client_id", &client_id), ("request_uri", request_uri)])
    }

    /// A request object in the URL, with `client_id` and `response_type` beside it (RFC 9101
    /// section 5; BankID API version 4 requires `response_type` outside too).
    pub fn into_request_object_redirect(
        self,
        request: &str,
    ) -> Result<AuthorizationRedirect, Error> {
        let client_id = self.pending.client_id.clone();
        let response_type = self.get("response_type").unwrap_or("code").to_owned();
        self.redirect_with(&[
            ("client_id", &client_id),
            ("response_type", &response_type),
            ("request", request),
        ])
    }
}

/// The random values of one login. [`LoginSecrets::generate`] draws them from the CSPRNG; tests
/// may set them.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginSecrets {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
}

impl fmt::Debug for LoginSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginSecrets")
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("code_verifier", &"[redacted]")
            .finish()
    }
}

impl LoginSecrets {
    pub fn generate(verifier_length: usize) -> Result<Self, Error> {
        if !(43..=128).contains(&verifier_length) {
            return Err(Error::Config(format!(
                "PKCE verifier length {verifier_length}: must be 43 to 128 (RFC 7636 section 4.1)"
            )));
        }
        Ok(LoginSecrets {
            state: random::token(),
            nonce: random::token(),
            code_verifier: random::code_verifier(verifier_length),
        })
    }
}

/// Builds an authorization request. Start with [`AuthorizationRequest::new`] (or
/// `Client::authorization_request`), set options, then [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    authorization_endpoint: Option<String>,
    issuer: String,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    login_hint: Option<String>,
    login_hint_token: Option<String>,
    acr_values: Vec<String>,
    ui_locales: Vec<String>,
    prompt: Vec<String>,
    max_age: Option<u64>,
    api_version: Option<u32>,
    response_mode: Option<ResponseMode>,
    id_token_hint: Option<String>,
    authorization_details: Option<String>,
    permission_digest: Option<String>,
    extra: Vec<(String, String)>,
    verifier_length: usize,
}

impl AuthorizationRequest {
    pub fn new(metadata: &ProviderMetadata, client_id: &str, redirect_uri: &str) -> Self {
        AuthorizationRequest {
            authorization_endpoint: metadata.authorization_endpoint.clone(),
            issuer: metadata.issuer.clone(),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: vec!["openid".to_owned()],
            login_hint: None,
            login_hint_token: None,
            acr_values: Vec::new(),
            ui_locales: Vec::new(),
            prompt: Vec::new(),
            max_age: None,
            api_version: None,
            response_mode: None,
            id_token_hint: None,
            authorization_details: None,
            permission_digest: None,
            extra: Vec::new(),
            verifier_length: DEFAULT_VERIFIER_LENGTH,
        }
    }

    /// Adds scopes; `openid` is always included.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        self
    }

    /// `BID`, `BIM`, `BIS`, or a hint with a user. BankID (API version 4) accepts a hint carrying
    /// an NNIN only through PAR or an encrypted request object; [`Self::prepare`] refuses it
    /// elsewhere. The builders in [`crate::login_hint`] check the grammar first.
    pub fn login_hint(mut self, hint: &str) -> Self {
        self.login_hint = Some(hint.to_owned());
        self
    }

    /// A hint made with [`crate::login_hint`].
    pub fn hint(self, hint: &LoginHint) -> Self {
        self.login_hint(&login_hint::to_text(hint))
    }

    /// BankID with biometrics: the `permissionToken` of a permission registered upfront
    /// ([`crate::bis`]), so that the user approves that permission while logging in. Sent as the
    /// `login_hint_token` parameter (in the URL for [`Self::build`]).
    pub fn login_hint_token(mut self, permission_token: &str) -> Self {
        self.login_hint_token = Some(permission_token.to_owned());
        self
    }

    /// A payment for the user to approve (RFC 9396 `payment.v1`, PAR only). Its digest is kept in
    /// the [`PendingLogin`], so that the callback checks the ID token's `permission_digest`.
    pub fn payment(mut self, payment: &PaymentAuthorization) -> Self {
        self.authorization_details = Some(payment.authorization_details.clone());
        self.permission_digest = Some(payment.expected_digest.clone());
        self
    }

    /// e.g. `urn:bankid:bis`; several values are sent space-separated.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values.extend(values.into_iter().map(Into::into));
        self
    }

    /// e.g. `nb` or `en`, in order of preference.
    pub fn ui_locales<I, S>(mut self, locales: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ui_locales.extend(locales.into_iter().map(Into::into));
        self
    }

    /// e.g. `login`, `consent`, `none`.
    pub fn prompt<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prompt.extend(values.into_iter().map(Into::into));
        self
    }

    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// BankID's `api_version` (4 is the minimum the provider accepts).
    pub fn api_version(mut self, version: u32) -> Self {
        self.api_version = Some(version);
        self
    }

    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = Some(mode);
        self
    }

    /// A previous ID token, so that the user only consents instead of identifying again.
    pub fn id_token_hint(mut self, id_token: &str) -> Self {
        self.id_token_hint = Some(id_token.to_owned());
        self
    }

    /// Any other parameter. The parameters this builder owns cannot be overridden this way.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// PKCE verifier length, 43 to 128 (default 64).
    pub fn verifier_length(mut self, length: usize) -> Self {
        self.verifier_length = length;
        self
    }

    /// Draws fresh secrets and builds the request as a plain URL.
    pub fn build(self) -> Result<AuthorizationRedirect, Error> {
        let secrets = LoginSecrets::generate(self.verifier_length)?;
        self.build_with(secrets)
    }

    /// Builds the request as a plain URL with given secrets (for tests and for callers with their
    /// own RNG).
    pub fn build_with(self, secrets: LoginSecrets) -> Result<AuthorizationRedirect, Error> {
        self.prepare_with(secrets, Channel::Query)?
            .into_query_redirect()
    }

    /// Draws fresh secrets and checks the parameters for `channel`; the caller then sends them
    /// (see `Client::push_authorization_request`, `Client::signed_authorization_request`,
    /// `Client::encrypted_authorization_request`).
    pub fn prepare(self, channel: Channel) -> Result<AuthorizationParameters, Error> {
        let secrets = LoginSecrets::generate(self.verifier_length)?;
        self.prepare_with(secrets, channel)
    }

    /// [`Self::prepare`] with given secrets.
    pub fn prepare_with(
        self,
        secrets: LoginSecrets,
        channel: Channel,
    ) -> Result<AuthorizationParameters, Error> {
        check_verifier(&secrets.code_verifier).map_err(Error::Config)?;
        // An NNIN in a URL ends up in browser history, proxy and server logs; BankID refuses it
        // there, and so does the library, before it is sent anywhere.
        if let Some(hint) = &self.login_hint
            && login_hint::carries_nnin(hint)
            && !channel.is_confidential()
        {
            return Err(Error::NotAllowedInChannel {
                parameter: "login_hint with a national identity number",
                channel,
                allowed: "through PAR or in an encrypted request object",
            });
        }
        if self.authorization_details.is_some() && channel != Channel::Pushed {
            return Err(Error::NotAllowedInChannel {
                parameter: "authorization_details",
                channel,
                allowed: "through PAR",
            });
        }
        let mut params: Vec<(String, String)> = Vec::new();
        let mut add = |name: &str, value: &str| params.push((name.to_owned(), value.to_owned()));
        add("client_id", &self.client_id);
        add("response_type", "code");
        add("redirect_uri", &self.redirect_uri);
        add("scope", &self.scopes.join(" "));
        add("state", &secrets.state);
        add("nonce", &secrets.nonce);
        add("code_challenge", &s256_challenge(&secrets.code_verifier));
        add("code_challenge_method", "S256");
        if let Some(hint) = &self.login_hint {
            add("login_hint", hint);
        }
        if let Some(token) = &self.login_hint_token {
            add("login_hint_token", token);
        }
        if !self.acr_values.is_empty() {
            add("acr_values", &self.acr_values.join(" "));
        }
        if !self.ui_locales.is_empty() {
            add("ui_locales", &self.ui_locales.join(" "));
        }
        if !self.prompt.is_empty() {
            add("prompt", &self.prompt.join(" "));
        }
        if let Some(max_age) = self.max_age {
            add("max_age", &max_age.to_string());
        }
        if let Some(version) = self.api_version {
            add("api_version", &version.to_string());
        }
        if let Some(mode) = self.response_mode {
            add("response_mode", mode.as_str());
        }
        if let Some(hint) = &self.id_token_hint {
            add("id_token_hint", hint);
        }
        if let Some(details) = &self.authorization_details {
            add("authorization_details", details);
        }
        for (name, value) in &self.extra {
            if !OWNED_PARAMS.contains(&name.as_str()) {
                add(name, value);
            }
        }
        Ok(AuthorizationParameters {
            params,
            authorization_endpoint: self.authorization_endpoint,
            pending: PendingLogin {
                issuer: self.issuer,
                client_id: self.client_id,
                redirect_uri: self.redirect_uri,
                state: secrets.state,
                nonce: secrets.nonce,
                code_verifier: secrets.code_verifier,
                max_age: self.max_age,
                permission_digest: self.permission_digest,
                // One entry per value, however the caller grouped them.
                acr_values: self
                    .acr_values
                    .iter()
                    .flat_map(|v| v.split_whitespace())
                    .map(str::to_owned)
                    .collect(),
            },
        })
    }
}

/// Parameters whose value must come from the builder, so that `param` cannot weaken PKCE or
/// replace the state, nor smuggle in another request.
const OWNED_PARAMS: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "login_hint_token",
    "acr_values",
    "ui_locales",
    "prompt",
    "max_age",
    "response_mode",
    "api_version",
    "id_token_hint",
    "authorization_details",
    "request",
    "request_uri",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example/auth/realms/current".into(),
            authorization_endpoint: Some(
                "https://op.example/auth/realms/current/protocol/openid-connect/auth".into(),
            ),
            jwks_uri: "https://op.example/jwks".into(),
            ..Default::default()
        }
    }

    fn query(url: &Url) -> HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn authorization_url_carries_state_nonce_and_an_s256_challenge_of_the_pending_verifier() {
        let redirect = AuthorizationRequest::new(&metadata(), "merchant", "https://m.example/cb")
            .scopes(["profile", "openid", "nnin_altsub"])
            .login_hint("BIS")
            .build()
            .unwrap();
        let q = query(&redirect.url);
        let pending = &redirect.pending;
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "merchant");
        assert_eq!(q["redirect_uri"], "https://m.example/cb");
        assert_eq!(q["scope"], "openid profile nnin_altsub");
        assert_eq!(q["login_hint"], "BIS");
        assert_eq!(q["state"], pending.state);
        assert_eq!(q["nonce"], pending.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], s256_challenge(&pending.code_verifier));
        assert_eq!(pending.code_verifier.len(), DEFAULT_VERIFIER_LENGTH);
        assert!(!q.contains_key("api_version"));
    }

    #[test]
    fn every_option_reaches_the_url() {
        let redirect = AuthorizationRequest::new(&metadata(), "merchant", "https://m.example/cb")
            .acr_values(["urn:bankid:bid", "urn:bankid:bis"])
            .ui_locales(["nb", "en"])
            .prompt(["login"])
            .max_age(600)
            .api_version(4)
            .response_mode(ResponseMode::FormPost)
            .id_token_hint("a.b.c")
            .login_hint_token("permission.token.jwt")
            .param("login_hint_token", "attacker-chosen")
            .param("state", "attacker-chosen")
            .param("claims_locales", "nb")
            .build()
            .unwrap();
        let q = query(&redirect.url);
        assert_eq!(q["acr_values"], "urn:bankid:bid urn:bankid:bis");
        assert_eq!(q["ui_locales"], "nb en");
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["max_age"], "600");
        assert_eq!(q["api_version"], "4");
        assert_eq!(q["response_mode"], "form_post");
        assert_eq!(q["id_token_hint"], "a.b.c");
        assert_eq!(q["login_hint_token"], "permission.token.jwt");
        assert_eq!(q["claims_locales"], "nb");
        assert_eq!(
            q["state"], redirect.pending.state,
            "param() must not override state"
        );
        assert_eq!(redirect.pending.max_age, Some(600));
        assert_eq!(
            redirect.pending.acr_values,
            ["urn:bankid:bid", "urn:bankid:bis"],
            "kept for the callback's check"
        );
    }

    #[test]
    fn verifier_length_outside_rfc_7636_bounds_is_a_configuration_error() {
        for bad in [42, 129] {
            let err = AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
                .verifier_length(bad)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)));
        }
        let ok = AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
            .verifier_length(128)
            .build()
            .unwrap();
        assert_eq!(ok.pending.code_verifier.len(), 128);
    }

    #[test]
    fn pending_login_round_trips_through_json_and_hides_its_verifier_from_debug() {
        let redirect = AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
            .build()
            .unwrap();
        let json = serde_json::to_string(&redirect.pending).unwrap();
        let back: PendingLogin = serde_json::from_str(&json).unwrap();
        assert_eq!(back, redirect.pending);
        assert!(!format!("{back:?}").contains(&back.code_verifier));
    }

    #[test]
    fn an_nnin_login_hint_travels_only_pushed_or_encrypted_and_a_payment_only_pushed() {
        let request = || {
            AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
                .hint(&crate::login_hint::bid_with_nnin("15076500565").unwrap())
        };
        for channel in [Channel::Query, Channel::SignedRequestObject] {
            assert!(matches!(
                request().prepare(channel),
                Err(Error::NotAllowedInChannel { channel: c, .. }) if c == channel
            ));
        }
        assert!(matches!(
            request().build(),
            Err(Error::NotAllowedInChannel { .. })
        ));
        for channel in [Channel::EncryptedRequestObject, Channel::Pushed] {
            let params = request().prepare(channel).unwrap();
            assert_eq!(params.get("login_hint"), Some("BID:15076500565"));
        }

        let payment = crate::payment::PaymentRequest::new("b")
            .payment("p", "10.00", "NOK", "Shop")
            .build()
            .unwrap();
        let paying = || {
            AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb").payment(&payment)
        };
        for channel in [
            Channel::Query,
            Channel::SignedRequestObject,
            Channel::EncryptedRequestObject,
        ] {
            assert!(paying().prepare(channel).is_err(), "{channel:?}");
        }
        let params = paying().prepare(Channel::Pushed).unwrap();
        assert_eq!(
            params.get("authorization_details"),
            Some(payment.authorization_details.as_str())
        );
        assert_eq!(
            params.pending.permission_digest.as_deref(),
            Some(payment.expected_digest.as_str())
        );
    }

    #[test]
    fn pushed_and_request_object_urls_carry_only_what_rfc_9126_and_9101_ask() {
        let prepare = || {
            AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
                .scopes(["profile"])
                .prepare(Channel::Pushed)
                .unwrap()
        };
        let pushed = prepare()
            .into_request_uri_redirect("urn:ietf:params:oauth:request_uri:abc")
            .unwrap();
        let q = query(&pushed.url);
        assert_eq!(q.len(), 2);
        assert_eq!(q["client_id"], "m");
        assert_eq!(q["request_uri"], "urn:ietf:params:oauth:request_uri:abc");

        let object = prepare().into_request_object_redirect("h.p.s").unwrap();
        let q = query(&object.url);
        assert_eq!(q.len(), 3);
        assert_eq!(
            q["response_type"], "code",
            "API version 4 wants it outside too"
        );
        assert_eq!(q["request"], "h.p.s");
        assert!(!q.contains_key("state"), "the state is inside the object");
        assert!(!object.pending.state.is_empty());
    }

    #[test]
    fn param_cannot_smuggle_a_request_object_or_request_uri() {
        let redirect = AuthorizationRequest::new(&metadata(), "m", "https://m.example/cb")
            .param("request_uri", "urn:evil")
            .param("request", "a.b.c")
            .param("authorization_details", "[]")
            .build()
            .unwrap();
        let q = query(&redirect.url);
        for name in ["request_uri", "request", "authorization_details"] {
            assert!(!q.contains_key(name), "{name}");
        }
    }

    #[test]
    fn missing_authorization_endpoint_is_reported() {
        let mut m = metadata();
        m.authorization_endpoint = None;
        let err = AuthorizationRequest::new(&m, "m", "https://m.example/cb")
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::MissingMetadata("authorization_endpoint")
        ));
    }
}
