//! The one error type of the library. Each variant is one rule or one failure a merchant may want
//! to tell apart; its message says what happened and what to do about it.

use bankid_oidc_core::ErrorCode;
use serde::Deserialize;
use std::fmt;

/// An error answer from the provider: the OAuth `error` code and its description, as received.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderError {
    #[serde(rename = "error")]
    pub code: String,
    #[serde(rename = "error_description", default)]
    pub description: Option<String>,
    #[serde(rename = "error_uri", default)]
    pub uri: Option<String>,
}

impl ProviderError {
    /// The code as one of the standard OAuth / OpenID Connect codes, if it is one.
    pub fn known_code(&self) -> Option<ErrorCode> {
        serde_json::from_value(serde_json::Value::String(self.code.clone())).ok()
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)?;
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong, from configuration to the last claim check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- configuration --------------------------------------------------------------------
    #[error("invalid client configuration: {0}")]
    Config(String),

    // --- transport and response shape -----------------------------------------------------
    #[error(
        "could not reach {url}: {source}; check that the provider is running and the URL is right"
    )]
    Network {
        url: String,
        /// Whether the request ran out of time (the HTTP client's timeout), which may be worth
        /// a retry, rather than failing to connect or breaking off.
        timed_out: bool,
        /// The HTTP client's own error, boxed so that this type does not tie callers to the
        /// HTTP client's version.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{url} answered HTTP {status}: {body}")]
    HttpStatus {
        url: String,
        status: u16,
        body: String,
    },
    #[error("malformed {what}: {detail}")]
    MalformedResponse { what: &'static str, detail: String },
    #[error(
        "{url} answered with a body larger than {limit} bytes; refused without reading the rest (raise ClientBuilder::max_response_size if the provider's answers are really that large)"
    )]
    ResponseTooLarge { url: String, limit: usize },
    #[error(
        "{url} answered with a redirect (to {location:?}); refused: this library never follows a redirect, so that codes, verifiers, tokens and client credentials reach only the endpoints the provider publishes"
    )]
    Redirect {
        url: String,
        location: Option<String>,
    },

    // --- discovery ------------------------------------------------------------------------
    #[error(
        "discovery document fetched for issuer '{expected}' names issuer '{found}'; configure the exact issuer URL the provider publishes (a trailing slash matters)"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider's discovery document has no {0}; this operation needs it")]
    MissingMetadata(&'static str),

    // --- the authorization response (callback) --------------------------------------------
    #[error(
        "the callback has no state parameter; the request did not come from the provider's redirect"
    )]
    MissingState,
    #[error(
        "the callback's state does not match the pending login; treat the login as failed (possible CSRF) and start a new one"
    )]
    StateMismatch,
    #[error(
        "the pending login was started with issuer '{pending}', not with this client's issuer '{client}'; handle the callback with the client that started the login"
    )]
    PendingLoginIssuerMismatch { pending: String, client: String },
    #[error(
        "the callback has no iss parameter although the provider announces it (RFC 9207); treat the login as failed"
    )]
    MissingCallbackIssuer,
    #[error(
        "the callback's iss '{found}' is not this provider's issuer '{expected}' (RFC 9207 mix-up defence); treat the login as failed"
    )]
    CallbackIssuerMismatch { expected: String, found: String },
    #[error("the provider ended the login with an error: {0}")]
    Authorization(ProviderError),
    #[error("the callback has neither code nor error")]
    MissingCode,

    // --- endpoints (token, userinfo, ...) -------------------------------------------------
    #[error("the {endpoint} endpoint refused the request (HTTP {status}): {error}")]
    Endpoint {
        endpoint: &'static str,
        status: u16,
        error: ProviderError,
    },
    #[error("the token response has no id_token; request the openid scope")]
    MissingIdToken,
    #[error("the token response has token_type '{0}', expected Bearer")]
    UnsupportedTokenType(String),

    // --- JWS -----------------------------------------------------------------------------
    #[error("malformed JWT: {0}")]
    MalformedJwt(String),
    #[error("the token is unsigned (alg none); refused")]
    AlgNone,
    #[error(
        "the token is signed with {0}, an HMAC algorithm; refused, because a provider's tokens are verified with its public keys"
    )]
    AlgHmac(String),
    #[error(
        "the token is signed with {alg}, which is not among the allowed algorithms {allowed:?}"
    )]
    AlgNotAllowed { alg: String, allowed: Vec<String> },
    #[error("the token header has crit parameters {0:?}, which this library does not understand")]
    UnsupportedCritical(Vec<String>),
    #[error(
        "no key with kid {kid:?} in the provider's JWKS, even after refetching it; the token was not signed by this provider, or its key was withdrawn"
    )]
    UnknownKey { kid: Option<String> },
    #[error("the key {kid:?} cannot verify {alg} signatures (key type or key alg differs)")]
    KeyAlgMismatch { kid: Option<String>, alg: String },
    #[error("invalid signature; the token was altered or not signed by this provider")]
    BadSignature,

    // --- ID token claims ------------------------------------------------------------------
    #[error("the token's iss '{found}' is not the provider's issuer '{expected}'")]
    WrongIssuer { expected: String, found: String },
    #[error("the token's aud {found:?} does not contain this client's id '{client_id}'")]
    WrongAudience {
        client_id: String,
        found: Vec<String>,
    },
    #[error(
        "the token has several audiences but no azp; OpenID Connect requires azp to name this client"
    )]
    MissingAzp,
    #[error("the token's azp '{found}' is not this client's id '{client_id}'")]
    WrongAzp { client_id: String, found: String },
    #[error(
        "the token expired at {exp} (now {now}, allowed clock skew {skew} s); check the server clock or start a new login"
    )]
    Expired { exp: i64, now: i64, skew: u64 },
    #[error(
        "the token is issued in the future (iat {iat}, now {now}, allowed clock skew {skew} s); check that this machine's clock is synchronised"
    )]
    IssuedInFuture { iat: i64, now: i64, skew: u64 },
    #[error(
        "the token is not valid before {nbf} (now {now}, allowed clock skew {skew} s); check that this machine's clock is synchronised"
    )]
    NotYetValid { nbf: i64, now: i64, skew: u64 },
    #[error(
        "the token's {0} claim is empty; refused, so that nothing is ever keyed by an empty identifier"
    )]
    EmptyClaim(&'static str),
    #[error("the token's typ claim is '{0}', not an ID token's 'ID'")]
    WrongTokenTyp(String),
    #[error("the ID token has no nonce, but the login sent one; treat the login as failed")]
    MissingNonce,
    #[error(
        "the ID token's nonce does not match the pending login's (possible replay); treat the login as failed"
    )]
    NonceMismatch,
    #[error("the ID token has no acr claim, but LOA {required} or higher is required")]
    MissingAcr { required: u8 },
    #[error("the ID token's acr '{acr}' does not reach the required LOA {required}")]
    InsufficientLoa { acr: String, required: u8 },
    #[error(
        "the ID token's acr {acr:?} is not among the acr_values {requested:?} the login asked for (the request may have been altered on the way); treat the login as failed"
    )]
    AcrNotRequested {
        acr: Option<String>,
        requested: Vec<String>,
    },
    #[error("the ID token has no at_hash, but this verifier requires it to bind the access token")]
    MissingAtHash,
    #[error("the ID token's at_hash does not match the access token; the access token was swapped")]
    AtHashMismatch,

    // --- refresh --------------------------------------------------------------------------
    #[error(
        "the refreshed ID token's {claim} '{refreshed}' differs from the original login's '{original}' (OpenID Connect Core 12.2); end the session and ask the user to log in again"
    )]
    RefreshedClaimMismatch {
        claim: &'static str,
        original: String,
        refreshed: String,
    },

    // --- private_key_jwt signing key ------------------------------------------------------
    #[error("the private_key_jwt signing key: {0}")]
    SigningKey(String),

    // --- request security: login_hint, channels, request objects, payments -----------------
    #[error("invalid login_hint: {0}")]
    InvalidLoginHint(String),
    #[error(
        "{parameter} may be sent only {allowed}, not in a {channel:?} request; BankID (API version 4) refuses it there"
    )]
    NotAllowedInChannel {
        parameter: &'static str,
        channel: crate::authorization::Channel,
        allowed: &'static str,
    },
    #[error(
        "no request object signer configured; set ClientBuilder::request_object_signer (or ClientBuilder::private_key_jwt) and register its JWKS with the provider"
    )]
    MissingRequestObjectSigner,
    #[error(
        "the provider publishes no encryption key for {0} at jwks_uri_enc; choose another algorithm or ask the provider"
    )]
    NoEncryptionKey(String),
    #[error("could not encrypt the request object: {0}")]
    Encryption(#[from] bankid_oidc_core::jwe::JweError),
    #[error("invalid payment statement: {0}")]
    InvalidPaymentStatement(String),
    #[error(
        "the ID token's permission_digest {found:?} is not the digest '{expected}' of the payment statement sent; the user did not approve these payments, do not execute them"
    )]
    PermissionDigestMismatch {
        expected: String,
        found: Option<String>,
    },

    // --- BankID with biometrics: permissions and grants -------------------------------------
    #[error("invalid permission request: {0}")]
    InvalidPermission(String),
    #[error(
        "the permission was not granted: {0}; show the user that the approval failed and start over with a new permission"
    )]
    GrantRefused(ProviderError),
    #[error("the permission {id} was not granted before the deadline; treat it as not approved")]
    GrantTimeout { id: String },
    #[error(
        "the grant's {claim} {found:?} is not the expected {expected:?}; the grant is not for this permission, do not act on it"
    )]
    GrantClaimMismatch {
        claim: &'static str,
        expected: String,
        found: String,
    },

    // --- CIBA (backchannel authentication, poll mode) ------------------------------------
    #[error("invalid backchannel authentication request: {0}")]
    InvalidCibaRequest(String),
    #[error("the backchannel authentication request was refused as invalid: {0}")]
    CibaInvalidRequest(ProviderError),
    #[error(
        "the backchannel authentication request asked for a scope the client may not have: {0}"
    )]
    CibaInvalidScope(ProviderError),
    #[error(
        "the permission token (login_hint_token) is no longer valid: {0}; register a new permission"
    )]
    CibaExpiredLoginHintToken(ProviderError),
    #[error("the hint names no user the provider knows: {0}")]
    CibaUnknownUserId(ProviderError),
    #[error(
        "the client is not registered for CIBA: {0}; register it with the grant type urn:openid:params:grant-type:ciba and the scope permissions/ciba"
    )]
    CibaUnauthorizedClient(ProviderError),
    #[error("the binding_message was refused: {0}")]
    CibaInvalidBindingMessage(ProviderError),
    #[error("the provider did not authenticate the client: {0}; check its credentials")]
    CibaInvalidClient(ProviderError),
    #[error(
        "the user denied the request, or the app could not be reached: {0}; treat it as not approved"
    )]
    CibaAccessDenied(ProviderError),
    #[error(
        "the backchannel authentication request expired before the user approved it: {0}; start a new one"
    )]
    CibaExpiredToken(ProviderError),
    #[error(
        "the provider has no tokens for this auth_req_id: {0}; it was redeemed already, or is not this client's"
    )]
    CibaInvalidGrant(ProviderError),
    #[error(
        "no answer to the backchannel authentication request within its expires_in ({expires_in} s); treat it as not approved"
    )]
    CibaTimeout { expires_in: i64 },

    // --- the NNIN consent flow (seed 001) -------------------------------------------------
    #[error("the merchant's NNIN consent store failed: {0}")]
    ConsentStore(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "the consent login's {claim} differs from the first login's; the consent is not about the same user, store nothing"
    )]
    NninConsentUserMismatch { claim: &'static str },

    // --- userinfo -------------------------------------------------------------------------
    #[error(
        "userinfo is about subject '{found}', but the ID token's subject is '{expected}' (OpenID Connect Core 5.3.2); do not use it"
    )]
    UserinfoSubjectMismatch { expected: String, found: String },
    #[error(
        "signed userinfo has no {0}; OpenID Connect Core 5.3.2 requires iss and aud naming the provider and this client"
    )]
    MissingUserinfoClaim(&'static str),
    #[error("userinfo answered with content type '{0}', neither JSON nor a JWT")]
    UnsupportedContentType(String),
}

impl Error {
    /// The provider's OAuth error code, for errors that carry one (authorization and endpoint
    /// errors).
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Error::Authorization(error)
            | Error::Endpoint { error, .. }
            | Error::GrantRefused(error)
            | Error::CibaInvalidRequest(error)
            | Error::CibaInvalidScope(error)
            | Error::CibaExpiredLoginHintToken(error)
            | Error::CibaUnknownUserId(error)
            | Error::CibaUnauthorizedClient(error)
            | Error::CibaInvalidBindingMessage(error)
            | Error::CibaInvalidClient(error)
            | Error::CibaAccessDenied(error)
            | Error::CibaExpiredToken(error)
            | Error::CibaInvalidGrant(error) => Some(error),
            _ => None,
        }
    }

    pub(crate) fn network(url: &str, source: reqwest::Error) -> Self {
        Error::Network {
            url: url.to_owned(),
            timed_out: source.is_timeout(),
            source: Box::new(source),
        }
    }
}
