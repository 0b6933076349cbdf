//! The demo's CIBA flow (poll mode, at BIS): a page asks for the customer's NNIN, the client
//! library sends the backchannel authentication request with a fresh binding message, and a
//! background task polls (`CibaHandle::poll`, which waits `interval` and follows `slow_down`)
//! while the waiting page reloads itself; the outcome leads to the same result page as the
//! other flows, with the checks that apply to CIBA (no state, no `iss` in a response, no nonce).

use super::Demo;
use super::flows::{self, Flow};
use super::pages;
use super::routes::{decode_jwt, html, posted, refused, see_other, visit};
use super::session::{Check, CibaWait, Completed};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bankid_oidc_client::core::claims::IdTokenClaims;
use bankid_oidc_client::{Error, Login};
use bankid_oidc_server::secret::random_token;
use std::collections::HashMap;
use std::sync::Arc;

/// Seconds between reloads of the waiting page.
const RELOAD: &str = "2";

#[derive(serde::Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn form_page(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Response {
    let v = visit(&demo, &headers, query.lang.as_deref());
    let page = pages::ciba_form_page(v.lang, &v.session.csrf, &flows::default_ciba_nnin());
    html(StatusCode::OK, page, v.new_cookie)
}

/// The typed error's OAuth code (or the library's own name for it) and its message.
fn outcome_error(e: &Error) -> (String, String) {
    let code = match e {
        Error::CibaTimeout { .. } => "timeout".to_owned(),
        other => other
            .provider_error()
            .map(|p| p.code.clone())
            .unwrap_or_else(|| "ciba_failed".to_owned()),
    };
    (code, e.to_string())
}

pub async fn start(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, _, lang) = match posted(&demo, &headers, &form) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let nnin = form.get("nnin").map(|n| n.trim()).unwrap_or_default();
    let binding_message = flows::binding_message();
    let mut handle = match flows::start_ciba(&demo, nnin, &binding_message).await {
        Ok(handle) => handle,
        Err(e) => {
            let (code, description) = outcome_error(&e);
            return refused(StatusCode::BAD_GATEWAY, lang, &code, &description, "");
        }
    };
    let wait_id = random_token();
    demo.sessions.update(&id, |s| {
        s.ciba = Some(CibaWait {
            id: wait_id.clone(),
            nnin: nnin.to_owned(),
            binding_message,
            outcome: None,
        });
    });
    // The poll outlives this request; it ends by expires_in at the latest.
    let background = demo.clone();
    tokio::spawn(async move {
        let outcome = handle
            .poll()
            .await
            .map(Box::new)
            .map_err(|e| outcome_error(&e));
        background.sessions.update(&id, |s| {
            if let Some(wait) = s.ciba.as_mut().filter(|w| w.id == wait_id) {
                wait.outcome = Some(outcome);
            }
        });
    });
    see_other("/ciba/wait")
}

pub async fn wait(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Response {
    let v = visit(&demo, &headers, query.lang.as_deref());
    let Some(wait) = v.session.ciba.clone() else {
        return see_other("/");
    };
    match wait.outcome.clone() {
        None => {
            let page = pages::ciba_wait_page(v.lang, &wait.nnin, &wait.binding_message);
            let mut response = html(StatusCode::OK, page, v.new_cookie);
            response
                .headers_mut()
                .insert("refresh", HeaderValue::from_static(RELOAD));
            response
        }
        Some(Err((code, description))) => {
            demo.sessions.update(&v.id, |s| s.ciba = None);
            refused(
                StatusCode::BAD_REQUEST,
                v.lang,
                &code,
                &description,
                v.lang.t(
                    "Kunden avslo i appen, appen svarte ikke, eller forespørselen utløp.",
                    "The customer denied in the app, the app did not answer, or the request expired.",
                ),
            )
        }
        Some(Ok(login)) => {
            let completed = complete(&demo, *login, &wait).await;
            demo.sessions.update(&v.id, |s| {
                s.ciba = None;
                s.completed = Some(completed);
            });
            see_other("/result")
        }
    }
}

async fn complete(demo: &Demo, login: Login, wait: &CibaWait) -> Completed {
    let claims = login.id_token.claims;
    let userinfo = demo
        .bis
        .userinfo(&login.tokens.access_token, &claims.sub)
        .await
        .map_err(|e| e.to_string())
        .and_then(|info| serde_json::to_value(info).map_err(|e| e.to_string()));
    let checks = checks(demo, &claims, &login.id_token.raw, wait);
    Completed {
        flow: Flow::Ciba,
        claims,
        id_token: login.id_token.raw,
        access_token: login.tokens.access_token,
        refresh_token: login.tokens.refresh_token,
        scope: login.tokens.scope,
        userinfo,
        grant: None,
        checks,
        action: None,
    }
}

/// The checks `CibaHandle::poll` made: the code flow's ID token checks without state, `iss` in
/// a response and nonce, which CIBA does not have.
fn checks(demo: &Demo, claims: &IdTokenClaims, raw: &str, wait: &CibaWait) -> Vec<Check> {
    let header = &decode_jwt(raw)["header"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let aud = serde_json::to_value(&claims.aud)
        .map(|v| v.to_string())
        .unwrap_or_default();
    vec![
        Check {
            id: "binding-message",
            name: "binding_message",
            detail: format!(
                "'{}' shown here and in the app, for the NNIN {} (login_hint)",
                wait.binding_message, wait.nnin
            ),
        },
        Check {
            id: "signature",
            name: "signature",
            detail: format!(
                "{} by key '{}' from the provider's jwks_uri (never none or HMAC)",
                text(&header["alg"]),
                text(&header["kid"])
            ),
        },
        Check {
            id: "iss",
            name: "iss",
            detail: format!("{} = the discovered issuer", claims.iss),
        },
        Check {
            id: "aud",
            name: "aud / azp",
            detail: format!("{aud} holds client_id {}", demo.bis.client_id()),
        },
        Check {
            id: "exp",
            name: "exp",
            detail: format!("{} is in the future (30 s clock skew)", claims.exp),
        },
        Check {
            id: "iat",
            name: "iat",
            detail: format!("{} is not in the future (30 s clock skew)", claims.iat),
        },
        Check {
            id: "acr",
            name: "acr / LOA",
            detail: format!(
                "{} (requested urn:bankid:bis; LOA 3 required at BIS)",
                claims.acr.as_deref().unwrap_or("(none)")
            ),
        },
        Check {
            id: "at_hash",
            name: "at_hash",
            detail: match &claims.at_hash {
                Some(hash) => format!("{hash} = left half of SHA-256 of the access token"),
                None => "not sent (not required)".into(),
            },
        },
        Check {
            id: "no-nonce",
            name: "nonce",
            detail:
                "none expected: CIBA has no nonce, no state and no iss in a response (no redirect)"
                    .into(),
        },
    ]
}
