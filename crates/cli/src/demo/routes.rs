//! The demo merchant's HTTP routes. Every page is built in `pages.rs`; every POST carries the
//! session's CSRF token; after a callback or an action the browser is sent to `/result`
//! (post/redirect/get), so that a reload never replays anything.

use super::Demo;
use super::ciba;
use super::flows::{self, Flow, IssuerKind};
use super::iframe;
use super::pages::{self, Lang};
use super::session::{self, Check, Completed, Pending, Session};
use axum::Router;
use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bankid_oidc_client::core::b64;
use bankid_oidc_client::{CallbackParams, Client, Error, Introspection, Login, TokenTypeHint};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the payment flow waits for its grant after the login came back approved.
const GRANT_WAIT: Duration = Duration::from_secs(15);

pub fn router(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/", get(start_page))
        .route("/start", post(start))
        .route(
            "/callback",
            get(callback).layer(axum::middleware::map_response_with_state(
                demo.clone(),
                iframe::callback_headers,
            )),
        )
        .route("/iframe", post(iframe::start))
        .route("/static/iframe.js", get(iframe::script))
        .route("/static/iframe-done.js", get(iframe::done_script))
        .route("/ciba", get(ciba::form_page).post(ciba::start))
        .route("/ciba/wait", get(ciba::wait))
        .route("/result", get(result))
        .route("/refresh", post(refresh))
        .route("/introspect", post(introspect))
        .route("/revoke", post(revoke))
        .route("/logout", post(logout))
        .route("/static/demo.css", get(stylesheet))
        // Browsers ask for it on every page; a 404 would be a console error each time.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::map_response_with_state(
            demo.clone(),
            strict_headers,
        ))
        .with_state(demo)
}

/// Every answer: no caching, no framing, no sniffing, no referrer, and a CSP without script;
/// the iframe flow's pages (`iframe.rs`) set their own CSP, framing and referrer policy, kept.
async fn strict_headers(State(demo): State<Arc<Demo>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(csp) = HeaderValue::from_str(&demo.csp)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// The browser's session, or a new one with the cookie that names it.
pub(super) struct Visit {
    pub(super) id: String,
    pub(super) session: Session,
    pub(super) new_cookie: Option<String>,
    pub(super) lang: Lang,
}

fn cookie_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

/// The page's language: `?lang=`, else the session's choice, else `Accept-Language`, else nb.
fn language(headers: &HeaderMap, asked: Option<&str>, session: Option<&Session>) -> Lang {
    asked
        .and_then(Lang::parse)
        .or_else(|| session.and_then(|s| s.lang))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::Nb)
}

pub(super) fn visit(demo: &Demo, headers: &HeaderMap, asked_lang: Option<&str>) -> Visit {
    let existing = session::cookie_id(cookie_header(headers))
        .and_then(|id| demo.sessions.get(&id).map(|s| (id, s)));
    let (id, mut session, new_cookie) = match existing {
        Some((id, s)) => (id, s, None),
        None => {
            let (id, s) = demo.sessions.create();
            let cookie = session::set_cookie(&id);
            (id, s, Some(cookie))
        }
    };
    let lang = language(headers, asked_lang, Some(&session));
    if let Some(chosen) = asked_lang.and_then(Lang::parse) {
        demo.sessions.update(&id, |s| s.lang = Some(chosen));
        session.lang = Some(chosen);
    }
    Visit {
        id,
        session,
        new_cookie,
        lang,
    }
}

