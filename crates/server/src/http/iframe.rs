//! The iframe flow (BIS, seed 004), thin: `POST iframe-authorize` (a merchant's backend, JSON),
//! the flow's page at its single-use address and its forms, the status its script polls, and
//! the script. What is decided is `login::iframe`'s; what is shown is `pages::iframe`'s.
//!
//! `iframe-authorize` answers:
//!
//! | case | status | body |
//! | --- | --- | --- |
//! | no or bad token | 401 | `{"error":"invalid_token"}` + `WWW-Authenticate` |
//! | token without `permissions/iframe` | 403 | `{"error":"insufficient_scope"}` |
//! | not a form, a field that breaks a rule, a bad `login_hint_token` | 400 | `{"error":"invalid_request"\|"invalid_scope"\|..., "error_description"}` |
//! | accepted | 200 | `{"authorize_uri","expires_in":60}` |

use crate::AppState;
use crate::authorization::login_hint_token::{self, TokenRefused};
use crate::authorization::{Refused as RequestRefused, biometrics_request};
use crate::http::IssuerOf;
use crate::http::form::is_form;
use crate::http::permissions::bearer;
use crate::issuer::Endpoint;
use crate::issuer::Issuer;
use crate::login::flow::{self, LoginForm, Submitted};
use crate::login::iframe::{self, FrameAncestor, Framed, Refused, URI_TTL, Unusable};
use crate::pages::iframe::{SCRIPT, flow_url, leave, refused, show as show_page};
use crate::pages::render::store_failure_page;
use crate::permissions::{self, PermissionsError};
use crate::{Provider, store::StoreError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::authorize::AuthorizeParams;
use bankid_oidc_core::locale::Locale;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// The scope a token needs to call `iframe-authorize` (seed 004).
pub const IFRAME_SCOPE: &str = "permissions/iframe";

/// `POST {iframe_authorize_endpoint}`.
pub async fn authorize(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match bearer(&headers) {
        Ok(token) => permissions::authenticate_for(&p, token, IFRAME_SCOPE).await,
        Err(e) => Err(e),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(e) => return bearer_refusal(&p, e),
    };
    if !is_form(&headers) {
        return invalid(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form = match AuthorizeParams::from_urlencoded(&body) {
        Ok(form) => form,
        Err(e) => return invalid(e),
    };
    let client_id = caller.client.client_id.clone();
    // The request is the token's client's, for a code in the query: the form may repeat
    // these, not change them.
    for (name, implied) in [
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("response_mode", "query"),
    ] {
        if form.get(name).is_some_and(|v| v != implied) {
            return invalid(OAuthError::invalid_request(format!(
                "{name}: the iframe flow implies '{implied}'"
            )));
        }
    }
    let frame_ancestor = match form.get("frame_ancestor").map(FrameAncestor::parse) {
        Some(Ok(origin)) => origin,
        Some(Err(rule)) => return invalid(OAuthError::invalid_request(rule)),
        None => {
            return invalid(OAuthError::invalid_request(
                "frame_ancestor: missing (the origin of the page that frames the flow)",
            ));
        }
    };
    let Some(permission_token) = form.get("login_hint_token").map(str::to_owned) else {
        return invalid(OAuthError::invalid_request(
            "login_hint_token: missing (the permissionToken of a registered permission)",
        ));
    };
    let pairs = form
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "frame_ancestor" | "client_id" | "response_type"
            )
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .chain([
            ("client_id".to_owned(), client_id.clone()),
            ("response_type".to_owned(), "code".to_owned()),
        ]);
    let params = match AuthorizeParams::from_pairs(pairs) {
        Ok(params) => params,
        Err(e) => return invalid(e),
    };
    let req = match biometrics_request(&issuer, &caller.client, &params) {
        Ok(req) => req,
        Err(RequestRefused::Page(e) | RequestRefused::Redirect(_, e)) => return invalid(e),
        Err(RequestRefused::Store(e)) => return json_store_failure(&p, &e),
    };
    // Used last: a request refused by any other rule does not burn the permission.
    let used = match login_hint_token::take(&p, &client_id, &permission_token).await {
        Ok(used) => used,
        Err(TokenRefused::Invalid(e)) => return invalid(e),
        Err(TokenRefused::Store(e)) => return json_store_failure(&p, &e),
    };
    match iframe::prepare(&p, &issuer, &req, used.permission, &frame_ancestor).await {
        Ok(authorize_uri) => no_store(
            Json(json!({ "authorize_uri": authorize_uri, "expires_in": URI_TTL })).into_response(),
        ),
        Err(e) => json_store_failure(&p, &e),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn invalid(e: OAuthError) -> Response {
    no_store(
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e.code.as_str(), "error_description": e.description })),
        )
            .into_response(),
    )
}

