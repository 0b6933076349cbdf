//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post` and `private_key_jwt`.
//!
//! A client registered with a secret may present it either way (as BankID's Keycloak accepts
//! both); a `private_key_jwt` client has no secret and must sign an assertion. One method per
//! request: presenting two is refused.

use crate::Provider;
use crate::client_assertion::{self, ASSERTION_TYPE};
use crate::http::api_error::ApiError;
use crate::issuer::{Endpoint, Issuer};
use crate::secret::{verify_nothing, verify_secret};
use crate::store::Client;
use axum::http::{HeaderMap, header};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::params::Params;
use base64::Engine;
use std::sync::Arc;

/// Credentials as presented, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Secret {
        client_id: String,
        secret: String,
        basic: bool,
    },
    Assertion {
        client_id: String,
        assertion: String,
    },
}

/// The client id and secret of a `Basic` Authorization header, if there is one. Public (and
/// pure) for the fuzz target of the header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        OAuthError::invalid_client(
            "Authorization: not a valid Basic credential (RFC 6749 section 2.3.1)",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Err(bad());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // Both halves are form-urlencoded before base64 (RFC 6749 section 2.3.1).
    let unescape = |s: &str| -> Result<String, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| bad())?;
        Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// The one client authentication method a request presents, read without the store: the part
/// of the token endpoint's request reading that the fuzz target runs without a socket.
pub fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let methods = usize::from(basic.is_some())
        + usize::from(post.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "client authentication: use one of client_secret_basic, client_secret_post and private_key_jwt, not several",
        ));
    }
    if let Some((client_id, secret)) = basic {
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id: differs from the client in the Authorization header",
            ));
        }
        return Ok(Presented::Secret {
            client_id,
            secret,
            basic: true,
        });
    }
    if let Some(secret) = post {
        let client_id = params.require("client_id")?.to_owned();
        return Ok(Presented::Secret {
            client_id,
            secret: secret.to_owned(),
            basic: false,
        });
    }
    if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type: must be {ASSERTION_TYPE}"
            )));
        }
        let claimed = client_assertion::claimed_client(assertion).ok_or_else(|| {
            OAuthError::invalid_client("client_assertion: not a JWT with iss and sub")
        })?;
        if params.get("client_id").is_some_and(|id| id != claimed) {
            return Err(OAuthError::invalid_client(
                "client_id: differs from the sub of the client_assertion",
            ));
        }
        return Ok(Presented::Assertion {
            client_id: claimed,
            assertion: assertion.to_owned(),
        });
    }
    Err(OAuthError::invalid_client(
        "client authentication: required (client_secret_basic, client_secret_post or private_key_jwt)",
    ))
}

/// Authenticates the client of a request to `endpoint` of `issuer` (its URL is an accepted
/// assertion audience).
pub async fn authenticate(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    params: &Params,
    endpoint: Endpoint,
) -> Result<Arc<Client>, ApiError> {
    let challenge = format!("Basic realm=\"{}\"", issuer.issuer);
    let with_challenge = |error: ApiError, basic: bool| {
        if basic {
            error.with_challenge(challenge.clone())
        } else {
            error
        }
    };
    let presented = presented(headers, params).map_err(|e| {
        with_challenge(
            ApiError::token(e),
            headers.contains_key(header::AUTHORIZATION),
        )
    })?;
    let failed = || ApiError::token(OAuthError::invalid_client("client authentication failed"));
    match presented {
        Presented::Secret {
            client_id,
            secret,
            basic,
        } => {
            let client = p
                .client(&client_id)
                .await
                .map_err(|e| ApiError::store(p, e))?;
            let verified = match &client {
                Some(c) if !c.uses_private_key_jwt() => verify_secret(&c.secret_hash, &secret),
                _ => {
                    verify_nothing(&secret);
                    false
                }
            };
            // One message for unknown clients and wrong secrets: it must not tell which it was.
            match client {
                Some(client) if verified => Ok(client),
                _ => Err(with_challenge(failed(), basic)),
            }
        }
        Presented::Assertion {
            client_id,
            assertion,
        } => {
            let Some(client) = p
                .client(&client_id)
                .await
                .map_err(|e| ApiError::store(p, e))?
            else {
                return Err(failed());
            };
            if !client.uses_private_key_jwt() {
                return Err(ApiError::token(OAuthError::invalid_client(format!(
                    "client_assertion: client '{client_id}' is not registered for private_key_jwt"
                ))));
            }
            let verified = verify_assertion(p, issuer, &client, &assertion, endpoint).await?;
            let fresh = p
                .store
                .record_client_jwt_jti(&client.client_id, &verified.jti, verified.exp, p.now())
                .await
                .map_err(|e| ApiError::store(p, e))?;
            if !fresh {
                return Err(ApiError::token(
                    client_assertion::AssertionError::Replayed.oauth(),
                ));
            }
            Ok(client)
        }
    }
}

async fn verify_assertion(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    assertion: &str,
    endpoint: Endpoint,
) -> Result<client_assertion::VerifiedAssertion, ApiError> {
    let no_keys = |d: String| ApiError::token(OAuthError::invalid_client(d));
    let refused = |e: client_assertion::AssertionError| ApiError::token(e.oauth());
    let audiences = [
        issuer.issuer.clone(),
        issuer.url(Endpoint::Token),
        issuer.url(endpoint),
    ];
    let max = p.config.client_assertion_max_lifetime;
    let keys = p
        .client_keys
        .keys(client, false, p.now())
        .await
        .map_err(no_keys)?;
    match client_assertion::verify(
        assertion,
        &keys,
        &client.client_id,
        &audiences,
        p.now(),
        max,
    ) {
        // An unknown kid may be a key the client just added to its jwks_uri: look once more.
        Err(e) if e.may_be_a_new_key() && client.jwks_uri.is_some() => {
            let keys = p
                .client_keys
                .keys(client, true, p.now())
                .await
                .map_err(no_keys)?;
            client_assertion::verify(
                assertion,
                &keys,
                &client.client_id,
                &audiences,
                p.now(),
                max,
            )
            .map_err(refused)
        }
        other => other.map_err(refused),
    }
}
