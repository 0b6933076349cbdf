//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OpenID Connect Core 9): a JWT
//! signed with a key from the client's registered JWKS (inline, or fetched from its jwks_uri).
//!
//! Rules: ES256, PS256 or RS256 only (never `none` or an HMAC, whose key would be public);
//! `iss` = `sub` = client_id; `aud` names the issuer, the token endpoint or the endpoint called;
//! `exp` required, in the future and at most `max_lifetime` ahead; `iat`/`nbf` not in the future;
//! `jti` required, and single-use (the caller records it).

use crate::store::Client;
use bankid_oidc_core::client_jws;
use bankid_oidc_core::jwk::Jwks;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Allowed clock skew for `iat` and `nbf`.
const SKEW: i64 = 60;
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// How long a fetched jwks_uri document is used, and how soon an unknown kid may refetch it.
const JWKS_CACHE: Duration = Duration::from_secs(300);
const JWKS_REFETCH: Duration = Duration::from_secs(10);
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

/// Verifies an assertion against a key set: the signature with the core's verifier of
/// client-signed JWTs (the one request objects use), then the claims against our clock.
pub fn verify(
    assertion: &str,
    keys: &Jwks,
    client_id: &str,
    audiences: &[String],
    now: i64,
    max_lifetime: i64,
) -> Result<VerifiedAssertion, String> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(format!(
            "client_assertion: longer than {MAX_ASSERTION_LEN} bytes"
        ));
    }
    let verified = client_jws::verify(assertion, keys, &["JWT"])
        .map_err(|e| format!("client_assertion: {e}"))?;
    let claims: AssertionClaims =
        serde_json::from_value(serde_json::Value::Object(verified.claims)).map_err(|_| {
            "client_assertion: iss, sub, aud, exp, iat, nbf or jti has the wrong type".to_owned()
        })?;
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err("client_assertion: iss and sub must both be the client_id".into());
    }
    if !claims
        .aud
        .is_some_and(|aud| audiences.iter().any(|a| aud.contains(a)))
    {
        return Err(format!(
            "client_assertion: aud must name the issuer or this endpoint ({})",
            audiences.join(", ")
        ));
    }
    let exp = claims.exp.ok_or("client_assertion: exp is required")?;
    if exp <= now {
        return Err("client_assertion: expired".into());
    }
    if exp > now + max_lifetime {
        return Err(format!(
            "client_assertion: exp is more than {max_lifetime} seconds ahead"
        ));
    }
    if claims.iat.is_some_and(|iat| iat > now + SKEW)
        || claims.nbf.is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err("client_assertion: iat or nbf is in the future".into());
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 255)
        .ok_or("client_assertion: jti is required")?;
    Ok(VerifiedAssertion { jti, exp })
}

/// Clients' public keys: inline JWKS parsed on use, jwks_uri documents fetched and cached.
pub struct ClientKeys {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Arc<Jwks>)>>,
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
    /// The client's keys. `refresh` asks for a new copy of a jwks_uri document (an unknown kid),
    /// which is fetched only if the cached one is older than a few seconds.
    pub async fn keys(&self, client: &Client, refresh: bool) -> Result<Arc<Jwks>, String> {
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
            if at.elapsed() < max_age {
                return Ok(keys.clone());
            }
        }
        match self.fetch(uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                self.cache
                    .lock()
                    .expect("cache lock")
                    .insert(uri.clone(), (Instant::now(), keys.clone()));
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
