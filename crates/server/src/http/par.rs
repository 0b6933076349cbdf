//! Pushed authorization requests (RFC 9126), an adapter around the `authorization` pipeline:
//! the client posts its authorization request,
//! authenticated, and gets a single-use `request_uri` to send the browser with. Errors are JSON
//! here, never redirects. The request is validated exactly as at the authorization endpoint, in
//! the pushed channel, where an NNIN login_hint and `authorization_details` are allowed.

use crate::authorization::{self, pushed_request::REQUEST_URI_PREFIX};
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::http::client_auth::authenticate;
use crate::http::form::form_params;
use crate::issuer::{Endpoint, Issuer};
use crate::secret::ordered_token;
use crate::store::StoreKey;
use crate::{AppState, Provider};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Seconds a request_uri lives (RFC 9126 suggests 5 to 600; BankID uses 60 to 90).
pub const REQUEST_URI_TTL: i64 = 90;

pub async fn push(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&p, &issuer, &headers, &body).await {
        Ok((request_uri, expires_in)) => {
            let mut response = (
                StatusCode::CREATED,
                Json(json!({ "request_uri": request_uri, "expires_in": expires_in })),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// Pushes a request as the endpoint does: used by the endpoint, and by the start page's form
/// (`http::start`), which sends the secret typed there the way the client is registered to.
pub(crate) async fn handle(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, i64), ApiError> {
    let params = form_params(headers, body)?;
    let client = authenticate(p, issuer, headers, &params, Endpoint::PushedAuthorization).await?;
    let req = authorization::pushed_request(p, issuer, &client, &params)
        .await
        .map_err(ApiError::token)?;
    let token = ordered_token();
    let request_uri = format!("{REQUEST_URI_PREFIX}{token}");
    let json = serde_json::to_string(&req).map_err(ApiError::server_error)?;
    p.store
        .push_request(
            &StoreKey::of(&token),
            &client.client_id,
            &json,
            p.now() + REQUEST_URI_TTL,
        )
        .await
        .map_err(|e| ApiError::store(p, e))?;
    Ok((request_uri, REQUEST_URI_TTL))
}
