//! Step 3: the `request` parameter (RFC 9101): a signed request object, possibly encrypted to the
//! provider, or (BankID's legacy encrypted login_hint) encrypted plain claims. Resolved into the
//! authorization parameters that the core's rules then validate, with the channel they came by:
//! only an encrypted object (or a pushed request) may carry an NNIN in `login_hint`.

use crate::Provider;
use crate::issuer::Issuer;
use crate::store::Client;
use bankid_oidc_core::authorize::{AuthorizeParams, Channel};
use bankid_oidc_core::request_object::{
    RequestObjectContent, RequestObjectRules, decrypt_request_object, is_encrypted,
    verify_request_object,
};
use bankid_oidc_core::{ErrorCode, OAuthError};
use serde_json::{Map, Value};

/// Authorization parameters after any request object was unpacked.
pub struct Resolved {
    pub params: AuthorizeParams,
    pub channel: Channel,
}

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

fn value_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Unpacks `request` if present. `pushed` says the parameters came in a pushed request (client
/// authenticated), which is a confidential channel of its own.
pub async fn resolve(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    outer: &AuthorizeParams,
    pushed: bool,
) -> Result<Resolved, OAuthError> {
    let plain_channel = if pushed {
        Channel::Pushed
    } else {
        Channel::Query
    };
    let Some(request) = outer.get("request") else {
        return Ok(Resolved {
            params: outer.clone(),
            channel: plain_channel,
        });
    };
    if !pushed && outer.get("response_type").is_none() {
        return Err(OAuthError::invalid_request(
            "response_type: must also be sent as a query parameter when a request object is used (API version 4)",
        ));
    }
    let encrypted = is_encrypted(request);
    let signed = if encrypted {
        match decrypt_request_object(request, &p.encryption.keys)
            .map_err(|e| e.oauth())?
            .content
        {
            RequestObjectContent::Signed(jws) => jws,
            RequestObjectContent::Claims(claims) => return legacy_claims(outer, claims, pushed),
        }
    } else {
        request.to_owned()
    };
    let keys = p
        .client_keys
        .keys(client, false, p.now())
        .await
        .map_err(invalid)?;
    let rules = RequestObjectRules::new(&client.client_id, &issuer.issuer, p.now());
    let verified = verify_request_object(&signed, &keys, &rules).map_err(|e| e.oauth())?;
    let fresh = p
        .store
        .record_client_jwt_jti(&client.client_id, &verified.jti, verified.exp, p.now())
        .await
        .map_err(|e| {
            p.store_failed(&e);
            OAuthError::server_error("the provider could not write its store")
        })?;
    if !fresh {
        return Err(invalid(
            "request: jti was already used (by a request object or a client assertion); a request object is single-use",
        ));
    }
    // Only the object's parameters count (RFC 9101 section 6.3), with the client_id and
    // response_type of the outer request.
    let mut pairs = verified.authorization_parameters();
    for name in ["client_id", "response_type"] {
        match (pairs.iter().find(|(k, _)| k == name), outer.get(name)) {
            (Some((_, inner)), Some(outer)) if inner != outer => {
                return Err(invalid(format!(
                    "request: {name} differs from the one outside the request object"
                )));
            }
            (None, Some(outer)) => pairs.push((name.to_owned(), outer.to_owned())),
            _ => {}
        }
    }
    let channel = if pushed {
        Channel::Pushed
    } else if encrypted {
        Channel::EncryptedRequestObject
    } else {
        Channel::Query
    };
    Ok(Resolved {
        params: AuthorizeParams::from_pairs(pairs)?,
        channel,
    })
}

/// BankID's legacy encrypted login_hint: JSON claims encrypted to the provider but not signed.
/// They are confidential, so they may carry an NNIN; they prove nothing about the client, so they
/// may carry only `login_hint`, and the other parameters come from the request itself.
fn legacy_claims(
    outer: &AuthorizeParams,
    claims: Map<String, Value>,
    pushed: bool,
) -> Result<Resolved, OAuthError> {
    if let Some(other) = claims.keys().find(|k| *k != "login_hint") {
        return Err(invalid(format!(
            "request: an encrypted request object that is not signed may carry only login_hint, not '{other}'"
        )));
    }
    let mut pairs: Vec<(String, String)> = outer
        .iter()
        .filter(|(k, _)| *k != "request" && *k != "login_hint")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.extend(claims.into_iter().map(|(k, v)| (k, value_text(v))));
    let channel = if pushed {
        Channel::Pushed
    } else {
        Channel::EncryptedRequestObject
    };
    Ok(Resolved {
        params: AuthorizeParams::from_pairs(pairs)?,
        channel,
    })
}
