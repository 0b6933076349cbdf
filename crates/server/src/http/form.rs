//! Form-encoded request bodies (`application/x-www-form-urlencoded`).

use crate::http::api_error::ApiError;
use axum::http::{HeaderMap, header};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::params::Params;

/// Whether the request says its body is a form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Parses a client-authenticated form request (token, introspection, revocation).
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    if !is_form(headers) {
        return Err(ApiError::token(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        )));
    }
    Params::from_urlencoded(body).map_err(ApiError::token)
}
