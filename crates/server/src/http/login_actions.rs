//! The login pages' endpoint: GET shows the flow's current step, POST submits it.

use crate::AppState;
use crate::http::IssuerOf;
use crate::http::cookie::session_cookie;
use crate::http::form::is_form;
use crate::issuer::Issuer;
use crate::login::flow::{self, LoginForm, flow_error_page};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bankid_oidc_core::token_hash::sha256_b64;
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
    let cookie_hash = session_cookie(headers).map(|c| sha256_b64(&c));
    let sealed = sealed(query);
    flow::load(
        p,
        issuer,
        flow_id,
        sealed.as_deref(),
        cookie_hash.as_deref(),
    )
    .await
}

pub async fn show(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    Path(flow_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match load(&p, &issuer, &flow_id, query.as_deref(), &headers).await {
        Ok(active) => flow::show(&p, &active, None).await,
        Err(response) => response,
    }
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
        Ok(active) => flow::submit(&p, active, form).await,
        Err(response) => response,
    }
}
