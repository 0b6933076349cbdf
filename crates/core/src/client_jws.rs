//! JWTs a client signs with a key from its registered JWKS: request objects (RFC 9101) and
//! `private_key_jwt` client assertions (RFC 7523). One verifier for both, so that both refuse the
//! same things the same way:
//!
//! 1. three segments, a JSON header without `crit`, and a `typ` from the caller's list if any;
//! 2. `alg` from the allow-list ES256, PS256, RS256 (`none` and HMAC refused by name: an HMAC
//!    "signed" with a public key is the classic key-confusion attack);
//! 3. the key: by `kid`, or the client's only signing key, always from the client's registered
//!    JWKS (`jwk`, `jku`, `x5u` and `x5c` in the header are ignored); its type must fit `alg`;
//! 4. the signature.
//!
//! The claims are the caller's to check. Signatures are verified with aws-lc-rs directly: the
//! header must be judged before any key is chosen, and the primitives enforce 2048-bit minimum
//! RSA keys and fixed-length (r || s) ECDSA signatures.

use crate::b64;
use crate::jwk::{Jwk, Jwks};
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use serde_json::{Map, Value};
use std::fmt;

/// The `typ` values that mark a request object (RFC 9101 section 10.8): never a client assertion.
pub const REQUEST_OBJECT_TYPES: [&str; 2] =
    ["oauth-authz-req+jwt", "application/oauth-authz-req+jwt"];

/// Authorization request parameters (RFC 6749, OpenID Connect Core, RFC 7636, RFC 9396, and
/// BankID's). A JWT that carries one is a request object, which travels through the browser; it
/// must never count as the client's credential.
pub const AUTHORIZATION_REQUEST_CLAIMS: &[&str] = &[
    "response_type",
    "response_mode",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "login_hint_token",
    "id_token_hint",
    "acr_values",
    "ui_locales",
    "claims",
    "request",
    "request_uri",
    "authorization_details",
    "api_version",
];

/// The authorization request parameters among `claims`, sorted.
pub fn authorization_request_claims(claims: &Map<String, Value>) -> Vec<String> {
    let mut found: Vec<String> = claims
        .keys()
        .filter(|k| AUTHORIZATION_REQUEST_CLAIMS.contains(&k.as_str()))
        .cloned()
        .collect();
    found.sort();
    found
}

/// Signature algorithms accepted for what clients sign: never `none`, never an HMAC.
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

    pub fn fits(self, jwk: &Jwk) -> bool {
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

/// Why a client-signed JWT was refused. The texts name the rule and carry no prefix; the caller
/// says what the JWT was (`request`, `client_assertion`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientJwsError {
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("typ {0:?} is not accepted here")]
    WrongType(String),
    #[error("crit is refused: no JWS extension is understood")]
    CriticalHeader,
    #[error("alg none (unsigned) is refused; sign with ES256, PS256 or RS256")]
    Unsigned,
    #[error("alg {0} (a shared-secret MAC) is refused; sign with ES256, PS256 or RS256")]
    SymmetricAlg(String),
    #[error("alg {0:?} is not accepted; sign with ES256, PS256 or RS256")]
    UnsupportedAlg(String),
    #[error("kid {0:?} is not a signing key registered for the client")]
    UnknownKid(String),
    #[error("the header has no kid and the client has not exactly one signing key")]
    KidRequired,
    #[error("alg {0} does not fit the type or alg of the client's key")]
    AlgDoesNotFitKey(SigningAlg),
    #[error("the client's registered key is not a usable public key")]
    UnusableKey,
    #[error("the signature does not verify with the client's key")]
    BadSignature,
}

/// A JWT whose signature verified with one of the client's keys.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    pub alg: SigningAlg,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
}

/// Verifies `compact` with a key of `client_keys`; `accepted_types` are the `typ` values allowed
/// when the header states one. The caller bounds the length first.
pub fn verify(
    compact: &str,
    client_keys: &Jwks,
    accepted_types: &[&str],
) -> Result<VerifiedJws, ClientJwsError> {
    use ClientJwsError as E;
    let segments: Vec<&str> = compact.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(E::Malformed("a signed JWT has three segments"));
    };
    let header = json_object(header_b64).ok_or(E::Malformed("the header is not base64url JSON"))?;
    let alg = check_header(&header, accepted_types)?;
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
    Ok(VerifiedJws {
        alg,
        kid: key.kid.clone(),
        claims,
    })
}

pub(crate) fn json_object(segment: &str) -> Option<Map<String, Value>> {
    serde_json::from_slice(&b64::decode(segment).ok()?).ok()
}

/// `crit`, `typ`, and `alg` from the allow-list.
fn check_header(
    header: &Map<String, Value>,
    accepted_types: &[&str],
) -> Result<SigningAlg, ClientJwsError> {
    use ClientJwsError as E;
    if header.contains_key("crit") {
        return Err(E::CriticalHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if accepted_types.iter().any(|t| t.eq_ignore_ascii_case(typ)) => {}
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

/// The key named by `kid`, or the only signing key; it must fit `alg`.
fn choose_key<'k>(
    jwks: &'k Jwks,
    kid: Option<&str>,
    alg: SigningAlg,
) -> Result<&'k Jwk, ClientJwsError> {
    use ClientJwsError as E;
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

/// The signature.
fn verify_signature(
    alg: SigningAlg,
    jwk: &Jwk,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), ClientJwsError> {
    let member = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| b64::decode(s).ok())
            .ok_or(ClientJwsError::UnusableKey)
    };
    let verified = match alg {
        SigningAlg::Es256 => {
            let (x, y) = (member(&jwk.x)?, member(&jwk.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(ClientJwsError::UnusableKey);
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
    verified.map_err(|_| ClientJwsError::BadSignature)
}
