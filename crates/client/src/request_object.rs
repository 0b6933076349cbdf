//! Signed request objects (RFC 9101, JAR): the authorization parameters as claims of a JWT that
//! the client signs with a key the provider has registered, so that nobody between the merchant
//! and the provider can change them.
//!
//! The claims are the parameters themselves plus what makes the object verifiable and
//! short-lived: `iss` = `client_id` (the signer), `aud` = the provider's issuer, `iat` = `nbf` =
//! now, `exp` = now + lifetime (60 s by default; BankID accepts at most 600), and a fresh `jti`,
//! which the provider keeps to refuse a replay.

use crate::private_key_jwt::PrivateKeyJwtSigner;
use crate::{Error, random};
use serde_json::{Map, Value};
use std::time::Duration;

/// How long a request object is valid unless configured: it is used within seconds of being made.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime BankID accepts (`exp` at most 600 s after `iat`/`nbf`).
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);
/// The `typ` RFC 9101 section 10.8 recommends, so that a request object cannot pass for another
/// kind of JWT.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// Signs request objects. [`PrivateKeyJwtSigner`] implements it; implement it for a key in an HSM
/// or a cloud KMS. The key's public half must be in the JWKS registered for the client.
pub trait RequestObjectSigner: Send + Sync {
    /// A compact JWS over `claims` (ES256, PS256 or RS256), with `typ` [`REQUEST_OBJECT_TYP`] and
    /// the key's `kid` in the header.
    fn sign_request_object(&self, claims: &Map<String, Value>) -> Result<String, Error>;
}

impl RequestObjectSigner for PrivateKeyJwtSigner {
    fn sign_request_object(&self, claims: &Map<String, Value>) -> Result<String, Error> {
        self.sign_typed(REQUEST_OBJECT_TYP, claims)
    }
}

/// The claims of a request object for `params` (as prepared by
/// [`crate::AuthorizationRequest::prepare`]), made at `now` (seconds since the Unix epoch).
pub fn request_object_claims(
    params: &[(String, String)],
    client_id: &str,
    issuer: &str,
    now: i64,
    lifetime: Duration,
) -> Result<Map<String, Value>, Error> {
    if lifetime.is_zero() || lifetime > MAX_LIFETIME {
        return Err(Error::Config(format!(
            "request object lifetime {lifetime:?}: must be 1 to {} seconds",
            MAX_LIFETIME.as_secs()
        )));
    }
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let mut claims = Map::new();
    for (name, value) in params {
        claims.insert(name.clone(), Value::String(value.clone()));
    }
    // Set last, so that no parameter can stand in for them.
    claims.insert("iss".into(), client_id.into());
    claims.insert("aud".into(), issuer.into());
    claims.insert("client_id".into(), client_id.into());
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(lifetime).into());
    claims.insert("jti".into(), random::token().into());
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::request_object::{RequestObjectRules, verify_request_object};

    fn params() -> Vec<(String, String)> {
        [
            ("client_id", "merchant"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s"),
            ("iss", "attacker"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn a_signed_request_object_passes_the_providers_own_verification() {
        let signer = PrivateKeyJwtSigner::generate().unwrap();
        let now = 1_700_000_000;
        let claims = request_object_claims(
            &params(),
            "merchant",
            "https://op.example",
            now,
            DEFAULT_LIFETIME,
        )
        .unwrap();
        assert_eq!(claims["iss"], "merchant", "a parameter cannot replace iss");
        assert_eq!(claims["exp"], now + 60);
        assert_eq!(claims["nbf"], now);
        let token = signer.sign_request_object(&claims).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some(REQUEST_OBJECT_TYP));

        let rules = RequestObjectRules::new("merchant", "https://op.example", now + 5);
        let verified = verify_request_object(&token, &signer.jwks(), &rules).unwrap();
        let mut parameters = verified.authorization_parameters();
        parameters.sort();
        assert!(parameters.contains(&("scope".into(), "openid profile".into())));
        assert!(parameters.contains(&("client_id".into(), "merchant".into())));
        assert!(!parameters.iter().any(|(k, _)| k == "iss" || k == "jti"));
    }

    #[test]
    fn every_request_object_has_a_fresh_jti_and_a_bounded_lifetime() {
        let claims = |lifetime| request_object_claims(&params(), "m", "https://op", 0, lifetime);
        let (a, b) = (
            claims(DEFAULT_LIFETIME).unwrap(),
            claims(DEFAULT_LIFETIME).unwrap(),
        );
        assert_ne!(a["jti"], b["jti"]);
        assert!(claims(MAX_LIFETIME).is_ok());
        assert!(matches!(
            claims(MAX_LIFETIME + Duration::from_secs(1)),
            Err(Error::Config(_))
        ));
        assert!(matches!(claims(Duration::ZERO), Err(Error::Config(_))));
    }
}