pub(super) fn html(status: StatusCode, body: String, cookie: Option<String>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

pub(super) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

pub(super) fn refused(
    status: StatusCode,
    lang: Lang,
    code: &str,
    description: &str,
    hint: &str,
) -> Response {
    let title = lang.t("Avvist", "Refused");
    html(
        status,
        pages::error_page(lang, title, code, description, hint),
        None,
    )
}

#[derive(serde::Deserialize)]
struct StartQuery {
    lang: Option<String>,
    state: Option<String>,
}

async fn start_page(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    // The session cookie belongs to one host name, and the provider returns to the redirect
    // URI's: a visit on another name for the same address (localhost) moves there first.
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok())
        && host != demo.host
    {
        let target = match &query.lang {
            Some(lang) => format!("{}/?lang={}", demo.origin, url_encode(lang)),
            None => format!("{}/", demo.origin),
        };
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response();
    }
    let v = visit(&demo, &headers, query.lang.as_deref());
    // The provider's return from a logout carries the state the logout was sent with.
    let logged_out = match (&query.state, &v.session.logout_state) {
        (Some(back), Some(sent)) if back == sent => {
            demo.sessions.update(&v.id, |s| s.logout_state = None);
            true
        }
        _ => false,
    };
    let page = pages::start_page(&pages::StartPage {
        lang: v.lang,
        csrf: &v.session.csrf,
        provider: &demo.provider_url,
        logged_in: v.session.completed.is_some(),
        logged_out,
        key_command: &demo.key_command,
    });
    html(StatusCode::OK, page, v.new_cookie)
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A POST from this browser's session: its cookie and its CSRF token, or a 403 page.
pub(super) fn posted(
    demo: &Demo,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(String, Session, Lang), Box<Response>> {
    let found = session::cookie_id(cookie_header(headers))
        .and_then(|id| demo.sessions.get(&id).map(|s| (id, s)));
    let lang = language(headers, None, found.as_ref().map(|(_, s)| s));
    match found {
        Some((id, session))
            if session::csrf_matches(&session, form.get("csrf").map(String::as_str)) =>
        {
            Ok((id, session, lang))
        }
        _ => Err(Box::new(refused(
            StatusCode::FORBIDDEN,
            lang,
            "csrf",
            lang.t(
                "Skjemaet kom uten gyldig CSRF-token for denne nettleserens økt.",
                "The form came without a valid CSRF token for this browser's session.",
            ),
            lang.t(
                "Gå til startsiden og prøv igjen.",
                "Go to the start page and try again.",
            ),
        ))),
    }
}

async fn start(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, _, lang) = match posted(&demo, &headers, &form) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let flow = match form.get("flow").and_then(|f| Flow::parse(f)) {
        Some(flow) if !flow.own_form() => flow,
        _ => {
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                "unknown_flow",
                lang.t(
                    "Denne flyten finnes ikke i demoen.",
                    "There is no such flow in the demo.",
                ),
                "",
            );
        }
    };
    // CIBA has no redirect: its own page asks for the customer's NNIN.
    if flow == Flow::Ciba {
        return see_other("/ciba");
    }
    match flows::start(&demo, flow, lang).await {
        Ok((pending, url)) => {
            demo.sessions.update(&id, |s| s.pending = Some(pending));
            see_other(url.as_str())
        }
        Err(e) => {
            let hint = if flow.signs_request_object() {
                demo.key_command.as_str()
            } else {
                ""
            };
            refused(
                StatusCode::BAD_GATEWAY,
                lang,
                "start_failed",
                &e.to_string(),
                hint,
            )
        }
    }
}

/// How a pending login was taken for a callback.
enum Taken {
    NoSession,
    NoLogin,
    WrongState,
    Pending(Box<Pending>),
}

