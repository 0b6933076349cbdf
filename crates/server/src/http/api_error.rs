//! Errors of the JSON endpoints (token, userinfo): the OAuth error as JSON, with the HTTP status
//! and `WWW-Authenticate` challenge the RFCs require.

use crate::Provider;
use crate::store::StoreError;
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

    /// A failure of the store, logged and counted (`Provider::store_failed`).
    pub fn store(p: &Provider, e: StoreError) -> ApiError {
        p.store_failed(&e);
        ApiError::token(OAuthError::server_error(
            "the provider could not complete the request",
        ))
    }

    pub fn with_challenge(mut self, challenge: String) -> ApiError {
        self.www_authenticate = Some(challenge);
        self
    }
}

/// Logs a refused request at `info`: one line with the OAuth error and the rule that refused
/// it (the `error_description`), inside the request's span, which names the endpoint (`path`)
/// and the `client_id` once the client was looked up. Every refusal passes here: the JSON errors
/// ([`ApiError`]), the error page and the error sent to the client's redirect_uri (`pages`).
/// Never a query string, a body, a secret, code or token: descriptions name the parameter and
/// the rule, and [`redact`] masks what could still be a token or a national identity number.
pub fn log_refusal(error: &OAuthError, delivered: &'static str) {
    tracing::info!(
        error = error.code.as_str(),
        rule = %redact(&error.description),
        delivered,
        "request refused"
    );
}

/// The description with every run of 11 digits (a national identity number) and every run of
/// 32 or more token characters (a code, token or secret) masked.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 11 && run.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("[nnin]");
        } else if run.len() >= 32 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_refusal(&self.error, "json");
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_masks_nnins_and_tokens_only() {
        assert_eq!(
            redact("login_hint: 'BID:01010012356' is wrong"),
            "login_hint: 'BID:[nnin]' is wrong"
        );
        assert_eq!(
            redact("code 'Qm9va3MgYXJlIGdyZWF0IGJ1dCBjb2RlcyBhcmUgc2VjcmV0' is unknown"),
            "code '[redacted]' is unknown"
        );
        let plain = "scope: 'esign' is not allowed for client 'demo-merchant'";
        assert_eq!(redact(plain), plain);
    }
}
