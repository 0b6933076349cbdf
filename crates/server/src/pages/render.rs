//! HTML responses and the headers every page sends.

use crate::pages::texts::{Texts, texts};
use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::locale::Locale;

/// The Content-Security-Policy of a page: nothing from elsewhere, no framing, no inline code.
/// `form_action` lists where the page's forms may go (the login forms post here and are then
/// redirected to the client, which Chromium also checks against `form-action`).
pub fn csp(form_action: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The Content-Security-Policy of a page of the iframe flow: framed by `frame_ancestor` only
/// (an origin checked by `login::iframe::FrameAncestor`), its script and status fetched from
/// the provider's own origin, nothing inline.
pub fn framed_csp(frame_ancestor: &str, form_action: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
         img-src 'self'; form-action {form_action}; frame-ancestors {frame_ancestor}; \
         base-uri 'none'"
    )
}

/// Renders a page of the iframe flow: its CSP names who may frame it, and it sends no
/// `X-Frame-Options` (`DENY` would contradict that, and `ALLOW-FROM` is obsolete).
pub fn render_framed(status: StatusCode, template: &impl Template, csp: &str) -> Response {
    let mut response = render(status, template, csp);
    response.headers_mut().remove(header::X_FRAME_OPTIONS);
    response
}

/// Headers for any page of the provider: no framing, no caching, no referrer, no sniffing.
pub fn page_headers(csp: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(csp).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
        }),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers
}

/// Renders a template as a page with the security headers.
pub fn render(status: StatusCode, template: &impl Template, csp: &str) -> Response {
    match template.render() {
        Ok(html) => (status, page_headers(csp), html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                page_headers(csp),
                "internal error",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'a Texts,
    title: &'a str,
    css_url: &'a str,
    code: &'a str,
    description: &'a str,
}

/// The page shown when the client or its redirect_uri could not be proven: the error goes to the
/// person, never to an unverified address.
pub fn error_page(
    status: StatusCode,
    error: &OAuthError,
    locale: Locale,
    css_url: &str,
) -> Response {
    crate::http::api_error::log_refusal(error, "page");
    let t = texts(locale);
    let page = ErrorPage {
        t,
        title: t.title_error,
        css_url,
        code: error.code.as_str(),
        description: &error.description,
    };
    render(status, &page, &csp("'none'"))
}

/// The page for a failure of the store: logged and counted, and shown without detail.
pub fn store_failure_page(p: &crate::Provider, e: &crate::store::StoreError) -> Response {
    p.store_failed(e);
    let error = OAuthError::server_error("the provider could not read or write its store");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &error,
        Locale::default(),
        &p.css_path(),
    )
}