async fn callback(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = CallbackParams::parse(query.as_deref().unwrap_or(""));
    let id = session::cookie_id(cookie_header(&headers));
    let session = id.as_deref().and_then(|id| demo.sessions.get(id));
    let lang = language(&headers, None, session.as_ref());
    // The pending login is taken (and so used once) only by a callback with its state: a
    // forged callback with another state leaves the real one to finish.
    let taken = match &id {
        None => Taken::NoSession,
        Some(id) => demo
            .sessions
            .update(id, |s| match &s.pending {
                None => Taken::NoLogin,
                Some(p) if params.state.as_deref() != Some(p.login.state.as_str()) => {
                    Taken::WrongState
                }
                Some(_) => Taken::Pending(Box::new(s.pending.take().expect("present"))),
            })
            .unwrap_or(Taken::NoSession),
    };
    let pending = match taken {
        Taken::Pending(p) => *p,
        Taken::NoSession => {
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                "no_session",
                lang.t(
                    "Denne nettleseren har ingen økt hos demobutikken, så svaret kan ikke tilhøre en innlogging herfra.",
                    "This browser has no session with the demo merchant, so the answer cannot belong to a login started here.",
                ),
                lang.t(
                    "Start innloggingen fra startsiden, i samme nettleser.",
                    "Start the login from the start page, in the same browser.",
                ),
            );
        }
        Taken::NoLogin => {
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                "no_login_in_progress",
                lang.t(
                    "Ingen innlogging pågår i denne økten: svaret er allerede brukt (et gjentatt svar avvises) eller ble aldri startet her.",
                    "No login is in progress in this session: the answer was already used (a replayed callback is refused) or was never started here.",
                ),
                "",
            );
        }
        Taken::WrongState => {
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                "state_mismatch",
                lang.t(
                    "Svarets state er ikke den denne økten sendte, så det avvises (vern mot CSRF). Innloggingen som pågår, kan fortsatt fullføres.",
                    "The answer's state is not the one this session sent, so it is refused (CSRF defence). The login in progress can still finish.",
                ),
                "",
            );
        }
    };
    let client = demo.client(pending.flow.issuer());
    let login = match client.handle_callback(&pending.login, &params).await {
        Ok(login) => login,
        Err(Error::Authorization(e)) => {
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                &e.code,
                e.description.as_deref().unwrap_or(""),
                lang.t(
                    "Leverandøren svarte med en feil (f.eks. avbrutt eller avslått i appen).",
                    "The provider answered with an error (cancelled, or denied in the app, for example).",
                ),
            );
        }
        Err(e) => {
            let hint = if pending.flow.signs_request_object() {
                demo.key_command.as_str()
            } else {
                ""
            };
            return refused(
                StatusCode::BAD_REQUEST,
                lang,
                "login_refused",
                &e.to_string(),
                hint,
            );
        }
    };
    let completed = complete(client, &pending, login).await;
    match id {
        // The iframe flow's callback is inside the frame: its page takes the window along.
        Some(id) if pending.flow == Flow::Iframe => {
            demo.sessions.update(&id, |s| s.completed = Some(completed));
            iframe::break_out(lang)
        }
        Some(id) => {
            demo.sessions.update(&id, |s| s.completed = Some(completed));
            see_other("/result")
        }
        None => see_other("/"),
    }
}

/// What the result page shows of a login that passed every check.
async fn complete(client: &Client, pending: &Pending, login: Login) -> Completed {
    let claims = login.id_token.claims;
    let userinfo = client
        .userinfo(&login.tokens.access_token, &claims.sub)
        .await
        .map_err(|e| e.to_string())
        .and_then(|info| serde_json::to_value(info).map_err(|e| e.to_string()));
    let grant = match &pending.permission {
        Some((permission, token)) => Some(
            client
                .poll_grant(token, permission, Instant::now() + GRANT_WAIT)
                .await
                .map_err(|e| e.to_string())
                .and_then(|g| serde_json::to_value(g.claims).map_err(|e| e.to_string())),
        ),
        None => None,
    };
    let checks = checks(pending, &claims, &login.id_token.raw, grant.is_some());
    Completed {
        flow: pending.flow,
        claims,
        id_token: login.id_token.raw,
        access_token: login.tokens.access_token,
        refresh_token: login.tokens.refresh_token,
        scope: login.tokens.scope,
        userinfo,
        grant,
        checks,
        action: None,
    }
}

/// The JOSE header and payload of a compact JWT, decoded without verification (for display).
pub(super) fn decode_jwt(token: &str) -> Value {
    let part = |text: &str| -> Value {
        b64::decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null)
    };
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(_), None) => {
            json!({"header": part(header), "payload": part(payload)})
        }
        _ => json!({"opaque": "not a JWT"}),
    }
}

