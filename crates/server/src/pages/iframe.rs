//! The pages of the iframe flow (`login::iframe`): the NNIN step, the wait for the app, the way
//! back to the merchant, and the flow's errors. Each may be framed by the flow's
//! `frame_ancestor` only, and runs one script from the provider's origin (`assets/iframe.js`)
//! that reads what it needs from the `data-` attributes of `#iframe-flow`.

use super::login::notice_text;
use super::render::{error_page, framed_csp, render_framed};
use super::texts::{IframeTexts, Texts, iframe_texts, texts};
use crate::Provider;
use crate::issuer::{Endpoint, Issuer};
use crate::login::flow::{ActiveFlow, Notice};
use crate::login::iframe::{Outcome, Refused};
use crate::store::Step;
use askama::Template;
use aws_lc_rs::digest::{SHA256, digest};
use axum::http::StatusCode;
use axum::response::Response;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::locale::Locale;
use std::fmt::Write;
use std::sync::LazyLock;

/// The script of every page of the flow.
pub const SCRIPT: &str = include_str!("../../assets/iframe.js");

/// The script's version in its address, so that it can be cached for long.
pub static SCRIPT_VERSION: LazyLock<String> = LazyLock::new(|| {
    digest(&SHA256, SCRIPT.as_bytes())
        .as_ref()
        .iter()
        .take(6)
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
});

#[derive(Template)]
#[template(path = "iframe.html")]
struct FramePage<'a> {
    t: &'a Texts,
    it: &'a IframeTexts,
    title: &'a str,
    css_url: &'a str,
    script_url: &'a str,
    frame_ancestor: &'a str,
    /// `identify`, `waiting`, `leave` or `error`: what the script does.
    state: &'a str,
    /// The page at the single-use address: the script checks the referrer and posts the
    /// initialization events.
    initial: bool,
    client_name: Option<&'a str>,
    error: Option<String>,
    action: &'a str,
    csrf: &'a str,
    step: &'a str,
    nnin: &'a str,
    binding_message: Option<&'a str>,
    status_url: Option<&'a str>,
    redirect: Option<&'a str>,
    outcome: Option<&'a str>,
    /// Without JavaScript: where the page goes on (a `<noscript>` meta refresh).
    refresh_url: Option<&'a str>,
}

fn script_url(issuer: &Issuer) -> String {
    format!(
        "{}?v={}",
        issuer.route(Endpoint::IframeScript),
        *SCRIPT_VERSION
    )
}

pub(crate) fn flow_url(
    issuer: &Issuer,
    endpoint: Endpoint,
    flow_id: &str,
    frame_key: &str,
) -> String {
    let path = issuer.route(endpoint).replace("{flow_id}", flow_id);
    let query = serde_urlencoded::to_string([("k", frame_key)]).unwrap_or_default();
    format!("{path}?{query}")
}

/// The flow's step in the frame whose key is `frame_key`.
pub async fn show(
    p: &Provider,
    active: &ActiveFlow,
    frame_key: &str,
    initial: bool,
    notice: Option<Notice>,
) -> Response {
    let req = active.request();
    let t = texts(req.locale);
    let flow = &active.flow;
    let Some(frame_ancestor) = flow.frame_ancestor.as_deref() else {
        return super::login::flow_error_page(p, "login: not an iframe login");
    };
    let issuer = active.issuer();
    let client_name = p
        .client(&req.client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.name.clone());
    // The NNIN, pre-filled from the permission's login hint.
    let nnin = match (&flow.permission_id, flow.step) {
        (Some(id), Step::Nnin) => p
            .store
            .permission(id)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.login_hint_nnin),
        _ => None,
    };
    let waiting = flow.step == Step::Approve;
    let action = flow_url(issuer, Endpoint::IframePage, &flow.id, frame_key);
    let status_url = flow_url(issuer, Endpoint::IframeStatus, &flow.id, frame_key);
    let css = p.css_path();
    let script = script_url(issuer);
    let page = FramePage {
        t,
        it: iframe_texts(req.locale),
        title: if waiting {
            t.title_approve
        } else {
            t.title_nnin
        },
        css_url: &css,
        script_url: &script,
        frame_ancestor,
        state: if waiting { "waiting" } else { "identify" },
        initial,
        client_name: client_name.as_deref(),
        error: notice.map(|n| notice_text(t, &n)),
        action: &action,
        csrf: &flow.csrf,
        step: flow.step.as_str(),
        nnin: nnin.as_deref().unwrap_or(""),
        binding_message: flow.binding_message.as_deref(),
        status_url: waiting.then_some(status_url.as_str()),
        redirect: None,
        outcome: None,
        refresh_url: waiting.then_some(action.as_str()),
    };
    render_framed(StatusCode::OK, &page, &framed_csp(frame_ancestor, "'self'"))
}

/// The way back to the merchant: the script posts the outcome's events, then goes to
/// `location`.
pub fn leave(
    p: &Provider,
    issuer: &Issuer,
    locale: Locale,
    frame_ancestor: &str,
    outcome: Outcome,
    location: &str,
) -> Response {
    let t = texts(locale);
    let css = p.css_path();
    let script = script_url(issuer);
    let page = FramePage {
        t,
        it: iframe_texts(locale),
        title: t.title_approve,
        css_url: &css,
        script_url: &script,
        frame_ancestor,
        state: "leave",
        initial: false,
        client_name: None,
        error: None,
        action: "",
        csrf: "",
        step: "",
        nnin: "",
        binding_message: None,
        status_url: None,
        redirect: Some(location),
        outcome: Some(outcome.as_str()),
        refresh_url: Some(location),
    };
    render_framed(StatusCode::OK, &page, &framed_csp(frame_ancestor, "'self'"))
}

/// A refusal of the flow's address or page: framed by the flow's origin when it names one (the
/// script posts `initialization_errored` or `authorization_errored`), else refused to frames.
pub fn refused(p: &Provider, issuer: &Issuer, refused: &Refused, initial: bool) -> Response {
    let locale = Locale::default();
    let t = texts(locale);
    let css = p.css_path();
    let script = script_url(issuer);
    let page = FramePage {
        t,
        it: iframe_texts(locale),
        title: t.title_error,
        css_url: &css,
        script_url: &script,
        frame_ancestor: refused.frame_ancestor.as_deref().unwrap_or(""),
        state: "error",
        initial,
        client_name: None,
        error: Some(refused.why.description().to_owned()),
        action: "",
        csrf: "",
        step: "",
        nnin: "",
        binding_message: None,
        status_url: None,
        redirect: None,
        outcome: None,
        refresh_url: None,
    };
    match &refused.frame_ancestor {
        Some(origin) => render_framed(
            StatusCode::BAD_REQUEST,
            &page,
            &framed_csp(origin, "'self'"),
        ),
        None => error_page(
            StatusCode::BAD_REQUEST,
            &OAuthError::invalid_request(refused.why.description()),
            locale,
            &css,
        ),
    }
}
