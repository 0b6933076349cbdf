//! `POST {backchannel_authentication_endpoint}` (CIBA, BIS): authenticate the client as at the
//! token endpoint, then hand the request to [`crate::ciba`]. Refusals carry CIBA Core section
//! 13's statuses: 400, 401 for `invalid_client`, 403 for `access_denied`.

use crate::ciba::{self, CibaError};
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::http::client_auth;
use crate::http::form::form_params;
use crate::issuer::{Endpoint, Issuer};
use crate::{AppState, Provider};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::ErrorCode;
use bankid_oidc_core::ciba::AuthenticationResponse;

async fn handle(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AuthenticationResponse, ApiError> {
    let params = form_params(headers, body)?;
    let client = client_auth::authenticate(
        p,
        issuer,
        headers,
        &params,
        Endpoint::BackchannelAuthentication,
    )
    .await?;
    ciba::start(p, issuer, &client, &params)
        .await
        .map_err(|e| match e {
            CibaError::OAuth(e) => {
                let mut error = ApiError::token(e);
                if error.error.code == ErrorCode::AccessDenied {
                    error.status = StatusCode::FORBIDDEN;
                }
                error
            }
            CibaError::Store(e) => ApiError::store(p, e),
        })
}

pub async fn backchannel_authentication(
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
