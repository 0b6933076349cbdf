//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `end_session_endpoint`.
//!
//! With an `id_token_hint` (an ID token this provider issued, expired or not), the session it
//! names ends at once. Without one, the browser's session ends only after the person confirms on
//! a page, so that a third-party site cannot log people out. `post_logout_redirect_uri` must be
//! registered for the client exactly; the redirect carries `state`.

use crate::authorization::hint as id_token_hint;
use crate::http::IssuerOf;
use crate::http::cookie::SESSION_COOKIE;
use crate::http::session::current_session;
use crate::issuer::{Endpoint, Issuer};
use crate::pages::delivery::redirect;
use crate::pages::render::{csp, error_page, render, store_failure_page};
use crate::pages::texts::{Texts, texts};
use crate::store::Session;
use crate::{AppState, Provider};
use askama::Template;
use aws_lc_rs::hmac;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::{OAuthError, b64};
use subtle::ConstantTimeEq;

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

/// The client and session an `id_token_hint` names.
struct Hint {
    client_id: String,
    sid: Option<String>,
}

fn read_hint(p: &Provider, issuer: &Issuer, token: &str) -> Result<Hint, OAuthError> {
    let (claims, client_id) = id_token_hint::verify(p, issuer, token)?;
    Ok(Hint {
        client_id,
        sid: claims.sid,
    })
}

/// The confirmation token of a session's logout page: only this provider can make it.
fn confirmation(p: &Provider, session: &Session) -> String {
    b64::encode(hmac::sign(&p.derive_key, format!("logout:{}", session.id).as_bytes()).as_ref())
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
    let locale = params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .unwrap_or_default();
    let page_error = |e: OAuthError| error_page(StatusCode::BAD_REQUEST, &e, locale, &css);
    let hint = match params
        .get("id_token_hint")
        .map(|t| read_hint(p, issuer, t))
        .transpose()
    {
        Ok(hint) => hint,
        Err(e) => return page_error(e),
    };
    let client_id = match (
        hint.as_ref().map(|h| h.client_id.as_str()),
        params.get("client_id"),
    ) {
        (Some(from_hint), Some(given)) if from_hint != given => {
            return page_error(OAuthError::invalid_request(
                "client_id: differs from the audience of id_token_hint",
            ));
        }
        (from_hint, given) => from_hint.or(given),
    };
    let state = params.get("state").filter(|s| s.len() <= 512);
    let redirect_to = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(client_id) = client_id else {
                return page_error(OAuthError::invalid_request(
                    "post_logout_redirect_uri: needs id_token_hint or client_id to know the client",
                ));
            };
            let client = match p.client(client_id).await {
                Ok(Some(client)) => client,
                Ok(None) => {
                    return page_error(OAuthError::invalid_request(format!(
                        "client_id: no client '{client_id}'"
                    )));
                }
                Err(e) => return store_failure_page(p, &e),
            };
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return page_error(OAuthError::invalid_request(format!(
                    "post_logout_redirect_uri: not registered for client '{client_id}'"
                )));
            }
            Some(uri.to_owned())
        }
    };
    let session = match current_session(p, headers).await {
        Ok(session) => session,
        Err(e) => return store_failure_page(p, &e),
    };
    let t = texts(locale);
    // Which session ends: the one the hint names, or (confirmed) the browser's own.
    let ending = match (&hint, &session) {
        (Some(hint), _) => hint.sid.clone(),
        (None, Some(session)) => {
            let expected = confirmation(p, session);
            let confirmed = params
                .get("confirm")
                .is_some_and(|c| bool::from(c.as_bytes().ct_eq(expected.as_bytes())));
            if !confirmed {
                let carry: Vec<(&str, &str)> = [
                    "post_logout_redirect_uri",
                    "state",
                    "client_id",
                    "ui_locales",
                ]
                .into_iter()
                .filter_map(|name| params.get(name).map(|v| (name, v)))
                .collect();
                let action = issuer.route(Endpoint::Logout);
                let page = LogoutPage {
                    t,
                    title: t.title_logout,
                    css_url: &css,
                    action: &action,
                    confirm: Some(expected),
                    carry,
                };
                return render(StatusCode::OK, &page, &csp("'self'"));
            }
            Some(session.id.clone())
        }
        (None, None) => None,
    };
    if let Some(sid) = &ending
        && let Err(e) = p.store.end_session(sid, p.now()).await
    {
        return store_failure_page(p, &e);
    }
    let mut response = match redirect_to {
        Some(uri) => {
            let location = match state {
                Some(state) => {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    format!(
                        "{uri}{sep}{}",
                        serde_urlencoded::to_string([("state", state)]).unwrap_or_default()
                    )
                }
                None => uri,
            };
            redirect(StatusCode::FOUND, &location)
        }
        None => {
            let page = LogoutPage {
                t,
                title: t.title_logout,
                css_url: &css,
                action: "",
                confirm: None,
                carry: Vec::new(),
            };
            render(StatusCode::OK, &page, &csp("'none'"))
        }
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
