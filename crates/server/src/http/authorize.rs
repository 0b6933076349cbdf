//! The authorization endpoint (GET and POST): an adapter around the `authorization` pipeline,
//! answering with a page (a login step, an error) or a redirect to the client.

use crate::authorization::decide::BrowserSession;
use crate::authorization::login_hint_token::{self, TokenRefused};
use crate::authorization::{self, Decision, Refused, decide, hint};
use crate::grants::{Authentication, issue_code};
use crate::http::IssuerOf;
use crate::http::cookie::{session_cookie, set_session_cookie};
use crate::http::form::is_form;
use crate::http::session::current_session;
use crate::issuer::{Issuer, IssuerKind};
use crate::login::flow::{self, BrowserBinding, Start, Submitted, scripted_error};
use crate::pages::delivery::{deliver, deliver_error};
use crate::pages::render::{error_page, store_failure_page};
use crate::secret::random_token;
use crate::store::{StoreError, StoreKey};
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bankid_oidc_core::authorize::{AuthorizeParams, ValidatedAuthorizeRequest};
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::{ErrorCode, OAuthError};
use std::sync::Arc;

pub async fn get(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = AuthorizeParams::from_urlencoded(query.unwrap_or_default().as_bytes());
    authorize(&p, &issuer, &headers, params, false).await
}

pub async fn post(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        let e = OAuthError::invalid_request(
            "the authorization request body must be application/x-www-form-urlencoded",
        );
        return page(&p, &e, Locale::default());
    }
    authorize(
        &p,
        &issuer,
        &headers,
        AuthorizeParams::from_urlencoded(&body),
        true,
    )
    .await
}

fn page(p: &Provider, e: &OAuthError, locale: Locale) -> Response {
    error_page(StatusCode::BAD_REQUEST, e, locale, &p.css_path())
}

async fn authorize(
    p: &Provider,
    issuer: &Arc<Issuer>,
    headers: &HeaderMap,
    params: Result<AuthorizeParams, OAuthError>,
    posted: bool,
) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(e) => return page(p, &e, Locale::default()),
    };
    let locale = params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .unwrap_or_default();
    let req = match authorization::browser_request(p, issuer, &params).await {
        Ok(req) => req,
        Err(Refused::Page(e)) => return page(p, &e, locale),
        Err(Refused::Redirect(target, e)) => {
            return deliver_error(&target, &issuer.issuer, &e, StatusCode::FOUND);
        }
        Err(Refused::Store(e)) => return store_failure_page(p, &e),
    };
    let permission_token = params.get("login_hint_token");
    match respond(p, issuer, headers, &req, permission_token, posted).await {
        Ok(response) => response,
        Err(e) => store_failure_page(p, &e),
    }
}

