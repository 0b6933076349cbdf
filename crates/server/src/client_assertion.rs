//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OpenID Connect Core 9): a JWT
//! signed with a key from the client's registered JWKS (inline, or fetched from its jwks_uri).
//!
//! Rules: ES256, PS256 or RS256 only (never `none` or an HMAC, whose key would be public);
//! not a request object (no `typ: oauth-authz-req+jwt`, no authorization request parameters: a
//! request object passes through the browser, and a credential must not);
//! `iss` = `sub` = client_id; `aud` names the issuer, the token endpoint or the endpoint called;
//! `exp` required, in the future and at most `max_lifetime` ahead; `iat`/`nbf` not in the future;
//! `jti` required, and single-use (the caller records it, in the record request objects' jtis
//! share).

use crate::store::Client;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::client_jws::{
    self, ClientJwsError, REQUEST_OBJECT_TYPES, authorization_request_claims,
};
use bankid_oidc_core::jwk::Jwks;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Allowed clock skew for `iat` and `nbf`.
const SKEW: i64 = 60;
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// How long a fetched jwks_uri document is used, and how soon an unknown kid may refetch it.
/// Seconds (on the provider's clock) a fetched jwks_uri document is used.
const JWKS_CACHE: i64 = 300;
/// Seconds before an unknown kid may fetch the document again.
const JWKS_REFETCH: i64 = 10;
const MAX_JWKS_LEN: usize = 64 * 1024;

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<bankid_oidc_core::claims::Audience>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// A verified assertion: what the caller records to make it single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    pub exp: i64,
}

/// The client an assertion claims to come from (`sub`, else `iss`), read before verification
/// only to find the keys to verify it with.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = bankid_oidc_core::b64::decode(payload).ok()?;
    let claims: AssertionClaims = serde_json::from_slice(&bytes).ok()?;
    claims.sub.or(claims.iss)
}

/// Why a client assertion was refused: one variant per rule. Each is `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("client_assertion: longer than {MAX_ASSERTION_LEN} bytes")]
    TooLong,
    #[error("client_assertion: typ {0:?} marks a request object, not a client assertion")]
    RequestObjectType(String),
    #[error("client_assertion: {0}")]
    Jws(ClientJwsError),
    #[error("client_assertion: iss, sub, aud, exp, iat, nbf or jti has the wrong type")]
    ClaimTypes,
    #[error(
        "client_assertion: carries authorization request parameters ({}): a request object is not a client credential",
        .0.join(", ")
    )]
    AuthorizationRequestClaims(Vec<String>),
    #[error("client_assertion: iss and sub must both be the client_id")]
    NotIssuedByClient,
    #[error("client_assertion: aud must name the issuer or this endpoint ({})", .0.join(", "))]
    WrongAudience(Vec<String>),
    #[error("client_assertion: exp is required")]
    NoExpiry,
    #[error("client_assertion: expired")]
    Expired,
    #[error("client_assertion: exp is more than {0} seconds ahead")]
    TooLongLived(i64),
    #[error("client_assertion: iat or nbf is in the future")]
    NotYetValid,
    #[error("client_assertion: jti is required")]
    NoJti,
    #[error("client_assertion: jti was already used")]
    Replayed,
}

impl AssertionError {
    /// A key the client may just have added to its jwks_uri: worth fetching the keys again.
    pub fn may_be_a_new_key(&self) -> bool {
        matches!(
            self,
            AssertionError::Jws(ClientJwsError::UnknownKid(_) | ClientJwsError::KidRequired)
        )
    }

    pub fn oauth(&self) -> OAuthError {
        OAuthError::invalid_client(self.to_string())
    }
}

/// Verifies an assertion against a key set: the signature with the core's verifier of
/// client-signed JWTs (the one request objects use), then the claims against our clock.
pub fn verify(
    assertion: &str,
    keys: &Jwks,
    client_id: &str,
    audiences: &[String],
    now: i64,
    max_lifetime: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    use AssertionError as E;
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(E::TooLong);
    }
    let verified = client_jws::verify(assertion, keys, &["JWT"]).map_err(|e| match e {
        ClientJwsError::WrongType(typ)
            if REQUEST_OBJECT_TYPES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&typ)) =>
        {
            E::RequestObjectType(typ)
        }
        e => E::Jws(e),
    })?;
    // A signed request object has iss = client_id (and often sub) and the issuer as aud: what
    // tells it from an assertion is that it asks for something.
    let asks = authorization_request_claims(&verified.claims);
    if !asks.is_empty() {
        return Err(E::AuthorizationRequestClaims(asks));
    }
    let claims: AssertionClaims =
        serde_json::from_value(serde_json::Value::Object(verified.claims))
            .map_err(|_| E::ClaimTypes)?;
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(E::NotIssuedByClient);
    }
    if !claims
        .aud
        .is_some_and(|aud| audiences.iter().any(|a| aud.contains(a)))
    {
        return Err(E::WrongAudience(audiences.to_vec()));
    }
    let exp = claims.exp.ok_or(E::NoExpiry)?;
    if exp <= now {
        return Err(E::Expired);
    }
    if exp > now + max_lifetime {
        return Err(E::TooLongLived(max_lifetime));
    }
    if claims.iat.is_some_and(|iat| iat > now + SKEW)
        || claims.nbf.is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err(E::NotYetValid);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 255)
        .ok_or(E::NoJti)?;
    Ok(VerifiedAssertion { jti, exp })
}

/// Clients' public keys: inline JWKS parsed on use, jwks_uri documents fetched and cached.
pub struct ClientKeys {
    http: reqwest::Client,
    /// Each fetched document with when it was fetched (the provider's clock, seconds).
    cache: Mutex<HashMap<String, (i64, Arc<Jwks>)>>,
}

