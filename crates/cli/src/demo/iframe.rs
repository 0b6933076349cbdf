//! The iframe flow (seed 004) in the demo: the backend takes a machine token with
//! `permissions/client permissions/iframe`, registers a payment permission with the `iframe`
//! intent (and the NNIN typed on the start page as its login hint), asks `iframe-authorize` for
//! the single-use address through `Client::iframe_authorize`, and answers with a page that frames
//! it and lists the analytics events as the frame posts them (`assets/iframe.js`, a file from the
//! demo's own origin, no inline script). The frame ends at the demo's `/callback`, whose page for
//! this flow (`assets/iframe-done.js`) sends the whole window to `/result`.
//!
//! Only the pages of this flow allow script, and each only its own file: the iframe page gets
//! `script-src 'self'` and `frame-src` of the provider's origin (and the demo's, where the frame
//! ends), and `Referrer-Policy: origin`, since the provider checks the referrer's origin against
//! `frame_ancestor`; `/callback` may be framed by the demo's own origin.

use super::Demo;
use super::flows::{Flow, StartError};
use super::pages::{self, Lang, esc};
use super::routes;
use super::session::Pending;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_client::bis::PermissionRequest;
use bankid_oidc_client::core::nnin::Nnin;
use bankid_oidc_client::core::permission::{Payment, PaymentStatement, Statement};
use bankid_oidc_client::{IframeAuthorization, IframeRequest};
use bankid_oidc_server::secret::random_token;
use std::collections::HashMap;
use std::sync::Arc;

pub const SCRIPT: &str = include_str!("assets/iframe.js");
pub const DONE_SCRIPT: &str = include_str!("assets/iframe-done.js");

/// The NNIN of the first test user `bankid-oidc serve` seeds (Kari Nordmann, synthetic: see
/// `bankid_oidc_server::seed::test_users`), offered as the login hint.
pub fn first_test_user_nnin() -> String {
    Nnin::synthetic(1985, 3, 15, 400).as_str().to_owned()
}

/// Scopes of the iframe login: as a BIS login.
const SCOPES: &[&str] = &["profile", "sub_nnin", "sub_bankid"];

/// Registers the permission and asks for the address to frame.
pub async fn start_flow(
    demo: &Demo,
    lang: Lang,
    nnin: Option<&str>,
) -> Result<(Pending, IframeAuthorization), StartError> {
    let token = demo
        .realm
        .client_credentials(&["permissions/client", "permissions/iframe"])
        .await?;
    let statement = Statement::Payment(PaymentStatement {
        nonce: random_token(),
        id: format!("order-{}", &random_token()[..8]),
        payments: vec![Payment {
            payment_id: format!("payment-{}", &random_token()[..8]),
            amount: "149.50".into(),
            currency: "NOK".into(),
            creditor_name: "Demo merchant AS".into(),
        }],
    });
    let mut request = PermissionRequest::new(statement).intents(["iframe"]);
    if let Some(nnin) = nnin {
        request = request.login_hint_nnin(nnin);
    }
    let registered = demo.bis.register_permission(&token.token, &request).await?;
    let login = demo
        .bis
        .authorization_request()
        .await?
        .scopes(SCOPES.iter().copied())
        .ui_locales([lang.code()])
        .login_hint_token(&registered.permission_token);
    let answer = demo
        .bis
        .iframe_authorize(&token.token, &IframeRequest::new(login, &demo.origin))
        .await?;
    let pending = Pending {
        flow: Flow::Iframe,
        login: answer.pending.clone(),
        permission: Some((registered, token.token)),
    };
    Ok((pending, answer))
}

/// `POST /iframe`: the start page's iframe form (CSRF, `nnin`); answers with the page that
/// frames the flow. Not a redirect: the address works once, so a reload has nothing to show.
pub async fn start(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, _, lang) = match routes::posted(&demo, &headers, &form) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let nnin = form.get("nnin").map(|n| n.trim()).filter(|n| !n.is_empty());
    match start_flow(&demo, lang, nnin).await {
        Ok((pending, answer)) => {
            demo.sessions.update(&id, |s| s.pending = Some(pending));
            framing_page(&demo, lang, &answer)
        }
        Err(e) => routes::refused(
            StatusCode::BAD_GATEWAY,
            lang,
            "start_failed",
            &e.to_string(),
            "",
        ),
    }
}

