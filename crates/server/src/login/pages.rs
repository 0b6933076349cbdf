//! The login page template and its rendering.

use super::texts::Texts;
use crate::http::page::{csp, render};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'a Texts,
    pub title: &'a str,
    pub css_url: &'a str,
    pub action: &'a str,
    pub csrf: &'a str,
    pub step: &'a str,
    pub client_name: Option<&'a str>,
    pub error: Option<String>,
    pub method_buttons: Vec<(&'static str, &'static str)>,
    pub binding_message: Option<&'a str>,
    /// The login_hint named the user: the NNIN page offers the methods only.
    pub user_preselected: bool,
    /// The consent page asks for the NNIN.
    pub consent_nnin: bool,
    /// Payments to approve: (amount with currency, creditor).
    pub payments: Vec<(String, String)>,
}

/// Renders a login step. `redirect_origin` is the client's origin, which the forms' redirects
/// may reach.
pub fn render_login(page: &LoginPage, redirect_origin: Option<&str>) -> Response {
    let form_action = match redirect_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    render(StatusCode::OK, page, &csp(&form_action))
}
