//! Step 7, and logout's hint: `id_token_hint`, an ID token this provider issued, presented back
//! at authorize (to name a user and a session, seed 001) or at logout. Signature and issuer are checked; it may be expired.

use crate::Provider;
use crate::issuer::Issuer;
use crate::store::{Session, User};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::claims::{ACCESS_TOKEN_TYP, Audience, ID_TOKEN_TYP, IdTokenClaims};

fn bad(rule: &str) -> OAuthError {
    OAuthError::invalid_request(format!("id_token_hint: {rule}"))
}

/// The claims of an ID token signed by this provider, and the client it was issued to.
pub fn verify(
    p: &Provider,
    issuer: &Issuer,
    token: &str,
) -> Result<(IdTokenClaims, String), OAuthError> {
    let (header, payload) = p.keys.verify(token).map_err(|e| bad(&e.to_string()))?;
    if header.typ.as_deref() == Some(ACCESS_TOKEN_TYP) {
        return Err(bad("an access token is not an ID token"));
    }
    let claims: IdTokenClaims =
        serde_json::from_slice(&payload).map_err(|_| bad("claims are malformed"))?;
    if claims.iss != issuer.issuer || claims.typ.as_deref() != Some(ID_TOKEN_TYP) {
        return Err(bad("not an ID token of this issuer"));
    }
    let client_id = match (&claims.azp, &claims.aud) {
        (Some(azp), _) => azp.clone(),
        (None, Audience::One(aud)) => aud.clone(),
        (None, _) => return Err(bad("names several audiences and no azp")),
    };
    Ok((claims, client_id))
}

/// A login named by an id_token_hint at authorize.
pub struct HintedLogin {
    pub user: User,
    pub method: Method,
    pub sid: String,
}

impl HintedLogin {
    /// Whether `session` (the browser's, found by its cookie, so live) is the one the hint's
    /// `sid` names, logged in as the hint's user.
    pub fn names_live_session(&self, session: &Session) -> bool {
        session.id == self.sid && session.user_id.as_deref() == Some(self.user.id.as_str())
    }
}

/// Resolves the hint of an authorization request of `client_id`: the token must have been issued
/// to that client and its user must still exist.
pub async fn resolve(
    p: &Provider,
    issuer: &Issuer,
    client_id: &str,
    token: &str,
) -> Result<HintedLogin, OAuthError> {
    p.learn_signing_key(token).await;
    let (claims, issued_to) = verify(p, issuer, token)?;
    if issued_to != client_id {
        return Err(bad("was issued to another client"));
    }
    let user = p
        .store
        .user(&claims.sub)
        .await
        .map_err(|e| {
            p.store_failed(&e);
            OAuthError::server_error("the provider could not read its store")
        })?
        .ok_or_else(|| bad("its user no longer exists"))?;
    let method = claims
        .acr
        .as_deref()
        .and_then(|acr| {
            Method::ALL
                .into_iter()
                .find(|m| acr.starts_with(m.acr_value()))
        })
        .ok_or_else(|| bad("has no acr of a BankID method"))?;
    let sid = claims.sid.ok_or_else(|| bad("has no sid"))?;
    Ok(HintedLogin { user, method, sid })
}
