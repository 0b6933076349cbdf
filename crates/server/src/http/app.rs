//! The emulated BankID app as a web page (`{bis}/app`): a test user signs in with their NNIN and
//! test password, sees the requests to their app and approves or denies each. GET shows the
//! sign-in or the list; every POST carries `action` (`sign_in`, `answer`, `sign_out`) and a CSRF
//! token, and a POST that changed something redirects back to the list.
//!
//! The app's session is a store [`Session`] that names its user but no login method and no
//! authentication time, so the authorization endpoint never takes it for a login (a password
//! alone is not a BankID login). Its cookie is the app's own, scoped to the app's path.

use crate::AppState;
use crate::Provider;
use crate::app;
use crate::http::IssuerOf;
use crate::http::cookie::token_cookie;
use crate::http::form::is_form;
use crate::issuer::{Endpoint, Issuer};
use crate::pages::app::{ListMessage, RequestView, list, sign_in as sign_in_page};
use crate::pages::render::store_failure_page;
use crate::pages::texts::{app_texts, texts};
use crate::secret::{new_id, random_token};
use crate::store::{AppAnswer, Attempt, Session, StoreError, StoreKey, User};
use aws_lc_rs::hmac;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::b64;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::nnin::Nnin;
use serde::Deserialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The app's session cookie.
pub const APP_COOKIE: &str = "bankid_app";
/// The sign-in form's cookie: the sign-in's CSRF token is bound to it. Apart from the session
/// cookie, so that showing the sign-in form (to a browser that did not send its session cookie,
/// arriving from another site) never overwrites a session.
pub const SIGN_IN_COOKIE: &str = "bankid_app_sign_in";
/// Seconds a sign-in form stays usable.
const SIGN_IN_TTL: i64 = 3600;

#[derive(Debug, Default, Deserialize)]
pub struct AppForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    nnin: Option<String>,
    password: Option<String>,
    request: Option<String>,
    decision: Option<String>,
}

/// `Set-Cookie` for one of the app's cookies: HttpOnly, SameSite=Strict, scoped to the app.
fn set_cookie(p: &Provider, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    let secure = if p.config.is_https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64url")
}

/// A form's CSRF token, bound to the cookie the form belongs to (`purpose` keeps the sign-in's
/// and the session's apart).
fn csrf_of(p: &Provider, purpose: &str, cookie: &str) -> String {
    b64::encode(hmac::sign(&p.derive_key, format!("app-{purpose}:{cookie}").as_bytes()).as_ref())
}

fn csrf_matches(p: &Provider, purpose: &str, cookie: &str, given: &str) -> bool {
    bool::from(
        csrf_of(p, purpose, cookie)
            .as_bytes()
            .ct_eq(given.as_bytes()),
    )
}

/// The page's language, from the browser's `Accept-Language` (Norwegian unless it asks for
/// English first).
fn locale(headers: &HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let tags: Vec<&str> = v
                .split(',')
                .map(|tag| tag.split(';').next().unwrap_or("").trim())
                .collect();
            Locale::from_ui_locales(&tags.join(" "))
        })
        .unwrap_or_default()
}

/// The app's address on this server: the forms' action, the cookies' path.
fn app_path(issuer: &Issuer) -> String {
    issuer.route(Endpoint::App)
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A signed-in app session and its user.
struct SignedIn {
    session: Session,
    user: Arc<User>,
    cookie: String,
}

async fn signed_in(p: &Provider, headers: &HeaderMap) -> Result<Option<SignedIn>, StoreError> {
    let Some(cookie) = token_cookie(headers, APP_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = p
        .store
        .session_by_cookie(&StoreKey::of(&cookie), p.now())
        .await?
    else {
        return Ok(None);
    };
    // Only an app session: a browser session of the login pages is not one.
    let Some(user_id) = session.user_id.clone().filter(|_| session.method.is_none()) else {
        return Ok(None);
    };
    let Some(user) = p.user(&user_id).await? else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        session,
        user,
        cookie,
    }))
}

/// The sign-in form with a fresh sign-in cookie.
fn show_sign_in(
    p: &Provider,
    issuer: &Issuer,
    locale: Locale,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let path = app_path(issuer);
    let token = random_token();
    let csrf = csrf_of(p, "sign-in", &token);
    let mut response = sign_in_page(status, locale, &p.css_path(), &path, &csrf, error);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(p, SIGN_IN_COOKIE, &token, &path, SIGN_IN_TTL),
    );
    response
}

