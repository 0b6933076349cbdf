//! `grant_type=refresh_token` (RFC 6749 section 6) with rotation and reuse detection
//! (RFC 9700 section 4.14.2).
//!
//! The rule, exactly:
//!
//! - A refresh token is exchanged once. The exchange returns a new access token, a new ID token
//!   and the token's successor; the successor keeps the family's scope, session, `acr`, `amr` and
//!   absolute expiry. A `scope` parameter may narrow the new access token, never widen it.
//! - The successor is derived from the token (HMAC-SHA-256 under a provider secret), so two
//!   exchanges of the same token within `refresh_grace` seconds (10 by default) of its first use,
//!   while the successor is still unused, both succeed and return the same successor: a client
//!   that retried a request whose answer it lost keeps working.
//! - Any other second use (after the grace window, or after the successor was used) is reuse:
//!   the whole family (every refresh token descending from the same login, and every access token
//!   issued under it) is revoked, and the request fails with `invalid_grant`.

use super::{GrantError, GrantResult, access_record, invalid_grant};
use crate::Provider;
use crate::issuer::Issuer;
use crate::store::{AuthorizationCode, Client, RefreshOutcome, RefreshToken, StoreKey};
use crate::tokens::{LoginContext, for_login};
use aws_lc_rs::hmac;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::b64;
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::ScopeSet;

/// The name of the provider secret that derives successors.
pub const SECRET_NAME: &str = "refresh_token_successor_key";

/// The first refresh token of a login, issued with its code: its value and its record.
pub fn first(
    p: &Provider,
    code: &AuthorizationCode,
    scope: &ScopeSet,
    now: i64,
) -> (String, RefreshToken) {
    let value = crate::secret::random_token();
    let ttl = if scope.contains("offline_access") {
        p.config.offline_refresh_ttl
    } else {
        p.config.session_ttl
    };
    let record = RefreshToken {
        token_hash: StoreKey::of(&value),
        grant_id: code.grant_id.clone(),
        parent_hash: None,
        client_id: code.client_id.clone(),
        user_id: code.user_id.clone(),
        scope: scope.to_string(),
        session_id: code.session_id.clone(),
        method: code.method,
        auth_time: code.auth_time,
        api_version: code.api_version,
        issued_at: now,
        expires_at: now + ttl,
        used_at: None,
    };
    (value, record)
}

/// The successor of a refresh token: the same for every exchange of the same token.
fn successor_value(p: &Provider, token: &str) -> String {
    b64::encode(hmac::sign(&p.derive_key, token.as_bytes()).as_ref())
}

pub async fn exchange(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &Params,
) -> GrantResult {
    let token = params.require("refresh_token")?;
    let now = p.now();
    let token_hash = StoreKey::of(token);
    let Some(state) = p.store.refresh_token(&token_hash).await? else {
        return Err(invalid_grant("refresh_token: unknown refresh token"));
    };
    // A refresh token is exchanged only at the issuer whose login it continues.
    if !issuer.made(&state.issuer) {
        return Err(invalid_grant("refresh_token: was issued by another issuer"));
    }
    let family = state.token;
    let terms = state.terms;
    if family.client_id != client.client_id {
        return Err(invalid_grant("refresh_token: was issued to another client"));
    }
    if state.grant_revoked {
        return Err(invalid_grant("refresh_token: revoked"));
    }
    if family.expires_at <= now {
        return Err(invalid_grant("refresh_token: expired"));
    }
    let granted = ScopeSet::try_from(family.scope.clone()).unwrap_or_default();
    let scope = match params.get("scope") {
        None => granted.clone(),
        Some(text) => {
            let asked = ScopeSet::parse(text).map_err(OAuthError::invalid_scope)?;
            if let Some(extra) = asked.missing_from(&granted).next() {
                return Err(GrantError::OAuth(OAuthError::invalid_scope(format!(
                    "scope: '{extra}' was not granted to this refresh token; a refresh can only narrow the scope"
                ))));
            }
            asked
        }
    };
    let Some(user) = p.store.user(&family.user_id).await? else {
        return Err(invalid_grant("refresh_token: the user no longer exists"));
    };
    let login = LoginContext {
        client_id: &family.client_id,
        scope: &scope,
        session_id: &family.session_id,
        method: family.method,
        api_version: family.api_version,
        nonce: None,
        authorization_details: terms.authorization_details.as_deref(),
    };
    let tokens = for_login(p, issuer, &login, &user, now);
    let successor = successor_value(p, token);
    let successor_record = RefreshToken {
        token_hash: StoreKey::of(&successor),
        parent_hash: Some(token_hash.clone()),
        issued_at: now,
        used_at: None,
        ..family.clone()
    };
    let access = access_record(&tokens, &family.grant_id, &client.client_id);
    let outcome = p
        .store
        .exchange_refresh_token(
            &token_hash,
            now,
            p.config.refresh_grace,
            &successor_record,
            &access,
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated | RefreshOutcome::WithinGrace => Ok(TokenResponse {
            access_token: tokens.access.token,
            token_type: "Bearer".into(),
            expires_in: Some(p.config.access_token_ttl as u64),
            id_token: Some(tokens.id_token),
            refresh_token: Some(successor),
            scope: Some(scope.to_string()),
        }),
        RefreshOutcome::Reused => {
            tracing::warn!(client_id = %client.client_id, "refresh token reused; its family is revoked");
            Err(invalid_grant(
                "refresh_token: already used; every token of this login is revoked",
            ))
        }
        RefreshOutcome::Invalid => Err(invalid_grant("refresh_token: expired or revoked")),
    }
}
