//! Token revocation (RFC 7009), client-authenticated. An access token is revoked alone; a
//! refresh token takes its whole family (the grant) with it, access tokens included. Unknown or
//! already invalid tokens are answered with 200, as the RFC asks; another client's token is
//! refused.

use crate::bearer::signed_access_token;
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::http::client_auth::authenticate;
use crate::http::form::form_params;
use crate::issuer::{Endpoint, Issuer};
use crate::store::StoreKey;
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::OAuthError;

pub async fn revoke(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&p, &issuer, &headers, &body).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

fn not_yours() -> ApiError {
    ApiError::token(OAuthError::invalid_request(
        "token: was not issued to this client",
    ))
}

async fn handle(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let params = form_params(headers, body)?;
    let client = authenticate(p, issuer, headers, &params, Endpoint::Revocation).await?;
    let token = params.require("token").map_err(ApiError::token)?;
    let now = p.now();
    if token.split('.').count() == 3 {
        // Expired tokens are revoked too: harmless, and the answer does not depend on the clock.
        p.learn_signing_key(token).await;
        if let Ok(claims) = signed_access_token(p, issuer, token) {
            if claims.client_id != client.client_id {
                return Err(not_yours());
            }
            let revoked = if claims.sid.is_none() {
                p.store
                    .revoke_machine_token(&claims.jti, &claims.client_id, claims.exp, now)
                    .await
            } else {
                p.store.revoke_access_token(&claims.jti, now).await
            };
            revoked.map_err(|e| ApiError::store(p, e))?;
        }
        return Ok(());
    }
    if let Some(state) = p
        .store
        .refresh_token(&StoreKey::of(token))
        .await
        .map_err(|e| ApiError::store(p, e))?
        && issuer.made(&state.issuer)
    {
        if state.token.client_id != client.client_id {
            return Err(not_yours());
        }
        p.store
            .revoke_grant(&state.token.grant_id, now)
            .await
            .map_err(|e| ApiError::store(p, e))?;
    }
    Ok(())
}
