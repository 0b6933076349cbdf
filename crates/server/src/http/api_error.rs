//! Errors of the JSON endpoints (token, userinfo): the OAuth error as JSON, with the HTTP status
//! and `WWW-Authenticate` challenge the RFCs require.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::{ErrorCode, OAuthError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: OAuthError,
    pub www_authenticate: Option<String>,
}

impl ApiError {
    /// A token endpoint error: 400, or 401 for `invalid_client` (RFC 6749 section 5.2).
    pub fn token(error: OAuthError) -> ApiError {
        let status = if error.code == ErrorCode::InvalidClient {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError {
            status,
            error,
            www_authenticate: None,
        }
    }

    /// A bearer token error (RFC 6750 section 3.1).
    pub fn bearer(error: OAuthError, realm: &str) -> ApiError {
        let status = match error.code {
            ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        let description = error.description.replace(['"', '\\'], "'");
        let challenge = format!(
            "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{description}\"",
            error.code
        );
        ApiError {
            status,
            error,
            www_authenticate: Some(challenge),
        }
    }

    pub fn server_error(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::token(OAuthError::server_error(
            "the provider could not complete the request",
        ))
    }

    pub fn with_challenge(mut self, challenge: String) -> ApiError {
        self.www_authenticate = Some(challenge);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self.error)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
