//! Request objects (RFC 9101, JAR): the signed JWT that carries authorization request parameters,
//! optionally encrypted to the provider (a nested JWT).
//!
//! [`verify_request_object`] is a pure function: the compact JWS, the client's registered JWKS
//! and the [`RequestObjectRules`] (client_id, issuer, the time now, the longest lifetime) in; the
//! verified claims or an error naming the rule out. The checks run in a fixed order, each its own
//! step, and each failure is its own [`RequestObjectError`] variant so that a client developer
//! reads which rule was broken:
//!
//! 1. size, three segments, a JSON header without `crit`, and an explicit `typ` if any;
//! 2. `alg` from the allow-list ES256, PS256, RS256 (`none` and HMAC refused by name: an HMAC
//!    "signed" with a public key is the classic key-confusion attack);
//! 3. the key: by `kid`, or the client's only signing key, always from the client's registered
//!    JWKS (`jwk`, `jku`, `x5u` and `x5c` in the header are ignored); its type must fit `alg`;
//! 4. the signature;
//! 5. the claims: `iss` = client_id, `aud` contains the issuer, `exp` present and in the future,
//!    `nbf` not in the future, the lifetime within the maximum, `jti` present, a `client_id`
//!    claim equal to the client, no nested `request`/`request_uri`.
//!
//! Signatures are verified with aws-lc-rs directly rather than through `jsonwebtoken`: the header
//! must be inspected before any key is chosen (to refuse `none`, HMAC and `crit` by name, which
//! `jsonwebtoken` reports only as a parse error), the time checks must use the caller's `now`
//! rather than the system clock, and the core crate then needs no JOSE dependency beyond the
//! crypto library it already has. The primitives used enforce 2048-bit minimum RSA keys and
//! fixed-length (r || s) ECDSA signatures.
//!
//! [`decrypt_request_object`] unwraps an encrypted request object and says what was inside: a
//! signed request object (to verify as above), or plain JSON claims (BankID's legacy encrypted
//! login_hint), which are confidential but not signed by the client, so the caller applies the
//! rule for that case.

use crate::client_jws::{self, ClientJwsError};
use crate::error::{ErrorCode, OAuthError};
use crate::jwe::{self, DecryptionKey, JweError, JweHeader};
use crate::jwk::Jwks;
use serde_json::{Map, Value};

/// Longest request object accepted, signed or encrypted.
pub const MAX_REQUEST_OBJECT_LEN: usize = jwe::MAX_COMPACT_LEN;
/// A request object is used seconds after it is made; ten minutes covers clock drift and a slow
/// browser without making a captured object useful for long.
pub const DEFAULT_MAX_LIFETIME: i64 = 600;
/// Tolerated difference between the client's clock and ours.
pub const DEFAULT_CLOCK_SKEW: i64 = 30;
/// Longest `jti`; the caller stores it to refuse replays.
pub const MAX_JTI_LEN: usize = 256;

/// The `typ` values accepted when a request object states one (RFC 9101 10.8 recommends
/// `oauth-authz-req+jwt`; many clients send `JWT`).
const ACCEPTED_TYPES: [&str; 3] = [
    "oauth-authz-req+jwt",
    "application/oauth-authz-req+jwt",
    "JWT",
];
/// JWT claims about the object itself, not authorization parameters.
const JWT_CLAIMS: [&str; 7] = ["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];

/// What the provider knows when it checks a request object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestObjectRules<'a> {
    pub client_id: &'a str,
    /// The provider's issuer identifier, the required audience.
    pub issuer: &'a str,
    /// Seconds since the Unix epoch.
    pub now: i64,
    /// Longest accepted `exp` minus `iat`, `nbf` or `now`, in seconds.
    pub max_lifetime: i64,
    pub clock_skew: i64,
}

impl<'a> RequestObjectRules<'a> {
    /// The rules with [`DEFAULT_MAX_LIFETIME`] and [`DEFAULT_CLOCK_SKEW`].
    pub fn new(client_id: &'a str, issuer: &'a str, now: i64) -> Self {
        RequestObjectRules {
            client_id,
            issuer,
            now,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            clock_skew: DEFAULT_CLOCK_SKEW,
        }
    }
}

pub use crate::client_jws::SigningAlg;