/// The checks `handle_callback` (and `poll_grant`) made, each with what it compared. They all
/// passed: the library refuses the login otherwise.
fn checks(
    pending: &Pending,
    claims: &bankid_oidc_client::core::claims::IdTokenClaims,
    raw: &str,
    grant: bool,
) -> Vec<Check> {
    let header = &decode_jwt(raw)["header"];
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let aud = serde_json::to_value(&claims.aud)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let loa = match claims.acr.as_deref() {
        Some(acr) => acr.to_owned(),
        None => "(none)".into(),
    };
    let requested_acr = if pending.login.acr_values.is_empty() {
        match pending.flow.issuer() {
            IssuerKind::Bis => "LOA 3 required at BIS".to_owned(),
            IssuerKind::Realm => "no acr_values requested".to_owned(),
        }
    } else {
        format!("requested {}", pending.login.acr_values.join(" "))
    };
    let mut checks = vec![
        Check {
            id: "state",
            name: "state",
            detail: format!(
                "the callback's state = the one kept in this session ({})",
                pending.login.state
            ),
        },
        Check {
            id: "iss-response",
            name: "iss (RFC 9207)",
            detail: format!("the callback's iss = {}", pending.login.issuer),
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
            detail: format!("{aud} holds client_id {}", pending.login.client_id),
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
            id: "nonce",
            name: "nonce",
            detail: format!(
                "{} = the one kept in this session",
                claims.nonce.as_deref().unwrap_or("?")
            ),
        },
        Check {
            id: "acr",
            name: "acr / LOA",
            detail: format!("{loa} ({requested_acr})"),
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
            id: "pkce",
            name: "PKCE",
            detail: "the code was redeemed with this session's S256 code_verifier".into(),
        },
    ];
    if grant {
        checks.push(Check {
            id: "grant",
            name: "grant",
            detail: "signed by a key of jwks_uri_grants; iss, nonce, digest and permissionId = the permission registered".into(),
        });
    }
    checks
}

async fn result(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    let v = visit(&demo, &headers, query.lang.as_deref());
    let Some(completed) = &v.session.completed else {
        return see_other("/");
    };
    let metadata = demo.client(completed.issuer()).metadata().await.ok();
    let has = |f: fn(&bankid_oidc_client::core::discovery::ProviderMetadata) -> bool| {
        metadata.as_deref().is_some_and(f)
    };
    let page = pages::result_page(&pages::ResultPage {
        lang: v.lang,
        csrf: &v.session.csrf,
        completed,
        access_token: decode_jwt(&completed.access_token),
        can_refresh: completed.refresh_token.is_some(),
        can_introspect: has(|m| {
            m.introspection_endpoint.is_some() || m.token_introspection_endpoint.is_some()
        }),
        can_revoke: has(|m| m.revocation_endpoint.is_some()),
        can_logout: has(|m| m.end_session_endpoint.is_some()),
    });
    html(StatusCode::OK, page, v.new_cookie)
}

/// A POSTed action on the session's login: CSRF, then `act`, whose lines the result page shows.
async fn action<F, Fut>(
    demo: Arc<Demo>,
    headers: HeaderMap,
    form: HashMap<String, String>,
    name: &'static str,
    act: F,
) -> Response
where
    F: FnOnce(Arc<Demo>, Completed) -> Fut,
    Fut: std::future::Future<Output = (Completed, Vec<(String, String)>)>,
{
    let (id, session, lang) = match posted(&demo, &headers, &form) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let Some(completed) = session.completed else {
        return refused(
            StatusCode::BAD_REQUEST,
            lang,
            "no_login",
            lang.t(
                "Ingen innlogging i denne økten.",
                "No login in this session.",
            ),
            "",
        );
    };
    let (mut completed, lines) = act(demo.clone(), completed).await;
    completed.action = Some((name, lines));
    demo.sessions.update(&id, |s| s.completed = Some(completed));
    see_other("/result#action-result")
}

fn line(name: &str, value: impl ToString) -> (String, String) {
    (name.to_owned(), value.to_string())
}

