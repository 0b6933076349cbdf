//! Issuing an authorization code at the end of a login (or of an SSO reuse).

use crate::Provider;
use crate::secret::{random_id, random_token};
use crate::store::{AuthorizationCode, StoreResult};
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::token_hash::sha256_b64;

/// Who logged in, how and when.
pub struct Authentication<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub method: Method,
    pub auth_time: i64,
}

/// Stores a new grant and its code; returns the code (the store keeps only its hash).
pub async fn issue_code(
    p: &Provider,
    req: &ValidatedAuthorizeRequest,
    auth: &Authentication<'_>,
) -> StoreResult<String> {
    let now = p.now();
    let code = random_token();
    let record = AuthorizationCode {
        code_hash: sha256_b64(&code),
        grant_id: random_id(),
        client_id: req.client_id.clone(),
        redirect_uri: req.target.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        scope: req.scope.to_string(),
        user_id: auth.user_id.to_owned(),
        session_id: auth.session_id.to_owned(),
        method: auth.method,
        auth_time: auth.auth_time,
        api_version: req.api_version,
        issued_at: now,
        expires_at: now + p.config.code_ttl,
        consumed_at: None,
    };
    p.store.issue_code(&record, now).await?;
    Ok(code)
}