/// The list of the signed-in user's requests.
async fn show_list(
    p: &Provider,
    issuer: &Issuer,
    locale: Locale,
    signed: &SignedIn,
    status: StatusCode,
    message: ListMessage<'_>,
) -> Response {
    let now = p.now();
    // Every request that has not expired: pending ones with their buttons, answered ones with
    // their answer.
    let requests = match p.store.app_requests_of(&signed.user.id, now).await {
        Ok(requests) => requests,
        Err(e) => return store_failure_page(p, &e),
    };
    let views: Vec<RequestView> = requests
        .iter()
        .map(|r| RequestView::of(r, now, locale))
        .collect();
    let name = format!("{} {}", signed.user.given_name, signed.user.family_name);
    list(
        status,
        locale,
        &p.css_path(),
        &app_path(issuer),
        &csrf_of(p, "session", &signed.cookie),
        &name,
        &views,
        message,
    )
}

/// `GET {bis}/app`: the list when signed in, else the sign-in form. `?answered=` says what the
/// user just did.
pub async fn show(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let locale = locale(&headers);
    match signed_in(&p, &headers).await {
        Ok(Some(signed)) => {
            let a = app_texts(locale);
            let notice = match query.as_deref() {
                Some("answered=approved") => Some(a.answered_approved),
                Some("answered=denied") => Some(a.answered_denied),
                _ => None,
            };
            let message = ListMessage {
                notice,
                error: None,
            };
            show_list(&p, &issuer, locale, &signed, StatusCode::OK, message).await
        }
        Ok(None) => show_sign_in(&p, &issuer, locale, StatusCode::OK, None),
        Err(e) => store_failure_page(&p, &e),
    }
}

/// `POST {bis}/app`: sign in, answer a request, or sign out.
pub async fn submit(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let locale = locale(&headers);
    let form = if is_form(&headers) {
        serde_urlencoded::from_bytes::<AppForm>(&body).ok()
    } else {
        None
    };
    let Some(form) = form else {
        let error = texts(locale).stale_form.to_owned();
        return show_sign_in(&p, &issuer, locale, StatusCode::BAD_REQUEST, Some(error));
    };
    if form.action == "sign_in" {
        return match sign_in(&p, &issuer, locale, &headers, &form).await {
            Ok(response) => response,
            Err(e) => store_failure_page(&p, &e),
        };
    }
    let signed = match signed_in(&p, &headers).await {
        Ok(Some(signed)) => signed,
        // Signed out meanwhile (or never signed in): back to the sign-in form.
        Ok(None) => return see_other(&app_path(&issuer)),
        Err(e) => return store_failure_page(&p, &e),
    };
    let a = app_texts(locale);
    if !csrf_matches(&p, "session", &signed.cookie, &form.csrf) {
        let message = ListMessage {
            notice: None,
            error: Some(a.stale_form),
        };
        return show_list(&p, &issuer, locale, &signed, StatusCode::FORBIDDEN, message).await;
    }
    let result = match form.action.as_str() {
        "answer" => answer(&p, &issuer, locale, &signed, &form).await,
        "sign_out" => sign_out(&p, &issuer, &signed).await,
        _ => {
            let message = ListMessage {
                notice: None,
                error: Some(a.stale_form),
            };
            Ok(show_list(
                &p,
                &issuer,
                locale,
                &signed,
                StatusCode::BAD_REQUEST,
                message,
            )
            .await)
        }
    };
    result.unwrap_or_else(|e| store_failure_page(&p, &e))
}

