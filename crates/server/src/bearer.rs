//! Access tokens presented back to the provider (userinfo, introspection, revocation): verified
//! against our keys, our issuer, the clock and the store's revocation state.

use crate::Provider;
use crate::issuer::Issuer;
use crate::keys::JwsHeader;
use crate::store::{AccessTokenRecord, StoreError};
use bankid_oidc_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use bankid_oidc_core::token_hash::sha256_b64;
use subtle::ConstantTimeEq;

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
pub fn signed_access_token(
    p: &Provider,
    issuer: &Issuer,
    token: &str,
) -> Result<AccessTokenClaims, String> {
    let (header, payload) = p
        .keys
        .verify(token)
        .map_err(|e| format!("access token: {e}"))?;
    claims_of(issuer, &header, &payload)
}

fn claims_of(
    issuer: &Issuer,
    header: &JwsHeader,
    payload: &[u8],
) -> Result<AccessTokenClaims, String> {
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err("access token: not an access token (typ must be at+jwt)".into());
    }
    let claims: AccessTokenClaims = serde_json::from_slice(payload)
        .map_err(|_| "access token: claims are malformed".to_owned())?;
    if claims.iss != issuer.issuer || !claims.aud.contains(&issuer.issuer) {
        return Err("access token: issued for another issuer".into());
    }
    Ok(claims)
}

/// A live access token: signed by us, not expired, neither it nor its grant revoked.
///
/// A login's access token is recorded with its SHA-256 when issued. A presented token whose
/// hash equals its record's is byte for byte the one we signed, so its signature is not
/// verified again (an ES256 verification costs as much as three signatures); every other token
/// (a machine token, a record from before hashes were kept, a forgery reusing a `jti`) is.
pub async fn live_access_token(
    p: &Provider,
    issuer: &Issuer,
    token: &str,
) -> Result<(AccessTokenClaims, AccessTokenRecord), BearerError> {
    let invalid = |e: String| BearerError::Invalid(e);
    let (header, payload) = p
        .keys
        .decode_issued(token)
        .map_err(|e| invalid(format!("access token: {e}")))?;
    let unverified = claims_of(issuer, &header, &payload).map_err(invalid)?;
    let record = match unverified.sid {
        Some(_) => p.store.live_access_token(&unverified.jti).await?,
        None => None,
    };
    let hash = sha256_b64(token);
    let recorded = record.as_ref().is_some_and(|r| {
        r.token_hash
            .as_deref()
            .is_some_and(|h| bool::from(h.as_bytes().ct_eq(hash.as_bytes())))
    });
    let claims = if recorded {
        unverified
    } else {
        p.learn_signing_key(token).await;
        signed_access_token(p, issuer, token).map_err(invalid)?
    };
    if claims.exp <= p.now() {
        return Err(BearerError::Invalid("access token: expired".into()));
    }
    // A login's tokens are recorded when issued, so a missing record means revoked. A machine
    // token (no session) is never recorded: it is live unless revoked, while its client exists.
    if claims.sid.is_some() {
        // The record was found by the token's own `jti`, which the hash or the signature has
        // now proven.
        return match record {
            Some(record) => Ok((claims, record)),
            None => Err(BearerError::Invalid("access token: revoked".into())),
        };
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
        token_hash: None,
        nnin_consent: false,
    };
    Ok((claims, record))
}
