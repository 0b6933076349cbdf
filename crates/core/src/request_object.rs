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

use crate::b64;
use crate::error::{ErrorCode, OAuthError};
use crate::jwe::{self, DecryptionKey, JweError, JweHeader};
use crate::jwk::{Jwk, Jwks};
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use serde_json::{Map, Value};
use std::fmt;

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

/// Signature algorithms accepted for request objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Es256,
    Ps256,
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Es256, SigningAlg::Ps256, SigningAlg::Rs256];

    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Ps256 => "PS256",
            SigningAlg::Rs256 => "RS256",
        }
    }

    pub fn from_name(name: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.name() == name)
    }

    fn fits(self, jwk: &Jwk) -> bool {
        let kty_fits = match self {
            SigningAlg::Es256 => jwk.kty == "EC" && jwk.crv.as_deref() == Some("P-256"),
            SigningAlg::Ps256 | SigningAlg::Rs256 => jwk.kty == "RSA",
        };
        kty_fits && jwk.alg.as_deref().is_none_or(|alg| alg == self.name())
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    let segments: Vec<&str> = compact.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(E::Malformed("a signed request object has three segments"));
    };

    let header = json_object(header_b64).ok_or(E::Malformed("the header is not base64url JSON"))?;
    let alg = check_header(&header)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(E::Malformed("kid is not a string")),
    };
    let key = choose_key(client_keys, kid, alg)?;

    let signature =
        b64::decode(signature_b64).map_err(|_| E::Malformed("the signature is not base64url"))?;
    let signing_input = &compact[..header_b64.len() + 1 + payload_b64.len()];
    verify_signature(alg, key, signing_input.as_bytes(), &signature)?;

    let claims = json_object(payload_b64)
        .ok_or(E::Malformed("the payload is not a base64url JSON object"))?;
    let (exp, jti) = check_claims(&claims, rules)?;
    Ok(VerifiedRequestObject {
        alg,
        kid: key.kid.clone(),
        jti,
        exp,
        claims,
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

fn json_object(segment: &str) -> Option<Map<String, Value>> {
    serde_json::from_slice(&b64::decode(segment).ok()?).ok()
}

/// Step 1 and 2: `crit`, `typ`, and `alg` from the allow-list.
fn check_header(header: &Map<String, Value>) -> Result<SigningAlg, RequestObjectError> {
    use RequestObjectError as E;
    if header.contains_key("crit") {
        return Err(E::CriticalHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if ACCEPTED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(typ)) => {}
        Some(other) => return Err(E::WrongType(other.as_str().unwrap_or_default().to_owned())),
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => return Err(E::Malformed("alg is required")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(E::Unsigned);
    }
    if alg.starts_with("HS") {
        return Err(E::SymmetricAlg(alg.to_owned()));
    }
    SigningAlg::from_name(alg).ok_or_else(|| E::UnsupportedAlg(alg.to_owned()))
}

/// Step 3: the key named by `kid`, or the only signing key; it must fit `alg`.
fn choose_key<'k>(
    jwks: &'k Jwks,
    kid: Option<&str>,
    alg: SigningAlg,
) -> Result<&'k Jwk, RequestObjectError> {
    use RequestObjectError as E;
    let mut signing = jwks
        .keys
        .iter()
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"));
    let key = match kid {
        Some(kid) => {
            let named: Vec<&Jwk> = signing.filter(|k| k.kid.as_deref() == Some(kid)).collect();
            if named.is_empty() {
                return Err(E::UnknownKid(kid.to_owned()));
            }
            named.into_iter().find(|k| alg.fits(k))
        }
        None => match (signing.next(), signing.next()) {
            (Some(only), None) => Some(only).filter(|k| alg.fits(k)),
            _ => return Err(E::KidRequired),
        },
    };
    key.ok_or(E::AlgDoesNotFitKey(alg))
}

/// Step 4.
fn verify_signature(
    alg: SigningAlg,
    jwk: &Jwk,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), RequestObjectError> {
    let member = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| b64::decode(s).ok())
            .ok_or(RequestObjectError::UnusableKey)
    };
    let verified = match alg {
        SigningAlg::Es256 => {
            let (x, y) = (member(&jwk.x)?, member(&jwk.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(RequestObjectError::UnusableKey);
            }
            let point = [&[0x04][..], &x, &y].concat();
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signing_input, signature)
        }
        SigningAlg::Ps256 | SigningAlg::Rs256 => {
            let parameters = if alg == SigningAlg::Ps256 {
                &signature::RSA_PSS_2048_8192_SHA256
            } else {
                &signature::RSA_PKCS1_2048_8192_SHA256
            };
            let key = PublicKeyComponents {
                n: member(&jwk.n)?,
                e: member(&jwk.e)?,
            };
            key.verify(parameters, signing_input, signature)
        }
    };
    verified.map_err(|_| RequestObjectError::BadSignature)
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
