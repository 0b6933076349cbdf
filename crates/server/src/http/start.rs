//! The start page (`/` and each issuer's base path) and the authorization request its form
//! builds. Always served: the provider is a test tool, and the page says so.

use crate::AppState;
use crate::clock::utc_text;
use crate::http::IssuerOf;
use crate::issuer::Endpoint;
use crate::pages::render::error_page;
use crate::pages::start::{
    BuiltRequest, ClientRow, DemoRow, IssuerRow, StartData, UserRow, request_page, start_page,
};
use crate::secret::random_token;
use crate::seed::DEMO_CLIENT_ID;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::locale::Locale;
use base64::Engine;
use serde::Deserialize;
use std::time::Duration;

/// Where `bankid-oidc demo` serves the demo merchant.
pub const DEMO_MERCHANT_URL: &str = "http://127.0.0.1:8081";
const DEMO_MERCHANT_ADDR: &str = "127.0.0.1:8081";

/// The path below the public URL (empty, or e.g. `/base`): the start page's own links use it.
pub fn base_path(p: &crate::Provider) -> String {
    p.config.public_url.path().trim_end_matches('/').to_owned()
}

/// `GET /`: the start page, the primary issuer preselected.
pub async fn root(State(p): State<AppState>) -> Response {
    show(&p, None).await
}

/// `GET {issuer}`: the start page with this issuer preselected.
pub async fn at_issuer(State(p): State<AppState>, Extension(issuer): IssuerOf) -> Response {
    show(&p, Some(&issuer.id)).await
}

async fn show(p: &crate::Provider, current: Option<&str>) -> Response {
    let current = current.unwrap_or(&p.issuers.primary().id);
    let issuers = p
        .issuers
        .all()
        .iter()
        .map(|i| IssuerRow {
            id: i.id.clone(),
            issuer: i.issuer.clone(),
            discovery: i.url(Endpoint::Discovery),
            current: i.id == current,
        })
        .collect();
    let clients = match p.store.clients().await {
        Ok(c) => c,
        Err(e) => return crate::pages::render::store_failure_page(p, &e),
    };
    let users = match p.store.users().await {
        Ok(u) => u,
        Err(e) => return crate::pages::render::store_failure_page(p, &e),
    };
    let now = p.now();
    let demo = clients
        .iter()
        .find(|c| c.client_id == DEMO_CLIENT_ID)
        .map(|c| DemoRow {
            client_id: c.client_id.clone(),
            redirect_uris: c.redirect_uris.clone(),
        });
    let data = StartData {
        issuers,
        demo,
        users: users
            .iter()
            .map(|u| UserRow {
                name: format!("{} {}", u.given_name, u.family_name),
                nnin: u.nnin.clone(),
                phone: u.phone.clone().unwrap_or_else(|| "-".into()),
                birthdate: u.birthdate.clone(),
                state: match u.locked_until {
                    Some(until) if u.is_locked(now) => format!("locked until {}", utc_text(until)),
                    _ => "active".into(),
                },
            })
            .collect(),
        clients: clients
            .iter()
            .filter(|c| c.allows_grant(GrantType::AuthorizationCode))
            .map(|c| ClientRow {
                client_id: c.client_id.clone(),
                label: if c.name.is_empty() || c.name == c.client_id {
                    c.client_id.clone()
                } else {
                    format!("{} ({})", c.client_id, c.name)
                },
            })
            .collect(),
        merchant_url: DEMO_MERCHANT_URL.into(),
        merchant_up: merchant_answers().await,
        app_url: p.issuers.bis().url(Endpoint::App),
        action: format!("{}/start/request", base_path(p)),
        default_scope: "openid profile".into(),
    };
    start_page(&p.css_path(), &data)
}

/// Whether the demo merchant accepts connections (a connect, no request; 200 ms at most).
async fn merchant_answers() -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(DEMO_MERCHANT_ADDR)
        )
        .await,
        Ok(Ok(_))
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    login_hint: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    ui_locales: String,
    #[serde(default)]
    prompt: String,
    /// `1`: push the request first (PAR), authenticated with `client_secret`.
    #[serde(default)]
    par: String,
    /// The client's secret, typed on the start page for PAR; used once, never stored or shown.
    #[serde(default)]
    client_secret: String,
}

/// `GET /start/request`: builds the authorization request of the start page's form (with a new
/// state, nonce and PKCE pair) and shows it with a link that starts it. The authorization
/// endpoint checks it like any other request; this only refuses what it cannot build.
pub async fn request(State(p): State<AppState>, Query(form): Query<StartForm>) -> Response {
    if !form.par.is_empty() {
        return refuse(
            &p,
            "par: a pushed request needs the client secret, which is posted, never put in an \
             address: use the start page's form"
                .into(),
        );
    }
    match build(&p, &form).await {
        Ok((built, _)) => request_page(&p.css_path(), &built),
        Err(page) => *page,
    }
}