fn provider_origin(demo: &Demo) -> String {
    url::Url::parse(&demo.provider_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The page that frames `authorize_uri`, with its own CSP and referrer policy.
fn framing_page(demo: &Demo, lang: Lang, answer: &IframeAuthorization) -> Response {
    let provider = provider_origin(demo);
    let body = format!(
        "<p>{intro} <code>bankid-oidc app approve</code>.</p>\n<div class=\"iframe-flow\">\n\
<iframe id=\"bankid-frame\" src=\"{uri}\" title=\"{title}\"></iframe>\n\
<section class=\"events\" aria-labelledby=\"events-heading\"><h2 id=\"events-heading\">{heading}</h2>\n\
<p class=\"note\">{note} <code>{provider}</code>.</p>\n\
<p class=\"note\" id=\"events-empty\">{empty}</p>\n\
<ol id=\"events\" aria-live=\"polite\"></ol></section>\n</div>\n",
        intro = esc(lang.t(
            "BankID med biometri i en iframe fra leverandøren. Adressen virker én gang, i 60 sekunder. Godkjenn i den emulerte appen: leverandørens /bis/app eller",
            "BankID with biometrics in an iframe from the provider. The address works once, for 60 seconds. Approve in the emulated app: the provider's /bis/app or"
        )),
        uri = esc(answer.authorize_uri.as_str()),
        title = esc(lang.t("BankID-innlogging", "BankID login")),
        heading = esc(lang.t("Analysehendelser", "Analytics events")),
        note = esc(lang.t(
            "Meldingene rammen sender med postMessage, i den rekkefølgen de kom, bare fra",
            "The messages the frame sends with postMessage, in the order they came, only from"
        )),
        provider = esc(&provider),
        empty = esc(lang.t("Ingen ennå.", "None yet.")),
    );
    let head = format!(
        "<script src=\"/static/iframe.js\" data-provider-origin=\"{}\"></script>\n",
        esc(&provider)
    );
    let page = pages::layout_with_head(
        lang,
        lang.t("Iframe-innlogging", "Iframe login"),
        "/",
        &head,
        &body,
    );
    let mut response = routes::html(StatusCode::OK, page, None);
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
         frame-src {provider} 'self'; form-action 'self' {provider}; frame-ancestors 'none'; \
         base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    // The provider compares the referrer's origin with frame_ancestor.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("origin"));
    response
}

/// The callback's page for a completed iframe login, inside the frame: its script sends the
/// whole window to the result page (allowed: the frame is the demo's, as is the window).
pub fn break_out(lang: Lang) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title}</title>\n<link rel=\"stylesheet\" href=\"/static/demo.css\">\n</head>\n<body>\n\
<p role=\"status\"><a id=\"continue\" href=\"/result\" target=\"_top\">{text}</a></p>\n\
<script src=\"/static/iframe-done.js\"></script>\n</body>\n</html>\n",
        code = lang.code(),
        title = esc(lang.t("Innlogget", "Logged in")),
        text = esc(lang.t("Innlogget: se resultatet", "Logged in: see the result")),
    );
    routes::html(StatusCode::OK, page, None)
}

/// Every answer of `/callback`: the demo's own pages may frame it (the iframe flow ends there),
/// and its page for the iframe flow runs its script file.
pub async fn callback_headers(State(demo): State<Arc<Demo>>, mut response: Response) -> Response {
    let csp = demo
        .csp
        .replace("frame-ancestors 'none'", "frame-ancestors 'self'")
        .replace(
            "default-src 'none';",
            "default-src 'none'; script-src 'self';",
        );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

pub async fn script() -> Response {
    javascript(SCRIPT)
}

pub async fn done_script() -> Response {
    javascript(DONE_SCRIPT)
}

fn javascript(text: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The start page's form for the iframe flow: the NNIN to hint (the first test user's by
/// default; empty to type it in the frame) and the button.
pub fn start_form(lang: Lang, csrf: &str, label: &str, note_id: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/iframe\" class=\"iframe-start\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"iframe-nnin\">{nnin_label}</label> \
<input type=\"text\" id=\"iframe-nnin\" name=\"nnin\" value=\"{nnin}\" inputmode=\"numeric\" autocomplete=\"off\" pattern=\"[0-9]{{11}}\" aria-describedby=\"{note_id}\"> \
<button type=\"submit\" id=\"start-iframe\">{label}</button></form>",
        csrf = esc(csrf),
        nnin_label = esc(lang.t(
            "Fødselsnummer (hint, kan stå tomt)",
            "National identity number (hint, may be empty)"
        )),
        nnin = esc(&first_test_user_nnin()),
        label = esc(label),
    )
}
