//! The login pages' endpoint: GET shows the flow's current step (or, when the app has answered
//! the step that waits for it, what the answer leads to), POST submits it; the state
//! machine (`login::flow`) decides, and this answers with a page, a redirect and a cookie.
//!
//! Post/redirect/get: a posted step never answers with a page. A step shown next (or again)
//! is a 303 to the flow's address, whose GET shows it, so that the Back button and a reload
//! never ask to send a form again. A notice and the values the user typed (a refused NNIN stays
//! in its field) travel to that GET sealed in a cookie scoped to the flow's address that lives a
//! minute and is read once: an NNIN is never put in an address. A redirect costs the browser a
//! round trip per step; BENCHMARKS.md counts it.

use crate::http::IssuerOf;
use crate::http::cookie::{carried_cookie, session_cookie, set_carried_cookie, set_session_cookie};
use crate::http::form::is_form;
use crate::issuer::Issuer;
use crate::login::flow::{self, ActiveFlow, CARRIED_TTL, LoadError, LoginForm, Notice, Submitted};
use crate::pages::delivery::{deliver, deliver_error};
use crate::pages::login::{flow_error_page, refused, show as show_step};
use crate::pages::render::store_failure_page;
use crate::store::StoreKey;
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn well_formed(flow_id: &str) -> bool {
    flow_id.len() == 43
        && flow_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The sealed flow in the address's query (`?seal=...`), for a flow not kept yet.
fn sealed(query: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find_map(|(name, value)| (name == "seal").then_some(value))
}

async fn load(
    p: &AppState,
    issuer: &Arc<Issuer>,
    flow_id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<flow::ActiveFlow, Response> {
    if !well_formed(flow_id) {
        return Err(flow_error_page(p, "login: no such login"));
    }
    let cookie = session_cookie(headers).map(|c| StoreKey::of(&c));
    let sealed = sealed(query);
    flow::load(p, issuer, flow_id, sealed.as_deref(), cookie.as_ref())
        .await
        .map_err(|e| match e {
            LoadError::Refused(refusal) => refused(p, refusal),
            LoadError::Store(e) => store_failure_page(p, &e),
        })
}

pub async fn show(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let carried = carried_cookie(&headers);
    let mut active = match load(&p, &issuer, &flow_id, query.as_deref(), &headers).await {
        Ok(active) => active,
        Err(response) => return response,
    };
    let notice = carried
        .as_deref()
        .and_then(|sealed| flow::take_carried(&p, &mut active, sealed));
    let path = active.path();
    // A flow waiting for the app goes on as soon as the app has answered.
    let mut response = match flow::poll(&p, active).await {
        Submitted::Show(active, None) => show_step(&p, &active, notice).await,
        submitted => answer(&p, submitted).await,
    };
    // Read once: a reload shows the step without the notice.
    if carried.is_some() {
        let clear = set_carried_cookie("", &path, 0, p.config.is_https());
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// A posted step's answer when the flow is shown next: a redirect to its address, with what
/// the page is to say carried in a cookie for that address.
pub(crate) fn to_step(p: &Provider, active: &ActiveFlow, notice: Option<Notice>) -> Response {
    let location = HeaderValue::from_str(&active.action()).expect("flow addresses are ASCII");
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    if let Some(notice) = notice {
        let sealed = flow::carry(p, active, notice);
        let cookie = set_carried_cookie(&sealed, &active.path(), CARRIED_TTL, p.config.is_https());
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn submit(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return flow_error_page(
            &p,
            "login: the form must be sent as application/x-www-form-urlencoded",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return flow_error_page(&p, "login: the form could not be read");
    };
    match load(&p, &issuer, &flow_id, query.as_deref(), &headers).await {
        Ok(active) => {
            let submitted = match flow::submit(&p, active, form).await {
                // A step that leads to the app's approval goes on at once if the app has
                // answered already (a scripted answer without delay).
                Submitted::Show(active, None) => flow::poll(&p, *active).await,
                submitted => submitted,
            };
            match submitted {
                Submitted::Show(active, notice) => to_step(&p, &active, notice),
                submitted => answer(&p, submitted).await,
            }
        }
        Err(response) => response,
    }
}

/// What a flow leads to, shown at once: a step's page (for a GET), a refusal, or the answer
/// for the client.
pub(crate) async fn answer(p: &Provider, submitted: Submitted) -> Response {
    match submitted {
        Submitted::Show(active, message) => show_step(p, &active, message).await,
        Submitted::Refused(refusal) => refused(p, refusal),
        Submitted::Failed {
            target,
            issuer,
            error,
        } => deliver_error(&target, &issuer.issuer, &error, StatusCode::SEE_OTHER),
        Submitted::Completed {
            target,
            issuer,
            code,
            session_cookie,
        } => {
            let mut response = deliver(
                &target,
                &issuer.issuer,
                vec![("code", code)],
                StatusCode::SEE_OTHER,
            );
            if let Some(cookie) = session_cookie {
                let value = set_session_cookie(
                    &cookie,
                    &issuer.path,
                    p.config.session_ttl,
                    p.config.is_https(),
                );
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Submitted::Store(e) => store_failure_page(p, &e),
    }
}