/// With a valid request: what [`decide`] says, done.
async fn respond(
    p: &Provider,
    issuer: &Arc<Issuer>,
    headers: &HeaderMap,
    req: &ValidatedAuthorizeRequest,
    permission_token: Option<&str>,
    posted: bool,
) -> Result<Response, StoreError> {
    let redirect_error =
        |e: OAuthError| deliver_error(&req.target, &issuer.issuer, &e, StatusCode::FOUND);
    let session = current_session(p, headers).await?;
    // The hint is checked whenever it is sent.
    let hinted = match &req.id_token_hint {
        Some(token) => match hint::resolve(p, issuer, &req.client_id, token).await {
            Ok(h) => Some(h),
            Err(e) => return Ok(redirect_error(e)),
        },
        None => None,
    };
    let session_user = match session.as_ref().and_then(|s| s.user_id.as_deref()) {
        Some(user_id) => p.user(user_id).await?,
        None => None,
    };
    let browser = session.as_ref().map(|session| BrowserSession {
        session,
        user: session_user.as_deref(),
    });
    let decision = match issuer.kind {
        IssuerKind::Realm => decide(req, browser, hinted.as_ref(), p.now()),
        // Every login at BIS is approved in the app: no single sign-on.
        IssuerKind::Bis if req.prompt.none => Decision::Refuse(OAuthError::new(
            ErrorCode::LoginRequired,
            "prompt: 'none' was given but every login at the BankID with biometrics issuer is \
             approved in the app",
        )),
        IssuerKind::Bis => Decision::StartLogin,
    };
    // A session identifies its user without a login page: a scripted outcome ends that login
    // too (with prompt=none, a scripted login_required reads as a silent login refused).
    if let Decision::IssueCode(known) | Decision::AskConsent(known) = &decision
        && let Some(script) = p.store.take_login_script(&known.user_id).await?
    {
        return Ok(redirect_error(scripted_error(script, req.prompt.none)));
    }
    let start = match decision {
        Decision::Refuse(e) => return Ok(redirect_error(e)),
        Decision::IssueCode(known) => {
            let auth = Authentication {
                user_id: &known.user_id,
                session_id: &known.session_id,
                method: known.method,
                auth_time: known.auth_time,
                nnin_consent: false,
            };
            let code = issue_code(p, req, &auth).await?;
            return Ok(deliver(
                &req.target,
                &issuer.issuer,
                vec![("code", code)],
                StatusCode::FOUND,
            ));
        }
        Decision::AskConsent(known) => Start::Consent(known),
        // An NNIN login_hint pre-selects its user; else an id_token_hint does; at BIS, a
        // permission's login hint does first.
        Decision::StartLogin => {
            let user = match req.login_hint.as_ref().and_then(LoginHint::nnin) {
                Some(nnin) => p.store.user_by_nnin(nnin.as_str()).await?.map(Box::new),
                None => hinted.map(|h| Box::new(h.user)),
            };
            match permission_token {
                // Used last: a request refused by any other rule does not burn it.
                Some(token) => match login_hint_token::take(p, &req.client_id, token).await {
                    Ok(used) => Start::Identify {
                        user: used.user.map(Box::new).or(user),
                        permission: Some(Box::new(used.permission)),
                    },
                    Err(TokenRefused::Invalid(e)) => return Ok(redirect_error(e)),
                    Err(TokenRefused::Store(e)) => return Err(e),
                },
                None => Start::Identify {
                    user,
                    permission: None,
                },
            }
        }
    };
    // A flow is bound to the browser's session cookie. A browser without a session keeps the
    // pre-login cookie it has (so that two tabs can log in at once) or gets a new one; either
    // is sent again to last the flow's lifetime, and a login replaces it with a new session
    // cookie (no session fixation).
    let (cookie, pre_login) = match (session_cookie(headers), &session) {
        (Some(cookie), Some(_)) => (cookie, false),
        (Some(cookie), None) => (cookie, true),
        (None, _) => (random_token(), true),
    };
    let cookie_key = StoreKey::of(&cookie);
    let browser = BrowserBinding {
        cookie: &cookie_key,
        session_id: session.as_ref().map(|s| s.id.as_str()),
    };
    let active = flow::start(p, issuer, browser, req, start).await?;
    // A flow that starts at the app's approval goes on at once if the app has answered
    // already (a scripted answer without delay); the login's answer sets its own cookie.
    let active = match flow::poll(p, active).await {
        Submitted::Show(active, _) => *active,
        submitted => return Ok(crate::http::login_actions::answer(p, submitted).await),
    };
    // The first step's page at once for a GET, its form posting to the flow's own address (a
    // redirect there would cost the browser a round trip). A POSTed request is answered with
    // a redirect to that address, so that the Back button never asks to send it again.
    let mut response = if posted {
        crate::http::login_actions::to_step(p, &active, None)
    } else {
        crate::pages::login::show(p, &active, None).await
    };
    if pre_login {
        let value = set_session_cookie(
            &cookie,
            &issuer.path,
            p.config.flow_ttl,
            p.config.is_https(),
        );
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
