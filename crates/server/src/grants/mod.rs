//! Grants: issuing an authorization code at the end of a login, and the token endpoint's grant
//! types, one per module. Each takes an authenticated client and the request's parameters and
//! returns the token response or an OAuth error; none knows HTTP.

pub mod authorization_code;
pub mod ciba;
pub mod client_credentials;
pub mod refresh_token;

use crate::Provider;
use crate::secret::{new_id, ordered_token};
use crate::store::{
    AccessTokenRecord, AuthorizationCode, GrantTerms, StoreError, StoreKey, StoreResult,
};
use crate::tokens::LoginTokens;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::claims::TokenResponse;

/// Who logged in, how and when.
pub struct Authentication<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub method: Method,
    pub auth_time: i64,
    /// The user consented to share the NNIN in this login.
    pub nnin_consent: bool,
}

/// Why a grant failed: the client's fault (an OAuth error) or ours (the store).
#[derive(Debug)]
pub enum GrantError {
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<StoreError> for GrantError {
    fn from(e: StoreError) -> Self {
        GrantError::Store(e)
    }
}

impl From<OAuthError> for GrantError {
    fn from(e: OAuthError) -> Self {
        GrantError::OAuth(e)
    }
}

pub type GrantResult = Result<TokenResponse, GrantError>;

/// Stores a new grant and its code; returns the code (the store keeps only its hash).
pub async fn issue_code(
    p: &Provider,
    req: &ValidatedAuthorizeRequest,
    auth: &Authentication<'_>,
) -> StoreResult<String> {
    let (code, record) = new_code(p, req, auth);
    p.store.issue_code(&record, record.issued_at).await?;
    Ok(code)
}

/// A new code for a login and the record of it (with a new grant) for the store to keep.
pub fn new_code(
    p: &Provider,
    req: &ValidatedAuthorizeRequest,
    auth: &Authentication<'_>,
) -> (String, AuthorizationCode) {
    let now = p.now();
    let code = ordered_token();
    let record = AuthorizationCode {
        code_hash: StoreKey::of(&code),
        issuer: req.issuer.clone(),
        grant_id: new_id(),
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
        terms: GrantTerms {
            nnin_consent: auth.nnin_consent,
            authorization_details: req
                .authorization_details
                .as_ref()
                .map(|d| serde_json::to_string(d).expect("details serialize")),
        },
    };
    (code, record)
}

/// The store's record of a login's access token issued under `grant_id`.
fn access_record(tokens: &LoginTokens, grant_id: &str, client_id: &str) -> AccessTokenRecord {
    let token = &tokens.access;
    AccessTokenRecord {
        jti: token.jti.clone(),
        grant_id: grant_id.to_owned(),
        client_id: client_id.to_owned(),
        issued_at: token.issued_at,
        expires_at: token.expires_at,
        token_hash: Some(tokens.access_hash.clone()),
        nnin_consent: false,
    }
}

fn invalid_grant(description: impl Into<String>) -> GrantError {
    GrantError::OAuth(OAuthError::invalid_grant(description))
}
