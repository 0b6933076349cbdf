//! The token endpoint: authenticate the client, then hand the request to its grant type.

use crate::grants::{self, GrantError};
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::http::client_auth::authenticate;
use crate::http::form::form_params;
use crate::issuer::{Endpoint, Issuer};
use crate::{AppState, Provider};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::{ErrorCode, OAuthError};

pub async fn token(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&p, &issuer, &headers, &body).await {
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

async fn handle(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, ApiError> {
    let params = form_params(headers, body)?;
    let client = authenticate(p, issuer, headers, &params, Endpoint::Token).await?;
    let name = params.require("grant_type").map_err(ApiError::token)?;
    let Some(grant_type) = GrantType::parse(name).filter(|g| issuer.grant_types().contains(g))
    else {
        let shown: String = name.chars().take(60).collect();
        let served: Vec<&str> = issuer.grant_types().iter().map(|g| g.as_str()).collect();
        return Err(ApiError::token(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type: '{shown}' is not supported ({})",
                served.join(", ")
            ),
        )));
    };
    if !client.allows_grant(grant_type) {
        return Err(ApiError::token(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "grant_type: client '{}' is not registered for {grant_type}",
                client.client_id
            ),
        )));
    }
    let result = match grant_type {
        GrantType::AuthorizationCode => {
            grants::authorization_code::exchange(p, issuer, &client, &params).await
        }
        GrantType::RefreshToken => {
            grants::refresh_token::exchange(p, issuer, &client, &params).await
        }
        GrantType::ClientCredentials => {
            grants::client_credentials::exchange(p, issuer, &client, &params).await
        }
        GrantType::Ciba => grants::ciba::exchange(p, issuer, &client, &params).await,
    };
    let tokens = result.map_err(|e| match e {
        GrantError::OAuth(e) => ApiError::token(e),
        GrantError::Store(e) => ApiError::store(p, e),
    })?;
    p.metrics.token_issued(grant_type);
    Ok(tokens)
}
