//! Token introspection (RFC 7662), client-authenticated. A client sees its own tokens; a client
//! registered as a resource server sees any. Everything else is `{"active": false}`, which tells
//! nothing about whether the token exists.

use crate::bearer::{BearerError, live_access_token};
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::http::client_auth::authenticate;
use crate::http::form::form_params;
use crate::issuer::{Endpoint, Issuer};
use crate::store::Client;
use crate::store::StoreKey;
use crate::{AppState, Provider};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub async fn introspect(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&p, &issuer, &headers, &body).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

fn may_see(client: &Client, owner: &str) -> bool {
    client.resource_server || client.client_id == owner
}

async fn handle(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let params = form_params(headers, body)?;
    let client = authenticate(p, issuer, headers, &params, Endpoint::Introspection).await?;
    let token = params.require("token").map_err(ApiError::token)?;
    let inactive = json!({ "active": false });
    // A JWT is an access token; anything else may be a refresh token. The hint is not needed.
    if token.split('.').count() == 3 {
        return match live_access_token(p, issuer, token).await {
            Ok((claims, record)) if may_see(&client, &record.client_id) => {
                let mut answer = json!({
                    "active": true,
                    "token_type": "Bearer",
                    "scope": claims.scope,
                    "client_id": claims.client_id,
                    "sub": claims.sub,
                    "iss": claims.iss,
                    "aud": claims.aud,
                    "exp": claims.exp,
                    "iat": claims.iat,
                    "jti": claims.jti,
                });
                if let Some(sid) = claims.sid {
                    answer["sid"] = json!(sid);
                }
                if let Some(acr) = claims.acr {
                    answer["acr"] = json!(acr);
                }
                Ok(answer)
            }
            Ok(_) | Err(BearerError::Invalid(_)) => Ok(inactive),
            Err(BearerError::Store(e)) => Err(ApiError::store(p, e)),
        };
    }
    let Some(state) = p
        .store
        .refresh_token(&StoreKey::of(token))
        .await
        .map_err(|e| ApiError::store(p, e))?
    else {
        return Ok(inactive);
    };
    let r = state.token;
    // Another issuer's refresh token is not one of this issuer's tokens.
    let live = issuer.made(&state.issuer)
        && !state.grant_revoked
        && r.used_at.is_none()
        && r.expires_at > p.now();
    if !live || !may_see(&client, &r.client_id) {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": r.scope,
        "client_id": r.client_id,
        "sub": r.user_id,
        "iss": issuer.issuer,
        "exp": r.expires_at,
        "iat": r.issued_at,
        "sid": r.session_id,
    }))
}