impl From<ClientJwsError> for RequestObjectError {
    fn from(e: ClientJwsError) -> Self {
        use ClientJwsError as J;
        use RequestObjectError as E;
        match e {
            J::Malformed(what) => E::Malformed(what),
            J::WrongType(typ) => E::WrongType(typ),
            J::CriticalHeader => E::CriticalHeader,
            J::Unsigned => E::Unsigned,
            J::SymmetricAlg(alg) => E::SymmetricAlg(alg),
            J::UnsupportedAlg(alg) => E::UnsupportedAlg(alg),
            J::UnknownKid(kid) => E::UnknownKid(kid),
            J::KidRequired => E::KidRequired,
            J::AlgDoesNotFitKey(alg) => E::AlgDoesNotFitKey(alg),
            J::UnusableKey => E::UnusableKey,
            J::BadSignature => E::BadSignature,
        }
    }
}

/// The rule a request object broke. Every variant is `invalid_request_object` (RFC 9101 6.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestObjectError {
    #[error("request: the request object is longer than {MAX_REQUEST_OBJECT_LEN} bytes")]
    TooLarge,
    #[error("request: malformed request object: {0}")]
    Malformed(&'static str),
    #[error("request: typ {0:?} is not a request object type (use oauth-authz-req+jwt)")]
    WrongType(String),
    #[error("request: crit is refused: no JWS extension is understood")]
    CriticalHeader,
    #[error(
        "request: alg none (an unsigned request object) is refused; sign with ES256, PS256 or RS256"
    )]
    Unsigned,
    #[error("request: alg {0} (a shared-secret MAC) is refused; sign with ES256, PS256 or RS256")]
    SymmetricAlg(String),
    #[error("request: alg {0:?} is not accepted; sign with ES256, PS256 or RS256")]
    UnsupportedAlg(String),
    #[error("request: kid {0:?} is not a signing key registered for the client")]
    UnknownKid(String),
    #[error("request: the header has no kid and the client has not exactly one signing key")]
    KidRequired,
    #[error("request: alg {0} does not fit the type or alg of the client's key")]
    AlgDoesNotFitKey(SigningAlg),
    #[error("request: the client's registered key is not a usable public key")]
    UnusableKey,
    #[error("request: the signature does not verify with the client's key")]
    BadSignature,
    #[error("request: iss must be the client_id")]
    WrongIssuer,
    #[error("request: aud must be (or contain) the issuer {0}")]
    WrongAudience(String),
    #[error("request: exp is required")]
    MissingExp,
    #[error("request: the request object has expired (exp)")]
    Expired,
    #[error("request: the request object is not valid yet (nbf)")]
    NotYetValid,
    #[error("request: exp is more than {0} seconds after iat, nbf or now")]
    LifetimeTooLong(i64),
    #[error("request: jti is required, a string of 1 to {MAX_JTI_LEN} characters")]
    MissingJti,
    #[error("request: the client_id claim differs from the client")]
    ClientIdMismatch,
    #[error("request: a request object must not contain request or request_uri")]
    NestedRequest,
    #[error("request: the encrypted request object is refused: {0}")]
    Encryption(JweError),
    #[error("request: the encrypted content is neither a signed request object nor JSON claims")]
    UnrecognizedContent,
}

impl RequestObjectError {
    pub fn oauth(&self) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequestObject, self.to_string())
    }
}

impl From<RequestObjectError> for OAuthError {
    fn from(e: RequestObjectError) -> Self {
        e.oauth()
    }
}

/// A request object that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRequestObject {
    pub alg: SigningAlg,
    /// The `kid` of the client key that verified it, if the key has one.
    pub kid: Option<String>,
    /// To be recorded until `exp` so that the object is used once.
    pub jti: String,
    pub exp: i64,
    pub claims: Map<String, Value>,
}

impl VerifiedRequestObject {
    /// The authorization request parameters it carries: every claim except the JWT claims about
    /// the object itself (`iss`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sub`). Strings are taken as
    /// they are; numbers and booleans as their JSON text; objects and arrays (`claims`,
    /// `authorization_details`) as JSON text, which is how they travel in a query; `null` is
    /// left out.
    pub fn authorization_parameters(&self) -> Vec<(String, String)> {
        self.claims
            .iter()
            .filter(|(name, _)| !JWT_CLAIMS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                let text = match value {
                    Value::Null => return None,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((name.clone(), text))
            })
            .collect()
    }
}

