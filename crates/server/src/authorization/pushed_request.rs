//! Step 2: a `request_uri` from this provider's PAR endpoint takes (consumes) the request this
//! client pushed to this issuer; it was validated when it was pushed.

use crate::Provider;
use crate::issuer::Issuer;
use crate::store::StoreKey;
use crate::store::Taken;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::{ErrorCode, OAuthError};

/// The URN prefix of the request_uris this provider hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

pub async fn take(
    p: &Provider,
    issuer: &Issuer,
    client_id: &str,
    request_uri: &str,
) -> Result<ValidatedAuthorizeRequest, OAuthError> {
    let invalid =
        |d: &str| OAuthError::new(ErrorCode::InvalidRequestUri, format!("request_uri: {d}"));
    let token = request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|_| request_uri.len() <= 200)
        .ok_or_else(|| {
            invalid("not a request_uri from this provider's pushed authorization request endpoint")
        })?;
    let taken = p
        .store
        .take_pushed_request(&StoreKey::of(token), client_id, p.now())
        .await
        .map_err(|e| {
            p.store_failed(&e);
            OAuthError::server_error("the provider could not read its store")
        })?;
    match taken {
        Taken::Request(json) => {
            let req: ValidatedAuthorizeRequest = serde_json::from_str(&json)
                .map_err(|_| OAuthError::server_error("a stored pushed request is unreadable"))?;
            if !issuer.made(&req.issuer) {
                return Err(invalid("was pushed to another issuer"));
            }
            Ok(req)
        }
        Taken::Used => Err(invalid("already used; a request_uri is single-use")),
        Taken::Expired => Err(invalid("expired; push the request again")),
        Taken::OtherClient => Err(invalid("was pushed by another client")),
        Taken::Unknown => Err(invalid("unknown")),
    }
}
