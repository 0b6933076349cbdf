//! The logout pages: the confirmation asked when no `id_token_hint` names the session, and the
//! page shown when a logout has nowhere to send the browser.

use super::render::{csp, render};
use super::texts::{Texts, texts};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::params::Params;

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    t: &'a Texts,
    title: &'a str,
    css_url: &'a str,
    action: &'a str,
    confirm: Option<String>,
    carry: Vec<(&'a str, &'a str)>,
}

/// Asks the person to confirm; the form posts `confirm` and the request's own parameters back
/// to `action`.
pub fn confirm(
    locale: Locale,
    css_url: &str,
    action: &str,
    confirm: String,
    params: &Params,
) -> Response {
    let t = texts(locale);
    let carry = [
        "post_logout_redirect_uri",
        "state",
        "client_id",
        "ui_locales",
    ]
    .into_iter()
    .filter_map(|name| params.get(name).map(|v| (name, v)))
    .collect();
    let page = LogoutPage {
        t,
        title: t.title_logout,
        css_url,
        action,
        confirm: Some(confirm),
        carry,
    };
    render(StatusCode::OK, &page, &csp("'self'"))
}

/// The person is logged out, and no client asked to have them back.
pub fn done(locale: Locale, css_url: &str) -> Response {
    let t = texts(locale);
    let page = LogoutPage {
        t,
        title: t.title_logout,
        css_url,
        action: "",
        confirm: None,
        carry: Vec::new(),
    };
    render(StatusCode::OK, &page, &csp("'none'"))
}
