//! Compact JWS verification against a provider's published keys. Only asymmetric algorithms are
//! ever accepted: `none` proves nothing, and an HMAC "signed" with a provider's public key (which
//! anyone can download) is the classic algorithm-confusion forgery.

use crate::Error;
use bankid_oidc_core::b64;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use std::str::FromStr;

/// The asymmetric algorithms this library can verify.
const SUPPORTED: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// The algorithms a verifier accepts: what the provider announces, less anything unsafe or
/// unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedAlgs(Vec<Algorithm>);

impl AllowedAlgs {
    /// From a discovery list such as `id_token_signing_alg_values_supported`. `none` and HMAC
    /// algorithms are dropped even when announced; an empty result is a configuration error.
    pub fn from_announced(announced: &[String]) -> Result<Self, Error> {
        let algs: Vec<Algorithm> = announced
            .iter()
            .filter_map(|name| Algorithm::from_str(name).ok())
            .filter(|alg| SUPPORTED.contains(alg))
            .collect();
        if algs.is_empty() {
            return Err(Error::MissingMetadata(
                "asymmetric signing algorithm (ES256, RS256, PS256, ...) in id_token_signing_alg_values_supported",
            ));
        }
        Ok(AllowedAlgs(algs))
    }

    pub fn contains(&self, alg: Algorithm) -> bool {
        self.0.contains(&alg)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().copied().map(alg_name).collect()
    }
}

/// One public key, parsed once when the JWKS is read.
#[derive(Debug, Clone)]
struct VerificationKey {
    kid: Option<String>,
    /// The algorithms this key's type and curve can verify, narrowed to its `alg` if it has one.
    algs: Vec<Algorithm>,
    key: DecodingKey,
}

impl VerificationKey {
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        // Encryption keys share JWKS documents with signing keys (BankID's jwks_uri_enc aside);
        // a key meant for encryption never verifies a signature.
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        let (key, mut algs) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some("P-256")) => (
                DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?,
                vec![Algorithm::ES256],
            ),
            ("EC", Some("P-384")) => (
                DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?,
                vec![Algorithm::ES384],
            ),
            ("RSA", _) => (
                DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?,
                vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
            ),
            ("OKP", Some("Ed25519")) => (
                DecodingKey::from_ed_components(jwk.x.as_deref()?).ok()?,
                vec![Algorithm::EdDSA],
            ),
            _ => return None,
        };
        if let Some(declared) = &jwk.alg {
            algs.retain(|alg| alg_name(*alg) == *declared);
        }
        Some(VerificationKey {
            kid: jwk.kid.clone(),
            algs,
            key,
        })
    }
}

/// A provider's signing keys, parsed. Keys this library cannot use are left out, so that one odd
/// key in a JWKS does not break the others.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    pub fn from_jwks(jwks: &Jwks) -> Self {
        KeySet {
            keys: jwks
                .keys
                .iter()
                .filter_map(VerificationKey::from_jwk)
                .collect(),
        }
    }

    /// Parses a JWKS document.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let jwks: Jwks = serde_json::from_slice(body).map_err(|e| Error::MalformedResponse {
            what: "JWKS",
            detail: e.to_string(),
        })?;
        Ok(Self::from_jwks(&jwks))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct JwsHeader {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub crit: Option<Vec<String>>,
}

/// A JWS whose signature has been verified: its header and its decoded payload.
#[derive(Debug)]
pub(crate) struct VerifiedJws {
    pub header: JwsHeader,
    pub payload: Vec<u8>,
}

fn malformed(detail: &str) -> Error {
    Error::MalformedJwt(detail.to_owned())
}

/// Verifies a compact JWS: algorithm policy first (so that no key is ever used with a refused
/// algorithm), then the key by `kid`, then the signature.
pub(crate) fn verify(
    token: &str,
    allowed: &AllowedAlgs,
    keys: &KeySet,
) -> Result<VerifiedJws, Error> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "a compact JWS has exactly three dot-separated parts",
        ));
    };
    let header_bytes = b64::decode(header_b64).map_err(|_| malformed("header is not base64url"))?;
    let header: JwsHeader = serde_json::from_slice(&header_bytes)
        .map_err(|e| malformed(&format!("header is not a JOSE header: {e}")))?;

    if header.alg.eq_ignore_ascii_case("none") {
        return Err(Error::AlgNone);
    }
    if header.alg.starts_with("HS") {
        return Err(Error::AlgHmac(header.alg));
    }
    let alg = Algorithm::from_str(&header.alg)
        .ok()
        .filter(|alg| allowed.contains(*alg))
        .ok_or_else(|| Error::AlgNotAllowed {
            alg: header.alg.clone(),
            allowed: allowed.names(),
        })?;
    if let Some(crit) = header.crit.as_ref().filter(|c| !c.is_empty()) {
        return Err(Error::UnsupportedCritical(crit.clone()));
    }

    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let candidates: Vec<&VerificationKey> = match &header.kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
            .collect(),
        // Without a kid, only keys that could have made this signature are tried.
        None => keys.keys.iter().filter(|k| k.algs.contains(&alg)).collect(),
    };
    if candidates.is_empty() {
        return Err(Error::UnknownKey {
            kid: header.kid.clone(),
        });
    }
    let mut usable = candidates
        .iter()
        .filter(|k| k.algs.contains(&alg))
        .peekable();
    if usable.peek().is_none() {
        return Err(Error::KeyAlgMismatch {
            kid: header.kid.clone(),
            alg: header.alg.clone(),
        });
    }
    let mut verified = false;
    for key in usable {
        match jsonwebtoken::crypto::verify(signature_b64, signing_input.as_bytes(), &key.key, alg) {
            Ok(true) => {
                verified = true;
                break;
            }
            Ok(false) => {}
            Err(e) => {
                if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Base64(_)) {
                    return Err(malformed("signature is not base64url"));
                }
            }
        }
    }
    if !verified {
        return Err(Error::BadSignature);
    }
    let payload = b64::decode(payload_b64).map_err(|_| malformed("payload is not base64url"))?;
    Ok(VerifiedJws { header, payload })
}
