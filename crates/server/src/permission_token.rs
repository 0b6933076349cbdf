//! Permission tokens: what `POST {permissions_endpoint}` hands the merchant to name a
//! registered permission in a login (`login_hint_token`), an iframe or a CIBA request. A
//! compact JWS signed with the provider's signing keys; it names the permission and its
//! client, and the store decides whether it may still be used (once, before the permission's
//! `exp`: `PermissionStore::use_permission`).

use crate::Provider;
use crate::store::Permission;
use serde::{Deserialize, Serialize};

/// The `typ` of a permission token's header: no other token of ours is accepted as one.
pub const TYP: &str = "permission+jwt";

/// Seed 004's example permission token lives an hour; the permission's own `exp` (minutes) is
/// what ends it.
pub const LIFETIME: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionTokenClaims {
    /// The BIS issuer.
    pub iss: String,
    /// The permission's id.
    pub p: String,
    /// The client that registered it.
    pub cid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The permission token of a permission just registered.
pub fn issue(p: &Provider, permission: &Permission) -> String {
    let claims = PermissionTokenClaims {
        iss: p.issuers.bis().issuer.clone(),
        p: permission.id.clone(),
        cid: permission.client_id.clone(),
        iat: permission.created_at,
        nbf: permission.created_at,
        exp: permission.created_at + LIFETIME,
    };
    p.keys.sign(TYP, &claims)
}

/// A permission token's claims if it is one of ours and within its lifetime. Whether the
/// permission may be used (its client, once, its `exp`) is the store's to say.
pub fn verify(p: &Provider, token: &str) -> Result<PermissionTokenClaims, String> {
    let (header, payload) = p
        .keys
        .verify(token)
        .map_err(|e| format!("login_hint_token: not a permission token of this provider ({e})"))?;
    if header.typ.as_deref() != Some(TYP) {
        return Err("login_hint_token: not a permission token (typ must be permission+jwt)".into());
    }
    let claims: PermissionTokenClaims = serde_json::from_slice(&payload)
        .map_err(|_| "login_hint_token: its claims are malformed".to_owned())?;
    if claims.iss != p.issuers.bis().issuer {
        return Err("login_hint_token: issued by another issuer".into());
    }
    let now = p.now();
    if claims.exp <= now || claims.nbf > now + 60 {
        return Err("login_hint_token: expired or not yet valid".into());
    }
    Ok(claims)
}
