//! The login pages' endpoint: GET shows the flow's current step (or, when the app has answered
//! the step that waits for it, what the answer leads to), POST submits it; the state
//! machine (`login::flow`) decides, and this answers with a page, a redirect and a cookie.

use crate::http::IssuerOf;
use crate::http::cookie::session_cookie;
use crate::http::cookie::set_session_cookie;
use crate::http::form::is_form;
use crate::issuer::Issuer;
use crate::login::flow::{self, LoadError, LoginForm, Submitted};
use crate::pages::delivery::{deliver, deliver_error};
use crate::pages::login::{flow_error_page, refused, show as show_step};
use crate::pages::render::store_failure_page;
use crate::store::StoreKey;
use crate::{AppState, Provider};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;
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
    match load(&p, &issuer, &flow_id, query.as_deref(), &headers).await {
        // A flow waiting for the app goes on as soon as the app has answered.
        Ok(active) => answer(&p, flow::poll(&p, active).await).await,
        Err(response) => response,
    }
}

pub async fn submit(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
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
        Ok(mut active) => {
            // Where the first step comes from: one address holds a bounded share of the logins
            // in progress (see `store::flows`). A kept flow keeps the address it was counted
            // under, so that its end gives that place back.
            if let (None, Some(Extension(ConnectInfo(peer)))) = (&active.flow.source, peer) {
                active.flow.source = Some(peer.ip().to_string());
            }
            let submitted = match flow::submit(&p, active, form).await {
                // A step that leads to the app's approval goes on at once if the app has
                // answered already (a scripted answer without delay).
                Submitted::Show(active, None) => flow::poll(&p, *active).await,
                submitted => submitted,
            };
            answer(&p, submitted).await
        }
        Err(response) => response,
    }
}

/// The answer to a posted step, or to a flow the app moved on.
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
