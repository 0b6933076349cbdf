//! The authorization endpoint (GET and POST): parse, validate with the core's rules, reuse the
//! browser's session where allowed, or start a login flow.

use crate::grants::{Authentication, issue_code};
use crate::http::IssuerOf;
use crate::http::cookie::{session_cookie, set_session_cookie};
use crate::http::form::is_form;
use crate::http::session::current_session;
use crate::id_token_hint;
use crate::issuer::Issuer;
use crate::login::flow::{self, BrowserBinding, Start};
use crate::pages::delivery::{deliver, deliver_error};
use crate::pages::render::{error_page, store_failure_page};
use crate::request_objects;
use crate::secret::random_token;
use crate::store::{Session, StoreError, Taken};
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bankid_oidc_core::authorize::{
    AuthorizeError, AuthorizeParams, ClientPolicy, ValidatedAuthorizeRequest, check_redirect,
    validate,
};
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::token_hash::{sha256_b64, store_key};
use bankid_oidc_core::{ErrorCode, OAuthError};
use std::sync::Arc;

pub async fn get(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = AuthorizeParams::from_urlencoded(query.unwrap_or_default().as_bytes());
    authorize(&p, &issuer, &headers, params).await
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
) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(e) => return page(p, &e, Locale::default()),
    };
    let locale = params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .unwrap_or_default();
    let client_id = match params.client_id() {
        Ok(id) => id,
        Err(e) => return page(p, &e, locale),
    };
    let client = match p.client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            let e = OAuthError::invalid_request(format!(
                "client_id: no client '{client_id}' is registered"
            ));
            return page(p, &e, locale);
        }
        Err(e) => return store_failure_page(p, &e),
    };
    // A pushed request: everything was validated at the PAR endpoint.
    if let Some(request_uri) = params.get("request_uri") {
        return match take_pushed(p, issuer, &client.client_id, request_uri).await {
            Ok(req) => match continue_login(p, issuer, headers, &req).await {
                Ok(response) => response,
                Err(e) => store_failure_page(p, &e),
            },
            Err(e) => page(p, &e, locale),
        };
    }
    // Until the redirect_uri is proven, request object errors are shown on a page.
    let resolved = match request_objects::resolve(p, issuer, &client, &params, false).await {
        Ok(resolved) => resolved,
        Err(e) => return page(p, &e, locale),
    };
    let policy = ClientPolicy {
        client_id: &client.client_id,
        redirect_uris: &client.redirect_uris,
        scopes: &client.scopes,
    };
    let validated = check_redirect(&resolved.params, &policy).and_then(|target| {
        if client.require_pushed_authorization_requests {
            let e = OAuthError::invalid_request(format!(
                "request_uri: client '{}' must push its authorization requests (PAR, RFC 9126)",
                client.client_id
            ));
            return Err(AuthorizeError::Redirect(Box::new(target), e));
        }
        validate(&resolved.params, &policy, &target, resolved.channel)
    });
    let req = match validated {
        Ok(req) => ValidatedAuthorizeRequest {
            issuer: issuer.id.clone(),
            ..req
        },
        Err(AuthorizeError::Page(e)) => return page(p, &e, locale),
        Err(AuthorizeError::Redirect(target, e)) => {
            return deliver_error(&target, &issuer.issuer, &e, StatusCode::FOUND);
        }
    };
    match continue_login(p, issuer, headers, &req).await {
        Ok(response) => response,
        Err(e) => store_failure_page(p, &e),
    }
}

/// The URN prefix of the request_uris this provider hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Takes (consumes) a pushed request of this client, pushed to this issuer.
async fn take_pushed(
    p: &Provider,
    issuer: &Issuer,
    client_id: &str,
    request_uri: &str,
) -> Result<ValidatedAuthorizeRequest, OAuthError> {
    let invalid =
        |d: &str| OAuthError::new(ErrorCode::InvalidRequestUri, format!("request_uri: {d}"));
    let token = request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|_| request_uri.len() <= 200)
        .ok_or_else(|| {
            invalid("not a request_uri from this provider's pushed authorization request endpoint")
        })?;
    let taken = p
        .store
        .take_pushed_request(&store_key(token), client_id, p.now())
        .await
        .map_err(|_| OAuthError::server_error("the provider could not read its store"))?;
    match taken {
        Taken::Request(json) => {
            let req: ValidatedAuthorizeRequest = serde_json::from_str(&json)
                .map_err(|_| OAuthError::server_error("a stored pushed request is unreadable"))?;
            if !issuer.made(&req.issuer) {
                return Err(invalid("was pushed to another issuer"));
            }
            Ok(req)
        }
        Taken::Used => Err(invalid("already used; a request_uri is single-use")),
        Taken::Expired => Err(invalid("expired; push the request again")),
        Taken::OtherClient => Err(invalid("was pushed by another client")),
        Taken::Unknown => Err(invalid("unknown")),
    }
}

