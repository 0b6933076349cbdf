//! `grant_type=authorization_code` (RFC 6749 section 4.1.3) with PKCE: a code is single-use, and
//! a second redemption revokes what the first one issued (section 4.1.2).

use super::{GrantResult, access_record, invalid_grant, refresh_token};
use crate::Provider;
use crate::issuer::Issuer;
use crate::store::{Client, Consumed, Issued, StoreKey};
use crate::tokens::{LoginContext, for_login};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::code_redemption::{self, IssuedCode, Redemption, RedemptionError};
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::ScopeSet;

pub async fn exchange(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &Params,
) -> GrantResult {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier").map_err(|_| {
        OAuthError::invalid_request("code_verifier: required (PKCE is mandatory in API version 4)")
    })?;
    let now = p.now();
    let code_hash = StoreKey::of(code);
    // The user comes with the code, as the store has it now (not the one-second cache's):
    // tokens carry the user's claims.
    let Some((record, user)) = p.store.code_with_user(&code_hash).await? else {
        return Err(invalid_grant("code: unknown authorization code"));
    };
    // A code is redeemed only at the issuer that made it; elsewhere it is not a code at all
    // (and presenting it there does not consume or revoke it).
    if !issuer.made(&record.issuer) {
        return Err(invalid_grant("code: was issued by another issuer"));
    }
    let issued = IssuedCode {
        client_id: &record.client_id,
        redirect_uri: &record.redirect_uri,
        code_challenge: &record.code_challenge,
        expires_at: record.expires_at,
        consumed: record.consumed_at.is_some(),
    };
    let redemption = Redemption {
        client_id: &client.client_id,
        redirect_uri,
        code_verifier: verifier,
    };
    if let Err(e) = code_redemption::check(&issued, &redemption, now) {
        if e == RedemptionError::Replayed {
            p.store.revoke_grant(&record.grant_id, now).await?;
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; its grant is revoked");
        }
        return Err(e.oauth().into());
    }
    let Some(user) = user else {
        return Err(invalid_grant("code: the user no longer exists"));
    };
    let scope = ScopeSet::try_from(record.scope.clone()).unwrap_or_default();
    let login = LoginContext {
        client_id: &record.client_id,
        scope: &scope,
        session_id: &record.session_id,
        method: record.method,
        api_version: record.api_version,
        nonce: Some(&record.nonce),
        authorization_details: record.terms.authorization_details.as_deref(),
    };
    let tokens = for_login(p, issuer, &login, &user, now);
    // A refresh token only where this issuer's token endpoint redeems it (not at BIS).
    let refresh = (client.allows_grant(GrantType::RefreshToken)
        && issuer.grant_types().contains(&GrantType::RefreshToken))
    .then(|| refresh_token::first(p, &record, &scope, now));
    let issued = Issued {
        access: access_record(&tokens, &record.grant_id, &client.client_id),
        refresh: refresh.as_ref().map(|(_, row)| row.clone()),
    };
    match p.store.redeem_code(&code_hash, now, &issued).await? {
        Consumed::Fresh => Ok(TokenResponse {
            access_token: tokens.access.token,
            token_type: "Bearer".into(),
            expires_in: Some(p.config.access_token_ttl as u64),
            id_token: Some(tokens.id_token),
            refresh_token: refresh.map(|(value, _)| value),
            scope: Some(scope.to_string()),
        }),
        // Lost a race with a concurrent redemption of the same code: that is a replay too.
        Consumed::AlreadyUsed => {
            p.store.revoke_grant(&record.grant_id, now).await?;
            Err(invalid_grant(
                "code: already used; the tokens issued for it are revoked",
            ))
        }
        Consumed::Unknown => Err(invalid_grant("code: unknown authorization code")),
    }
}