/// NNIN and the test password, judged like the login pages' password: a wrong one counts
/// against the same lockout, and a locked user cannot sign in, so the app is no way around the
/// lockout.
async fn sign_in(
    p: &Provider,
    issuer: &Issuer,
    locale: Locale,
    headers: &HeaderMap,
    form: &AppForm,
) -> Result<Response, StoreError> {
    let t = texts(locale);
    let retry = |status: StatusCode, message: String| {
        Ok(show_sign_in(p, issuer, locale, status, Some(message)))
    };
    let csrf_ok = token_cookie(headers, SIGN_IN_COOKIE)
        .is_some_and(|token| csrf_matches(p, "sign-in", &token, &form.csrf));
    if !csrf_ok {
        return retry(StatusCode::FORBIDDEN, t.stale_form.to_owned());
    }
    let nnin = form.nnin.as_deref().unwrap_or("").trim();
    let Ok(nnin) = Nnin::parse(nnin) else {
        return retry(StatusCode::UNAUTHORIZED, t.bad_nnin.to_owned());
    };
    let Some(user) = p.store.user_by_nnin(nnin.as_str()).await? else {
        return retry(StatusCode::UNAUTHORIZED, t.unknown_user.to_owned());
    };
    let now = p.now();
    if user.is_locked(now) {
        return retry(StatusCode::FORBIDDEN, t.locked.to_owned());
    }
    let given = form.password.as_deref().unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(user.password.as_bytes())) {
        // Marked as on its way, so that a login's right secret compared meanwhile takes the
        // ordered path (see `login::verdicts`).
        let _pending = p.pending_failures.mark(&user.id);
        let attempt = p
            .store
            .count_login_failure(
                &user.id,
                now,
                p.config.max_login_failures,
                p.config.lockout_seconds,
            )
            .await?;
        p.user_changed(&user.id);
        return match attempt {
            Attempt::Counted {
                locked_until: None,
                failed_attempts,
            } => {
                let left = p.config.max_login_failures - failed_attempts;
                let message = format!("{} {} {left}", t.wrong_password, t.attempts_left);
                retry(StatusCode::UNAUTHORIZED, message)
            }
            Attempt::Counted { .. } | Attempt::Refused => {
                retry(StatusCode::FORBIDDEN, t.locked.to_owned())
            }
        };
    }
    // Accepted only if no lock came before it; it clears no count (it is one secret of two,
    // and must not reset a guesser's count of one-time codes).
    let accepted = p.store.accept_login_secret(&user.id, now, false).await?;
    p.user_changed(&user.id);
    if !accepted {
        return retry(StatusCode::FORBIDDEN, t.locked.to_owned());
    }
    // A new session and cookie on every sign-in (no session fixation); an earlier one ends.
    let token = random_token();
    let session = Session {
        id: new_id(),
        user_id: Some(user.id.clone()),
        method: None,
        auth_time: None,
        created_at: now,
        expires_at: now + p.config.session_ttl,
    };
    match signed_in(p, headers).await? {
        Some(old) => {
            p.store
                .replace_session(&old.session.id, &session, &StoreKey::of(&token))
                .await?
        }
        None => {
            p.store
                .create_session(&session, &StoreKey::of(&token))
                .await?
        }
    }
    tracing::info!(user = %user.id, "app: signed in");
    let path = app_path(issuer);
    let mut response = see_other(&path);
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(p, APP_COOKIE, &token, &path, p.config.session_ttl),
    );
    cookies.append(
        header::SET_COOKIE,
        set_cookie(p, SIGN_IN_COOKIE, "", &path, 0),
    );
    Ok(response)
}

/// Approves or denies one of the user's pending requests.
async fn answer(
    p: &Provider,
    issuer: &Issuer,
    locale: Locale,
    signed: &SignedIn,
    form: &AppForm,
) -> Result<Response, StoreError> {
    let a = app_texts(locale);
    let refuse = |status: StatusCode, error: &'static str| async move {
        let message = ListMessage {
            notice: None,
            error: Some(error),
        };
        show_list(p, issuer, locale, signed, status, message).await
    };
    let decision = match form.decision.as_deref() {
        Some("allow") => AppAnswer::Approved,
        Some("deny") => AppAnswer::Denied,
        _ => return Ok(refuse(StatusCode::BAD_REQUEST, a.stale_form).await),
    };
    let id = form.request.as_deref().unwrap_or("");
    // Another user's request is as unknown as one that does not exist.
    let mine = p
        .store
        .app_request(id)
        .await?
        .filter(|r| r.user_id == signed.user.id);
    if mine.is_none() {
        return Ok(refuse(StatusCode::NOT_FOUND, a.no_such_request).await);
    }
    if !app::answer(p, &signed.user.id, id, decision).await? {
        return Ok(refuse(StatusCode::CONFLICT, a.not_pending).await);
    }
    tracing::info!(request = %id, answer = decision.as_str(), "app: answered");
    Ok(see_other(&format!(
        "{}?answered={}",
        app_path(issuer),
        decision.as_str()
    )))
}

async fn sign_out(
    p: &Provider,
    issuer: &Issuer,
    signed: &SignedIn,
) -> Result<Response, StoreError> {
    p.store.end_session(&signed.session.id, p.now()).await?;
    let path = app_path(issuer);
    let mut response = see_other(&path);
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(p, APP_COOKIE, "", &path, 0));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_well_formed_cookie_of_its_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_app_sign_in=x; bankid_app=abc_DEF-1"),
        );
        assert_eq!(token_cookie(&h, APP_COOKIE).as_deref(), Some("abc_DEF-1"));
        assert_eq!(token_cookie(&h, SIGN_IN_COOKIE).as_deref(), Some("x"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_app=a; bankid_app=b"),
        );
        assert_eq!(token_cookie(&h, APP_COOKIE), None);
    }

    #[test]
    fn english_only_when_the_browser_asks_for_it_first() {
        let mut h = HeaderMap::new();
        assert_eq!(locale(&h), Locale::Nb);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.9,nb;q=0.5"),
        );
        assert_eq!(locale(&h), Locale::En);
    }
}