/// With a valid request: answer at once (SSO, or identification skipped by id_token_hint),
/// ask only for consent, or start a login flow.
async fn continue_login(
    p: &Provider,
    issuer: &Arc<Issuer>,
    headers: &HeaderMap,
    req: &ValidatedAuthorizeRequest,
) -> Result<Response, StoreError> {
    let now = p.now();
    let redirect_error =
        |e: OAuthError| deliver_error(&req.target, &issuer.issuer, &e, StatusCode::FOUND);
    let session = current_session(p, headers).await?;
    let consent = flow::needs_consent(req);

    // Who is already known, and in which session: the browser's single sign-on, or the login an
    // id_token_hint names (seed 001). The hint is checked whenever it is sent. It skips
    // identification only for what seed 001 describes, a consent to share the NNIN, and only in
    // the browser that presents the live session the hint's `sid` names, for the same user: an
    // ID token alone is not a login (every merchant holds its users' ID tokens). Otherwise the
    // hint pre-selects its user, who identifies as usual.
    let hinted = match &req.id_token_hint {
        Some(token) => match id_token_hint::resolve(p, issuer, &req.client_id, token).await {
            Ok(h) => Some(h),
            Err(e) => return Ok(redirect_error(e)),
        },
        None => None,
    };
    let hint_may_skip = req.scope.contains("nnin") && req.authorization_details.is_none();
    let hinted_user = hinted.as_ref().map(|h| h.user.id.clone());
    let known = match (&hinted, &session) {
        (Some(h), Some(s)) if hint_may_skip && h.names_live_session(s) => s
            .method
            .zip(s.auth_time)
            .map(|(method, auth_time)| (h.user.id.clone(), method, s.id.clone(), auth_time)),
        (_, Some(s)) => reusable(p, s, req, now)
            .await?
            .map(|a| (a.user_id.to_owned(), a.method, s.id.clone(), a.auth_time))
            // A session of another user than the hint names does not serve the request.
            .filter(|(user_id, ..)| hinted_user.as_ref().is_none_or(|hinted| hinted == user_id)),
        (_, None) => None,
    };
    if let Some((user_id, method, session_id, auth_time)) = &known
        && !consent
    {
        // The tokens keep the session's authentication time: nobody authenticated now.
        let auth = Authentication {
            user_id,
            session_id,
            method: *method,
            auth_time: *auth_time,
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
    if req.prompt.none {
        let e = if known.is_some() {
            OAuthError::new(
                ErrorCode::ConsentRequired,
                "prompt: 'none' was given but the user must consent",
            )
        } else {
            OAuthError::new(
                ErrorCode::LoginRequired,
                "prompt: 'none' was given but the user must log in",
            )
        };
        return Ok(redirect_error(e));
    }
    // A flow is bound to the browser's session cookie. A browser without a session keeps the
    // pre-login cookie it has (so that two tabs can log in at once) or gets a new one; either
    // is sent again to last the flow's lifetime, and a login replaces it with a new session
    // cookie (no session fixation).
    let (cookie, pre_login) = match (session_cookie(headers), &session) {
        (Some(cookie), Some(_)) => (cookie, false),
        (Some(cookie), None) => (cookie, true),
        (None, _) => (random_token(), true),
    };
    let cookie_hash = sha256_b64(&cookie);
    // An NNIN login_hint pre-selects its user; else an id_token_hint does.
    let preselected = match req.login_hint.as_ref().and_then(LoginHint::nnin) {
        Some(nnin) => p.store.user_by_nnin(nnin.as_str()).await?,
        None => hinted.map(|h| h.user),
    };
    let start = match &known {
        Some((user_id, method, session_id, auth_time)) => Start::Consent {
            user_id,
            method: *method,
            session_id,
            auth_time: *auth_time,
        },
        None => Start::Identify {
            user: preselected.as_ref(),
        },
    };
    let browser = BrowserBinding {
        cookie_hash: &cookie_hash,
        session_id: session.as_ref().map(|s| s.id.as_str()),
    };
    let active = flow::start(p, issuer, browser, req, start);
    // The first step's page at once, its form posting to the flow's own address: a redirect
    // to that address would cost the browser a round trip.
    let mut response = crate::pages::login::show(p, &active, None).await;
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

/// Single sign-on: the session's login serves this request unless `prompt=login`, `max_age`, or
/// the requested methods say otherwise.
async fn reusable<'a>(
    p: &Provider,
    session: &'a Session,
    req: &ValidatedAuthorizeRequest,
    now: i64,
) -> Result<Option<Authentication<'a>>, StoreError> {
    let (Some(user_id), Some(method), Some(auth_time)) =
        (&session.user_id, session.method, session.auth_time)
    else {
        return Ok(None);
    };
    if req.prompt.login || !req.methods.contains(&method) {
        return Ok(None);
    }
    if req.max_age.is_some_and(|max_age| {
        now.saturating_sub(auth_time) > i64::try_from(max_age).unwrap_or(i64::MAX)
    }) {
        return Ok(None);
    }
    // The user must still exist, and be the one a login_hint names, if it names one.
    let Some(user) = p.user(user_id).await? else {
        return Ok(None);
    };
    if req
        .login_hint
        .as_ref()
        .and_then(LoginHint::nnin)
        .is_some_and(|nnin| nnin.as_str() != user.nnin)
    {
        return Ok(None);
    }
    Ok(Some(Authentication {
        user_id,
        session_id: &session.id,
        method,
        auth_time,
        nnin_consent: false,
    }))
}
