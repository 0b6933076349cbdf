//! `grant_type=client_credentials` (RFC 6749 section 4.4): access tokens for machine clients,
//! for the eSign APIs (seed 003) and the permissions APIs (seed 004).

use super::GrantResult;
use crate::Provider;
use crate::issuer::Issuer;
use crate::store::Client;
use crate::tokens::for_client;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::{MACHINE_SCOPES, ScopeSet};

/// The scopes of a client credentials request: those asked for, each a machine scope the client
/// is registered for; without `scope`, all of the client's machine scopes.
fn scopes(client: &Client, asked: Option<&str>) -> Result<ScopeSet, OAuthError> {
    let registered: ScopeSet = client
        .scopes
        .iter()
        .filter(|s| MACHINE_SCOPES.contains(s))
        .collect();
    let Some(text) = asked else {
        if registered.iter().next().is_none() {
            return Err(OAuthError::invalid_scope(format!(
                "scope: client '{}' is registered for no machine scope (esign/*, permissions/*)",
                client.client_id
            )));
        }
        return Ok(registered);
    };
    let asked = ScopeSet::parse(text).map_err(OAuthError::invalid_scope)?;
    for scope in asked.iter() {
        if !MACHINE_SCOPES.contains(&scope) {
            let shown: String = scope.chars().take(60).collect();
            return Err(OAuthError::invalid_scope(format!(
                "scope: '{shown}' is not available with client_credentials"
            )));
        }
        if !registered.contains(scope) {
            return Err(OAuthError::invalid_scope(format!(
                "scope: '{scope}' is not allowed for client '{}'",
                client.client_id
            )));
        }
    }
    Ok(asked)
}

pub async fn exchange(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &Params,
) -> GrantResult {
    let scope = scopes(client, params.get("scope"))?;
    // A machine token is a self-contained JWT and is not recorded: issuing one is CPU only, no
    // durable write per token. Revocation remembers the revoked ones (see `bearer`).
    let token = for_client(p, issuer, &client.client_id, &scope, p.now());
    Ok(TokenResponse {
        access_token: token.token,
        token_type: "Bearer".into(),
        expires_in: Some(p.config.access_token_ttl as u64),
        id_token: None,
        refresh_token: None,
        scope: Some(scope.to_string()),
    })
}