/// Verifies a signed request object against the client's registered keys and the rules.
pub fn verify_request_object(
    compact: &str,
    client_keys: &Jwks,
    rules: &RequestObjectRules,
) -> Result<VerifiedRequestObject, RequestObjectError> {
    use RequestObjectError as E;
    if compact.len() > MAX_REQUEST_OBJECT_LEN {
        return Err(E::TooLarge);
    }
    let verified = client_jws::verify(compact, client_keys, &ACCEPTED_TYPES)?;
    let (exp, jti) = check_claims(&verified.claims, rules)?;
    Ok(VerifiedRequestObject {
        alg: verified.alg,
        kid: verified.kid,
        jti,
        exp,
        claims: verified.claims,
    })
}

/// What an encrypted request object contained.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestObjectContent {
    /// A signed request object (a nested JWT); verify it with [`verify_request_object`].
    Signed(String),
    /// Plain JSON claims, encrypted but not signed: BankID's legacy encrypted login_hint.
    Claims(Map<String, Value>),
}

/// An encrypted request object, decrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct DecryptedRequestObject {
    pub header: JweHeader,
    /// The provider key that decrypted it.
    pub key_id: String,
    pub content: RequestObjectContent,
}

/// Whether a `request` value is a JWE (five segments) rather than a JWS (three).
pub fn is_encrypted(compact: &str) -> bool {
    compact.split('.').count() == 5
}

/// Decrypts an encrypted request object with the provider's keys and tells a nested signed
/// request object (`cty: JWT`, or a compact JWS) from plain JSON claims.
pub fn decrypt_request_object(
    compact: &str,
    keys: &[DecryptionKey],
) -> Result<DecryptedRequestObject, RequestObjectError> {
    let decrypted = jwe::decrypt(compact, keys).map_err(RequestObjectError::Encryption)?;
    let text = std::str::from_utf8(&decrypted.plaintext)
        .map_err(|_| RequestObjectError::UnrecognizedContent)?
        .trim();
    let nested_jwt = decrypted
        .header
        .cty
        .as_deref()
        .is_some_and(|cty| cty.eq_ignore_ascii_case("JWT"));
    let looks_signed = text.split('.').count() == 3
        && text
            .bytes()
            .all(|b| b == b'.' || b == b'-' || b == b'_' || b.is_ascii_alphanumeric());
    let content = if looks_signed {
        RequestObjectContent::Signed(text.to_owned())
    } else if !nested_jwt && text.starts_with('{') {
        let claims =
            serde_json::from_str(text).map_err(|_| RequestObjectError::UnrecognizedContent)?;
        RequestObjectContent::Claims(claims)
    } else {
        return Err(RequestObjectError::UnrecognizedContent);
    };
    Ok(DecryptedRequestObject {
        header: decrypted.header,
        key_id: decrypted.key_id,
        content,
    })
}

/// Step 5: the claims. Returns `exp` and `jti`.
fn check_claims(
    claims: &Map<String, Value>,
    rules: &RequestObjectRules,
) -> Result<(i64, String), RequestObjectError> {
    use RequestObjectError as E;
    if claims.get("iss").and_then(Value::as_str) != Some(rules.client_id) {
        return Err(E::WrongIssuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == rules.issuer,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(rules.issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(E::WrongAudience(rules.issuer.to_owned()));
    }

    let exp = numeric_date(claims, "exp")?.ok_or(E::MissingExp)?;
    if rules.now >= exp.saturating_add(rules.clock_skew) {
        return Err(E::Expired);
    }
    let nbf = numeric_date(claims, "nbf")?;
    if nbf.is_some_and(|nbf| nbf > rules.now.saturating_add(rules.clock_skew)) {
        return Err(E::NotYetValid);
    }
    let iat = numeric_date(claims, "iat")?;
    let too_long = [Some(rules.now), nbf, iat]
        .into_iter()
        .flatten()
        .any(|start| exp.saturating_sub(start) > rules.max_lifetime);
    if too_long {
        return Err(E::LifetimeTooLong(rules.max_lifetime));
    }

    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => jti.clone(),
        _ => return Err(E::MissingJti),
    };
    if claims
        .get("client_id")
        .is_some_and(|c| c.as_str() != Some(rules.client_id))
    {
        return Err(E::ClientIdMismatch);
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(E::NestedRequest);
    }
    Ok((exp, jti))
}

/// A NumericDate claim (RFC 7519 2) as whole seconds; fractions are dropped.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, RequestObjectError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(RequestObjectError::Malformed(
                "exp, nbf and iat must be numbers",
            )),
    }
}