fn json_store_failure(p: &Provider, e: &StoreError) -> Response {
    p.store_failed(e);
    let e = OAuthError::server_error("the provider could not complete the request");
    no_store(
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.code.as_str(), "error_description": e.description })),
        )
            .into_response(),
    )
}

/// A refused bearer token (RFC 6750 section 3), as the permissions API answers it.
fn bearer_refusal(p: &Provider, e: PermissionsError) -> Response {
    let (status, code, description) = match e {
        PermissionsError::InvalidToken(d) => (StatusCode::UNAUTHORIZED, "invalid_token", d),
        PermissionsError::InsufficientScope => (
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("access token: the scope {IFRAME_SCOPE} is required"),
        ),
        PermissionsError::Store(e) => return json_store_failure(p, &e),
        other => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{other:?}"),
        ),
    };
    let mut response = no_store(
        (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response(),
    );
    let challenge = format!(
        "Bearer realm=\"{}\", error=\"{code}\", error_description=\"{}\"",
        p.issuers.bis().issuer,
        description.replace(['"', '\\'], "'")
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn well_formed(flow_id: &str) -> bool {
    flow_id.len() == 43
        && flow_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A parameter of the address's query (`seal`, `k`).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find_map(|(n, value)| (n == name).then_some(value))
}

fn unknown() -> Refused {
    Refused {
        why: Unusable::Unknown,
        frame_ancestor: None,
    }
}

/// `GET {page}/{flow_id}?seal=...` opens the single-use address; `?k=...` shows the flow to the
/// frame that opened it (the page's reload without JavaScript).
pub async fn show(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Response {
    if !well_formed(&flow_id) {
        return refused(&p, &issuer, &unknown(), true);
    }
    if let Some(sealed) = query_param(query.as_deref(), "seal") {
        let source = peer.map(|Extension(ConnectInfo(peer))| peer.ip().to_string());
        return match iframe::open(&p, &issuer, &flow_id, &sealed, source).await {
            Ok(Ok(opened)) => show_page(&p, &opened.active, &opened.frame_key, true, None).await,
            Ok(Err(r)) => refused(&p, &issuer, &r, true),
            Err(e) => store_failure_page(&p, &e),
        };
    }
    let key = query_param(query.as_deref(), "k");
    let active = match iframe::load(&p, &issuer, &flow_id, key.as_deref()).await {
        Ok(Ok(active)) => active,
        Ok(Err(r)) => return refused(&p, &issuer, &r, false),
        Err(e) => return store_failure_page(&p, &e),
    };
    let mut active = active;
    // What a posted step carried to this page (post/redirect/get, see `submit`).
    let notice = query_param(query.as_deref(), "n")
        .and_then(|sealed| flow::take_carried(&p, &mut active, &sealed));
    let context = Context::of(&active, key.unwrap_or_default());
    let app_request = active.flow.app_request_id.clone();
    let submitted = flow::poll(&p, active).await;
    let framed = match iframe::framed(&p, app_request.as_deref(), submitted).await {
        Framed::Show(active, None) => Framed::Show(active, notice),
        framed => framed,
    };
    context.answer(&p, &issuer, framed).await
}

/// A posted step whose flow is shown next: post/redirect/get, as on the login pages, so that
/// the Back button never asks to post the frame's form again. The frame is another site's, so
/// the browser may send it no cookie: the notice travels sealed in the address (`n`), without
/// what was typed (never an NNIN in an address; the NNIN field is filled from the permission).
fn to_frame_step(
    p: &Provider,
    issuer: &Issuer,
    active: &mut flow::ActiveFlow,
    frame_key: &str,
    notice: Option<flow::Notice>,
) -> Response {
    let mut location = flow_url(issuer, Endpoint::IframePage, &active.flow.id, frame_key);
    if let Some(notice) = notice {
        active.entered = flow::Entered::default();
        let sealed = flow::carry(p, active, notice);
        location.push_str(&format!("&n={sealed}"));
    }
    let location = HeaderValue::from_str(&location).expect("flow addresses are ASCII");
    no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// `POST {page}/{flow_id}?k=...`: a step's form.
pub async fn submit(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !well_formed(&flow_id) {
        return refused(&p, &issuer, &unknown(), false);
    }
    let key = query_param(query.as_deref(), "k");
    let active = match iframe::load(&p, &issuer, &flow_id, key.as_deref()).await {
        Ok(Ok(active)) => active,
        Ok(Err(r)) => return refused(&p, &issuer, &r, false),
        Err(e) => return store_failure_page(&p, &e),
    };
    let context = Context::of(&active, key.unwrap_or_default());
    let form = match is_form(&headers)
        .then(|| serde_urlencoded::from_bytes::<LoginForm>(&body).ok())
        .flatten()
    {
        Some(form) => form,
        None => {
            return show_page(&p, &active, &context.frame_key, false, None).await;
        }
    };
    let mut app_request = active.flow.app_request_id.clone();
    let submitted = match flow::submit(&p, active, form).await {
        // The NNIN step asked the app: it goes on at once if the app has answered already.
        Submitted::Show(active, None) => {
            app_request = active.flow.app_request_id.clone();
            flow::poll(&p, *active).await
        }
        submitted => submitted,
    };
    match iframe::framed(&p, app_request.as_deref(), submitted).await {
        Framed::Show(mut active, notice) => {
            to_frame_step(&p, &issuer, &mut active, &context.frame_key, notice)
        }
        framed => context.answer(&p, &issuer, framed).await,
    }
}

/// `GET {page}/{flow_id}/status?k=...`: where the waiting login stands, for the page's script.
pub async fn status(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let errored = |description: &str| {
        no_store(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "status": "errored", "error_description": description })),
            )
                .into_response(),
        )
    };
    if !well_formed(&flow_id) {
        return errored(Unusable::Unknown.description());
    }
    let key = query_param(query.as_deref(), "k");
    let active = match iframe::load(&p, &issuer, &flow_id, key.as_deref()).await {
        Ok(Ok(active)) => active,
        Ok(Err(r)) => return errored(r.why.description()),
        Err(e) => return json_store_failure(&p, &e),
    };
    match iframe::status(&p, active).await {
        Framed::Show(..) => no_store(Json(json!({ "status": "pending" })).into_response()),
        Framed::Leave { outcome, location } => no_store(
            Json(json!({ "status": outcome.as_str(), "redirect_uri": location })).into_response(),
        ),
        Framed::Refused(r) => errored(r.description()),
        Framed::Store(e) => json_store_failure(&p, &e),
    }
}

/// `GET {page}/iframe.js`: the flow's script, cached for long (its address carries its
/// version).
pub async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What an answer in the frame needs from the flow, kept before a step consumes it.
struct Context {
    frame_key: String,
    frame_ancestor: Option<String>,
    locale: Locale,
}

impl Context {
    fn of(active: &flow::ActiveFlow, frame_key: String) -> Context {
        Context {
            frame_key,
            frame_ancestor: active.flow.frame_ancestor.clone(),
            locale: active.request().locale,
        }
    }

    async fn answer(&self, p: &Provider, issuer: &Arc<Issuer>, framed: Framed) -> Response {
        let frame_ancestor = self.frame_ancestor.as_deref().unwrap_or_default();
        match framed {
            Framed::Show(active, notice) => {
                show_page(p, &active, &self.frame_key, false, notice).await
            }
            Framed::Leave { outcome, location } => {
                leave(p, issuer, self.locale, frame_ancestor, outcome, &location)
            }
            Framed::Refused(r) => refused(
                p,
                issuer,
                &Refused {
                    why: Unusable::Refused(r),
                    frame_ancestor: self.frame_ancestor.clone(),
                },
                false,
            ),
            Framed::Store(e) => store_failure_page(p, &e),
        }
    }
}
