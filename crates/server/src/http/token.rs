//! The token endpoint: `authorization_code` today; each grant type is its own function.

use crate::http::api_error::ApiError;
use crate::http::authorize::is_form;
use crate::http::client_auth::authenticate;
use crate::store::{AccessTokenRecord, Client, Consumed};
use crate::{AppState, Provider, tokens};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::token_hash::sha256_b64;
use bankid_oidc_core::{ErrorCode, OAuthError, pkce};

pub async fn token(State(p): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&p, &headers, &body).await {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
                .headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn handle(p: &Provider, headers: &HeaderMap, body: &[u8]) -> Result<TokenResponse, ApiError> {
    if !is_form(headers) {
        return Err(ApiError::token(OAuthError::invalid_request(
            "the token request body must be application/x-www-form-urlencoded",
        )));
    }
    let params = Params::from_urlencoded(body).map_err(ApiError::token)?;
    let client = authenticate(p, headers, &params).await?;
    match params.require("grant_type").map_err(ApiError::token)? {
        "authorization_code" => authorization_code(p, &client, &params).await,
        other => Err(ApiError::token(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type: '{}' is not supported",
                other.chars().take(60).collect::<String>()
            ),
        ))),
    }
}

/// RFC 6749 section 4.1.3 with PKCE: the code is single-use; a second redemption revokes what the
/// first one issued (section 4.1.2).
async fn authorization_code(
    p: &Provider,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, ApiError> {
    let bad = |d: &str| ApiError::token(OAuthError::invalid_grant(d));
    let code = params.require("code").map_err(ApiError::token)?;
    let redirect_uri = params.require("redirect_uri").map_err(ApiError::token)?;
    let verifier = params.require("code_verifier").map_err(|_| {
        ApiError::token(OAuthError::invalid_request(
            "code_verifier: required (PKCE is mandatory in API version 4)",
        ))
    })?;
    let now = p.now();
    let code_hash = sha256_b64(code);
    let Some(record) = p
        .store
        .code(&code_hash)
        .await
        .map_err(ApiError::server_error)?
    else {
        return Err(bad("code: unknown authorization code"));
    };
    if record.consumed_at.is_some() {
        p.store
            .revoke_grant(&record.grant_id, now)
            .await
            .map_err(ApiError::server_error)?;
        tracing::warn!(client_id = %client.client_id, "authorization code replayed; its grant is revoked");
        return Err(bad(
            "code: already used; the tokens issued for it are revoked",
        ));
    }
    if record.client_id != client.client_id {
        return Err(bad("code: was issued to another client"));
    }
    if record.expires_at <= now {
        return Err(bad("code: expired"));
    }
    if record.redirect_uri != redirect_uri {
        return Err(bad(
            "redirect_uri: differs from the one in the authorization request",
        ));
    }
    pkce::verify(&record.code_challenge, verifier).map_err(|d| bad(&d))?;
    let Some(user) = p
        .store
        .user(&record.user_id)
        .await
        .map_err(ApiError::server_error)?
    else {
        return Err(bad("code: the user no longer exists"));
    };
    let issued = tokens::for_code(p, &record, &user, now);
    let access = AccessTokenRecord {
        jti: issued.access_token_jti.clone(),
        grant_id: record.grant_id.clone(),
        client_id: client.client_id.clone(),
        expires_at: issued.access_token_expires_at,
    };
    match p
        .store
        .redeem_code(&code_hash, now, &access)
        .await
        .map_err(ApiError::server_error)?
    {
        Consumed::Fresh => Ok(TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in as u64,
            id_token: Some(issued.id_token),
            refresh_token: None,
            scope: Some(issued.scope),
        }),
        // Lost a race with a concurrent redemption of the same code: that is a replay too.
        Consumed::AlreadyUsed => {
            p.store
                .revoke_grant(&record.grant_id, now)
                .await
                .map_err(ApiError::server_error)?;
            Err(bad(
                "code: already used; the tokens issued for it are revoked",
            ))
        }
        Consumed::Unknown => Err(bad("code: unknown authorization code")),
    }
}