impl Default for ClientKeys {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client builds");
        ClientKeys {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl ClientKeys {
    /// The client's keys at `now`. `refresh` asks for a new copy of a jwks_uri document (an
    /// unknown kid), which is fetched only if the cached one is older than a few seconds.
    pub async fn keys(
        &self,
        client: &Client,
        refresh: bool,
        now: i64,
    ) -> Result<Arc<Jwks>, String> {
        if let Some(jwks) = &client.jwks {
            return serde_json::from_str(jwks).map(Arc::new).map_err(|_| {
                format!(
                    "client '{}': its registered JWKS does not parse",
                    client.client_id
                )
            });
        }
        let Some(uri) = &client.jwks_uri else {
            return Err(format!(
                "client '{}' has no registered keys (jwks or jwks_uri)",
                client.client_id
            ));
        };
        let cached = self.cache.lock().expect("cache lock").get(uri).cloned();
        if let Some((at, keys)) = &cached {
            let max_age = if refresh { JWKS_REFETCH } else { JWKS_CACHE };
            if now.saturating_sub(*at) < max_age {
                return Ok(keys.clone());
            }
        }
        match self.fetch(uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                self.cache
                    .lock()
                    .expect("cache lock")
                    .insert(uri.clone(), (now, keys.clone()));
                Ok(keys)
            }
            // A failed fetch keeps the keys we had.
            Err(e) => cached.map(|(_, keys)| keys).ok_or(e),
        }
    }

    async fn fetch(&self, uri: &str) -> Result<Jwks, String> {
        let fail = |what: &str| format!("jwks_uri {uri}: {what}");
        let response = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|_| fail("unreachable"))?;
        if !response.status().is_success() {
            return Err(fail(&format!("answered {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|l| l as usize > MAX_JWKS_LEN)
        {
            return Err(fail("too large"));
        }
        let body = response.bytes().await.map_err(|_| fail("unreadable"))?;
        if body.len() > MAX_JWKS_LEN {
            return Err(fail("too large"));
        }
        serde_json::from_slice(&body).map_err(|_| fail("not a JWKS document"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use bankid_oidc_core::jwk::Jwk;
    use serde_json::{Value, json};

    const CLIENT: &str = "signed-shop";
    const NOW: i64 = 1_800_000_000;

    struct Key {
        pkcs8: Vec<u8>,
        jwks: Jwks,
    }

    fn key() -> Key {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let jwk = Jwk::p256_from_uncompressed_point("k", pair.public_key().as_ref()).unwrap();
        Key {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwks: Jwks { keys: vec![jwk] },
        }
    }

    fn sign(key: &Key, claims: &Value, typ: Option<&str>) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k".into());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
        )
        .unwrap()
    }

    fn claims() -> Value {
        json!({ "iss": CLIENT, "sub": CLIENT, "aud": "https://op.example/token", "jti": "j1",
                "iat": NOW, "exp": NOW + 60 })
    }

    fn check(
        key: &Key,
        claims: &Value,
        typ: Option<&str>,
    ) -> Result<VerifiedAssertion, AssertionError> {
        let audiences = [
            "https://op.example".to_owned(),
            "https://op.example/token".to_owned(),
        ];
        verify(
            &sign(key, claims, typ),
            &key.jwks,
            CLIENT,
            &audiences,
            NOW,
            300,
        )
    }

    #[test]
    fn an_assertion_of_the_client_for_this_provider_is_accepted() {
        let k = key();
        assert_eq!(
            check(&k, &claims(), Some("JWT")),
            Ok(VerifiedAssertion {
                jti: "j1".into(),
                exp: NOW + 60
            })
        );
        assert!(check(&k, &claims(), None).is_ok());
    }

    #[test]
    fn a_request_object_is_refused_as_an_assertion_by_its_typ_or_its_parameters() {
        let k = key();
        assert_eq!(
            check(&k, &claims(), Some("oauth-authz-req+jwt")),
            Err(AssertionError::RequestObjectType(
                "oauth-authz-req+jwt".into()
            ))
        );
        let mut request = claims();
        request["aud"] = json!("https://op.example");
        request["redirect_uri"] = json!("https://shop.example/cb");
        request["response_type"] = json!("code");
        assert_eq!(
            check(&k, &request, None),
            Err(AssertionError::AuthorizationRequestClaims(vec![
                "redirect_uri".into(),
                "response_type".into()
            ]))
        );
    }

    #[test]
    fn each_claim_rule_has_its_own_error() {
        let k = key();
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            check(&k, &c, None).unwrap_err()
        };
        assert_eq!(
            with("sub", json!("other")),
            AssertionError::NotIssuedByClient
        );
        assert_eq!(
            with("iss", json!("other")),
            AssertionError::NotIssuedByClient
        );
        assert!(matches!(
            with("aud", json!("https://elsewhere.example")),
            AssertionError::WrongAudience(_)
        ));
        assert_eq!(with("exp", json!(NOW)), AssertionError::Expired);
        assert_eq!(
            with("exp", json!(NOW + 301)),
            AssertionError::TooLongLived(300)
        );
        assert_eq!(with("exp", json!("soon")), AssertionError::ClaimTypes);
        assert_eq!(with("nbf", json!(NOW + 61)), AssertionError::NotYetValid);
        assert_eq!(with("jti", json!("")), AssertionError::NoJti);
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(&k, &no_exp, None), Err(AssertionError::NoExpiry));
        let other_key = key();
        let forged = sign(&other_key, &claims(), None);
        assert_eq!(
            verify(
                &forged,
                &k.jwks,
                CLIENT,
                &["https://op.example".into()],
                NOW,
                300
            ),
            Err(AssertionError::Jws(ClientJwsError::BadSignature))
        );
    }
}