/// `POST /start/request`: the start page's form. With `par=1` the request is pushed first, the
/// client authenticated with the secret typed on the page as it is registered to authenticate
/// (`client_secret_basic` or `client_secret_post`), and the address carries only `client_id`
/// and `request_uri`.
pub async fn request_post(
    State(p): State<AppState>,
    axum::extract::Form(form): axum::extract::Form<StartForm>,
) -> Response {
    let (mut built, params) = match build(&p, &form).await {
        Ok(found) => found,
        Err(page) => return *page,
    };
    if form.par.is_empty() {
        return request_page(&p.css_path(), &built);
    }
    let Some(issuer) = p.issuers.all().iter().find(|i| i.id == form.issuer) else {
        return refuse(&p, "issuer: not an issuer of this provider".into());
    };
    let client = match p.client(&built.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return refuse(&p, "client_id: not registered".into()),
        Err(e) => return crate::pages::render::store_failure_page(&p, &e),
    };
    let mut body = params.clone();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    match client.token_endpoint_auth_method {
        ClientAuthMethod::ClientSecretBasic => {
            // RFC 6749 2.3.1: each part form-encoded, then joined and base64-encoded.
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(&client.client_id),
                encode(&form.client_secret)
            ));
            match HeaderValue::from_str(&format!("Basic {credentials}")) {
                Ok(value) => {
                    headers.insert(header::AUTHORIZATION, value);
                }
                Err(_) => {
                    return refuse(
                        &p,
                        "client_secret: not a secret this client can have".into(),
                    );
                }
            }
        }
        ClientAuthMethod::ClientSecretPost => {
            body.push(("client_secret".into(), form.client_secret.clone()));
        }
        ClientAuthMethod::PrivateKeyJwt => {
            return refuse(
                &p,
                format!(
                    "par: client '{}' authenticates with private_key_jwt, which needs its private \
                     key: push its requests from the client (see docs/request-security.md)",
                    client.client_id
                ),
            );
        }
    }
    let encoded = serde_urlencoded::to_string(&body).unwrap_or_default();
    match super::par::handle(&p, issuer, &headers, encoded.as_bytes()).await {
        Ok((request_uri, expires_in)) => {
            let query = serde_urlencoded::to_string([
                ("client_id", client.client_id.as_str()),
                ("request_uri", request_uri.as_str()),
            ])
            .unwrap_or_default();
            built.url = format!("{}?{query}", issuer.url(Endpoint::Authorization));
            built.pushed = Some(format!(
                "Pushed to the PAR endpoint: request_uri {request_uri}, valid {expires_in} s, once."
            ));
            request_page(&p.css_path(), &built)
        }
        Err(e) => error_page(e.status, &e.error, Locale::En, &p.css_path()),
    }
}

/// An error page about the start page's form.
fn refuse(p: &crate::Provider, description: String) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        &OAuthError::invalid_request(description),
        Locale::En,
        &p.css_path(),
    )
}

/// The request of the start page's form, and its parameters (without the client's
/// authentication).
async fn build(
    p: &crate::Provider,
    form: &StartForm,
) -> Result<(BuiltRequest, Vec<(String, String)>), Box<Response>> {
    let refuse = |description: String| Err(Box::new(refuse(p, description)));
    let Some(issuer) = p.issuers.all().iter().find(|i| i.id == form.issuer) else {
        return refuse(format!(
            "issuer: '{}' is not an issuer of this provider",
            form.issuer.chars().take(40).collect::<String>()
        ));
    };
    let client = match p.client(&form.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return refuse(format!(
                "client_id: '{}' is not registered (see `bankid-oidc clients list`)",
                form.client_id.chars().take(40).collect::<String>()
            ));
        }
        Err(e) => return Err(Box::new(crate::pages::render::store_failure_page(p, &e))),
    };
    let redirect_uri = match form.redirect_uri.trim() {
        "" => match client.redirect_uris.first() {
            Some(uri) => uri.clone(),
            None => {
                return refuse(format!(
                    "client '{}' has no redirect URI registered",
                    client.client_id
                ));
            }
        },
        given => given.to_owned(),
    };
    let scope = match form.scope.trim() {
        "" => "openid".to_owned(),
        given => given.to_owned(),
    };
    let state = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let challenge = bankid_oidc_core::pkce::s256_challenge(&verifier);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.client_id),
        ("redirect_uri", &redirect_uri),
        ("scope", &scope),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in [
        ("login_hint", form.login_hint.trim()),
        ("ui_locales", form.ui_locales.trim()),
        ("prompt", form.prompt.trim()),
    ] {
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let params: Vec<(String, String)> = params
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let built = BuiltRequest {
        issuer: issuer.issuer.clone(),
        client_id: client.client_id.clone(),
        url: format!("{}?{query}", issuer.url(Endpoint::Authorization)),
        state,
        nonce,
        verifier,
        back: if issuer.primary {
            format!("{}/", base_path(p))
        } else {
            issuer.path.clone()
        },
        pushed: None,
    };
    Ok((built, params))
}
