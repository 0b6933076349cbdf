//! RP-initiated logout at `end_session_endpoint`: an adapter around `crate::logout` (the rules
//! and the decision), answering with a page or a redirect, and the cookie to forget.

use crate::http::IssuerOf;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::session::current_session;
use crate::issuer::{Endpoint, Issuer};
use crate::logout::{self, Ending, Refused};
use crate::pages::{self, delivery::redirect, render::error_page, render::store_failure_page};
use crate::store::Session;
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::params::Params;

pub async fn get(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    logout(
        &p,
        &issuer,
        &headers,
        Params::from_urlencoded(query.unwrap_or_default().as_bytes()),
    )
    .await
}

pub async fn post(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !crate::http::form::is_form(&headers) {
        let e = OAuthError::invalid_request(
            "the logout request body must be application/x-www-form-urlencoded",
        );
        return error_page(
            StatusCode::BAD_REQUEST,
            &e,
            Locale::default(),
            &p.css_path(),
        );
    }
    logout(&p, &issuer, &headers, Params::from_urlencoded(&body)).await
}

async fn logout(
    p: &Provider,
    issuer: &Issuer,
    headers: &HeaderMap,
    params: Result<Params, OAuthError>,
) -> Response {
    let css = p.css_path();
    let params = match params {
        Ok(params) => params,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e, Locale::default(), &css),
    };
    let req = match logout::validate(p, issuer, &params).await {
        Ok(req) => req,
        Err(Refused::Invalid(e, locale)) => {
            return error_page(StatusCode::BAD_REQUEST, &e, locale, &css);
        }
        Err(Refused::Store(e)) => return store_failure_page(p, &e),
    };
    let session = match current_session(p, headers).await {
        Ok(session) => session,
        Err(e) => return store_failure_page(p, &e),
    };
    let confirmation = |s: &Session| logout::confirmation(p, s);
    let ending = match logout::decide(&req, session.as_ref(), params.get("confirm"), confirmation) {
        Ending::Confirm(expected) => {
            let action = issuer.route(Endpoint::Logout);
            return pages::logout::confirm(req.locale, &css, &action, expected, &params);
        }
        Ending::End(sid) => sid,
    };
    if let Some(sid) = &ending
        && let Err(e) = p.store.end_session(sid, p.now()).await
    {
        return store_failure_page(p, &e);
    }
    let mut response = match &req.redirect_to {
        Some(uri) => redirect(
            StatusCode::FOUND,
            &logout::redirect_location(uri, req.state.as_deref()),
        ),
        None => pages::logout::done(req.locale, &css),
    };
    // The browser forgets its cookie when its own session ended.
    if session
        .as_ref()
        .is_some_and(|s| ending.as_deref() == Some(s.id.as_str()))
    {
        let secure = if p.config.is_https() { "; Secure" } else { "" };
        let cookie = format!(
            "{SESSION_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
            issuer.path
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
