//! Delivering the authorization response (a code or an error) to the client's redirect_uri in
//! the requested response mode, with `state` and `iss` (RFC 9207).

use crate::pages::render::{page_headers, render};
use askama::Template;
use aws_lc_rs::digest::{SHA256, digest};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::authorize::{ResponseMode, ResponseTarget};
use std::sync::LazyLock;

const AUTO_SUBMIT: &str = "document.forms[0].submit();";

/// The CSP hash of the one inline script a form_post page runs.
static AUTO_SUBMIT_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "'sha256-{}'",
        base64_std(digest(&SHA256, AUTO_SUBMIT.as_bytes()).as_ref())
    )
});

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    fields: &'a [(&'a str, String)],
    script: &'a str,
}

fn with_state(
    target: &ResponseTarget,
    issuer: &str,
    mut fields: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    if let Some(state) = &target.state {
        fields.push(("state", state.clone()));
    }
    fields.push(("iss", issuer.to_owned()));
    fields
}

/// The address that carries `params` (plus `state` and `iss`) to the client in the query or
/// the fragment (the iframe flow's script navigates there; it has no form_post).
pub fn location(
    target: &ResponseTarget,
    issuer: &str,
    params: Vec<(&'static str, String)>,
) -> String {
    let encoded =
        serde_urlencoded::to_string(with_state(target, issuer, params)).unwrap_or_default();
    let uri = &target.redirect_uri;
    if target.response_mode == ResponseMode::Fragment {
        format!("{uri}#{encoded}")
    } else if uri.contains('?') {
        format!("{uri}&{encoded}")
    } else {
        format!("{uri}?{encoded}")
    }
}

/// The parameters of an error for the client.
pub fn error_params(error: &OAuthError) -> Vec<(&'static str, String)> {
    vec![
        ("error", error.code.as_str().to_owned()),
        ("error_description", error.description.clone()),
    ]
}

/// Sends `params` (plus `state` and `iss`) to the client.
pub fn deliver(
    target: &ResponseTarget,
    issuer: &str,
    params: Vec<(&'static str, String)>,
    status: StatusCode,
) -> Response {
    match target.response_mode {
        ResponseMode::Query | ResponseMode::Fragment => {
            redirect(status, &location(target, issuer, params))
        }
        ResponseMode::FormPost => {
            let fields = with_state(target, issuer, params);
            let page = FormPost {
                action: &target.redirect_uri,
                fields: &fields,
                script: AUTO_SUBMIT,
            };
            let origin = url::Url::parse(&target.redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| "'none'".into());
            let csp = format!(
                "default-src 'none'; script-src {}; form-action {origin}; frame-ancestors 'none'; base-uri 'none'",
                *AUTO_SUBMIT_HASH
            );
            render(StatusCode::OK, &page, &csp)
        }
    }
}

/// Sends an OAuth error to the client.
pub fn deliver_error(
    target: &ResponseTarget,
    issuer: &str,
    error: &OAuthError,
    status: StatusCode,
) -> Response {
    crate::http::api_error::log_refusal(error, "redirect");
    deliver(target, issuer, error_params(error), status)
}

/// A redirect that carries the security headers of a page (it may carry a code).
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut headers = page_headers("default-src 'none'; frame-ancestors 'none'");
    headers.remove(header::CONTENT_TYPE);
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
            (status, headers).into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "redirect target is not a valid header value",
        )
            .into_response(),
    }
}
