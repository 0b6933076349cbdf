//! Access tokens presented back to the provider (userinfo, introspection, revocation): verified
//! against our keys, our issuer, the clock and the store's revocation state.

use crate::Provider;
use crate::store::{AccessTokenRecord, StoreError};
use bankid_oidc_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims};

#[derive(Debug)]
pub enum BearerError {
    /// Not a live access token of this provider; the text says why.
    Invalid(String),
    Store(StoreError),
}

impl From<StoreError> for BearerError {
    fn from(e: StoreError) -> Self {
        BearerError::Store(e)
    }
}

/// The claims of a signed access token of this provider, expired or not.
pub fn signed_access_token(p: &Provider, token: &str) -> Result<AccessTokenClaims, String> {
    let (header, payload) = p
        .keys
        .verify(token)
        .map_err(|e| format!("access token: {e}"))?;
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err("access token: not an access token (typ must be at+jwt)".into());
    }
    let claims: AccessTokenClaims = serde_json::from_slice(&payload)
        .map_err(|_| "access token: claims are malformed".to_owned())?;
    if claims.iss != p.realm.issuer || !claims.aud.contains(&p.realm.issuer) {
        return Err("access token: issued for another issuer".into());
    }
    Ok(claims)
}

/// A live access token: signed by us, not expired, neither it nor its grant revoked.
pub async fn live_access_token(
    p: &Provider,
    token: &str,
) -> Result<(AccessTokenClaims, AccessTokenRecord), BearerError> {
    let claims = signed_access_token(p, token).map_err(BearerError::Invalid)?;
    if claims.exp <= p.now() {
        return Err(BearerError::Invalid("access token: expired".into()));
    }
    if let Some(record) = p.store.live_access_token(&claims.jti).await? {
        return Ok((claims, record));
    }
    // A login's tokens are recorded when issued, so a missing record means revoked. A machine
    // token (no session) is never recorded: it is live unless revoked, while its client exists.
    if claims.sid.is_some() {
        return Err(BearerError::Invalid("access token: revoked".into()));
    }
    if p.store.machine_token_revoked(&claims.jti).await? {
        return Err(BearerError::Invalid("access token: revoked".into()));
    }
    if p.client(&claims.client_id).await?.is_none() {
        return Err(BearerError::Invalid(
            "access token: its client no longer exists".into(),
        ));
    }
    let record = AccessTokenRecord {
        jti: claims.jti.clone(),
        grant_id: String::new(),
        client_id: claims.client_id.clone(),
        issued_at: claims.iat,
        expires_at: claims.exp,
        nnin_consent: false,
    };
    Ok((claims, record))
}
