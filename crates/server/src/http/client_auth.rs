//! Client authentication at the token endpoint: `client_secret_basic` and `client_secret_post`.

use crate::Provider;
use crate::http::api_error::ApiError;
use crate::secret::{verify_nothing, verify_secret};
use crate::store::Client;
use axum::http::{HeaderMap, header};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::params::Params;
use base64::Engine;

/// Credentials as presented, before they are checked.
struct Presented {
    client_id: String,
    secret: String,
    basic: bool,
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
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

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post = params.get("client_secret");
    match (basic, post) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "client authentication: use either client_secret_basic or client_secret_post, not both",
        )),
        (Some((client_id, secret)), None) => {
            if params.get("client_id").is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id: differs from the client in the Authorization header",
                ));
            }
            Ok(Presented {
                client_id,
                secret,
                basic: true,
            })
        }
        (None, Some(secret)) => Ok(Presented {
            client_id: params.require("client_id")?.to_owned(),
            secret: secret.to_owned(),
            basic: false,
        }),
        (None, None) => Err(OAuthError::invalid_client(
            "client authentication: required (client_secret_basic or client_secret_post)",
        )),
    }
}

/// Authenticates the client of a token request.
pub async fn authenticate(
    p: &Provider,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, ApiError> {
    let challenge = format!("Basic realm=\"{}\"", p.realm.issuer);
    let presented = presented(headers, params).map_err(|e| {
        let basic_attempted = headers.contains_key(header::AUTHORIZATION);
        let error = ApiError::token(e);
        if basic_attempted {
            error.with_challenge(challenge.clone())
        } else {
            error
        }
    })?;
    let client = p
        .store
        .client(&presented.client_id)
        .await
        .map_err(ApiError::server_error)?;
    let verified = match &client {
        Some(c) => verify_secret(&c.secret_hash, &presented.secret),
        None => {
            verify_nothing(&presented.secret);
            false
        }
    };
    match client {
        Some(client) if verified => Ok(client),
        _ => {
            // One message for unknown clients and wrong secrets: it must not tell which it was.
            let error = ApiError::token(OAuthError::invalid_client("client authentication failed"));
            Err(if presented.basic {
                error.with_challenge(challenge)
            } else {
                error
            })
        }
    }
}
