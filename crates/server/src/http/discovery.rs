//! Discovery documents and key sets: built once, served as they are.

use crate::AppState;
use crate::http::IssuerOf;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

fn json(body: std::sync::Arc<str>, max_age: &'static str) -> Response {
    let mut response = body.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

pub async fn discovery(Extension(issuer): IssuerOf) -> Response {
    json(issuer.discovery_json(), "public, max-age=3600")
}

/// Short cache lifetime: clients must see a new key soon after it is published.
pub async fn jwks(State(p): State<AppState>) -> Response {
    json(p.keys.jwks_json(), "public, max-age=300")
}

/// The keys that sign permission grants (`jwks_uri_grants`), a set of their own.
pub async fn jwks_grants(State(p): State<AppState>) -> Response {
    json(p.grant_keys.jwks_json(), "public, max-age=300")
}

/// The encryption keys alone (`jwks_uri_enc`).
pub async fn jwks_enc(State(p): State<AppState>) -> Response {
    json(p.encryption.jwks_json.clone(), "public, max-age=300")
}

/// The pages' icon. An SVG opened on its own could carry script, so it gets a CSP that allows
/// none (this one has none; the header keeps it so).
pub async fn favicon() -> Response {
    asset(
        include_str!("../../assets/favicon.svg"),
        "image/svg+xml",
        "public, max-age=86400",
        Some("default-src 'none'"),
    )
}

pub async fn stylesheet() -> Response {
    asset(
        include_str!("../../assets/style.css"),
        "text/css; charset=utf-8",
        "public, max-age=3600",
        None,
    )
}

/// A file of the provider's own, with its type (never sniffed) and how long it may be cached.
fn asset(
    body: &'static str,
    content_type: &'static str,
    cache: &'static str,
    csp: Option<&'static str>,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(csp) = csp {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    response
}