async fn refresh(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    action(demo, headers, form, "refresh", |demo, mut c| async move {
        let Some(token) = c.refresh_token.clone() else {
            return (c, vec![line("error", "no refresh token")]);
        };
        let lines = match demo
            .client(c.issuer())
            .refresh(&token, &c.claims, None)
            .await
        {
            Ok(refreshed) => {
                let mut lines = vec![
                    line("result", "ok"),
                    line("rotated", refreshed.rotated),
                    line("new ID token", refreshed.id_token.is_some()),
                    line(
                        "expires_in",
                        refreshed
                            .tokens
                            .expires_in
                            .map_or("-".into(), |s| s.to_string()),
                    ),
                ];
                if let Some(id_token) = refreshed.id_token {
                    c.claims = id_token.claims;
                    c.id_token = id_token.raw;
                    lines.push(line("new ID token iat", c.claims.iat));
                }
                c.access_token = refreshed.tokens.access_token;
                c.refresh_token = Some(refreshed.refresh_token);
                lines
            }
            Err(e) => vec![line("result", "error"), line("error", e)],
        };
        (c, lines)
    })
    .await
}

fn introspection_lines(answer: &Introspection) -> Vec<(String, String)> {
    match answer.active() {
        None => vec![line("active", false)],
        Some(t) => {
            let mut lines = vec![line("active", true)];
            let mut opt = |name: &str, value: Option<String>| {
                if let Some(value) = value {
                    lines.push(line(name, value));
                }
            };
            opt("scope", t.scope.clone());
            opt("client_id", t.client_id.clone());
            opt("sub", t.sub.clone());
            opt("token_type", t.token_type.clone());
            opt("iss", t.iss.clone());
            opt("exp", t.exp.map(|v| v.to_string()));
            opt("iat", t.iat.map(|v| v.to_string()));
            opt("acr", t.acr.clone());
            opt("sid", t.sid.clone());
            for (k, v) in &t.other {
                lines.push(line(k, v));
            }
            lines
        }
    }
}

async fn introspect(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    action(demo, headers, form, "introspect", |demo, c| async move {
        let lines = match demo
            .client(c.issuer())
            .introspect(&c.access_token, Some(TokenTypeHint::AccessToken))
            .await
        {
            Ok(answer) => introspection_lines(&answer),
            Err(e) => vec![line("error", e)],
        };
        (c, lines)
    })
    .await
}

async fn revoke(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    action(demo, headers, form, "revoke", |demo, mut c| async move {
        let client = demo.client(c.issuer());
        // The refresh token takes the whole login with it; without one, the access token.
        let (token, hint, what) = match c.refresh_token.take() {
            Some(rt) => (rt, TokenTypeHint::RefreshToken, "refresh_token"),
            None => (
                c.access_token.clone(),
                TokenTypeHint::AccessToken,
                "access_token",
            ),
        };
        let mut lines = match client.revoke(&token, Some(hint)).await {
            Ok(()) => vec![line("result", "ok"), line("revoked", what)],
            Err(e) => vec![line("result", "error"), line("error", e)],
        };
        match client
            .introspect(&c.access_token, Some(TokenTypeHint::AccessToken))
            .await
        {
            Ok(answer) => lines.push(line("access token active now", answer.is_active())),
            Err(e) => lines.push(line("introspection", e)),
        }
        (c, lines)
    })
    .await
}

async fn logout(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, session, lang) = match posted(&demo, &headers, &form) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let Some(completed) = session.completed else {
        return see_other("/");
    };
    let state = bankid_oidc_server::secret::random_token();
    let url = async {
        demo.client(completed.issuer())
            .logout_request()
            .await?
            .id_token_hint(&completed.id_token)
            .post_logout_redirect_uri(&format!("{}/", demo.origin))
            .state(&state)
            .ui_locales(lang.code())
            .build()
    }
    .await;
    match url {
        Ok(url) => {
            // The merchant's session ends now, whatever the provider answers.
            demo.sessions.update(&id, |s| {
                s.completed = None;
                s.logout_state = Some(state);
            });
            see_other(url.as_str())
        }
        Err(e) => refused(
            StatusCode::BAD_GATEWAY,
            lang,
            "logout_failed",
            &e.to_string(),
            "",
        ),
    }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLESHEET,
    )
        .into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    let lang = language(&headers, None, None);
    refused(
        StatusCode::NOT_FOUND,
        lang,
        "not_found",
        lang.t("Siden finnes ikke.", "No such page."),
        "",
    )
}
