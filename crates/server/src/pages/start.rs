//! The start page (`/` and each issuer's base path): what a developer needs for a first login
//! (discovery URLs, the demo client, the test users, a form that builds an authorization
//! request) and the page that shows the request built. English only: it is a developer's tool.

use super::render::{csp, render};
use super::texts::{Texts, texts};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use bankid_oidc_core::locale::Locale;

pub struct IssuerRow {
    pub id: String,
    pub issuer: String,
    pub discovery: String,
    /// The issuer whose base path the page was asked at (preselected in the form).
    pub current: bool,
}

pub struct DemoRow {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

pub struct UserRow {
    pub name: String,
    pub nnin: String,
    pub phone: String,
    pub birthdate: String,
    /// "active" or "locked until `YYYY-MM-DD HH:MM:SS UTC`".
    pub state: String,
}

pub struct ClientRow {
    pub client_id: String,
    pub label: String,
}

/// What the start page shows.
pub struct StartData {
    pub issuers: Vec<IssuerRow>,
    pub demo: Option<DemoRow>,
    pub users: Vec<UserRow>,
    pub clients: Vec<ClientRow>,
    pub merchant_url: String,
    pub merchant_up: bool,
    pub app_url: String,
    /// Where the form goes (the request page).
    pub action: String,
    pub default_scope: String,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage<'a> {
    t: &'a Texts,
    title: &'a str,
    css_url: &'a str,
    issuers: &'a [IssuerRow],
    demo: &'a Option<DemoRow>,
    users: &'a [UserRow],
    clients: &'a [ClientRow],
    merchant_url: &'a str,
    merchant_up: bool,
    app_url: &'a str,
    action: &'a str,
    default_scope: &'a str,
}

pub fn start_page(css_url: &str, data: &StartData) -> Response {
    let page = StartPage {
        t: texts(Locale::En),
        title: "Start page",
        css_url,
        issuers: &data.issuers,
        demo: &data.demo,
        users: &data.users,
        clients: &data.clients,
        merchant_url: &data.merchant_url,
        merchant_up: data.merchant_up,
        app_url: &data.app_url,
        action: &data.action,
        default_scope: &data.default_scope,
    };
    // The form is a GET to this origin; nothing runs on the page.
    render(StatusCode::OK, &page, &csp("'self'"))
}

/// An authorization request built by the start page's form.
pub struct BuiltRequest {
    pub issuer: String,
    pub client_id: String,
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The start page to go back to.
    pub back: String,
    /// Said of a request pushed first (PAR): its request_uri and lifetime.
    pub pushed: Option<String>,
}

#[derive(Template)]
#[template(path = "start_request.html")]
struct RequestPage<'a> {
    t: &'a Texts,
    title: &'a str,
    css_url: &'a str,
    issuer: &'a str,
    client_id: &'a str,
    url: &'a str,
    state: &'a str,
    nonce: &'a str,
    verifier: &'a str,
    back: &'a str,
    pushed: Option<&'a str>,
}

pub fn request_page(css_url: &str, built: &BuiltRequest) -> Response {
    let page = RequestPage {
        t: texts(Locale::En),
        title: "Authorization request",
        css_url,
        issuer: &built.issuer,
        client_id: &built.client_id,
        url: &built.url,
        state: &built.state,
        nonce: &built.nonce,
        verifier: &built.verifier,
        back: &built.back,
        pushed: built.pushed.as_deref(),
    };
    render(StatusCode::OK, &page, &csp("'self'"))
}
